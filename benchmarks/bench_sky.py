"""Footprint searches at scale: ``contains`` and ``overlaps`` on 2,000 rootnames and more.

One database is grown level by level (``--levels``, default 2,000 and 20,000
rootnames in ``catalog``; only the catalog is loaded, which is all a footprint
search reads) with the scale benchmark's synthetic documents (``_synthetic_load``:
the sample plan, its WCS and the ingest's document builder, so every footprint
is the one an ingest would store). At each level the query core answers, cold
(a new query each time, no result cache), ``--repeats`` searches of each kind:

- ``contains``: at the footprint centre of a rootname spread over the catalog;
- ``overlaps 2arcmin`` and ``overlaps 1deg``: around the same positions;
- ``overlaps 1deg, sort=distance``: the same, nearest first;
- ``cone 1deg``: the target-position cone search, for comparison.

Each time is the whole query: parsing the position with astropy, the server's
``$geoIntersects`` on the 2dsphere index (``hint``), the exact test in Python,
then the count, facets and first page. The plan column shows the winning plan
of the geo ``find`` (explain), and the server step alone is timed too, with the
hint and without it (then SecantusDB's planner scans the collection).

Usage::

    python benchmarks/bench_sky.py [--levels 2000,20000] [--repeats 20] [--uri URI]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymongo
from _synthetic_load import bulk_load

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.query import QuerySpec, run
from acsq_mongo.query.sky_search import FOOTPRINT_INDEX
from acsq_mongo.sample.synthetic import plan_archive
from acsq_mongo.settings import load_settings, redact_uri
from acsq_mongo.sky.geometry import footprint_centre, from_geojson


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _positions(db, n: int) -> list[tuple[float, float]]:
    docs = list(db[CATALOG].find({"footprint": {"$exists": True}}, {"footprint": 1})
                .sort("_id", 1))
    spread = docs[:: max(1, len(docs) // n)][:n]
    return [footprint_centre(from_geojson(d["footprint"])) for d in spread]


def _searches(positions) -> dict[str, list[dict[str, str]]]:
    return {
        "contains": [{"contains": f"{ra},{dec}"} for ra, dec in positions],
        "overlaps 2arcmin": [{"overlaps": f"{ra},{dec},2arcmin"} for ra, dec in positions],
        "overlaps 1deg": [{"overlaps": f"{ra},{dec},1deg"} for ra, dec in positions],
        "overlaps 1deg, distance": [{"overlaps": f"{ra},{dec},1deg", "sort": "distance"}
                                    for ra, dec in positions],
        "cone 1deg (targets)": [{"cone": f"{ra},{dec},1deg"} for ra, dec in positions],
    }


def _plan(db, params: dict[str, str]) -> str:
    spec = QuerySpec.parse(params)
    if spec.sky is None:
        return "(box on dec_targ, ra_targ)"
    command = {"find": CATALOG, "filter": spec.sky.server_filter(),
               "projection": {"_id": 1, "footprint": 1}, "hint": FOOTPRINT_INDEX}
    reply = db.command("explain", command, verbosity="queryPlanner")
    plan, stages = reply["queryPlanner"]["winningPlan"], []
    while plan:
        stages.append(plan["stage"] + (f" {plan['indexName']}" if "indexName" in plan else ""))
        plan = plan.get("inputStage")
    return " <- ".join(stages)


def _server_step(db, params: dict[str, str], hint: bool) -> float:
    spec = QuerySpec.parse(params)
    start = time.perf_counter()
    cursor = db[CATALOG].find(spec.sky.server_filter(), {"_id": 1, "footprint": 1})
    list(cursor.hint(FOOTPRINT_INDEX) if hint else cursor)
    return time.perf_counter() - start


def _measure(db, settings, level: int, repeats: int) -> None:
    searches = _searches(_positions(db, repeats))
    print(f"  {'search':<26} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'matches p50':>11}  plan")
    for label, params_list in searches.items():
        times, matches = [], []
        for params in params_list:
            start = time.perf_counter()
            result = run(db, QuerySpec.parse({**params, "limit": "60"}), settings)
            times.append(time.perf_counter() - start)
            matches.append(result.count)
        print(f"  {label:<26} {len(times):>3} {statistics.median(times) * 1000:>8.1f} "
              f"{_percentile(times, 95) * 1000:>8.1f} {statistics.median(matches):>11.0f}  "
              f"{_plan(db, params_list[0])}", flush=True)
    for label in ("contains", "overlaps 1deg"):
        for hint in (True, False):
            times = [_server_step(db, p, hint) for p in searches[label][:max(3, repeats // 4)]]
            print(f"  server step only, {label}, {'hint' if hint else 'no hint'}: p50 "
                  f"{statistics.median(times) * 1000:.1f} ms over {len(times)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="2000,20000",
                        help="rootnames in catalog at each level, comma-separated, growing")
    parser.add_argument("--repeats", type=int, default=20, help="searches of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--uri", help="a running server (default: start the local one)")
    args = parser.parse_args(argv)
    levels = [int(v) for v in args.levels.split(",")]
    if levels != sorted(levels) or levels[0] < 1:
        parser.error("--levels must grow, e.g. 2000,20000")
    with tempfile.TemporaryDirectory(prefix="bench_sky_") as tmp:
        if args.uri:
            return _bench(args, levels, Path(tmp), args.uri)
        with localdb.LocalServer.private(Path(tmp) / "db") as server:
            return _bench(args, levels, Path(tmp), server.uri)


def _bench(args, levels: list[int], work: Path, uri: str) -> int:
    print(f"footprint search benchmark {datetime.datetime.now():%Y-%m-%d %H:%M}; "
          f"{os.cpu_count()} CPUs, {platform.platform()}, Python {sys.version.split()[0]}; "
          f"{_load()}", flush=True)
    settings = load_settings(environ={}, mongo_uri=uri, db="bench_sky", data=work / "var",
                             archive=work / "archive", server_timeout=30)
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=30000)
    print(f"server: MongoDB {client.server_info().get('version')} at {redact_uri(uri)}")
    client.drop_database(settings.db)
    db = client[settings.db]
    ensure_indexes(db)
    plan = plan_archive(levels[-1], args.seed)
    loaded = 0
    try:
        for level in levels:
            times = bulk_load(db, plan[:level], loaded, 0, settings.archive, args.seed)
            loaded = level
            with_footprint = db[CATALOG].count_documents({"footprint": {"$exists": True}})
            print(f"\n== {level} rootnames in catalog ({with_footprint} with a footprint); "
                  f"loaded in {times.total:.0f} s; {_load()}", flush=True)
            _measure(db, settings, level, args.repeats)
    finally:
        client.drop_database(settings.db)
        client.close()
    print(f"\n{_load()} at the end. Timings depend on the load of the machine.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
