"""Every shell and Python example of the README and the guide runs, and answers.

Given the demo's sample archive (what ``make demo`` writes: 60 rootnames, seed 1, and the real
archive's structures, in ``var/sample-archive``) ingested with quicklook images into a fresh
database on the real server, each fenced ``sh`` and ``python`` block of README.md and
docs/**/*.md is run the way the guide tells a reader to run it: from a folder holding
``var/sample-archive``, with ``ACSQ_ARCHIVE`` and ``ACSQ_PROPOSAL_TYPES`` set. The blocks of one
file run in order, on one database of their own.

A command that exits with an error fails. A query (``acsq query``, ``acsq
reingest --dry-run``, and every Python block) that prints no rootname of the
archive answered nothing, and fails; any other command must print something.
A block marked ``not-run`` after its language (it serves, needs Docker or
cron, or shows a document's shape) is not run; ``sh mongosh`` blocks are run
by tests/test_query_mongosh.py against known data.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive
from acsq_mongo.sample.structures import STRUCTURES_NAME, write_structures
from acsq_mongo.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(`{3,})([^\s`]*)[ \t]*(.*?)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
RUNNABLE = ("sh", "python")
#: Fence languages that would slip an example past this test.
UNTESTED_SPELLINGS = ("bash", "shell", "console", "zsh", "py", "python3", "pycon", "ipython")
#: Most blocks that may be marked not-run: a few, not a way around the tests (14: the
#: reliability page's 30-minute chaos run and its load benchmark are two of them).
MAX_NOT_RUN = 14
DEMO_ROOTNAMES, DEMO_SEED = 60, 1
_counter = itertools.count()


@dataclass(frozen=True)
class Block:
    """One fenced code block of a documentation file."""

    path: Path
    line: int
    lang: str
    flags: tuple[str, ...]
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE and not {"not-run", "mongosh"} & set(self.flags)


def doc_blocks(path: Path) -> list[Block]:
    """Return the fenced code blocks of one Markdown file, in order."""
    text = path.read_text()
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        flags = tuple(m.group(3).split())
        blocks.append(Block(path, line, m.group(2), flags, m.group(4)))
    return blocks


ALL_BLOCKS = [b for path in DOC_FILES for b in doc_blocks(path)]
EXAMPLES = [b for b in ALL_BLOCKS if b.runnable]


def shell_commands(code: str) -> list[str]:
    """Split a shell block into commands: one a line, ``\\`` continues; comments dropped."""
    commands, current = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip() and not current.lstrip().startswith("#"):
            commands.append(current.strip())
        current = ""
    return commands


def test_the_examples_are_found():
    files = {b.path.name for b in EXAMPLES}
    assert {"README.md", "ingest.md", "query.md", "quicklook.md"} <= files
    assert sum(b.lang == "python" for b in EXAMPLES) >= 3
    assert len(EXAMPLES) >= 10


def test_examples_are_sh_or_python_or_explicitly_not_run():
    hidden = [b.where for b in ALL_BLOCKS if b.lang in UNTESTED_SPELLINGS]
    assert not hidden, f"write these as ```sh or ```python so they are run: {hidden}"
    not_run = [b.where for b in ALL_BLOCKS if "not-run" in b.flags]
    assert len(not_run) <= MAX_NOT_RUN, f"too many blocks marked not-run: {not_run}"
    unknown = [b.where for b in ALL_BLOCKS for f in b.flags if f not in ("not-run", "mongosh")]
    assert not unknown, f"unknown flags after the fence language: {unknown}"


@pytest.fixture(scope="session")
def docs_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the checkout after ``make demo``: var/sample-archive."""
    work = tmp_path_factory.mktemp("docs-examples")
    make_sample_archive(work / "var" / "sample-archive", DEMO_ROOTNAMES, seed=DEMO_SEED)
    write_structures(work / "var" / "sample-archive", seed=DEMO_SEED)   # as `acsq demo` does
    return work


@pytest.fixture(scope="session")
def docs_databases(real_server_uri: str):
    """One database per documentation file, dropped at the end of the session."""
    made: dict[Path, str] = {}
    yield made
    if made:
        settings = load_settings(environ={}, mongo_uri=real_server_uri)
        db = connect(settings)
        for name in made.values():
            db.client.drop_database(name)
        db.client.close()


@pytest.fixture
def example_env(block: Block, docs_workdir: Path, docs_databases: dict, real_server_uri: str):
    """The environment of a reader after ``make demo``, with this file's own database."""
    archive = docs_workdir / "var" / "sample-archive"
    name = docs_databases.get(block.path)
    if name is None:
        name = docs_databases[block.path] = f"acsq_docs_{os.getpid()}_{next(_counter)}"
        settings = load_settings(
            environ={}, mongo_uri=real_server_uri, db=name, data=docs_workdir / "var",
            archive=archive, proposal_types=archive / "proposal_types.csv", workers=0)
        summary = run_ingest(settings, archive, quicklook=True)
        assert summary.ok
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        ACSQ_MONGO_URI=real_server_uri, ACSQ_DB=name,
        ACSQ_ARCHIVE="var/sample-archive",
        ACSQ_PROPOSAL_TYPES="var/sample-archive/proposal_types.csv",
        ACSQ_WORKERS="1",  # two cores shared: one LocalCluster worker unless an example says
    )
    return env


def _archive_rootnames(workdir: Path) -> set[str]:
    """The sample's rootnames and the structures' (sample_structures.json)."""
    import json

    from acsq_mongo.sample import read_manifest

    root = workdir / "var" / "sample-archive"
    listing = json.loads((root / STRUCTURES_NAME).read_text())
    return {r.rootname for r in read_manifest(root).rootnames} | {
        r for st in listing for r in st["rootnames"]}


def _answers_rows(text: str, rootnames: set[str]) -> bool:
    return any(r in text.lower() for r in rootnames)


def _is_query(command: str) -> bool:
    argv = shlex.split(command, comments=True)
    return argv[:2] == ["acsq", "query"] or (argv[:2] == ["acsq", "reingest"]
                                               and "--dry-run" in argv)


def _redirect_target(command: str) -> Path | None:
    m = re.search(r"(?<![0-9&])>\s*(\S+)", command.split(" #", 1)[0])
    return Path(m.group(1)) if m else None


@pytest.mark.parametrize("block", EXAMPLES, ids=[b.where for b in EXAMPLES])
def test_example_runs_and_answers(block: Block, example_env: dict, docs_workdir: Path):
    rootnames = _archive_rootnames(docs_workdir)
    if block.lang == "python":
        script = docs_workdir / f"example_{block.path.stem}_{block.line}.py"
        script.write_text(block.code)
        proc = subprocess.run([sys.executable, str(script)], cwd=docs_workdir, env=example_env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{block.where} failed:\n{proc.stderr[-3000:]}"
        assert _answers_rows(proc.stdout, rootnames), (
            f"{block.where} printed no rootname of the archive:\n{proc.stdout[-2000:]}")
        return
    commands = shell_commands(block.code)
    assert commands, f"{block.where}: an empty sh block"
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=docs_workdir, env=example_env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (
            f"{block.where}: `{command}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        output = proc.stdout
        target = _redirect_target(command)
        if target is not None:
            output += (docs_workdir / target).read_text()
        if _is_query(command):
            assert _answers_rows(output, rootnames), (
                f"{block.where}: `{command}` answered no rows:\n{output[-2000:]}")
        else:
            assert (output + proc.stderr).strip(), f"{block.where}: `{command}` printed nothing"
