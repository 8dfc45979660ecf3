"""The sample generator's speed: wall and CPU time to write a sample archive.

Writes ``--rootnames`` rootnames with :func:`acsq_mongo.sample.make_sample_archive`
(small images, ``--workers`` processes: by default one per core from 200 rootnames on,
as ``acsq sample`` does) into a temporary folder, and prints the wall time, the CPU
time of this process and its workers, the CPU per rootname and rootnames per second,
with the date and the load average before and after. With ``--astropy`` it also writes
the same archive through astropy's HDU classes (``writer="astropy"``, the writer
before the files were written as bytes), right after, and prints the ratios of the
two runs. Issue 23's target: 2,000 rootnames in under 60 s.

Usage::

    python benchmarks/bench_sample.py [--rootnames 200] [--seed 1] [--workers N] [--astropy]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from acsq_mongo.sample import make_sample_archive


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(n: int, seed: int, workers: int | None, writer: str) -> dict:
    """Write one archive; return its figures."""
    with tempfile.TemporaryDirectory(prefix="bench_sample_") as tmp:
        load_before = _load()
        cpu, start = _cpu(), time.perf_counter()
        archive = make_sample_archive(Path(tmp) / "archive", n, seed=seed, workers=workers,
                                      writer=writer)
        wall, cpu = time.perf_counter() - start, _cpu() - cpu
        load_after = _load()
    return {"writer": writer, "n": n, "files": archive.n_files, "wall": wall, "cpu": cpu,
            "load": f"{load_before} -> {load_after}"}


def _line(f: dict) -> str:
    return (f"{f['writer']:>7}: {f['n']} rootnames ({f['files']} files) in {f['wall']:.1f} s wall, "
            f"{f['cpu']:.1f} s CPU = {1000 * f['cpu'] / f['n']:.1f} ms CPU a rootname, "
            f"{f['n'] / f['wall']:.0f} rootnames/s (load average {f['load']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootnames", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None,
                        help="processes (default: one per core from 200 rootnames on)")
    parser.add_argument("--astropy", action="store_true",
                        help="also write the archive through astropy's HDU classes, for ratios")
    args = parser.parse_args(argv)
    print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
          f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    new = run(args.rootnames, args.seed, args.workers, "bytes")
    print(_line(new), flush=True)
    if args.astropy:
        old = run(args.rootnames, args.seed, args.workers, "astropy")
        print(_line(old))
        print(f"bytes / astropy: wall {new['wall'] / old['wall']:.2f}, "
              f"CPU {new['cpu'] / old['cpu']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
