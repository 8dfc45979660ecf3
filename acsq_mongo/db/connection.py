"""Connecting to the store: MongoDB, or mongomock for tests and demos.

:func:`connect` checks that the server answers, and says how to start one when
it does not. The collections are named in :mod:`acsq_mongo.db.collections` and
indexed by :mod:`acsq_mongo.db.indexes`. The same code runs on MongoDB 7 and
later, on the local SecantusDB server and (for fast unit tests) on mongomock.

This module is the one place that tells the backends apart. Where mongomock
lacks a feature that the writes use, :func:`capabilities` says so, and the code
asks for the feature, never for the backend. What mongomock cannot do at all
(geo operators) is not worked around: those paths raise there, and their tests
run on the real server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pymongo
import pymongo.errors

from acsq_mongo.db.budget import is_timeout
from acsq_mongo.errors import ConfigError, DatabaseUnavailable
from acsq_mongo.settings import redact_uri

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "Capabilities",
    "capabilities",
    "connect",
    "ping",
    "redact_uri",
    "server_description",
]

_START_HINT = "start one with `acsq db start` or set ACSQ_MONGO_URI"

# mongomock clients by URI, so that every connect() to the same mongomock://
# URI in one process sees the same in-memory data (tests, demos).
_MOCK_CLIENTS: dict[str, object] = {}


@dataclass(frozen=True)
class Capabilities:
    """What the store behind a database can do, as the writers ask for it.

    Attributes
    ----------
    bulk_write : bool
        ``bulk_write`` takes pymongo's write models (``ReplaceOne``, ``UpdateOne``,
        ``UpdateMany``); else each write is sent alone.
    raw_bson : bool
        A write takes a :class:`bson.raw_bson.RawBSONDocument` as it is (its BSON is
        sent without being encoded again); else a plain dict is sent.
    threads : bool
        One client may write from several threads at once; else every write goes
        from the caller's thread.
    """

    bulk_write: bool = True
    raw_bson: bool = True
    threads: bool = True


#: A MongoDB server (7 or later) or SecantusDB.
SERVER = Capabilities()
#: mongomock 4.3: its bulk_write predates pymongo 4.11's write models, it stores only
#: dicts, and it is not thread-safe.
MONGOMOCK = Capabilities(bulk_write=False, raw_bson=False, threads=False)


def _is_mongomock(db) -> bool:
    return type(db).__module__.startswith("mongomock")


def capabilities(db: Database) -> Capabilities:
    """Return what the store of ``db`` (or of a collection of it) can do."""
    return MONGOMOCK if _is_mongomock(db) else SERVER


def _short_reason(exc: Exception) -> str:
    """Cut pymongo's long server-selection message down to its cause."""
    text = str(exc)
    for cut in (", Timeout:", " (configured timeouts", ", Topology Description"):
        text = text.split(cut)[0]
    return text.strip() or type(exc).__name__


def connect(settings: Settings, check: bool = True) -> Database:
    """Return the acsq database named by the settings.

    Parameters
    ----------
    settings : Settings
        Uses ``mongo_uri``, ``db`` and ``server_timeout`` (seconds).
        A ``mongomock://<name>`` URI gives an in-memory mongomock database,
        for fast unit tests; connecting again to the same URI in the same
        process gives the same data.
    check : bool
        Ping the server now, so that an unreachable server is reported at
        once rather than at the first query.

    Returns
    -------
    db : pymongo.database.Database or mongomock.Database

    Raises
    ------
    DatabaseUnavailable
        If ``check`` and the server does not answer within ``server_timeout``.
    ConfigError
        If the URI is malformed.
    """
    uri = settings.mongo_uri
    if uri.startswith("mongomock://"):
        import mongomock

        if uri not in _MOCK_CLIENTS:
            _MOCK_CLIENTS[uri] = mongomock.MongoClient()
        return _MOCK_CLIENTS[uri][settings.db]
    timeout_ms = int(settings.server_timeout * 1000)
    try:
        client = pymongo.MongoClient(
            uri,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            appname="acsq-mongo",
        )
    except (pymongo.errors.ConfigurationError, pymongo.errors.InvalidURI, ValueError) as exc:
        raise ConfigError(f"bad ACSQ_MONGO_URI {redact_uri(uri)!r}: {exc}") from None
    db = client[settings.db]
    if check:
        ping(db, uri)
    return db


def ping(db: Database, uri: str | None = None) -> None:
    """Ping the server of ``db``, raising :class:`DatabaseUnavailable` if it is down.

    A read budget around the call (:mod:`acsq_mongo.db.budget`) does not apply: pymongo
    would wait for a server as long as the budget lasts, and a server that is down is
    to be told within the client's ``serverSelectionTimeoutMS`` (``server_timeout``).
    """
    try:
        with pymongo.timeout(None):
            db.client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        if is_timeout(exc):
            raise  # the caller's time budget ran out (acsq_mongo.db.budget): not a server down
        where = redact_uri(uri) if uri else "the configured server"
        raise DatabaseUnavailable(
            f"cannot reach MongoDB at {where}: {_short_reason(exc)}; {_START_HINT}"
        ) from None


def server_description(db: Database) -> str:
    """Return e.g. ``"SecantusDB 0.5.3 (MongoDB 8.2.11 wire protocol)"`` or ``"MongoDB 7.0.14"``."""
    if _is_mongomock(db):
        return "mongomock (in-memory)"
    info = db.client.admin.command("buildInfo")
    version = info.get("version", "?")
    if "secantusVersion" in info:
        return f"SecantusDB {info['secantusVersion']} (MongoDB {version} wire protocol)"
    return f"MongoDB {version}"
