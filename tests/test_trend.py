"""Trends (issue 15) on the real server: the page, its CSV and JSON against brute force.

Given the sample archive ingested on the real server, an analyst plots a
promoted field and a header keyword against time, for the whole archive and
for a filtered query, coloured by a facet. The points must be exactly those
a brute-force pass over the stored documents finds (every rootname whose
``x`` is a date or number and whose ``y`` is a number), in order of ``x``;
the count, mean, minimum and maximum per group, computed by the server's
``$group``, must equal those computed here in Python from the same documents.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import math
import os
import re
from collections import defaultdict
from urllib.parse import urlencode

import pytest

from acsq_mongo.cli import main
from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from webapp import create_app

pytestmark = pytest.mark.realdb

_names = itertools.count()


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    """The sample archive ingested on the real server, and a test client of the app."""
    work = tmp_path_factory.mktemp("trend")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_trend_{os.getpid()}_{next(_names)}", data=work / "var")
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    yield settings, db, client
    db.client.drop_database(settings.db)
    db.client.close()


def _get(doc: dict, name: str):
    node = doc
    for part in name.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def brute_force(db, y: str, x: str, by: str | None, keep=lambda doc: True):
    """The points and the per-group statistics, from every stored document, in Python."""
    points = []
    for doc in db[ROOTNAMES].find({}):
        if not keep(doc):
            continue
        xv, yv = _get(doc, x), _get(doc, y)
        x_ok = isinstance(xv, datetime.datetime) or _is_number(xv)
        if x_ok and _is_number(yv):
            points.append((doc["rootname"], xv, yv, doc.get(by) if by else None))
    points.sort(key=lambda p: (p[1], p[0]))
    groups = defaultdict(list)
    for _, _, yv, group in points:
        groups[group].append(yv)
    stats = {g: (len(v), sum(v) / len(v), min(v), max(v)) for g, v in groups.items()}
    return points, stats


CASES = [
    # (y, x, by, extra query parameters, the same filter in Python)
    ("exptime", "date_obs", "detector", {}, lambda d: True),
    ("headers.flt.1.MDRIZSKY", "date_obs", "filter1", {}, lambda d: True),
    ("headers.raw.0.CCDGAIN", "expstart", "detector", {"detector": "WFC"},
     lambda d: d.get("detector") == "WFC"),
    ("exptime", "date_obs", None, {"date_obs__gte": "2012"},
     lambda d: d.get("date_obs") and d["date_obs"] >= datetime.datetime(2012, 1, 1)),
]


@pytest.mark.parametrize("y, x, by, extra, keep", CASES, ids=[c[0] + "-" + (c[2] or "all")
                                                               for c in CASES])
def test_the_trend_is_the_brute_force_answer(site, y, x, by, extra, keep):
    settings, db, client = site
    points, stats = brute_force(db, y, x, by, keep)
    assert points, "the sample archive must give this trend some points"
    params = {"y": y, "x": x, "by": by or "", **extra}

    reply = client.get("/trend.csv?" + urlencode(params))
    assert reply.status_code == 200, reply.data[:300]
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert [r["rootname"] for r in rows] == [p[0] for p in points]
    for row, (_, xv, yv, group) in zip(rows, points, strict=True):
        assert float(row[y]) == pytest.approx(yv, rel=1e-12)
        if isinstance(xv, datetime.datetime):
            # CSV dates as JSON's: ISO 8601 UTC with a Z (the store's are naive UTC).
            assert row[x].endswith("Z")
            assert datetime.datetime.fromisoformat(row[x]).replace(tzinfo=None) == xv
        else:
            assert float(row[x]) == pytest.approx(xv, rel=1e-12)
        if by:
            assert row[by] == ("" if group is None else str(group))

    data = client.get("/trend.json?" + urlencode(params)).get_json()
    assert data["n_points"] == len(points)
    assert {g["value"]: (g["n"], g["mean"], g["min"], g["max"]) for g in data["groups"]} \
        == {g: (n, pytest.approx(mean, rel=1e-9), low, high)
            for g, (n, mean, low, high) in stats.items()}

    page = client.get("/trend?" + urlencode(params))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    table = html[html.index('class="list trend-stats"'):]
    for group, (n, mean, low, high) in stats.items():
        assert re.search(rf">{re.escape(str(group if by else 'all'))}</td>"
                         rf"<td class=\"num\">{n}</td>", table.replace("\n", "").replace(
                             "        ", "")), group
        assert f"{mean:.6g}" in table and f"{low:.6g}" in table and f"{high:.6g}" in table
    # Every plotted point is an area of the picture's image map, linked to its rootname.
    linked = set(re.findall(r'<area shape="circle"[^>]*href="/rootname/([a-z0-9]{9})"', html))
    assert linked and linked <= {p[0] for p in points}
    assert client.get("/trend.png?" + urlencode(params)).mimetype == "image/png"


def test_the_statistics_come_from_the_server_group(site):
    """The same numbers straight from the $group pipeline the core sends."""
    from acsq_mongo.trends.trend import TrendSpec, group_pipeline

    _, db, _ = site
    spec = TrendSpec.parse([("y", "exptime"), ("by", "detector")])
    match = {"$and": [{"exptime": {"$type": "number"}}, {"date_obs": {"$type": "date"}}]}
    served = {g["_id"]: (g["n"], g["min"], g["max"])
              for g in db["catalog"].aggregate(group_pipeline(match, spec))}
    _, stats = brute_force(db, "exptime", "date_obs", "detector")
    assert served == {g: (n, low, high) for g, (n, _, low, high) in stats.items()}


def test_acsq_trend_writes_what_the_page_serves(site, tmp_path, monkeypatch, capsys):
    settings, db, client = site
    for name, value in (("ACSQ_MONGO_URI", settings.mongo_uri), ("ACSQ_DB", settings.db)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    out = tmp_path / "gain.csv"
    assert main(["trend", "headers.raw.0.CCDGAIN", "detector=WFC", "--by", "filter1",
                 "--output", str(out)]) == 0
    page = client.get("/trend.csv?" + urlencode({"y": "headers.raw.0.CCDGAIN",
                                                 "detector": "WFC", "by": "filter1"}))
    assert out.read_bytes() == page.data
    printed = capsys.readouterr().out
    points, stats = brute_force(db, "headers.raw.0.CCDGAIN", "date_obs", "filter1",
                                lambda d: d.get("detector") == "WFC")
    assert f"{len(points)} points from" in printed
    for group, (n, *_rest) in stats.items():
        assert f"filter1 {group}: n={n} " in printed
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml")):
        picture = tmp_path / f"gain{suffix}"
        assert main(["trend", "headers.raw.0.CCDGAIN", "--output", str(picture)]) == 0
        assert picture.read_bytes().startswith(magic)


def test_query_trend_in_python(site):
    from acsq_mongo import Archive

    settings, db, _ = site
    t = Archive(settings).query(detector="WFC").trend("exptime", by="filter1")
    points, stats = brute_force(db, "exptime", "date_obs", "filter1",
                                lambda d: d.get("detector") == "WFC")
    assert [r["rootname"] for r in t.rows()] == [p[0] for p in points]
    assert {g.value: g.n for g in t.groups} == {g: s[0] for g, s in stats.items()}
    assert all(math.isfinite(g.mean) for g in t.groups)


def test_a_trend_over_the_cap_is_refused_before_any_point_is_read(site, tmp_path):
    """The guard rail: an indexed count, then a clear refusal; no find of the points."""
    import pymongo
    from command_log import CommandLog

    settings, db, _ = site
    capped = settings.replace(trend_max_points=3)
    log = CommandLog()
    watched = pymongo.MongoClient(settings.mongo_uri, event_listeners=[log])
    try:
        client = create_app(capped, db=watched[settings.db],
                            config={"TESTING": True}).test_client()
        n = db["catalog"].count_documents({"detector": "WFC"})
        assert n > 3
        page = client.get("/trend?y=exptime&detector=WFC")
        text = page.get_data(as_text=True)
        assert page.status_code == 400
        assert f"up to {n} points, more than the 3 one trend may" in text
        assert "trend_max_points" in text and "ACSQ_TREND_MAX_POINTS" in text
        for fmt in ("csv", "json", "png"):
            reply = client.get(f"/trend.{fmt}?y=exptime&detector=WFC")
            assert reply.status_code == 400 and b"trend_max_points" in reply.data
        assert client.get("/sky.png?detector=WFC").status_code == 400
        home = client.get("/").get_data(as_text=True)
        assert "more than the 3" in home and "/sky.png" not in home
    finally:
        watched.close()
    assert log.seen
    assert not any(one.name == "find" and "$type" in repr(one.filter) for one in log.seen)
    assert not any(one.name == "find" and "footprint" in repr(one.command.get("projection"))
                   for one in log.seen)
    assert not any("$group" in repr(one.command) and "mean" in repr(one.command)
                   for one in log.seen)


def test_an_indexed_header_keyword_trends_from_the_catalog_alone(site):
    """With an index, the keyword's copies in the catalog answer: no whole document is read."""
    import pymongo
    from command_log import CommandLog

    from acsq_mongo.db.collections import CATALOG
    from acsq_mongo.ingest.keyword_indexes import create_header_index, drop_header_index

    settings, db, client = site
    query = "/trend.json?" + urlencode({"y": "headers.flt.1.MDRIZSKY", "by": "filter1",
                                        "detector": "WFC"})
    before = client.get(query).get_json()
    assert before["n_points"] > 0
    create_header_index(db, "headers.flt.1.MDRIZSKY")
    listener = CommandLog()
    watched = pymongo.MongoClient(settings.mongo_uri, event_listeners=[listener])
    try:
        app = create_app(settings, db=watched[settings.db], config={"TESTING": True})
        assert app.test_client().get(query).get_json() == before
        read = {sent.collection for sent in listener.seen}
        assert CATALOG in read and ROOTNAMES not in read, listener.seen
    finally:
        watched.close()
        drop_header_index(db, "headers.flt.1.MDRIZSKY")
