"""Making and dropping an index on a header keyword: ``acsq db index headers.flt.0.CCDGAIN``.

An indexed keyword is indexed in ``rootnames`` and copied into the slim ``catalog``
(under the same path) and indexed there too, so that a query whose header filters
are all on indexed keywords runs on ``catalog`` alone (why, and what the names are:
:mod:`acsq_mongo.db.header_indexes`). Both change the data: they write the copies in
bulk and start a new data generation, so this is the ingest stage's, the writers'.

An index may be made while an ingest runs: its state in ``meta`` keeps the
queries on ``rootnames`` until the copies are known complete, and the run
completes them at its end (:func:`complete_header_indexes`; why:
:mod:`acsq_mongo.db.header_indexes`). At most
:data:`~acsq_mongo.db.header_indexes.MAX_HEADER_INDEXES` keywords have one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acsq_mongo.db.collections import CATALOG, META, ROOTNAMES
from acsq_mongo.db.connection import capabilities
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.db.header_indexes import (
    MAX_COLLECTION_INDEXES,
    MAX_HEADER_INDEXES,
    STATE_PREFIX,
    check_path,
    header_indexes,
    header_value,
    index_name,
    index_state,
)
from acsq_mongo.db.lease import lease_holder
from acsq_mongo.errors import ConfigError
from acsq_mongo.ingest.store_batch import apply_writes

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["create_header_index", "drop_header_index", "complete_header_indexes"]


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
        If ``path`` is not a header keyword path, or
        :data:`~acsq_mongo.db.header_indexes.MAX_HEADER_INDEXES` keywords (or 64
        indexes of a collection) have an index already.
    """
    name = index_name(check_path(path))
    existing = db[CATALOG].index_information()
    if name in existing and index_state(db, path) in (None, "complete"):
        return False
    if name not in existing:
        _check_room(db, path, existing)
    db[META].update_one({"_id": STATE_PREFIX + path},
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
    db[META].update_one({"_id": STATE_PREFIX + path}, {"$set": state})
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
    pending = db[META].find({"_id": {"$regex": "^" + STATE_PREFIX},
                             "state": {"$ne": "complete"}})
    for state in pending:
        path = state["_id"][len(STATE_PREFIX):]
        if index_name(path) not in db[ROOTNAMES].index_information():
            continue  # being made or dropped by `acsq db index` right now
        _fill(db, path)
        db[META].update_one({"_id": state["_id"]},
                            {"$set": {"state": "complete"}, "$unset": {"waiting_for": ""}})
        done.append(path)
    if done:
        bump_generation(db)
    return done


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
    can = capabilities(db)
    updates: list[tuple[str, str, dict]] = []
    for doc in db[ROOTNAMES].find({path: {"$exists": True}}, {path: 1}).hint(name):
        updates.append(("set", doc["_id"], {path: header_value(doc, path)}))
        if len(updates) >= batch:
            apply_writes(db[CATALOG], updates, can, ordered=False)
            updates = []
    apply_writes(db[CATALOG], updates, can, ordered=False)


def drop_header_index(db: Database, path: str) -> bool:
    """Drop a header keyword's indexes and its catalog copies; False if there was none."""
    name = index_name(check_path(path))
    found = False
    if name in db[CATALOG].index_information():
        db[CATALOG].drop_index(name)  # first: the query core stops using the copies
        found = True
    _remove_copies(db, path)
    if name in db[ROOTNAMES].index_information():
        db[ROOTNAMES].drop_index(name)
        found = True
    db[META].delete_one({"_id": STATE_PREFIX + path})
    bump_generation(db)
    return found


def _remove_copies(db: Database, path: str, batch: int = 1000) -> None:
    """Remove a keyword's catalog copies, and the ``headers`` left empty by that."""
    can = capabilities(db)
    _, filetype, ext, _ = path.split(".", 3)
    updates: list[tuple[str, str, dict]] = []
    for doc in db[CATALOG].find({path: {"$exists": True}}, {"headers": 1}):
        copies = doc["headers"]
        del copies[filetype][ext][path.split(".", 3)[3]]
        copies[filetype] = {e: keys for e, keys in copies[filetype].items() if keys}
        copies = {f: exts for f, exts in copies.items() if exts}
        change = {"$set": {"headers": copies}} if copies else {"$unset": {"headers": ""}}
        updates.append(("update", doc["_id"], change))
        if len(updates) >= batch:
            apply_writes(db[CATALOG], updates, can, ordered=False)
            updates = []
    apply_writes(db[CATALOG], updates, can, ordered=False)
