"""Web page latency on the real local server (SecantusDB) under gunicorn, with concurrent clients.

A sample archive of ``--rootnames`` rootnames (:mod:`acsq_mongo.sample`, small
images) is ingested with quicklook images into a local server this benchmark
starts on a free port, in a temporary folder. The web app then runs under
gunicorn (``webapp.wsgi:app_from_environment()``, as docker-compose runs it;
``--workers`` gthread workers of ``--threads`` threads, by default one worker
and so one result cache) on 127.0.0.1, and clients request eight kinds of page:

home, archive, gallery (a proposal's first page), image view, header view,
query HTML (a form query: detector + filter1 + exposure-time range + date
range), query JSON and query CSV (every matching row, streamed).

Four measurements, p50 and p95 per page:

1. **cold**: one client; before each request the data generation is bumped
   (as any write does), so nothing is served from the result cache: what a
   page costs right after an ingest;
2. **warm, one client**: the same URLs again, one at a time: what a page
   costs with its results cached, without contention;
3. **first visits**: ``--clients`` concurrent clients, each URL new (other
   proposals, rootnames and queries), caches as they fill up;
4. **warm**: the same URLs again, concurrently: what repeat visits cost.

The run is bounded (``--requests`` per page and phase) and stays on 127.0.0.1.
Target: p95 < 300 ms per page at 2,000 rootnames.

Usage::

    python benchmarks/bench_web.py [--rootnames 2000] [--requests 40] [--clients 4]
                                   [--workers 1] [--threads 8] [--archive DIR]
                                   [--server gunicorn|werkzeug]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from _common import WebServer, fetch, percentile, sample_archive

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import CATALOG, PROPOSALS
from acsq_mongo.db.connection import connect
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings

TARGET_P95 = 0.300
PAGES = ("home", "archive", "gallery", "image view", "header view", "query HTML",
         "query JSON", "query CSV")


def _urls(db, n: int, rng: random.Random) -> dict[str, list[str]]:
    """``n`` distinct URLs per page kind (home and archive have one each)."""
    proposals = [d["proposid"] for d in db[PROPOSALS].find({}, {"proposid": 1})]
    rng.shuffle(proposals)
    docs = list(db[CATALOG].find({}, {"rootname": 1, "proposid": 1, "detector": 1,
                                      "filter1": 1}, sort=[("_id", 1)]))
    rng.shuffle(docs)
    # One rootname per proposal first, so that image views do not share the cached
    # order of a proposal's rootnames.
    by_proposal: dict = {}
    for doc in docs:
        by_proposal.setdefault(doc.get("proposid"), doc)
    firsts = {d["_id"] for d in by_proposal.values()}
    spread = list(by_proposal.values()) + [d for d in docs if d["_id"] not in firsts]
    combos = sorted({(d["detector"], d["filter1"]) for d in docs if d.get("filter1")})
    rng.shuffle(combos)
    queries = []
    for i in range(n):
        detector, filter1 = combos[i % len(combos)]
        start_year = 2002 + i % 12
        queries.append({"detector": detector, "filter1": filter1, "exptime_op": "between",
                        "exptime_from": str(1 + i % 7), "exptime_to": "3000",
                        "date_op": "between", "date_from": str(start_year),
                        "date_to": str(start_year + 8)})

    def segment(doc):
        return "unknown" if doc.get("proposid") is None else str(doc["proposid"])

    return {
        "home": ["/"] * n,
        "archive": ["/archive/"] * n,
        "gallery": [f"/archive/{proposals[i % len(proposals)]}/" for i in range(n)],
        "image view": [f"/archive/{segment(d)}/{d['rootname']}/" for d in spread[:n]],
        "header view": [f"/archive/{segment(d)}/{d['rootname']}/headers/"
                        for d in spread[n:2 * n]],
        "query HTML": ["/query?" + urlencode(q) for q in queries],
        "query JSON": ["/query.json?" + urlencode(q) for q in queries],
        "query CSV": ["/query.csv?" + urlencode(q) for q in queries],
    }


def _run(base: str, jobs: list[tuple[str, str]], clients: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    failures = []

    def one(job):
        page, url = job
        seconds, status, _ = fetch(base + url)
        if status != 200:
            failures.append((status, url))
        return page, seconds

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for page, seconds in pool.map(one, jobs):
            times[page].append(seconds)
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[:3]}")
    return times


def _report(title: str, times: dict[str, list[float]]) -> bool:
    print(f"\n{title}")
    print(f"  {'page':<12} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}")
    ok = True
    for page in PAGES:
        values = times[page]
        if not values:
            continue
        p95 = percentile(values, 95)
        ok &= p95 < TARGET_P95
        print(f"  {page:<12} {len(values):>4} {statistics.median(values) * 1000:>8.1f} "
              f"{p95 * 1000:>8.1f}{'' if p95 < TARGET_P95 else '  over target'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rootnames", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=40, help="per page and phase")
    parser.add_argument("--cold-requests", type=int, default=10, help="per page, one client")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn worker processes (each has its own result cache)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--archive", type=Path, help="an existing sample archive to ingest")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_web_") as tmp, \
            localdb.LocalServer.private(Path(tmp)) as server:
        return _bench(args, Path(tmp), server.uri)


def _bench(args: argparse.Namespace, work: Path, uri: str) -> int:
    archive = sample_archive(args.archive, work, args.rootnames, args.seed).root
    settings = load_settings(environ={}, mongo_uri=uri, db="bench", data=work / "var",
                             archive=archive, server_timeout=30)
    start = time.perf_counter()
    summary = run_ingest(settings, archive, quicklook=True)
    db = connect(settings)
    n = db[CATALOG].count_documents({})
    print(f"  ingested {n} rootnames with quicklook images in "
          f"{time.perf_counter() - start:.0f} s (ok: {summary.ok})", flush=True)

    rng = random.Random(args.seed)
    urls = _urls(db, args.requests, rng)
    web = WebServer(args.server, settings, args.workers, args.threads, work / "web.log")
    print(f"web app: {args.server} on {web.base}"
          + (f" ({args.workers} worker(s) of {args.threads} threads)"
             if args.server == "gunicorn" else ""), flush=True)
    try:
        # 1. Cold: one client, the cache invalidated before each request.
        cold: dict[str, list[float]] = {page: [] for page in PAGES}
        for page in PAGES:
            for url in urls[page][: args.cold_requests]:
                bump_generation(db)
                seconds, status, _ = fetch(web.base + url)
                if status != 200:
                    raise RuntimeError(f"{url}: status {status}")
                cold[page].append(seconds)
        _report(f"1. cold (one client; nothing cached; {n} rootnames)", cold)
        alone: dict[str, list[float]] = {page: [] for page in PAGES}
        for page in PAGES:
            for url in urls[page][: args.cold_requests]:
                fetch(web.base + url)                     # (fills the cache)
                seconds, status, _ = fetch(web.base + url)
                alone[page].append(seconds)
        _report("2. warm, one client (the same pages, their results cached)", alone)

        # 2. First visits, then 3. the same again: concurrent clients, pages interleaved.
        bump_generation(db)
        jobs = [(page, urls[page][i]) for i in range(args.requests) for page in PAGES]
        first = _run(web.base, jobs, args.clients)
        ok_first = _report(f"3. first visits ({args.clients} concurrent clients, each URL new)",
                           first)
        rng.shuffle(jobs)
        warm = _run(web.base, jobs, args.clients)
        ok_warm = _report(f"4. warm ({args.clients} concurrent clients, the same URLs again)",
                          warm)
    finally:
        web.stop()
    every = [t for times in first.values() for t in times]
    print(f"\nall first visits: p95 {percentile(every, 95) * 1000:.0f} ms; target p95 < "
          f"{TARGET_P95 * 1000:.0f} ms per page: first visits "
          f"{'met' if ok_first else 'not met'}, warm {'met' if ok_warm else 'not met'}")
    print("Timings depend on the load of the machine: compare runs made on a quiet one.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
