"""One query call's view of the result cache, and the server's refusals as query errors.

:class:`CallCache` reads the data generation once per call and keeps what the
call computes, in the shared :class:`~acsq_mongo.query.cache.ResultCache` when
there is one. :func:`server_errors` turns a refused filter into a
:class:`~acsq_mongo.query.errors.QueryError` and a lost server into
:class:`~acsq_mongo.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pymongo.errors

from acsq_mongo.db.budget import is_timeout
from acsq_mongo.db.generation import generation
from acsq_mongo.errors import DatabaseUnavailable
from acsq_mongo.query.cache import ResultCache
from acsq_mongo.query.errors import QueryError

if TYPE_CHECKING:
    from pymongo.database import Database


__all__ = [
    "CallCache",
    "server_errors",
]


@contextlib.contextmanager
def server_errors():
    """Turn the server's refusals into QueryError (e.g. a regex Go's RE2 rejects).

    A time budget that ran out (:func:`acsq_mongo.db.budget.is_timeout`) goes up
    as it is: the caller that set the budget handles it.
    """
    try:
        yield
    except pymongo.errors.PyMongoError as exc:
        if is_timeout(exc):
            raise
        if isinstance(exc, pymongo.errors.OperationFailure):
            reason = (exc.details or {}).get("errmsg") or str(exc)
            raise QueryError("the database refused this query: "
                             f"{reason.split(', full error')[0]}") from None
        if isinstance(exc, pymongo.errors.ConnectionFailure):
            raise DatabaseUnavailable(f"the database stopped answering: {exc}") from None
        raise


class CallCache:
    """One call's view of the cache: the data generation is read once, up front.

    Whatever one call computes (the selection, above all) is also kept for the
    rest of that call, cache or not, so it is never computed twice.
    """

    def __init__(self, db: Database, cache: ResultCache | None) -> None:
        self.db = db
        self.cache = cache
        self.prefix = (db.name, id(db.client), generation(db)) if cache is not None else None
        self._this_call: dict[tuple, Any] = {}

    def get(self, kind: str, parts: tuple, compute, keep=None) -> tuple[Any, bool]:
        """Return ``(value, from_cache)``, computing and keeping the value on a miss.

        ``keep(value)``, if given, says whether a computed value may go in the
        shared cache (not too big).
        """
        local_key = (kind, *parts)
        if local_key in self._this_call:
            return self._this_call[local_key], False
        if self.cache is None:
            value, hit = compute(), False
        else:
            key = (kind, *self.prefix, *parts)
            value = self.cache.get(key)
            hit = value is not None
            if not hit:
                value = compute()
                if keep is None or keep(value):
                    self.cache.put(key, value)
        self._this_call[local_key] = value
        return value, hit

    def has(self, key: tuple) -> bool:
        """Whether ``(kind, *parts)`` is known to this call or in the shared cache."""
        if key in self._this_call:
            return True
        return self.cache is not None and (key[0], *self.prefix, *key[1:]) in self.cache

    def put(self, kind: str, parts: tuple, value: Any) -> Any:
        """Keep a value computed along with another one; return it."""
        self._this_call[(kind, *parts)] = value
        if self.cache is not None:
            self.cache.put((kind, *self.prefix, *parts), value)
        return value
