"""The ``users`` collection: accounts with a role, a password hash, and a state.

One document per account, ``_id`` the user name (lower case)::

    {_id: "ada", role: "tagger", password_hash: "scrypt:...", disabled: false,
     created: <date>, password_changed: <date>, session_version: 1,
     last_sign_in: <date>}

The hash is werkzeug's ``generate_password_hash`` (scrypt, salted). No
function here returns it: :class:`User` and :func:`list_users` carry only the
public fields, so no page, JSON, CSV or log can show it. A password is never
stored or logged; it only passes through :func:`add_user`,
:func:`set_password` and :func:`check_password`.

pymongo's own command log (logger ``pymongo.command``, DEBUG) would quote
the hash; a filter drops those lines before any handler sees them.

``session_version`` grows with every password change and every disable, and
sessions carry it (:attr:`User.session_id`), so a changed password or a
disabled account ends every session signed in before.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.security import check_password_hash, generate_password_hash

from acsq_mongo.db.collections import USERS
from acsq_mongo.db.generation import utcnow
from acsq_mongo.errors import AcsqError

if TYPE_CHECKING:
    import datetime

    from pymongo.database import Database

__all__ = [
    "ROLES",
    "MIN_PASSWORD_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "AccountError",
    "User",
    "check_name",
    "check_new_password",
    "add_user",
    "set_password",
    "set_disabled",
    "get_user",
    "list_users",
    "check_password",
]

#: The roles, each allowed what the one before it may do and more.
ROLES: tuple[str, ...] = ("tagger", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,31}", re.ASCII)
_HASH_METHOD = "scrypt"
# The fields any reader gets: never the hash.
_PUBLIC = {"role": 1, "disabled": 1, "created": 1, "password_changed": 1,
           "session_version": 1, "last_sign_in": 1}


class AccountError(AcsqError):
    """A bad user name, role or password, or an unknown account: one line for people."""


@dataclass(frozen=True)
class User:
    """An account as everyone but the password check sees it: no hash.

    Attributes
    ----------
    name, role : str
    disabled : bool
    created, password_changed, last_sign_in : datetime or None
        UTC.
    session_version : int
    """

    name: str
    role: str
    disabled: bool = False
    created: datetime.datetime | None = None
    password_changed: datetime.datetime | None = None
    last_sign_in: datetime.datetime | None = None
    session_version: int = 1

    @property
    def can_tag(self) -> bool:
        """Whether this account may set and clear anomaly flags."""
        return not self.disabled and self.role in ROLES

    @property
    def is_admin(self) -> bool:
        """Whether this account may manage accounts."""
        return not self.disabled and self.role == "admin"

    @property
    def session_id(self) -> str:
        """What a session remembers: the name and the session version."""
        return f"{self.name}:{self.session_version}"

    def public(self) -> dict[str, Any]:
        """The account as a row for a list, JSON or CSV."""
        return {"name": self.name, "role": self.role, "disabled": self.disabled,
                "created": self.created, "password_changed": self.password_changed,
                "last_sign_in": self.last_sign_in}


def _user(doc: dict[str, Any]) -> User:
    return User(name=doc["_id"], role=doc.get("role", ""), disabled=bool(doc.get("disabled")),
                created=doc.get("created"), password_changed=doc.get("password_changed"),
                last_sign_in=doc.get("last_sign_in"),
                session_version=int(doc.get("session_version") or 1))


def check_name(name: str) -> str:
    """Return a user name checked and lower-cased.

    Raises
    ------
    AccountError
        Unless it is a letter then up to 31 letters, digits, ``_``, ``.`` or ``-``.
    """
    text = name.strip().lower() if isinstance(name, str) else ""
    if _NAME.fullmatch(text) is None:
        raise AccountError(f"bad user name {str(name)[:40]!r}: a letter, then up to 31 letters, "
                           "digits, '_', '.' or '-'")
    return text


def check_new_password(password: str) -> None:
    """Check a new password's length (the only rule; a passphrase is welcome).

    Raises
    ------
    AccountError
        If it is shorter than :data:`MIN_PASSWORD_LENGTH` or longer than
        :data:`MAX_PASSWORD_LENGTH` characters. The message never holds it.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {str(role)[:20]!r}; roles: {', '.join(ROLES)}")
    return role


def add_user(db: Database, name: str, role: str, password: str) -> User:
    """Create an account.

    Raises
    ------
    AccountError
        On a bad name, role or password, or if the account exists.
    """
    import pymongo.errors

    name, role = check_name(name), _check_role(role)
    check_new_password(password)
    _guard_driver_log()
    now = utcnow()
    doc = {"_id": name, "role": role, "password_hash": generate_password_hash(
        password, method=_HASH_METHOD), "disabled": False, "created": now,
        "password_changed": now, "session_version": 1}
    try:
        db[USERS].insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        raise AccountError(f"user {name!r} exists; `acsq user passwd {name}` changes its "
                           "password") from None
    return _user(doc)


def _update(db: Database, name: str, update: dict[str, Any]) -> User:
    from pymongo import ReturnDocument

    name = check_name(name)
    doc = db[USERS].find_one_and_update({"_id": name}, update, projection=_PUBLIC,
                                        return_document=ReturnDocument.AFTER)
    if doc is None:
        raise AccountError(f"there is no user {name!r}; `acsq user list` lists them")
    return _user(doc)


def set_password(db: Database, name: str, password: str) -> User:
    """Change an account's password; every session signed in before ends.

    Raises
    ------
    AccountError
        On a bad password or an unknown account.
    """
    check_new_password(password)
    _guard_driver_log()
    return _update(db, name, {
        "$set": {"password_hash": generate_password_hash(password, method=_HASH_METHOD),
                 "password_changed": utcnow()},
        "$inc": {"session_version": 1}})


def set_disabled(db: Database, name: str, disabled: bool = True) -> User:
    """Disable (or enable again) an account; disabling ends its sessions.

    Raises
    ------
    AccountError
        For an unknown account.
    """
    update: dict[str, Any] = {"$set": {"disabled": bool(disabled)}}
    if disabled:
        update["$inc"] = {"session_version": 1}
    return _update(db, name, update)


def get_user(db: Database, name: str) -> User | None:
    """Return an account (None if there is none by that name)."""
    try:
        name = check_name(name)
    except AccountError:
        return None
    doc = db[USERS].find_one({"_id": name}, _PUBLIC)
    return _user(doc) if doc is not None else None


def list_users(db: Database) -> list[User]:
    """Return every account, by name."""
    return [_user(doc) for doc in db[USERS].find({}, _PUBLIC).sort("_id", 1)]


_DUMMY: list[str] = []


class _NoHashes(logging.Filter):
    """Drops the driver's DEBUG command log lines that quote a password hash."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "password_hash" not in record.getMessage()


def _guard_driver_log() -> None:
    """Keep hashes out of pymongo's command log, should its DEBUG level be switched on.

    pymongo logs every command and reply at DEBUG (logger ``pymongo.command``),
    documents included; the commands of this module carry the hash.
    """
    logger = logging.getLogger("pymongo.command")
    if not any(isinstance(f, _NoHashes) for f in logger.filters):
        logger.addFilter(_NoHashes())


def check_password(db: Database, name: str, password: str) -> User | None:
    """Return the account if ``password`` is its password and it is enabled, else None.

    An unknown name costs the same hash check as a known one, so the time an
    answer takes does not tell whether an account exists.
    """
    try:
        name = check_name(name)
    except AccountError:
        name = ""
    _guard_driver_log()
    doc = db[USERS].find_one({"_id": name}) if name else None
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    if doc is None or not doc.get("password_hash"):
        if not _DUMMY:
            _DUMMY.append(generate_password_hash("not a password of anyone",
                                                 method=_HASH_METHOD))
        check_password_hash(_DUMMY[0], password)
        return None
    if not check_password_hash(doc["password_hash"], password) or doc.get("disabled"):
        return None
    db[USERS].update_one({"_id": name}, {"$set": {"last_sign_in": utcnow()}})
    return _user({k: v for k, v in doc.items() if k != "password_hash"})
