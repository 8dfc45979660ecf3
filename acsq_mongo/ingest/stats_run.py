"""``acsq stats``: the image statistics of rootnames ingested before, on Dask, restartable.

An ingest measures a file's statistics while it makes its quicklook images
(:mod:`acsq_mongo.images.quicklook`); an archive ingested before they existed,
or with ``--no-quicklook``, has none. :func:`run_stats` measures the image
files of the catalog rootnames that lack them, every file of an observation under its
file key (a further file of a filetype too, ``stats.j8cw03012_crj``; the files from
:func:`~acsq_mongo.ingest.quicklook_batch.catalog_folder`)
(:func:`acsq_mongo.images.statistics.file_statistics`, no JPEG made) and
sets ``stats.<file key>`` in both collections (:func:`set_stats`), batch by
batch (:mod:`acsq_mongo.ingest.pixel_run`): a run stopped anywhere is
finished by running it again, which measures only what is still missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.errors import ConfigError
from acsq_mongo.fields import IMAGE_FILETYPES, STATS_PREFIX, file_keys
from acsq_mongo.images.statistics import file_statistics
from acsq_mongo.ingest.pixel_run import PixelRun, run_pixel_job
from acsq_mongo.ingest.quicklook_batch import catalog_folder, normalize_rootnames
from acsq_mongo.ingest.store import record_errors, set_stats

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["run_stats", "pending_stats", "measure_stats"]

log = logging.getLogger(__name__)

_PROJECTION = {"_id": 1, "rootname": 1, "path": 1, "filetypes": 1, "file_paths": 1,
               STATS_PREFIX: 1}


def pending_stats(db: Database, rootnames: Iterable[str] | None = None, force: bool = False
                  ) -> list[dict[str, Any]]:
    """The catalog entries with an image file that has no statistics, each with ``todo``.

    ``todo`` lists the file keys of the image files to measure (all of them with ``force``).
    """
    if rootnames is None:
        query: dict[str, Any] = {"filetypes": {"$in": list(IMAGE_FILETYPES)}}
    else:
        query = {"_id": {"$in": [name[:8] for name in normalize_rootnames(rootnames)]}}
    entries = []
    for entry in db[CATALOG].find(query, _PROJECTION).sort("_id", 1):
        have = entry.pop(STATS_PREFIX, None) or {}
        keys = file_keys(entry.get("file_paths") or entry.get("filetypes") or [],
                         IMAGE_FILETYPES)
        todo = [key for key in keys if force or key not in have]
        if todo:
            entries.append({**entry, "todo": todo})
    return entries


def measure_stats(settings: Settings, entry: dict[str, Any]
                  ) -> tuple[dict[str, Any] | None, list[str]]:
    """Measure one entry's ``todo`` files: ``({file key: stats}, failures)`` (on a worker)."""
    folder = catalog_folder(settings.archive, entry)
    stats, failures = {}, []
    for key in entry["todo"]:
        info = folder.files.get(key)
        try:
            if info is None:
                raise FileNotFoundError("not in the archive")
            stats[key] = file_statistics(info.path, info.filetype)
        except Exception as exc:
            failures.append(f"{folder.rootname} {key}: {' '.join(str(exc).split())}")
    return (stats or None), failures


def _write(db: Database, entry: dict[str, Any], stats: Mapping[str, Any]) -> None:
    set_stats(db, entry["_id"], stats)


def run_stats(db: Database, settings: Settings, rootnames: Iterable[str] | None = None,
              force: bool = False, client: Any = None) -> PixelRun:
    """Measure and store the statistics of the rootnames that lack them.

    Parameters
    ----------
    db : Database
    settings : Settings
        ``archive`` (required), ``workers``, ``scheduler``, ``batch_size``.
    rootnames : iterable of str, optional
        Only these; default: every catalog rootname with an image file.
    force : bool
        Measure again the files that have statistics.
    client : distributed.Client, optional
        A Dask client to use (tests).

    Returns
    -------
    run : PixelRun

    Raises
    ------
    ConfigError
        If ``settings.archive`` is not set.
    """
    if settings.archive is None:
        raise ConfigError("setting 'archive' is not set (ACSQ_ARCHIVE): statistics are "
                          "measured from its FITS files")
    entries = pending_stats(db, rootnames, force)
    run = run_pixel_job(db, settings, entries, measure_stats, _write, "statistics",
                        batch_size=settings.batch_size, client=client)
    if run.failures:
        record_errors(db, [{"rootname": line.split()[0], "path": line.split()[0],
                            "stage": "stats", "error": line} for line in run.failures])
    log.info("Statistics run: %d rootnames measured, %d failed (%s)", run.rootnames,
             len(run.failures), run.where)
    return run
