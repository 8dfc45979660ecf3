"""Indexes on header keywords: ``acsq db index headers.flt.0.CCDGAIN``.

Every header of every file is in the ``rootnames`` documents, so any keyword
can be queried, but without an index a header-keyword query reads every whole
document (~50-130 kB each). There are thousands of keywords, so none is
indexed by default: add one for a keyword that is queried often (a monitoring
routine's, say), and drop it when it is no longer used. Each index costs disk
and a little ingest time.

An indexed keyword is also copied into the slim ``catalog`` (under the same
path, ``headers.flt.0.CCDGAIN``) and indexed there too. A query whose header
filters are all on indexed keywords then runs on ``catalog`` alone, like a
query of promoted fields: its count, facets and pages never read a whole
document. (Even with an index on ``rootnames``, a query there must fetch each
match's whole document; on the local SecantusDB server that is ~5 ms each.)
Ingest keeps the copies (:func:`acsq_mongo.ingest.store.catalog_entry`, with
:func:`header_indexes`); :func:`create_header_index` fills them for what is
stored already and only then indexes ``catalog``.

An index may be made while an ingest runs. A batch that run computed before
the index existed, and writes after the fill passed, lacks the copy. So each
index has a state in ``meta`` (``{_id: "header_index:<path>", state: ...}``):
``filling`` while the copies are made, then ``complete``, or ``waiting`` (with
the run's lease owner) when an ingest held the lease
(:mod:`acsq_mongo.db.lease`) during the fill. The query core uses the copies
only once the catalog's index is there and the state is ``complete``
(:func:`copied_paths`); until then a query on the keyword reads ``rootnames``,
slower but right. The run completes the copies of every index left
``waiting`` when it ends, before it gives up its lease
(:func:`complete_header_indexes`); after a crashed run, the next run does, or
``acsq db index`` on the same path.

At most :data:`MAX_HEADER_INDEXES` keywords have an index: MongoDB allows 64
indexes per collection, and every one here adds one to ``catalog`` (which has
its own ~30) and one to ``rootnames``.

The indexes made here are named ``header:<path>`` in both collections, so that
they can be listed and dropped apart from the store's own
(:mod:`acsq_mongo.db.indexes`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pymongo import UpdateOne

from acsq_mongo.db.collections import CATALOG, META, ROOTNAMES
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.db.lease import lease_holder
from acsq_mongo.errors import ConfigError

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["PREFIX", "MAX_HEADER_INDEXES", "MAX_COLLECTION_INDEXES", "index_name",
           "create_header_index", "drop_header_index", "complete_header_indexes",
           "header_indexes", "copied_paths", "header_value"]

#: The name of a header-keyword index is this plus the path.
PREFIX = "header:"
#: Most header keywords with an index (each adds one index to catalog and one to rootnames).
MAX_HEADER_INDEXES = 24
#: MongoDB's limit of indexes per collection (``_id``'s included).
MAX_COLLECTION_INDEXES = 64
# The state of a header index in meta: _id this plus the path.
_STATE = "header_index:"
# headers.<filetype>.<ext>.<KEYWORD>, as stored (the keyword escaped by db.keys).
_PATH = re.compile(r"headers\.[a-z]+\.[0-9]+\.[^.$\s][^.\s]*")


def index_name(path: str) -> str:
    """Return the index name for a header path (``header:headers.flt.0.CCDGAIN``)."""
    return PREFIX + path


def _check(path: str) -> str:
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ConfigError(
            f"{path!r} is not a header keyword path: write headers.<filetype>.<ext>.<KEYWORD>, "
            "e.g. headers.flt.0.CCDGAIN"
        )
    return path


def create_header_index(db: Database, path: str, batch: int = 1000) -> bool:
    """Index a header keyword's path in ``rootnames``, and copy and index it in ``catalog``.

    Parameters
    ----------
    db : Database
    path : str
        The stored path, ``headers.<filetype>.<ext>.<KEYWORD>``.
    batch : int
        Catalog updates per bulk write while the copies are filled.

    Returns
    -------
    created : bool
        False if both indexes were there already, with their copies complete.

    Raises
    ------
    ConfigError
        If ``path`` is not a header keyword path, or :data:`MAX_HEADER_INDEXES`
        keywords (or 64 indexes of a collection) have an index already.
    """
    name = index_name(_check(path))
    existing = db[CATALOG].index_information()
    if name in existing and _state(db, path) in (None, "complete"):
        return False
    if name not in existing:
        _check_room(db, path, existing)
    db[META].update_one({"_id": _STATE + path},
                        {"$set": {"state": "filling", "since": utcnow()}}, upsert=True)
    if name not in db[ROOTNAMES].index_information():
        db[ROOTNAMES].create_index([(path, 1)], name=name)
    # From here on, a batch computed by ingest copies the keyword. One computed before,
    # by a run that holds the lease now, may be written after the fill: wait for that run.
    holder = lease_holder(db)
    _fill(db, path, batch)
    db[CATALOG].create_index([(path, 1)], name=name)
    state = {"state": "waiting", "waiting_for": holder["owner"]} if holder else {
        "state": "complete"}
    db[META].update_one({"_id": _STATE + path}, {"$set": state})
    bump_generation(db)
    return True


def complete_header_indexes(db: Database) -> list[str]:
    """Fill the copies of every header index not yet complete again, and mark them complete.

    An ingest run calls this at its end, while it still holds the lease
    (:mod:`acsq_mongo.ingest.run_lock`): no batch of any run is in flight then.

    Returns
    -------
    paths : list of str
        The header paths completed.
    """
    done = []
    for state in db[META].find({"_id": {"$regex": "^" + _STATE}, "state": {"$ne": "complete"}}):
        path = state["_id"][len(_STATE):]
        if index_name(path) not in db[ROOTNAMES].index_information():
            continue  # being made or dropped by `acsq db index` right now
        _fill(db, path)
        db[META].update_one({"_id": state["_id"]},
                            {"$set": {"state": "complete"}, "$unset": {"waiting_for": ""}})
        done.append(path)
    if done:
        bump_generation(db)
    return done


def _state(db: Database, path: str) -> str | None:
    """The state of a header index; None for one made before states were recorded."""
    doc = db[META].find_one({"_id": _STATE + path}, {"state": 1})
    return doc.get("state") if doc else None


def _check_room(db: Database, path: str, catalog_indexes: dict) -> None:
    """Refuse a new header index past the cap, listing those that exist."""
    paths = header_indexes(db)
    full = max(len(catalog_indexes), len(db[ROOTNAMES].index_information())
               ) >= MAX_COLLECTION_INDEXES
    if len(paths) >= MAX_HEADER_INDEXES or full:
        raise ConfigError(
            f"cannot index {path}: at most {MAX_HEADER_INDEXES} header keywords may have an "
            f"index (MongoDB allows {MAX_COLLECTION_INDEXES} per collection, and the catalog "
            f"has {len(catalog_indexes)}); drop one first (acsq db index PATH --drop). "
            f"Indexed now: {', '.join(paths) or 'none'}")


def _fill(db: Database, path: str, batch: int = 1000) -> None:
    """Copy a keyword's values from ``rootnames`` into the catalog (through its index)."""
    name = index_name(path)
    updates: list[tuple[str, dict]] = []
    for doc in db[ROOTNAMES].find({path: {"$exists": True}}, {path: 1}).hint(name):
        updates.append((doc["_id"], {"$set": {path: header_value(doc, path)}}))
        if len(updates) >= batch:
            _write(db[CATALOG], updates)
            updates = []
    _write(db[CATALOG], updates)


def drop_header_index(db: Database, path: str) -> bool:
    """Drop a header keyword's indexes and its catalog copies; False if there was none."""
    name = index_name(_check(path))
    found = False
    if name in db[CATALOG].index_information():
        db[CATALOG].drop_index(name)  # first: the query core stops using the copies
        found = True
    _remove_copies(db, path)
    if name in db[ROOTNAMES].index_information():
        db[ROOTNAMES].drop_index(name)
        found = True
    db[META].delete_one({"_id": _STATE + path})
    bump_generation(db)
    return found


def _remove_copies(db: Database, path: str, batch: int = 1000) -> None:
    """Remove a keyword's catalog copies, and the ``headers`` left empty by that."""
    _, filetype, ext, _ = path.split(".", 3)
    updates: list[tuple[str, dict]] = []
    for doc in db[CATALOG].find({path: {"$exists": True}}, {"headers": 1}):
        copies = doc["headers"]
        del copies[filetype][ext][path.split(".", 3)[3]]
        copies[filetype] = {e: keys for e, keys in copies[filetype].items() if keys}
        copies = {f: exts for f, exts in copies.items() if exts}
        change = {"$set": {"headers": copies}} if copies else {"$unset": {"headers": ""}}
        updates.append((doc["_id"], change))
        if len(updates) >= batch:
            _write(db[CATALOG], updates)
            updates = []
    _write(db[CATALOG], updates)


def _write(collection, updates: list[tuple[str, dict]]) -> None:
    """Apply ``(_id, update)`` pairs in one unordered bulk write (one by one on mongomock)."""
    if not updates:
        return
    if type(collection).__module__.startswith("mongomock"):  # (no bulk_write of pymongo 4.11)
        for _id, change in updates:
            collection.update_one({"_id": _id}, change)
        return
    collection.bulk_write([UpdateOne({"_id": _id}, change) for _id, change in updates],
                          ordered=False)


def header_indexes(db: Database) -> list[str]:
    """Return the header paths that have an index made by :func:`create_header_index`.

    These are the paths ingest copies into ``catalog``.
    """
    return sorted(name[len(PREFIX):] for name in db[ROOTNAMES].index_information()
                  if name.startswith(PREFIX))


def copied_paths(db: Database) -> frozenset[str]:
    """The header paths whose catalog copies are complete and indexed (queries may use them).

    An index whose state is not ``complete`` is left out (one made before states
    were recorded has none, and counts as complete).
    """
    indexed = {name[len(PREFIX):] for name in db[CATALOG].index_information()
               if name.startswith(PREFIX)}
    if not indexed:
        return frozenset()
    pending = {doc["_id"][len(_STATE):] for doc in db[META].find(
        {"_id": {"$in": [_STATE + path for path in indexed]}, "state": {"$ne": "complete"}},
        {"_id": 1})}
    return frozenset(indexed - pending)


def header_value(document, path: str, default=None):
    """The value at a dotted header path of a document; ``default`` if absent."""
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value
