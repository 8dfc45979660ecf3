"""The scale run: page latency as the archive grows from 2,000 to 200,000 rootnames.

One database is grown level by level (``--levels``, default 2,000, 20,000 and
200,000 rootnames in ``catalog``) with synthetic documents bulk-written from one
sample plan (``_synthetic_load``: the sample generator's plan and header
templates, the ingest's document builder and store shapes, no FITS files). Only
the first ``--whole-max`` rootnames (default 20,000) get a whole document in
``rootnames``, as issue 11 asks (200,000 in ``catalog``, 20,000 in
``rootnames``). After each load the summaries are refreshed, as after an ingest
run, and the run prints how long the load took and what the data occupy
(``dbStats``, ``collStats``, and ``du`` of the server's storage folder when
known).

At each level the pages are requested through the web app's Flask test client
(:func:`webapp.create_app` with an injected database, in this process, so
the figures include the query core, the templates and pymongo, but no HTTP
server). Every request is **cold**: the data generation is bumped before it, so
no result cache answers. Pages: the form query (detector + filter1 + exposure
time range + date range; first page, count and facets), a gallery, the home page,
an image view, a cone search (0.01 deg around a target), and two header-keyword
queries, each with and without an index on its header path (created by
``acsq db index``'s function, which also copies the keyword into the catalog, and
dropped before the next load): ``detector=WFC`` and
``headers.flt.0.CCDGAIN >= 2`` (broad), and a 2-degree range of
``headers.flt.0.PA_V3`` (selective). At each level it also runs the form query
with ``--clients`` concurrent clients (first visits). ``--reuse`` measures a
database loaded before (``--db``, on ``--uri``) as it is, as one level. A page is
requested ``--repeats`` times, or fewer (at least 3) once its requests took 10 s in all.

Each page is then requested once more while pymongo's command monitoring records
what it sends, and each find/aggregate/count is explained on the server: the
plan column shows the scans of the winning plans (IXSCAN index names, COLLSCAN),
so a page that does not stay flat can be traced to a query shape without an index.

Usage::

    python benchmarks/bench_scale.py [--levels 2000,20000,200000] [--whole-max 20000]
        [--repeats 20] [--uri mongodb://127.0.0.1:PORT/ --storage DIR] [--load-only]

Without ``--uri`` it starts the local server (``LocalServer.private``) in a
temporary folder.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pymongo
import pymongo.errors
from _synthetic_load import bulk_load
from pymongo import monitoring

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import CATALOG, GALLERIES, PROPOSALS, ROOTNAMES
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.ingest.keyword_indexes import create_header_index, drop_header_index
from acsq_mongo.sample.acs import TARGETS
from acsq_mongo.sample.synthetic import plan_archive
from acsq_mongo.settings import load_settings, redact_uri
from webapp import create_app

HEADER_INDEXES = ("headers.flt.0.CCDGAIN", "headers.flt.0.PA_V3")
_COLLECTIONS = (ROOTNAMES, CATALOG, PROPOSALS, GALLERIES)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class _Recorder(monitoring.CommandListener):
    """Keeps the read commands sent while ``on`` (to explain them)."""

    def __init__(self) -> None:
        self.on = False
        self.commands: list[dict] = []

    def started(self, event):
        if self.on and event.command_name in ("find", "aggregate", "count", "distinct"):
            command = {k: v for k, v in event.command.items()
                       if not k.startswith("$") and k not in ("lsid", "readPreference")}
            self.commands.append(command)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def _scans(explained, out: list[str]) -> list[str]:
    """The scan stages of the winning plans in an explain output (rejected plans skipped)."""
    if isinstance(explained, dict):
        stage = explained.get("stage")
        if isinstance(stage, str) and ("SCAN" in stage or stage in ("IDHACK", "EXPRESS")):
            out.append(f"{stage}({explained['indexName']})" if "indexName" in explained
                       else stage)
        for key, value in explained.items():
            if key != "rejectedPlans":
                _scans(value, out)
    elif isinstance(explained, list):
        for value in explained:
            _scans(value, out)
    return out


def _plans(db, recorder: _Recorder, client, url: str) -> str:
    """What the page's queries scan: ``collection:SCAN(index)`` per command."""
    recorder.commands.clear()
    bump_generation(db)
    recorder.on = True
    try:
        client.get(url)
    finally:
        recorder.on = False
    shown = []
    for command in recorder.commands:
        name = next(iter(command))
        collection = command[name]
        if collection == "meta" or (name == "find" and command.get("filter", {}).keys()
                                    == {"_id"}):
            shown.append(f"{collection}:_id")
            continue
        try:
            explained = db.command({"explain": command, "verbosity": "queryPlanner"})
            scans = "+".join(sorted(set(_scans(explained, [])))) or "?"
        except pymongo.errors.PyMongoError as exc:
            scans = f"explain failed: {str(exc)[:60]}"
        shown.append(f"{collection}:{scans}")
    return ", ".join(dict.fromkeys(shown))


def _urls(db, n: int) -> dict[str, list[str]]:
    """``n`` distinct URLs per page (the home page has one)."""
    proposals = sorted(d["proposid"] for d in db[PROPOSALS].find({}, {"proposid": 1})
                       if d.get("proposid") is not None)
    step = max(1, len(proposals) // n)
    docs = list(db[CATALOG].find({}, {"rootname": 1, "proposid": 1}).sort("_id", 1))
    spread = docs[:: max(1, len(docs) // n)][:n]
    combos = sorted({(d["detector"], d["filter1"]) for d in db[CATALOG].find(
        {"detector": "WFC"}, {"detector": 1, "filter1": 1}).limit(5000) if d.get("filter1")})
    forms = []
    for i in range(n):
        detector, filter1 = combos[i % len(combos)]
        year = 2002 + i % 10
        forms.append("/query?" + urlencode({
            "detector": detector, "filter1": filter1, "exptime_op": "between",
            "exptime_from": str(1 + i % 7), "exptime_to": "3000", "date_op": "between",
            "date_from": str(year), "date_to": str(year + 12)}))
    sky = [t for t in TARGETS]
    cones = [f"/query?ra={sky[i % len(sky)][1]}&dec={sky[i % len(sky)][2]}&radius=0.01"
             for i in range(n)]
    broad = [f"/query?detector=WFC&headers.flt.0.CCDGAIN__gte=2&limit={60 + i}"
             for i in range(n)]
    narrow = [f"/query?headers.flt.0.PA_V3__gte={(7 * i) % 358}"
              f"&headers.flt.0.PA_V3__lt={(7 * i) % 358 + 2}" for i in range(n)]
    return {
        "form query": forms,
        "gallery": [f"/archive/{proposals[(i * step) % len(proposals)]}/" for i in range(n)],
        "home": ["/"] * n,
        "image view": [f"/archive/{d['proposid']}/{d['rootname']}/" for d in spread],
        "cone search": cones,
        "header broad": broad,
        "header narrow": narrow,
    }


#: A page stops being repeated after this many seconds (and 3 requests): slow ones.
_BUDGET = 10.0


def _time(db, client, urls: list[str], repeats: int) -> list[float]:
    times: list[float] = []
    for url in (urls * repeats)[:repeats]:
        if len(times) >= 3 and sum(times) > _BUDGET:
            break
        bump_generation(db)
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: status {response.status_code}")
    return times


def _matches(client, url: str) -> int | None:
    if not url.startswith("/query"):
        return None
    response = client.get(url.replace("/query?", "/query.json?"))
    return response.get_json().get("count") if response.status_code == 200 else None


def _concurrent(app, db, urls: list[str], clients: int) -> list[float]:
    """First visits of distinct URLs by ``clients`` threads, each with its own test client."""
    bump_generation(db)
    local = threading.local()

    def one(url: str) -> float:
        if not hasattr(local, "client"):
            local.client = app.test_client()
        start = time.perf_counter()
        status = local.client.get(url).status_code
        if status != 200:
            raise RuntimeError(f"{url}: status {status}")
        return time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, urls))


def _disk(db, storage: Path | None) -> str:
    stats = db.command("dbStats")
    lines = [f"  dbStats: data {stats.get('dataSize', 0) / 1e6:.0f} MB, storage "
             f"{stats.get('storageSize', 0) / 1e6:.0f} MB, indexes "
             f"{stats.get('indexSize', 0) / 1e6:.0f} MB"]
    for name in _COLLECTIONS:
        try:
            c = db.command("collStats", name)
        except pymongo.errors.PyMongoError as exc:
            lines.append(f"  {name}: collStats failed ({str(exc)[:60]})")
            continue
        kb, mb = c.get("avgObjSize", 0) / 1e3, c.get("size", 0) / 1e6
        lines.append(f"  {name:<10} {c.get('count', 0):>8} docs, avg {kb:6.1f} kB, data "
                     f"{mb:7.0f} MB, storage {c.get('storageSize', 0) / 1e6:6.0f} MB, "
                     f"{c.get('nindexes', 0)} indexes {c.get('totalIndexSize', 0) / 1e6:5.0f} MB")
    if storage is not None:
        du = subprocess.run(["du", "-sb", str(storage)], capture_output=True, text=True)
        if du.returncode == 0:
            lines.append(f"  du of {storage}: {int(du.stdout.split()[0]) / 1e6:.0f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="2000,20000,200000",
                        help="rootnames in catalog at each level, comma-separated, growing")
    parser.add_argument("--whole-max", type=int, default=20000,
                        help="rootnames with a whole document in rootnames")
    parser.add_argument("--repeats", type=int, default=20, help="cold requests per page")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500, help="documents per insert_many")
    parser.add_argument("--load-only", action="store_true",
                        help="time the loads only, no pages")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--uri", help="a running server (default: start the local one)")
    parser.add_argument("--storage", type=Path, help="the server's storage folder, for du")
    parser.add_argument("--db", default="bench_scale", help="the database to load and measure")
    parser.add_argument("--count-time-limit-ms", type=int,
                        help="the pages' counting budget (default: the setting's default)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --uri: measure --db as it is (loaded before), without loading")
    args = parser.parse_args(argv)
    levels = [int(v) for v in args.levels.split(",")]
    if levels != sorted(levels) or levels[0] < 1:
        parser.error("--levels must grow, e.g. 2000,20000,200000")
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        if args.uri:
            return _bench(args, levels, Path(tmp), args.uri, args.storage)
        with localdb.LocalServer.private(Path(tmp) / "db") as server:
            return _bench(args, levels, Path(tmp), server.uri, Path(tmp) / "db")


def _bench(args, levels: list[int], work: Path, uri: str, storage: Path | None) -> int:
    print(f"scale run {datetime.datetime.now():%Y-%m-%d %H:%M}; {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"{platform.platform()}", flush=True)
    budget = ({} if args.count_time_limit_ms is None
              else {"count_time_limit_ms": args.count_time_limit_ms})
    settings = load_settings(environ={}, mongo_uri=uri, db=args.db, data=work / "var",
                             archive=work / "archive", server_timeout=30, **budget)
    recorder = _Recorder()
    mongo = pymongo.MongoClient(uri, event_listeners=[recorder], serverSelectionTimeoutMS=30000)
    print(f"server: MongoDB {mongo.server_info().get('version')} at {redact_uri(uri)}; "
          f"pages count within {settings.count_time_limit_ms} ms (count_time_limit_ms); "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.reuse:
        db = mongo[settings.db]
        ensure_indexes(db)
        level = db[CATALOG].estimated_document_count()
        print(f"measuring {settings.db} as loaded: {level} rootnames in catalog, "
              f"{db[ROOTNAMES].estimated_document_count()} in rootnames", flush=True)
        print(_disk(db, storage), flush=True)
        app = create_app(settings, db=db, config={"TESTING": True})
        table: dict[str, dict[int, tuple]] = {}
        try:
            _measure_level(args, level, db, app, app.test_client(), recorder, table)
            for path in HEADER_INDEXES:
                drop_header_index(db, path)
        finally:
            mongo.close()
        _print_table([level], table)
        return 0
    mongo.drop_database(settings.db)
    db = mongo[settings.db]
    ensure_indexes(db)
    start = time.perf_counter()
    plan = plan_archive(levels[-1], args.seed)
    print(f"plan of {len(plan)} rootnames ({len({r.promoted['proposid'] for r in plan})} "
          f"proposals) in {time.perf_counter() - start:.0f} s", flush=True)
    app = create_app(settings, db=db, config={"TESTING": True})
    client = app.test_client()
    table: dict[str, dict[int, tuple]] = {}
    loaded = 0
    try:
        for level in levels:
            times = bulk_load(db, plan[:level], loaded, args.whole_max, settings.archive,
                              args.seed, args.batch)
            loaded = level
            print(f"\n== {level} rootnames in catalog, "
                  f"{db[ROOTNAMES].estimated_document_count()} in rootnames")
            print(f"  load: {times.total:.0f} s for {times.n_catalog} rootnames "
                  f"({times.n_whole} whole, {times.whole_bytes / 1e6:.0f} MB of BSON): "
                  f"waiting for documents {times.build:.0f} s (built in "
                  f"{times.extra['build_cpu']:.0f} s of CPU by {os.cpu_count()} processes), "
                  f"rootnames written {times.rootnames:.0f} s, catalog {times.catalog:.0f} s, "
                  f"summaries {times.summaries:.1f} s", flush=True)
            print(_disk(db, storage), flush=True)
            if args.load_only:
                continue
            _measure_level(args, level, db, app, client, recorder, table)
            for path in HEADER_INDEXES:
                drop_header_index(db, path)
    finally:
        mongo.close()
    if not args.load_only:
        _print_table(levels, table)
    print("\nTimings depend on the load of the machine: compare runs made on a quiet one.")
    return 0


def _measure_level(args, level, db, app, client, recorder, table) -> None:
    urls = _urls(db, args.repeats)
    print(f"  {'page':<22} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'matches':>8}  plan")

    def measure(label: str, page: str, repeats: int) -> None:
        times = _time(db, client, urls[page], repeats)
        p50, p95 = statistics.median(times) * 1000, _percentile(times, 95) * 1000
        matches = _matches(client, urls[page][0])
        plans = _plans(db, recorder, client, urls[page][0])
        table.setdefault(label, {})[level] = (p50, p95, len(times), matches)
        print(f"  {label:<22} {len(times):>3} {p50:>8.1f} {p95:>8.1f} "
              f"{'' if matches is None else matches:>8}  {plans}", flush=True)

    for page in ("form query", "gallery", "home", "image view", "cone search"):
        measure(page, page, args.repeats)
    measure("header broad, no index", "header broad", args.repeats)
    measure("header narrow, no index", "header narrow", args.repeats)
    for path in HEADER_INDEXES:
        start = time.perf_counter()
        create_header_index(db, path)
        print(f"  index {path} created in {time.perf_counter() - start:.1f} s")
    measure("header broad, index", "header broad", args.repeats)
    measure("header narrow, index", "header narrow", args.repeats)
    # At every level: issue 11's target is at 2,000 and at 200,000 rootnames.
    times = _concurrent(app, db, urls["form query"], args.clients)
    p50, p95 = statistics.median(times) * 1000, _percentile(times, 95) * 1000
    table.setdefault(f"form query, {args.clients} clients", {})[level] = (
        p50, p95, len(times), None)
    print(f"  form query, {args.clients} clients: p50 {p50:.1f} ms, p95 {p95:.1f} ms over "
          f"{len(times)} first visits (threads in this process)", flush=True)


def _print_table(levels: list[int], table) -> None:
    print("\nCold p95 in ms (p50 in brackets; matches of the first URL) by rootnames in catalog")
    head = "".join(f"{level:>24,}" for level in levels)
    print(f"  {'page':<26}{head}")
    for label, by_level in table.items():
        cells = []
        for level in levels:
            if level not in by_level:
                cells.append(f"{'-':>24}")
                continue
            p50, p95, _, matches = by_level[level]
            text = f"{p95:.0f} ({p50:.0f})" + (f" [{matches}]" if matches is not None else "")
            cells.append(f"{text:>24}")
        print(f"  {label:<26}{''.join(cells)}")


if __name__ == "__main__":
    sys.exit(main())
