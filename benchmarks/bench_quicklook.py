"""Quicklook speed on full-size WFC flt and drz files: seconds per file, and the limit, on one core.

For each file it times, on one core, with the file in the page cache:

``quicklook``
    :func:`acsq_mongo.images.quicklook.make_quicklooks` with ``force=True``: read
    and stitch the SCI chips (for a drz: its one SCI and the WHT that masks its
    zero-weight border), stretch, and write the full JPEG, the preview and the
    thumbnail (everything ingest pays per file).
``quicklook + statistics``
    the same with the image statistics measured as ingest measures them
    (:mod:`acsq_mongo.images.statistics`); ``quicklook`` is then the same call
    with ``stats=False``. Their ratio is the statistics' cost (target: at most
    1.10, issue 28).
``limit``
    The least any quicklook can cost: reading the SCI arrays with astropy into
    native ``float32`` arrays, plus encoding the final 8-bit image as a JPEG
    (same size, content and quality) into memory. Nothing else: a drz's WHT
    (read to mask the border) counts against the quicklook.

It prints seconds per file for both (median of ``--repeat`` runs per file,
averaged over the files) and their ratio, for the flt files and for the drz
files, with the date, the machine and its load average. Targets: quicklook <=
0.25 s per file, and <= 2.5 x the limit.

The files are as ``acsq sample --full-size`` writes them: an flt of two 2048 x
4096 float32 chips, a drz of one 4096 x 4096 float32 SCI in a tilted field with
a zero-weight border. Pass ``--archive`` to take the flt files of an existing
sample archive, or let the benchmark write ``--files`` flt and ``--drz`` drz
files with the same generator (:mod:`acsq_mongo.sample`) into a temporary folder.

Usage::

    python benchmarks/bench_quicklook.py [--files 5] [--drz 3] [--repeat 3] [--archive DIR]
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from PIL import Image

from acsq_mongo.images.quicklook import JPEG_QUALITY, make_quicklooks, render
from acsq_mongo.settings import load_settings

TARGET_SECONDS = 0.25
TARGET_RATIO = 2.5
#: Most the image statistics may add to the quicklook (issue 28).
TARGET_STATS_RATIO = 1.10


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def write_sample_files(folder: Path, n_files: int, filetype: str = "flt") -> list[Path]:
    """Write full-size WFC flt (or drz) files with the ``acsq sample`` generator."""
    from acsq_mongo.sample import plan_rootname, write_rootname

    paths = []
    for k in range(n_files):
        rootname = f"jb{filetype}{k:02d}q" if filetype == "flt" else f"jb{filetype}{k:02d}0"
        planned = plan_rootname(rootname, detector="WFC", filetypes=[filetype], full_size=True,
                                seed=k)
        write_rootname(folder, planned, seed=k)
        paths.append(folder / planned.path / f"{rootname}_{filetype}.fits")
    return paths


def find_sample_flts(archive: Path, n_files: int) -> list[Path]:
    """Full-frame WFC flt files (two 2048 x 4096 SCI chips) of an existing archive."""
    found = []
    for path in sorted(archive.glob("*/*/*_flt.fits")):
        with fits.open(path) as hdul:
            shapes = [h.data.shape for h in hdul if h.name == "SCI" and h.data is not None]
        if shapes == [(2048, 4096), (2048, 4096)]:
            found.append(path)
            if len(found) == n_files:
                break
    return found


def read_sci_arrays(path: Path) -> list[np.ndarray]:
    """The limit's read: every SCI array into a native float32 array, nothing more."""
    with fits.open(path) as hdul:
        return [np.asarray(h.data, dtype=np.float32) for h in hdul if h.name == "SCI"]


def encode_jpeg(image: Image.Image) -> int:
    """The limit's encode: the JPEG into memory."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.tell()


def _timed(func, *args) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def _measure(paths: list[Path], filetype: str, settings, repeat: int) -> dict:
    """Time quicklook and limit on each file; return the means over files and the sizes."""
    quicklook_times, limit_times, stats_times, sizes, cpu_ratios = [], [], [], [], []
    image = None
    for k, path in enumerate(paths):
        rootname = path.name[:9]
        image = render(path, settings.quicklook_stretch)  # warm up: page cache, imports
        make_quicklooks(rootname, 10000 + k, {filetype: path}, settings, force=True)
        per_file_q, per_file_l, per_file_s, cpu_q, cpu_s = [], [], [], [], []
        for _ in range(repeat):
            # Alternate the three so that machine noise hits them alike.
            start, cpu = time.perf_counter(), time.process_time()
            result = make_quicklooks(rootname, 10000 + k, {filetype: path}, settings,
                                     force=True, stats=False)
            per_file_q.append(time.perf_counter() - start)
            cpu_q.append(time.process_time() - cpu)
            assert result.made == 1 and not result.errors, result.errors
            start, cpu = time.perf_counter(), time.process_time()
            measured = make_quicklooks(rootname, 10000 + k, {filetype: path}, settings,
                                       force=True, stats=True)
            per_file_s.append(time.perf_counter() - start)
            cpu_s.append(time.process_time() - cpu)
            assert measured.stats.get(filetype), "no statistics measured"
            per_file_l.append(_timed(read_sci_arrays, path) + _timed(encode_jpeg, image))
        quicklook_times.append(statistics.median(per_file_q))
        stats_times.append(statistics.median(per_file_s))
        cpu_ratios.append(statistics.median(cpu_s) / statistics.median(cpu_q))
        limit_times.append(statistics.median(per_file_l))
        sizes.append((settings.data / result.paths[filetype]).stat().st_size)
    return {"quicklook": statistics.fmean(quicklook_times),
            "with_stats": statistics.fmean(stats_times),
            "cpu_ratio": statistics.fmean(cpu_ratios),
            "limit": statistics.fmean(limit_times), "size": statistics.fmean(sizes),
            "image": image.size}


def _report(name: str, shape: str, source: str, m: dict) -> None:
    ratio = m["quicklook"] / m["limit"]
    print(f"{name}: {shape}, {source}")
    print(f"  image: {m['image'][0]} x {m['image'][1]} JPEG, quality {JPEG_QUALITY}, "
          f"{m['size'] / 1e6:.1f} MB on average")
    print(f"  quicklook (JPEG + preview + thumbnail): {m['quicklook']:.3f} s/file "
          f"(target <= {TARGET_SECONDS} s): "
          f"{'OK' if m['quicklook'] <= TARGET_SECONDS else 'MISSED'}")
    print(f"  limit (read SCI + encode JPEG):         {m['limit']:.3f} s/file")
    print(f"  ratio quicklook / limit:                {ratio:.2f} "
          f"(target <= {TARGET_RATIO}): {'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
    cost = m["with_stats"] / m["quicklook"]
    print(f"  quicklook + image statistics:           {m['with_stats']:.3f} s/file")
    print(f"  ratio (quicklook + statistics) / quicklook: {cost:.3f} wall time, "
          f"{m['cpu_ratio']:.3f} CPU time of this process "
          f"(target <= {TARGET_STATS_RATIO}): "
          f"{'OK' if min(cost, m['cpu_ratio']) <= TARGET_STATS_RATIO else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5, help="how many flt files (default 5)")
    parser.add_argument("--drz", type=int, default=3, help="how many drz files (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file (default 3)")
    parser.add_argument("--archive", type=Path,
                        help="an archive made by `acsq sample --full-size` to take flt files from")
    args = parser.parse_args(argv)

    pinning = _pin_to_one_core()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_quicklook_") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        if args.archive:
            paths = find_sample_flts(args.archive, args.files)
            source = f"{args.archive} (acsq sample --full-size)"
        else:
            paths = write_sample_files(tmp / "archive", args.files, "flt")
            source = "written with acsq_mongo.sample (full size)"
        if not paths:
            print("no full-frame WFC flt files found", file=sys.stderr)
            return 1
        drz_paths = write_sample_files(tmp / "archive", args.drz, "drz") if args.drz else []
        written = time.perf_counter() - start
        settings = load_settings(environ={}, data=tmp / "var", archive=tmp / "archive",
                                 mongo_uri="mongomock://bench")
        flt = _measure(paths, "flt", settings, args.repeat)
        drz = _measure(drz_paths, "drz", settings, args.repeat) if drz_paths else None

    load_after = os.getloadavg()
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}; machine: {platform.node()}, "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    print(f"load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after {', '.join(f'{x:.2f}' for x in load_after)}")
    print(f"cpu: {pinning}; repeat {args.repeat} per file, median per file, mean over files; "
          f"files written in {written:.0f} s")
    _report(f"flt ({len(paths)} files)", "WFC, 2 x 2048 x 4096 float32", source, flt)
    if drz is not None:
        _report(f"drz ({len(drz_paths)} files)", "WFC, 4096 x 4096 float32 SCI + WHT, "
                "tilted field with a zero-weight border", "written with acsq_mongo.sample "
                "(full size)", drz)
    return 0


if __name__ == "__main__":
    sys.exit(main())
