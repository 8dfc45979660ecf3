"""``acsq reingest --where '<JSON filter>' [--dry-run] [--no-quicklook]``: bulk re-ingest.

Exit status: 0 done (or nothing matched), 1 something failed, 2 a bad
filter, 75 another ingest holds the lock, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from acsq_mongo.cli.ingest_command import (
    Progress,
    add_cluster_arguments,
    cluster_overrides,
    interrupted,
    report,
)
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.dask_runner import make_runner
from acsq_mongo.ingest.reingest import (
    Selection,
    describe_filter,
    parse_filter,
    run_reingest,
    select_rootnames,
)
from acsq_mongo.ingest.run_lock import ingest_lock
from acsq_mongo.settings import Settings

_EXAMPLE = '{"detector": "HRC", "date_obs": {"$lt": {"$date": "2007-01-01T00:00:00Z"}}}'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--where", required=True, metavar="JSON",
        help=f"MongoDB filter in Extended JSON, e.g. '{_EXAMPLE}'; catalog fields or any "
        "header keyword (headers.flt.0.CCDGAIN); $where, $function and $accumulator are "
        "refused",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="print how many rootnames match and which, and change nothing",
    )
    parser.add_argument(
        "--no-quicklook", action="store_true",
        help="do not remake the quicklook JPEGs (the headers are still read again)",
    )
    parser.add_argument(
        "--archive", metavar="ARCHIVE", help="archive root (default: ACSQ_ARCHIVE)",
    )
    add_cluster_arguments(parser)


def settings_overrides(args: argparse.Namespace) -> dict:
    return {"archive": args.archive, **cluster_overrides(args)}


def _announce(selection: Selection) -> None:
    print(f"{len(selection.rows)} rootnames match (on {selection.collection})",
          file=sys.stderr, flush=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    query = parse_filter(args.where)
    if args.dry_run:
        selection = select_rootnames(connect(settings), query)
        print(f"{len(selection.rows)} rootnames match {describe_filter(query)} "
              f"(on {selection.collection}); dry run, nothing changed", file=sys.stderr)
        for rootname in selection.rootnames:
            print(rootname)
        return 0
    progress = Progress()
    with ingest_lock(settings):
        try:
            with make_runner(settings, notify=lambda line: print(line, file=sys.stderr)) as runner:
                summary = run_reingest(settings, query, quicklook=not args.no_quicklook,
                                       runner=runner, progress=progress, announce=_announce)
        except KeyboardInterrupt:
            return interrupted("reingest", progress)
    return report(summary)
