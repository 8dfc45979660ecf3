"""Counting a query's matches and its facets, exactly or within a time budget.

:func:`count` and :func:`facets` always count every match. A web page asks
:func:`counts_within` instead, with what is left of the setting
``count_time_limit_ms`` after the page's first scan (:func:`.core.run`): the
server is given that budget (``maxTimeMS``) for the count and facets, and a
query whose matches take longer to count gets None back, so that the page can
say how many it has seen ("at least 2,001") and offer to count them all. On
MongoDB the count and facets of a hundred thousand matches take well under
the default budget; on the local SecantusDB server (some 14,000 documents a
second) past ~3,000 matches they do not. Counts that finish are kept in the
result cache; a query that ran out of time is not, so its next page tries
again.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import pymongo
import pymongo.errors

from acsq_mongo.db.budget import is_timeout
from acsq_mongo.query.cache import CallCache
from acsq_mongo.query.errors import server_errors
from acsq_mongo.query.facets import FACET_FIELDS, count_and_facets
from acsq_mongo.query.selection import cached_selection

if TYPE_CHECKING:
    from pymongo.cursor import Cursor
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache
    from acsq_mongo.query.spec import QuerySpec

__all__ = ["count", "facets", "counts_within", "cached_count", "cached_facets", "read_within",
           "FAST_BATCH_S"]

Facets = dict[str, list[tuple[Any, int]]]

#: A batch that came back within this many seconds was ready on the server: past the
#: deadline, :func:`read_within` still reads on after it.
FAST_BATCH_S = 0.005


def count(db: Database, spec: QuerySpec, cache: ResultCache | None = None) -> int:
    """Return how many rootnames match ``spec`` (every match counted)."""
    return cached_count(CallCache(db, cache), spec)


def facets(db: Database, spec: QuerySpec, cache: ResultCache | None = None
           ) -> tuple[int, Facets]:
    """Return the total count and the facets of ``spec`` (one ``$facet`` aggregation)."""
    return cached_facets(CallCache(db, cache), spec)


def cached_count(cached: CallCache, spec: QuerySpec, max_time_ms: int = 0) -> int:
    """The count through one call's cache; ``max_time_ms`` > 0 is the server's budget."""
    selection = cached_selection(cached, spec)
    if selection.ids is not None:
        return len(selection.ids)

    def compute() -> int:
        with server_errors(), _within(max_time_ms):
            return cached.db[selection.collection].count_documents(selection.match)

    return cached.get("count", spec.selection_key(), compute)[0]


def cached_facets(cached: CallCache, spec: QuerySpec, max_time_ms: int = 0
                  ) -> tuple[int, Facets]:
    """The count and facets through one call's cache; ``max_time_ms`` as in :func:`cached_count`."""
    selection = cached_selection(cached, spec)

    def compute() -> tuple[int, Facets]:
        with server_errors(), _within(max_time_ms):
            return count_and_facets(cached.db[selection.collection], selection.match,
                                    FACET_FIELDS)

    return cached.get("facets", spec.selection_key(), compute)[0]


def counts_within(cached: CallCache, spec: QuerySpec, max_time_ms: int, *,
                  with_facets: bool = True) -> tuple[int, Facets | None] | None:
    """The count (and facets) of ``spec`` if the server finds them within ``max_time_ms``.

    Parameters
    ----------
    cached : CallCache
    spec : QuerySpec
    max_time_ms : int
        The server's budget in milliseconds; 0 counts every match, however long
        that takes.
    with_facets : bool
        Count the facets too (one ``$facet`` aggregation), else only the matches.

    Returns
    -------
    counts : tuple or None
        ``(total, facets)`` (facets None without ``with_facets``), or None when
        the server ran out of time (``MaxTimeMSExpired``), this budget or the
        face's (:mod:`acsq_mongo.db.budget`).
    """
    try:
        if with_facets:
            return cached_facets(cached, spec, max_time_ms)
        return cached_count(cached, spec, max_time_ms), None
    except pymongo.errors.PyMongoError as exc:
        if not is_timeout(exc):
            raise
        return None


def _within(max_time_ms: int):
    """The server's budget for one count: ``maxTimeMS`` through pymongo's ``timeout``.

    Within a face's budget (:mod:`acsq_mongo.db.budget`), the nearer deadline holds.
    """
    return pymongo.timeout(max_time_ms / 1000) if max_time_ms > 0 else contextlib.nullcontext()


def read_within(cursor: Cursor, batch: int, deadline: float | None, need: int
                ) -> tuple[list[dict], bool]:
    """Read a cursor (made with ``batch_size=batch``) until its end or a deadline.

    Once ``need`` documents are read, it stops at the first batch that was
    asked for past ``deadline`` (``time.monotonic()``) and took longer than
    ``FAST_BATCH_S``: batches that come back at once were ready on the server
    (SecantusDB has every match of a ``find`` before it sends the first), and
    reading them on costs next to nothing. So the time spent is the deadline
    plus one batch at most. The cursor is closed either way.

    Returns
    -------
    docs : list of dict
        The documents read.
    complete : bool
        Whether the cursor got to its end (else there are more).
    """
    docs: list[dict] = []
    asked = time.monotonic()
    try:
        for doc in cursor:
            docs.append(doc)
            if deadline is None or len(docs) % batch or len(docs) < need:
                continue
            now = time.monotonic()
            if asked >= deadline and now - asked >= FAST_BATCH_S:
                return docs, False
            asked = now
    finally:
        cursor.close()
    return docs, True
