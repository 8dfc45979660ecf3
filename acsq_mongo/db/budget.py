"""A time budget for the reads of one web request, command or call.

Every read a web request sends runs under the setting ``web_time_limit_ms``
(default 10 s); the CLI's ``acsq query`` and ``acsq trend`` and the Python
API's calls run under ``time_limit_ms`` (default 0: none). The budget is
pymongo's client-side operation timeout (:func:`pymongo.timeout`): each
command sent within it carries ``maxTimeMS`` (what is left of the budget), so
the server itself stops a read that runs out, and the client stops waiting.
Nested budgets take the smaller deadline (a web page's count, with its own
``count_time_limit_ms``, inside the request's).

Past the budget pymongo raises an error whose ``timeout`` is true
(``ExecutionTimeout`` from the server, ``NetworkTimeout`` from the client);
:func:`read_budget` turns it into :class:`~acsq_mongo.errors.TimeBudgetExceeded`,
one line that says what ran out and what helps. mongomock has no time limits:
the budget does nothing there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TypeVar

import pymongo
import pymongo.errors

from acsq_mongo.errors import TimeBudgetExceeded

__all__ = ["read_budget", "each_within", "is_timeout", "budget_message", "WHAT_HELPS"]

T = TypeVar("T")

#: What helps a query that ran out of time, for the one-line message.
WHAT_HELPS = ("index the header keywords it filters on (acsq db index), or narrow it "
              "(a detector, a filter, a proposal, a shorter date range)")


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is pymongo's word that a time budget ran out.

    Not a server that cannot be found (``ServerSelectionTimeoutError``, whose
    ``timeout`` is true too): that is a database down, not a query too slow.
    """
    return (isinstance(exc, pymongo.errors.PyMongoError) and bool(exc.timeout)
            and not isinstance(exc, pymongo.errors.ServerSelectionTimeoutError))


def budget_message(limit_ms: int, setting: str) -> str:
    """The one-line message of a read that ran out of ``limit_ms``."""
    seconds = f"{limit_ms / 1000:g} s"
    return (f"the query ran out of its time budget ({seconds}, ACSQ_{setting.upper()}): "
            + WHAT_HELPS)


@contextlib.contextmanager
def read_budget(limit_ms: int, setting: str = "time_limit_ms") -> Iterator[None]:
    """Run the ``with`` block's database commands within ``limit_ms`` milliseconds.

    Parameters
    ----------
    limit_ms : int
        The budget; 0 (or less) sets none, and the block runs as it is
        (inside an outer budget, that one still holds).
    setting : str
        The setting the budget comes from, named in the error message.

    Raises
    ------
    TimeBudgetExceeded
        If a command of the block runs out of the budget.
    """
    if limit_ms <= 0:
        yield
        return
    try:
        with pymongo.timeout(limit_ms / 1000):
            yield
    except pymongo.errors.PyMongoError as exc:
        if not is_timeout(exc):
            raise
        raise TimeBudgetExceeded(budget_message(limit_ms, setting)) from None


def each_within(items: Iterable[T], limit_ms: int, setting: str = "time_limit_ms"
                ) -> Iterator[T]:
    """Yield ``items``, each one fetched within a budget of its own (a streamed download).

    A long stream is not cut for being long, but no single read of it runs past
    ``limit_ms``. ``items.close()``, if it has one, is called at the end.
    """
    iterator = iter(items)
    try:
        while True:
            with read_budget(limit_ms, setting):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
