"""``acsq quicklook [--rootnames ...] [--force]``: quicklook JPEGs for catalog rootnames."""

from __future__ import annotations

import argparse
import sys

from acsq_mongo.db.connection import connect
from acsq_mongo.images.stretch import STRETCHES
from acsq_mongo.ingest.quicklook_batch import run_quicklooks
from acsq_mongo.ingest.run_lock import ingest_lock
from acsq_mongo.ingest.run_log import start_run_log
from acsq_mongo.settings import Settings

#: Failures printed on the terminal; the run log has them all.
_SHOWN_FAILURES = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rootnames", nargs="+", metavar="ROOTNAME",
        help="only these rootnames (spaces or commas); default: every rootname in the catalog "
        "with an image file (raw, flt, flc, crj, crc, drz, drc)",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="make the images again even if they are newer than their FITS files",
    )
    parser.add_argument(
        "--stretch", choices=STRETCHES,
        help="display stretch (setting quicklook_stretch; default: percentile, 1-99 %%)",
    )


def settings_overrides(args: argparse.Namespace) -> dict:
    return {"quicklook_stretch": args.stretch}


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = connect(settings)
    # Quicklooks write the image paths and errors of rootnames an ingest writes too, and
    # refresh the summaries: one writer at a time (acsq_mongo.ingest.run_lock).
    with ingest_lock(settings):
        log_path = start_run_log("quicklook", settings)
        result = run_quicklooks(db, settings, rootnames=args.rootnames, force=args.force)
    for line in result.failures[:_SHOWN_FAILURES]:
        print(f"failed: {line}", file=sys.stderr)
    if len(result.failures) > _SHOWN_FAILURES:
        print(f"... and {len(result.failures) - _SHOWN_FAILURES} more failures",
              file=sys.stderr)
    plural = "" if result.rootnames == 1 else "s"
    print(
        f"{result.rootnames} rootname{plural}: {result.made} quicklooks made, {result.skipped} "
        f"fresh (skipped), {len(result.failures)} failed; log: {log_path}"
    )
    return 1 if result.failures else 0
