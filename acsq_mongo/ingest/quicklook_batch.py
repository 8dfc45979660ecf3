"""Quicklooks for rootnames already in the catalog (what ``acsq quicklook`` runs).

For each catalog entry (``rootname``, ``proposid``, ``path``, ``filetypes``,
``file_paths``) with an image file (raw, flt, flc, crj, crc, drz, drc), the FITS files
are every file of the observation the catalog names (``file_paths``: a further file of
a filetype, ``j8cw03012_crj``, and a ``.fits.gz`` too; :func:`catalog_folder`), each
imaged under its file key as the ingest does
(:func:`acsq_mongo.ingest.quicklook_files.observation_quicklooks`); an entry written
before ``file_paths`` existed has its files found at
``<archive>/<path>/<rootname>_<filetype>.fits[.gz]`` (names matched without regard to
case). The paths are recorded with :func:`acsq_mongo.ingest.store.set_quicklook`
(only when they changed, so a rerun over fresh images writes nothing) and
failures with :func:`acsq_mongo.ingest.store.record_errors`. A failure on one image
never stops the run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsq_mongo.archive.discover import FileInfo, RootnameFolder
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.errors import AcsqError, ConfigError
from acsq_mongo.fields import FILETYPES, IMAGE_FILETYPES, key_filetype
from acsq_mongo.ingest.quicklook_files import observation_quicklooks
from acsq_mongo.ingest.store import record_errors, set_quicklook, set_stats
from acsq_mongo.ingest.summaries import refresh_summaries

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["QuicklookRun", "run_quicklooks", "locate_files", "catalog_folder",
           "normalize_rootnames"]

log = logging.getLogger(__name__)

_ROOTNAME = re.compile(r"^[a-z0-9]{8,9}$")
#: Rootnames recorded between two bumps of the data generation (readers' caches):
#: new images show within this many, and a long run does not bump once per rootname.
BUMP_EVERY = 100
_PROJECTION = {"_id": 1, "rootname": 1, "proposid": 1, "path": 1, "filetypes": 1, "quicklook": 1,
               "stats": 1, "file_paths": 1}


@dataclass
class QuicklookRun:
    """Totals of one quicklook run.

    Attributes
    ----------
    rootnames : int
        Rootnames with at least one image file that were processed.
    made, skipped : int
        Filetypes whose images were made, or left alone because fresh.
    recorded : int
        Rootnames whose quicklook paths changed in the store.
    failures : list of str
        One line per failure: ``"<rootname> <filetype>: <error>"``, or
        ``"<name>: not in the catalog"``.
    """

    rootnames: int = 0
    made: int = 0
    skipped: int = 0
    recorded: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class _Counts:
    """Images made and fresh, as :func:`observation_quicklooks` counts them."""

    quicklooks_made: int = 0
    quicklooks_fresh: int = 0


def normalize_rootnames(names: Iterable[str]) -> list[str]:
    """Lower-case and check rootnames given by a person (commas or spaces).

    Raises
    ------
    AcsqError
        If a name is not 8 or 9 letters and digits.
    """
    out: list[str] = []
    for name in names:
        for part in str(name).replace(",", " ").split():
            part = part.strip().lower()
            if not _ROOTNAME.match(part):
                raise AcsqError(
                    f"not a rootname: {part!r} (8 or 9 letters and digits, e.g. j94f05bgq)"
                )
            if part not in out:
                out.append(part)
    return out


def locate_files(folder: Path, rootname: str, filetypes: Iterable[str]) -> dict[str, Path]:
    """Return ``{filetype: path}`` of a rootname's FITS files in its archive folder.

    Names are matched without regard to case. A filetype whose file is not
    there gets the path it was expected at, so that the caller reports it as
    missing (and keeps any images made before).
    """
    try:
        entries = {p.name.lower(): p for p in folder.iterdir()}
    except (FileNotFoundError, NotADirectoryError):
        entries = {}
    files = {}
    for filetype in filetypes:
        name = f"{rootname}_{filetype}.fits"
        files[filetype] = entries.get(name) or entries.get(name + ".gz") or folder / name
    return files


def catalog_folder(archive: Path, entry: dict[str, Any]) -> RootnameFolder:
    """The files of a catalog entry, as a :class:`RootnameFolder` keyed by file key.

    From the entry's ``file_paths`` (every file of the observation, in the archive);
    without them (an entry ingested before issue 22), the principal's folder's files
    of ``filetypes`` (:func:`locate_files`). Sizes and times are not looked up.
    """
    rootname = str(entry.get("rootname") or entry["_id"]).lower()
    relpath = entry.get("path") or ""
    folder = RootnameFolder(rootname, archive / relpath, relpath)
    if entry.get("file_paths"):
        for key, rel in entry["file_paths"].items():
            path = archive / rel
            folder.files[key] = FileInfo(key_filetype(key), path.name, path, 0, 0,
                                         rootname=path.name[:9].lower(),
                                         relpath=Path(rel).parent.as_posix())
        return folder
    filetypes = [ft for ft in FILETYPES if ft in (entry.get("filetypes") or [])]
    for ft, path in locate_files(archive / relpath, rootname, filetypes).items():
        folder.files[ft] = FileInfo(ft, path.name, path, 0, 0, rootname=rootname,
                                    relpath=relpath)
    return folder


def run_quicklooks(
    db: Database,
    settings: Settings,
    rootnames: Iterable[str] | None = None,
    force: bool = False,
) -> QuicklookRun:
    """Make the quicklook images of catalog rootnames and record them.

    Parameters
    ----------
    db : Database
    settings : Settings
        Uses ``archive`` (required), ``data`` and ``quicklook_stretch``.
    rootnames : iterable of str, optional
        Only these (8 or 9 characters; matched by ``_id``, the first 8).
        Default: every catalog entry with an image file (raw to drc).
    force : bool
        Make images again even if they are fresh.

    Returns
    -------
    run : QuicklookRun

    Raises
    ------
    ConfigError
        If ``settings.archive`` is not set.
    """
    if settings.archive is None:
        raise ConfigError(
            "setting 'archive' is not set (ACSQ_ARCHIVE): quicklooks are made from its FITS files"
        )
    run = QuicklookRun()
    unbumped = 0
    for entry in _catalog_entries(db, rootnames, run):
        folder = catalog_folder(settings.archive, entry)
        images = {key: info.path for key, info in folder.files.items()
                  if info.filetype in IMAGE_FILETYPES}
        if not images:
            continue
        counts, stats = _Counts(), {}
        paths, errors = observation_quicklooks(folder, entry.get("proposid"), images, settings,
                                               force, counts, utcnow(), stats)
        run.rootnames += 1
        run.made += counts.quicklooks_made
        run.skipped += counts.quicklooks_fresh
        if errors:
            record_errors(db, errors)
            run.failures += [f"{e['rootname']} {e['filetype']}: {e['error']}" for e in errors]
        stored = entry.get("stats") or {}
        changed = {key: v for key, v in stats.items() if v != stored.get(key)}
        if changed:  # (images made again from the same file measure the same)
            set_stats(db, entry["_id"], changed)
            if paths == (entry.get("quicklook") or {}):
                unbumped += 1
        if paths != (entry.get("quicklook") or {}):
            set_quicklook(db, entry["_id"], paths, bump=False)
            run.recorded += 1
            unbumped += 1
            if unbumped >= BUMP_EVERY:
                bump_generation(db)
                unbumped = 0
    if unbumped:
        bump_generation(db)
    if run.recorded:
        # Thumbnails appear in the proposal summaries and galleries.
        refresh_summaries(db, settings)
    log.info(
        "Quicklook run: %d rootnames, %d filetypes made, %d fresh, %d failed",
        run.rootnames, run.made, run.skipped, len(run.failures),
    )
    return run


def _catalog_entries(
    db: Database, rootnames: Iterable[str] | None, run: QuicklookRun
) -> list[dict[str, Any]]:
    """The catalog entries to work on, read up front (the run updates the catalog)."""
    if rootnames is None:
        query = {"filetypes": {"$in": list(IMAGE_FILETYPES)}}
        return list(db[CATALOG].find(query, _PROJECTION).sort("_id", 1))
    entries = []
    for name in normalize_rootnames(rootnames):
        # Equality on _id is the one lookup every server answers from an index.
        entry = db[CATALOG].find_one({"_id": name[:8]}, _PROJECTION)
        if entry is None:
            run.failures.append(f"{name}: not in the catalog")
            log.warning("%s: not in the catalog", name)
        else:
            entries.append(entry)
    return entries
