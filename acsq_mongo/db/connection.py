"""The store: connecting to MongoDB (or mongomock), collections and indexes.

Every rootname is stored in two shapes, both keyed by ``_id`` = the first 8
characters of the rootname and both written by an upsert on ``_id``:

``rootnames``
    The whole document: promoted fields, files, every header of every
    filetype and extension, errors, quicklook paths. About 100 kB for a WFC
    rootname with every filetype. Header-keyword queries and the header view
    read it.
``catalog``
    A slim copy of the promoted fields plus bookkeeping (filetypes present,
    quicklook paths, ingest dates). The browse and query views read only
    this, so that a scan stays cheap even on servers that decode whole
    documents for every query (FerretDB v1 does, at ~3 us per field).

Beside them: ``ingest_errors`` (one document per failed file or image),
``proposals`` and ``galleries`` (per-proposal summaries and date-ordered
rows, rebuilt after each ingest run by :mod:`acsq_mongo.ingest.summaries`) and
``meta`` (bookkeeping such as the data generation, and the archive summary).

Everything here keeps to a subset of MongoDB that behaves the same on
MongoDB 7, FerretDB v1 and mongomock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pymongo
import pymongo.errors
from pymongo import ASCENDING, DESCENDING, IndexModel

from acsq_mongo.errors import ConfigError, DatabaseUnavailable
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.settings import redact_uri

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "ROOTNAMES",
    "CATALOG",
    "INGEST_ERRORS",
    "PROPOSALS",
    "GALLERIES",
    "META",
    "connect",
    "ensure_indexes",
    "ping",
    "redact_uri",
    "server_description",
]

ROOTNAMES = "rootnames"
CATALOG = "catalog"
INGEST_ERRORS = "ingest_errors"
PROPOSALS = "proposals"
GALLERIES = "galleries"
META = "meta"

_START_HINT = "start one with `acsq db start` or set ACSQ_MONGO_URI"

# mongomock clients by URI, so that every connect() to the same mongomock://
# URI in one process sees the same in-memory data (tests, demos).
_MOCK_CLIENTS: dict[str, object] = {}


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
    """Ping the server of ``db``, raising :class:`DatabaseUnavailable` if it is down."""
    try:
        db.client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        where = redact_uri(uri) if uri else "the configured server"
        raise DatabaseUnavailable(
            f"cannot reach MongoDB at {where}: {_short_reason(exc)}; {_START_HINT}"
        ) from None


def server_description(db: Database) -> str:
    """Return e.g. ``"FerretDB (MongoDB 7.0.42 wire protocol)"`` or ``"MongoDB 7.0.14"``."""
    if type(db).__module__.startswith("mongomock"):
        return "mongomock (in-memory)"
    info = db.client.admin.command("buildInfo")
    version = info.get("version", "?")
    if "ferretdb" in info or "ferretdbVersion" in info or "ferretdbFeatures" in info:
        return f"FerretDB (MongoDB {version} wire protocol)"
    return f"MongoDB {version}"


def _index(*keys: tuple[str, int], name: str | None = None) -> IndexModel:
    name = name or "_".join(f"{k}_{d}" for k, d in keys)
    return IndexModel(list(keys), name=name)


def _catalog_indexes() -> list[IndexModel]:
    models = [_index((f.name, ASCENDING)) for f in PROMOTED_FIELDS]
    models += [
        _index(("filetypes", ASCENDING)),
        _index(("year", ASCENDING)),
        # Gallery: a proposal's rootnames by date or exposure time.
        _index(("proposid", ASCENDING), ("date_obs", ASCENDING)),
        _index(("proposid", ASCENDING), ("exptime", DESCENDING)),
        # Browsing a detector over time, and the per-year plot.
        _index(("detector", ASCENDING), ("date_obs", ASCENDING)),
        _index(("detector", ASCENDING), ("year", ASCENDING)),
        # Cone search: a Dec band first, then the RA range.
        _index(("dec_targ", ASCENDING), ("ra_targ", ASCENDING)),
        # The stable default order of query results.
        _index(("date_obs", ASCENDING), ("_id", ASCENDING)),
        _index(("last_ingest_date", DESCENDING)),
    ]
    return models


def _rootnames_indexes() -> list[IndexModel]:
    # Header-keyword queries run here; let MongoDB narrow them by the usual keys.
    return [
        _index((name, ASCENDING))
        for name in ("rootname", "detector", "proposid", "date_obs", "filter1", "filter2")
    ]


def ensure_indexes(db: Database) -> list[str]:
    """Create the indexes of every collection. Idempotent.

    Returns
    -------
    names : list of str
        ``"<collection>.<index>"`` for every index ensured.
    """
    wanted = {
        CATALOG: _catalog_indexes(),
        ROOTNAMES: _rootnames_indexes(),
        INGEST_ERRORS: [_index(("rootname", ASCENDING)), _index(("time", DESCENDING))],
        PROPOSALS: [_index(("n_rootnames", DESCENDING))],
    }
    ensured = []
    for collection, models in wanted.items():
        # Create only the missing ones: FerretDB v1.24 panics when one
        # createIndexes call repeats two or more existing indexes (it deletes
        # from a shrinking slice by the original position).
        existing = set(db[collection].index_information())
        missing = [m for m in models if m.document["name"] not in existing]
        if missing:
            db[collection].create_indexes(missing)
        ensured += [f"{collection}.{m.document['name']}" for m in models]
    # Make sure the small collections exist, so that the local server's index
    # doctor can index their _id straight away.
    db[META].update_one({"_id": "schema"}, {"$set": {"version": 1}}, upsert=True)
    return ensured
