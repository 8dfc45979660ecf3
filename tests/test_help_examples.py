"""The examples in the README, the /docs page and ``acsq query --help`` find rows.

Given the archive ``acsq demo`` makes (60 rootnames, seed 1) ingested into the
real server, every ``acsq query`` example line of the README, of the web
app's query guide and of the command's help runs, and every one matches at
least one rootname, with no warning: an analyst who copies an example sees
what it is for.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from acsq_mongo.cli import main
from acsq_mongo.cli.query_command import _EPILOG
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive
from webapp import create_app

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def demo(real_server_uri, tmp_path_factory):
    """The demo archive (acsq demo's defaults) ingested into the real server."""
    from acsq_mongo.db.connection import connect
    from acsq_mongo.settings import load_settings

    work = tmp_path_factory.mktemp("demo")
    archive = make_sample_archive(work / "archive", 60, seed=1)
    settings = load_settings(environ={}, mongo_uri=real_server_uri, db="acsq_docs_examples",
                             data=work / "var", archive=archive.root)
    assert run_ingest(settings, archive.root, quicklook=False).ok
    yield settings
    db = connect(settings)
    db.client.drop_database(settings.db)
    db.client.close()


def _examples(text: str) -> list[str]:
    return sorted({line.strip() for line in text.splitlines()
                   if line.strip().startswith("acsq query ")})


def _docs_page(settings) -> str:
    client = create_app(settings, config={"TESTING": True}).test_client()
    return client.get("/docs").get_data(as_text=True)


def _run(settings, monkeypatch, capsys, line: str) -> tuple[str, str]:
    monkeypatch.setenv("ACSQ_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", settings.db)
    monkeypatch.setenv("ACSQ_ARCHIVE", str(settings.archive))
    monkeypatch.setenv("ACSQ_DATA", str(settings.data))
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    words = shlex.split(line.split(">")[0])[2:]
    words = [w for w in words if w != "--facets"]
    assert main(["query", *words, "--format", "json"] if "--format" not in words
                else ["query", *words]) == 0, line
    return capsys.readouterr()


def test_every_query_example_finds_rows_on_the_demo_archive(demo, monkeypatch, capsys):
    from html import unescape

    lines = (_examples(README.read_text()) + _examples(_EPILOG)
             + _examples(unescape(_docs_page(demo))))
    assert len(lines) >= 6
    for line in lines:
        out, err = _run(demo, monkeypatch, capsys, line)
        assert "warning" not in err, (line, err)
        words = line.split()
        fmt = words[words.index("--format") + 1] if "--format" in words else "json"
        if fmt == "json":
            assert re.search(r'"count": [1-9]', out), line
        else:
            assert len(out.splitlines()) >= 2 if fmt == "csv" else out.strip(), line


def test_the_docs_pages_url_example_finds_rows_on_the_demo_archive(demo):
    from html import unescape

    client = create_app(demo, config={"TESTING": True}).test_client()
    page = unescape(client.get("/docs").get_data(as_text=True))
    urls = re.findall(r"(/query\?\S+)", page)
    assert urls
    for url in urls:
        data = client.get(url).get_json()
        assert data["count"] > 0 and not data["warnings"], url
