"""A sign-in attempt: the throttle, then the password, with one answer for every failure.

A failed sign-in says :data:`FAILED` whether the name is unknown, the
password wrong or the account disabled, so a sign-in page cannot be used to
find which accounts exist; a throttled one says :func:`locked_message`, for
names that exist or not alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from acsq_mongo.accounts import throttle
from acsq_mongo.accounts.users import User, check_password

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["FAILED", "SignIn", "sign_in", "locked_message"]

#: What every failed sign-in says.
FAILED = "Unknown user name or wrong password."


def locked_message(seconds: int) -> str:
    """What a throttled sign-in says: why, and for how long."""
    minutes = max(1, -(-seconds // 60))
    return (f"Too many failed sign-ins for this account or from this address. Try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}.")


@dataclass(frozen=True)
class SignIn:
    """The outcome of an attempt: the account, or why not (and how long to wait)."""

    user: User | None
    message: str = ""
    wait: int = 0


def sign_in(db: Database, name: str, password: str, address: str | None) -> SignIn:
    """Try to sign in as ``name`` from ``address``.

    Returns
    -------
    attempt : SignIn
        ``user`` set on success; otherwise ``message`` for the person (and
        ``wait``, the seconds until a throttled attempt may be made again).
    """
    wait = throttle.wait_seconds(db, name, address)
    if wait:
        return SignIn(None, locked_message(wait), wait)
    user = check_password(db, name, password)
    if user is None:
        throttle.record_failure(db, name, address)
        return SignIn(None, FAILED)
    throttle.forget(db, name)
    return SignIn(user)
