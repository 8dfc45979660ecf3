"""Ingest on a Dask cluster: batches of rootnames, each worker with its own connection.

:class:`DaskRunner` runs an ingest's rootnames on a Dask cluster: a running
one (``scheduler`` setting, ``tcp://host:8786``) or a LocalCluster of
``workers`` processes with one thread each, started for the run. It has the
interface of :class:`acsq_mongo.ingest.batch.InProcessRunner`, so
:func:`acsq_mongo.ingest.run.run_ingest` and the re-ingest use either.

How a run goes:

- The rootname folders found on the client are cut into batches of
  ``batch_size`` (a cluster takes ~1 s to start and each task costs a
  round trip of several ms, so a task is a batch, never one file).
- Each batch is one task, :func:`~acsq_mongo.ingest.dask_worker.ingest_batch`, submitted with
  ``retries=1``. It runs :func:`acsq_mongo.ingest.batch.ingest_many` (so
  :func:`~acsq_mongo.ingest.rootname.ingest_rootname` stays the unit of work) on the
  worker's own database connection, made once per worker process
  (:func:`~acsq_mongo.ingest.dask_worker.worker_database`). Only Settings (a
  small frozen dataclass) and folder listings go to the workers, and only
  small results come back: the per-rootname counts and errors, and the
  worker's log lines for the run log. Documents never pass through the scheduler.
- At most a few tasks per worker thread are in flight, so a million
  rootnames do not all sit in the scheduler at once.
- A task that raises (say the database dropped the connection) is run once
  more; if it fails again, each of its rootnames is recorded as failed,
  with the error, in the summary and in ``ingest_errors``. A worker killed
  mid-task (``kill -9``) costs nothing but time: the scheduler runs its
  tasks again elsewhere, and since every rootname is one upsert by ``_id``
  the documents come out the same.
- A lost scheduler (killed, or its machine gone) ends the run with
  :class:`~acsq_mongo.errors.ClusterUnavailable` once the client gives up
  reconnecting (~10 s): the tasks in flight were cancelled, not failed, so
  their rootnames are not recorded as failed, and a rerun finishes them.
- Ctrl-C cancels the tasks and shuts the cluster down. LocalCluster workers
  ignore SIGINT (:func:`~acsq_mongo.ingest.dask_worker.dask_setup`, run in every worker process as a
  preload), so a Ctrl-C in the terminal stops the client only and no
  worker prints a traceback.
- Workers log into nothing of their own:
  :func:`~acsq_mongo.ingest.dask_worker.ingest_batch` captures the
  ``acsq_mongo`` log records of its batch and returns them, and the client
  writes them into the run log
  (:func:`~acsq_mongo.ingest.dask_worker.replay_records`), so the run log
  tells the same story as an in-process run.

Workers must see the archive and ``ACSQ_DATA`` at the same paths as the
client (one machine, or shared mounts as in docker-compose.yml).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from acsq_mongo.errors import AcsqError, ClusterUnavailable, ConfigError
from acsq_mongo.ingest import dask_worker
from acsq_mongo.ingest.batch import InProcessRunner, failed_result
from acsq_mongo.ingest.dask_worker import (
    THREADS_PER_WORKER,
    check_worker,
    ingest_batch,
    replay_records,
)
from acsq_mongo.ingest.rootname import RootnameResult
from acsq_mongo.ingest.store import record_errors

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.archive.discover import RootnameFolder
    from acsq_mongo.settings import Settings

__all__ = [
    "THREADS_PER_WORKER",
    "DaskRunner",
    "make_runner",
    "default_workers",
]

log = logging.getLogger(__name__)

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
                raise ClusterUnavailable(f"cannot reach the Dask scheduler at "
                                         f"{self.scheduler}: {reason}") from None
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
                    preload=[dask_worker.__name__],
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
                with _quiet_reconnects():   # a lost scheduler: the run said so already
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
        ClusterUnavailable
            If the scheduler goes away during the run (its tasks are cancelled,
            not failed: their rootnames are not recorded as failed).
        KeyboardInterrupt
            On Ctrl-C, after cancelling the tasks.
        """
        from distributed import as_completed
        from distributed.comm.core import CommClosedError

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
            with _quiet_reconnects():
                try:
                    submit_more()
                    for future in completed:
                        self._collect(db, client, future, in_flight.pop(future), on_result)
                        future.release()
                        submit_more()
                except CommClosedError as exc:
                    # The scheduler went away while a result (or the cluster's size) was
                    # being fetched: the same lost cluster, caught mid-call.
                    raise self._cluster_lost(client, f"a call to it failed: {exc}") from None
        except BaseException:
            if in_flight:
                try:
                    client.cancel(list(in_flight))
                except Exception:  # the cluster is going down anyway
                    log.debug("could not cancel the tasks in flight", exc_info=True)
            raise

    def _collect(self, db, client, future, batch, on_result) -> None:
        """Hand a finished task's results to ``on_result``, or deal with its failure."""
        if future.status == "finished":
            outcome = future.result()
            replay_records(outcome.records)
            log.debug("Batch %s (%d rootnames) done on %s in %.1f s", future.key,
                      len(batch), outcome.worker, outcome.seconds)
            for result in outcome.results:
                on_result(result)
        elif future.status == "error":
            self._batch_failed(db, future, batch, on_result)
        else:
            # Cancelled or lost, not failed: the scheduler went away. Its rootnames are
            # not bad; say so, and let a rerun finish them.
            raise self._cluster_lost(client, f"task {future.key} is {future.status}")

    def _cluster_lost(self, client: Any, what: str) -> ClusterUnavailable:
        where = f"scheduler {self.scheduler}" if self.scheduler else "LocalCluster"
        log.error("Lost the Dask cluster (%s): %s; the client is %s", where, what,
                  client.status)
        return ClusterUnavailable(
            f"lost the Dask cluster ({where}) during the ingest; what was written is kept; "
            f"run again to finish")

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


@contextmanager
def _quiet_reconnects():
    """Keep the Dask client's reconnect tracebacks off the terminal during a run.

    When the scheduler goes away the client logs each failed reconnect with a
    traceback; the run then stops with one clear line
    (:class:`~acsq_mongo.errors.ClusterUnavailable`), and the run log has the
    details.
    """
    logger = logging.getLogger("distributed.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


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

    ``workers`` 0: :class:`~acsq_mongo.ingest.batch.InProcessRunner` (no Dask, for
    debugging and small runs), whatever ``scheduler`` says; so too for a
    ``mongomock://`` database, which lives in this process's memory only.
    Otherwise a :class:`DaskRunner`: the ``scheduler``'s cluster, or a
    LocalCluster.
    """
    if settings.workers == 0 or settings.mongo_uri.startswith("mongomock://"):
        return InProcessRunner(threads=threads)
    return DaskRunner(settings, threads=threads, notify=notify)
