"""``acsq sample OUT [--rootnames N] [--seed S] [--full-size] [--structures]``: a sample archive."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from acsq_mongo.sample import MANIFEST_NAME, PROPOSAL_TYPES_NAME, make_sample_archive
from acsq_mongo.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", help="new (or empty) folder for the archive")
    parser.add_argument(
        "--rootnames", type=int, default=50, metavar="N",
        help="number of rootnames, association products included (default: 50)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S",
        help="random seed; the same seed writes the same bytes (default: 0)",
    )
    parser.add_argument(
        "--full-size", action="store_true",
        help="real image dimensions (WFC: two 4096x2048 chips, ~170 MB per flt) instead of "
        "small ones",
    )
    parser.add_argument(
        "--structures", action="store_true",
        help="also write one rootname of each structure of the real archive: association "
        "sub-products in folders of their own, a retransmission, .fits.gz, tile compression, "
        "modern extensions, HRC, SBC, a subarray, internal frames, WFC before and after SM4 "
        "(sample_structures.json)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    started = time.monotonic()
    step = max(1, args.rootnames // 10)

    def progress(done, total, r):
        if done % step == 0 or done == total:
            print(f"sample: {done}/{total} rootnames", file=sys.stderr, flush=True)

    archive = make_sample_archive(args.out, args.rootnames, seed=args.seed,
                                  full_size=args.full_size, progress=progress)
    if args.structures:
        from acsq_mongo.sample.structures import STRUCTURES_NAME, write_structures

        structures = write_structures(args.out, seed=args.seed)
        print(f"sample: {len(structures)} structures of the real archive; {STRUCTURES_NAME} "
              "lists them", file=sys.stderr)
    size = sum(p.stat().st_size for p in Path(args.out).rglob("*.fits*"))
    print(
        f"wrote {len(archive.rootnames)} rootnames ({archive.n_files} files, "
        f"{size / 1e6:.1f} MB) to {args.out} in {time.monotonic() - started:.1f} s; "
        f"{MANIFEST_NAME} lists them; {PROPOSAL_TYPES_NAME} is their proposal types, "
        "for ACSQ_PROPOSAL_TYPES"
    )
    return 0
