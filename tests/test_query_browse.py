"""The query core's browsing helpers for the web app: summary, proposals, one rootname.

Given hand-made documents stored through the store (on mongomock and the real
server), the home-page summary, the proposal list and the rootname lookups
agree with counts made by brute force over the same documents, and use only
the cheap reads the web app is allowed (one $group on catalog; _id lookups).
"""

from __future__ import annotations

import datetime
from collections import Counter

import pymongo
import pytest
from command_log import CommandLog
from query_documents import load, make_documents

from acsq_mongo.browse.proposal_rows import (
    MAX_PROPOSAL_ROWS,
    answerable,
    gallery_summary,
    proposal_filter,
    proposal_page,
    proposal_rows,
)
from acsq_mongo.browse.proposals import (
    get_proposal,
    list_proposals,
    parse_proposal_sort,
    parse_proposid,
)
from acsq_mongo.browse.rootname import (
    Association,
    association,
    catalog_document,
    header_tables,
    neighbours,
    proposal_members,
    quicklook_filetypes,
    rootname_id,
    whole_document,
)
from acsq_mongo.browse.summary import archive_summary, archive_values
from acsq_mongo.db.collections import CATALOG, GALLERIES, INGEST_ERRORS, META, PROPOSALS, ROOTNAMES
from acsq_mongo.fields import FILETYPES
from acsq_mongo.ingest.store import record_errors, set_quicklook, upsert_rootname
from acsq_mongo.ingest.summaries import refresh_summaries
from acsq_mongo.query import QueryError, QuerySpec, ResultCache, run


@pytest.fixture
def docs(db):
    documents = make_documents(60, seed=7)
    documents[3]["n_errors"] = 2
    documents[3]["errors"] = [{"stage": "header", "error": "x"}] * 2
    documents[8]["n_errors"] = 1
    load(db, documents)
    refresh_summaries(db)
    record_errors(db, [{"rootname": "a", "path": "p", "stage": "header", "error": "e"}] * 5)
    db[META].replace_one({"_id": "last_ingest"},
                         {"_id": "last_ingest", "time": documents[0]["last_ingest_date"],
                          "rootnames": 60, "ingested": 60, "failed": 0}, upsert=True)
    return documents


def test_the_summary_counts_what_brute_force_counts(db, docs):
    summary = archive_summary(db)
    assert summary.n_rootnames == len(docs)
    assert dict(summary.by_detector) == Counter(d["detector"] for d in docs)
    assert [d for d, _ in summary.by_detector] == ["WFC", "HRC", "SBC"]
    expected_ft = Counter(ft for d in docs for ft in d["filetypes"])
    assert dict(summary.by_filetype) == expected_ft
    order = [ft for ft, _ in summary.by_filetype]
    assert order == sorted(order, key=FILETYPES.index)
    assert summary.n_files == sum(expected_ft.values())
    by_year = Counter((d["detector"], d["year"]) for d in docs if d["year"] is not None)
    assert {(det, y): n for det, years in summary.by_year.items()
            for y, n in years.items()} == by_year
    assert summary.years == sorted({d["year"] for d in docs if d["year"] is not None})
    assert summary.rootnames_with_errors == 2 and summary.document_errors == 3
    assert summary.n_ingest_errors == 5
    assert summary.n_proposals == len({d["proposid"] for d in docs if d["proposid"]})
    assert summary.last_ingest["rootnames"] == 60 and "_id" not in summary.last_ingest


def test_the_summary_is_that_of_the_last_ingest_run(db, docs):
    """The home page's figures are written at the end of each run (one _id lookup to
    read), so a write between runs shows after the next run's refresh."""
    cache = ResultCache()
    first = archive_summary(db, cache)
    assert archive_summary(db, cache) is first          # same generation: from the cache
    extra = dict(docs[0], _id="zzzz0001", rootname="zzzz0001q", detector="SBC")
    upsert_rootname(db, extra)                          # a write changes the generation...
    second = archive_summary(db, cache)
    assert second is not first                          # ...so the cache is not used
    assert second.n_rootnames == first.n_rootnames      # but the figures are the last run's
    refresh_summaries(db)                               # the end of the next run
    third = archive_summary(db, cache)
    assert third.n_rootnames == first.n_rootnames + 1
    assert dict(third.by_detector)["SBC"] == dict(first.by_detector)["SBC"] + 1
    record_errors(db, [{"rootname": "b", "path": "q", "stage": "header", "error": "e"}])
    assert archive_summary(db, cache).n_ingest_errors == first.n_ingest_errors  # not seen yet
    db[META].update_one({"_id": "last_ingest"}, {"$set": {"time": datetime.datetime(2025, 1, 1)}})
    assert archive_summary(db, cache).n_ingest_errors == first.n_ingest_errors + 1


def test_before_any_run_the_summary_is_counted_live(db):
    load(db, make_documents(12, seed=3))
    assert db[META].find_one({"_id": "summary"}) is None
    live = archive_summary(db)
    refresh_summaries(db)
    stored = archive_summary(db)
    assert live.n_rootnames == stored.n_rootnames == 12
    for name in ("by_detector", "by_filetype", "by_year", "years", "n_files",
                 "rootnames_with_errors", "document_errors"):
        assert getattr(live, name) == getattr(stored, name), name


def test_archive_values_are_every_value_of_each_facet_field(db, docs):
    cache = ResultCache()
    values = archive_values(db, cache)
    for name in ("detector", "filter1", "filter2", "aperture", "proposid", "obstype"):
        counts = Counter(d[name] for d in docs if d[name] is not None)
        assert sorted(values[name], key=str) == sorted(counts, key=str)
        assert counts[values[name][0]] == max(counts.values())      # most frequent first
    assert archive_values(db, cache, only_cached=True) is values
    upsert_rootname(db, dict(docs[0], _id="zzzz0002", rootname="zzzz0002q", filter1="F999X"))
    assert "F999X" not in archive_values(db, cache, only_cached=True)["filter1"]  # last run's
    refresh_summaries(db)
    assert "F999X" in archive_values(db, cache, only_cached=True)["filter1"]


def test_archive_values_before_any_run_need_a_scan(db):
    load(db, make_documents(12, seed=3))
    cache = ResultCache()
    assert archive_values(db, cache, only_cached=True) is None      # no scan asked for
    live = archive_values(db, cache)
    assert archive_values(db, cache, only_cached=True) is live      # now cached
    refresh_summaries(db)
    stored = archive_values(db, None, only_cached=True)
    assert {k: sorted(v, key=str) for k, v in stored.items()} == \
        {k: sorted(v, key=str) for k, v in live.items()}


def test_an_empty_archive_has_an_empty_summary(db):
    summary = archive_summary(db)
    assert summary.n_rootnames == 0 and summary.by_detector == [] and summary.years == []
    assert summary.last_ingest is None and summary.n_ingest_errors == 0


def test_proposals_are_listed_and_sorted_with_missing_values_last(db, docs):
    pids = sorted({d["proposid"] for d in docs if d["proposid"] is not None})
    assert [p["proposid"] for p in list_proposals(db)] == pids[::-1]   # newest first
    by_count = list_proposals(db, parse_proposal_sort("-n_rootnames"))
    counts = [p["n_rootnames"] for p in by_count]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == sum(1 for d in docs if d["proposid"] is not None)
    by_pi = [p["pr_inv_l"] for p in list_proposals(db, parse_proposal_sort("pr_inv_l"))]
    assert by_pi[-1] is None and by_pi[:-1] == sorted(by_pi[:-1])     # 12345 has no PI
    by_pi_desc = [p["pr_inv_l"] for p in list_proposals(db, parse_proposal_sort("-pr_inv_l"))]
    assert by_pi_desc[-1] is None
    cache = ResultCache()
    assert get_proposal(db, 10368, cache)["n_rootnames"] == get_proposal(db, 10368)["n_rootnames"]
    assert get_proposal(db, 4, cache) is None and get_proposal(db, 4) is None


def test_a_gallery_takes_its_count_and_rows_from_one_document(db, docs):
    """A refresh writes ``proposals`` then ``galleries``: a page between the two writes
    still shows a count and rows of the same run, both from the gallery document."""
    pid = 10368
    summary = gallery_summary(db, pid)
    assert summary["n_rootnames"] == len(proposal_rows(db, pid)) > 0
    stored = {k: v for k, v in get_proposal(db, pid).items() if k != "updated"}
    assert {k: v for k, v in summary.items() if k != "updated"} == stored
    # Half a refresh: the proposal summary of a newer run, the gallery of the last one.
    db[PROPOSALS].update_one({"_id": str(pid)}, {"$inc": {"n_rootnames": 3}})
    for cache in (None, ResultCache()):
        assert gallery_summary(db, pid, cache)["n_rootnames"] == len(proposal_rows(db, pid, cache))
    # A gallery written before summaries were kept in it: the proposals document.
    db[GALLERIES].update_one({"_id": str(pid)}, {"$unset": {"summary": ""}})
    assert gallery_summary(db, pid)["n_rootnames"] == stored["n_rootnames"] + 3
    assert gallery_summary(db, None) is None


@pytest.mark.parametrize("text", ["-date_max", "bogus", "$where"])
def test_proposal_sort_and_id_are_checked(text):
    if text == "-date_max":
        assert parse_proposal_sort(text) == ("date_max", -1)
        return
    with pytest.raises(QueryError, match="valid sort fields: proposid"):
        parse_proposal_sort(text)


@pytest.mark.parametrize("text", ["10368", "unknown", "-1", "1e3", "../x", "１２", "9" * 12])
def test_a_proposal_id_in_a_url_is_digits_or_unknown(text):
    if text == "10368":
        assert parse_proposid(text) == 10368
    elif text == "unknown":
        assert parse_proposid(text) is None
    else:
        with pytest.raises(QueryError, match="a proposal ID is a number"):
            parse_proposid(text)


def test_a_rootname_is_found_by_id_in_any_case_and_not_by_a_wrong_ninth_letter(db, docs):
    doc = docs[10]
    assert catalog_document(db, doc["rootname"])["_id"] == doc["_id"]
    assert catalog_document(db, doc["rootname"].upper())["rootname"] == doc["rootname"]
    assert catalog_document(db, doc["_id"])["rootname"] == doc["rootname"]
    wrong = doc["rootname"][:8] + ("x" if doc["rootname"][8] != "x" else "y")
    assert catalog_document(db, wrong) is None
    assert "headers" not in catalog_document(db, doc["rootname"])
    assert whole_document(db, doc["rootname"])["headers"]["flt"]["1"]["CCDGAIN"] > 0
    for bad in ("j94f", "j94f05bgq1", "j94f05b$q", "../../etc", {"$gt": ""}):
        with pytest.raises(QueryError, match="8 or 9 letters and digits"):
            rootname_id(bad)


def test_header_tables_unescape_keys_and_name_each_type(db, docs):
    doc = whole_document(db, docs[0]["rootname"])
    doc["headers"]["flt"]["0"]["COMMENT"] = ["first line", "second <line>"]
    doc["headers"]["flt"]["10"] = {"EXTNAME": "HDRTAB", "EXTVER": 1}
    doc["headers"]["flt"]["2"] = {"EXTNAME": "ERR", "EXTVER": 1, "MDRIZSKY": None}
    doc["header_nulls"] = {"flt": {"2": {"MDRIZSKY": "nan"}}}
    tables = header_tables(doc)
    assert [(t.filetype, t.ext) for t in tables] == [
        ("raw", "0"), ("flt", "0"), ("flt", "1"), ("flt", "2"), ("flt", "10")]
    flt1 = tables[2]
    cards = {c.keyword: c for c in flt1.cards}
    assert "D2IM1.EXTVER" in cards and "D2IM1%2EEXTVER" not in cards
    assert cards["EXTVER"].type == "int" and cards["CCDGAIN"].type == "float"
    assert flt1.extname == "SCI,1" and tables[1].extname is None
    flt0 = {c.keyword: c for c in tables[1].cards}
    assert flt0["COMMENT"].type == "commentary" and flt0["STATFLAG"].type == "bool"
    assert {c.keyword: c.type for c in tables[3].cards}["MDRIZSKY"] == "nan"


def test_previous_and_next_follow_the_date_order_of_the_proposal(db, docs):
    members = [d for d in docs if d["proposid"] == 9575]
    members.sort(key=lambda d: (d["date_obs"] is not None, d["date_obs"] or 0, d["_id"]))
    expected = [d["rootname"] for d in members]
    cache = ResultCache()
    assert list(proposal_members(db, 9575, cache)) == expected
    assert proposal_rows(db, 9575, cache) is proposal_rows(db, 9575, cache)     # kept
    middle = catalog_document(db, expected[1])
    around = neighbours(db, middle, cache)
    assert (around.previous, around.next) == (expected[0], expected[2])
    assert (around.index, around.total) == (2, len(expected))
    first = neighbours(db, catalog_document(db, expected[0]), cache)
    last = neighbours(db, catalog_document(db, expected[-1]), cache)
    assert first.previous is None and last.next is None and last.index == len(expected)
    unknown = [d["rootname"] for d in docs if d["proposid"] is None]
    assert sorted(proposal_members(db, None)) == sorted(unknown)


@pytest.mark.parametrize("proposid", [10368, 9575, 11677, 12345, None])
def test_a_proposals_pages_from_its_rows_equal_the_servers(db, settings, docs, proposid):
    settings = settings.replace(page_size=4)
    cache = ResultCache()
    n = sum(1 for d in docs if d["proposid"] == proposid)
    columns = ("columns", "rootname,date_obs,exptime,quicklook,filter1")
    for offset in range(0, n + 4, 4):
        spec = QuerySpec.parse([proposal_filter(proposid), columns, ("offset", str(offset))])
        mine = proposal_page(db, spec, settings, proposid, n, cache)
        theirs = run(db, spec, settings)
        assert mine is not None
        assert (mine.rows, mine.count, mine.facets) == (theirs.rows, theirs.count, theirs.facets)
        assert (mine.next_offset, mine.prev_offset) == (theirs.next_offset, theirs.prev_offset)
    everything = QuerySpec.parse([proposal_filter(proposid), columns, ("limit", "0")])
    assert proposal_page(db, everything, settings, proposid, n, cache).rows == []
    with pytest.raises(QueryError, match="max_rows|ACSQ_MAX_ROWS"):
        proposal_page(db, everything.replace(limit=settings.max_rows + 1), settings, proposid,
                      n, cache)


@pytest.mark.parametrize("extra", [
    [("detector", "WFC")], [("sort", "-exptime")], [("ra", "10"), ("dec", "41"), ("radius", "1")],
    [("columns", "rootname,headers.flt.0.CCDGAIN")], [("columns", "rootname,pr_inv_l")],
])
def test_other_gallery_queries_go_to_the_server(db, settings, docs, extra):
    spec = QuerySpec.parse([proposal_filter(10368), *extra])
    assert not answerable(spec, 10368, 10)
    assert proposal_page(db, spec, settings, 10368, 10) is None
    plain = QuerySpec.parse([proposal_filter(10368), ("columns", "rootname,exptime")])
    assert not answerable(QuerySpec.parse([proposal_filter(10368)]), 10368, 10)  # 20 columns
    assert answerable(plain, 10368, 10) and not answerable(plain, 10368, None)
    assert not answerable(plain, 10368, MAX_PROPOSAL_ROWS + 1)
    assert not answerable(plain, 9575, 10)          # another proposal's filter


def test_quicklook_filetypes_are_those_with_a_jpeg(db, docs):
    doc = docs[1]
    set_quicklook(db, doc["_id"], {"flc": "jpegs/1/a_flc.jpg", "raw": "jpegs/1/a_raw.jpg",
                                   "preview": {"raw": "jpegs/1/a_raw_preview.jpg"}})
    assert quicklook_filetypes(catalog_document(db, doc["rootname"])) == ["raw", "flc"]
    assert quicklook_filetypes({"quicklook": None}) == []


def _is_id_lookup(command) -> bool:
    """A lookup by one string _id (proposals and galleries are keyed by text)."""
    return command[2] is not None and set(command[2]) == {"_id"} and isinstance(
        command[2]["_id"], str)


def _browse(settings, rootname, listener):
    client = pymongo.MongoClient(settings.mongo_uri, event_listeners=[listener])
    try:
        db = client[settings.db]
        archive_summary(db)
        summary_commands = list(listener.seen)
        list_proposals(db)
        proposal_members(db, 10368)
        catalog_document(db, rootname)
        whole_document(db, rootname)
    finally:
        client.close()
    return summary_commands


@pytest.mark.realdb
def test_the_browse_helpers_read_whole_documents_only_by_id(real_db, real_settings):
    """A scan of whole (~50-130 kB) documents is costly: only _id lookups may touch them.
    After an ingest run's refresh, the summary and a proposal's rootnames scan nothing."""
    documents = make_documents(30, seed=5)
    load(real_db, documents)
    rootname = next(d["rootname"] for d in documents if d["proposid"] == 10368)

    before = CommandLog()        # no run has written the summaries yet: live scans
    summary_commands = _browse(real_settings, rootname, before)
    assert [c[1] for c in summary_commands if c[0] == CATALOG] == ["aggregate"]  # one $group
    assert any(c[0] == CATALOG and c[1] == "find" and not _is_id_lookup(c)
               for c in before.seen)                                 # the proposal's rootnames

    refresh_summaries(real_db)
    after = CommandLog()
    _browse(real_settings, rootname, after)
    for listener in (before, after):
        on_rootnames = [c for c in listener.seen if c[0] == ROOTNAMES]
        assert len(on_rootnames) == 1 and all(_is_id_lookup(c) for c in on_rootnames)
        assert {c[0] for c in listener.seen} <= {CATALOG, ROOTNAMES, PROPOSALS, GALLERIES, META,
                                                 INGEST_ERRORS}
    on_catalog = [c for c in after.seen if c[0] == CATALOG]
    assert on_catalog and all(_is_id_lookup(c) for c in on_catalog)    # no catalog scan
    assert [c[:3] for c in after.seen if c[0] == GALLERIES] == [
        (GALLERIES, "find", {"_id": "10368"})]


def test_a_gallery_holds_a_proposals_rows_as_the_catalog_gives_them(db, docs):
    """refresh_summaries writes each proposal's rows; read back by _id, they are the
    rows one projected scan of the catalog gives, in the same order and types."""
    pids = {d["proposid"] for d in docs}
    assert db[GALLERIES].count_documents({}) == len(pids)
    for pid in pids:
        stored = proposal_rows(db, pid)
        assert stored == proposal_rows(db, pid, live=True)
        assert len(stored) == sum(d["proposid"] == pid for d in docs)
    assert db[GALLERIES].find_one({"_id": "unknown"}) is None or None in pids


def test_a_rootname_stored_since_the_last_run_has_neighbours_all_the_same(db, docs):
    members = sorted((d for d in docs if d["proposid"] == 9575 and d["date_obs"]),
                     key=lambda d: (d["date_obs"], d["_id"]))
    between = members[1]["date_obs"] + (members[2]["date_obs"] - members[1]["date_obs"]) / 2
    new = dict(members[1], _id="zzzz0003", rootname="zzzz0003q", date_obs=between)
    upsert_rootname(db, new)                          # not in the gallery until the next run
    assert "zzzz0003q" not in proposal_members(db, 9575)
    around = neighbours(db, catalog_document(db, "zzzz0003q"), ResultCache())
    assert (around.previous, around.next) == (members[1]["rootname"], members[2]["rootname"])
    refresh_summaries(db)
    assert "zzzz0003q" in proposal_members(db, 9575)


def test_a_proposal_over_the_gallery_limit_is_read_live(db, docs, monkeypatch):
    import acsq_mongo.ingest.summaries as summaries

    sizes = Counter(d["proposid"] for d in docs)
    biggest = max(sizes, key=sizes.get)
    monkeypatch.setattr(summaries, "MAX_GALLERY_ROWS", sizes[biggest] - 1)
    refresh_summaries(db)
    assert db[GALLERIES].find_one({"_id": str(biggest)}) is None     # removed, too big
    assert len(proposal_rows(db, biggest)) == sizes[biggest]    # from the catalog


def test_an_association_comes_from_the_gallery_or_the_catalog_as_it_is_now(db, docs):
    base = next(d for d in docs if d["proposid"] == 9575 and d["date_obs"])
    when = base["date_obs"]
    group = [
        dict(base, _id="zzzz0101", rootname="zzzz01010", asn_id="ZZZZ01010", date_obs=when),
        dict(base, _id="zzzz01bb", rootname="zzzz01bbq", asn_id="ZZZZ01010",
             date_obs=when + datetime.timedelta(minutes=9)),
        dict(base, _id="zzzz01aa", rootname="zzzz01aaq", asn_id="zzzz01010",  # any case
             date_obs=when + datetime.timedelta(minutes=5)),
    ]
    for doc in group:
        upsert_rootname(db, doc)
    expected = Association("ZZZZ01010", "zzzz01010", ("zzzz01aaq", "zzzz01bbq"))
    # Stored since the last run: not in the gallery yet, so the catalog as it is now.
    assert association(db, catalog_document(db, "zzzz01bbq"), ResultCache()) == expected
    refresh_summaries(db)
    for rootname in ("zzzz01010", "zzzz01aaq"):
        assert association(db, catalog_document(db, rootname), ResultCache()) == expected
    # A member whose product is not in the archive.
    db[CATALOG].delete_one({"_id": "zzzz0101"})
    refresh_summaries(db)
    assert association(db, catalog_document(db, "zzzz01aaq")) == Association(
        "ZZZZ01010", None, ("zzzz01aaq", "zzzz01bbq"))
    assert association(db, dict(base, asn_id="NONE")) is None
    assert association(db, dict(base, asn_id=None)) is None
