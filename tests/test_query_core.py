"""The query core: count, facets, sorting, pages, header columns, caching and file paths."""

from __future__ import annotations

import datetime
from collections import Counter

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from query_documents import load, make_documents

from acsq_mongo import Archive
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.ingest.store import upsert_rootname
from acsq_mongo.query import (
    FACET_FIELDS,
    QueryError,
    QuerySpec,
    ResultCache,
    core,
    page,
    run,
    selection,
)
from acsq_mongo.query.facets import count_and_facets

DOCS = make_documents(60)


@pytest.fixture
def loaded(db):
    load(db, DOCS)
    return db


@pytest.fixture(params=["one find", "aggregate past 10", "aggregate always"])
def one_scan_max(request, monkeypatch):
    """Each way a first page gets its count and facets: from its own find (all 60
    match), from the $facet aggregation once more than 10 match, or always from it."""
    value = {"one find": page._ONE_SCAN_MAX, "aggregate past 10": 10, "aggregate always": -1}
    monkeypatch.setattr(page, "_ONE_SCAN_MAX", value[request.param])
    return value[request.param]


def _in_beam(docs):
    """The combined filter facet by hand: each filter in either wheel once, CLEAR left out."""
    return Counter(v for d in docs for v in {d.get("filter1"), d.get("filter2")}
                   if isinstance(v, str) and not v.startswith(("CLEAR", "N/A", "BLOCK")))


def _brute_facets(docs):
    return {name: _in_beam(docs) if name == "filter" else Counter(d.get(name) for d in docs)
            for name in FACET_FIELDS}


def _near(ra, dec, radius):
    """Brute force with astropy: a document's target within ``radius`` degrees."""
    def inside(d):
        if d["ra_targ"] is None:
            return False
        target = SkyCoord(d["ra_targ"] * u.deg, d["dec_targ"] * u.deg)
        return target.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg <= radius
    return inside


# Each query, and the same question asked of the documents in plain Python.
BRUTE_FORCE = [
    ({}, lambda d: True),
    ({"detector": "WFC"}, lambda d: d["detector"] == "WFC"),
    ({"exptime__gte": "400", "date_obs__lt": "2008"},
     lambda d: d["exptime"] is not None and d["exptime"] >= 400
     and d["date_obs"] is not None and d["date_obs"] < datetime.datetime(2008, 1, 1)),
    ({"headers.flt.0.CCDGAIN__gte": "2"}, lambda d: d["headers"]["flt"]["0"]["CCDGAIN"] >= 2),
    ({"ra": "0", "dec": "1", "radius": "1"}, _near(0.0, 1.0, 1.0)),
    ({"detector": "ACS-NONE"}, lambda d: False),
]


@pytest.mark.parametrize("params, predicate", BRUTE_FORCE, ids=[str(p) for p, _ in BRUTE_FORCE])
def test_count_and_facets_equal_brute_force_counts(loaded, settings, params, predicate,
                                                   one_scan_max):
    spec = QuerySpec.parse(params)
    matching = [d for d in DOCS if predicate(d)]
    assert bool(matching) == (params != {"detector": "ACS-NONE"})   # each asks something
    result = run(loaded, spec, settings)
    assert result.count == len(matching)
    expected = _brute_facets(matching)
    for name in FACET_FIELDS:
        assert dict(result.facets[name]) == dict(expected[name]), name
        counts = [n for _, n in result.facets[name]]
        assert counts == sorted(counts, reverse=True)
    if params == {}:
        assert result.count == len(DOCS)
        assert None in dict(result.facets["filter2"])  # missing values are counted too


def test_the_one_facet_aggregation_equals_one_group_per_field(loaded):
    total, facets = count_and_facets(loaded[CATALOG], {"exptime": {"$gte": 100}})
    matching = list(loaded[CATALOG].find({"exptime": {"$gte": 100}}))
    assert dict(facets["filter"]) == dict(_in_beam(matching))
    for name in (n for n in FACET_FIELDS if n != "filter"):
        single = loaded[CATALOG].aggregate([{"$match": {"exptime": {"$gte": 100}}},
                                            {"$group": {"_id": f"${name}", "n": {"$sum": 1}}}])
        assert dict(facets[name]) == {g["_id"]: g["n"] for g in single}
    assert total == loaded[CATALOG].count_documents({"exptime": {"$gte": 100}})
    assert 0 < total < len(DOCS)


def test_the_facet_aggregation_of_no_match_is_empty(loaded):
    total, facets = count_and_facets(loaded[CATALOG], {"detector": "no such detector"})
    assert total == 0
    assert facets == {name: [] for name in FACET_FIELDS}


def _python_order(docs, sort):
    # _id breaks ties in the direction of the last key (served by a (field, _id) index).
    ordered = sorted(docs, key=lambda d: d["_id"], reverse=sort[-1][1] < 0)
    for name, direction in reversed(sort):
        ordered.sort(key=lambda d, n=name: (d[n] is not None, d[n] if d[n] is not None else 0),
                     reverse=direction < 0)
    return [d["rootname"] for d in ordered]


@pytest.mark.parametrize(
    "sort", ["date_obs", "-exptime", "detector,-proposid", "-subarray,targname"]
)
def test_pages_are_stable_complete_and_in_order(loaded, settings, sort, one_scan_max):
    seen = []
    offset = 0
    while True:
        spec = QuerySpec.parse({"sort": sort, "limit": "7", "offset": str(offset),
                                "columns": "rootname"})
        page = run(loaded, spec, settings, with_facets=False)
        assert page.count == len(DOCS)
        seen += [r["rootname"] for r in page.rows]
        if page.next_offset is None:
            break
        assert len(page.rows) == 7
        offset = page.next_offset
    keys = [(k.lstrip("-"), -1 if k.startswith("-") else 1) for k in sort.split(",")]
    assert seen == _python_order(DOCS, keys)


def test_header_columns_come_from_the_whole_document(loaded, settings):
    spec = QuerySpec.parse({
        "detector": "WFC", "sort": "rootname",
        "columns": "rootname,headers.flt.1.D2IM1.EXTVER,headers.flt.1.MYKEY,headers.spt.0.X",
    })
    result = run(loaded, spec, settings)
    by_name = {d["rootname"]: d for d in DOCS}
    assert result.collection == CATALOG and result.rows
    for row in result.rows:
        flt1 = by_name[row["rootname"]]["headers"]["flt"]["1"]
        assert row["headers.flt.1.D2IM1.EXTVER"] == flt1["D2IM1%2EEXTVER"]
        assert row["headers.flt.1.MYKEY"] == flt1.get("MYKEY")
        assert row["headers.spt.0.X"] is None
    assert list(result.rows[0]) == list(spec.column_names)


def test_a_header_query_matching_very_many_runs_whole_on_rootnames(loaded, settings, monkeypatch):
    params = {"headers.flt.0.CCDGAIN__gte": "2", "sort": "-exptime",
              "columns": "rootname,exptime,headers.flt.0.CCDGAIN"}
    normal = run(loaded, QuerySpec.parse(params), settings)
    monkeypatch.setattr(selection, "MAX_IDS", 3)
    big = run(loaded, QuerySpec.parse(params), settings)
    assert big.collection == ROOTNAMES and normal.collection == CATALOG
    assert big.rows == normal.rows and big.count == normal.count and big.facets == normal.facets
    assert all(r["headers.flt.0.CCDGAIN"] >= 2 for r in big.rows)


def test_a_cone_holding_more_than_max_ids_asks_for_a_smaller_search(loaded, settings,
                                                                      monkeypatch):
    spec = QuerySpec.parse({"ra": "0", "dec": "1", "radius": "5"})
    n = run(loaded, spec, settings).count
    assert n > 3
    monkeypatch.setattr(selection, "MAX_IDS", 3)
    with pytest.raises(QueryError, match=f"the cone holds {n} rootnames, more than 3; make the "
                                         "search smaller"):
        run(loaded, spec, settings, cache=ResultCache())


def test_a_page_is_capped_by_max_rows_and_past_the_end_is_empty(loaded, settings):
    with pytest.raises(QueryError, match="limit 61 is over the 60 rows one page may return"):
        run(loaded, QuerySpec.parse({"limit": "61"}), settings.replace(max_rows=60))
    page = run(loaded, QuerySpec.parse({"offset": "1000"}), settings)
    assert page.rows == [] and page.count == len(DOCS) and page.next_offset is None
    default = run(loaded, QuerySpec.parse({}), settings.replace(page_size=10))
    assert len(default.rows) == 10 and default.next_offset == 10 and default.prev_offset is None


def test_cached_results_last_until_the_data_changes(loaded, settings):
    cache = ResultCache()
    spec = QuerySpec.parse({"detector": "SBC", "columns": "rootname,exptime"})
    first = run(loaded, spec, settings, cache=cache)
    again = run(loaded, spec, settings, cache=cache)
    assert not first.from_cache and again.from_cache
    assert again.rows == first.rows and again.facets == first.facets
    changed = dict(DOCS[3], exptime=12345.0)
    assert changed["detector"] == "SBC"
    upsert_rootname(loaded, changed)
    after = run(loaded, spec, settings, cache=cache)
    assert not after.from_cache
    assert {r["exptime"] for r in after.rows} - {r["exptime"] for r in first.rows} == {12345.0}


def test_the_server_refusing_a_regex_is_a_query_error(real_db, real_settings):
    load(real_db, DOCS[:5])
    # Python's re reads \N{name}; PCRE2 (MongoDB) and SecantusDB's Rust server refuse it.
    spec = QuerySpec.parse({"targname__regex": "\\N{DIGIT ONE}"})
    with pytest.raises(QueryError, match="the database refused this query"):
        run(real_db, spec, real_settings)


def test_paths_are_absolute_and_found_in_any_case(loaded, settings, tmp_path):
    archive = tmp_path / "archive"
    wfc = [d for d in DOCS if d["detector"] == "WFC" and "flc" in d["filetypes"]][:2]
    lower, upper = wfc
    (archive / lower["path"]).mkdir(parents=True)
    (archive / lower["path"] / f"{lower['rootname']}_flt.fits").write_bytes(b"")
    upper_dir = archive / upper["path"].upper()
    upper_dir.mkdir(parents=True)
    (upper_dir / f"{upper['rootname']}_FLC.FITS".upper()).write_bytes(b"")
    settings = settings.replace(archive=archive)
    rootnames = f"{lower['rootname']},{upper['rootname']}"
    q = Archive(settings, db=loaded).query(rootname__in=rootnames, sort="rootname")
    paths = q.paths("flc", "flt")
    by_rootname = sorted([lower, upper], key=lambda d: d["rootname"])
    expected = []
    for doc in by_rootname:
        for ft in ("flc", "flt"):
            if doc is upper and ft == "flc":
                expected.append(str(upper_dir / f"{upper['rootname']}_FLC.FITS".upper()))
            else:
                expected.append(str(archive / doc["path"] / f"{doc['rootname']}_{ft}.fits"))
    assert paths == expected
    every = q.paths()
    assert len(every) == sum(len(d["filetypes"]) for d in by_rootname)
    with pytest.raises(QueryError, match="set ACSQ_ARCHIVE"):
        Archive(settings.replace(archive=None), db=loaded).query(detector="WFC").paths("flt")


def test_the_python_api_reads_like_an_analysis_script(loaded, settings, tmp_path):
    archive = Archive(settings, db=loaded)
    q = archive.query(detector="WFC", exptime__gte=1000)
    expected = sorted(d["rootname"] for d in DOCS if d["detector"] == "WFC"
                      and (d["exptime"] or 0) >= 1000)
    assert q.count() == len(expected) and expected
    rows = q.select("rootname", "exptime").order_by("rootname").rows()
    assert [r["rootname"] for r in rows] == expected
    assert all(r["exptime"] >= 1000 for r in rows)
    assert dict(q.facets()["detector"]) == {"WFC": len(expected)}
    narrower = q.filter({"headers.flt.0.CCDGAIN": 2})
    assert {r["rootname"] for r in narrower} == {
        d["rootname"] for d in DOCS if d["rootname"] in expected
        and d["headers"]["flt"]["0"]["CCDGAIN"] == 2.0}
    assert q.to_csv(tmp_path / "out.csv") == len(expected)
    assert archive.document(expected[0].upper())["headers"]["flt"]["0"]["DETECTOR"] == "WFC"
    with pytest.raises(QueryError, match="unknown field 'detektor'"):
        archive.query(detektor="WFC")


def test_streamed_rows_with_header_columns_equal_the_pages(loaded, settings):
    spec = QuerySpec.parse({"detector__in": "WFC,HRC", "headers.flt.0.CRSPLIT__gte": "2",
                            "sort": "-exptime", "limit": "500",
                            "columns": "rootname,exptime,headers.flt.1.D2IM1.EXTVER"})
    streamed = list(core.iter_rows(loaded, spec, batch_size=4))
    assert streamed == run(loaded, spec, settings).rows
    assert streamed and all(r["headers.flt.1.D2IM1.EXTVER"] in (1.0, 2.0) for r in streamed)


def test_an_archive_reuses_its_results_unless_told_not_to(loaded, settings):
    q = Archive(settings, db=loaded).query(detector="HRC")
    assert not q.page().from_cache
    assert q.page().from_cache
    uncached = Archive(settings, db=loaded, cache=False).query(detector="HRC")
    assert not uncached.page().from_cache and not uncached.page().from_cache


def test_big_id_sets_stay_out_of_the_cache(loaded, settings, monkeypatch):
    monkeypatch.setattr(selection, "_CACHE_IDS_MAX", 2)
    cache = ResultCache()
    spec = QuerySpec.parse({"headers.flt.0.CCDGAIN__gte": "2"})
    first = run(loaded, spec, settings, cache=cache)
    assert first.count > 2
    kinds = [key[0] for key in cache._entries]
    assert "selection" not in kinds and "facets" in kinds and "page" in kinds
    assert run(loaded, spec, settings, cache=cache).rows == first.rows


def test_a_streamed_download_is_kept_until_the_data_changes(loaded, settings):
    """The same CSV again costs no scan: its rows come from the cache until a write."""
    cache = ResultCache()
    spec = QuerySpec.parse({"detector": "WFC", "columns": "rootname,exptime"})
    first = list(core.iter_rows(loaded, spec, cache))
    assert first and first == list(core.iter_rows(loaded, spec))     # same as uncached
    first[0]["exptime"] = -1.0                                        # callers may change rows
    # A document slipped in without a write through the store (no new generation):
    # the kept rows are served, so the new one does not show...
    extra = dict(DOCS[0], _id="zzzz0009", rootname="zzzz0009q", detector="WFC")
    loaded[CATALOG].insert_one({k: extra[k] for k in ("_id", "rootname", "detector",
                                                      "exptime", "date_obs")})
    again = list(core.iter_rows(loaded, spec, cache))
    assert again == list(core.iter_rows(loaded, spec, cache)) and len(again) == len(first)
    assert again[0]["exptime"] != -1.0
    # ...until the data generation changes.
    upsert_rootname(loaded, extra)
    after = list(core.iter_rows(loaded, spec, cache))
    assert len(after) == len(first) + 1 and "zzzz0009q" in {r["rootname"] for r in after}


def test_a_long_download_is_not_kept(loaded, settings, monkeypatch):
    monkeypatch.setattr(core, "_CACHE_ROWS_MAX", 3)
    cache = ResultCache()
    spec = QuerySpec.parse({"detector": "WFC", "columns": "rootname"})
    first = list(core.iter_rows(loaded, spec, cache))
    assert len(first) > 3
    loaded[CATALOG].insert_one({"_id": "zzzz0010", "rootname": "zzzz0010q", "detector": "WFC"})
    assert len(list(core.iter_rows(loaded, spec, cache))) == len(first) + 1   # read again
