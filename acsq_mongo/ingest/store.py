"""Writing rootname documents: the only place that writes them.

A rootname document is stored twice under the same ``_id``: whole in
``rootnames`` and as a slim projection in ``catalog`` (see
:mod:`acsq_mongo.db.collections`). :func:`upsert_rootname` writes both, whole
first, so a rootname in the catalog always has its headers. Each write is an
upsert by ``_id`` (a replacement, not a read-modify-write), so it is safe on
servers whose updates are not atomic, and a rerun after any interruption
converges to the same documents.

The catalog copy is written as a ``$set`` of its keys and an ``$unset`` of
the catalog keys it lacks (:func:`catalog_update`), upserted by ``_id``: the
same document as a replacement, except that the fields no ingest owns (the
anomaly flags, :data:`~acsq_mongo.fields.TAG_FIELDS`) are left as they are.
So no ingest, re-ingest or ``--force`` re-ingest loses a tag, even one set
while it runs.

Every write also changes ``meta.generation``, which lets readers cache
query results until the data changes.

An ingest of many rootnames writes through a
:class:`acsq_mongo.ingest.store_batch.StoreBatch` instead, in bulk.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import bson

from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, ROOTNAMES
from acsq_mongo.db.generation import bump_generation, upsert_by_id, utcnow
from acsq_mongo.db.header_indexes import header_indexes, header_value
from acsq_mongo.fields import CATALOG_EXTRA_FIELDS, PROMOTED_FIELDS

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "DocumentTooLarge",
    "CATALOG_KEYS",
    "HEADERS",
    "INGEST_STATE_FIELDS",
    "catalog_entry",
    "catalog_update",
    "check_size",
    "upsert_rootname",
    "set_quicklook",
    "set_stats",
    "touch_rootname",
    "record_errors",
]

#: MongoDB's limit on one BSON document.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

#: Top-level keys copied from the whole document into the catalog.
CATALOG_KEYS: tuple[str, ...] = (
    ("_id",)
    + tuple(f.name for f in PROMOTED_FIELDS)
    + tuple(f.name for f in CATALOG_EXTRA_FIELDS)
    + ("files_sig",)
)


_ABSENT = object()

#: Where a catalog entry holds its copies of the indexed header keywords.
HEADERS = "headers"

#: The catalog fields an ingest reads of a stored rootname (its state).
INGEST_STATE_FIELDS: dict[str, int] = {
    name: 1 for name in ("files_sig", "rootname", "proposid", "quicklook", "n_errors",
                         "first_ingest_date")
}


class DocumentTooLarge(ValueError):
    """A rootname document is over MongoDB's 16 MB limit."""


def catalog_entry(document: Mapping[str, Any], header_paths: Iterable[str] = ()
                  ) -> dict[str, Any]:
    """Return the slim catalog copy of a whole rootname document.

    Parameters
    ----------
    document : mapping
    header_paths : iterable of str
        The indexed header keywords (:func:`~acsq_mongo.db.header_indexes.header_indexes`):
        their values are copied under ``headers``, at the same paths.
    """
    entry = {key: document[key] for key in CATALOG_KEYS if key in document}
    copied: dict[str, Any] = {}
    for path in header_paths:
        value = header_value(document, path, _ABSENT)
        if value is not _ABSENT:  # (a null value is copied: $exists sees it)
            _, filetype, ext, keyword = path.split(".", 3)
            copied.setdefault(filetype, {}).setdefault(ext, {})[keyword] = value
    if copied:
        entry[HEADERS] = copied
    return entry


def catalog_update(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Return the update that makes a catalog document ``entry``, keeping the tag fields.

    ``$set`` of every key of ``entry`` but ``_id``, and ``$unset`` of the
    :data:`CATALOG_KEYS` it lacks (and of the header copies, if it has none);
    upserted by ``_id``, this writes what a replacement by ``entry`` would, and
    leaves the fields of
    :data:`~acsq_mongo.fields.TAG_FIELDS` (never in ``entry``) untouched.
    """
    update: dict[str, Any] = {"$set": {k: v for k, v in entry.items() if k != "_id"}}
    missing = {k: "" for k in (*CATALOG_KEYS, HEADERS) if k != "_id" and k not in entry}
    if missing:
        update["$unset"] = missing
    return update


def document_size(document: Mapping[str, Any]) -> int:
    """Return the BSON size of ``document`` in bytes."""
    return len(bson.encode(document))


def check_size(document: Mapping[str, Any], size: int | None = None) -> int:
    """Return the document's BSON size (``size``, if known).

    Raises
    ------
    DocumentTooLarge
        If it is over 16 MB.
    """
    size = document_size(document) if size is None else size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(
            f"rootname {document['_id']} document is {size / 1e6:.1f} MB, over MongoDB's "
            "16 MB limit; not stored"
        )
    return size


def upsert_rootname(db: Database, document: Mapping[str, Any]) -> int:
    """Write one rootname document into ``rootnames`` and ``catalog``.

    Parameters
    ----------
    db : Database
    document : mapping
        The whole document; must have ``_id``.

    Returns
    -------
    size : int
        BSON size of the whole document, in bytes.

    Raises
    ------
    DocumentTooLarge
        If the whole document is over 16 MB. Nothing is written then, so the
        stored version, if any, stays as it was.
    """
    size = check_size(document, None)
    _id = document["_id"]
    upsert_by_id(db[ROOTNAMES], _id, dict(document))
    entry = catalog_entry(document, header_indexes(db))
    db[CATALOG].update_one({"_id": _id}, catalog_update(entry), upsert=True)
    bump_generation(db)
    return size


def set_quicklook(db: Database, _id: str, quicklook: Mapping[str, Any],
                  bump: bool = True) -> None:
    """Record a rootname's quicklook paths in both collections.

    ``quicklook`` replaces the whole ``quicklook`` field. Paths are relative
    to ACSQ_DATA. With ``bump=False`` the caller bumps the data generation
    itself, once for many rootnames.
    """
    update = {"$set": {"quicklook": dict(quicklook)}}
    db[ROOTNAMES].update_one({"_id": _id}, update)
    db[CATALOG].update_one({"_id": _id}, update)
    if bump:
        bump_generation(db)


def set_stats(db: Database, _id: str, stats: Mapping[str, Any]) -> None:
    """Set ``stats.<filetype>`` of one rootname in both collections (other filetypes kept).

    The caller bumps the data generation.
    """
    if not stats:
        return
    update = {"$set": {f"stats.{ft}": value for ft, value in stats.items()}}
    db[ROOTNAMES].update_one({"_id": _id}, update)
    db[CATALOG].update_one({"_id": _id}, update)


def touch_rootname(
    db: Database, _id: str, last_ingest_date: datetime.datetime,
    quicklook: Mapping[str, Any] | None = None,
) -> None:
    """Record a re-ingest that found the rootname's files unchanged.

    Sets ``last_ingest_date`` in the catalog. The whole document in
    ``rootnames`` is left alone (the server would rewrite all of it, some
    50 kB, for one date): its ``last_ingest_date`` is that of its last write,
    and readers of whole documents take the catalog's
    (:func:`acsq_mongo.browse.rootname.whole_document`). With ``quicklook``,
    both get the new paths (and the date).
    """
    fields: dict[str, Any] = {"last_ingest_date": last_ingest_date}
    if quicklook is not None:
        fields["quicklook"] = dict(quicklook)
        db[ROOTNAMES].update_one({"_id": _id}, {"$set": fields})
    db[CATALOG].update_one({"_id": _id}, {"$set": fields})
    bump_generation(db)


def record_errors(db: Database, errors: Iterable[Mapping[str, Any]]) -> int:
    """Append errors to the ``ingest_errors`` collection.

    Each error is a mapping with at least ``rootname``, ``path``, ``stage``
    and ``error``; ``time`` is added if missing.

    Returns
    -------
    n : int
        How many were recorded.
    """
    rows = [{"time": utcnow(), **dict(e)} for e in errors]
    if rows:
        db[INGEST_ERRORS].insert_many(rows)
    return len(rows)

