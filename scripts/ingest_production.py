#!/usr/bin/env python3
"""Production ingest of new data, for cron: ``acsq ingest --new``.

Finds the rootnames that are on disk but not in the database, or whose
files changed (their ``files_sig`` differs from the catalog's), and ingests
them (with quicklook images) on Dask; unchanged rootnames are not touched.
It logs to ``$ACSQ_DATA/logs/ingest_production_<YYYY-MM-DD-HH-MM>.log`` and
holds ``$ACSQ_DATA/ingest.lock``, so two runs never overlap.

Exit status: 0 done, or nothing to do; 1 something failed (see the log);
2 a bad setting; 3 the database is unreachable; 75 another ingest is
running (this one did nothing); 130 interrupted.

Usage (any option of ``acsq ingest`` may follow)::

    scripts/ingest_production.py [--config acsq.yaml] [--scheduler tcp://host:8786]
                                 [--workers N] [--no-quicklook] [--detect-trails] [ARCHIVE]

``--detect-trails``: then search the rootnames this run ingested for satellite trails
(``acsq detect trails last_ingest_date__gte=<the run's start>``, on the same cluster) and
propose them to the taggers (docs/guide/proposals.md); the exit status is the worse of both.

Cron, hourly::

    17 * * * * cd /srv/acsq-mongo && .venv/bin/python scripts/ingest_production.py \
        --config /srv/acsq/acsq.yaml >> /srv/acsq/logs/cron.log 2>&1
"""

import argparse
import datetime
import sys

from acsq_mongo.cli import main


def production_argv(argv: list[str]) -> list[str]:
    """The ``acsq`` command line for ``argv``: ``[--config X] ingest --new ...``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config")
    known, rest = parser.parse_known_args(argv)
    config = ["--config", known.config] if known.config else []
    return [*config, "ingest", "--new", *rest]


def detect_argv(argv: list[str], since: datetime.datetime) -> list[str]:
    """The ``acsq detect trails`` command line for the rootnames ingested since ``since``."""
    parser = argparse.ArgumentParser(add_help=False)
    for option in ("--config", "--scheduler", "--workers"):
        parser.add_argument(option)
    known, _ = parser.parse_known_args(argv)
    config = ["--config", known.config] if known.config else []
    cluster = [arg for option in ("scheduler", "workers") if getattr(known, option)
               for arg in (f"--{option}", getattr(known, option))]
    return [*config, "detect", "trails", f"last_ingest_date__gte={since:%Y-%m-%dT%H:%M:%S}",
            *cluster]


if __name__ == "__main__":  # Dask's worker processes import this file: keep the guard
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        sys.exit(0)
    args = [a for a in sys.argv[1:] if a != "--detect-trails"]
    start = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    status = main(production_argv(args))
    if "--detect-trails" in sys.argv[1:] and status in (0, 1):
        status = max(status, main(detect_argv(args, start)))
    sys.exit(status)
