"""The guide's mongosh one-liners run as written against the real server.

They are parsed out of the ``sh mongosh`` blocks of the "## Mongo shell" section
of docs/guide/query.md, pointed at the
test server and database, run with the mongosh that ``make test`` installs
(``scripts/install_system_deps.sh``), and their output is checked against the
known test data.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections import Counter
from urllib.parse import urlsplit

import pytest
from query_documents import load, make_documents

from acsq_mongo.db.localserver import REPO_ROOT

MONGOSH = REPO_ROOT / "build" / "mongosh" / "node_modules" / ".bin" / "mongosh"
GUIDE_URI = "mongodb://127.0.0.1:27017/acsq"


def guide_examples() -> list[str]:
    """Return the mongosh command lines of the guide's Mongo shell section."""
    text = (REPO_ROOT / "docs" / "guide" / "query.md").read_text()
    section = text.split("\n## Mongo shell\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh mongosh\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines()
            if line.startswith("mongosh ")]


def test_the_guide_shows_the_three_common_questions():
    examples = guide_examples()
    assert len(examples) == 3
    assert all(GUIDE_URI in line for line in examples)
    assert "db.catalog.aggregate" in examples[0] and "db.rootnames.find" in examples[1]
    assert "proposid: 10368" in examples[2]


def _run(line: str, uri: str) -> list[str]:
    argv = shlex.split(line.replace(GUIDE_URI, uri))
    assert argv[0] == "mongosh"
    argv[0] = str(MONGOSH)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_guide_one_liners_print_the_right_answers(real_db, real_server_uri):
    if not MONGOSH.is_file():
        pytest.fail(f"{MONGOSH} is missing: run scripts/install_system_deps.sh (make test does)")
    docs = make_documents(30)
    load(real_db, docs)
    parts = urlsplit(real_server_uri)
    uri = f"mongodb://{parts.netloc}/{real_db.name}"
    counts, gains, files = guide_examples()

    by_detector = Counter(d["detector"] for d in docs)
    assert _run(counts, uri) == [f"{k} {n}" for k, n in sorted(by_detector.items())]

    gain2 = sorted(d["rootname"] for d in docs if d["headers"]["flt"]["0"]["CCDGAIN"] == 2.0)
    assert gain2 and _run(gains, uri) == gain2

    expected = [f"{d['path']}/{d['rootname']}_{ft}.fits"
                for d in sorted(docs, key=lambda d: d["rootname"]) if d["proposid"] == 10368
                for ft in d["filetypes"]]
    assert expected and _run(files, uri) == expected
