"""Trends and sky maps at 2,000 rootnames: what a trend page, its CSV and a sky map cost.

A database of ``--rootnames`` synthetic rootnames (default 2,000; the scale run's bulk
load, ``_synthetic_load``: the sample generator's plan and headers through the
ingest's document builder, no FITS files) on the local server. Each request goes
through the web app's Flask test client in this process (query core, matplotlib,
templates, pymongo; no HTTP server) and is **cold**: the data generation is bumped
before it, so no cache answers. Printed per request: median and 95th percentile,
and the points plotted. Then the header keyword's pages again with an index on it
(``acsq db index``, which copies it into the catalog), in the same run; and the same
trend through the query core alone (the points and the ``$group``, no picture), to
split the cost.

Usage::

    python benchmarks/bench_trend.py [--rootnames 2000] [--repeats 10]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pymongo
from _common import percentile
from _synthetic_load import bulk_load

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.ingest.keyword_indexes import create_header_index, drop_header_index
from acsq_mongo.sample.synthetic import plan_archive
from acsq_mongo.settings import load_settings
from acsq_mongo.trends.trend import TrendSpec, trend
from webapp import create_app

#: The header keyword measured again with an index (acsq db index).
INDEXED = "headers.flt.1.MDRIZSKY"

PAGES = (
    ("trend page, exptime, all", "/trend?y=exptime"),
    ("trend page, header keyword, all", "/trend?y=headers.flt.1.MDRIZSKY&by=filter1"),
    ("trend page, header keyword, WFC", "/trend?y=headers.raw.0.CCDGAIN&detector=WFC"),
    ("trend PNG (after its page)", None),
    ("trend CSV, header keyword, all", "/trend.csv?y=headers.flt.1.MDRIZSKY&by=filter1"),
    ("trend SVG, exptime, all", "/trend.svg?y=exptime"),
    ("sky map, whole archive", "/sky.png"),
    ("sky map, WFC", "/sky.png?detector=WFC"),
)


def _cold(db, client, url: str, repeats: int, then: str | None = None) -> tuple[list, int]:
    times, size = [], 0
    for _ in range(repeats):
        bump_generation(db)
        start = time.perf_counter()
        reply = client.get(url)
        if then:
            start = time.perf_counter()
            reply = client.get(then)
        times.append(time.perf_counter() - start)
        assert reply.status_code == 200, (url, reply.status_code, reply.data[:200])
        size = len(reply.data)
    return times, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootnames", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"trend benchmark {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
          f"{os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{platform.platform()}; Python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_trend_") as tmp, \
            localdb.LocalServer.private(Path(tmp) / "db") as server:
        settings = load_settings(environ={}, mongo_uri=server.uri, db="bench_trend",
                                 data=Path(tmp) / "var", archive=Path(tmp) / "archive")
        mongo = pymongo.MongoClient(server.uri)
        db = mongo[settings.db]
        ensure_indexes(db)
        plan = plan_archive(args.rootnames, args.seed)
        times = bulk_load(db, plan, 0, args.rootnames, settings.archive, args.seed)
        print(f"server: {server.uri}; {times.n_catalog} rootnames loaded in "
              f"{times.total:.0f} s", flush=True)
        client = create_app(settings, db=db, config={"TESTING": True}).test_client()
        print(f"\n{'request (cold)':36} {'median':>8} {'p95':>8} {'bytes':>9}")
        previous = None
        for name, url in PAGES:
            if url is None:   # the picture of the page before: drawn with it, kept by the cache
                page = previous
                png = page.replace("/trend?", "/trend.png?")
                values, size = _cold(db, client, page, args.repeats, then=png)
            else:
                values, size = _cold(db, client, url, args.repeats)
                previous = url
            print(f"{name:36} {percentile(values, 50) * 1000:6.0f}ms "
                  f"{percentile(values, 95) * 1000:6.0f}ms {size:9,}", flush=True)
        start = time.perf_counter()
        create_header_index(db, INDEXED)
        print(f"\nwith an index on {INDEXED} (acsq db index: {time.perf_counter() - start:.0f} s; "
              "its values copied into the catalog, which then answers):")
        for name, url in PAGES:
            if url and INDEXED in url:
                values, size = _cold(db, client, url, args.repeats)
                print(f"{name:36} {percentile(values, 50) * 1000:6.0f}ms "
                      f"{percentile(values, 95) * 1000:6.0f}ms {size:9,}", flush=True)
        drop_header_index(db, INDEXED)
        print("\nthe query core alone (points and $group, no picture):")
        for y, extra in (("exptime", []), ("headers.flt.1.MDRIZSKY", [])):
            spec = TrendSpec.parse([("y", y), *extra])
            values = []
            for _ in range(args.repeats):
                bump_generation(db)
                start = time.perf_counter()
                result = trend(db, spec, settings)
                values.append(time.perf_counter() - start)
            print(f"  {y:34} {percentile(values, 50) * 1000:6.0f}ms "
                  f"{percentile(values, 95) * 1000:6.0f}ms  {result.n_points:,} points "
                  f"of {result.n_matching:,} rootnames, {len(result.groups)} groups")
        mongo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
