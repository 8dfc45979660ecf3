"""The worker side of a Dask ingest: one task ingests one batch of rootnames.

:func:`ingest_batch` runs on a worker, on that worker process's own database
connection (:func:`worker_database`), and returns small results: the
per-rootname counts and errors, and the ``acsq_mongo`` log records of its
batch (:func:`capture_logs`), which the client writes into the run log
(:func:`replay_records`). :func:`dask_setup` is the workers' preload. The
client side is :mod:`acsq_mongo.ingest.dask_runner`.
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.connection import connect
from acsq_mongo.errors import AcsqError
from acsq_mongo.ingest.batch import ingest_many
from acsq_mongo.ingest.rootname import RootnameResult

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.archive.discover import RootnameFolder
    from acsq_mongo.settings import Settings

__all__ = [
    "THREADS_PER_WORKER",
    "BatchOutcome",
    "ingest_batch",
    "worker_database",
    "capture_logs",
    "replay_records",
    "check_worker",
    "dask_setup",
    "Record",
]

log = logging.getLogger(__name__)

#: Rootnames a worker (or the in-process runner) ingests at the same time, in
#: threads: while one waits for the server to store its document, the other
#: parses headers or draws images (see the README's distributed benchmark).
THREADS_PER_WORKER = 2


#: One database client per worker process and server, made on first use.
_CLIENTS: dict[tuple[str, float], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def worker_database(settings: Settings) -> Database:
    """Return this process's connection to the database named by ``settings``.

    One client (with its connection pool) per process and ``(mongo_uri,
    server_timeout)``, made on the first task and reused by every later
    task on that worker; the database is picked by ``settings.db``.
    """
    key = (settings.mongo_uri, settings.server_timeout)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            db = connect(settings)
            _CLIENTS[key] = db.client
            return db
    return client[settings.db]


#: The capture that the current context's log records go to, if any.
_CAPTURE: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar(
    "acsq_log_capture", default=None)

#: A captured log record: (time, level, logger name, message, process id).
Record = tuple[float, int, str, str, int]


class _Capture(logging.Handler):
    """Keeps the records of one batch (its context and the threads it starts)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        return _CAPTURE.get() is self

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + self._formatter.formatException(record.exc_info)
        except Exception:  # a bad format string must not lose the batch
            message = str(record.msg)
        self.records.append((record.created, record.levelno, record.name, message,
                             record.process or 0))


@contextmanager
def capture_logs(level: str | int = logging.INFO):
    """Capture the ``acsq_mongo`` log records of this context (and its threads).

    Yields the list the records go to, as :data:`Record` tuples. Records of
    other tasks running on the same worker at the same time are not mixed
    in: each capture sees only its own context.
    """
    levelno = level if isinstance(level, int) else logging.getLevelName(level)
    logger = logging.getLogger("acsq_mongo")
    logger.setLevel(levelno)   # the run's log_level (a worker has no run log of its own)
    handler = _Capture()
    token = _CAPTURE.set(handler)
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        _CAPTURE.reset(token)


def replay_records(records: Sequence[Record]) -> int:
    """Write log records captured on workers into this process's logs (the run log).

    Records made in this very process (a threaded test cluster) were logged
    here already and are skipped, as are records below this process's log
    level. Their time stays the worker's.

    Returns
    -------
    n : int
        Records written.
    """
    me = os.getpid()
    n = 0
    for created, levelno, name, message, pid in records:
        logger = logging.getLogger(name)
        if pid == me or not logger.isEnabledFor(levelno):
            continue
        record = logging.makeLogRecord({
            "name": name, "levelno": levelno, "levelname": logging.getLevelName(levelno),
            "msg": message, "args": None, "created": created,
            "msecs": (created - int(created)) * 1000, "process": pid,
        })
        logger.handle(record)
        n += 1
    return n


@dataclass
class BatchOutcome:
    """What :func:`ingest_batch` sends back: small, never documents.

    Attributes
    ----------
    results : list of RootnameResult
    records : list of Record
        The batch's log records, for the run log.
    worker : str
        ``host:pid`` of the worker process.
    seconds : float
        Time the batch took on the worker.
    """

    results: list[RootnameResult] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    worker: str = ""
    seconds: float = 0.0


def ingest_batch(
    settings: Settings,
    folders: Sequence[RootnameFolder],
    force: bool = False,
    quicklook: bool = True,
    threads: int = THREADS_PER_WORKER,
) -> BatchOutcome:
    """Ingest a batch of rootname folders on a worker: one Dask task.

    :func:`acsq_mongo.ingest.batch.ingest_many` on this worker's own connection
    (:func:`worker_database`), with the batch's log records captured.

    Raises
    ------
    pymongo.errors.ConnectionFailure, DatabaseUnavailable
        If the database cannot be reached: the task fails and Dask runs it
        again (``retries=1``).
    """
    started = time.perf_counter()
    db = worker_database(settings)
    with capture_logs(settings.log_level) as records:
        results = ingest_many(db, settings, folders, force=force, quicklook=quicklook,
                              threads=threads)
    return BatchOutcome(results, records, f"{socket.gethostname()}:{os.getpid()}",
                        time.perf_counter() - started)


def check_worker(settings: Settings) -> str | None:
    """Return why this worker cannot ingest, or None: run on every worker before a run."""
    try:
        worker_database(settings)
    except AcsqError as exc:
        return str(exc)
    if settings.archive is not None and not settings.archive.is_dir():
        return f"archive {settings.archive} is not a folder on this worker"
    try:
        settings.data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot write to ACSQ_DATA {settings.data}: {exc.strerror or exc}"
    return None


class _NoHeartbeatTraceback(logging.Filter):
    """Drop the worker's "Failed to communicate with scheduler during heartbeat" record.

    Its traceback (a closed comm) reached the terminal when a Ctrl-C closed the
    cluster while a heartbeat was in flight. A scheduler really lost mid-run is
    reported by the client, in one line (exit 4), so the record tells the user
    nothing more.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to communicate with scheduler during "
                                              "heartbeat")


HEARTBEAT_FILTER = _NoHeartbeatTraceback()


def dask_setup(worker: Any = None) -> None:
    """Worker preload: ignore SIGINT, quiet a closing heartbeat, import what a task needs.

    A Ctrl-C in a terminal goes to every process of the foreground group,
    LocalCluster workers included; without this each would print a
    traceback. The client then cancels their tasks and closes them; a
    heartbeat caught by that close logs no traceback (:data:`HEARTBEAT_FILTER`).

    The imports (astropy, numpy, Pillow: ~1 s) are paid when the worker
    starts, not by its first batch.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    heartbeat = logging.getLogger("distributed.worker")
    if HEARTBEAT_FILTER not in heartbeat.filters:
        heartbeat.addFilter(HEARTBEAT_FILTER)
    import acsq_mongo.images.quicklook  # noqa: F401
