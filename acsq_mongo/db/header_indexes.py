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
:func:`header_indexes`);
:func:`~acsq_mongo.ingest.keyword_indexes.create_header_index` fills them for what
is stored already and only then indexes ``catalog``, and the query core uses the
copies only once that index is there (:func:`copied_paths`).

This module is the shared model of those indexes, which the writers and the
readers both use: their names, and which exist. It reads only; making and
dropping them (a write of the data, with a new data generation) is the ingest
stage's (:mod:`acsq_mongo.ingest.keyword_indexes`).

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
(:func:`acsq_mongo.ingest.keyword_indexes.complete_header_indexes`); after a
crashed run, the next run does, or ``acsq db index`` on the same path.

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

from acsq_mongo.db.collections import CATALOG, META, ROOTNAMES
from acsq_mongo.errors import ConfigError

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["PREFIX", "STATE_PREFIX", "MAX_HEADER_INDEXES", "MAX_COLLECTION_INDEXES",
           "index_name", "check_path", "header_indexes", "index_state", "copied_paths",
           "header_value"]

#: The name of a header-keyword index is this plus the path.
PREFIX = "header:"
#: The ``_id`` in ``meta`` of a header index's state is this plus the path.
STATE_PREFIX = "header_index:"
#: Most header keywords with an index (each adds one index to catalog and one to rootnames).
MAX_HEADER_INDEXES = 24
#: MongoDB's limit of indexes per collection (``_id``'s included).
MAX_COLLECTION_INDEXES = 64
# headers.<filetype>.<ext>.<KEYWORD>, as stored (the keyword escaped by db.keys).
_PATH = re.compile(r"headers\.[a-z]+\.[0-9]+\.[^.$\s][^.\s]*")


def index_name(path: str) -> str:
    """Return the index name for a header path (``header:headers.flt.0.CCDGAIN``)."""
    return PREFIX + path


def check_path(path: str) -> str:
    """Return ``path`` if it is a header keyword path, else raise :class:`ConfigError`."""
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ConfigError(
            f"{path!r} is not a header keyword path: write headers.<filetype>.<ext>.<KEYWORD>, "
            "e.g. headers.flt.0.CCDGAIN"
        )
    return path


def header_indexes(db: Database) -> list[str]:
    """Return the header paths that have an index made by
    :func:`~acsq_mongo.ingest.keyword_indexes.create_header_index`.

    These are the paths ingest copies into ``catalog``.
    """
    return sorted(name[len(PREFIX):] for name in db[ROOTNAMES].index_information()
                  if name.startswith(PREFIX))


def index_state(db: Database, path: str) -> str | None:
    """The state of a header index (``filling``, ``waiting``, ``complete``); None if none
    is recorded (an index made before states were)."""
    doc = db[META].find_one({"_id": STATE_PREFIX + path}, {"state": 1})
    return doc.get("state") if doc else None


def copied_paths(db: Database) -> frozenset[str]:
    """The header paths whose catalog copies are complete and indexed (queries may use them).

    An index whose state is not ``complete`` is left out (one made before states
    were recorded has none, and counts as complete).
    """
    indexed = {name[len(PREFIX):] for name in db[CATALOG].index_information()
               if name.startswith(PREFIX)}
    if not indexed:
        return frozenset()
    pending = {doc["_id"][len(STATE_PREFIX):] for doc in db[META].find(
        {"_id": {"$in": [STATE_PREFIX + path for path in indexed]},
         "state": {"$ne": "complete"}}, {"_id": 1})}
    return frozenset(indexed - pending)


def header_value(document, path: str, default=None):
    """The value at a dotted header path of a document; ``default`` if absent."""
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value
