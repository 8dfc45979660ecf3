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
stored already and only then indexes ``catalog``, and the query core uses the
copies only once that index is there (:func:`copied_paths`). Create an index
while no ingest runs: a batch an ingest was writing at that moment may lack the
copy (:func:`acsq_mongo.ingest.consistency.check_consistency` reports such an
entry; dropping and creating the index again mends it).

The indexes made here are named ``header:<path>`` in both collections, so that
they can be listed and dropped apart from the store's own
(:mod:`acsq_mongo.db.indexes`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pymongo import UpdateOne

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.errors import ConfigError

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["PREFIX", "index_name", "create_header_index", "drop_header_index",
           "header_indexes", "copied_paths", "header_value"]

#: The name of a header-keyword index is this plus the path.
PREFIX = "header:"
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
        False if both indexes were there already.

    Raises
    ------
    ConfigError
        If ``path`` is not a header keyword path.
    """
    name = index_name(_check(path))
    if name in db[CATALOG].index_information():
        return False
    if name not in db[ROOTNAMES].index_information():
        db[ROOTNAMES].create_index([(path, 1)], name=name)
    # Fill the catalog's copies from the index just made, then index them: the query
    # core trusts the copies once the catalog's index is there.
    updates: list[tuple[str, dict]] = []
    for doc in db[ROOTNAMES].find({path: {"$exists": True}}, {path: 1}).hint(name):
        updates.append((doc["_id"], {"$set": {path: header_value(doc, path)}}))
        if len(updates) >= batch:
            _write(db[CATALOG], updates)
            updates = []
    _write(db[CATALOG], updates)
    db[CATALOG].create_index([(path, 1)], name=name)
    bump_generation(db)
    return True


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
    """The header paths whose catalog copies are complete and indexed (queries may use them)."""
    return frozenset(name[len(PREFIX):] for name in db[CATALOG].index_information()
                     if name.startswith(PREFIX))


def header_value(document, path: str, default=None):
    """The value at a dotted header path of a document; ``default`` if absent."""
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value
