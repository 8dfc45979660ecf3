"""One ingest at a time: a lock file under ``$ACSQ_DATA``.

``acsq ingest`` (with or without ``--new``), ``scripts/ingest_production.py``
and ``acsq reingest`` take ``$ACSQ_DATA/ingest.lock`` with ``fcntl.flock``,
without waiting. A second run while one holds it stops at once with
:class:`IngestLocked` (exit status 75, ``EX_TEMPFAIL``: "try again later"),
so an hourly cron job never piles up behind a long run. The kernel releases
the lock when the process ends, however it ends (even ``kill -9``): a
stale lock file is harmless and never needs removing.

The file holds who has the lock (pid, host, command, since when), for the
message the second run prints. flock works across containers that share
the ``/data`` volume on one host; on a network file system it may not, so
keep ``ACSQ_DATA`` local to the machine that runs the ingest client.
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

from acsq_mongo.errors import AcsqError

if TYPE_CHECKING:
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
        Uses ``data``.
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
        At once, if another process holds the lock.
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
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, {what!r}, "
                      f"since {since}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
