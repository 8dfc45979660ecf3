"""The scale benchmark's bulk load: synthetic rootname documents, written as ingest stores them.

The documents come from a sample plan (:func:`acsq_mongo.sample.synthetic.plan_archive`)
and its headers (:func:`~acsq_mongo.sample.synthetic.planned_headers`, equal to what
the header reader finds in the files :func:`acsq_mongo.sample.write_rootname` would
write), through the ingest's own :func:`~acsq_mongo.ingest.document.build_document`,
with the quicklook paths an ingest with images records. No FITS file is written.

They are stored in ingest's two shapes, whole in ``rootnames`` and slim in ``catalog``
(:func:`~acsq_mongo.ingest.store.catalog_entry`), by ``insert_many`` in unordered
batches instead of one upsert per rootname; then the summaries are refreshed as at
the end of an ingest run. The documents are built (and encoded) by a pool of forked
processes, a few batches ahead of the writes.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument

from acsq_mongo.archive.discover import FileInfo, RootnameFolder
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.db.keys import escape_key
from acsq_mongo.fields import IMAGE_FILETYPES, PROMOTED_FIELDS
from acsq_mongo.images.quicklook import quicklook_targets, thumbnail_filetype
from acsq_mongo.ingest.document import DocumentParts, build_document
from acsq_mongo.ingest.headers import BLOCK
from acsq_mongo.ingest.store import catalog_entry
from acsq_mongo.ingest.summaries import refresh_summaries
from acsq_mongo.sample import SampleRootname, load_reference
from acsq_mongo.sample.synthetic import planned_headers, written_date
from acsq_mongo.sample.wcs_values import wcs_values
from acsq_mongo.sky.footprints import FOOTPRINT_FILETYPES, compute_footprints

_EPOCH = datetime.datetime(1970, 1, 1)
_PROMOTED_KEYWORDS = {f.keyword for f in PROMOTED_FIELDS if f.keyword} | {
    "DATE-OBS", "TIME-OBS", "EXPSTART"}


def _file_size(hdus: list[dict[str, Any]]) -> int:
    """Bytes of a FITS file with these headers: header blocks plus padded data."""
    size = 0
    for hdu in hdus:
        cards = sum(len(v) if isinstance(v, list) else 1 for v in hdu.values()) + 1
        size += -(-cards // 36) * BLOCK
        n = 1 if hdu.get("NAXIS") else 0
        for k in range(1, (hdu.get("NAXIS") or 0) + 1):
            n *= hdu.get(f"NAXIS{k}") or 0
        size += -(-(abs(hdu.get("BITPIX") or 8) // 8 * n) // BLOCK) * BLOCK
    return size


_SHAPES: dict[tuple, tuple[int, int]] = {}


def _file_shape(r: SampleRootname, filetype: str, seed: int, reference: dict,
                planned: dict | None) -> tuple[int, int]:
    """(bytes, HDUs) of a file: the same for every file of one layout, so kept."""
    key = (r.promoted["detector"], filetype, r.shape, r.n_chips, len(r.members))
    if key not in _SHAPES:
        hdus = (planned or planned_headers(r, seed, reference))[filetype]
        _SHAPES[key] = (_file_size(hdus), len(hdus))
    return _SHAPES[key]


def _quicklook(r: SampleRootname) -> dict[str, Any]:
    """The paths an ingest with quicklook images records (relative to ACSQ_DATA)."""
    paths: dict[str, Any] = {}
    thumbnail = thumbnail_filetype(r.filetypes)
    for filetype in (ft for ft in IMAGE_FILETYPES if ft in r.filetypes):
        targets = quicklook_targets(r.rootname, r.promoted["proposid"], filetype,
                                    filetype == thumbnail)
        paths[filetype] = targets["full"]
        paths.setdefault("preview", {})[filetype] = targets["preview"]
        if "thumbnail" in targets:
            paths["thumbnail"] = targets["thumbnail"]
    return paths


def synthetic_document(r: SampleRootname, archive: Path, seed: int, reference: dict,
                       now: datetime.datetime, whole: bool = True) -> dict[str, Any]:
    """The whole rootname document an ingest (with quicklook) would store for ``r``.

    With ``whole=False`` only the keywords of the promoted fields are kept: enough
    for the catalog entry, which holds no header, and cheaper to build.
    """
    planned = planned_headers(r, seed, reference, extensions=whole)
    shapes = {ft: _file_shape(r, ft, seed, reference, planned if whole else None)
              for ft in planned}
    mtime_ns = int((written_date(r) - _EPOCH).total_seconds()) * 10**9
    files = {ft: FileInfo(ft, f"{r.rootname}_{ft}.fits", archive / r.path /
                          f"{r.rootname}_{ft}.fits", shapes[ft][0], mtime_ns)
             for ft in planned}
    folder = RootnameFolder(r.rootname, archive / r.path, r.path, files)
    if not whole:  # what the promoted fields are read from
        planned = {ft: [{k: v for k, v in hdus[0].items() if k in _PROMOTED_KEYWORDS}]
                   for ft, hdus in planned.items()}
    headers = {ft: {str(i): {escape_key(k): v for k, v in hdu.items()}
                    for i, hdu in enumerate(hdus)} for ft, hdus in planned.items()}
    footprints = compute_footprints(headers if whole else _sci_headers(r, planned))
    n_hdus = {ft: shape[1] for ft, shape in shapes.items()}
    proposal_types = {r.promoted["proposid"]: r.promoted["proposal_type"]}
    return build_document(DocumentParts(folder, headers, {}, n_hdus, [], now,
                                        quicklook=_quicklook(r), proposal_types=proposal_types,
                                        footprints=footprints))


def _sci_headers(r: SampleRootname, filetypes) -> dict[str, dict[str, dict[str, Any]]]:
    """The SCI extensions' WCS keywords alone, for the footprints of a slim document."""
    height, width = r.shape
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for filetype in filetypes:
        if filetype not in FOOTPRINT_FILETYPES:
            continue
        chips = r.n_chips if filetype not in ("drz", "drc") else 1
        out[filetype] = {str(3 * (chip - 1) + 1): {
            "EXTNAME": "SCI", "NAXIS1": width, "NAXIS2": height,
            **wcs_values(r, filetype, chip)} for chip in range(1, chips + 1)}
    return out


@dataclass
class LoadTimes:
    """Seconds spent by one bulk load, by step."""

    n_whole: int = 0
    n_catalog: int = 0
    build: float = 0.0
    rootnames: float = 0.0
    catalog: float = 0.0
    summaries: float = 0.0
    whole_bytes: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.build + self.rootnames + self.catalog + self.summaries


def _build_chunk(job: tuple) -> tuple[list[bytes], list[bytes], int, float]:
    """Build the documents of a chunk: (whole documents' BSON, catalog entries' BSON,
    bytes of the whole ones, CPU seconds)."""
    chunk, first, whole_max, archive, seed, now = job
    cpu = time.process_time()
    reference = load_reference()
    docs = [synthetic_document(r, archive, seed, reference, now, whole=first + i < whole_max)
            for i, r in enumerate(chunk)]
    whole = [bson.encode(d) for i, d in enumerate(docs) if first + i < whole_max]
    entries = [bson.encode(catalog_entry(d)) for d in docs]
    return whole, entries, sum(map(len, whole)), time.process_time() - cpu


def _built(jobs: list[tuple], workers: int) -> Iterator[tuple]:
    """The chunks built, in order: by ``workers`` forked processes, a few chunks ahead."""
    if workers <= 1:
        yield from map(_build_chunk, jobs)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        ahead = [pool.submit(_build_chunk, job) for job in jobs[:workers + 1]]
        for k in range(len(jobs)):
            future = ahead.pop(0)
            if k + workers + 1 < len(jobs):
                ahead.append(pool.submit(_build_chunk, jobs[k + workers + 1]))
            yield future.result()


def bulk_load(db, plan: list[SampleRootname], start: int, whole_max: int, archive: Path,
              seed: int, batch: int = 500, workers: int | None = None) -> LoadTimes:
    """Store ``plan[start:]``: whole documents for the first ``whole_max`` of the plan.

    The documents are built by ``workers`` processes (default: one per core) while
    this one writes those built before.

    Returns
    -------
    times : LoadTimes
        Waiting for the documents to be built (``build``; their CPU in
        ``extra["build_cpu"]``), writing each collection, and the summaries' refresh.
    """
    times = LoadTimes()
    now = utcnow()
    workers = workers if workers is not None else (os.cpu_count() or 1)
    jobs = [(plan[first: first + batch], first, whole_max, archive, seed, now)
            for first in range(start, len(plan), batch)]
    built = _built(jobs, workers)
    times.extra["build_cpu"] = 0.0
    while True:
        t0 = time.perf_counter()
        chunk = next(built, None)
        if chunk is None:
            break
        whole, entries, whole_bytes, cpu = chunk
        t1 = time.perf_counter()
        if whole:
            db[ROOTNAMES].insert_many([RawBSONDocument(d) for d in whole], ordered=False)
            times.whole_bytes += whole_bytes
        t2 = time.perf_counter()
        db[CATALOG].insert_many([RawBSONDocument(d) for d in entries], ordered=False)
        t3 = time.perf_counter()
        times.build += t1 - t0
        times.extra["build_cpu"] += cpu
        times.rootnames += t2 - t1
        times.catalog += t3 - t2
        times.n_whole += len(whole)
        times.n_catalog += len(entries)
    t0 = time.perf_counter()
    refresh_summaries(db)
    bump_generation(db)
    times.summaries = time.perf_counter() - t0
    return times
