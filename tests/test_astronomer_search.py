"""Search as astronomers say it (issue 25, items 7 and 8), on the real server.

Given the session's sample archive ingested, an analyst types ``filter=F814W``
without knowing which wheel holds it, or ``wavelength=500nm..900nm``, on the
command line, in Python and in the web app, and gets exactly the rootnames a
brute-force reading of every stored document gives: the wheels compared
directly, and the passband table (the one SIA's BAND reads) with the units
converted by astropy.
"""

from __future__ import annotations

import itertools
import json
import os

import astropy.units as u
import pytest
from settings_env import use_settings

from acsq_mongo.api import Archive
from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.passbands import image_passband
from acsq_mongo.settings import load_settings
from webapp import create_app

pytestmark = pytest.mark.realdb

_names = itertools.count()


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    work = tmp_path_factory.mktemp("astronomer")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_astro_{os.getpid()}_{next(_names)}", data=work / "var",
                             page_size=500)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    docs = list(db[CATALOG].find({}, {"rootname": 1, "detector": 1, "filter1": 1,
                                       "filter2": 1}))
    yield settings, db, docs
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.fixture
def cli_env(site, monkeypatch):
    settings, _, _ = site
    use_settings(monkeypatch, settings)
    return settings


def _second_wheel_filter(docs) -> str:
    """A spectral filter that this archive has in FILTER2 (WFC's F814W, say)."""
    names = sorted({d["filter2"] for d in docs
                    if isinstance(d.get("filter2"), str) and d["filter2"].startswith("F")})
    assert names, "the sample has no spectral filter in the second wheel"
    return names[0]


def _cli_rootnames(capsys, *argv) -> set[str]:
    assert main(["query", *argv, "--format", "json", "--limit", "1000"]) == 0
    return {row["rootname"] for row in json.loads(capsys.readouterr().out)["rows"]}


# --- 25.7: one filter= across both wheels -------------------------------------------------

def test_filter_matches_either_wheel_on_every_face(site, cli_env, capsys):
    settings, db, docs = site
    name = _second_wheel_filter(docs)
    expected = {d["rootname"] for d in docs if name in (d.get("filter1"), d.get("filter2"))}
    assert expected and all(d["filter1"] != name for d in docs if d["rootname"] in expected)

    assert _cli_rootnames(capsys, f"filter={name.lower()}") == expected
    archive = Archive(settings, db=db)
    assert {r["rootname"] for r in archive.query(filter=name).rows()} == expected
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    rows = client.get(f"/query.json?filter={name}&limit=500").get_json()["rows"]
    assert {r["rootname"] for r in rows} == expected
    # Not in either wheel: none of them.
    others = {d["rootname"] for d in docs} - expected
    assert {r["rootname"] for r in archive.query(filter__not=name).rows()} == others


def test_the_combined_filter_facet_counts_each_rootname_once_per_filter(site):
    settings, db, docs = site
    wanted: dict[str, int] = {}
    for d in docs:
        for value in {d.get("filter1"), d.get("filter2")}:
            if isinstance(value, str) and not value.startswith(("CLEAR", "N/A", "BLOCK")):
                wanted[value] = wanted.get(value, 0) + 1
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    for url in ("/query.json?detector=WFC,HRC,SBC", "/query.json?count=all&exptime__gte=0"):
        facets = client.get(url).get_json()["facets"]
        got = {f["value"]: f["count"] for f in facets["filter"]}
        subset = {d["rootname"] for d in docs}  # every rootname in both queries
        assert subset and got == wanted, url
    # Each facet value is a link that narrows to exactly that many rootnames.
    name = _second_wheel_filter(docs)
    detector = next(d["detector"] for d in docs if d.get("filter2") == name)
    html = client.get(f"/query?detector={detector}").get_data(as_text=True)
    assert f"detector={detector}&amp;filter={name}" in html
    # And the facet from the $facet aggregation (past the first scan) is the same.
    archive = Archive(settings, db=db)
    assert dict(archive.query(exptime__gte=0).facets()["filter"]) == wanted


def test_the_filter_box_of_the_form_is_one_box_for_both_wheels(site):
    settings, db, docs = site
    name = _second_wheel_filter(docs)
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    form = client.get("/query").get_data(as_text=True)
    assert '<input name="filter" ' in form
    page = client.get(f"/query?filter={name}").get_data(as_text=True)
    assert f'<input name="filter" value="{name}"' in page
    n = sum(1 for d in docs if name in (d.get("filter1"), d.get("filter2")))
    assert f"Query: {n} rootname" in page


def test_filter_is_refused_as_a_column_with_the_wheels_named(site):
    settings, db, _ = site
    with pytest.raises(QueryError, match="filter1 or filter2"):
        Archive(settings, db=db).query(columns="filter")


def test_filter_uses_the_indexes_of_both_wheels(site):
    """``filter=NAME`` is an ``$or`` of two equalities, each served by its wheel's index."""
    settings, db, docs = site
    name = _second_wheel_filter(docs)
    archive = Archive(settings, db=db)
    match = {"$or": [{"filter1": name}, {"filter2": name}]}
    assert archive.query(filter=name).spec.filters[0].to_mongo() == match
    for extra in ({}, {"detector": "WFC"}):
        query = {"$and": [match, extra]} if extra else match
        plan = db.command("explain", {"find": CATALOG, "filter": query,
                                      "sort": {"date_obs": 1, "_id": 1}},
                          verbosity="queryPlanner")["queryPlanner"]["winningPlan"]
        text = json.dumps(plan)
        assert "COLLSCAN" not in text and "IXSCAN" in text, text
        if not extra:
            assert "filter1_1" in text and "filter2_1" in text, text


# --- 25.8: search by wavelength -----------------------------------------------------------

def _pivot_within(doc, low, high) -> bool:
    band = image_passband(doc.get("detector"), doc.get("filter1"), doc.get("filter2"))
    if band is None:
        return False
    if band.pivot is None:
        return band.low <= high and band.high >= low
    return low <= band.pivot <= high


@pytest.mark.parametrize("text, low, high", [
    ("500nm..900nm", 500 * u.nm, 900 * u.nm),
    ("5000..9000Angstrom", 5000 * u.AA, 9000 * u.AA),
    ("0.7um..", 0.7 * u.um, None),
    ("..400nm", None, 400 * u.nm),
    ("600THz..400THz", 400 * u.THz, 600 * u.THz),
])
def test_wavelength_range_finds_the_pivots_within_it(site, cli_env, capsys, text, low, high):
    settings, db, docs = site
    to_m = {"equivalencies": u.spectral()}
    low_m = low.to(u.m, **to_m).value if low is not None else float("-inf")
    high_m = high.to(u.m, **to_m).value if high is not None else float("inf")
    low_m, high_m = min(low_m, high_m), max(low_m, high_m)
    expected = {d["rootname"] for d in docs if _pivot_within(d, low_m, high_m)}
    archive = Archive(settings, db=db)
    assert {r["rootname"] for r in archive.query(wavelength=text).rows()} == expected
    assert _cli_rootnames(capsys, f"wavelength={text}") == expected
    if text == "500nm..900nm":
        assert expected  # the sample has optical images
        client = create_app(settings, db=db, config={"TESTING": True}).test_client()
        rows = client.get(f"/query.json?wavelength={text}&limit=500").get_json()["rows"]
        assert {r["rootname"] for r in rows} == expected


def test_a_single_wavelength_finds_the_bands_that_hold_it(site):
    settings, db, docs = site
    metres = (656 * u.nm).to(u.m).value
    expected = set()
    for d in docs:
        band = image_passband(d.get("detector"), d.get("filter1"), d.get("filter2"))
        if band is not None and band.low <= metres <= band.high:
            expected.add(d["rootname"])
    got = {r["rootname"] for r in Archive(settings, db=db).query(wavelength="656nm").rows()}
    assert got == expected


@pytest.mark.parametrize("text, message", [
    ("500", "needs a unit"), ("blue", "cannot read"), ("..", "wavelength takes"),
    ("-5nm", "above 0"),
])
def test_a_wavelength_that_cannot_be_read_is_a_one_line_error(site, text, message):
    settings, db, _ = site
    with pytest.raises(QueryError, match=message) as info:
        Archive(settings, db=db).query(wavelength=text)
    assert "\n" not in str(info.value)
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    assert client.get(f"/query.json?wavelength={text}").status_code == 400


def test_wavelength_is_served_by_indexes(site):
    settings, db, _ = site
    spec = Archive(settings, db=db).query(wavelength="500nm..900nm").spec
    plan = db.command("explain", {"find": CATALOG, "filter": spec.filters[0].to_mongo(),
                                  "sort": {"date_obs": 1, "_id": 1}},
                      verbosity="queryPlanner")["queryPlanner"]["winningPlan"]
    text = json.dumps(plan)
    assert "COLLSCAN" not in text and "detector_1_filter" in text, text
