"""The query spec: what the web app hands over, and what each query costs the server."""

from __future__ import annotations

import pymongo
import pytest
from command_log import CommandLog
from query_documents import load, make_documents
from werkzeug.datastructures import MultiDict

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.query import QueryError, QuerySpec, page, run
from acsq_mongo.query.spec import DEFAULT_COLUMNS


def test_a_url_query_string_maps_straight_onto_a_spec():
    args = MultiDict([
        ("detector", "WFC"), ("detector__not", "HRC"), ("exptime__gte", "1000"),
        ("columns", "rootname"), ("columns", "date_obs,headers.flt.1.CCDGAIN"),
        ("format", "json"), ("page", "2"), ("ra", "10"), ("dec", "-5"), ("radius", "0.1"),
        ("sort", "-exptime,rootname"), ("limit", "20"), ("offset", "40"), ("filetype", "flt"),
    ])
    spec = QuerySpec.parse(args, ignore=("page",))
    assert [f.param for f in spec.filters] == ["detector", "detector__not", "exptime__gte"]
    assert spec.column_names == ("rootname", "date_obs", "headers.flt.1.CCDGAIN")
    assert spec.format == "json" and spec.limit == 20 and spec.offset == 40
    assert spec.sort == (("exptime", -1), ("rootname", 1))
    assert (spec.cone.ra, spec.cone.dec, spec.cone.radius) == (10.0, -5.0, 0.1)
    assert spec.filetypes == ("flt",)
    # The spec turns back into the same pairs, e.g. for a link to the next page.
    again = QuerySpec.parse(spec.replace(offset=60).to_params())
    assert again == spec.replace(offset=60)


def test_defaults_and_formats_a_caller_adds():
    spec = QuerySpec.parse({})
    assert spec.column_names == DEFAULT_COLUMNS and DEFAULT_COLUMNS[:3] == (
        "rootname", "date_obs", "detector")
    assert spec.sort == (("date_obs", 1),) and spec.limit is None and spec.offset == 0
    assert QuerySpec.parse({"format": "thumbnails"}, formats=("html", "thumbnails")).format == (
        "thumbnails")
    with pytest.raises(QueryError, match="valid formats: html, thumbnails"):
        QuerySpec.parse({"format": "csv"}, formats=("html", "thumbnails"))




@pytest.fixture
def watched(real_settings, real_db):
    load(real_db, make_documents(30))
    listener = CommandLog()
    client = pymongo.MongoClient(real_settings.mongo_uri, event_listeners=[listener])
    yield client[real_settings.db], listener
    client.close()


def _queries(seen, collection):
    """Commands on a collection that are not a lookup of one _id."""
    return [c for c in seen if c[0] == collection
            and not (c[2] is not None and set(c[2]) == {"_id"} and isinstance(c[2]["_id"], str))]


def test_a_promoted_field_query_never_touches_the_whole_documents(watched, real_settings):
    db, listener = watched
    run(db, QuerySpec.parse({"detector": "WFC", "exptime__gte": "30"}), real_settings)
    assert not [c for c in listener.seen if c[0] == ROOTNAMES]
    # A first page of few matches: the count, all six facets and the rows come from
    # one find of every match.
    assert [c[1] for c in _queries(listener.seen, CATALOG)] == ["find"]


def test_many_matches_count_with_one_facet_aggregation_and_page_with_one_find(
        watched, real_settings, monkeypatch):
    db, listener = watched
    spec = QuerySpec.parse({"exptime__gte": "0", "limit": "3"})
    few = run(db, spec, real_settings)
    assert few.count > 5
    listener.seen.clear()
    monkeypatch.setattr(page, "_ONE_SCAN_MAX", 5)
    many = run(db, spec, real_settings)
    # More than 5 match: the find stops at 6, and one $facet aggregation counts; the
    # page is the same.
    assert sorted(c[1] for c in _queries(listener.seen, CATALOG)) == ["aggregate", "find"]
    aggregate = next(c for c in listener.seen if c[1] == "aggregate")
    assert [list(stage) for stage in aggregate.command["pipeline"]] == [["$match"], ["$facet"]]
    assert (many.rows, many.count, many.facets) == (few.rows, few.count, few.facets)


def test_a_header_query_reads_the_whole_documents_twice(watched, real_settings):
    db, listener = watched
    spec = QuerySpec.parse({"headers.flt.0.CCDGAIN__gte": "2", "limit": "5",
                            "columns": "rootname,headers.flt.1.MYKEY"})
    result = run(db, spec, real_settings)
    assert result.rows
    # Once to select the matching _ids, once for the page's header column (by _id).
    selecting, page = _queries(listener.seen, ROOTNAMES)
    assert selecting.command["projection"] == {"_id": 1}
    assert sorted(page.filter["_id"]["$in"]) == sorted(r["rootname"][:8] for r in result.rows)
    assert [c[1] for c in _queries(listener.seen, CATALOG)] == ["find"]
