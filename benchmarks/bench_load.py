"""A load test: 16 or more clients for a bounded time against gunicorn, while an ingest runs.

A sample archive of ``--rootnames`` + ``--new`` rootnames is written; the first
``--rootnames`` are ingested; then a local server, the web app under gunicorn
(``--gunicorn-workers`` workers of ``--threads`` threads, behind one "proxy"
hop so that each client has its own address, as behind nginx) and
``--clients`` clients run for ``--duration`` seconds (default 300), while
``acsq ingest --new`` ingests the other ``--new`` rootnames (with quicklook
images). Everything listens on 127.0.0.1 only.

Each client draws requests from a mix (:data:`MIX`): pages (home, archive, a
gallery, an image view), the query form's results (HTML), JSON and CSV
results, FITS downloads with a ``Range`` header (206), and sign-ins (the
form's GET, then a POST with the right password). One more client signs in
with a wrong password again and again: its 429s are deliberate. An error is
any other answer than the expected one (5xx, a 4xx, a 200 where 206 was
asked), or no answer.

It prints p50, p95 and p99 per kind, the error count, and each process's
resident memory (gunicorn's master and workers, the database server, the
ingest) at the start and the end, with the date and the machine's load.

Usage::

    python benchmarks/bench_load.py [--duration 300] [--clients 16] [--rootnames 200]
                                    [--new 100] [--port 5127] [--db-port 27127]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil
import requests
from _common import percentile, sample_archive

from acsq_mongo.accounts.users import add_user
from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.connection import connect

#: Kinds of request and their weights in the mix.
MIX = {"page": 4, "form query": 2, "JSON": 2, "CSV": 1, "download (Range)": 1, "sign-in": 1}
PASSWORD = "correct horse battery staple"


def _urls(rootnames, rng: random.Random) -> dict[str, list[str]]:
    """URLs of every kind, of the rootnames stored before the load."""
    proposals = sorted({r.promoted["proposid"] for r in rootnames})
    combos = sorted({(r.promoted["detector"], r.promoted.get("filter1")) for r in rootnames})
    queries = [{"detector": d, **({"filter1": f} if f else {})} for d, f in combos]
    queries += [{"exptime__gte": n} for n in (1, 100, 500)] + [{"headers.flt.0.CCDGAIN": 2}]
    return {
        "page": ["/", "/archive/"] + [f"/archive/{p}/" for p in proposals]
        + [f"/archive/{r.promoted['proposid']}/{r.rootname}/" for r in rootnames],
        "form query": ["/query?" + urlencode(q) for q in queries],
        "JSON": ["/query.json?" + urlencode(q) for q in queries],
        "CSV": ["/query.csv?" + urlencode({**q, "limit": 1000}) for q in queries],
        "download (Range)": [f"/files/{r.rootname}/{ft}" for r in rootnames
                             for ft in r.filetypes if ft in ("raw", "flt", "spt")],
    }


def _sign_in(session: requests.Session, base: str, name: str, password: str,
             headers: dict) -> int:
    form = session.get(base + "/login", headers=headers, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    response = session.post(base + "/login", headers=headers, allow_redirects=False,
                            timeout=120, data={"name": name, "password": password,
                                               "csrf_token": token.group(1) if token else ""})
    session.post(base + "/logout", headers=headers, timeout=120,
                 data={"csrf_token": token.group(1) if token else ""})
    return response.status_code


def _client(i: int, base: str, urls, stop: float, seed: int, out) -> None:
    rng = random.Random(seed + i)
    session = requests.Session()
    headers = {"X-Forwarded-For": f"10.0.{i // 250}.{i % 250 + 1}"}
    kinds, weights = list(MIX), list(MIX.values())
    while time.monotonic() < stop:
        kind = rng.choices(kinds, weights)[0]
        start = time.perf_counter()
        try:
            if kind == "sign-in":
                status, expected = _sign_in(session, base, f"user{i}", PASSWORD, headers), 302
            else:
                url = rng.choice(urls[kind])
                extra = {"Range": "bytes=0-2879"} if kind.startswith("download") else {}
                response = session.get(base + url, headers={**headers, **extra}, timeout=120)
                _ = response.content
                status = response.status_code
                expected = 206 if extra else 200
        except requests.RequestException as exc:
            status, expected = type(exc).__name__, 200
        out.append((kind, time.perf_counter() - start, status, status == expected))


def _intruder(base: str, stop: float, out) -> None:
    """Wrong passwords from one address: 401, then deliberate 429s."""
    session = requests.Session()
    headers = {"X-Forwarded-For": "192.0.2.66"}
    while time.monotonic() < stop:
        start = time.perf_counter()
        status = _sign_in(session, base, "intruder", "not the password", headers)
        out.append(("sign-in (wrong)", time.perf_counter() - start, status, status in (401, 429)))
        time.sleep(0.5)


def _memory(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """Resident memory (MB) of each named process still alive."""
    rss = {}
    for name, proc in processes.items():
        try:
            rss[name] = proc.memory_info().rss / 2**20
        except psutil.Error:
            pass
    return rss


def _processes(web: subprocess.Popen, db_pid: int, ingest: subprocess.Popen | None):
    named = {"database server": psutil.Process(db_pid), "gunicorn master": psutil.Process(web.pid)}
    for k, child in enumerate(psutil.Process(web.pid).children()):
        named[f"gunicorn worker {k + 1}"] = child
    if ingest is not None:
        named["ingest"] = psutil.Process(ingest.pid)
    return named


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rootnames", type=int, default=200, help="ingested before the load")
    parser.add_argument("--new", type=int, default=100, help="ingested during the load")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=0, help="the web app's (default: free)")
    parser.add_argument("--db-port", type=int, default=0, help="the database's (default: free)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--archive", type=Path, help="a sample archive to reuse")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        server = localdb.LocalServer.private(Path(tmp) / "db")
        if args.db_port:
            server = dataclasses.replace(server, port=args.db_port)
        with server:
            return _bench(args, Path(tmp), server)


def _bench(args: argparse.Namespace, work: Path, server) -> int:
    archive = sample_archive(args.archive, work, args.rootnames + args.new, args.seed)
    first = [r.rootname for r in archive.rootnames[:args.rootnames]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(ACSQ_MONGO_URI=server.uri, ACSQ_DB="bench", ACSQ_DATA=str(work / "var"),
               ACSQ_ARCHIVE=str(archive.root), ACSQ_SECRET_KEY="b" * 40, ACSQ_PROXY_HOPS="1",
               ACSQ_SERVER_TIMEOUT="30")
    print(f"ingesting the first {len(first)} rootnames ...", flush=True)
    subprocess.run([sys.executable, "-m", "acsq_mongo.cli", "ingest", "--workers", "0",
                    "--no-quicklook", "--rootnames", *first], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    db = connect(_settings(server.uri))
    for i in range(args.clients):
        add_user(db, f"user{i}", "tagger", PASSWORD)
    port = args.port or localdb.free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(work / "gunicorn.log", "wb")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(args.gunicorn_workers), "--worker-class", "gthread", "--threads", str(args.threads),
         "--timeout", "120", "webapp.wsgi:app_from_environment()"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(base)
        urls = _urls(archive.rootnames[:args.rootnames], random.Random(args.seed))
        ingest = subprocess.Popen([sys.executable, "-m", "acsq_mongo.cli", "ingest", "--new",
                                   "--workers", "0"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        time.sleep(5)   # the ingest's memory at its start is that of its work, not of Python's
        processes = _processes(web, server.process.pid, ingest)
        before, load_before = _memory(processes), os.getloadavg()
        began = time.monotonic()
        stop = began + args.duration
        out: list = []
        threads = [threading.Thread(target=_client, args=(i, base, urls, stop, args.seed, out))
                   for i in range(args.clients)]
        threads.append(threading.Thread(target=_intruder, args=(base, stop, out)))
        ingest_memory: dict[str, float] = {}
        # The web and database processes' memory every minute: whether it levels off.
        timeline: list[tuple[float, dict[str, float]]] = []
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            if ingest.poll() is None:
                ingest_memory = _memory({"ingest": processes["ingest"]}) or ingest_memory
            if time.monotonic() >= began + 60 * len(timeline):
                timeline.append((time.monotonic() - began, _memory(processes)))
            time.sleep(1)
        try:   # the load is over: let the ingest finish its summaries
            ingest_out = ingest.communicate(timeout=300)[0]
        except subprocess.TimeoutExpired:
            ingest_out = "(still running 300 s after the load)"
        after = {**_memory(processes), **({} if "ingest" in _memory(processes) else
                                          {"ingest": ingest_memory.get("ingest", 0.0)})}
        _report(args, time.monotonic() - began, out, before, after, load_before,
                ingest_out, db)
        _report_timeline(timeline, after)
    finally:
        if "ingest" in locals() and ingest.poll() is None:
            ingest.terminate()
            ingest.wait(60)
        web.terminate()
        web.wait(30)
        log.close()
    errors = [line for line in (work / "gunicorn.log").read_text(errors="replace").splitlines()
              if re.search(r"Traceback|\bERROR\b", line)]
    print(f"gunicorn log: {len(errors)} error lines")
    for line in errors[:10]:
        print(f"  {line}")
    return 0


def _settings(uri: str):
    from acsq_mongo.settings import load_settings

    return load_settings(environ={}, mongo_uri=uri, db="bench", server_timeout=30)


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/static/style.css", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _report(args, seconds: float, out, before, after, load_before, ingest_out, db) -> None:
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    errors: collections.Counter = collections.Counter()
    deliberate = 0
    for kind, took, status, ok in out:
        by_kind[kind].append(took)
        if kind == "sign-in (wrong)" and status == 429:
            deliberate += 1
        if not ok:
            errors[(kind, status)] += 1
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_after = os.getloadavg()
    print(f"\n{now}: {len(out)} requests in {seconds:.0f} s ({len(out) / seconds:.1f}/s) from "
          f"{args.clients} clients + 1 wrong-password client; gunicorn {args.gunicorn_workers} "
          f"workers x {args.threads} threads; {args.rootnames} rootnames + {args.new} ingested "
          f"meanwhile; load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} "
          f"at the end ({os.cpu_count()} cores)")
    print("| kind | requests | p50 (ms) | p95 (ms) | p99 (ms) |\n|---|---:|---:|---:|---:|")
    for kind in [*MIX, "sign-in (wrong)"]:
        times = by_kind.get(kind) or [float("nan")]
        print(f"| {kind} | {len(by_kind.get(kind, []))} | {percentile(times, 50) * 1000:.0f} | "
              f"{percentile(times, 95) * 1000:.0f} | {percentile(times, 99) * 1000:.0f} |")
    print(f"\nerrors: {sum(errors.values())}; deliberate 429s: {deliberate}")
    for (kind, status), n in errors.most_common():
        print(f"  {kind}: {status} x{n}")
    print("\n| process | RSS at the start (MB) | RSS at the end (MB) |\n|---|---:|---:|")
    for name in before:
        print(f"| {name} | {before[name]:.0f} | {after.get(name, float('nan')):.0f} |")
    stored = db["catalog"].estimated_document_count()
    print(f"\ningest --new: {ingest_out.strip().splitlines()[0] if ingest_out.strip() else '?'}"
          f"; catalog at the end: {stored} rootnames")



def _report_timeline(timeline: list[tuple[float, dict[str, float]]],
                     after: dict[str, float]) -> None:
    """Print each web and database process's memory (MB) minute by minute."""
    names = [n for n in (timeline[0][1] if timeline else {}) if n != "ingest"]
    print("\n| process | " + " | ".join(f"{t:.0f} s" for t, _ in timeline) + " | end |")
    print("|---|" + "---:|" * (len(timeline) + 1))
    for name in names:
        cells = [f"{rss.get(name, float('nan')):.0f}" for _, rss in timeline]
        print(f"| {name} | " + " | ".join(cells) + f" | {after.get(name, float('nan')):.0f} |")

if __name__ == "__main__":
    sys.exit(main())
