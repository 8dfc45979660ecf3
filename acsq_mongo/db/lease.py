"""The ingest lease: one writer at a time across hosts, kept in the database.

The ingest lock (:mod:`acsq_mongo.ingest.run_lock`) is an ``flock`` on one
host. Two ingests started on two hosts against one database would not see
each other's lock file, so the lock is also a lease: one document in ``meta``,

    {_id: "ingest_lease", owner: "<host>:<pid>:<random>", what: "acsq ingest --new",
     since: <date>, heartbeat: <date>, expires: <date>}

taken with one atomic upsert whose filter matches only a lease that has
expired (or is the taker's own): while another holds it, the upsert's insert
meets the existing ``_id`` and fails, and the taker stops. The holder renews
the lease (``heartbeat``, ``expires``) every third of its length from a
thread of its own, and deletes it at the end. A holder that crashes (``kill
-9``, a lost host) stops renewing: its lease expires after at most its
length (the setting ``ingest_lease_s``), and the next run may start. A
holder on the taker's own host whose process has ended is known to be gone
at once, and its lease is taken over without waiting for the expiry.

Times are the clients' (naive UTC): the hosts' clocks must agree to well
within the lease's length, as NTP keeps them.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any

import pymongo.errors

from acsq_mongo.db.collections import META
from acsq_mongo.db.generation import utcnow

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["LEASE_ID", "new_owner", "take_lease", "renew_lease", "release_lease",
           "lease_holder", "Heartbeat"]

log = logging.getLogger(__name__)

#: The lease's ``_id`` in ``meta``.
LEASE_ID = "ingest_lease"


def new_owner() -> str:
    """A name for a holder that no other process on any host shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(db: Database, owner: str, what: str, seconds: float) -> dict[str, Any] | None:
    """Take the lease for ``seconds``; return None if taken, else the holder's lease.

    Parameters
    ----------
    db : Database
    owner : str
        Who takes it (:func:`new_owner`).
    what : str
        What runs under it (a command line), for the message another run prints.
    seconds : float
        How long it lasts without a renewal.
    """
    now = utcnow()
    lease = {"owner": owner, "what": what, "since": now, "heartbeat": now,
             "expires": now + datetime.timedelta(seconds=seconds)}
    try:
        db[META].update_one(
            {"_id": LEASE_ID, "$or": [{"expires": {"$lt": now}}, {"owner": owner}]},
            {"$set": lease}, upsert=True)
    except pymongo.errors.DuplicateKeyError:
        pass  # held by another, and not expired
    held = db[META].find_one({"_id": LEASE_ID})
    if held is not None and _owner_is_gone(held.get("owner")):
        # A holder of this host that has died (kill -9) cannot renew: its lease is
        # taken over now rather than after it expires, as its lock file was freed.
        db[META].update_one({"_id": LEASE_ID, "owner": held["owner"]}, {"$set": lease})
        held = db[META].find_one({"_id": LEASE_ID})
    if held is not None and held.get("owner") == owner:
        return None
    return held or {"owner": "unknown", "what": "?", "expires": now}


def _owner_is_gone(owner: Any) -> bool:
    """Whether ``owner`` (:func:`new_owner`) names a process of this host that has ended.

    Only this host's processes can be checked; another host's holder is known to
    be gone only when its lease expires.
    """
    host, _, rest = str(owner).partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    try:  # a killed child its parent has not reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def renew_lease(db: Database, owner: str, seconds: float) -> bool:
    """Push the lease's expiry ``seconds`` ahead; False if ``owner`` no longer holds it."""
    now = utcnow()
    result = db[META].update_one(
        {"_id": LEASE_ID, "owner": owner},
        {"$set": {"heartbeat": now, "expires": now + datetime.timedelta(seconds=seconds)}})
    return bool(result.matched_count)


def release_lease(db: Database, owner: str) -> None:
    """Give the lease up (if ``owner`` holds it)."""
    db[META].delete_one({"_id": LEASE_ID, "owner": owner})


def lease_holder(db: Database) -> dict[str, Any] | None:
    """The lease as it stands if someone holds it (not expired), else None."""
    held = db[META].find_one({"_id": LEASE_ID})
    if held is None or held.get("expires") is None or held["expires"] < utcnow():
        return None
    return held


class Heartbeat:
    """Renew a lease every third of its length from a daemon thread, until :meth:`stop`.

    A renewal that finds the lease taken by another (this process stalled for
    longer than the lease) is logged as an error; the run goes on, since
    stopping it half-way would leave more to mend than finishing it.
    """

    def __init__(self, db: Database, owner: str, seconds: float) -> None:
        self.db, self.owner, self.seconds = db, owner, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="acsq-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not renew_lease(self.db, self.owner, self.seconds):
                    log.error("The ingest lease was taken by another run while this one "
                              "held it (lease %s s); two writers may now overlap", self.seconds)
                    return
            except pymongo.errors.PyMongoError as exc:  # the next beat tries again
                log.warning("Could not renew the ingest lease: %s", exc)

    def stop(self) -> None:
        """Stop renewing (the lease itself is released by :func:`release_lease`)."""
        self._stop.set()
        self._thread.join(timeout=10)
