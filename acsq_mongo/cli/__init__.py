"""The ``acsq`` command line: one module per subcommand, all thin.

Each subcommand module defines ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args, settings) -> int``, and may define ``settings_overrides(args)
-> dict`` to turn options into settings. Errors meant for people
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
from acsq_mongo.db.budget import read_budget
from acsq_mongo.errors import AcsqError
from acsq_mongo.settings import load_settings

__all__ = ["main", "build_parser", "COMMANDS"]

#: Subcommands, in the order ``acsq --help`` lists them.
COMMANDS = ("db", "sample", "ingest", "quicklook", "reingest", "query", "trend", "user",
            "serve", "demo")

#: Subcommands that only read, under the setting ``time_limit_ms`` (acsq_mongo.db.budget).
READING_COMMANDS = ("query", "trend")


def _command_modules() -> dict[str, ModuleType]:
    modules = {}
    for name in COMMANDS:
        qualified = f"acsq_mongo.cli.{name}_command"
        try:
            modules[name] = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """Return the ``acsq`` argument parser and the subcommand modules."""
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
    modules = _command_modules()
    for name, module in modules.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``acsq`` command line and return its exit status."""
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
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
