"""The command line starts quickly: ``acsq --help`` and ``--version`` import no subcommand.

Checked by the modules a start-up has in ``sys.modules`` when it ends (a fact
about the import graph, not a timing): ``--version`` and ``--help`` load
neither a subcommand module nor pymongo, numpy or astropy, and a subcommand
loads only its own module (docs/guide/install.md has the figures).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from acsq_mongo.cli import COMMANDS

_HEAVY = ("pymongo", "numpy", "astropy", "matplotlib", "flask", "dask", "PIL")


_PROBE = """
import json, sys
from acsq_mongo.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _imported(*argv: str) -> set[str]:
    """The modules ``acsq ARGV`` has imported when it ends."""
    result = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True,
                            text=True, timeout=120)
    names = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert "acsq_mongo.cli" in names
    return names


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_no_subcommand_and_no_heavy_library(argv):
    names = _imported(*argv)
    assert not {n for n in names if n.endswith("_command")}, names
    assert not {n for n in names if n.split(".")[0] in _HEAVY}


def test_a_subcommand_imports_its_own_module_only():
    names = _imported("headers", "--help")
    assert {n for n in names if n.endswith("_command")} == {"acsq_mongo.cli.headers_command"}
    assert not {n for n in names if n.split(".")[0] in _HEAVY}
    assert set(COMMANDS) >= {"headers", "query", "demo"}


def test_votable_and_ecsv_libraries_wait_for_those_formats():
    names = _imported("query", "--help")
    assert "acsq_mongo.cli.query_command" in names
    assert "acsq_mongo.formats.votable" not in names and "astropy.table" not in names
