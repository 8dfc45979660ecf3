"""``acsq db start|stop|status|indexes``: the local server and the store's indexes."""

from __future__ import annotations

import argparse

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.connection import connect, server_description
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.settings import Settings

HELP = "start, stop or check the local MongoDB-compatible server; create indexes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("start", "stop", "status", "indexes"),
        help="start/stop the local FerretDB server under $ACSQ_DATA/db, report what answers "
        "at ACSQ_MONGO_URI, or create the indexes (idempotent)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "start":
        print(localdb.start(settings))
        return 0
    if args.action == "stop":
        print(localdb.stop(settings))
        return 0
    if args.action == "status":
        up, message = localdb.status(settings)
        print(message)
        return 0 if up else 1
    db = connect(settings)
    names = ensure_indexes(db)
    print(f"{len(names)} indexes ensured on {server_description(db)}, database {settings.db!r}")
    return 0
