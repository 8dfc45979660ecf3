"""A small in-process cache of query results, valid until the data changes.

Entries are keyed by the normalised query and the data generation
(:func:`acsq_mongo.db.generation.generation`), a token every write changes. A lookup
costs one read of that token (an ``_id`` equality, cheap on every backend),
so repeated pages, facets and counts of the same query are served from
memory, and a write makes every older entry unreachable at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["ResultCache"]

_MISSING = object()


class ResultCache:
    """A thread-safe LRU mapping of query keys to results.

    Parameters
    ----------
    max_entries : int
        How many results to keep; the least recently used go first.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """Return the entry for ``key`` (and mark it recent), or ``default``."""
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return default
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def __contains__(self, key: Hashable) -> bool:
        """Whether ``key`` has an entry (not counted as a hit or a miss)."""
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, dropping the oldest entries past the limit."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
