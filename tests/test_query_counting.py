"""Counting within a time budget (``count_time_limit_ms``), on the real server.

mongomock has no ``maxTimeMS``: these tests run on the real server only. A
budget of 1 ms cannot count 5,000 matches with their facets on any server (the
local one takes ~0.3 s, MongoDB several ms), so the page must fall back to
what it has seen (how much depends on the server's speed: the tests check what
it says against what it read); a budget of 0 counts them all.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from query_documents import make_documents

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.formats.render import result_dict
from acsq_mongo.ingest.store import catalog_entry
from acsq_mongo.query import FACET_FIELDS, QuerySpec, page, run

N = 5_000
SPEC = QuerySpec.parse({"sort": "date_obs"})


@pytest.fixture(scope="module")
def many(real_server_uri, tmp_path_factory):
    """5,000 catalog entries, written in bulk (only the catalog answers these queries)."""
    import pymongo

    client = pymongo.MongoClient(real_server_uri)
    db = client[f"counting_{tmp_path_factory.mktemp('c').name}"]
    ensure_indexes(db)
    docs = make_documents(N, seed=3)
    for i, doc in enumerate(docs):  # the generator's names repeat past a few thousand
        doc["_id"], doc["rootname"] = f"jc{i:06d}", f"jc{i:06d}q"
    db[CATALOG].insert_many([catalog_entry(d) for d in docs])
    yield db
    client.drop_database(db.name)
    client.close()


def _first(db, spec: QuerySpec, n: int) -> list[dict]:
    """The first ``n`` catalog documents in the page's order, by a plain find."""
    return list(db[CATALOG].find({}, sort=page.sort_keys(spec), limit=n))


def test_out_of_time_a_first_page_says_how_many_it_saw(many, real_settings):
    result = run(many, SPEC, real_settings, count_time_limit_ms=1)
    # The first scan stops after the batch that outlived the budget, or at its end (2,001
    # matches), with no time left for the aggregation: either way "at least" what it read.
    seen = result.count
    assert not result.count_exact
    assert seen == page._ONE_SCAN_MAX + 1 or (seen % page._SCAN_BATCH == 0 and seen >= 60)
    assert result.facets_of == seen
    first = _first(many, SPEC, seen)
    assert [r["rootname"] for r in result.rows] == [d["rootname"] for d in first[:60]]
    for name in FACET_FIELDS:
        if name == "filter":  # either wheel, each filter once, CLEAR positions left out
            expected = Counter(v for d in first for v in {d.get("filter1"), d.get("filter2")}
                               if isinstance(v, str) and not v.startswith(("CLEAR", "N/A")))
        else:
            expected = Counter(d.get(name) for d in first)
        assert dict(result.facets[name]) == expected, name
    assert result.next_offset == 60
    reply = result_dict(result)
    assert reply["count_exact"] is False and reply["facets_of"] == seen


def test_a_budget_that_lasts_the_first_scan_counts_with_what_is_left(many, real_settings):
    # A generous budget: the scan ends (2,001 read), and the aggregation gets the rest.
    result = run(many, SPEC, real_settings, count_time_limit_ms=600_000)
    assert result.count_exact and result.count == N and result.facets_of is None


def test_out_of_time_past_the_first_scan_the_page_is_a_lower_bound(many, real_settings):
    spec = SPEC.replace(offset=3_000)
    result = run(many, spec, real_settings, count_time_limit_ms=1)
    assert not result.count_exact
    assert result.count == 3_000 + 60 + 1  # a full page: at least one more may follow
    assert result.facets is None and result.facets_of is None
    assert [r["rootname"] for r in result.rows] == [
        d["rootname"] for d in _first(many, spec, 3_060)[3_000:]]
    assert result.next_offset == 3_060


def test_without_a_budget_every_match_is_counted(many, real_settings):
    result = run(many, SPEC, real_settings)
    assert result.count_exact and result.count == N and result.facets_of is None
    assert sum(n for _, n in result.facets["detector"]) == N
    last = run(many, SPEC.replace(offset=N - 60), real_settings)
    assert last.next_offset is None


def test_a_count_that_finishes_in_time_is_exact(many, real_settings):
    spec = QuerySpec.parse({"detector": "SBC", "exptime__lt": "1"})
    expected = many[CATALOG].count_documents({"detector": "SBC", "exptime": {"$lt": 1}})
    result = run(many, spec, real_settings, count_time_limit_ms=60_000)
    assert result.count_exact and result.count == expected > 0


def test_the_page_says_at_least_and_links_to_counting_them_all(many, real_settings):
    from webapp import create_app

    app = create_app(real_settings.replace(count_time_limit_ms=1), db=many,
                     config={"TESTING": True})
    client = app.test_client()
    reply = client.get("/query.json?sort=date_obs").get_json()
    seen = reply["count"]
    assert reply["count_exact"] is False and reply["facets_of"] == seen < N
    page = client.get("/query?sort=date_obs").get_data(as_text=True)
    assert re.search(r"At least [0-9,]+ rootnames match\.", page)
    assert re.search(r"1–60 of at least [0-9,]+<", page)
    assert re.search(r"Counts in the first [0-9,]+ matches only\.", page)
    assert 'href="/query?sort=date_obs&amp;count=all"' in page
    whole = client.get("/query?sort=date_obs&count=all").get_data(as_text=True)
    assert "1–60 of 5,000" in whole and "At least" not in whole
    reply = client.get("/query.json?sort=date_obs&count=all").get_json()
    assert reply["count"] == N and reply["count_exact"] is True
    bad = client.get("/query?sort=date_obs&count=some")
    assert bad.status_code == 400 and "the only value is count=all" in bad.get_data(as_text=True)
    assert client.get("/query.json?count=some").status_code == 400
    # Once counted, the count is kept until the data change: the plain page is exact too.
    assert "1–60 of 5,000" in client.get("/query?sort=date_obs").get_data(as_text=True)


class _Clock:
    """A fake time.monotonic that the fake cursor below moves on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Cursor:
    """Documents in batches, each batch costing the given seconds on the clock."""

    def __init__(self, clock: _Clock, costs: list[float], batch: int) -> None:
        self.clock, self.costs, self.batch, self.closed = clock, costs, batch, False

    def __iter__(self):
        for b, cost in enumerate(self.costs):
            self.clock.now += cost
            yield from ({"_id": b * self.batch + i} for i in range(self.batch))

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("costs, deadline, read, complete", [
    # A slow first batch past the deadline, then batches the server had ready: read on.
    ([0.4, 0.001, 0.001, 0.001], 0.25, 400, True),
    # The batch asked for past the deadline is slow: stop after it.
    ([0.1, 0.2, 0.05, 0.001], 0.25, 300, False),
    # Everything within the deadline.
    ([0.01, 0.01, 0.01], 0.25, 300, True),
    # No deadline: everything, however slow.
    ([1.0, 1.0, 1.0], None, 300, True),
])
def test_a_scan_stops_at_the_first_slow_batch_asked_for_past_its_deadline(
        monkeypatch, costs, deadline, read, complete):
    from acsq_mongo.query import counting

    clock = _Clock()
    monkeypatch.setattr(counting.time, "monotonic", clock)
    cursor = _Cursor(clock, costs, 100)
    docs, done = counting.read_within(cursor, 100, deadline, need=60)
    assert (len(docs), done) == (read, complete)
    assert [d["_id"] for d in docs] == list(range(read)) and cursor.closed


def test_a_scan_reads_what_the_page_needs_whatever_the_deadline(monkeypatch):
    from acsq_mongo.query import counting

    clock = _Clock()
    monkeypatch.setattr(counting.time, "monotonic", clock)
    docs, done = counting.read_within(_Cursor(clock, [1.0] * 5, 100), 100, 0.0, need=250)
    assert (len(docs), done) == (300, False)
