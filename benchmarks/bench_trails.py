"""Satellite-trail detection: precision and recall on drawn trails, and seconds per image.

Writes a sample archive (``acsq sample``'s generator draws a trail with known endpoints
into a third of the science flt and flc files, :mod:`acsq_mongo.sample.injections`), runs
:func:`acsq_mongo.images.trails.detect_trails` on the flc (else flt) of every full-frame
WFC and HRC science rootname, and counts:

- a drawn trail is *found* when a detected trail on its chip has both ends within
  ``--near`` pixels (default 4) of the drawn line;
- recall = drawn trails found / drawn trails; precision = detections that match a drawn
  trail / detections.

It also times full-size WFC files (two 2048 x 4096 chips, binned by 4 as the tool's WFC
wrapper is used for full frames) with ``--full N``, and prints seconds per image for both,
on one core, with the date and the load average.

Usage::

    python benchmarks/bench_trails.py [--rootnames 40] [--seed 7] [--full 1] [--near 4]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from acsq_mongo.images.trails import detect_trails, detector_version
from acsq_mongo.sample import make_sample_archive, plan_rootname, write_rootname
from acsq_mongo.sample.injections import has_trail


def _distance(point, line) -> float:
    (x, y), (x0, y0, x1, y1) = point, line
    return abs((y1 - y0) * x - (x1 - x0) * y + x1 * y0 - y1 * x0) / np.hypot(x1 - x0, y1 - y0)


def matches(detected, drawn, near: float) -> bool:
    """Both ends of a detected trail within ``near`` pixels of the drawn line."""
    x0, y0, x1, y1 = detected
    return max(_distance((x0, y0), drawn), _distance((x1, y1), drawn)) <= near


def _searchable(archive):
    return [r for r in archive.rootnames
            if r.promoted["detector"] in ("WFC", "HRC") and not r.promoted["subarray"]
            and r.promoted["obstype"] != "INTERNAL" and ({"flc", "flt"} & set(r.filetypes))]


def measure_quality(archive, near: float) -> dict:
    drawn = found = detections = true_detections = 0
    seconds = []
    for r in _searchable(archive):
        filetype = "flc" if "flc" in r.filetypes else "flt"
        start = time.perf_counter()
        search = detect_trails(archive.root / r.path / f"{r.rootname}_{filetype}.fits")
        seconds.append(time.perf_counter() - start)
        injected = r.injected.get("trail")
        detections += len(search.trails)
        if injected:
            drawn += 1
            hits = [t for t in search.trails if t.chip == injected["chip"]
                    and matches(t.endpoints, injected["endpoints"], near)]
            found += bool(hits)
            true_detections += len(hits)
        print(f"  {r.rootname} {filetype}: drawn {injected['endpoints'] if injected else '-'}; "
              f"found {[list(t.endpoints) for t in search.trails]} ({seconds[-1]:.1f} s)",
              flush=True)
    return {"images": len(seconds), "drawn": drawn, "found": found, "detections": detections,
            "true": true_detections, "seconds": float(np.mean(seconds)) if seconds else 0.0}


def time_full_size(folder: Path, n: int) -> tuple[float, list]:
    seconds, results = [], []
    names = (f"jbtrl{k:02d}q" for k in range(100))
    for k in range(n):
        # A rootname the generator draws a trail into.
        planned = next(p for p in (plan_rootname(name, detector="WFC", filetypes=["flc"],
                                                 full_size=True, seed=k) for name in names)
                       if has_trail(p))
        rootname = planned.rootname
        write_rootname(folder, planned, seed=k)
        path = folder / planned.path / f"{rootname}_flc.fits"
        start = time.perf_counter()
        search = detect_trails(path)
        seconds.append(time.perf_counter() - start)
        results.append((planned.injected.get("trail"), [t.endpoints for t in search.trails],
                        search.binsize))
    return (float(np.mean(seconds)) if seconds else 0.0), results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rootnames", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--full", type=int, default=1, help="full-size WFC files to time")
    parser.add_argument("--near", type=float, default=4.0)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_trails_") as tmp:
        archive = make_sample_archive(Path(tmp) / "archive", args.rootnames, seed=args.seed)
        quality = measure_quality(archive, args.near)
        full_seconds, full = time_full_size(Path(tmp) / "full", args.full)
    load_after = os.getloadavg()
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}; {platform.node()}, {os.cpu_count()} "
          f"cores, one used; acstools {detector_version()}; load average before "
          f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{', '.join(f'{x:.2f}' for x in load_after)}")
    q = quality
    recall = q["found"] / q["drawn"] if q["drawn"] else float("nan")
    precision = q["true"] / q["detections"] if q["detections"] else float("nan")
    print(f"sample archive (seed {args.seed}, small images: WFC chips 128 x 256, HRC 128 x 128, "
          f"not binned): {q['images']} images searched, {q['drawn']} with a drawn trail")
    print(f"  recall {recall:.2f} ({q['found']} of {q['drawn']} drawn trails found within "
          f"{args.near:g} px); precision {precision:.2f} ({q['true']} of {q['detections']} "
          f"detections on a drawn trail)")
    print(f"  {q['seconds']:.1f} s per image (two chips for WFC)")
    if full:
        print(f"full-size WFC flc (2 x 2048 x 4096, binned by {full[0][2]}): "
              f"{full_seconds:.1f} s per image")
        for drawn, detected, _ in full:
            print(f"  drawn {drawn['endpoints'] if drawn else '-'} "
                  f"({drawn['chip'] if drawn else ''}); detected {detected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
