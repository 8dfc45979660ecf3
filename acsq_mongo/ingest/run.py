"""A run over an archive: discovery, the runner, the run log and the summary.

:func:`run_ingest` ingests an archive (or a selection of rootnames, or only
what is new or changed) with a run log in ``$ACSQ_DATA/logs`` and a summary.
The rootnames themselves are ingested by a runner:
:class:`~acsq_mongo.ingest.batch.InProcessRunner` (this process,
:func:`~acsq_mongo.ingest.batch.ingest_many`) or
:class:`acsq_mongo.ingest.dask_runner.DaskRunner` (batches on a Dask cluster,
each batch :func:`~acsq_mongo.ingest.batch.ingest_many` on a worker). Whatever
runs them, the run log, the summary, the proposal summaries and
``meta.last_ingest`` are done by the caller, once per run
(:func:`ingest_folders`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymongo.errors

from acsq_mongo.archive.discover import RootnameFolder, discover_archive
from acsq_mongo.db.collections import META
from acsq_mongo.db.connection import connect
from acsq_mongo.db.generation import utcnow
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.errors import AcsqError, DatabaseUnavailable
from acsq_mongo.images.scratch import remove_leftovers
from acsq_mongo.ingest.batch import InProcessRunner
from acsq_mongo.ingest.changes import compare_with_catalog
from acsq_mongo.ingest.hold import hold
from acsq_mongo.ingest.rootname import RootnameResult
from acsq_mongo.ingest.run_log import start_run_log
from acsq_mongo.ingest.summaries import refresh_summaries

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "IngestSummary",
    "run_ingest",
    "ingest_folders",
    "resolve_archive",
    "database_guard",
    "close_summary",
]

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """The outcome of :func:`run_ingest`."""

    rootnames: int = 0
    ingested: int = 0
    unchanged: int = 0
    failed: int = 0
    files: int = 0
    files_read: int = 0
    errors: int = 0
    quicklooks_made: int = 0
    quicklooks_fresh: int = 0
    skipped: int = 0
    not_visited: int = 0
    problems: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None
    #: ``time.perf_counter()`` when the run started (when the summary was made).
    started: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def ok(self) -> bool:
        """True if nothing failed."""
        return self.failed == 0 and not self.problems

    def add(self, result: RootnameResult) -> None:
        self.rootnames += 1
        setattr(self, result.status, getattr(self, result.status) + 1)
        self.files_read += result.files_read
        self.files += result.files_read + result.files_kept
        self.errors += len(result.errors)
        self.quicklooks_made += result.quicklooks_made
        self.quicklooks_fresh += result.quicklooks_fresh
        for e in result.errors:
            self.failures.append(f"{e['path']}: {e['error']}")

    def text(self) -> str:
        """The summary, as printed and logged."""
        line = (
            f"{self.rootnames} rootnames in {self.seconds:.1f} s: {self.ingested} ingested, "
            f"{self.unchanged} unchanged, {self.failed} failed; {self.files} files "
            f"({self.files_read} read); {self.errors} errors"
        )
        if self.quicklooks_made or self.quicklooks_fresh:
            line += (f"; quicklooks: {self.quicklooks_made} made, "
                     f"{self.quicklooks_fresh} fresh")
        if self.problems:
            line += f"; {len(self.problems)} problems"
        if self.skipped:
            line += f"; {self.skipped} stray entries skipped"
        if self.not_visited:
            line += f"; {self.not_visited} unchanged rootnames not visited"
        return line


def resolve_archive(settings: Settings, archive: str | os.PathLike | None = None) -> Path:
    """Return the archive root: ``archive``, else the ``archive`` setting, made absolute.

    Raises
    ------
    AcsqError
        If there is none, or it is not a folder.
    """
    archive = archive if archive is not None else settings.archive
    if archive is None:
        raise AcsqError("no archive: give ARCHIVE or set ACSQ_ARCHIVE")
    archive = Path(archive).expanduser().absolute()
    if not archive.is_dir():
        raise AcsqError(f"archive {archive} is not a folder")
    return archive


@contextmanager
def database_guard(summary: IngestSummary):
    """Turn a lost database into :class:`DatabaseUnavailable`, logged, with a hint."""
    try:
        yield
    except pymongo.errors.ConnectionFailure as exc:
        log.error("Lost the database: %s", exc)
        raise DatabaseUnavailable(
            f"lost the database during ingest ({type(exc).__name__}); "
            f"what was written so far is kept; run again to finish. Log: {summary.log_path}"
        ) from None


def ingest_folders(
    db: Database,
    settings: Settings,
    folders: list[RootnameFolder],
    summary: IngestSummary,
    force: bool = False,
    quicklook: bool = True,
    runner: InProcessRunner | Any | None = None,
    progress: Callable[[int, int, RootnameResult | None], None] | None = None,
) -> IngestSummary:
    """Ingest rootname folders with a runner, then finish the run.

    The client side of a run, once per run: it hands the folders to the
    runner (in this process, or batches on Dask), adds each result to
    ``summary`` as it comes, and at the end rebuilds the proposal summaries
    and records ``meta.last_ingest``. Before and after the work it removes
    the temporary images of writers killed mid-write
    (:func:`acsq_mongo.images.scratch.remove_leftovers`). With no folders it
    does nothing.

    Parameters
    ----------
    db : Database
    settings : Settings
        ``archive`` must be set (absolute).
    folders : list of RootnameFolder
    summary : IngestSummary
        Receives the results.
    force, quicklook : bool
        As for :func:`ingest_rootname`.
    runner : InProcessRunner or DaskRunner, optional
        Default: this process, one rootname at a time.
    progress : callable, optional
        Called as ``progress(0, total, None)`` when the runner is ready
        (a cluster started), then ``progress(done, total, result)`` after
        each rootname.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, after logging how far the run got (the runner has
        stopped its work); everything written so far is kept.
    """
    if not folders:
        return summary
    runner = runner if runner is not None else InProcessRunner()
    total = len(folders)
    done = 0

    def on_result(result: RootnameResult) -> None:
        nonlocal done
        done += 1
        summary.add(result)
        if progress is not None:
            progress(done, total, result)

    remove_leftovers(settings.data)   # of a run killed before: no writer of this one yet
    try:
        runner.start()
        if progress is not None:
            progress(0, total, None)
        runner.run(db, settings, folders, force=force, quicklook=quicklook, on_result=on_result)
    except KeyboardInterrupt:
        log.warning("Interrupted after %d of %d rootnames; what was written is kept; "
                    "run again to finish", done, total)
        raise
    remove_leftovers(settings.data)   # of workers killed during this run
    hold(settings, "summaries")
    counts = refresh_summaries(db, settings)
    log.info("Updated proposals: %d proposals, %d written, %d removed; galleries: %d, "
             "%d written", counts["proposals"], counts["written"], counts["removed"],
             counts["galleries"], counts["galleries_written"])
    db[META].replace_one(
        {"_id": "last_ingest"},
        {"_id": "last_ingest", "time": utcnow(), "archive": str(settings.archive),
         "rootnames": summary.rootnames, "ingested": summary.ingested,
         "unchanged": summary.unchanged, "failed": summary.failed,
         "files": summary.files, "errors": summary.errors,
         "seconds": round(time.perf_counter() - summary.started, 3)},
        upsert=True,
    )
    return summary


def close_summary(summary: IngestSummary) -> IngestSummary:
    """Log the run's problems and its summary line; set ``summary.seconds``."""
    for problem in summary.problems:
        log.error("%s", problem)
    summary.seconds = time.perf_counter() - summary.started
    log.log(logging.INFO if summary.ok else logging.WARNING, "Summary: %s", summary.text())
    return summary


def run_ingest(
    settings: Settings,
    archive: str | os.PathLike | None = None,
    rootnames: Iterable[str] | None = None,
    force: bool = False,
    quicklook: bool = True,
    progress: Callable[[int, int, RootnameResult | None], None] | None = None,
    new_only: bool = False,
    runner: InProcessRunner | Any | None = None,
) -> IngestSummary:
    """Ingest an archive, or some of its rootnames.

    Parameters
    ----------
    settings : Settings
    archive : path-like, optional
        The archive root; default: the ``archive`` setting (ACSQ_ARCHIVE).
    rootnames : iterable of str, optional
        Only these rootnames (9 characters or the 8-character ``_id``).
    force : bool
        Read every file and make every quicklook image again.
    quicklook : bool
        Make quicklook images.
    progress : callable, optional
        Called as ``progress(done, total, result)`` after each rootname
        (and ``progress(0, total, None)`` when the work starts).
    new_only : bool
        The production ingest of new data: only rootnames that are not in
        the catalog, or whose files changed (``files_sig``), are visited; the
        unchanged ones are not touched at all (their ``last_ingest_date``
        stays). The run log is ``ingest_production_<time>.log``. Nothing to
        do is a success.
    runner : InProcessRunner or DaskRunner, optional
        Where the rootnames are ingested; default: this process, one after
        the other. The run log, the summary, the proposals and
        ``meta.last_ingest`` are always done here, once per run.

    Returns
    -------
    summary : IngestSummary
        ``summary.ok`` is False if anything failed.

    Raises
    ------
    AcsqError
        If there is no archive folder.
    DatabaseUnavailable
        If the database cannot be reached, or goes away during the run.
    KeyboardInterrupt
        On Ctrl-C; what was written is kept, and a rerun finishes the job.
    """
    archive = resolve_archive(settings, archive)
    settings = settings.replace(archive=archive)
    summary = IngestSummary()
    summary.log_path = start_run_log("ingest_production" if new_only else "ingest", settings)
    with database_guard(summary):
        db = connect(settings)
        ensure_indexes(db)
        log.info("Gathering files to ingest from %s", archive)
        selection = list(rootnames) if rootnames is not None else None
        discovery = discover_archive(archive, selection)
        summary.skipped = len(discovery.skipped)
        summary.problems = [message for _, message in discovery.problems]
        log.info("Found %d rootnames (%d files); %d stray entries skipped", len(discovery.folders),
                 discovery.n_files, summary.skipped)
        folders = discovery.folders
        if new_only:
            changes = compare_with_catalog(folders, db)
            folders = sorted(changes.new + changes.changed, key=lambda f: f.rootname)
            summary.not_visited = len(changes.unchanged)
            log.info("New: %d rootnames; changed: %d; unchanged (not visited): %d",
                     len(changes.new), len(changes.changed), len(changes.unchanged))
            if not folders:
                log.info("Nothing to ingest")
        if folders:
            log.info("Ingesting %d rootnames %s", len(folders),
                     runner.describe() if runner is not None else "in this process")
        ingest_folders(db, settings, folders, summary, force=force, quicklook=quicklook,
                       runner=runner, progress=progress)
    return close_summary(summary)
