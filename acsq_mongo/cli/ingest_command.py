"""``acsq ingest [ARCHIVE] [--rootnames ...] [--force] [--no-quicklook]``."""

from __future__ import annotations

import argparse
import sys
import time

from acsq_mongo.ingest import RootnameResult, run_ingest
from acsq_mongo.settings import Settings

HELP = "ingest every header of every FITS file of the archive (and make quicklook JPEGs)"

#: Failures printed on the terminal; the run log has them all.
_SHOWN_FAILURES = 20


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
    parser.add_argument(
        "--force", action="store_true",
        help="read every file again, even unchanged ones, and remake every quicklook image",
    )
    parser.add_argument(
        "--no-quicklook", action="store_true", help="do not make quicklook JPEGs",
    )


def settings_overrides(args: argparse.Namespace) -> dict:
    return {"archive": args.archive}


class _Progress:
    """Rootnames done out of the total, the rate and the time left, on stderr."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_step = -1

    def __call__(self, done: int, total: int, result: RootnameResult) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate else 0.0
        line = (f"ingest: {done}/{total} rootnames ({100 * done / max(total, 1):.0f}%), "
                f"{rate:.1f}/s, {left:.0f} s left")
        if self.tty:
            end = "\n" if done == total else ""
            print(f"\r{line:<70}", end=end, file=self.stream, flush=True)
        else:
            step = 10 * done // max(total, 1)
            if step != self.last_step:
                self.last_step = step
                print(line, file=self.stream, flush=True)


def _selection(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name for value in values for name in value.split(",") if name.strip()]


def run(args: argparse.Namespace, settings: Settings) -> int:
    summary = run_ingest(
        settings,
        rootnames=_selection(args.rootnames),
        force=args.force,
        quicklook=not args.no_quicklook,
        progress=_Progress(),
    )
    for line in summary.problems + summary.failures[:_SHOWN_FAILURES]:
        print(f"failed: {line}", file=sys.stderr)
    if len(summary.failures) > _SHOWN_FAILURES:
        print(f"... and {len(summary.failures) - _SHOWN_FAILURES} more; see the log",
              file=sys.stderr)
    print(f"{summary.text()}\nlog: {summary.log_path}")
    return 0 if summary.ok else 1
