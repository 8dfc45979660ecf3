"""Quicklooks for rootnames already in the catalog (what ``acsq quicklook`` runs).

For each catalog entry (``rootname``, ``proposid``, ``path``, ``filetypes``)
with an image file (raw, flt, flc, crj, crc, drz, drc), the FITS files are found in the archive at
``<archive>/<path>/<rootname>_<filetype>.fits`` (names matched without regard
to case, as ingest does), :func:`acsq_mongo.images.quicklook.make_quicklooks` makes
the images, the paths are recorded with :func:`acsq_mongo.ingest.store.set_quicklook`
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

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.errors import AcsqError, ConfigError
from acsq_mongo.fields import IMAGE_FILETYPES
from acsq_mongo.images.quicklook import make_quicklooks
from acsq_mongo.ingest.store import record_errors, set_quicklook, set_stats
from acsq_mongo.ingest.summaries import refresh_summaries

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["QuicklookRun", "run_quicklooks", "locate_files", "normalize_rootnames"]

log = logging.getLogger(__name__)

_ROOTNAME = re.compile(r"^[a-z0-9]{8,9}$")
#: Rootnames recorded between two bumps of the data generation (readers' caches):
#: new images show within this many, and a long run does not bump once per rootname.
BUMP_EVERY = 100
_PROJECTION = {"_id": 1, "rootname": 1, "proposid": 1, "path": 1, "filetypes": 1, "quicklook": 1,
               "stats": 1}


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
        files[filetype] = entries.get(name, folder / name)
    return files


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
        filetypes = [ft for ft in IMAGE_FILETYPES if ft in (entry.get("filetypes") or [])]
        if not filetypes:
            continue
        rootname = str(entry.get("rootname") or entry["_id"]).lower()
        folder = settings.archive / (entry.get("path") or "")
        files = locate_files(folder, rootname, filetypes)
        result = make_quicklooks(rootname, entry.get("proposid"), files, settings, force=force)
        run.rootnames += 1
        run.made += result.made
        run.skipped += result.skipped
        if result.errors:
            record_errors(db, [{"rootname": rootname, **error} for error in result.errors])
            run.failures += [f"{rootname} {e['filetype']}: {e['error']}" for e in result.errors]
        stored = entry.get("stats") or {}
        changed = {ft: v for ft, v in result.stats.items() if v != stored.get(ft)}
        if changed:  # (images made again from the same file measure the same)
            set_stats(db, entry["_id"], changed)
            if result.paths == (entry.get("quicklook") or {}):
                unbumped += 1
        if result.paths != (entry.get("quicklook") or {}):
            set_quicklook(db, entry["_id"], result.paths, bump=False)
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
