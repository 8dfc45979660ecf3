"""Pixel jobs over catalog rootnames, on Dask or in this process: restartable, batch by batch.

A pixel job (``acsq stats``, ``acsq detect trails``) reads the FITS files of
catalog rootnames and writes a small result back for each. :func:`run_pixel_job`
cuts the entries into batches of ``batch_size``, runs ``measure`` on each
entry of a batch where the files are (a Dask worker: a LocalCluster of
``workers`` processes with one thread each, or the running cluster of the
``scheduler`` setting; ``workers = 0``: this process), and writes each
batch's results from the client as the batch comes back. Only the entries
and the results travel; the workers need no database.

Restartable: what a batch measured is in the store as soon as the batch is
back, and each job selects only what is not measured yet, so a run stopped
anywhere (Ctrl-C, a lost cluster, a killed worker) is finished by running it
again. A batch that raises is run once more (``retries=1``), then its entries
are reported as failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.generation import bump_generation

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["PixelRun", "run_pixel_job", "measure_batch", "BATCH_SIZE"]

log = logging.getLogger(__name__)

#: Rootnames per task (a task costs a round trip of some ms; a rootname some 0.1-40 s).
BATCH_SIZE = 10

#: ``measure(settings, entry) -> (result or None, failures)``, run where the files are.
Measure = Callable[[Any, dict[str, Any]], tuple[Any, list[str]]]
#: ``write(db, entry, result)``, run on the client.
Write = Callable[[Any, dict[str, Any], Any], None]


@dataclass
class PixelRun:
    """Totals of one pixel job.

    Attributes
    ----------
    rootnames : int
        Entries measured (a result written).
    failures : list of str
        One line per failure: ``"<rootname> <filetype>: <error>"``.
    where : str
        Where it ran: ``"this process"`` or the Dask cluster.
    """

    rootnames: int = 0
    failures: list[str] = field(default_factory=list)
    where: str = "this process"


def measure_batch(measure: Measure, settings: Settings, entries: Sequence[dict[str, Any]]
                  ) -> list[tuple[dict[str, Any], Any, list[str]]]:
    """Run ``measure`` on each entry: ``(entry, result, failures)`` (one Dask task)."""
    out = []
    for entry in entries:
        try:
            result, failures = measure(settings, entry)
        except Exception as exc:  # one bad rootname never stops its batch
            result, failures = None, [f"{entry.get('rootname')}: {exc}"]
        out.append((entry, result, failures))
    return out


def _batches(entries: Sequence[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(entries), size):
        yield list(entries[start:start + size])


def run_pixel_job(
    db: Database, settings: Settings, entries: Sequence[dict[str, Any]],
    measure: Measure, write: Write, name: str, batch_size: int = BATCH_SIZE,
    client: Any = None,
) -> PixelRun:
    """Measure ``entries`` in batches and write each result as its batch comes back.

    Parameters
    ----------
    db : Database
    settings : Settings
        ``workers`` (0: in this process; default: a LocalCluster of one process per
        core) and ``scheduler`` (a running cluster).
    entries : sequence of dict
        Catalog entries (``_id``, ``rootname``, ``path``, ``filetypes`` ...).
    measure, write : callable
        See :data:`Measure` and :data:`Write`; ``measure`` must be importable
        (a module-level function) to run on a worker.
    name : str
        What the job is, for the log (``statistics``, ``trail detection``).
    client : distributed.Client, optional
        Use this client (tests); it is not closed.

    Returns
    -------
    run : PixelRun
    """
    run = PixelRun()
    batches = list(_batches(entries, max(1, batch_size)))
    done = 0

    def take(results: list[tuple[dict[str, Any], Any, list[str]]]) -> None:
        nonlocal done
        for entry, result, failures in results:
            run.failures += failures
            if result is not None:
                write(db, entry, result)
                run.rootnames += 1
        done += len(results)
        bump_generation(db)
        log.info("%s: %d of %d rootnames done", name, done, len(entries))

    log.info("%s: %d rootnames to measure", name, len(entries))
    if not batches:
        return run
    if client is None and settings.scheduler is None and settings.workers == 0:
        for batch in batches:
            take(measure_batch(measure, settings, batch))
        return run
    own, client = _client(settings, client)
    run.where = f"Dask ({client.scheduler.address})"
    try:
        from distributed import as_completed

        futures = client.map(measure_batch, [measure] * len(batches),
                             [settings] * len(batches), batches, retries=1, pure=False)
        for future in as_completed(futures):
            try:
                take(future.result())
            except Exception as exc:
                batch = batches[futures.index(future)]
                run.failures += [f"{e.get('rootname')}: {exc}" for e in batch]
    finally:
        if own:
            client.close()
            cluster = getattr(client, "_acsq_cluster", None)
            if cluster is not None:
                cluster.close()
    return run


def _client(settings: Settings, client: Any) -> tuple[bool, Any]:
    if client is not None:
        return False, client
    from distributed import Client, LocalCluster

    if settings.scheduler is not None:
        return True, Client(settings.scheduler, timeout=settings.server_timeout)
    from acsq_mongo.ingest.dask_runner import default_workers

    cluster = LocalCluster(n_workers=settings.workers or default_workers(),
                           threads_per_worker=1, processes=True, dashboard_address=":0")
    new = Client(cluster)
    new._acsq_cluster = cluster
    return True, new
