"""Bulk re-ingest by filter: exactly the matching rootnames are read again.

Given an ingested archive, when an analyst re-ingests "HRC before some date"
(or a header-keyword selection), those rootnames, and only those, are read
again; a dry run names them and changes nothing; a filter that could run
code on the server is refused.
"""

from __future__ import annotations

import datetime
import shutil
import time

import pytest

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, ROOTNAMES
from acsq_mongo.db.generation import generation
from acsq_mongo.ingest.reingest import (
    FilterError,
    filter_collection,
    parse_filter,
    run_reingest,
    select_rootnames,
)
from acsq_mongo.ingest.run import run_ingest


def _dates(db) -> dict[str, datetime.datetime]:
    return {d["rootname"]: d["last_ingest_date"]
            for d in db[CATALOG].find({}, {"rootname": 1, "last_ingest_date": 1})}


def _hrc_split(sample_archive) -> tuple[str, set[str]]:
    """A date that splits the HRC rootnames, and the HRC rootnames before it."""
    hrc = sorted((r.promoted["date_obs"], r.rootname) for r in sample_archive.rootnames
                 if r.promoted["detector"] == "HRC")
    assert len(hrc) >= 4
    cut = hrc[len(hrc) // 2][0]
    return cut, {name for when, name in hrc if when < cut}


def _where(cut: str) -> str:
    return (f'{{"detector": "HRC", "date_obs": {{"$lt": {{"$date": "{cut}Z"}}}}}}')


@pytest.mark.parametrize("text, where", [
    ('{"$where": "sleep(1000)"}', "in filter"),
    ('{"detector": "HRC", "$and": [{"exptime": {"$gt": 1}}, {"$where": "true"}]}',
     "in filter.$and[1]"),
    ('{"$or": [{"detector": "WFC"}, {"$and": [{"$where": "x"}]}]}', "in filter.$or[1].$and[0]"),
    ('{"$expr": {"$function": {"body": "function() {return true}", "args": [], '
     '"lang": "js"}}}', "in filter.$expr"),
    ('{"$expr": {"$gt": [{"$accumulator": {}}, 1]}}', "in filter.$expr.$gt[0]"),
    ('{"$WHERE": "1"}', "in filter"),
])
def test_operators_that_run_code_are_refused_anywhere(text, where):
    with pytest.raises(FilterError, match="runs code on the server and is not allowed") as e:
        parse_filter(text)
    assert where in str(e.value)


def test_javascript_code_values_and_bad_json_are_refused():
    with pytest.raises(FilterError, match="JavaScript code is not allowed"):
        parse_filter('{"targname": {"$code": "function() {}"}}')
    with pytest.raises(FilterError, match="not valid Extended JSON"):
        parse_filter('{"detector": HRC}')
    with pytest.raises(FilterError, match="must be a JSON object"):
        parse_filter('[{"detector": "HRC"}]')
    with pytest.raises(FilterError, match="date_obs is a date"):
        parse_filter('{"date_obs": {"$lt": "2007-01-01"}}')


def test_dates_become_naive_utc_as_the_store_holds_them():
    query = parse_filter('{"$or": [{"date_obs": {"$lt": {"$date": "2007-01-01T02:30:00+02:00"}}},'
                         ' {"last_ingest_date": {"$gte": {"$date": 1167609600000}}}]}')
    lt = query["$or"][0]["date_obs"]["$lt"]
    gte = query["$or"][1]["last_ingest_date"]["$gte"]
    assert lt == datetime.datetime(2007, 1, 1, 0, 30) and lt.tzinfo is None
    assert gte == datetime.datetime(2007, 1, 1) and gte.tzinfo is None


@pytest.mark.parametrize("query, collection", [
    ({"detector": "HRC"}, CATALOG),
    ({"$or": [{"proposid": 1}, {"n_errors": {"$gt": 0}}], "quicklook.flt": {"$exists": True}},
     CATALOG),
    ({"files_sig": "x", "last_ingest_date": {"$lt": datetime.datetime(2020, 1, 1)}}, CATALOG),
    ({"headers.flt.0.CCDGAIN": 2}, ROOTNAMES),
    ({"detector": "HRC", "$and": [{"files.flt.size": {"$gt": 0}}]}, ROOTNAMES),
    ({"errors.stage": "header"}, ROOTNAMES),
    ({"$expr": {"$eq": ["$detector", "HRC"]}}, ROOTNAMES),
])
def test_a_filter_on_catalog_fields_runs_on_the_slim_catalog(query, collection):
    assert filter_collection(query) == collection


def test_reingest_touches_exactly_the_matching_rootnames(settings, db, sample_archive):
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    cut, expected = _hrc_split(sample_archive)
    before = _dates(db)
    time.sleep(0.01)   # last_ingest_date has millisecond precision
    query = parse_filter(_where(cut))
    seen = []
    summary = run_reingest(settings.replace(archive=sample_archive.root), query,
                           quicklook=False, announce=seen.append)
    assert summary.ok and summary.rootnames == len(expected)
    assert seen[0].collection == CATALOG and set(seen[0].rootnames) == expected
    # Every file of the matches was read again (forced), even though none changed.
    files = sum(len(r.filetypes) for r in sample_archive.rootnames if r.rootname in expected)
    assert summary.files_read == files and summary.ingested == len(expected)
    after = _dates(db)
    assert {name for name in after if after[name] != before[name]} == expected
    assert all(after[name] > before[name] for name in expected)
    assert "reingest_" in summary.log_path.name
    assert "Re-ingest of" in summary.log_path.read_text()
    assert db[CATALOG].count_documents({}) == db[ROOTNAMES].count_documents({}) == 32


def test_a_header_keyword_filter_runs_on_the_whole_documents(settings, db, sample_archive):
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    brute = {d["rootname"] for d in db[ROOTNAMES].find({}, {"rootname": 1, "headers.flt": 1})
             if d.get("headers", {}).get("flt", {}).get("0", {}).get("CCDGAIN") == 2}
    assert brute
    selection = select_rootnames(db, parse_filter('{"headers.flt.0.CCDGAIN": 2}'))
    assert selection.collection == ROOTNAMES and set(selection.rootnames) == brute
    assert all(set(row) == {"_id", "rootname", "path", "file_paths"} for row in selection.rows)


def test_reingest_on_dask_from_the_command_line(real_settings, real_db, sample_archive,
                                                monkeypatch, capsys):
    monkeypatch.setenv("ACSQ_MONGO_URI", real_settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", real_settings.db)
    monkeypatch.setenv("ACSQ_DATA", str(real_settings.data))
    monkeypatch.setenv("ACSQ_ARCHIVE", str(sample_archive.root))
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    assert main(["ingest", "--workers", "0", "--no-quicklook"]) == 0
    cut, expected = _hrc_split(sample_archive)
    before, token = _dates(real_db), generation(real_db)
    capsys.readouterr()

    # A dry run names the matches and changes nothing.
    assert main(["reingest", "--where", _where(cut), "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == sorted(expected)
    assert f"{len(expected)} rootnames match" in err and "dry run, nothing changed" in err
    assert _dates(real_db) == before and generation(real_db) == token

    # Code is refused, and nothing happens.
    assert main(["reingest", "--where", '{"$where": "this.detector == \'HRC\'"}']) == 2
    assert "$where runs code on the server" in capsys.readouterr().err
    assert _dates(real_db) == before

    # The real thing, on a LocalCluster, with quicklooks made again.
    time.sleep(0.01)
    assert main(["reingest", "--where", _where(cut), "--workers", "2", "--batch-size",
                 "2"]) == 0
    out, err = capsys.readouterr()
    assert f"{len(expected)} rootnames in" in out and "0 failed" in out
    assert "Dask: LocalCluster, 2 workers" in err
    assert "quicklooks:" in out
    after = _dates(real_db)
    assert {name for name in after if after[name] != before[name]} == expected
    for name in expected:
        doc = real_db[CATALOG].find_one({"rootname": name}, {"quicklook": 1, "filetypes": 1})
        if {"raw", "flt", "flc"} & set(doc["filetypes"]):
            assert doc["quicklook"], name


def test_a_matching_rootname_gone_from_disk_is_reported_and_left_alone(
        settings, db, sample_archive_copy):
    archive = sample_archive_copy.root
    assert run_ingest(settings, archive, quicklook=False).ok
    gone = sample_archive_copy.rootnames[0]
    shutil.rmtree(archive / gone.path)
    stored = db[ROOTNAMES].find_one({"_id": gone.rootname[:8]})
    query = {"rootname": {"$in": [gone.rootname, sample_archive_copy.rootnames[1].rootname]}}
    summary = run_reingest(settings.replace(archive=archive), query, quicklook=False)
    assert not summary.ok and summary.rootnames == 1 and summary.ingested == 1
    assert any(gone.rootname in p and "not re-ingested" in p for p in summary.problems)
    assert db[ROOTNAMES].find_one({"_id": gone.rootname[:8]}) == stored
    assert db[INGEST_ERRORS].count_documents({}) == 0


def test_a_filter_the_server_refuses_is_a_clear_error(settings, db):
    # A server may check a filter only against documents: give it one.
    db[CATALOG].insert_one({"_id": "jabc01ab", "rootname": "jabc01abq", "detector": "HRC"})
    with pytest.raises(FilterError, match="the server refused the filter: .*nosuchop"):
        select_rootnames(db, parse_filter('{"detector": {"$nosuchop": 1}}'))
