"""Reading the anomaly history: one rootname's events, and the latest events of all.

Both read ``anomaly_events`` through an index (:mod:`acsq_mongo.db.indexes`):
``catalog_id`` + ``time`` for a rootname, ``time`` (or ``flag`` / ``user``
then ``time``) for the latest events, newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import ANOMALY_EVENTS
from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import ANOMALY_SLUG

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["EVENT_COLUMNS", "MAX_EVENTS_PAGE", "EventPage", "rootname_history", "recent_events",
           "iter_events"]

#: The columns of an event, as pages, JSON and CSV show it.
EVENT_COLUMNS: tuple[str, ...] = ("time", "rootname", "flag", "action", "user", "comment")
#: Most events one page may list.
MAX_EVENTS_PAGE = 1000
_PROJECTION = {"_id": 0, **dict.fromkeys(EVENT_COLUMNS, 1)}


def rootname_history(db: Database, catalog_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """A rootname's events, newest first (at most ``limit``)."""
    return list(db[ANOMALY_EVENTS].find({"catalog_id": catalog_id}, _PROJECTION)
                .sort([("catalog_id", 1), ("time", -1)]).limit(limit))


@dataclass(frozen=True)
class EventPage:
    """A page of the latest events: rows, how many match in all, and where the page starts."""

    rows: list[dict[str, Any]]
    count: int
    offset: int
    limit: int


def _checked(flag: str | None, user: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if flag:
        flag = flag.strip().lower()
        if ANOMALY_SLUG.fullmatch(flag) is None or len(flag) > 64:
            raise AcsqError(f"flag {flag[:40]!r} is not an anomaly flag; write it as in the "
                            "list, e.g. satellite_trail")
        query["flag"] = flag
    if user:
        user = user.strip().lower()
        # (a detector or a rule that proposes: "acstools.findsat_mrt 3.8.2", "rule saturation")
        if len(user) > 64 or not all(c.isalnum() or c in "_.- " for c in user):
            raise AcsqError(f"user {user[:40]!r} is not a user name")
        query["user"] = user
    return query


def recent_events(db: Database, flag: str | None = None, user: str | None = None,
                  offset: int = 0, limit: int = 50) -> EventPage:
    """The latest events, newest first, of one flag and/or one user if given.

    Raises
    ------
    AcsqError
        On a malformed flag or user name, or a limit over :data:`MAX_EVENTS_PAGE`.
    """
    if limit > MAX_EVENTS_PAGE or limit < 0 or offset < 0:
        raise AcsqError(f"limit must be 0 to {MAX_EVENTS_PAGE} and offset at least 0")
    query = _checked(flag, user)
    rows = list(db[ANOMALY_EVENTS].find(query, _PROJECTION).sort(_sort(query))
                .skip(offset).limit(limit)) if limit else []
    return EventPage(rows=rows, count=db[ANOMALY_EVENTS].count_documents(query),
                     offset=offset, limit=limit)


def _sort(query: dict[str, Any]) -> list[tuple[str, int]]:
    # Newest first; with one filter, by the index that starts with it (flag or user).
    return [*((key, 1) for key in ("flag", "user") if list(query) == [key]), ("time", -1)]


def iter_events(db: Database, flag: str | None = None,
                user: str | None = None) -> Iterator[dict[str, Any]]:
    """Every event, newest first, of one flag and/or user if given (for CSV downloads).

    Raises
    ------
    AcsqError
        On a malformed flag or user name.
    """
    query = _checked(flag, user)
    yield from db[ANOMALY_EVENTS].find(query, _PROJECTION).sort(_sort(query)).batch_size(500)
