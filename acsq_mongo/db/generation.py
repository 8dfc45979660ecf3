"""The data generation: a token that every write to the store changes.

Readers cache query results under the current generation and drop them when it
changes (:mod:`acsq_mongo.query.cache`); writers bump it
(:mod:`acsq_mongo.ingest.store`, :mod:`acsq_mongo.ingest.summaries`). Here too
are the two conventions those writes share: times are naive UTC at millisecond
precision, and a document is replaced by ``_id`` safely against a racing writer.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pymongo.errors

from acsq_mongo.db.collections import META

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["bump_generation", "generation", "upsert_by_id", "utcnow"]


def utcnow() -> datetime.datetime:
    """Return the current UTC time as a naive datetime at millisecond precision.

    Naive UTC is what pymongo and mongomock hand back by default, and BSON
    dates hold milliseconds, so a value read back compares equal.
    """
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def upsert_by_id(collection, _id: Any, document: Mapping[str, Any]) -> None:
    """Replace the document ``_id`` (inserting it if missing), safe against a racing writer.

    Two processes upserting the same new ``_id`` at once (Dask workers
    bumping the generation) can both miss it and both insert: FerretDB's
    upserts are not atomic, so one gets a duplicate-key error. The document
    exists by then, so replacing it again succeeds.
    """
    try:
        collection.replace_one({"_id": _id}, document, upsert=True)
    except pymongo.errors.DuplicateKeyError:
        collection.replace_one({"_id": _id}, document, upsert=True)


def bump_generation(db: Database) -> str:
    """Mark the data as changed; return the new generation token."""
    token = uuid.uuid4().hex
    upsert_by_id(db[META], "generation", {"_id": "generation", "value": token, "time": utcnow()})
    return token


def generation(db: Database) -> str | None:
    """Return the current data generation token (None if nothing was written yet)."""
    doc = db[META].find_one({"_id": "generation"})
    return doc["value"] if doc else None
