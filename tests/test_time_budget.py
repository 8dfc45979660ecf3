"""Every read under a time budget, and regular expressions that could hold the server refused.

At 2,000 rootnames from the sample generator (whole documents, as ingest
stores them: ``benchmarks/_synthetic_load.py``), on the real server. The two
patterns of issue 26, ``^(\\w*\\s?)*$`` and ``^([\\w ]+\\s?)*$`` on
``headers.flt.0.HISTORY``, held the local server for tens of seconds: they are
refused before they reach it. A header-keyword regex that is allowed, over
2,000 whole documents (~100 MB), cannot be answered within 50 ms by any server:
the web answers 503, the CLI exits with one line, the Python API raises, and
the server is idle again right after.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import urllib.parse
from pathlib import Path

import pymongo
import pytest

from acsq_mongo import Archive
from acsq_mongo.cli import main
from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.errors import TimeBudgetExceeded
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.regex_risk import regex_risk
from acsq_mongo.sample.synthetic import plan_archive
from acsq_mongo.settings import load_settings
from webapp import create_app

N = 2_000
SEED = 26
PATTERNS = (r"^(\w*\s?)*$", r"^([\w ]+\s?)*$")
#: Allowed, and a scan of every whole document: no server answers it in TIGHT ms.
SLOW = {"headers.flt.0.HISTORY__regex": "FLATCORR.*not there"}
TIGHT = 50


def _bulk_load():
    path = Path(__file__).parents[1] / "benchmarks" / "_synthetic_load.py"
    spec = importlib.util.spec_from_file_location("_synthetic_load", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module.bulk_load


@pytest.fixture(scope="module")
def archive_2000(real_server_uri, tmp_path_factory):
    """2,000 rootnames of the sample generator, whole, on the real server (one per module)."""
    folder = tmp_path_factory.mktemp("budget")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, db=f"budget_{folder.name}",
                             data=folder / "var", archive=folder / "archive",
                             count_time_limit_ms=0)
    client = pymongo.MongoClient(real_server_uri)
    db = client[settings.db]
    ensure_indexes(db)
    _bulk_load()(db, plan_archive(N, seed=SEED), 0, N, settings.archive, SEED)
    assert db[ROOTNAMES].count_documents({"headers.flt.0.HISTORY": {"$exists": True}}) > N // 2
    yield settings, db
    client.drop_database(db.name)
    client.close()


def _server_idle(db, timeout: float = 60.0) -> bool:
    """Whether the server runs nothing but this question, asked until ``timeout`` (a bound)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ops = db.client.admin.command("currentOp").get("inprog", [])
        if all("currentOp" in (op.get("command") or {}) for op in ops):
            return True
        time.sleep(0.05)
    return False


def _trivial_answer(db) -> None:
    """A trivial query answers (within a generous client timeout, not a timing assert)."""
    with pymongo.timeout(30):
        assert db[ROOTNAMES].find_one({}, {"_id": 1}) is not None


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_patterns_that_held_the_server_are_refused_at_once(archive_2000, pattern):
    settings, db = archive_2000
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    query = urllib.parse.urlencode({"headers.flt.0.HISTORY__regex": pattern, "limit": 1})
    response = client.get(f"/query.json?{query}")
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert "refused" in message and "\n" not in message and pattern in message
    assert _server_idle(db)
    _trivial_answer(db)
    page = client.get("/query.json?detector=WFC&limit=1")
    assert page.status_code == 200
    assert page.get_json()["count"] == db["catalog"].count_documents({"detector": "WFC"})


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_cli_and_python_refuse_them_too(archive_2000, pattern, capsys, monkeypatch):
    settings, _ = archive_2000
    with pytest.raises(QueryError, match="refused"):
        Archive(settings).query({"headers.flt.0.HISTORY__regex": pattern}).count()
    for name, value in (("ACSQ_MONGO_URI", settings.mongo_uri), ("ACSQ_DB", settings.db)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    status = main(["query", f"headers.flt.0.HISTORY__regex={pattern}", "--format", "json",
                   "--limit", "1"])
    err = capsys.readouterr().err
    assert status != 0 and "refused" in err and len(err.strip().splitlines()) == 1


def test_a_read_past_the_web_budget_answers_503_and_the_server_is_idle_after(archive_2000):
    settings, db = archive_2000
    app = create_app(settings.replace(web_time_limit_ms=TIGHT), db=db, config={"TESTING": True})
    client = app.test_client()
    query = urllib.parse.urlencode({**SLOW, "limit": 1})
    response = client.get(f"/query.json?{query}")
    assert response.status_code == 503
    message = response.get_json()["error"]
    assert "ran out of its time budget" in message and "ACSQ_WEB_TIME_LIMIT_MS" in message
    assert "acsq db index" in message and "\n" not in message
    html = client.get(f"/query?{query}")
    assert html.status_code == 503 and b"ran out of time" in html.data
    assert _server_idle(db)
    _trivial_answer(db)


def test_without_the_budget_the_same_read_is_answered(archive_2000):
    settings, db = archive_2000
    client = create_app(settings.replace(web_time_limit_ms=0), db=db,
                        config={"TESTING": True}).test_client()
    response = client.get("/query.json?" + urllib.parse.urlencode({**SLOW, "limit": 1}))
    assert response.status_code == 200
    assert response.get_json()["count"] == 0  # no HISTORY line says "not there"


def test_the_cli_and_python_take_the_budget_from_the_setting(archive_2000, capsys, monkeypatch):
    settings, db = archive_2000
    tight = settings.replace(time_limit_ms=TIGHT)
    with pytest.raises(TimeBudgetExceeded, match="ACSQ_TIME_LIMIT_MS"):
        Archive(tight).query(SLOW).count()
    with pytest.raises(TimeBudgetExceeded):
        Archive(tight).query(SLOW).rows()
    assert _server_idle(db)
    for name, value in (("ACSQ_MONGO_URI", settings.mongo_uri), ("ACSQ_DB", settings.db),
                        ("ACSQ_TIME_LIMIT_MS", str(TIGHT))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    key, value = next(iter(SLOW.items()))
    args = ["query", f"{key}={value}", "--format", "json", "--limit", "1"]
    assert main(args) == TimeBudgetExceeded.exit_code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ran out of its time budget (0.05 s" in err
    # Off by default: the CLI counts, however long it takes.
    monkeypatch.delenv("ACSQ_TIME_LIMIT_MS")
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 0
    _trivial_answer(db)


@pytest.mark.parametrize(("pattern", "risk"), [
    (r"^(\w*\s?)*$", "repeat"), (r"^([\w ]+\s?)*$", "repeat"), (r"(a+)+b", "repeat"),
    (r"(?:x{2,})*", "repeat"), (r"((a+)b)*", "repeat"),
    (r"(a)\1", "backreference"), (r"(?P<x>a)(?P=x)", "backreference"),
    (r"^NGC.*$", None), (r"^(ab)+$", None), (r"(\d+\.)?x", None), (r"(a|b)*c", None),
    (r"[(*]+", None), (r"(?i)flatcorr.*", None), (r"\(a*\)*", None), (r"(a{2})*", None),
    (r"x{2,}", None), (r"(a*){1}", None),
])
def test_the_risky_patterns_are_told_by_reading_them(pattern, risk):
    found = regex_risk(pattern)
    assert (found is None) if risk is None else (risk in found)
