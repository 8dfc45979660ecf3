"""``acsq stats [--rootnames ...] [--force] [--workers N]``: image statistics of catalog rootnames.

Measures the image files of the rootnames that have no statistics yet (an
archive ingested before they existed, or with ``--no-quicklook``), on Dask;
a rerun finishes an interrupted run (:mod:`acsq_mongo.ingest.stats_run`).
"""

from __future__ import annotations

import argparse
import sys

from acsq_mongo.cli.ingest_command import add_cluster_arguments, cluster_overrides
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run_log import start_run_log
from acsq_mongo.ingest.stats_run import run_stats
from acsq_mongo.settings import Settings

_SHOWN_FAILURES = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rootnames", nargs="+", metavar="ROOTNAME",
        help="only these rootnames (spaces or commas); default: every rootname in the catalog "
        "with an image file whose statistics are missing",
    )
    parser.add_argument("--force", action="store_true",
                        help="measure again the files that have statistics")
    add_cluster_arguments(parser)


def settings_overrides(args: argparse.Namespace) -> dict:
    return cluster_overrides(args)


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = connect(settings)
    log_path = start_run_log("stats", settings)
    result = run_stats(db, settings, rootnames=args.rootnames, force=args.force)
    for line in result.failures[:_SHOWN_FAILURES]:
        print(f"failed: {line}", file=sys.stderr)
    if len(result.failures) > _SHOWN_FAILURES:
        print(f"... and {len(result.failures) - _SHOWN_FAILURES} more failures",
              file=sys.stderr)
    print(f"{result.rootnames} rootnames measured, {len(result.failures)} failed "
          f"({result.where}); log: {log_path}")
    return 1 if result.failures else 0
