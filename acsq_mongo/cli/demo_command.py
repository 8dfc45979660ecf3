"""``acsq demo``: the main job end to end, on this machine (``make demo``).

1. start the local server (SecantusDB) unless something answers at ACSQ_MONGO_URI;
2. write a small sample archive with the real archive's structures
   (``acsq sample --structures``: an association's sub-products, a retransmission,
   gzip, tile-compressed and modern files, HRC, SBC, internal frames), unless
   ACSQ_ARCHIVE (or the sample of an earlier demo) already holds one;
3. ingest it with quicklook images (on Dask, as ``acsq ingest`` does);
4. serve the web app, until Ctrl-C; then stop the local server if this demo
   started it, and say so (``--no-serve``: leave it running, and say how to stop it).

Run again, it reuses the archive, and the ingest finds every rootname
unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from acsq_mongo.cli.ingest_command import Progress, _notify, cluster_overrides, report
from acsq_mongo.cli.serve_command import serve
from acsq_mongo.db import localserver as localdb
from acsq_mongo.ingest.dask_runner import make_runner
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.run_lock import ingest_lock
from acsq_mongo.sample import PROPOSAL_TYPES_NAME, make_sample_archive
from acsq_mongo.sample.structures import write_structures
from acsq_mongo.settings import Settings, redact_uri

#: The demo's sample archive, when ACSQ_ARCHIVE is not set.
SAMPLE_FOLDER = "sample-archive"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rootnames", type=int, default=60, metavar="N",
                        help="rootnames in a new sample archive (default: 60)")
    parser.add_argument("--seed", type=int, default=1, help="sample archive seed (default: 1)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the web app listens on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="web app port (default: 5000)")
    parser.add_argument("--no-serve", action="store_true",
                        help="stop after the ingest instead of serving the web app")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="ingest worker processes (default: the number of cores; 0: this "
                        "process)")


def settings_overrides(args: argparse.Namespace) -> dict:
    return cluster_overrides(argparse.Namespace(scheduler=None, workers=args.workers,
                                                batch_size=None))


def _say(text: str) -> None:
    print(f"acsq demo: {text}", file=sys.stderr, flush=True)


def _archive(settings: Settings, args: argparse.Namespace) -> Path:
    """The archive to ingest: ACSQ_ARCHIVE, or the demo's sample (written if missing)."""
    if settings.archive is not None:
        _say(f"archive {settings.archive} (ACSQ_ARCHIVE)")
        return settings.archive
    folder = settings.data / SAMPLE_FOLDER
    if folder.is_dir() and any(folder.iterdir()):
        _say(f"archive {folder} (the sample of an earlier demo)")
        return folder
    _say(f"writing a sample archive of {args.rootnames} rootnames to {folder}, with one of "
         "each structure of the real archive (acsq sample --structures)")
    make_sample_archive(folder, n_rootnames=args.rootnames, seed=args.seed)
    write_structures(folder, seed=args.seed)
    return folder


def _leave_server(settings: Settings, ours: bool, stop: bool) -> None:
    """Say what becomes of the local server as the demo ends; stop it if it is ours and asked."""
    pid = localdb.running_pid(settings)
    if pid is not None and ours and stop:
        _say(localdb.stop(settings) + "; it was started by this demo")
        return
    where = f"pid {pid}, data in {settings.db_dir / 'data'}" if pid is not None else (
        f"at {redact_uri(settings.mongo_uri)}")
    if pid is None and not ours:
        _say(f"the server {where} was running before the demo, and still is")
        return
    if pid is None:
        return
    before = "" if ours else ", as it was before the demo"
    _say(f"the local server is still running ({where}){before}; stop it with `acsq db stop`")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the server, ingest the sample, serve it; on Ctrl-C stop the server it started.

    The local server lives as long as the demo: Ctrl-C (or any end of serving) stops
    the server the demo started itself, and says so. With ``--no-serve`` the demo
    ends after the ingest and leaves it running for ``acsq query`` (and says how to
    stop it). A server that was running before the demo is left running.
    """
    if settings.mongo_uri.startswith("mongomock://"):
        return _run(args, settings)
    ours = localdb.answers(settings.mongo_uri) is None
    _say(localdb.start(settings))
    interrupted = False
    try:
        return _run(args, settings)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        _leave_server(settings, ours, stop=interrupted or not args.no_serve)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.replace(archive=_archive(settings, args))
    types = settings.archive / PROPOSAL_TYPES_NAME
    if settings.proposal_types is None and types.is_file():
        _say(f"proposal types from {types}")
        settings = settings.replace(proposal_types=types)
    progress = Progress()
    with ingest_lock(settings), make_runner(settings, notify=_notify) as runner:
        summary = run_ingest(settings, quicklook=True, progress=progress, runner=runner)
    status = report(summary)
    if status != 0:
        _say("the ingest reported failures (above); serving what was stored")
    if args.no_serve:
        return status
    serve(settings, args.host, args.port)
    return 0
