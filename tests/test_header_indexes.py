"""`acsq db index`: an index on a header keyword, and a header-keyword query that uses it."""

from __future__ import annotations

import pymongo
import pytest
from command_log import CommandLog
from query_documents import load, make_documents

from acsq_mongo.cli import main
from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.db.header_indexes import create_header_index, header_indexes
from acsq_mongo.errors import ConfigError
from acsq_mongo.query import QuerySpec, run

DOCS = make_documents(60)
PATH = "headers.flt.0.CCDGAIN"


def _acsq(settings, monkeypatch, *args):
    monkeypatch.setenv("ACSQ_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", settings.db)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    return main(["db", *args])


def _plan_of_the_header_query(settings, value):
    """The winning plan of the find the query core sends to rootnames for PATH = value."""
    listener = CommandLog()
    client = pymongo.MongoClient(settings.mongo_uri, event_listeners=[listener])
    try:
        db = client[settings.db]
        result = run(db, QuerySpec.parse({PATH: str(value), "columns": "rootname"}), settings)
        sent = [(c, f) for c, name, f, _ in listener.seen if c == ROOTNAMES and name == "find"]
        assert len(sent) == 1, listener.seen
        plan = db[ROOTNAMES].find(sent[0][1], {"_id": 1}).explain()["queryPlanner"]
        return result, str(plan["winningPlan"])
    finally:
        client.close()


@pytest.mark.realdb
def test_a_header_keyword_query_uses_the_index_made_by_acsq_db_index(
        real_db, real_settings, monkeypatch, capsys):
    load(real_db, DOCS)
    expected = sorted(d["rootname"] for d in DOCS
                      if d["headers"].get("flt", {}).get("0", {}).get("CCDGAIN") == 2.0)
    assert expected, "the sample documents must hold the value"

    before, plan = _plan_of_the_header_query(real_settings, 2.0)
    assert "COLLSCAN" in plan and "IXSCAN" not in plan

    assert _acsq(real_settings, monkeypatch, "index", PATH) == 0
    assert f"indexed {PATH} over 60 rootnames" in capsys.readouterr().out
    assert _acsq(real_settings, monkeypatch, "index", PATH) == 0
    assert "has an index already" in capsys.readouterr().out

    after, plan = _plan_of_the_header_query(real_settings, 2.0)
    assert "IXSCAN" in plan and f"header:{PATH}" in plan and "COLLSCAN" not in plan
    assert sorted(r["rootname"] for r in after.rows) == expected
    assert after.count == before.count == len(expected)

    assert _acsq(real_settings, monkeypatch, "index", "--list") == 0
    assert capsys.readouterr().out.split() == [PATH]
    assert _acsq(real_settings, monkeypatch, "index", PATH, "--drop") == 0
    assert f"dropped the index on {PATH}" in capsys.readouterr().out
    assert header_indexes(real_db) == []
    _, plan = _plan_of_the_header_query(real_settings, 2.0)
    assert "COLLSCAN" in plan


def test_the_keyword_is_written_as_a_query_names_it(mock_settings, monkeypatch, capsys):
    # filetype in any case, keyword upper-cased: the same path the query core filters on
    assert _acsq(mock_settings, monkeypatch, "index", "headers.FLT.0.ccdgain") == 0
    capsys.readouterr()
    assert _acsq(mock_settings, monkeypatch, "index", "--list") == 0
    assert capsys.readouterr().out.split() == [PATH]


@pytest.mark.parametrize("args, message", [
    (("index",), "needs a header path"),
    (("index", "exptime"), "is a promoted field"),
    (("index", "headers.flt"), "headers.flt"),
    (("index", PATH, "--list"), "takes no HEADER_PATH"),
    (("status", "--list"), "go with `acsq db index`"),
])
def test_bad_index_requests_are_one_line_errors(mock_settings, monkeypatch, capsys, args,
                                                message):
    assert _acsq(mock_settings, monkeypatch, *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_only_header_paths_are_indexed(mock_settings):
    from acsq_mongo.db.connection import connect

    db = connect(mock_settings)
    for bad in ("exptime", "headers.flt.x.CCDGAIN", "headers.flt.0.$where", "headers..0.A"):
        with pytest.raises(ConfigError, match="not a header keyword path"):
            create_header_index(db, bad)
