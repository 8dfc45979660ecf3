"""The ``acsq`` command line: one module per subcommand, all thin.

Each subcommand module ``acsq_mongo.cli.<name>_command`` defines
``add_arguments(parser)`` and ``run(args, settings) -> int``, and may define
``settings_overrides(args) -> dict`` to turn options into settings; its one-line
help is in :data:`COMMANDS`. Only the module of the command that runs is
imported, and each imports what it needs when it runs, so that ``acsq --help``
and ``acsq --version`` import no subcommand at all (measured with ``python -X
importtime``: docs/guide/install.md). Errors meant for people
(:class:`~acsq_mongo.errors.AcsqError`) are printed on one line, without a
traceback, and set the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from acsq_mongo import __version__

__all__ = ["main", "build_parser", "COMMANDS"]

#: The subcommands and their one-line help, in the order ``acsq --help`` lists them. The
#: module of each, ``acsq_mongo.cli.<name>_command``, is imported only when it runs (or
#: shows its own help), so that ``acsq --help`` and ``--version`` import none of them.
COMMANDS: dict[str, str] = {
    "db": "start, stop or check the local MongoDB-compatible server; create indexes",
    "sample": "write a realistic sample ACS archive (all detectors and filetypes) for demos "
              "and tests",
    "ingest": "ingest every header of every FITS file of the archive (and make quicklook "
              "JPEGs)",
    "quicklook": "make quicklook JPEGs, previews and thumbnails for rootnames in the catalog",
    "stats": "measure the image statistics (stats.<filetype>...) of catalog rootnames that "
             "lack them",
    "detect": "propose anomalies: satellite trails (acstools.findsat_mrt) or the statistics' "
              "rules",
    "reingest": "re-ingest the rootnames that match a MongoDB filter (Extended JSON), reading "
                "every file",
    "query": "find rootnames by key metadata or any header keyword; table, CSV, JSON, "
             "VOTable, ECSV, file paths or a download script",
    "headers": "print a rootname's stored headers (text, JSON or FITS), with their card "
               "comments",
    "trend": "plot a numeric field or header keyword against time for a query's rootnames",
    "user": "manage the accounts that may tag images (tagger) and manage accounts (admin)",
    "serve": "serve the web app (Flask's threaded development server; gunicorn in production)",
    "demo": "start the local server, make and ingest a sample archive, serve the web app",
}

#: Subcommands that only read, under the setting ``time_limit_ms`` (acsq_mongo.db.budget).
READING_COMMANDS = ("query", "trend")


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(f"acsq_mongo.cli.{name}_command")


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None
                 ) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """Return the ``acsq`` argument parser and the subcommand modules it imported.

    Parameters
    ----------
    argv : sequence of str, optional
        The command line about to be parsed: only its subcommand's module is
        imported and given its arguments. Without it, every subcommand's is.
    """
    parser = argparse.ArgumentParser(
        prog="acsq",
        description="ACS Quicklook on a document store: ingest HST/ACS FITS headers and "
        "quicklook images, query them, and serve the web app.",
        epilog="Settings come from defaults, a YAML file (--config or ACSQ_CONFIG) and "
        "ACSQ_* environment variables; see the README.",
    )
    parser.add_argument("--version", action="version", version=f"acsq-mongo {__version__}")
    parser.add_argument(
        "--config", metavar="YAML", help="settings file (default: $ACSQ_CONFIG if set)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = COMMANDS if argv is None else [n for n in [_command_in(argv)] if n]
    modules = {name: _command_module(name) for name in wanted}
    for name, text in COMMANDS.items():
        command = sub.add_parser(name, help=text, description=text)
        if name in modules:
            modules[name].add_arguments(command)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``acsq`` command line and return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, modules = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from acsq_mongo.db.budget import read_budget  # imports pymongo: only once a command runs
    from acsq_mongo.errors import AcsqError
    from acsq_mongo.settings import load_settings

    module = modules[args.command]
    try:
        overrides = module.settings_overrides(args) if hasattr(module, "settings_overrides") else {}
        settings = load_settings(args.config, **overrides)
        limit = settings.time_limit_ms if args.command in READING_COMMANDS else 0
        with read_budget(limit, "time_limit_ms"):
            return int(module.run(args, settings) or 0)
    except AcsqError as exc:
        print(f"acsq {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"acsq {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
