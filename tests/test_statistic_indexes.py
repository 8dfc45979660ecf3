"""`acsq db index stats...`: an index on an image statistic, and the queries that use it.

Documents with known bias levels are stored through the store; the query core's
commands for a filter and a sort on the statistic are logged and explained on the
real server (mongomock has no planner), before and after the index.
"""

from __future__ import annotations

import random

import pymongo
import pytest
from command_log import CommandLog
from query_documents import load, make_documents
from settings_env import use_settings

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.statistic_indexes import (
    MAX_STATISTIC_INDEXES,
    create_statistic_index,
    statistic_indexes,
)
from acsq_mongo.errors import ConfigError
from acsq_mongo.query import QuerySpec, run

PATH = "stats.raw.ampC.bias_level"


def _documents(n=200):
    docs = make_documents(n)
    rng = random.Random(5)
    for doc in docs[: n - 10]:  # ten without statistics (ingested without quicklooks)
        doc["stats"] = {"raw": {"ampC": {"bias_level": round(rng.uniform(2000, 2400), 3)}}}
    return docs


def _plans(settings, params):
    """The query core's answer, and the winning plans of what it sent to catalog."""
    listener = CommandLog()
    client = pymongo.MongoClient(settings.mongo_uri, event_listeners=[listener])
    try:
        db = client[settings.db]
        result = run(db, QuerySpec.parse(params), settings)
        plans = []
        for sent in listener.seen:
            if sent.collection == CATALOG and PATH in str(sent.command):
                reply = db.command("explain", sent.command, verbosity="queryPlanner")
                plans.append(str(reply["queryPlanner"]["winningPlan"]))
        assert plans, listener.seen
        return result, plans
    finally:
        client.close()


@pytest.mark.realdb
def test_a_statistic_query_uses_the_index_made_by_acsq_db_index(
        real_db, real_settings, monkeypatch, capsys):
    docs = _documents()
    load(real_db, docs)
    threshold = 2300.0
    expected = sorted(d["rootname"] for d in docs
                      if d.get("stats", {}).get("raw", {}).get("ampC", {})
                      .get("bias_level", 0) > threshold)
    assert 5 < len(expected) < 100
    params = {f"{PATH}__gt": str(threshold), "columns": "rootname", "sort": f"-{PATH}"}

    before, plans = _plans(real_settings, params)
    assert any("COLLSCAN" in p for p in plans), plans

    use_settings(monkeypatch, real_settings)
    assert main(["db", "index", "stats.RAW.ampc.bias_level"]) == 0
    out = capsys.readouterr().out
    assert f"indexed {PATH} over 200 rootnames" in out and "190 of them have it" in out
    assert main(["db", "index", PATH]) == 0
    assert "has an index already" in capsys.readouterr().out

    after, plans = _plans(real_settings, params)
    assert all("IXSCAN" in p and f"stat:{PATH}" in p for p in plans), plans
    assert not any("COLLSCAN" in p for p in plans)
    assert sorted(r["rootname"] for r in after.rows) == expected
    assert after.count == before.count == len(expected)
    assert [r["rootname"] for r in after.rows] == [r["rootname"] for r in before.rows]

    assert main(["db", "index", "--list"]) == 0
    assert capsys.readouterr().out.split() == [PATH]
    assert main(["db", "index", PATH, "--drop"]) == 0
    assert f"dropped the index on {PATH}" in capsys.readouterr().out
    assert statistic_indexes(real_db) == []
    assert main(["db", "index", PATH, "--drop"]) == 0
    assert "has no index" in capsys.readouterr().out


def test_bad_statistic_index_requests_are_one_line_errors(mock_settings, monkeypatch, capsys):
    use_settings(monkeypatch, mock_settings)
    assert main(["db", "index", "stats.raw.ampQ.bias_level"]) == 2
    err = capsys.readouterr().err.strip()
    assert "region 'ampQ'" in err and "\n" not in err and "Traceback" not in err


def test_at_most_so_many_statistics_have_an_index(mock_settings):
    from acsq_mongo.db.connection import connect

    db = connect(mock_settings)
    paths = [f"stats.flt.chip1.{name}" for name in (
        "median", "clipped_mean", "clipped_std", "percentile_1", "percentile_99", "background",
        "saturated_fraction", "hot_fraction", "warm_fraction")]
    for path in paths[:MAX_STATISTIC_INDEXES]:
        assert create_statistic_index(db, path)
    assert statistic_indexes(db) == sorted(paths[:MAX_STATISTIC_INDEXES])
    with pytest.raises(ConfigError, match=f"at most {MAX_STATISTIC_INDEXES}"):
        create_statistic_index(db, paths[MAX_STATISTIC_INDEXES])
    with pytest.raises(ConfigError, match="not an image statistic"):
        create_statistic_index(db, "headers.flt.0.CCDGAIN")
