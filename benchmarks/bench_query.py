"""Query speed on the real local server (SecantusDB) with a sample archive.

Two measurements:

**Seed Fig. 3: DATE-OBS of 1,000 rootnames, database versus files.**
The database side is one query through the query core
(``Archive.query(rootname__in=[...]).select("rootname", "date_obs").rows()``),
cold (no result cache); the file side opens each rootname's FITS file with
astropy and reads DATE-OBS from the primary header (files in the page cache,
the kindest case for files). It prints both times and the ratio (target
>= 100x; the seed reports about 10x). The warm (cached) query is printed too.

**A typical form query at ``--rootnames`` rootnames.**
detector + filter1 + an exposure-time range + a date range, first page (60
rows) with the total count and all six facets, as the web query page asks
for it: p50 and p95 over ``--repeats`` runs, cold (no cache: one ``find`` of
every match on ``catalog``, which gives the count, the facets and the page; a
``$facet`` aggregation as well past 2,000 matches) and warm (the result cache,
valid until the data generation changes).
Also once: the next page with the cache (one ``find``), and a header-keyword
query (the whole ``rootnames`` documents of the WFC rootnames, by the
``detector`` index).

The archive comes from :mod:`acsq_mongo.sample` and is ingested with
:func:`acsq_mongo.ingest.run.run_ingest` (no quicklook images) into a local server
this benchmark starts on a free port, in a temporary folder.

Usage::

    python benchmarks/bench_query.py [--rootnames 2000] [--fig3 1000] [--repeats 40]
                                     [--archive DIR]

``--archive`` reuses a sample archive written before (``acsq sample DIR
--rootnames 2000``) instead of writing one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import sample_archive
from astropy.io import fits

from acsq_mongo import Archive
from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query import QuerySpec, ResultCache, run
from acsq_mongo.settings import load_settings

TARGET_RATIO = 100.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def _primary_file(archive: Path, doc: dict) -> Path:
    filetype = doc["filetypes"][0]
    return archive / doc["path"] / f"{doc['rootname']}_{filetype}.fits"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rootnames", type=int, default=2000)
    parser.add_argument("--fig3", type=int, default=1000, help="rootnames for the Fig. 3 test")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--archive", type=Path, help="an existing sample archive to ingest")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_query_") as tmp, \
            localdb.LocalServer.private(Path(tmp)) as server:
        return _bench(args, Path(tmp), server.uri)


def _bench(args: argparse.Namespace, work: Path, uri: str) -> int:
    archive = sample_archive(args.archive, work, args.rootnames, args.seed).root
    settings = load_settings(environ={}, mongo_uri=uri, db="bench", data=work / "var",
                             archive=archive, server_timeout=30)
    db = connect(settings)
    ensure_indexes(db)
    start = time.perf_counter()
    summary = run_ingest(settings, archive, quicklook=False)
    n = db[CATALOG].count_documents({})
    print(f"  ingested {n} rootnames in {time.perf_counter() - start:.0f} s "
          f"(ok: {summary.ok})", flush=True)

    # --- Seed Fig. 3 -----------------------------------------------------------------
    docs = list(db[CATALOG].find({}, {"rootname": 1, "path": 1, "filetypes": 1, "date_obs": 1},
                                 sort=[("_id", 1)]))[: args.fig3]
    names = [d["rootname"] for d in docs]
    files = [_primary_file(archive, d) for d in docs]
    for path in files:  # warm the page cache: the kindest case for the files
        path.read_bytes()

    def from_files() -> dict[str, str]:
        return {p.name.split("_")[0]: fits.getheader(p, 0)["DATE-OBS"] for p in files}

    cold_archive = Archive(settings, db=db, cache=False)

    def from_db() -> dict:
        rows = cold_archive.query(rootname__in=names).select("rootname", "date_obs").rows()
        return {r["rootname"]: r["date_obs"] for r in rows}

    file_dates = from_files()
    db_dates = from_db()
    agree = all(db_dates[r].strftime("%Y-%m-%d") == file_dates[r] for r in names)
    t_files = min(_timed(from_files, 3))
    t_db = min(_timed(from_db, 5))
    warm_archive = Archive(settings, db=db)
    warm_archive.query(rootname__in=names).select("rootname", "date_obs").rows()
    t_db_warm = min(_timed(
        lambda: warm_archive.query(rootname__in=names).select("rootname", "date_obs").page(
            limit=len(names), with_facets=False), 5))
    ratio = t_files / t_db
    print(f"\nFig. 3: DATE-OBS of {len(names)} rootnames (values agree: {agree})")
    print(f"  FITS files (astropy, primary header): {t_files:.3f} s")
    print(f"  database, one query, cold:            {t_db:.3f} s   ratio {ratio:.1f}x "
          f"(target >= {TARGET_RATIO:.0f}x; seed ~10x)")
    print(f"  database, result cache (warm page):   {t_db_warm * 1000:.1f} ms  "
          f"ratio {t_files / t_db_warm:.0f}x")

    # --- The typical form query ------------------------------------------------------------
    wfc = run(db, QuerySpec.parse({"detector": "WFC", "limit": "0"}), settings)
    filter1 = next(v for v, _ in wfc.facets["filter1"] if v and v.startswith("F"))
    params = {"detector": "WFC", "filter1": filter1, "exptime__gte": "10",
              "exptime__lte": "3000", "date_obs__gte": "2002-01-01", "date_obs__lt": "2020"}
    spec = QuerySpec.parse(params)
    first = run(db, spec, settings)
    cold = _timed(lambda: run(db, spec, settings), args.repeats)
    cache = ResultCache()
    run(db, spec, settings, cache=cache)
    warm = _timed(lambda: run(db, spec, settings, cache=cache), args.repeats)
    start = time.perf_counter()
    run(db, spec.replace(offset=60), settings, cache=cache)
    next_page = time.perf_counter() - start
    print(f"\nForm query at {n} rootnames: {' '.join(f'{k}={v}' for k, v in params.items())}")
    print(f"  first page ({len(first.rows)} rows) of {first.count}, with 6 facets")
    print("  cold (no cache; one find of every match gives count, facets and page):")
    print(f"                   p50 {statistics.median(cold) * 1000:.0f} ms, "
          f"p95 {_percentile(cold, 95) * 1000:.0f} ms over {args.repeats} runs")
    print(f"  warm (cache):    p50 {statistics.median(warm) * 1000:.1f} ms, "
          f"p95 {_percentile(warm, 95) * 1000:.1f} ms   cold/warm "
          f"{statistics.median(cold) / statistics.median(warm):.0f}x")
    print(f"  next page, count and facets cached: {next_page * 1000:.0f} ms")

    header_spec = QuerySpec.parse({"detector": "WFC", "headers.flt.0.CCDGAIN__gte": "2",
                                   "columns": "rootname,date_obs,headers.flt.0.CCDGAIN"})
    start = time.perf_counter()
    header_result = run(db, header_spec, settings)
    t_header = time.perf_counter() - start
    sizes = [d.get("doc_bytes") or 0 for d in db[CATALOG].find({}, {"doc_bytes": 1})]
    mean_kb = sum(sizes) / max(1, len(sizes)) / 1e3
    print(f"\nHeader-keyword query (detector=WFC headers.flt.0.CCDGAIN__gte=2), first page: "
          f"{t_header:.2f} s for {header_result.count} matches "
          f"(of {db[ROOTNAMES].estimated_document_count()} whole documents"
          + (f", ~{mean_kb:.0f} kB each)" if mean_kb else ")"))
    print("\nTimings depend on the load of the machine: compare runs made on a quiet one.")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
