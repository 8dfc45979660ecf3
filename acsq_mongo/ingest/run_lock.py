"""One writer at a time: a lock file under ``$ACSQ_DATA``, and a lease in the database.

``acsq ingest`` (with or without ``--new``), ``scripts/ingest_production.py``,
``acsq reingest``, ``acsq quicklook`` and ``acsq demo`` take
``$ACSQ_DATA/ingest.lock`` with ``fcntl.flock``,
without waiting. A second run while one holds it stops at once with
:class:`IngestLocked` (exit status 75, ``EX_TEMPFAIL``: "try again later"),
so an hourly cron job never piles up behind a long run. The kernel releases
the lock when the process ends, however it ends (even ``kill -9``): a
stale lock file is harmless and never needs removing.

The file holds who has the lock (pid, host, command, since when), for the
message the second run prints. flock works across containers that share
the ``/data`` volume on one host; on a network file system it may not, so
keep ``ACSQ_DATA`` local to the machine that runs the ingest client.

Two hosts do not share that file, so the lock is also a lease in the database
(:mod:`acsq_mongo.db.lease`): with the setting ``ingest_lease_s`` (default
60 s; 0 for the lock file alone), a run takes the lease after the lock file,
renews it from a thread while it runs, and gives it up at the end. A run that
finds the lease held stops as it does on the lock file. A holder that crashes
stops renewing, and its lease expires after ``ingest_lease_s``.

Before the lease is given up, header-keyword indexes made while the run held
it get their catalog copies completed
(:func:`acsq_mongo.ingest.keyword_indexes.complete_header_indexes`): until then the
queries on them read ``rootnames``.

``acsq db index`` does not take the lock: an index is wanted while a long
ingest runs, and the state recorded with the index keeps its queries right
(:mod:`acsq_mongo.db.header_indexes`).
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from acsq_mongo.db.connection import connect
from acsq_mongo.db.lease import Heartbeat, new_owner, release_lease, take_lease
from acsq_mongo.errors import AcsqError

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["IngestLocked", "LOCKED_EXIT_STATUS", "ingest_lock", "lock_path"]

#: Exit status of a run that found another holding the lock (sysexits EX_TEMPFAIL).
LOCKED_EXIT_STATUS = 75


class IngestLocked(AcsqError):
    """Another ingest holds the lock."""

    exit_code = LOCKED_EXIT_STATUS


def lock_path(settings: Settings) -> Path:
    """The lock file, ``$ACSQ_DATA/ingest.lock``."""
    return settings.data / "ingest.lock"


@contextmanager
def ingest_lock(settings: Settings, command: str | None = None) -> Iterator[Path]:
    """Hold the ingest lock for the duration of the ``with`` block.

    Parameters
    ----------
    settings : Settings
        Uses ``data``, ``ingest_lease_s`` and the database's (``mongo_uri``, ``db``).
    command : str, optional
        What holds the lock, for the message another run prints; default:
        this process's command line.

    Yields
    ------
    path : Path
        The lock file.

    Raises
    ------
    IngestLocked
        At once, if another process holds the lock, or another run (on any host) the
        lease.
    """
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip()
            raise IngestLocked(
                f"another ingest is running ({holder or 'holder unknown'}); "
                f"this one stops (lock {path})"
            ) from None
        since = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        what = command or " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])
        holder = f"pid {os.getpid()} on {socket.gethostname()}, {what!r}, since {since}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder}\n".encode(), 0)
        with _lease(settings, holder):
            yield path
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def _lease(settings: Settings, what: str) -> Iterator[None]:
    """Hold the database lease (:mod:`acsq_mongo.db.lease`) for the ``with`` block."""
    seconds = settings.ingest_lease_s
    if not seconds:
        yield
        return
    db = connect(settings)
    try:
        yield from _held(db, what, seconds)
    finally:
        db.client.close()


def _held(db: Database, what: str, seconds: int) -> Iterator[None]:
    """Take the lease, renew it while the caller runs, complete header indexes, give it up."""
    owner = new_owner()
    held = take_lease(db, owner, what, seconds)
    if held is not None:
        raise IngestLocked(
            f"another ingest is running ({held.get('what') or held.get('owner')}; its lease in "
            f"the database runs to {held['expires']:%Y-%m-%d %H:%M:%S} UTC unless renewed); "
            "this one stops")
    heartbeat = Heartbeat(db, owner, seconds)
    try:
        yield
        # The run is over, and still holds the lease: no batch of it is in flight.
        from acsq_mongo.ingest.keyword_indexes import complete_header_indexes  # (the writes)

        complete_header_indexes(db)
    finally:
        heartbeat.stop()
        release_lease(db, owner)
