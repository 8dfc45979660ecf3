#!/usr/bin/env python3
"""Ingest benchmark: header parsing alone versus a full ingest into the real local server.

On a sample archive of N rootnames (default 300, small images) it reports:

(a) files/s for header parsing only (``acsq_mongo.ingest.headers.read_headers`` on
    every file), and, for reference, astropy's own header parsing
    (``fits.open`` and every card's value) on a subset;
(b) files/s for a full ingest (discovery, headers, documents, upserts into
    ``rootnames`` and ``catalog``, proposals) into the real local server
    (FerretDB, started here on a free port in a temporary folder), without
    quicklook, one rootname at a time; and (b2) two at a time in threads,
    as each Dask worker of ``acsq ingest`` does, so that parsing overlaps
    the server's write;
the ratio b/a (target >= 0.7), where the time of (b) went (this process's CPU,
the server's CPU), a re-ingest of the unchanged archive, and the distribution
of document sizes, plus the size of a WFC rootname with every filetype.

Usage: python benchmarks/bench_ingest.py [--rootnames N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from astropy.io import fits

from acsq_mongo.archive.discover import discover_archive
from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.db.connection import connect, server_description
from acsq_mongo.fields import FILETYPES
from acsq_mongo.ingest.batch import InProcessRunner
from acsq_mongo.ingest.headers import read_headers
from acsq_mongo.ingest.rootname import ingest_rootname
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive, plan_rootname, write_rootname
from acsq_mongo.settings import load_settings


def parse_all(paths: list[Path]) -> float:
    """Seconds to read every header of every file with the header reader."""
    start = time.perf_counter()
    for path in paths:
        read_headers(path)
    return time.perf_counter() - start


def parse_astropy(paths: list[Path]) -> float:
    """Seconds for astropy to read every header and every card's value."""
    start = time.perf_counter()
    for path in paths:
        with fits.open(path, lazy_load_hdus=True, memmap=False) as hdul:
            for hdu in hdul:
                for card in hdu.header.cards:
                    card.value  # noqa: B018 - parsing the value is what is timed
    return time.perf_counter() - start


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: list[int]) -> str:
    values = sorted(values)
    q = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9

    def kb(v):
        return f"{v / 1000:.0f}"

    return (f"min {kb(values[0])}, median {kb(statistics.median(values))}, p90 {kb(q[8])}, "
            f"max {kb(values[-1])} kB")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootnames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        sample = make_sample_archive(tmp / "archive", args.rootnames, seed=args.seed)
        print(f"sample archive: {len(sample.rootnames)} rootnames, {sample.n_files} files, "
              f"written in {time.perf_counter() - start:.1f} s")
        paths = [f.path for folder in discover_archive(sample.root).folders
                 for f in folder.files.values()]
        n_files = len(paths)

        # Warm the page cache, so both measurements read from memory.
        for path in paths:
            path.read_bytes()

        # (a) header parsing only.
        seconds_a = min(parse_all(paths) for _ in range(2))
        rate_a = n_files / seconds_a
        subset = paths[: min(len(paths), 300)]
        rate_astropy = len(subset) / parse_astropy(subset)

        with localdb.LocalServer.private(tmp) as server:
            settings = load_settings(environ={}, mongo_uri=server.uri, db="bench_ingest",
                                     data=tmp / "var", archive=sample.root)
            db = connect(settings)
            # (b) full ingest, no quicklook.
            server_cpu, own_cpu = process_cpu(server.process.pid), time.process_time()
            summary = run_ingest(settings, sample.root, quicklook=False)
            own_cpu = time.process_time() - own_cpu
            server_cpu = process_cpu(server.process.pid) - server_cpu
            assert summary.ok, summary.text()
            rate_b = summary.files / summary.seconds
            # (b2) the same, two rootnames at a time (what each Dask worker of
            # `acsq ingest` does): parsing overlaps the server's write.
            settings2 = settings.replace(db="bench_ingest_threads")
            with InProcessRunner(threads=2) as runner:
                summary2 = run_ingest(settings2, sample.root, quicklook=False, runner=runner)
            assert summary2.ok, summary2.text()
            rate_b2 = summary2.files / summary2.seconds
            # Re-ingest of the unchanged archive.
            again = run_ingest(settings, sample.root, quicklook=False)
            assert again.unchanged == summary.rootnames, again.text()

            sizes = {d["_id"]: d["doc_bytes"]
                     for d in db[ROOTNAMES].find({}, {"doc_bytes": 1})}
            by_kind: dict[str, list[int]] = {}
            for r in sample.rootnames:
                key = f"{r.promoted['detector']} {r.kind}"
                by_kind.setdefault(key, []).append(sizes[r.rootname[:8]])

            every = write_rootname(tmp / "archive",
                                   plan_rootname("jall01aaq", "WFC", FILETYPES, seed=1))
            result = ingest_rootname(db, settings, sample.root / every.path, quicklook=False)
            full_headers = sum(every.n_hdus.values())
            backend = server_description(db)

    print(f"machine: {platform.node()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; server: {backend}")
    print(f"(a) header parsing only:  {rate_a:8.0f} files/s  ({n_files} files in "
          f"{seconds_a:.2f} s)")
    print(f"    astropy fits.open + every card value, same files: {rate_astropy:.0f} files/s "
          f"(the reader is {rate_a / rate_astropy:.1f}x faster)")
    print(f"(b) full ingest, no quicklook: {rate_b:8.0f} files/s  ({summary.files} files, "
          f"{summary.rootnames} rootnames in {summary.seconds:.2f} s)")
    print(f"ratio b/a: {rate_b / rate_a:.2f} (target >= 0.7)")
    print(f"(b2) the same, two rootnames at a time: {rate_b2:6.0f} files/s  "
          f"({summary2.seconds:.2f} s); ratio b2/a: {rate_b2 / rate_a:.2f}")
    print(f"    ceiling with the server's CPU alone: "
          f"{summary.files / max(server_cpu, 1e-9):.0f} files/s = "
          f"{summary.files / max(server_cpu, 1e-9) / rate_a:.2f} of (a)")
    print(f"    where (b)'s time went: this process {own_cpu:.2f} s CPU (of which parsing "
          f"{seconds_a:.2f} s: ingest's own overhead is {own_cpu / seconds_a - 1:.0%} of "
          f"parsing), the server {server_cpu:.2f} s CPU "
          f"({server_cpu / summary.rootnames * 1000:.1f} ms per document)")
    print(f"re-ingest, nothing changed: {again.rootnames / again.seconds:.0f} rootnames/s "
          f"({again.seconds:.2f} s)")
    print(f"document sizes: {percentiles(list(sizes.values()))}")
    for key in sorted(by_kind):
        print(f"    {key:14s} ({len(by_kind[key]):3d}): {percentiles(by_kind[key])}")
    print(f"WFC rootname with every filetype ({len(FILETYPES)} files, {full_headers} HDUs): "
          f"{result.doc_bytes / 1000:.0f} kB = {result.doc_bytes / (16 * 1024 * 1024):.1%} "
          "of the 16 MB limit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
