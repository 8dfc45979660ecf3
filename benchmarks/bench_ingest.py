#!/usr/bin/env python3
"""Ingest benchmark: header parsing alone versus a full ingest into the real local server.

On a sample archive (``--archive DIR``, one written by ``acsq sample``, reused
and never modified; or a new one of ``--rootnames N``, default 300, small
images) it reports:

(a) files/s for header parsing only (``acsq_mongo.ingest.headers.read_headers`` on
    every file), and, for reference, astropy's own header parsing
    (``fits.open`` and every card's value) on a subset;
(b) files/s for a full ingest (discovery, headers, documents, upserts into
    ``rootnames`` and ``catalog``, proposals) into the real local server
    (SecantusDB, started here on a free port in a temporary folder), without
    quicklook, one rootname at a time; and (b2) two at a time in threads,
    as each Dask worker of ``acsq ingest`` does, so that parsing overlaps
    the server's write;
the ratio b/a (target >= 0.7); where the time of (b) goes, by stage (parse,
footprints, document, encode, write wait: the functions' own time, measured by
wrapping them for the run; the rest is "other"); (b3) the same through 2 Dask
workers (``acsq ingest --workers 2``); the CPU of (b): the server's per document
(from ``/proc/<pid>/stat`` of the server process) and this process's own per
file beyond parsing (its CPU during the ingest minus its CPU to parse the same
files in (a); target <= 30 % of parsing), and the same measured directly: (c) the
ingest with every header read beforehand; a re-ingest of the unchanged archive
in rootnames/s (target >= 500); and the distribution of document sizes, plus
the size of a WFC rootname with every filetype.

``--structures`` adds the real archive's structures (``acsq sample --structures``: an
association's sub-products in folders of their own, a retransmission, a ``.fits.gz``, a
tile-compressed flt, modern flt and flc files, HRC, SBC, a subarray, internal frames) to
every measurement; a new archive gets them written, an ``--archive`` must have them.

Usage: python benchmarks/bench_ingest.py [--archive DIR] [--rootnames N] [--seed S]
       [--structures] [--profile FILE] [--no-dask]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import sample_archive
from astropy.io import fits

from acsq_mongo.archive.discover import discover_archive
from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.db.connection import connect, server_description
from acsq_mongo.fields import FILETYPES
from acsq_mongo.ingest import document as ingest_document
from acsq_mongo.ingest import rootname as ingest_rootname_module
from acsq_mongo.ingest.batch import InProcessRunner
from acsq_mongo.ingest.headers import read_headers
from acsq_mongo.ingest.rootname import ingest_rootname
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.store_batch import StoreBatch
from acsq_mongo.sample import MANIFEST_NAME, plan_rootname, write_rootname
from acsq_mongo.sample.structures import STRUCTURES_NAME, write_structures
from acsq_mongo.settings import load_settings


def parse_all(paths: list[Path]) -> tuple[float, float]:
    """Seconds (wall, this process's CPU) to read every header of every file."""
    start, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        read_headers(path)
    return time.perf_counter() - start, time.process_time() - cpu


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


#: The stages of an ingest, and the functions whose time is theirs: (module, name).
STAGES = {
    "parse": [(ingest_rootname_module, "read_headers")],
    "footprints": [(ingest_rootname_module, "compute_footprints"),
                   (ingest_rootname_module, "footprint_arrays")],
    "document": [(ingest_rootname_module, "build_document_bson")],
    "encode": [(ingest_document, "encode_document")],
    "write wait": [(StoreBatch, "_wait"), (StoreBatch, "flush")],
}


@contextlib.contextmanager
def headers_read_before(paths: list[Path]):
    """Read every file's headers now; during the block, the ingest takes them from memory.

    The ingest's CPU in the block is then all its own work beyond parsing (the
    headers, once read, are not changed by it, and each is taken once).
    """
    read = {str(path): read_headers(path) for path in paths}
    original = ingest_rootname_module.read_headers
    ingest_rootname_module.read_headers = lambda path: read[str(path)]
    try:
        yield
    finally:
        ingest_rootname_module.read_headers = original


@contextlib.contextmanager
def stage_times():
    """Wrap the stages' functions for a run; yield ``{stage: seconds}`` (each stage's own).

    A stage called inside another (encode inside document) is taken out of the
    outer one's time. Only the calling thread's calls are timed: run it on one thread.
    """
    seconds = dict.fromkeys(STAGES, 0.0)
    stack: list[list[float]] = []  # [start, time of inner stages]
    owner = threading.get_ident()
    originals = []

    def wrap(stage, function):
        def timed(*args, **kwargs):
            if threading.get_ident() != owner:
                return function(*args, **kwargs)
            stack.append([time.perf_counter(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                start, inner = stack.pop()
                spent = time.perf_counter() - start
                seconds[stage] += spent - inner
                if stack:
                    stack[-1][1] += spent
        return timed

    for stage, targets in STAGES.items():
        for owner_of, name in targets:
            function = getattr(owner_of, name)
            originals.append((owner_of, name, function))
            setattr(owner_of, name, wrap(stage, function))
    try:
        yield seconds
    finally:
        for owner_of, name, function in originals:
            setattr(owner_of, name, function)


def timed_ingest(settings, archive: Path, rootnames, server_pid: int, profile=None, **kw):
    """Run an ingest; return its summary, this process's CPU and the server's CPU (s)."""
    server_cpu, own_cpu = process_cpu(server_pid), time.process_time()
    if profile is not None:
        profile.enable()
    summary = run_ingest(settings, archive, rootnames=rootnames, quicklook=False, **kw)
    if profile is not None:
        profile.disable()
    own_cpu = time.process_time() - own_cpu
    server_cpu = process_cpu(server_pid) - server_cpu
    assert summary.ok, summary.text()
    return summary, own_cpu, server_cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=None,
                        help="a sample archive to reuse (read only); default: write one")
    parser.add_argument("--rootnames", type=int, default=None,
                        help="rootnames to ingest (default: all of --archive, else 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the full ingest (b) to this file")
    parser.add_argument("--no-dask", action="store_true",
                        help="skip (b3), the ingest through 2 Dask workers")
    parser.add_argument("--structures", action="store_true",
                        help="include the real archive's structures (acsq sample --structures)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        tmp = Path(tmp)
        if args.archive is not None and not (args.archive / MANIFEST_NAME).exists():
            parser.error(f"{args.archive} is not an archive written by `acsq sample`")
        sample = sample_archive(args.archive, tmp, args.rootnames or 300, args.seed)
        chosen = sample.rootnames[: args.rootnames] if args.rootnames else sample.rootnames
        selection = [r.rootname for r in chosen] if len(chosen) < len(sample.rootnames) else None
        if args.structures:
            structures = _structures(sample.root, args.archive is None, args.seed, parser)
            selection = selection and selection + structures
            print(f"with the real archive's structures: {len(structures)} rootnames", flush=True)
        discovery = discover_archive(sample.root, selection)
        paths = [f.path for folder in discovery.folders for f in folder.files.values()]
        n_files = len(paths)
        print(f"archive: {sample.root}, {len(chosen)} of its {len(sample.rootnames)} "
              f"rootnames, {n_files} files", flush=True)

        # Warm the page cache, so both measurements read from memory.
        for path in paths:
            path.read_bytes()

        # (a) header parsing only: the faster of two runs.
        seconds_a, cpu_a = min(parse_all(paths) for _ in range(2))
        rate_a = n_files / seconds_a
        subset = paths[: min(len(paths), 300)]
        rate_astropy = len(subset) / parse_astropy(subset)

        profile = cProfile.Profile() if args.profile else None
        with localdb.LocalServer.private(tmp) as server:
            pid = server.process.pid
            settings = load_settings(environ={}, mongo_uri=server.uri, db="bench_ingest",
                                     data=tmp / "var", archive=sample.root)
            db = connect(settings)
            # (b) full ingest, no quicklook.
            with stage_times() as stages:
                summary, own_cpu, server_cpu = timed_ingest(settings, sample.root, selection,
                                                            pid, profile)
            rate_b = summary.files / summary.seconds
            # (b2) the same, two rootnames at a time (what each Dask worker of
            # `acsq ingest` does): parsing overlaps the server's write.
            with InProcessRunner(threads=2) as runner:
                summary2, _, _ = timed_ingest(settings.replace(db="bench_ingest_threads"),
                                              sample.root, selection, pid, runner=runner)
            rate_b2 = summary2.files / summary2.seconds
            rate_b3 = None
            if not args.no_dask:
                # (b3) through 2 Dask workers, as `acsq ingest --workers 2` runs it.
                from acsq_mongo.ingest.dask_runner import DaskRunner

                settings3 = settings.replace(db="bench_ingest_dask", workers=2)
                runner = DaskRunner(settings3)
                runner.start()  # the cluster's start (~1 s) is not timed
                with runner:
                    summary3, _, _ = timed_ingest(settings3, sample.root, selection, pid,
                                                  runner=runner)
                rate_b3 = summary3.files / summary3.seconds
            # (c) the same ingest, every header read beforehand: its CPU is what it
            # spends beyond parsing, measured directly.
            with headers_read_before(paths):
                summary_c, cpu_c, _ = timed_ingest(settings.replace(db="bench_ingest_read"),
                                                   sample.root, selection, pid)
            # Re-ingest of the unchanged archive.
            again, again_cpu, again_server = timed_ingest(settings, sample.root, selection, pid)
            assert again.unchanged == summary.rootnames, again.text()

            sizes = {d["_id"]: d["doc_bytes"]
                     for d in db[ROOTNAMES].find({}, {"doc_bytes": 1})}
            by_kind: dict[str, list[int]] = {}
            for r in chosen:
                key = f"{r.promoted['detector']} {r.kind}"
                by_kind.setdefault(key, []).append(sizes[r.rootname[:8]])

            # A rootname with every filetype, in an archive of its own (--archive is
            # never written to).
            every = write_rootname(tmp / "every",
                                   plan_rootname("jall01aaq", "WFC", FILETYPES, seed=1))
            result = ingest_rootname(db, settings.replace(archive=tmp / "every"),
                                     tmp / "every" / every.path, quicklook=False)
            full_headers = sum(every.n_hdus.values())
            backend = server_description(db)
    if profile is not None:
        profile.dump_stats(args.profile)

    beyond = own_cpu - cpu_a
    print(f"{datetime.date.today()}; machine: {platform.node()}, {os.cpu_count()} cores, "
          f"{_memory_gib():.0f} GiB, Python {platform.python_version()}; server: {backend}")
    print(f"(a) header parsing only:  {rate_a:8.0f} files/s  ({n_files} files in "
          f"{seconds_a:.2f} s, {cpu_a:.2f} s CPU)")
    print(f"    astropy fits.open + every card value, same files: {rate_astropy:.0f} files/s "
          f"(the reader is {rate_a / rate_astropy:.1f}x faster)")
    print(f"(b) full ingest, no quicklook: {rate_b:8.0f} files/s  ({summary.files} files, "
          f"{summary.rootnames} rootnames in {summary.seconds:.2f} s)")
    print(f"ratio b/a: {rate_b / rate_a:.2f} (target >= 0.7); by CPU, parsing / ingest's "
          f"own CPU: {cpu_a / own_cpu:.2f}")
    print("    where (b)'s time goes, by stage (ms per file; % of the run; "
          "% of parsing):")
    other = summary.seconds - sum(stages.values())
    print(f"    within (b), parsing took {stages['parse'] / summary.seconds:.2f} of the time: b/a "
          "if (a) had run at (b)'s pace (on a busy machine (a) and (b) meet different loads)")
    for stage, seconds in [*stages.items(), ("other", other)]:
        print(f"      {stage:11s} {seconds / summary.files * 1000:6.2f} ms  "
              f"{seconds / summary.seconds:4.0%}  {seconds / stages['parse']:5.0%}")
    print(f"(b2) the same, two rootnames at a time: {rate_b2:6.0f} files/s  "
          f"({summary2.seconds:.2f} s); ratio b2/a: {rate_b2 / rate_a:.2f}")
    if rate_b3 is not None:
        print(f"(b3) the same, 2 Dask workers: {rate_b3:6.0f} files/s  "
              f"({summary3.seconds:.2f} s, after the cluster's start); ratio b3/a: "
              f"{rate_b3 / rate_a:.2f}")
    print(f"server CPU per document: {server_cpu / summary.rootnames * 1000:.1f} ms "
          f"({server_cpu:.2f} s for {summary.rootnames}); ceiling with the server's CPU "
          f"alone: {summary.files / max(server_cpu, 1e-9):.0f} files/s = "
          f"{summary.files / max(server_cpu, 1e-9) / rate_a:.2f} of (a)")
    print(f"ingest process CPU beyond parsing: {beyond / summary.files * 1000:.2f} ms per file "
          f"= {beyond / cpu_a:.0%} of parsing (target <= 30 %); {own_cpu:.2f} s CPU in all, "
          f"parsing {cpu_a:.2f} s")
    print(f"    measured directly, (c) the same ingest with every header read beforehand: "
          f"{cpu_c / summary_c.files * 1000:.2f} ms per file = {cpu_c / cpu_a:.0%} of parsing "
          f"({cpu_c:.2f} s CPU; the difference from the line above is parsing's own cost "
          "inside the ingest, interleaved with the rest, over its cost alone)")
    print(f"re-ingest, nothing changed: {again.rootnames / again.seconds:.0f} rootnames/s "
          f"(target >= 500; {again.seconds:.2f} s; this process {again_cpu:.2f} s CPU, "
          f"the server {again_server:.2f} s: {again_server / again.rootnames * 1000:.1f} ms per "
          f"rootname; with their CPU alone {again.rootnames / (again_cpu + again_server):.0f} "
          "rootnames/s)")
    print(f"document sizes: {percentiles(list(sizes.values()))}")
    for key in sorted(by_kind):
        print(f"    {key:14s} ({len(by_kind[key]):3d}): {percentiles(by_kind[key])}")
    print(f"WFC rootname with every filetype ({len(FILETYPES)} files, {full_headers} HDUs): "
          f"{result.doc_bytes / 1000:.0f} kB = {result.doc_bytes / (16 * 1024 * 1024):.1%} "
          "of the 16 MB limit")
    return 0


def _structures(root: Path, write: bool, seed: int, parser) -> list[str]:
    """The rootnames of the archive's structures (written into a new archive first)."""
    listing = root / STRUCTURES_NAME
    if not listing.exists():
        if not write:
            parser.error(f"{root} has no structures; add them with `acsq sample {root} "
                         "--structures`, or leave out --archive")
        write_structures(root, seed=seed)
    return [r for st in json.loads(listing.read_text()) for r in st["rootnames"]]


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


if __name__ == "__main__":
    sys.exit(main())
