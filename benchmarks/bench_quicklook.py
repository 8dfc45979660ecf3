"""Quicklook speed on full-size WFC flt files: seconds per file, and the limit, on one core.

For each file it times, on one core, with the file in the page cache:

``quicklook``
    :func:`acsq_mongo.images.quicklook.make_quicklooks` with ``force=True``: read
    and stitch both SCI chips, stretch, and write the full JPEG, the preview
    and the thumbnail (everything ingest pays per flt).
``limit``
    The least any quicklook can cost: reading the two SCI arrays with astropy
    into native ``float32`` arrays, plus encoding the final 8-bit image as a
    JPEG (same size, content and quality) into memory. Nothing else.

It prints seconds per file for both (median of ``--repeat`` runs per file,
averaged over the files) and their ratio. Targets: quicklook <= 0.25 s per
file, and <= 2.5 x the limit.

The files are full-size WFC flt files as ``acsq sample --full-size`` writes
them: pass ``--archive`` to use the full-frame WFC flt files of an existing
sample archive, or let the benchmark write ``--files`` of them with the same
generator (:mod:`acsq_mongo.sample`) into a temporary folder.

Usage::

    python benchmarks/bench_quicklook.py [--files 5] [--repeat 3] [--archive DIR]
"""

from __future__ import annotations

import argparse
import io
import os
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


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def write_sample_flts(folder: Path, n_files: int) -> list[Path]:
    """Write full-size WFC flt files with the ``acsq sample`` generator."""
    from acsq_mongo.sample import plan_rootname, write_rootname

    paths = []
    for k in range(n_files):
        rootname = f"jbench{k:02d}q"
        planned = plan_rootname(rootname, detector="WFC", filetypes=["flt"], full_size=True,
                                seed=k)
        write_rootname(folder, planned, seed=k)
        paths.append(folder / planned.path / f"{rootname}_flt.fits")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5, help="how many flt files (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file (default 3)")
    parser.add_argument("--archive", type=Path,
                        help="an archive made by `acsq sample --full-size` to take files from")
    args = parser.parse_args(argv)

    pinning = _pin_to_one_core()
    with tempfile.TemporaryDirectory(prefix="bench_quicklook_") as tmp:
        tmp = Path(tmp)
        if args.archive:
            paths = find_sample_flts(args.archive, args.files)
            source = f"{args.archive} (acsq sample --full-size)"
        else:
            start = time.perf_counter()
            paths = write_sample_flts(tmp / "archive", args.files)
            source = (f"written with acsq_mongo.sample (full size) in "
                      f"{time.perf_counter() - start:.0f} s")
        if not paths:
            print("no full-frame WFC flt files found", file=sys.stderr)
            return 1
        settings = load_settings(environ={}, data=tmp / "var", archive=tmp / "archive",
                                 mongo_uri="mongomock://bench")

        quicklook_times, limit_times, sizes = [], [], []
        for k, path in enumerate(paths):
            rootname = path.name[:9]
            image = render(path, settings.quicklook_stretch)  # warm up: page cache, imports
            make_quicklooks(rootname, 10000 + k, {"flt": path}, settings, force=True)
            per_file_q, per_file_l = [], []
            for _ in range(args.repeat):
                # Alternate the two so that machine noise hits both alike.
                start = time.perf_counter()
                result = make_quicklooks(rootname, 10000 + k, {"flt": path}, settings,
                                         force=True)
                per_file_q.append(time.perf_counter() - start)
                assert result.made == 1 and not result.errors, result.errors
                per_file_l.append(_timed(read_sci_arrays, path) + _timed(encode_jpeg, image))
            quicklook_times.append(statistics.median(per_file_q))
            limit_times.append(statistics.median(per_file_l))
            sizes.append((settings.data / result.paths["flt"]).stat().st_size)

    quicklook = statistics.fmean(quicklook_times)
    limit = statistics.fmean(limit_times)
    ratio = quicklook / limit
    print(f"files: {len(paths)} full-size WFC flt (2 x 2048 x 4096 float32), {source}")
    print(f"cpu: {pinning}; repeat {args.repeat} per file, median per file, mean over files")
    print(f"image: {image.size[0]} x {image.size[1]} JPEG, quality {JPEG_QUALITY}, "
          f"{statistics.fmean(sizes) / 1e6:.1f} MB on average")
    print(f"quicklook (JPEG + preview + thumbnail): {quicklook:.3f} s/file "
          f"(target <= {TARGET_SECONDS} s): {'OK' if quicklook <= TARGET_SECONDS else 'MISSED'}")
    print(f"limit (read SCI + encode JPEG):         {limit:.3f} s/file")
    print(f"ratio quicklook / limit:                {ratio:.2f} "
          f"(target <= {TARGET_RATIO}): {'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
