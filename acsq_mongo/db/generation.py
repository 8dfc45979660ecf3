"""The data generation: a token that every write to the store changes.

Readers cache query results under the current generation and drop them when it
changes (:mod:`acsq_mongo.query.cache`); writers bump it
(:mod:`acsq_mongo.ingest.store`, :mod:`acsq_mongo.ingest.summaries`). Here too
are the two conventions those writes share: times are naive UTC at millisecond
precision, and a document is replaced by ``_id`` in one atomic upsert.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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
    """Replace the document ``_id``, inserting it if missing, in one atomic upsert.

    Two writers upserting the same new ``_id`` at once (Dask workers) both
    succeed: since MongoDB 4.2 the server retries an upsert that loses the race
    on a unique index when its filter is an equality on that index's key, as
    here, so no DuplicateKeyError reaches the client.
    """
    collection.replace_one({"_id": _id}, document, upsert=True)


def bump_generation(db: Database) -> str:
    """Mark the data as changed; return the new generation token.

    One atomic ``$set`` upsert: readers see the old token or the new one.
    """
    token = uuid.uuid4().hex
    db[META].update_one({"_id": "generation"},
                        {"$set": {"value": token, "time": utcnow()}}, upsert=True)
    return token


def generation(db: Database) -> str | None:
    """Return the current data generation token (None if nothing was written yet)."""
    doc = db[META].find_one({"_id": "generation"})
    return doc["value"] if doc else None
