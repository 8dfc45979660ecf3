"""A small in-process cache of query results, valid until the data changes.

Entries are keyed by the normalised query and the data generation
(:func:`acsq_mongo.db.generation.generation`), a token every write changes. A lookup
costs one read of that token (an ``_id`` equality, cheap on every backend),
so repeated pages, facets and counts of the same query are served from
memory, and a write makes every older entry unreachable at once.

:class:`ResultCache` is the shared store (one per web app or ``Archive``);
:class:`CallCache` is one query call's view of it: the data generation is read
once per call, and what the call computes is kept for the rest of it.

The cache is bounded by the memory its entries take, not by their number:
one entry may be a page of 60 rows, an id list of 20,000 rootnames, a stream
of 5,000 rows or a PNG. Each entry is weighed once, when it is put
(:func:`entry_size`, its pickled size), and the least recently used entries
go first once the total passes ``max_bytes`` (``cachetools.LRUCache`` with
``getsizeof``). An entry larger than the whole cache is not kept.
"""

from __future__ import annotations

import pickle
import sys
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import cachetools

from acsq_mongo.db.generation import generation

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["ResultCache", "CallCache", "entry_size", "DEFAULT_MAX_BYTES"]

_MISSING = object()

#: The default bound (bytes): the setting ``result_cache_mb``'s default, 256 MB.
DEFAULT_MAX_BYTES = 256 * 2**20


def entry_size(value: Any) -> int:
    """The memory an entry is taken to hold (bytes): its pickled size, a close estimate."""
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return sys.getsizeof(value)


class ResultCache:
    """A thread-safe LRU mapping of query keys to results, bounded in bytes.

    Parameters
    ----------
    max_bytes : int
        Most memory the entries may take together (:func:`entry_size`); the
        least recently used go first.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        # Values are kept as (value, size): weighed once, when put.
        self._entries: cachetools.LRUCache = cachetools.LRUCache(
            maxsize=max_bytes, getsizeof=lambda pair: pair[1])
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """Return the entry for ``key`` (and mark it recent), or ``default``."""
        with self._lock:
            pair = self._entries.get(key, _MISSING)
            if pair is _MISSING:
                self.misses += 1
                return default
            self.hits += 1
            return pair[0]

    def __contains__(self, key: Hashable) -> bool:
        """Whether ``key`` has an entry (not counted as a hit or a miss)."""
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, dropping the oldest entries past ``max_bytes``."""
        size = entry_size(value)  # weighed outside the lock (a big stream takes a while)
        with self._lock:
            self._entries.pop(key, None)
            if size > self.max_bytes:
                return  # larger than the whole cache: not kept
            self._entries[key] = (value, size)

    @property
    def size(self) -> int:
        """The memory the entries take together (bytes)."""
        return int(self._entries.currsize)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


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
