"""Reading while writing: the web app under load during an ingest and a --force re-ingest.

A sample archive of ``--rootnames`` rootnames is written, a local server and
the web app (gunicorn, as docker-compose runs it) are started on 127.0.0.1,
and ``--clients`` concurrent clients browse and query while

1. ``acsq ingest`` ingests the archive (with quicklook images) into the empty
   database, on a LocalCluster of ``--workers`` processes, and then
2. ``acsq ingest --force`` reads every file and makes every image again.

Each client picks pages at random: home, archive, a gallery (HTML and JSON),
an image view, the quicklook JPEG of a rootname, a query (HTML and JSON). It
checks every answer:

- no 5xx (a 404 of a rootname or proposal not ingested yet is an answer);
- a gallery whose count disagrees with its rows, or with its proposal's
  summary, is half-written data; so is a query whose count disagrees with
  its rows;
- a JPEG must decode whole;
- and, at the end, the web app's log must hold no error or traceback.

It prints p50 and p95 per page and phase, and the failures; exit status 1
if there was any.

Usage::

    python benchmarks/bench_load_during_ingest.py [--rootnames 300] [--clients 4]
                                                  [--workers 2] [--archive DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from _common import WebServer, fetch_body, percentile, sample_archive

from acsq_mongo.db import localserver as localdb
from acsq_mongo.settings import load_settings

PAGES = ("home", "archive", "gallery", "gallery JSON", "image view", "JPEG", "query HTML",
         "query JSON")


def _urls(archive, rng: random.Random) -> dict[str, list[str]]:
    """URLs of every kind, from what the sample generator wrote (the database may be empty)."""
    rootnames = archive.rootnames
    proposals = sorted({r.promoted["proposid"] for r in rootnames})
    combos = sorted({(r.promoted["detector"], r.promoted["filter1"]) for r in rootnames
                     if r.promoted.get("filter1")})
    queries = [{"detector": d, "filter1": f, "exptime_op": "between", "exptime_from": "1",
                "exptime_to": "3000"} for d, f in combos]
    with_flt = [r for r in rootnames if "flt" in r.filetypes]
    return {
        "home": ["/"],
        "archive": ["/archive/"],
        "gallery": [f"/archive/{p}/" for p in proposals],
        "gallery JSON": [f"/archive/{p}.json" for p in proposals],
        "image view": [f"/archive/{r.promoted['proposid']}/{r.rootname}/" for r in rootnames],
        "JPEG": [f"/images/thumbnails/{r.promoted['proposid']}/{r.rootname}_flt.thumb"
                 for r in with_flt],
        "query HTML": ["/query?" + urlencode(q) for q in queries],
        "query JSON": ["/query.json?" + urlencode(q) for q in queries],
    }


def _check(page: str, status: int, body: bytes) -> str | None:
    """What is wrong with an answer, or None."""
    if status >= 500:
        return f"status {status}"
    if status != 200:
        return None
    if page == "gallery JSON":
        data = json.loads(body)
        count, rows, limit = data["count"], data["rows"], data["limit"]
        if len(rows) != min(count - data["offset"], limit):
            return f"count {count} but {len(rows)} rows"
        summary = data.get("proposal")
        if summary is not None and summary["n_rootnames"] != count:
            return f"summary says {summary['n_rootnames']} rootnames, the gallery {count}"
    if page == "query JSON":
        data = json.loads(body)
        if len(data["rows"]) != min(data["count"] - data["offset"], data["limit"]):
            return f"count {data['count']} but {len(data['rows'])} rows"
    if page == "gallery":
        text = body.decode()
        summary = re.search(r"([\d,]+) rootnames ·", text)
        pager = re.search(r"of ([\d,]+)</span>", text)
        if summary and pager and summary[1] != pager[1]:
            return f"summary says {summary[1]} rootnames, the pager {pager[1]}"
    if page == "JPEG":
        from PIL import Image

        try:
            Image.open(io.BytesIO(body)).load()
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the finding
            return f"JPEG does not decode: {exc}"
    return None


def _load(base: str, urls: dict[str, list[str]], clients: int, seed: int,
          until: subprocess.Popen) -> tuple[dict[str, list[float]], list[str], dict[int, int]]:
    """Clients request random pages until ``until`` exits."""
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    failures: list[str] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(seed * 100 + number)
        while until.poll() is None:
            page = rng.choice(PAGES)
            url = rng.choice(urls[page])
            seconds, status, body = fetch_body(base + url)
            problem = _check(page, status, body)
            with lock:
                times[page].append(seconds)
                statuses[status] = statuses.get(status, 0) + 1
                if problem:
                    failures.append(f"{page} {url}: {problem}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, failures, statuses


def _report(title: str, seconds: float, times, failures, statuses) -> None:
    n = sum(len(v) for v in times.values())
    print(f"\n{title}: {seconds:.0f} s, {n} requests, statuses "
          + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print(f"  {'page':<13} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for page in PAGES:
        values = times[page]
        if values:
            print(f"  {page:<13} {len(values):>5} {statistics.median(values) * 1000:>8.0f} "
                  f"{percentile(values, 95) * 1000:>8.0f}")
    print(f"  half-written or failed answers: {len(failures)}")
    for line in failures[:10]:
        print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rootnames", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="the ingest's Dask workers")
    parser.add_argument("--threads", type=int, default=8, help="threads of the gunicorn worker")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--archive", type=Path, help="an existing sample archive to ingest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp, \
            localdb.LocalServer.private(Path(tmp)) as server:
        return _bench(args, Path(tmp), server.uri)


def _bench(args: argparse.Namespace, work: Path, uri: str) -> int:
    archive = sample_archive(args.archive, work, args.rootnames, args.seed)
    settings = load_settings(environ={}, mongo_uri=uri, db="bench", data=work / "var",
                             archive=archive.root, server_timeout=30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(ACSQ_MONGO_URI=uri, ACSQ_DB="bench", ACSQ_DATA=str(settings.data),
               ACSQ_ARCHIVE=str(archive.root))
    urls = _urls(archive, random.Random(args.seed))
    log = work / "web.log"
    web = WebServer("gunicorn", settings, 1, args.threads, log)
    print(f"web app: gunicorn on {web.base} (1 worker of {args.threads} threads); "
          f"{args.clients} clients; {len(archive.rootnames)} rootnames; ingest on "
          f"{args.workers} Dask workers", flush=True)
    failed = 0
    try:
        for title, extra in (("1. during the first ingest", []),
                             ("2. during a --force re-ingest", ["--force"])):
            began = time.monotonic()
            ingest = subprocess.Popen(
                [sys.executable, "-m", "acsq_mongo.cli", "ingest", "--workers",
                 str(args.workers), *extra], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True)
            times, failures, statuses = _load(web.base, urls, args.clients, args.seed, ingest)
            out = ingest.stdout.read()
            ingest.wait()
            _report(title, time.monotonic() - began, times, failures, statuses)
            print(f"  ingest: {out.strip().splitlines()[0] if out.strip() else 'no summary'}")
            failed += len(failures)
    finally:
        web.stop()
    errors = [line for line in log.read_text(errors="replace").splitlines()
              if re.search(r"Traceback|\bERROR\b|Exception", line)]
    print(f"\nweb app log: {len(errors)} error lines")
    for line in errors[:10]:
        print(f"  {line}")
    print("Timings depend on the load of the machine: compare runs made on a quiet one.")
    return 0 if not failed and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
