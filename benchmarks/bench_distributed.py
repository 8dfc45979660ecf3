#!/usr/bin/env python3
"""Distributed ingest benchmark: 1 Dask worker against 2, without and with quicklook.

On a sample archive of N small rootnames (default 2,000, ``acsq sample``)
and a local SecantusDB server started here on a free port, it ingests the
archive into a fresh database (and a fresh ACSQ_DATA) with:

- for reference, in this process (``--workers 0``): one rootname at a time
  (what ``run_ingest`` did before Dask), and two at a time in threads;
- a LocalCluster of 1 worker process, then of 2, each worker ingesting one
  rootname at a time, then two at a time (``THREADS_PER_WORKER``, what
  ``acsq ingest`` uses);

first without quicklook images, then with them (JPEG, preview, thumbnail per
raw/flt/flc), and reports for each the throughput (rootnames/s, from the
cluster being up to the last result; the cluster's start-up is printed
apart), the speedup of 2 workers over 1, and where the time went: CPU
seconds of the SecantusDB server, of the worker processes and of this
(client) process, against the wall time times the number of cores, and the
throughput that much CPU per rootname allows on this machine's cores.

Usage: python benchmarks/bench_distributed.py [--rootnames 2000] [--archive DIR]
       [--threads 1,2] [--batch-size 25] [--no-reference] [--modes headers,quicklook]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from _common import sample_archive

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.connection import connect, server_description
from acsq_mongo.ingest.batch import InProcessRunner
from acsq_mongo.ingest.dask_runner import THREADS_PER_WORKER, DaskRunner
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


@dataclass
class Run:
    label: str
    rootnames: int
    startup: float          # cluster start-up (s)
    seconds: float          # first task submitted -> last result
    wall: float             # the whole run_ingest call, the window the CPU is measured in
    server_cpu: float
    workers_cpu: float
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.rootnames / self.seconds

    def line(self, cores: int) -> str:
        # CPU and wall time over the same window: the whole run_ingest call
        # (discovery and the summaries written at the end included).
        busy = (self.server_cpu + self.workers_cpu + self.client_cpu) / (self.wall * cores)
        return (f"{self.label:34s} {self.rate:7.1f} rootnames/s  ({self.rootnames} in "
                f"{self.seconds:6.1f} s; start-up {self.startup:.1f} s)  CPU s: server "
                f"{self.server_cpu:6.1f}, workers {self.workers_cpu:6.1f}, client "
                f"{self.client_cpu:5.1f}; cores busy {busy:.0%}")


class Clock:
    """A progress callback that notes when the work starts and ends."""

    def __init__(self):
        self.start = self.end = None

    def __call__(self, done, total, result):
        now = time.perf_counter()
        if done == 0:
            self.start = now
        if done == total:
            self.end = now


def ingest(label: str, settings, archive: Path, server_pid: int, workers: int, threads: int,
           quicklook: bool) -> Run:
    """Ingest the archive into a fresh database with ``workers`` (0: in this process)."""
    name = "".join(c if c.isalnum() else "_" for c in label)
    settings = settings.replace(db=f"bench_{name}", data=settings.data / name, workers=workers)
    db = connect(settings)
    db.client.drop_database(settings.db)
    if workers:
        runner = DaskRunner(settings, threads=threads)
        started = time.perf_counter()
        client = runner.start()
        startup = time.perf_counter() - started
        worker_pids = list(client.run(os.getpid).values())
    else:
        runner, startup, worker_pids = InProcessRunner(threads=threads), 0.0, []
    clock = Clock()
    with runner:
        server_cpu, workers_cpu = cpu_seconds([server_pid]), cpu_seconds(worker_pids)
        client_cpu, wall = time.process_time(), time.perf_counter()
        summary = run_ingest(settings, archive, quicklook=quicklook, runner=runner,
                             progress=clock)
        client_cpu, wall = time.process_time() - client_cpu, time.perf_counter() - wall
        server_cpu = cpu_seconds([server_pid]) - server_cpu
        workers_cpu = cpu_seconds(worker_pids) - workers_cpu
    assert summary.ok and summary.ingested == summary.rootnames, summary.text()
    db.client.drop_database(settings.db)
    return Run(label, summary.rootnames, startup, clock.end - clock.start, wall, server_cpu,
               workers_cpu, client_cpu)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootnames", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--archive", type=Path,
                        help="reuse this sample archive (written there if missing)")
    parser.add_argument("--threads", default=f"1,{THREADS_PER_WORKER}",
                        help="rootnames each worker ingests at a time, a list (default "
                        "%(default)s; the library's default is THREADS_PER_WORKER = "
                        f"{THREADS_PER_WORKER})")
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the in-process reference runs")
    parser.add_argument("--modes", default="headers,quicklook",
                        help="headers (no quicklook images), quicklook, or both (default)")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))

    with tempfile.TemporaryDirectory(prefix="bench_distributed_") as tmp:
        tmp = Path(tmp)
        sample = sample_archive(args.archive, tmp, args.rootnames, args.seed)
        archive = sample.root
        print(f"archive {archive}: {len(sample.rootnames)} rootnames, {sample.n_files} files",
              flush=True)
        for path in archive.rglob("*.fits"):     # the page cache, for every run alike
            path.read_bytes()

        with localdb.LocalServer.private(tmp) as server:
            settings = load_settings(environ={}, mongo_uri=server.uri, data=tmp / "var",
                                     archive=archive, batch_size=args.batch_size)
            backend = server_description(connect(settings))
            pid = server.process.pid
            print(f"machine: {platform.node()}, {cores} cores, Python "
                  f"{platform.python_version()}; server: {backend}; batches of "
                  f"{args.batch_size}", flush=True)
            threads_list = [int(n) for n in args.threads.split(",")]
            modes = args.modes.split(",")
            for quicklook in [q for q in (False, True)
                              if ("quicklook" if q else "headers") in modes]:
                kind = "headers + quicklook" if quicklook else "headers only"
                print(f"-- {kind}", flush=True)
                if not args.no_reference:
                    for threads in threads_list:
                        run = ingest(f"{kind}, in-process x {threads}", settings, archive,
                                     pid, 0, threads, quicklook)
                        print(run.line(cores), flush=True)
                for threads in threads_list:
                    one = ingest(f"{kind}, 1 worker x {threads}", settings, archive, pid, 1,
                                 threads, quicklook)
                    print(one.line(cores), flush=True)
                    two = ingest(f"{kind}, 2 workers x {threads}", settings, archive, pid, 2,
                                 threads, quicklook)
                    print(two.line(cores), flush=True)
                    cpu = (two.server_cpu + two.workers_cpu + two.client_cpu) / two.rootnames
                    print(f"==> {kind}, {threads} at a time per worker: 2 workers / 1 worker = "
                          f"{two.rate / one.rate:.2f}x ({one.rate:.1f} -> {two.rate:.1f} "
                          f"rootnames/s)" + ("  (target >= 1.6x)" if quicklook else "")
                          + f"; CPU per rootname {cpu * 1000:.0f} ms (server "
                          f"{two.server_cpu / two.rootnames * 1000:.0f} ms) over the whole "
                          f"run, which took {two.wall:.1f} s: {cores} cores allow at most "
                          f"{two.rootnames / two.wall:.0f} / {cores / cpu:.0f} = "
                          f"{cpu * two.rootnames / (cores * two.wall):.0%} of them used",
                          flush=True)
    return 0


if __name__ == "__main__":   # Dask's worker processes import this file: keep the guard
    sys.exit(main())
