"""``acsq db start|stop|status|indexes|index``: the local server and the store's indexes."""

from __future__ import annotations

import argparse
import sys
import time

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import connect, server_description
from acsq_mongo.db.header_indexes import header_indexes
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.db.statistic_indexes import (
    create_statistic_index,
    drop_statistic_index,
    statistic_indexes,
)
from acsq_mongo.errors import ConfigError
from acsq_mongo.fields import stats_field
from acsq_mongo.ingest.keyword_indexes import create_header_index, drop_header_index
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.keyword_check import path_warning
from acsq_mongo.query.names import resolve
from acsq_mongo.settings import Settings

EPILOG = """\
header-keyword and image-statistic indexes:
  acsq db index headers.flt.0.CCDGAIN          index a keyword that is queried often
  acsq db index headers.flt.0.CCDGAIN --drop   drop it
  acsq db index stats.raw.ampC.bias_level      index an image statistic
  acsq db index --list                         the keywords and statistics that have one
A header-keyword query reads every whole document unless its keyword has an index;
an indexed keyword is also copied into the catalog, where its queries run. A statistic
is in the catalog already: its index is the catalog's alone.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "action",
        choices=("start", "stop", "status", "indexes", "index"),
        help="start/stop the local SecantusDB server under $ACSQ_DATA/db, report what answers "
        "at ACSQ_MONGO_URI, create the store's indexes (idempotent), or create/drop/list an "
        "index on a header keyword or an image statistic",
    )
    parser.add_argument("path", nargs="?", metavar="HEADER_PATH",
                        help="with index: headers.<filetype>.<ext>.<KEYWORD>, or "
                        "stats.<filetype>.<region>.<statistic>")
    parser.add_argument("--drop", action="store_true", help="with index: drop it")
    parser.add_argument("--list", action="store_true",
                        help="with index: list the header keywords and statistics that have "
                        "an index")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "index" and (args.path or args.drop or args.list):
        raise ConfigError(f"HEADER_PATH, --drop and --list go with `acsq db index`, "
                          f"not `acsq db {args.action}`")
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
    if args.action == "index":
        return _index(args, settings)
    db = connect(settings)
    names = ensure_indexes(db)
    print(f"{len(names)} indexes ensured on {server_description(db)}, database {settings.db!r}")
    return 0


def _index(args: argparse.Namespace, settings: Settings) -> int:
    if args.list:
        if args.path or args.drop:
            raise ConfigError("`acsq db index --list` takes no HEADER_PATH or --drop")
        db = connect(settings)
        for path in header_indexes(db) + statistic_indexes(db):
            print(path)
        return 0
    if not args.path:
        raise ConfigError("`acsq db index` needs a header path, e.g. headers.flt.0.CCDGAIN, "
                          "or --list")
    try:
        ref = resolve(args.path)
    except QueryError as exc:
        raise ConfigError(str(exc)) from None
    if stats_field(ref.path) is not None:
        return _statistic_index(args, settings, ref.path)
    if not ref.is_header:
        raise ConfigError(f"{ref.name} is a promoted field, indexed already; "
                          "`acsq db index` is for header keywords (headers.flt.0.CCDGAIN) "
                          "and image statistics (stats.raw.ampC.bias_level)")
    db = connect(settings)
    if args.drop:
        done = drop_header_index(db, ref.path)
        print(f"dropped the index on {ref.name}" if done else f"{ref.name} has no index")
        return 0
    warning = path_warning(db, ref)
    if warning:   # a typo, or the wrong extension: say so, and index it anyway (it may come)
        print(f"acsq db index: warning: {warning}", file=sys.stderr)
    start = time.perf_counter()
    if create_header_index(db, ref.path):
        n = db[ROOTNAMES].estimated_document_count()
        have = 0 if warning else db[ROOTNAMES].count_documents({ref.path: {"$exists": True}})
        print(f"indexed {ref.name} over {n} rootnames in {time.perf_counter() - start:.1f} s; "
              f"{have} of them have it")
    else:
        print(f"{ref.name} has an index already")
    return 0


def _statistic_index(args: argparse.Namespace, settings: Settings, path: str) -> int:
    db = connect(settings)
    if args.drop:
        done = drop_statistic_index(db, path)
        print(f"dropped the index on {path}" if done else f"{path} has no index")
        return 0
    start = time.perf_counter()
    if create_statistic_index(db, path):
        have = db[CATALOG].count_documents({path: {"$exists": True}})
        print(f"indexed {path} over {db[CATALOG].estimated_document_count()} rootnames in "
              f"{time.perf_counter() - start:.1f} s; {have} of them have it")
    else:
        print(f"{path} has an index already")
    return 0
