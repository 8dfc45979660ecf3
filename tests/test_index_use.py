"""Indexes that are used, and proven used: every query a page or the CLI sends, explained.

Given an ingested sample archive on the real server, each web page and each
command line use is run with a :class:`~command_log.CommandLog` on its client,
which keeps every query command as it was sent (filter, projection, sort,
pipeline). Each one is then sent again as ``explain``; its winning plan must
not be a collection scan unless it lists a whole collection (no filter at
all: :func:`_lists_everything`). And every index :func:`ensure_indexes`
creates must win for at least one of these queries, so that none is kept
that no query uses. (mongomock has no query planner: real server only.)
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from urllib.parse import urlencode

import pymongo
import pytest
from command_log import CommandLog, Sent

from acsq_mongo.accounts.signin import sign_in
from acsq_mongo.accounts.users import User
from acsq_mongo.browse.proposal_rows import proposal_rows
from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, GALLERIES, PROPOSALS, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.indexes import ROOTNAMES_INDEXED, ensure_indexes
from acsq_mongo.db.summary_shapes import proposal_id
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query import page
from acsq_mongo.settings import load_settings
from acsq_mongo.tags import Vocabulary, change_flags
from webapp import create_app

pytestmark = pytest.mark.realdb

_names = itertools.count()


def _winning_plans(node) -> Iterator[dict]:
    """Every ``winningPlan`` in an explain reply (find, count, or each aggregate stage)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "winningPlan":
                yield value
            elif key != "rejectedPlans":
                yield from _winning_plans(value)
    elif isinstance(node, list):
        for item in node:
            yield from _winning_plans(item)


def _stages(plan) -> Iterator[dict]:
    """A plan's stages, depth first."""
    if isinstance(plan, dict):
        if "stage" in plan:
            yield plan
        for key in ("inputStage", "inputStages", "queryPlan", "thenStage", "elseStage"):
            child = plan.get(key)
            for item in child if isinstance(child, list) else [child]:
                yield from _stages(item)


def _lists_everything(sent: Sent) -> bool:
    """Whether a command reads a whole collection (no filter): the one scan allowed."""
    if sent.name == "aggregate":
        first = (sent.command.get("pipeline") or [{}])[0]
        return "$match" not in first or not first["$match"]
    return not sent.filter


class Explained:
    """The plans of every query sent: ``(sent, stage names, index names)``."""

    def __init__(self, db, sent: list[Sent]) -> None:
        self.plans = []
        for one in sent:
            reply = db.command("explain", one.command, verbosity="queryPlanner")
            stages = [s for plan in _winning_plans(reply) for s in _stages(plan)]
            assert stages, f"no winning plan in the explain of {one.command}"
            self.plans.append((one, [s["stage"] for s in stages],
                               {s["indexName"] for s in stages if "indexName" in s}))

    def scans(self) -> list[dict]:
        """The commands answered by a collection scan though they filter."""
        return [one.command for one, stages, _ in self.plans
                if "COLLSCAN" in stages and not _lists_everything(one)]

    def used(self) -> set[str]:
        """``collection.index`` of every index some winning plan uses."""
        return {f"{one.collection}.{name}" for one, _, names in self.plans for name in names}


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    """The sample archive ingested on the real server (with its summaries, no images)."""
    work = tmp_path_factory.mktemp("index_use")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_index_use_{os.getpid()}_{next(_names)}",
                             data=work / "var", page_size=5)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    _tag(db, settings, sample_archive)
    yield settings, db, sample_archive
    db.client.drop_database(settings.db)
    db.client.close()


def _tag(db, settings, sample) -> None:
    """Anomaly flags on a few rootnames, so that the flag queries have something to find."""
    vocabulary = Vocabulary.from_settings(settings)
    names = sorted(r.rootname for r in sample.rootnames)
    for i, name in enumerate(names[:6]):
        change_flags(db, name, User(("ada", "bob")[i % 2], "tagger"), vocabulary,
                     add=[("ghost", "crosstalk", "satellite_trail")[i % 3]], comment="seen")


def _form_value(doc: dict, name: str) -> tuple[str, str]:
    """A form filter on one promoted field that this document matches."""
    value = doc[name]
    if isinstance(value, bool):
        return name, str(value).lower()
    if isinstance(value, (int, float)):
        return f"{name}__gte", str(value)
    if hasattr(value, "strftime"):
        return f"{name}__gte", value.strftime("%Y-%m-%d")
    return name, str(value)


def _form_filter(db, name: str) -> tuple[str, str]:
    """A form filter on one promoted field that some rootname matches."""
    doc = db[CATALOG].find_one({name: {"$ne": None}})
    if doc is None:  # (no value in this archive, as proposal_type without a table)
        return f"{name}__exists", "false"
    return _form_value(doc, name)


def _sky_urls(db) -> list[str]:
    """Footprint searches around a rootname that has a footprint, and a target name."""
    from acsq_mongo.sky.geometry import footprint_centre, from_geojson

    doc = db[CATALOG].find_one({"footprint": {"$exists": True}, "targname": {"$ne": None}})
    ra, dec = footprint_centre(from_geojson(doc["footprint"]))
    return [
        "/query?" + urlencode({"contains": f"{ra},{dec}"}),
        "/query?" + urlencode({"overlaps": f"{ra},{dec},2arcmin", "sort": "distance"}),
        "/query?" + urlencode({"overlaps": f"{doc['targname']},1arcmin", "detector": "WFC"}),
        "/query?" + urlencode({"cone": f"{doc['targname']},0.1"}),
    ]


#: Trend pages whose queries are checked one by one below.
_TREND_URLS = ("/trend?y=exptime&detector=WFC", "/trend?y=headers.raw.0.CCDGAIN&detector=WFC")


def _web_urls(db, sample) -> list[str]:
    r = next(r for r in sample.rootnames if "flt" in r.filetypes)
    tagged = db[CATALOG].find_one({"anomalies": "ghost"})["rootname"]
    doc = db[CATALOG].find_one({"_id": r.rootname[:8]})
    pid = doc["proposid"]
    urls = [
        "/", "/summary.json", "/archive/", "/archive.json",
        f"/archive/{pid}/", f"/archive/{pid}/?offset=5", f"/archive/{pid}/?sort=-exptime",
        f"/archive/{pid}/?filter1__startswith=F",
        f"/archive/{pid}/{r.rootname}/", f"/archive/{pid}/{r.rootname}/flt/",
        f"/archive/{pid}/{r.rootname}/headers/", f"/rootname/{r.rootname}",
        "/query", "/query?sort=-exptime", "/query?sort=targname&offset=5",
        "/query?detector=WFC&sort=-exptime",
        # The form's main question: detector, a filter and a date range, by date.
        "/query?" + urlencode([("detector", "WFC"), _form_filter(db, "filter1"),
                               ("date_obs__gte", "2002")]),
        "/query?" + urlencode([("detector", "WFC"), _form_filter(db, "filter2"),
                               ("date_obs__gte", "2002"), ("sort", "-date_obs")]),
        # One filter across both wheels, and a search by wavelength (issue 25).
        "/query?filter=F814W", "/query?detector=WFC&filter=F606W",
        "/query?wavelength=500nm..900nm", "/query?detector=WFC&wavelength=656nm",
        # The home page's links.
        "/query?detector=WFC", "/query?filetypes=flt", "/query?n_errors__gt=0",
        # A cone, and a header keyword with a promoted field.
        "/query?" + urlencode({"ra": doc["ra_targ"], "dec": doc["dec_targ"], "radius": 1}),
        "/query?" + urlencode({"ra": doc["ra_targ"], "dec": doc["dec_targ"], "radius": 1,
                               "detector": doc["detector"]}),
        # A header keyword with each promoted field rootnames has an index for.
        *(f"/query?headers.flt.0.CCDGAIN__gte=1&{urlencode([_form_filter(db, name)])}"
          for name in ROOTNAMES_INDEXED),
        "/query.csv?detector=WFC", "/query.json?proposid=" + str(pid),
        # Footprint searches (the 2dsphere index), a target name, a sort by distance.
        *_sky_urls(db),
        # Anomaly flags: the query keys, the events of the /anomalies page, a tagged image.
        "/query?anomaly=ghost", "/query?anomaly__in=ghost,crosstalk",
        "/query?anomaly__exists=false", "/query?anomaly__exists=true",
        "/query?detector=WFC&anomaly=ghost",
        "/anomalies", "/anomalies?flag=ghost", "/anomalies?user=ada",
        "/anomalies?flag=ghost&user=ada", "/anomalies.csv?user=bob", "/anomalies.json?flag=ghost",
        f"/rootname/{tagged}",
        # Trends and sky maps of a query: a promoted field, a header keyword, a cone.
        *_TREND_URLS, f"/trend.csv?y=headers.flt.1.MDRIZSKY&proposid={pid}",
        "/sky.png?detector=WFC",
        "/sky.png?" + urlencode({"ra": doc["ra_targ"], "dec": doc["dec_targ"], "radius": 1}),
    ]
    # A form query on each promoted field, alone.
    urls += ["/query?" + urlencode([_form_filter(db, field.name)]) for field in PROMOTED_FIELDS]
    return urls


@pytest.fixture(scope="module")
def sent(site, tmp_path_factory) -> list[Sent]:
    """Every query command the pages and the command line send."""
    settings, db, sample = site
    log = CommandLog()
    client = pymongo.MongoClient(settings.mongo_uri, event_listeners=[log])
    try:
        watched = client[settings.db]
        urls = _web_urls(db, sample)
        # Every page as it is here (a first page of at most page._ONE_SCAN_MAX matches
        # counts from its own find), then as it is past that many matches: the count and
        # facets from the $facet aggregation. (A new app each time: a new result cache.)
        for one_scan_max in (page._ONE_SCAN_MAX, -1):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(page, "_ONE_SCAN_MAX", one_scan_max)
                test = create_app(settings, db=watched, config={"TESTING": True}).test_client()
                for url in urls:
                    assert test.get(url, follow_redirects=True).status_code == 200, url
        # The query core's live way to a proposal's rows (a gallery not written yet).
        pid = db[CATALOG].find_one({"proposid": {"$ne": None}})["proposid"]
        assert proposal_rows(watched, pid, live=True)
        # A tag (its flags derived from its events, its gallery rebuilt) and a sign-in
        # (the throttle's counts).
        name = db[CATALOG].find_one({"anomalies": None})["rootname"]
        assert change_flags(watched, name, User("ada", "tagger"), Vocabulary.from_settings(
            settings), add=["ghost"], comment="again")
        assert sign_in(watched, "ada", "not the password", "127.0.0.1").user is None
        assert sign_in(watched, "ada", "not the password", "127.0.0.1").user is None
    finally:
        client.close()
    with pytest.MonkeyPatch.context() as patch:
        # The command line connects by itself: give its clients the listener too.
        real_client = pymongo.MongoClient
        patch.setattr(pymongo, "MongoClient",
                      lambda *a, **k: real_client(*a, event_listeners=[log], **k))
        for name, value in (("ACSQ_MONGO_URI", settings.mongo_uri), ("ACSQ_DB", settings.db),
                            ("ACSQ_DATA", str(settings.data)),
                            ("ACSQ_ARCHIVE", str(sample.root))):
            patch.setenv(name, value)
        patch.delenv("ACSQ_CONFIG", raising=False)
        for argv in (
            ["query", "detector=WFC", "exptime__gte=1", "--sort=-exptime"],
            ["query", f"proposid={pid}", "--format", "paths"],
            ["query", "filter1__in=F606W,F814W", "--format", "csv"],
            ["query", f"overlaps={_sky_urls(db)[0].split('=', 1)[1].replace('%2C', ',')},0.1",
             "--sort", "distance"],
            ["query", "anomaly=crosstalk", "--format", "json"],
            ["reingest", "--where", json.dumps({"detector": "HRC"}), "--dry-run"],
            ["reingest", "--where", json.dumps({"proposid": pid}), "--dry-run"],
            ["ingest", "--new", "--no-quicklook", "--workers", "1"],
        ):
            assert main(argv) in (0, 1), argv
    return list(log.seen)


@pytest.fixture(scope="module")
def explained(site, sent) -> Explained:
    return Explained(site[1], sent)


def test_every_query_that_filters_is_served_by_an_index(explained):
    assert len(explained.plans) > 40
    assert explained.scans() == []


def _matched_field(match: dict) -> str | None:
    """The one field a $match filters, through the $or of a rootname= filter."""
    if set(match) == {"$or"}:
        fields = {name for clause in match["$or"] for name in clause}
        return "rootname" if fields == {"rootname", "rootnames"} else None
    return next(iter(match)) if len(match) == 1 else None


def test_a_form_query_on_each_promoted_field_uses_an_index(site, explained):
    _, db, _ = site
    for field in PROMOTED_FIELDS:
        # (rootname= matches rootname or the rootnames merged into an observation: an $or)
        on_field = [names for one, _, names in explained.plans
                    if one.collection == CATALOG and one.name == "aggregate"
                    and _matched_field(one.command["pipeline"][0].get("$match") or {})
                    == field.name]
        assert on_field, f"no form query on {field.name}"
        assert all(names for names in on_field), field.name


def test_every_index_created_is_used_by_some_query(site, explained):
    _, db, _ = site
    created = {name for name in ensure_indexes(db) if not name.endswith("._id_")}
    assert sorted(created - explained.used()) == []
    assert {c for c in created if c.startswith(ROOTNAMES)}  # header queries narrow by them



def test_a_gallery_reads_its_proposal_by_id_not_the_whole_list(site):
    """A gallery's first visit reads its one gallery document by ``_id`` (rows and summary).

    (It used to list every proposal to find one: a whole-collection read per
    generation, 61 ms at 200,000 rootnames.)
    """
    settings, db, _ = site
    pid = db[CATALOG].find_one({"proposid": {"$ne": None}})["proposid"]
    log = CommandLog()
    client = pymongo.MongoClient(settings.mongo_uri, event_listeners=[log])
    try:
        test = create_app(settings, db=client[settings.db], config={"TESTING": True}).test_client()
        page = test.get(f"/archive/{pid}/")
        assert page.status_code == 200 and str(pid).encode() in page.data
    finally:
        client.close()
    summary_reads = [one for one in log.seen if one.collection in (PROPOSALS, GALLERIES)]
    assert summary_reads, "the gallery read neither its gallery nor its proposal summary"
    assert all(one.filter == {"_id": proposal_id(pid)} for one in summary_reads), summary_reads


def test_a_page_sorted_by_a_promoted_field_reads_an_index_not_an_in_memory_sort(explained):
    """``/query?sort=-exptime`` (no filter) walks the (exptime, _id) index backward."""
    sorted_pages = [(one, stages, names) for one, stages, names in explained.plans
                    if one.collection == CATALOG and one.name == "find" and not one.filter
                    and "exptime" in (one.command.get("sort") or {})]
    assert sorted_pages, "no page sorted by exptime was sent"
    for one, stages, names in sorted_pages:
        assert "SORT" not in stages and "COLLSCAN" not in stages, (one.command, stages)
        assert names == {"exptime_1__id_1"}, names


def test_a_trend_reads_its_points_and_groups_through_an_index(explained):
    """The trend's find (``$type`` on x and y) and its ``$group`` each use an index."""
    trend_finds = [names for one, _, names in explained.plans
                   if one.name == "find" and "$type" in repr(one.filter)]
    trend_groups = [names for one, _, names in explained.plans if one.name == "aggregate"
                    and any("$group" in stage and "mean" in stage["$group"]
                            for stage in one.command["pipeline"])]
    assert trend_finds and trend_groups
    assert all(trend_finds) and all(trend_groups)
