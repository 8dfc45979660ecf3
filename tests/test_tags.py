"""Anomaly tags in the store: a history, flags derived from it, queryable everywhere, kept.

Given the sample archive ingested, when taggers set and clear flags on some
rootnames, every change is an event, the catalog holds the flags the events
leave set, the query core (and so the web, the CLI and Python) finds exactly
the rootnames a brute-force pass over the catalog finds, the facet counts
agree, and a ``--force`` re-ingest (and every other catalog writer) keeps
every flag.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from acsq_mongo.accounts.users import User
from acsq_mongo.api import Archive
from acsq_mongo.cli import main
from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG, GALLERIES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.generation import generation
from acsq_mongo.ingest.consistency import check_consistency
from acsq_mongo.ingest.reingest import run_reingest
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.store import upsert_rootname
from acsq_mongo.query import core, page
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.tags import MAX_COMMENT, TagError, Vocabulary, change_flags
from acsq_mongo.tags.flags import derive_flags, store_flags
from acsq_mongo.tags.history import recent_events, rootname_history

ADA = User("ada", "tagger")
BOB = User("bob", "admin")


@pytest.fixture
def tagged(settings, sample_archive):
    """The sample archive ingested, with random flags set and cleared by two taggers."""
    settings = settings.replace(archive=sample_archive.root)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    vocabulary = Vocabulary.from_settings(settings)
    rng = random.Random(17)
    names = sorted(r.rootname for r in sample_archive.rootnames)
    for name in rng.sample(names, 12):
        for _ in range(rng.randint(1, 3)):
            current = set(db[CATALOG].find_one({"_id": name[:8]}).get("anomalies") or ())
            add = rng.sample(vocabulary.slugs, rng.randint(0, 2))
            remove = [f for f in current if rng.random() < 0.4 and f not in add]
            change_flags(db, name, rng.choice([ADA, BOB]), vocabulary, add=add, remove=remove,
                         comment=f"seen on {name}")
    return settings, db, vocabulary


def _flags(db) -> dict[str, list[str]]:
    return {d["_id"]: d.get("anomalies") for d in db[CATALOG].find({}, {"anomalies": 1})}


def test_the_catalog_holds_the_flags_the_history_leaves(tagged):
    _, db, _ = tagged
    events = list(db[ANOMALY_EVENTS].find())
    assert len(events) >= 12
    by_id: dict[str, list] = {}
    for e in events:
        by_id.setdefault(e["catalog_id"], []).append(e)
    flags = _flags(db)
    assert any(flags.values()) and None in flags.values()
    for _id, value in flags.items():
        derived = derive_flags(by_id.get(_id, []))
        assert (value or []) == derived, _id
        assert value != []  # none: no field, so anomaly__exists=false finds it


def test_a_change_writes_one_event_per_flag_and_nothing_when_nothing_changes(tagged):
    settings, db, vocabulary = tagged
    name = sorted(_flags(db))[0]
    before = db[ANOMALY_EVENTS].count_documents({})
    current = set(db[CATALOG].find_one({"_id": name}).get("anomalies") or ())
    add = [f for f in ("ghost", "crosstalk") if f not in current]
    written = change_flags(db, name, ADA, vocabulary, add=add, comment="two at once")
    assert [(e["flag"], e["action"], e["user"]) for e in written] == [
        (f, "set", "ada") for f in add]
    assert change_flags(db, name, ADA, vocabulary, add=["ghost", "crosstalk"]) == []
    assert db[ANOMALY_EVENTS].count_documents({}) == before + len(add)
    history = rootname_history(db, name)
    assert history[0]["comment"] == "two at once" and history[0]["user"] == "ada"
    assert [h["time"] for h in history] == sorted((h["time"] for h in history), reverse=True)


@pytest.mark.parametrize("change, message", [
    ({"add": ["not_a_flag"]}, "unknown anomaly flag"),
    ({"add": ["ghost"], "remove": ["ghost"]}, "both set and cleared"),
    ({"add": ["ghost"], "comment": "x" * (MAX_COMMENT + 1)}, "at most 500"),
])
def test_a_bad_change_writes_nothing(tagged, change, message):
    _, db, vocabulary = tagged
    name = sorted(_flags(db))[0]
    before = (db[ANOMALY_EVENTS].count_documents({}), _flags(db), generation(db))
    with pytest.raises(TagError, match=message):
        change_flags(db, name, ADA, vocabulary, **change)
    assert (db[ANOMALY_EVENTS].count_documents({}), _flags(db), generation(db)) == before


def test_unknown_rootnames_and_disabled_users_write_nothing(tagged):
    _, db, vocabulary = tagged
    before = db[ANOMALY_EVENTS].count_documents({})
    with pytest.raises(TagError, match="no rootname"):
        change_flags(db, "jzzzzzzzq", ADA, vocabulary, add=["ghost"])
    with pytest.raises(TagError, match="may not"):
        change_flags(db, sorted(_flags(db))[0], User("eve", "tagger", disabled=True),
                     vocabulary, add=["ghost"])
    assert db[ANOMALY_EVENTS].count_documents({}) == before


def test_a_slower_writer_never_undoes_a_later_change(tagged):
    # Two changes at once: the flags derived from fewer events never overwrite more.
    _, db, vocabulary = tagged
    name = sorted(_flags(db))[1]
    change_flags(db, name, ADA, vocabulary, add=["ghost"])
    stored = db[CATALOG].find_one({"_id": name})
    db[CATALOG].update_one({"_id": name}, {"$set": {"anomaly_seq": stored["anomaly_seq"] + 5,
                                                     "anomalies": ["later"]}})
    store_flags(db, name)
    assert db[CATALOG].find_one({"_id": name})["anomalies"] == ["later"]


def _brute(db, test) -> list[str]:
    return sorted(d["_id"] for d in db[CATALOG].find() if test(d.get("anomalies") or []))


def test_flag_queries_find_what_brute_force_finds(tagged):
    settings, db, vocabulary = tagged
    counts = Counter(f for flags in _flags(db).values() for f in flags or [])
    assert counts
    some = [f for f, _ in counts.most_common(3)]
    cases = [
        ({"anomaly": some[0]}, lambda a: some[0] in a),
        ({"anomaly": some[0].replace("_", " ")}, lambda a: some[0] in a),  # the label works
        ({"anomalies": some[0]}, lambda a: some[0] in a),
        ({"anomaly__in": ",".join(some[:2])}, lambda a: bool(set(a) & set(some[:2]))),
        ({"anomaly__not": some[0]}, lambda a: some[0] not in a),
        ({"anomaly__notin": ",".join(some[:2])}, lambda a: not set(a) & set(some[:2])),
        ({"anomaly__exists": "false"}, lambda a: not a),
        ({"anomaly__exists": "true"}, lambda a: bool(a)),
    ]
    for params, test in cases:
        spec = QuerySpec.parse({**params, "columns": "rootname,anomalies", "limit": 1000})
        result = core.run(db, spec, settings)
        found = sorted(r["rootname"][:8] for r in result.rows)
        assert found == _brute(db, test), params
        assert result.count == len(found)
        assert all(test(r["anomalies"] or []) for r in result.rows), params


def test_the_flag_facet_counts_each_flag_and_the_unflagged(tagged, monkeypatch):
    settings, db, _ = tagged
    flags = _flags(db)
    expected = Counter(f for v in flags.values() for f in v or [None])
    # From one find (few matches), and from the $facet aggregation ($unwind) past that.
    for one_scan in (page._ONE_SCAN_MAX, -1):
        monkeypatch.setattr(page, "_ONE_SCAN_MAX", one_scan)
        result = core.run(db, QuerySpec.parse({}), settings)
        assert dict(result.facets["anomalies"]) == dict(expected)
    wfc = {d["_id"] for d in db[CATALOG].find({"detector": "WFC"})}
    result = core.run(db, QuerySpec.parse({"detector": "WFC"}), settings)
    assert dict(result.facets["anomalies"]) == dict(
        Counter(f for k, v in flags.items() if k in wfc for f in v or [None]))


def test_python_cli_and_json_find_the_flags(tagged, capsys, monkeypatch):
    settings, db, _ = tagged
    flag = Counter(f for v in _flags(db).values() for f in v or []).most_common(1)[0][0]
    expected = _brute(db, lambda a: flag in a)
    archive = Archive(settings)
    assert sorted(r["rootname"][:8] for r in archive.query(anomaly=flag)) == expected
    if settings.mongo_uri.startswith("mongomock"):
        return  # the CLI connects by itself: the real server only
    for name, value in (("ACSQ_MONGO_URI", settings.mongo_uri), ("ACSQ_DB", settings.db),
                        ("ACSQ_DATA", str(settings.data))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    assert main(["query", f"anomaly={flag}", "--format", "json", "--limit", "100",
                 "--columns", "rootname,anomalies"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert sorted(r["rootname"][:8] for r in rows) == expected
    assert all(flag in r["anomalies"] for r in rows)
    assert main(["query", f"anomaly={flag}", "--format", "csv",
                 "--columns", "rootname,anomalies"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(expected) + 1 and all(flag in line for line in lines[1:])


def test_every_catalog_writer_keeps_the_flags(tagged, sample_archive):
    settings, db, vocabulary = tagged
    before = _flags(db)
    events = db[ANOMALY_EVENTS].count_documents({})
    assert run_ingest(settings, sample_archive.root, quicklook=False, force=True).ok
    assert _flags(db) == before
    assert run_reingest(settings, {"detector": {"$ne": None}}, quicklook=False).ok
    assert _flags(db) == before
    doc = db["rootnames"].find_one({"_id": sorted(k for k, v in before.items() if v)[0]})
    upsert_rootname(db, doc)  # the one-document writer
    assert _flags(db) == before
    assert db[ANOMALY_EVENTS].count_documents({}) == events
    assert check_consistency(db, settings.data) == []


def test_gallery_rows_carry_the_flags_at_once(tagged):
    settings, db, vocabulary = tagged
    name = next(k for k, v in _flags(db).items() if not v)
    pid = db[CATALOG].find_one({"_id": name})["proposid"]
    change_flags(db, name, ADA, vocabulary, add=["scattered_light"])
    rows = db[GALLERIES].find_one({"_id": str(pid)})["rows"]
    assert next(r for r in rows if r["rootname"][:8] == name)["anomalies"] == ["scattered_light"]


def test_recent_events_filter_by_flag_and_user(tagged):
    _, db, _ = tagged
    events = list(db[ANOMALY_EVENTS].find())
    flag = Counter(e["flag"] for e in events).most_common(1)[0][0]
    for query in ({}, {"flag": flag}, {"user": "ada"}, {"flag": flag, "user": "bob"}):
        page = recent_events(db, **query, limit=1000)
        expected = [e for e in events if all(e[k] == v for k, v in query.items())]
        assert page.count == len(expected) == len(page.rows), query
        assert [r["time"] for r in page.rows] == sorted((e["time"] for e in expected),
                                                        reverse=True)
        assert all("_id" not in r and "catalog_id" not in r for r in page.rows)
