"""Many rootnames: the unit of work of a Dask task, and of an in-process run.

:func:`ingest_many` runs :func:`acsq_mongo.ingest.rootname.ingest_rootname` over
rootname folders, a few threads at a time; a rootname whose ingest raises (a bug)
is recorded as failed and the others carry on. :class:`InProcessRunner` is the
runner of an ingest in this process; :class:`acsq_mongo.ingest.dask_runner.DaskRunner`
has the same interface.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

import pymongo.errors

from acsq_mongo.archive.discover import RootnameFolder
from acsq_mongo.db.connection import capabilities
from acsq_mongo.db.generation import utcnow
from acsq_mongo.ingest.rootname import RootnameResult, error_entry, ingest_rootname
from acsq_mongo.ingest.store import record_errors
from acsq_mongo.ingest.store_batch import StoreBatch

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "CHUNK",
    "REPORT_SECONDS",
    "failed_result",
    "ingest_many",
    "InProcessRunner",
]

log = logging.getLogger(__name__)


#: Rootnames whose stored state is read with one query, and whose writes are
#: sent together at most (:class:`acsq_mongo.ingest.store_batch.StoreBatch`).
CHUNK = 100

#: Seconds at most between two sends of the writes held (and reports of results).
REPORT_SECONDS = 1.0


def failed_result(folder: RootnameFolder, message: str, stage: str = "ingest") -> RootnameResult:
    """Return the result of a rootname whose ingest did not finish.

    For a bug in :func:`~acsq_mongo.ingest.rootname.ingest_rootname`, or a
    Dask task that failed on the cluster even after its retry. The error is not recorded here: pass
    ``result.errors`` to :func:`acsq_mongo.ingest.store.record_errors`.

    Parameters
    ----------
    folder : RootnameFolder
    message : str
        What went wrong, e.g. ``"KeyError: 'files'"``.
    stage : str
        The error's stage.
    """
    result = RootnameResult(folder.rootname, status="failed")
    result.errors = [error_entry(folder.rootname, folder.relpath, None, stage, message, utcnow())]
    return result


def _ingest_one(db, settings, folder, force, quicklook, batch) -> RootnameResult:
    try:
        return ingest_rootname(db, settings, folder, force=force, quicklook=quicklook,
                               batch=batch)
    except pymongo.errors.ConnectionFailure:
        raise
    except Exception as exc:  # a bug must not stop the run: record it
        log.exception("%s: ingest failed", folder.rootname)
        return _failed(db, folder, exc)


def _failed(db, folder: RootnameFolder, exc: Exception) -> RootnameResult:
    result = failed_result(folder, f"{type(exc).__name__}: {exc}")
    record_errors(db, result.errors)
    return result


def ingest_many(
    db: Database,
    settings: Settings,
    folders: Iterable[RootnameFolder],
    force: bool = False,
    quicklook: bool = True,
    threads: int = 1,
    on_result: Callable[[RootnameResult], None] | None = None,
) -> list[RootnameResult]:
    """Ingest rootname folders, ``threads`` at a time.

    :func:`ingest_rootname` for each folder, through a
    :class:`~acsq_mongo.ingest.store_batch.StoreBatch`: the stored state of
    :data:`CHUNK` folders is read with one query, and the writes are sent in
    bulk every :data:`CHUNK` rootnames or :data:`REPORT_SECONDS`, whichever
    comes first, from a thread of their own: the server stores a batch while
    this process parses the next. A rootname whose ingest raises (a bug), or
    whose write the server refuses, is recorded as failed and the others
    carry on; a lost database stops everything.

    With ``threads`` > 1 the rootnames run in a thread pool on the one
    database connection: while one thread waits for the server to store a
    document, another parses headers or draws images (the GIL is released
    while waiting on the socket), so the server and this process work at the
    same time.

    Parameters
    ----------
    db : Database
    settings : Settings
    folders : iterable of RootnameFolder
    force, quicklook : bool
        As for :func:`ingest_rootname`.
    threads : int
        Rootnames ingested at the same time (1: one after the other).
        A store that cannot take writes from several threads (mongomock:
        :func:`acsq_mongo.db.connection.capabilities`) always gets 1.
    on_result : callable, optional
        Called in the calling thread with each result, once its writes are
        sent.

    Returns
    -------
    results : list of RootnameResult
        In the order they finished.

    Raises
    ------
    pymongo.errors.ConnectionFailure
        If the database goes away; rootnames not started are not ingested,
        and the writes not yet sent are lost (a rerun redoes them).
    """
    folders = list(folders)
    if not capabilities(db).threads:
        threads = 1
    results: list[RootnameResult] = []
    batch = StoreBatch(db, max_rootnames=CHUNK, background=True, settings=settings)
    refused: dict[int, Exception] = {}
    done: list[tuple[RootnameFolder, RootnameResult]] = []
    last_sent = time.monotonic()

    def send_and_report(final: bool = False) -> None:
        # Each result is reported once its writes are sent (or refused).
        failures = batch.flush() if final else []
        if not final:
            batch.send()
        # Whose writes are sent first: a refusal is known before its rootname stops pending.
        sent = [(folder, result) for folder, result in done if not batch.pending(result)]
        done[:] = [(folder, result) for folder, result in done if batch.pending(result)]
        refused.update((id(result), exc) for result, exc in failures + batch.failures())
        for folder, result in sent:
            exc = refused.get(id(result))
            if exc is not None:
                log.error("%s: ingest failed: its write was refused: %s: %s",
                          folder.rootname, type(exc).__name__, exc)
                result = _failed(db, folder, exc)
            results.append(result)
            if on_result is not None:
                on_result(result)

    pool = None
    if threads > 1 and len(folders) > 1:
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="acsq-ingest")
    try:
        for start in range(0, len(folders), CHUNK):
            chunk = folders[start:start + CHUNK]
            batch.prefetch(folder.id for folder in chunk)
            for folder_result in _run_chunk(db, settings, chunk, force, quicklook, batch, pool):
                done.append(folder_result)
                if time.monotonic() - last_sent >= REPORT_SECONDS:
                    send_and_report()
                    last_sent = time.monotonic()
        send_and_report(final=True)
    finally:
        if pool is not None:
            # On an error or Ctrl-C: drop the rootnames not started; those running finish.
            pool.shutdown(wait=True, cancel_futures=True)
        batch.close()
    return results


def _run_chunk(db, settings, chunk, force, quicklook, batch, pool
               ) -> Iterator[tuple[RootnameFolder, RootnameResult]]:
    """Ingest a chunk of folders; yield ``(folder, result)`` in the order they finish."""
    if pool is None:
        for folder in chunk:
            yield folder, _ingest_one(db, settings, folder, force, quicklook, batch)
        return
    # Each rootname runs in a copy of this context, so that a log capture
    # set up by the caller (a Dask task) sees the records of every thread.
    futures = {pool.submit(contextvars.copy_context().run, _ingest_one, db, settings, folder,
                           force, quicklook, batch): folder for folder in chunk}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        for future in futures:
            future.cancel()


class InProcessRunner:
    """Run an ingest in this process (no Dask), ``threads`` rootnames at a time.

    What ``acsq ingest --workers 0`` uses: for debugging (breakpoints,
    tracebacks) and small archives, where a cluster's start-up (~1 s) is
    not worth it. :class:`acsq_mongo.ingest.dask_runner.DaskRunner` has the same
    interface.
    """

    def __init__(self, threads: int = 1):
        self.threads = threads

    def describe(self) -> str:
        return f"in this process, {self.threads} at a time"

    def start(self) -> None:
        """Nothing to start."""

    def run(self, db, settings, folders, force, quicklook, on_result) -> None:
        """Ingest ``folders``, calling ``on_result(result)`` for each rootname."""
        ingest_many(db, settings, folders, force=force, quicklook=quicklook,
                    threads=self.threads, on_result=on_result)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> InProcessRunner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
