"""``acsq detect trails [FIELD__OP=VALUE ...]`` and ``acsq detect rules``: proposed anomalies.

``trails`` searches the flc (else flt) files of the rootnames the filters select for
satellite trails with ``acstools.findsat_mrt``, on Dask, and proposes ``satellite_trail``
for each file with one (:mod:`acsq_mongo.tags.trail_job`); a rerun searches only what
is not searched yet. ``rules`` applies the rules on the image statistics
(:mod:`acsq_mongo.tags.stats_rules`). Taggers confirm or reject the proposals.
"""

from __future__ import annotations

import argparse
import sys

from acsq_mongo.cli.ingest_command import add_cluster_arguments, cluster_overrides
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run_log import start_run_log
from acsq_mongo.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("trails", "rules"),
                        help="trails: search for satellite trails; rules: saturation and "
                        "high background from the image statistics")
    parser.add_argument("filters", nargs="*", metavar="FIELD__OP=VALUE",
                        help="trails: only the rootnames of this query (as for acsq query)")
    parser.add_argument("--force", action="store_true",
                        help="trails: search again files searched with this version of the tool")
    add_cluster_arguments(parser)


def settings_overrides(args: argparse.Namespace) -> dict:
    return cluster_overrides(args)


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = connect(settings)
    if args.what == "rules":
        from acsq_mongo.tags.stats_rules import propose_from_stats

        made = propose_from_stats(db, settings)
        print(", ".join(f"{rule}: {n} proposed" for rule, n in made.items()))
        return 0
    from acsq_mongo.query.spec import QueryError
    from acsq_mongo.tags.trail_job import run_trails

    params = []
    for text in args.filters:
        name, sep, value = text.partition("=")
        if not sep:
            raise QueryError(f"a filter is FIELD__OP=VALUE, got {text[:60]!r}")
        params.append((name, value))
    log_path = start_run_log("detect", settings)
    result = run_trails(db, settings, params, force=args.force)
    for line in result.failures[:20]:
        print(f"failed: {line}", file=sys.stderr)
    print(f"{result.rootnames} rootnames searched for trails, {len(result.failures)} failed "
          f"({result.where}); log: {log_path}")
    return 1 if result.failures else 0
