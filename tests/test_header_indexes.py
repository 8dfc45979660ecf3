"""`acsq db index`: an index on a header keyword, and a header-keyword query that uses it."""

from __future__ import annotations

import pymongo
import pytest
from command_log import CommandLog
from query_documents import load, make_documents

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.header_indexes import copied_paths, header_indexes
from acsq_mongo.errors import ConfigError
from acsq_mongo.ingest.keyword_indexes import create_header_index, drop_header_index
from acsq_mongo.ingest.store_batch import StoreBatch
from acsq_mongo.query import QuerySpec, run

DOCS = make_documents(60)
PATH = "headers.flt.0.CCDGAIN"


def _acsq(settings, monkeypatch, *args):
    monkeypatch.setenv("ACSQ_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", settings.db)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    return main(["db", *args])


def _plans_of_the_header_query(settings, value):
    """The winning plans of the finds the query core sends for PATH = value, by collection."""
    listener = CommandLog()
    client = pymongo.MongoClient(settings.mongo_uri, event_listeners=[listener])
    try:
        db = client[settings.db]
        result = run(db, QuerySpec.parse({PATH: str(value), "columns": "rootname"}), settings)
        # (the index's state in meta names the path too: not a read of the data)
        sent = [(c, f) for c, name, f, _ in listener.seen
                if name == "find" and c != "meta" and PATH in str(f)]
        assert len(sent) == 1, listener.seen
        return result, {c: str(db[c].find(f, {"_id": 1}).explain()["queryPlanner"]["winningPlan"])
                        for c, f in sent}
    finally:
        client.close()


@pytest.mark.realdb
def test_a_header_keyword_query_uses_the_index_made_by_acsq_db_index(
        real_db, real_settings, monkeypatch, capsys):
    load(real_db, DOCS)
    expected = sorted(d["rootname"] for d in DOCS
                      if d["headers"].get("flt", {}).get("0", {}).get("CCDGAIN") == 2.0)
    assert expected, "the sample documents must hold the value"

    before, plans = _plans_of_the_header_query(real_settings, 2.0)
    assert list(plans) == [ROOTNAMES] and "COLLSCAN" in plans[ROOTNAMES]

    assert _acsq(real_settings, monkeypatch, "index", PATH) == 0
    assert f"indexed {PATH} over 60 rootnames" in capsys.readouterr().out
    assert _acsq(real_settings, monkeypatch, "index", PATH) == 0
    assert "has an index already" in capsys.readouterr().out

    # Indexed, the keyword is copied into the catalog: the query runs there, on the index.
    after, plans = _plans_of_the_header_query(real_settings, 2.0)
    assert list(plans) == [CATALOG], plans
    assert "IXSCAN" in plans[CATALOG] and f"header:{PATH}" in plans[CATALOG]
    assert "COLLSCAN" not in plans[CATALOG]
    assert sorted(r["rootname"] for r in after.rows) == expected
    assert after.count == before.count == len(expected)

    assert _acsq(real_settings, monkeypatch, "index", "--list") == 0
    assert capsys.readouterr().out.split() == [PATH]
    assert _acsq(real_settings, monkeypatch, "index", PATH, "--drop") == 0
    assert f"dropped the index on {PATH}" in capsys.readouterr().out
    assert header_indexes(real_db) == [] and copied_paths(real_db) == frozenset()
    assert real_db[CATALOG].count_documents({"headers": {"$exists": True}}) == 0
    _, plans = _plans_of_the_header_query(real_settings, 2.0)
    assert list(plans) == [ROOTNAMES] and "COLLSCAN" in plans[ROOTNAMES]


_QUERIES = [
    {PATH: "2"},
    {f"{PATH}__gte": "2", "detector": "WFC"},
    {"headers.flt.1.MDRIZSKY__exists": "false"},
    {"headers.flt.1.MDRIZSKY__exists": "true", "sort": "-exptime"},
    {"headers.flt.1.MDRIZSKY__ne": "40"},
    {"headers.flt.1.MYKEY__in": "2,abc"},
    {f"{PATH}__lt": "4", "ra": "0", "dec": "1", "radius": "2"},
]
_INDEXED = (PATH, "headers.flt.1.MDRIZSKY", "headers.flt.1.MYKEY")


def _answers(db, settings):
    return [(r.count, r.rows, r.facets, r.collection) for r in (
        run(db, QuerySpec.parse({**q, "columns": f"rootname,{PATH}"}), settings)
        for q in _QUERIES)]


def test_indexed_keywords_answer_from_the_catalog_as_from_the_documents(db, settings):
    load(db, DOCS)
    without = _answers(db, settings)
    for path in _INDEXED:
        assert create_header_index(db, path)
    assert copied_paths(db) == frozenset(_INDEXED)
    assert _answers(db, settings) == without
    assert all(count > 0 for count, *_ in without[:2])


def _copies(db):
    return {d["_id"]: d.get("headers") for d in db[CATALOG].find({}, {"headers": 1})}


def _expected_copies(db, paths):
    wanted = {}
    for doc in db[ROOTNAMES].find():
        copy: dict = {}
        for path in paths:
            _, ft, ext, key = path.split(".")
            if key in doc["headers"].get(ft, {}).get(ext, {}):
                copy.setdefault(ft, {}).setdefault(ext, {})[key] = doc["headers"][ft][ext][key]
        wanted[doc["_id"]] = copy or None
    return wanted


def test_ingest_keeps_the_copies_of_the_indexed_keywords(db, settings):
    load(db, DOCS[:30])
    for path in _INDEXED:
        create_header_index(db, path)
    load(db, DOCS[30:])  # written after the index: copied by the store
    assert _copies(db) == _expected_copies(db, _INDEXED)
    assert any(c and "MDRIZSKY" in c["flt"]["1"] and c["flt"]["1"]["MDRIZSKY"] is None
               for c in _copies(db).values()), "a null value is copied, as $exists sees it"
    # A re-ingest that changes a value, and one that loses a keyword, by the batch writer.
    changed, lost = dict(DOCS[3]), dict(DOCS[4])
    flt = DOCS[3]["headers"]["flt"]
    changed["headers"] = {**DOCS[3]["headers"],
                          "flt": {"0": {**flt["0"], "CCDGAIN": 8.0}, "1": flt["1"]}}
    lost["headers"] = {"raw": DOCS[4]["headers"]["raw"]}
    batch = StoreBatch(db)
    batch.upsert("a", changed)
    batch.upsert("b", lost)
    assert batch.flush() == []
    copies = _copies(db)
    assert copies[changed["_id"]]["flt"]["0"]["CCDGAIN"] == 8.0
    assert copies[lost["_id"]] is None
    assert copies == _expected_copies(db, _INDEXED)
    result = run(db, QuerySpec.parse({PATH: "8"}), settings)
    assert [r["rootname"] for r in result.rows] == [changed["rootname"]]
    # Dropped: the copies go, and queries read the documents again.
    for path in _INDEXED:
        drop_header_index(db, path)
    assert set(_copies(db).values()) == {None}
    assert run(db, QuerySpec.parse({PATH: "8"}), settings).count == 1


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
