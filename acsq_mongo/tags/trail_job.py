"""``acsq detect trails``: satellite trails proposed as anomalies, on Dask, resumable.

For the rootnames a query selects (any filters of the query core), the job
runs :func:`acsq_mongo.images.trails.detect_trails` on each rootname's flc
(else flt) file, full-frame WFC and HRC only (the tool reads no subarray),
batch by batch on Dask (:mod:`acsq_mongo.ingest.pixel_run`). Each file
searched is recorded in ``trail_searches`` (``_id``
``<catalog_id>:<filetype>:<version>``, how many trails, when), so a rerun
searches only what was not searched with this version of the tool: an
interrupted run is finished by running it again.

A file with trails gets one proposal of ``satellite_trail``
(:func:`acsq_mongo.tags.proposals.propose`) by ``acstools.findsat_mrt
<version>``, with every trail's chip, endpoints, S/N and width; its key is
the flag, the file and the version, so a rejected proposal is not made again
for the same file and version.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.generation import utcnow
from acsq_mongo.errors import ConfigError
from acsq_mongo.images.trails import DETECTOR_NAME, detect_trails, detector_version
from acsq_mongo.ingest.pixel_run import PixelRun, run_pixel_job
from acsq_mongo.query import core
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.tags.proposals import propose

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["TRAIL_SEARCHES", "TRAIL_FLAG", "trail_entries", "measure_trails", "run_trails",
           "trail_key"]

log = logging.getLogger(__name__)

#: One document per file searched for trails, per version of the tool.
TRAIL_SEARCHES = "trail_searches"
#: The flag a trail proposes.
TRAIL_FLAG = "satellite_trail"
_FILETYPES = ("flc", "flt")


def trail_key(filetype: str, version: str) -> str:
    """The key of a trail proposal: the flag, the file and the detector's version."""
    return f"{TRAIL_FLAG}:{filetype}:{DETECTOR_NAME} {version}"


def trail_entries(db: Database, params: Iterable[tuple[str, Any]] = (), version: str = "",
                  force: bool = False) -> list[dict[str, Any]]:
    """The catalog entries to search: selected by ``params``, with an flc or flt, not searched.

    Full-frame WFC and HRC only; each entry gets ``filetype`` (flc, else flt).
    """
    spec = QuerySpec.parse([*params, ("columns", "rootname")])
    ids = [row["rootname"][:8] for row in core.iter_rows(db, spec) if row.get("rootname")]
    entries = []
    fields = {"_id": 1, "rootname": 1, "path": 1, "filetypes": 1, "detector": 1, "subarray": 1}
    for start in range(0, len(ids), 1000):
        for entry in db[CATALOG].find({"_id": {"$in": ids[start:start + 1000]}}, fields):
            filetype = next((ft for ft in _FILETYPES if ft in (entry.get("filetypes") or [])),
                            None)
            if filetype is None or entry.get("detector") not in ("WFC", "HRC") \
                    or entry.get("subarray"):
                continue
            entries.append({**entry, "filetype": filetype})
    if not force:
        done = {d["_id"] for d in db[TRAIL_SEARCHES].find(
            {"_id": {"$in": [_search_id(e, version) for e in entries]}}, {"_id": 1})}
        entries = [e for e in entries if _search_id(e, version) not in done]
    return sorted(entries, key=lambda e: e["_id"])


def _search_id(entry: dict[str, Any], version: str) -> str:
    return f"{entry['_id']}:{entry['filetype']}:{version}"


def measure_trails(settings: Settings, entry: dict[str, Any]
                   ) -> tuple[dict[str, Any] | None, list[str]]:
    """Search one entry's file (on a worker): ``({"version", "trails": [...]}, failures)``."""
    rootname = str(entry.get("rootname") or entry["_id"]).lower()
    path = settings.archive / (entry.get("path") or "") / f"{rootname}_{entry['filetype']}.fits"
    search = detect_trails(path, threshold=settings.trail_threshold)
    trails = [{"chip": t.chip, "ext": t.ext, "endpoints": list(t.endpoints), "snr": t.snr,
               "width": t.width, "image_endpoints": list(t.image_endpoints)}
              for t in search.trails]
    return {"version": search.version, "binsize": search.binsize, "trails": trails,
            "image_size": list(search.image_size)}, []


def _write(db: Database, entry: dict[str, Any], result: dict[str, Any]) -> None:
    version, trails = result["version"], result["trails"]
    if trails:
        best = max(trails, key=lambda t: t["snr"])
        x0, y0, x1, y1 = best["endpoints"]
        comment = (f"{len(trails)} trail{'s' if len(trails) > 1 else ''} in the "
                   f"{entry['filetype']}; strongest S/N {best['snr']:.1f} on {best['chip']}, "
                   f"({x0:.0f}, {y0:.0f}) to ({x1:.0f}, {y1:.0f})")
        propose(db, entry["rootname"], TRAIL_FLAG, f"{DETECTOR_NAME} {version}",
                trail_key(entry["filetype"], version), "findsat_mrt", comment,
                {"filetype": entry["filetype"], "trails": trails, "binsize": result["binsize"],
                 "image_size": result["image_size"]},
                bump=False)
    db[TRAIL_SEARCHES].replace_one(
        {"_id": _search_id(entry, version)},
        {"catalog_id": entry["_id"], "filetype": entry["filetype"], "version": version,
         "n_trails": len(trails), "time": utcnow()}, upsert=True)


def run_trails(db: Database, settings: Settings, params: Iterable[tuple[str, Any]] = (),
               force: bool = False, client: Any = None) -> PixelRun:
    """Search the selected rootnames for trails and propose what is found.

    Parameters
    ----------
    db : Database
    settings : Settings
        ``archive`` (required), ``workers``, ``scheduler``, ``trail_threshold``.
    params : iterable of (name, value)
        Query filters (``detector=WFC``, ``date_obs__gte=2020-01-01``); none: every rootname.
    force : bool
        Search again files searched with this version.
    client : distributed.Client, optional

    Raises
    ------
    ConfigError
        If ``archive`` is not set.
    TrailToolMissing
        If acstools is not installed.
    """
    if settings.archive is None:
        raise ConfigError("setting 'archive' is not set (ACSQ_ARCHIVE): trails are searched "
                          "in its FITS files")
    version = detector_version()
    entries = trail_entries(db, params, version, force)
    # A trail search is slow (seconds to a minute a chip): small batches keep workers busy.
    run = run_pixel_job(db, settings, entries, measure_trails, _write, "trail detection",
                        batch_size=2, client=client)
    log.info("Trail detection: %d rootnames searched, %d failed (%s)", run.rootnames,
             len(run.failures), run.where)
    return run
