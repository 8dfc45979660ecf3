"""Ingest on a Dask cluster: batches of rootnames, each worker with its own connection.

:class:`DaskRunner` runs an ingest's rootnames on a Dask cluster: a running
one (``scheduler`` setting, ``tcp://host:8786``) or a LocalCluster of
``workers`` processes with one thread each, started for the run. It has the
interface of :class:`acsq_mongo.ingest.rootname.InProcessRunner`, so
:func:`acsq_mongo.ingest.rootname.run_ingest` and the re-ingest use either.

How a run goes:

- The rootname folders found on the client are cut into batches of
  ``batch_size`` (a cluster takes ~1 s to start and each task costs a
  round trip of several ms, so a task is a batch, never one file).
- Each batch is one task, :func:`ingest_batch`, submitted with
  ``retries=1``. It runs :func:`acsq_mongo.ingest.rootname.ingest_many` (so
  :func:`~acsq_mongo.ingest.rootname.ingest_rootname` stays the unit of work) on the
  worker's own database connection, made once per worker process
  (:func:`worker_database`). Only Settings (a small frozen dataclass) and
  folder listings go to the workers, and only small results come back: the
  per-rootname counts and errors, and the worker's log lines for the run
  log. Documents never pass through the scheduler.
- At most a few tasks per worker thread are in flight, so a million
  rootnames do not all sit in the scheduler at once.
- A task that raises (say the database dropped the connection) is run once
  more; if it fails again, each of its rootnames is recorded as failed,
  with the error, in the summary and in ``ingest_errors``. A worker killed
  mid-task (``kill -9``) costs nothing but time: the scheduler runs its
  tasks again elsewhere, and since every rootname is one upsert by ``_id``
  the documents come out the same.
- Ctrl-C cancels the tasks and shuts the cluster down. LocalCluster workers
  ignore SIGINT (:func:`dask_setup`, run in every worker process as a
  preload), so a Ctrl-C in the terminal stops the client only and no
  worker prints a traceback.
- Workers log into nothing of their own: :func:`ingest_batch` captures the
  ``acsq_mongo`` log records of its batch and returns them, and the client
  writes them into the run log (:func:`replay_records`), so the run log
  tells the same story as an in-process run.

Workers must see the archive and ``ACSQ_DATA`` at the same paths as the
client (one machine, or shared mounts as in docker-compose.yml).
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.connection import connect
from acsq_mongo.errors import AcsqError, ConfigError
from acsq_mongo.ingest.rootname import InProcessRunner, RootnameResult, failed_result, ingest_many
from acsq_mongo.ingest.store import record_errors

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.archive.discover import RootnameFolder
    from acsq_mongo.settings import Settings

__all__ = [
    "THREADS_PER_WORKER",
    "BatchOutcome",
    "DaskRunner",
    "make_runner",
    "ingest_batch",
    "worker_database",
    "capture_logs",
    "replay_records",
    "check_worker",
    "dask_setup",
    "default_workers",
]

log = logging.getLogger(__name__)

#: Rootnames a worker (or the in-process runner) ingests at the same time, in
#: threads: while one waits for the server to store its document, the other
#: parses headers or draws images (see the README's distributed benchmark).
THREADS_PER_WORKER = 2

#: Tasks in flight per worker thread of the cluster.
_TASKS_PER_THREAD = 3

#: How often the client looks again at how many workers the cluster has (seconds).
_REFRESH_WORKERS = 5.0

#: The dashboard's usual port; another free one is used if it is taken.
_DASHBOARD = ":8787"


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------
# On the worker


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

    :func:`acsq_mongo.ingest.rootname.ingest_many` on this worker's own connection
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


def dask_setup(worker: Any = None) -> None:
    """Worker preload: ignore SIGINT, and import what a task needs.

    A Ctrl-C in a terminal goes to every process of the foreground group,
    LocalCluster workers included; without this each would print a
    traceback. The client then cancels their tasks and closes them.

    The imports (astropy, numpy, Pillow: ~1 s) are paid when the worker
    starts, not by its first batch.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    import acsq_mongo.images.quicklook  # noqa: F401


# ----------------------------------------------------------------------------
# On the client


class DaskRunner:
    """Run an ingest's rootnames on a Dask cluster, in batches.

    Parameters
    ----------
    settings : Settings
        ``scheduler``: the address of a running cluster; if None, a
        LocalCluster of ``workers`` processes (default: the number of
        cores), one thread each, is started on first use and closed by
        :meth:`close`. ``batch_size``: rootnames per task.
        ``server_timeout``: seconds to wait for the scheduler.
    threads : int
        Rootnames each task ingests at the same time (threads in the task).
    notify : callable, optional
        Called with one line for the user when the cluster is up (where it
        runs and the dashboard address).
    client : distributed.Client, optional
        Use this client (tests); it is not closed by :meth:`close`.

    Use it as a context manager, so the cluster is closed however the run
    ends.
    """

    def __init__(self, settings: Settings, threads: int = THREADS_PER_WORKER,
                 notify: Callable[[str], None] | None = None, client: Any = None):
        if settings.workers is not None and settings.workers < 0:
            raise ConfigError(f"setting 'workers' must be 0 or more; got {settings.workers}")
        if settings.batch_size < 1:
            raise ConfigError(f"setting 'batch_size' must be 1 or more; got "
                              f"{settings.batch_size}")
        self.scheduler = settings.scheduler
        self.workers = settings.workers or default_workers()
        self.batch_size = settings.batch_size
        self.timeout = max(settings.server_timeout, 1.0)
        self.threads = max(1, threads)
        self.notify = notify
        self.dashboard: str | None = None
        self._client = client
        self._owns_client = client is None
        self._cluster = None
        self._nthreads = 0
        self._nthreads_at = 0.0

    def describe(self) -> str:
        where = f"scheduler {self.scheduler}" if self.scheduler else (
            f"a LocalCluster of {self.workers} worker processes")
        if self._client is not None and not self._owns_client:
            where = f"the Dask cluster of {self._client}"
        return (f"on Dask ({where}), batches of {self.batch_size}, "
                f"{self.threads} at a time per worker")

    # -- the cluster

    def start(self) -> Any:
        """Connect to the cluster, or start the LocalCluster; return the client."""
        if self._client is not None:
            return self._client
        from distributed import Client

        if self.scheduler:
            _check_address(self.scheduler)
            try:
                self._client = Client(self.scheduler, timeout=f"{self.timeout:g}s")
            except (OSError, TimeoutError, ValueError) as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise AcsqError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                                f"{reason}") from None
            where = f"scheduler {self.scheduler}"
        else:
            self._cluster = self._local_cluster()
            self._client = Client(self._cluster)
            where = f"LocalCluster, {self.workers} workers x 1 thread"
        self.dashboard = self._client.dashboard_link
        line = f"Dask: {where}; dashboard {self.dashboard}"
        log.info("%s", line)
        if self.notify is not None:
            self.notify(line)
        return self._client

    def _local_cluster(self) -> Any:
        from distributed import LocalCluster

        # Workers started while SIGINT is ignored inherit that; workers that
        # the nanny restarts later get it from the preload (dask_setup).
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*already in use.*")
                return LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    dashboard_address=_DASHBOARD, silence_logs=logging.ERROR,
                    preload=[__name__],
                )
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)

    def close(self) -> None:
        """Close the client and the LocalCluster (if this runner started them)."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if not self._owns_client:
            return
        try:
            if client is not None:
                client.close(timeout=10)
        finally:
            if cluster is not None:
                cluster.close(timeout=10)

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _window(self, client: Any) -> int:
        """Tasks to keep in flight: a few per worker thread of the cluster now."""
        now = time.monotonic()
        if now - self._nthreads_at > _REFRESH_WORKERS:
            self._nthreads = sum(client.nthreads().values())
            self._nthreads_at = now
        return max(4, _TASKS_PER_THREAD * self._nthreads)

    def _check_workers(self, client: Any, settings: Settings) -> None:
        problems = {worker: problem
                    for worker, problem in client.run(check_worker, settings).items() if problem}
        if problems:
            worker, problem = sorted(problems.items())[0]
            raise AcsqError(f"Dask worker {worker} cannot ingest: {problem}"
                            + (f" (and {len(problems) - 1} more workers)"
                               if len(problems) > 1 else ""))

    # -- the run

    def run(self, db: Database, settings: Settings, folders: Sequence[RootnameFolder],
            force: bool, quicklook: bool,
            on_result: Callable[[RootnameResult], None]) -> None:
        """Ingest ``folders`` in batches on the cluster; ``on_result(result)`` for each.

        Raises
        ------
        AcsqError
            If the scheduler cannot be reached, or a worker cannot reach the
            database or the archive.
        KeyboardInterrupt
            On Ctrl-C, after cancelling the tasks.
        """
        from distributed import as_completed

        client = self.start()
        self._check_workers(client, settings)
        run_id = uuid.uuid4().hex[:8]
        batches = [list(folders[i:i + self.batch_size])
                   for i in range(0, len(folders), self.batch_size)]
        queue = iter(enumerate(batches))
        in_flight: dict[Any, list[RootnameFolder]] = {}
        completed = as_completed()

        def submit_more() -> None:
            while len(in_flight) < self._window(client):
                try:
                    number, batch = next(queue)
                except StopIteration:
                    return
                future = client.submit(
                    ingest_batch, settings, batch, force, quicklook, self.threads,
                    key=f"acsq-ingest-{run_id}-{number}", retries=1, pure=False,
                )
                in_flight[future] = batch
                completed.add(future)

        try:
            submit_more()
            for future in completed:
                batch = in_flight.pop(future)
                if future.status == "finished":
                    outcome = future.result()
                    replay_records(outcome.records)
                    log.debug("Batch %s (%d rootnames) done on %s in %.1f s", future.key,
                              len(batch), outcome.worker, outcome.seconds)
                    for result in outcome.results:
                        on_result(result)
                else:
                    self._batch_failed(db, future, batch, on_result)
                future.release()
                submit_more()
        except BaseException:
            if in_flight:
                try:
                    client.cancel(list(in_flight))
                except Exception:  # the cluster is going down anyway
                    log.debug("could not cancel the tasks in flight", exc_info=True)
            raise

    @staticmethod
    def _batch_failed(db, future, batch, on_result) -> None:
        try:
            exc = future.exception()
        except Exception as other:  # cancelled: there is no exception to fetch
            exc = other
        message = (f"Dask task failed twice (retried once): {type(exc).__name__}: "
                   f"{' '.join(str(exc).split())}")
        log.error("%s..%s: %s", batch[0].rootname, batch[-1].rootname, message)
        for folder in batch:
            result = failed_result(folder, message)
            record_errors(db, result.errors)
            on_result(result)


def _check_address(address: str) -> None:
    """Refuse a malformed scheduler address before a Client is made of it."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        parse_host_port(location)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"setting 'scheduler' must be an address such as "
                          f"tcp://dask-scheduler:8786; got {address!r} ({reason})") from None


def make_runner(settings: Settings, notify: Callable[[str], None] | None = None,
                threads: int = THREADS_PER_WORKER) -> InProcessRunner | DaskRunner:
    """The runner the settings ask for.

    ``workers`` 0: :class:`~acsq_mongo.ingest.rootname.InProcessRunner` (no Dask, for
    debugging and small runs), whatever ``scheduler`` says; so too for a
    ``mongomock://`` database, which lives in this process's memory only.
    Otherwise a :class:`DaskRunner`: the ``scheduler``'s cluster, or a
    LocalCluster.
    """
    if settings.workers == 0 or settings.mongo_uri.startswith("mongomock://"):
        return InProcessRunner(threads=threads)
    return DaskRunner(settings, threads=threads, notify=notify)
