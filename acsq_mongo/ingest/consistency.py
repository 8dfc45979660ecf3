"""Is an ingest's result whole? Checks of a database and its image folder.

An ingest promises that whatever stops it (a killed worker, a killed
client, a lost database, Ctrl-C), a rerun converges: the same documents as
one uninterrupted run, summaries that agree with them, no partial image
and no leftover. :func:`check_consistency` looks at one database and its
``ACSQ_DATA`` alone; :func:`compare_with_reference` compares them with a
clean ingest of the same archive. Each returns a list of problems, one line
each, empty when all is well. The kill tests and ``scripts/chaos_ingest.py``
use them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, GALLERIES, INGEST_ERRORS, META, PROPOSALS, ROOTNAMES
from acsq_mongo.db.header_indexes import header_indexes
from acsq_mongo.fields import TAG_FIELDS
from acsq_mongo.images.scratch import scratch_dir
from acsq_mongo.ingest.store import catalog_entry
from acsq_mongo.ingest.summaries import gallery_rows, summarise_proposals

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["IMAGE_FOLDERS", "FILE_STAGES", "check_consistency", "compare_with_reference",
           "image_paths", "comparable"]

#: The folders of ``ACSQ_DATA`` that hold quicklook images.
IMAGE_FOLDERS = ("jpegs", "thumbnails")

#: Error stages that say a file is bad (``ingest`` says a run failed, ``store`` a document;
#: ``duplicate`` a second file of one rootname and filetype, not ingested).
FILE_STAGES = ("header", "instrument", "quicklook", "duplicate")

# Catalog fields that no ingest writes (the anomaly flags and their bookkeeping).
TAG_KEYS = frozenset(f.name for f in TAG_FIELDS) | {"anomaly_seq"}

#: Fields that differ between two ingests of the same files.
_VOLATILE = ("first_ingest_date", "last_ingest_date")


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A rootname or catalog document without what changes from run to run (dates)."""
    doc = {k: v for k, v in doc.items() if k not in _VOLATILE}
    if "errors" in doc:
        doc["errors"] = [{k: v for k, v in e.items() if k != "time"} for e in doc["errors"]]
    return doc


def image_paths(quicklook: dict[str, Any] | None) -> list[str]:
    """The image paths of a document's ``quicklook`` field, relative to ``ACSQ_DATA``."""
    quicklook = quicklook or {}
    paths = [v for v in quicklook.values() if isinstance(v, str)]
    return paths + list((quicklook.get("preview") or {}).values())


def _files(data: Path) -> dict[str, Path]:
    return {p.relative_to(data).as_posix(): p for folder in IMAGE_FOLDERS
            if (data / folder).is_dir() for p in (data / folder).rglob("*") if p.is_file()}


def _without_updated(docs) -> dict[Any, dict[str, Any]]:
    return {d["_id"]: {k: v for k, v in d.items() if k != "updated"} for d in docs}


def check_consistency(db: Database, data: Path) -> list[str]:
    """Problems of one database and its image folder, judged by themselves.

    - every rootname once in ``rootnames`` and ``catalog``, each catalog
      entry the slim copy of its whole document;
    - ``proposals`` and ``galleries`` as the catalog makes them;
    - every image named by a document exists and opens as a whole JPEG, and
      every image belongs to a document;
    - no temporary file in ``$ACSQ_DATA/tmp`` or the image folders.
    """
    from PIL import Image

    problems: list[str] = []
    whole = {d["_id"]: d for d in db[ROOTNAMES].find()}
    paths = header_indexes(db)
    slim = {d["_id"]: d for d in db[CATALOG].find()}
    if sorted(whole) != sorted(slim):
        problems.append(f"rootnames and catalog differ: only in rootnames "
                        f"{sorted(set(whole) - set(slim))}, only in catalog "
                        f"{sorted(set(slim) - set(whole))}")
    twice = [name for name, n in Counter(d.get("rootname") for d in slim.values()).items()
             if n > 1]
    if twice:
        problems.append(f"rootnames stored twice: {twice}")
    for _id in sorted(set(whole) & set(slim)):
        # An unchanged re-ingest dates the catalog only (store.touch_rootname): the whole
        # document's last_ingest_date is that of its last write, never later than the catalog's.
        # The anomaly flags (TAG_KEYS) are the catalog's own: no ingest writes them.
        copy = catalog_entry(whole[_id], paths)
        copy_date, slim_date = copy.pop("last_ingest_date", None), slim[_id].get("last_ingest_date")
        same = copy == {k: v for k, v in slim[_id].items()
                        if k != "last_ingest_date" and k not in TAG_KEYS}
        if not same or (copy_date is not None and (slim_date is None or slim_date < copy_date)):
            problems.append(f"{_id}: the catalog entry is not the copy of its document")
    rows = list(slim.values())
    wanted = {str(pid): s for pid, s in summarise_proposals(rows).items()}
    if _without_updated(db[PROPOSALS].find()) != wanted:
        problems.append("proposals disagree with the catalog")
    galleries = _without_updated(db[GALLERIES].find())
    for key, members in gallery_rows(rows).items():
        stored = galleries.pop(key, None)
        if stored is None or stored.get("rows") != members or stored.get("n") != len(members):
            problems.append(f"gallery {key} disagrees with the catalog")
    if galleries:
        problems.append(f"galleries of no proposal: {sorted(galleries)}")
    summary = db[META].find_one({"_id": "summary"}) or {}
    if summary.get("n_rootnames") != len(rows):
        problems.append(f"meta.summary counts {summary.get('n_rootnames')} rootnames, "
                        f"the catalog {len(rows)}")

    named = {path for doc in rows for path in image_paths(doc.get("quicklook"))}
    on_disk = _files(data)
    scratch = scratch_dir(data)
    temporary = sorted(p for p in on_disk if Path(p).name.endswith(".tmp"))
    temporary += sorted(p.relative_to(data).as_posix() for p in
                        (scratch.iterdir() if scratch.is_dir() else []))
    if temporary:
        problems.append(f"temporary files left: {temporary}")
    for path in sorted(set(on_disk) - named - set(temporary)):
        problems.append(f"image of no document: {path}")
    for path in sorted(named):
        if path not in on_disk:
            problems.append(f"image missing: {path}")
            continue
        try:
            with Image.open(on_disk[path]) as image:
                image.load()   # a cut-short JPEG fails here
        except Exception as exc:  # noqa: BLE001 - any failure to decode is the finding
            problems.append(f"image does not decode: {path}: {exc}")
    return problems


def compare_with_reference(db: Database, data: Path, reference: Database,
                           reference_data: Path, bad_paths: set[str]) -> list[str]:
    """Problems of a database and image folder compared with a clean ingest.

    - the same rootnames, documents equal but for ingest dates;
    - the same proposals, galleries and summary;
    - every bad file (``bad_paths``, relative to the archive) reported in
      ``ingest_errors`` and no other file reported there as bad;
    - the same images, byte for byte;
    - and :func:`check_consistency`.
    """
    problems = check_consistency(db, data)
    for collection in (ROOTNAMES, CATALOG):
        mine = {d["_id"]: comparable(d) for d in db[collection].find()}
        theirs = {d["_id"]: comparable(d) for d in reference[collection].find()}
        if sorted(mine) != sorted(theirs):
            problems.append(f"{collection}: missing {sorted(set(theirs) - set(mine))}, "
                            f"extra {sorted(set(mine) - set(theirs))}")
        for _id in sorted(set(mine) & set(theirs)):
            if mine[_id] != theirs[_id]:
                keys = sorted(k for k in set(mine[_id]) | set(theirs[_id])
                              if mine[_id].get(k) != theirs[_id].get(k))
                problems.append(f"{collection} {_id} differs from the reference in {keys}")
    for collection in (PROPOSALS, GALLERIES):
        if _without_updated(db[collection].find()) != _without_updated(
                reference[collection].find()):
            problems.append(f"{collection} differ from the reference")
    mine = _without_updated(db[META].find({"_id": "summary"}))
    if mine != _without_updated(reference[META].find({"_id": "summary"})):
        problems.append("meta.summary differs from the reference")

    reported = {e["path"] for e in db[INGEST_ERRORS].find({"stage": {"$in": list(FILE_STAGES)}})}
    for path in sorted(bad_paths - reported):
        problems.append(f"bad file never reported: {path}")
    for path in sorted(reported - bad_paths):
        problems.append(f"good file reported bad: {path}")

    mine_files, theirs_files = _files(data), _files(reference_data)
    for path in sorted(set(mine_files) & set(theirs_files)):
        if mine_files[path].read_bytes() != theirs_files[path].read_bytes():
            problems.append(f"image differs from the reference: {path}")
    for path in sorted(set(theirs_files) - set(mine_files)):
        problems.append(f"image of the reference missing: {path}")
    return problems
