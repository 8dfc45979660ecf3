"""Making and dropping an index on a header keyword: ``acsq db index headers.flt.0.CCDGAIN``.

An indexed keyword is indexed in ``rootnames`` and copied into the slim ``catalog``
(under the same path) and indexed there too, so that a query whose header filters
are all on indexed keywords runs on ``catalog`` alone (why, and what the names are:
:mod:`acsq_mongo.db.header_indexes`). Both change the data: they write the copies in
bulk and start a new data generation, so this is the ingest stage's, the writers'.

Create an index while no ingest runs: a batch an ingest was writing at that moment
may lack the copy (:func:`acsq_mongo.ingest.consistency.check_consistency` reports
such an entry; dropping and creating the index again mends it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import capabilities
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.db.header_indexes import check_path, header_value, index_name
from acsq_mongo.ingest.store_batch import apply_writes

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["create_header_index", "drop_header_index"]


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
        False if both indexes were there already.

    Raises
    ------
    ConfigError
        If ``path`` is not a header keyword path.
    """
    name = index_name(check_path(path))
    can = capabilities(db)
    if name in db[CATALOG].index_information():
        return False
    if name not in db[ROOTNAMES].index_information():
        db[ROOTNAMES].create_index([(path, 1)], name=name)
    # Fill the catalog's copies from the index just made, then index them: the query
    # core trusts the copies once the catalog's index is there.
    updates: list[tuple[str, str, dict]] = []
    for doc in db[ROOTNAMES].find({path: {"$exists": True}}, {path: 1}).hint(name):
        updates.append(("set", doc["_id"], {path: header_value(doc, path)}))
        if len(updates) >= batch:
            apply_writes(db[CATALOG], updates, can, ordered=False)
            updates = []
    apply_writes(db[CATALOG], updates, can, ordered=False)
    db[CATALOG].create_index([(path, 1)], name=name)
    bump_generation(db)
    return True


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
