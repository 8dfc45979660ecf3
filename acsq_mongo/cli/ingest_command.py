"""``acsq ingest [ARCHIVE] [--rootnames ...] [--force | --new] [--no-quicklook] [--workers N]``.

Runs on Dask: a LocalCluster of ``--workers`` processes, or the running
cluster of ``--scheduler``; ``--workers 0`` runs in this process. Exit
status: 0 done (or nothing to do), 1 something failed, 75 another ingest
holds the lock, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
import time

from acsq_mongo.ingest.dask_runner import make_runner
from acsq_mongo.ingest.rootname import RootnameResult
from acsq_mongo.ingest.run import IngestSummary, run_ingest
from acsq_mongo.ingest.run_lock import ingest_lock
from acsq_mongo.settings import Settings

#: Failures printed on the terminal; the run log has them all.
_SHOWN_FAILURES = 20

#: Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "archive", nargs="?", metavar="ARCHIVE",
        help="archive root, laid out as <root4>/<rootname>/<rootname>_<filetype>.fits "
        "(default: ACSQ_ARCHIVE)",
    )
    parser.add_argument(
        "--rootnames", nargs="+", metavar="ROOTNAME",
        help="only these rootnames (9 characters or the 8-character id; spaces or commas)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--force", action="store_true",
        help="read every file again, even unchanged ones, and remake every quicklook image",
    )
    which.add_argument(
        "--new", action="store_true",
        help="production ingest of new data (for cron): only rootnames not in the database or "
        "whose files changed; unchanged ones are not touched; log ingest_production_<time>.log",
    )
    parser.add_argument(
        "--no-quicklook", action="store_true", help="do not make quicklook JPEGs",
    )
    add_cluster_arguments(parser)


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``, ``--workers``, ``--batch-size`` (also used by ``acsq reingest``)."""
    group = parser.add_argument_group("where it runs (Dask)")
    group.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://dask-scheduler:8786 (setting scheduler); "
        "default: start a LocalCluster",
    )
    group.add_argument(
        "--workers", type=int, metavar="N",
        help="LocalCluster worker processes, one thread each (setting workers; default: the "
        "number of cores); 0: run in this process without Dask (debugging, small runs)",
    )
    group.add_argument(
        "--batch-size", type=int, metavar="N",
        help="rootnames per Dask task (setting batch_size; default 25)",
    )


def settings_overrides(args: argparse.Namespace) -> dict:
    return {"archive": args.archive, **cluster_overrides(args)}


def cluster_overrides(args: argparse.Namespace) -> dict:
    return {"scheduler": args.scheduler, "workers": args.workers,
            "batch_size": args.batch_size}


class Progress:
    """Rootnames done out of the total, the rate and the time left, on stderr.

    On a terminal one line redrawn at most 10 times a second; otherwise (a
    log file, cron) a line every 10 %.
    """

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last_step = -1
        self.last_draw = 0.0

    def __call__(self, done: int, total: int, result: RootnameResult | None) -> None:
        now = time.monotonic()
        if done == 0:  # the work starts now (after discovery, a cluster's start-up)
            self.started = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate else 0.0
        line = (f"ingest: {done}/{total} rootnames ({100 * done / max(total, 1):.0f}%), "
                f"{rate:.1f}/s, {left:.0f} s left")
        if self.tty:
            if done == total or now - self.last_draw >= 0.1:
                self.last_draw = now
                end = "\n" if done == total else ""
                print(f"\r{line:<70}", end=end, file=self.stream, flush=True)
        else:
            step = 10 * done // max(total, 1)
            if step != self.last_step:
                self.last_step = step
                print(line, file=self.stream, flush=True)

    def interrupted(self) -> None:
        """End a half-drawn line, so the next message starts on its own."""
        if self.tty and self.last_draw:
            print(file=self.stream, flush=True)


def _selection(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name for value in values for name in value.split(",") if name.strip()]


def _notify(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def report(summary: IngestSummary) -> int:
    """Print the failures and the summary; return the exit status."""
    for line in summary.problems + summary.failures[:_SHOWN_FAILURES]:
        print(f"failed: {line}", file=sys.stderr)
    if len(summary.failures) > _SHOWN_FAILURES:
        print(f"... and {len(summary.failures) - _SHOWN_FAILURES} more; see the log",
              file=sys.stderr)
    print(f"{summary.text()}\nlog: {summary.log_path}")
    return 0 if summary.ok else 1


def interrupted(command: str, progress: Progress) -> int:
    """Say what a Ctrl-C left behind; return the exit status."""
    progress.interrupted()
    print(f"acsq {command}: interrupted; what was written is kept, run again to finish",
          file=sys.stderr)
    return INTERRUPTED


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.new and args.rootnames:
        print("acsq ingest: --new looks at the whole archive; it cannot be used with "
              "--rootnames", file=sys.stderr)
        return 2
    progress = Progress()
    with ingest_lock(settings):
        try:
            with make_runner(settings, notify=_notify) as runner:
                summary = run_ingest(
                    settings,
                    rootnames=_selection(args.rootnames),
                    force=args.force,
                    quicklook=not args.no_quicklook,
                    progress=progress,
                    new_only=args.new,
                    runner=runner,
                )
        except KeyboardInterrupt:
            return interrupted("ingest", progress)
    if args.new and summary.rootnames == 0 and summary.ok:
        print(f"nothing new to ingest ({summary.not_visited} rootnames unchanged)\n"
              f"log: {summary.log_path}")
        return 0
    return report(summary)
