"""Sign-in throttling: too many recent failures of an account or an address, and no more tries.

Each failed sign-in is one document in ``sign_in_failures``, under two keys:
the account name as typed (``user:<name>``, whether or not it exists, so the
throttle tells nothing about which names do) and the client address
(``addr:<address>``). Before a password is checked, the failures of the last
:data:`WINDOW` under either key are counted; at :data:`MAX_PER_ACCOUNT` (or
:data:`MAX_PER_ADDRESS`) the attempt is refused without a check, until the
oldest of them is older than the window. Refused attempts are not counted, so
a lock ends on its own. The counts live in the database, so every worker
process of the web app sees the same ones.
"""

from __future__ import annotations

import datetime
import math
from typing import TYPE_CHECKING

from acsq_mongo.db.collections import SIGN_IN_FAILURES
from acsq_mongo.db.generation import utcnow

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["WINDOW", "MAX_PER_ACCOUNT", "MAX_PER_ADDRESS", "keys", "wait_seconds",
           "record_failure", "forget"]

#: How far back failures count.
WINDOW = datetime.timedelta(minutes=15)
#: Failures of one account name within :data:`WINDOW` that lock it.
MAX_PER_ACCOUNT = 5
#: Failures from one client address within :data:`WINDOW` that lock it.
MAX_PER_ADDRESS = 20


def keys(name: str, address: str | None) -> dict[str, int]:
    """The throttle keys of an attempt, each with its limit."""
    out = {"user:" + (name or "").strip().lower()[:64]: MAX_PER_ACCOUNT}
    if address:
        out["addr:" + address[:64]] = MAX_PER_ADDRESS
    return out


def wait_seconds(db: Database, name: str, address: str | None,
                 now: datetime.datetime | None = None) -> int:
    """Return how many seconds the attempt must wait (0: it may go ahead)."""
    now = now or utcnow()
    since = now - WINDOW
    wait = 0.0
    for key, limit in keys(name, address).items():
        recent = list(db[SIGN_IN_FAILURES].find(
            {"key": key, "time": {"$gte": since}}, {"time": 1}).sort("time", -1).limit(limit))
        if len(recent) >= limit:
            oldest = recent[-1]["time"]
            wait = max(wait, (oldest + WINDOW - now).total_seconds())
    return int(math.ceil(wait)) if wait > 0 else 0


def record_failure(db: Database, name: str, address: str | None) -> None:
    """Count one failed sign-in against the account name and the address."""
    now = utcnow()
    db[SIGN_IN_FAILURES].insert_many(
        [{"key": key, "time": now} for key in keys(name, address)])
    # Old failures count no more: keep the collection small.
    db[SIGN_IN_FAILURES].delete_many({"time": {"$lt": now - 2 * WINDOW}})


def forget(db: Database, name: str) -> None:
    """Drop an account's failures (after it signs in, or its password is reset)."""
    db[SIGN_IN_FAILURES].delete_many({"key": next(iter(keys(name, None)))})
