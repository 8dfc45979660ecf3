"""What a new analyst hits in the web app (issue 13), on both backends.

Given the session's sample archive ingested (without quicklook images: these
pages need none), an analyst who asks for nothing that exists, asks in the
wrong case, asks for CSV with a typo, or reads dates in JSON gets a page or
an answer to act on, never a bare form or a silent zero.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from html import unescape

import pytest

from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from webapp import create_app

_names = itertools.count()


@pytest.fixture(scope="module", params=["mongomock", "real"])
def web(request, sample_archive, tmp_path_factory):
    """A test client of the app on the ingested sample archive, and the sample."""
    work = tmp_path_factory.mktemp("web_analyst")
    if request.param == "real":
        uri = request.getfixturevalue("real_server_uri")
    else:
        uri = f"mongomock://{work.name}"
    settings = load_settings(environ={}, mongo_uri=uri, db=f"acsq_wa_{os.getpid()}_"
                             f"{next(_names)}", data=work / "var", archive=sample_archive.root,
                             page_size=5)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    yield client, sample_archive, db
    if request.param == "real":
        db.client.drop_database(settings.db)
    db.client.close()


def _get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:400])
    return response


# --- an empty answer is an answer ---------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/query?detector=WFC&filter1=F999W",
    "/query?headers.flt.0.CCDGAIN__gte=99",
    "/query?detector=WFC&limit=0",
    "/query?detector=WFC&offset=1000",
])
def test_a_query_that_matches_nothing_on_its_page_is_a_result_page(web, url):
    client, sample, _ = web
    html = _get(client, url).get_data(as_text=True)
    title = re.search(r"<title>(.*?) · ACS Quicklook</title>", html).group(1)
    assert title.startswith("Query: ") and title.endswith(("rootnames", "rootname"))
    assert '<section class="results">' in html and "<details open>" not in html
    assert re.search(r'<p class="command"[^>]*>\s*<code>acsq query ', html)
    assert '<aside class="facets"' in html
    n = int(title.split()[1].replace(",", ""))
    if n == 0:
        assert "No rootname matches" in html
        first = url.split("?")[1].split("&")[0].split("=")[0].split("__")[0]
        assert f"<code>{first} " in html  # the filters as understood
    else:
        assert "none on this page" in html


def test_an_empty_result_in_json_and_csv(web):
    client, _, _ = web
    data = _get(client, "/query.json?detector=WFC&filter1=F999W").get_json()
    assert data["count"] == 0 and data["rows"] == [] and data["columns"]
    text = _get(client, "/query.csv?detector=WFC&filter1=F999W").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [data["columns"]]


# --- errors in the format asked for ----------------------------------------------------------

@pytest.mark.parametrize("url", ["/query.csv?exptime=abc", "/query?exptime=abc&format=csv",
                                 "/query.csv?detector__near=WFC"])
def test_an_error_on_a_csv_request_is_plain_text(web, url):
    client, _, _ = web
    response = _get(client, url, 400)
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith("error 400: ") and text.count("\n") == 1 and "<" not in text


def test_json_dates_are_utc_with_a_z(web):
    client, sample, _ = web
    data = _get(client, "/query.json?sort=date_obs&limit=3").get_json()
    for row in data["rows"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", row["date_obs"])
    planned = {r.rootname: r.promoted["date_obs"] for r in sample.rootnames}
    row = data["rows"][0]
    assert row["date_obs"].rstrip("Z").startswith(planned[row["rootname"]][:19])


# --- bounded numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("offset=99999999999999999999999", "offset must be at most"),
    ("limit=99999999999999999999999", "limit must be at most"),
    ("offset=-5", "cannot be negative"),
    ("proposid=99999999999999999999", "out of range"),
    ("proposid=" + "9" * 5000, "whole number"),
    ("ra=10&dec=0&radius=1e400", "radius"),
    ("date_obs__gte=99999", "date"),
])
def test_numbers_out_of_range_are_a_400_in_every_format(web, query, message):
    client, _, _ = web
    for path in ("/query", "/query.json", "/query.csv"):
        response = _get(client, f"{path}?{query}", 400)
        assert message in unescape(response.get_data(as_text=True)), path


# --- case and lists --------------------------------------------------------------------------

def _count(client, query):
    return _get(client, f"/query.json?{query}&limit=0").get_json()["count"]


def test_enumerated_fields_and_targets_match_in_any_case(web):
    client, sample, _ = web
    r = next(r for r in sample.rootnames if r.promoted["detector"] == "WFC"
             and r.promoted["targname"])
    p = r.promoted
    for name in ("detector", "filter1", "aperture", "targname", "obstype", "imagetyp"):
        value = p[name]
        expected = sum(q.promoted[name] == value for q in sample.rootnames)
        assert expected > 0
        assert _count(client, f"{name}={value}") == expected, name
        assert _count(client, f"{name}={value.lower()}") == expected, name
        assert _count(client, f"{name}__in={value.lower()},NOPE") == expected, name
        assert _count(client, f"{name}__not={value.lower()}") == len(sample.rootnames) - expected
        assert _count(client, f"{name}__startswith={value[:2].lower()}") >= expected
    prefix = p["targname"][:3]
    wild = sum((q.promoted["targname"] or "").startswith(prefix) for q in sample.rootnames)
    assert _count(client, f"targname={prefix.lower()}*") == wild


def test_a_comma_list_with_equals_is_a_list(web):
    client, sample, _ = web
    n = {d: sum(r.promoted["detector"] == d for r in sample.rootnames) for d in ("WFC", "HRC")}
    assert n["WFC"] and n["HRC"]
    assert _count(client, "detector__in=WFC,hrc") == n["WFC"] + n["HRC"]
    assert _count(client, "detector=WFC,HRC") == n["WFC"] + n["HRC"]
    assert _count(client, "detector=wfc,hrc") == n["WFC"] + n["HRC"]
    assert _count(client, "detector__not=WFC,HRC") == len(sample.rootnames) - sum(n.values())
    html = _get(client, "/query?detector=WFC,HRC").get_data(as_text=True)
    assert "<code>acsq query detector__in=WFC,HRC</code>" in html


# --- header keywords that cannot exist ------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("headers.flt.1.CCDGAIN__gte=1", ["no flt[1] header has CCDGAIN", "flt[0]",
                                      "try headers.flt.0.CCDGAIN"]),
    ("headers.flt.0.CCDGAN=2", ["no flt[0] header has CCDGAN", "did you mean CCDGAIN"]),
])
def test_a_header_path_that_cannot_exist_is_warned_about(web, path, expected):
    client, _, _ = web
    data = _get(client, f"/query.json?{path}").get_json()
    assert data["count"] == 0 and len(data["warnings"]) == 1
    assert all(part in data["warnings"][0] for part in expected), data["warnings"]
    html = unescape(_get(client, f"/query?{path}").get_data(as_text=True))
    assert 'class="alert warning"' in html and expected[0] in html


def test_a_keyword_only_in_the_stored_data_is_not_warned_about(web):
    client, sample, db = web
    r = next(r for r in sample.rootnames if "flt" in r.filetypes)
    db["rootnames"].update_one({"_id": r.rootname[:8]},
                               {"$set": {"headers.flt.0.LOCALKEY": 7}})
    try:
        data = _get(client, "/query.json?headers.flt.0.LOCALKEY=7").get_json()
        assert data["count"] == 1 and data["warnings"] == []
        assert _get(client, "/query.json?headers.flt.0.CCDGAIN__gte=0").get_json()[
            "warnings"] == []
    finally:
        db["rootnames"].update_one({"_id": r.rootname[:8]},
                                   {"$unset": {"headers.flt.0.LOCALKEY": ""}})


# --- what was asked is shown ------------------------------------------------------------------

def test_filtered_and_sorted_header_keywords_are_columns_and_sortable(web):
    client, _, _ = web
    data = _get(client, "/query.json?detector=WFC&headers.flt.0.CCDGAIN__gte=0"
                "&sort=-headers.flt.0.CCDGAIN&limit=50").get_json()
    assert data["columns"][-1] == "headers.flt.0.CCDGAIN" and data["count"] > 1
    gains = [row["headers.flt.0.CCDGAIN"] for row in data["rows"]]
    assert None not in gains and gains == sorted(gains, reverse=True)
    assert ["columns", "x"] not in data["query"] and all(n != "columns" for n, _ in data["query"])
    html = unescape(_get(client, "/query?headers.flt.0.CCDGAIN__gte=0").get_data(as_text=True))
    assert 'title="headers.flt.0.CCDGAIN">headers.flt.0.CCDGAIN</a>' in html  # a sort link
    assert "sort=headers.flt.0.CCDGAIN" in html
    assert "none ticked: the standard columns" in html and "seed" not in html


def test_the_standard_columns_read_as_an_analyst_reads_a_row(web):
    client, _, _ = web
    columns = _get(client, "/query.json?limit=1").get_json()["columns"]
    assert columns == ["rootname", "date_obs", "detector", "filter1", "filter2", "aperture",
                       "exptime", "targname", "ra_targ", "dec_targ", "proposid", "pr_inv_l"]


# --- what was typed stays typed ---------------------------------------------------------------

@pytest.mark.parametrize(("query", "fields"), [
    ("exptime__gte=abc", {"exptime_op": "between", "exptime_from": "abc"}),
    ("exptime__lt=12x", {"exptime_op": "<", "exptime_from": "12x"}),
    ("date_obs=2005-13", {"date_op": "=", "date_from": "2005-13"}),
    ("date_obs__gte=2005&date_obs__lte=2005-99", {"date_op": "between", "date_from": "2005",
                                                   "date_to": "2005-99"}),
])
def test_a_bad_range_typed_in_the_url_is_shown_again_in_the_form(web, query, fields):
    client, _, _ = web
    html = _get(client, f"/query?{query}", 400).get_data(as_text=True)
    assert 'class="alert"' in html
    for name, value in fields.items():
        if name.endswith("_op"):
            assert re.search(rf'<select name="{name}".*?<option selected>{re.escape(value)}<',
                             unescape(html), re.S), name
        else:
            assert f'name="{name}" value="{value}"' in html, name
    assert 'type="hidden" name="exptime__' not in html
    assert 'type="hidden" name="date_obs' not in html


# --- pages --------------------------------------------------------------------------------------

def test_the_code_link_is_a_setting_defaulting_to_the_docs_page(web, tmp_path):
    client, _, _ = web
    html = _get(client, "/docs").get_data(as_text=True)
    assert '<a href="/docs#code">Code</a>' in html and "acsql" not in html
    assert 'id="code"' in html and "code_url" in html
    settings = load_settings(environ={"ACSQ_CODE_URL": "https://example.org/acsq-mongo"},
                             mongo_uri="mongomock://code", data=tmp_path)
    other = create_app(settings, config={"TESTING": True}).test_client()
    html = _get(other, "/docs").get_data(as_text=True)
    assert html.count('href="https://example.org/acsq-mongo"') == 2  # the menu and the section


def _with_flt(sample):
    r = next(r for r in sample.rootnames
             if "flt" in r.filetypes and r.promoted["detector"] == "WFC")
    return r, f"/archive/{r.promoted['proposid']}/{r.rootname}/headers/"


def test_the_header_view_shows_card_comments_from_the_document(web):
    client, sample, db = web
    r, url = _with_flt(sample)
    doc = db["rootnames"].find_one({"_id": r.rootname[:8]})
    assert doc["header_comments"]["flt"]["0"]["CCDGAIN"] == "commanded gain of CCD"
    assert doc["headers"]["flt"]["0"]["CCDGAIN"] in (1.0, 2.0)  # values stay plain
    assert "header_comments" not in db["catalog"].find_one({"_id": r.rootname[:8]})
    html = _get(client, url).get_data(as_text=True)
    assert "<th>Comment</th>" in html
    assert re.search(r'<td class="kw">CCDGAIN(?: <span class="kw-links">.*?</span>)?</td>'
                     r'<td class="value">[12]\.0</td>'
                     r'<td class="comment">commanded gain of CCD</td>', html)
    data = _get(client, url.rstrip("/") + ".json").get_json()
    assert data["comments"]["flt"]["0"]["DETECTOR"] == "detector in use: WFC, HRC, or SBC"
    assert data["headers"]["flt"]["0"]["DETECTOR"] == "WFC"
    rows = list(csv.DictReader(io.StringIO(
        _get(client, url.rstrip("/") + ".csv").get_data(as_text=True))))
    gain = next(row for row in rows if row["filetype"] == "flt" and row["ext"] == "0"
                and row["keyword"] == "CCDGAIN")
    assert gain["comment"] == "commanded gain of CCD" and float(gain["value"]) in (1.0, 2.0)
    # A query on a value is unchanged by the comments beside it.
    n = _count(client, "headers.flt.0.DETECTOR=WFC")
    assert n == sum(q.promoted["detector"] == "WFC" and "flt" in q.filetypes
                    for q in sample.rootnames)


def test_the_header_filter_is_in_the_url(web):
    client, sample, _ = web
    _, url = _with_flt(sample)
    html = _get(client, url + "?q=CCD%3Cx").get_data(as_text=True)
    assert 'name="q" value="CCD&lt;x"' in html and 'data-filter-param="q"' in html


def test_the_image_view_has_gain_orientation_sexagesimal_and_copyable_paths(web):
    client, sample, db = web
    r, _ = _with_flt(sample)
    p = r.promoted
    html = _get(client, f"/archive/{p['proposid']}/{r.rootname}/").get_data(as_text=True)
    doc = db["rootnames"].find_one({"_id": r.rootname[:8]})
    gain = doc["headers"]["flt"]["0"]["CCDGAIN"]
    orientat = doc["headers"]["flt"]["1"]["ORIENTAT"]
    assert re.search(rf"<th>CCD gain</th><td>{gain}", html)
    assert f"{orientat} <span class=\"muted\">ORIENTAT</span>" in html
    from astropy.coordinates import Angle
    ra = Angle(p["ra_targ"], unit="deg").to_string(unit="hour", precision=2, pad=True)
    dec = Angle(p["dec_targ"], unit="deg").to_string(unit="deg", precision=1, alwayssign=True,
                                                      pad=True)
    assert f'<span class="sexa">{ra}</span>' in html and f'<span class="sexa">{dec}</span>' in html
    # Paths wrap only after a slash, and copy in one click.
    name = f"{r.rootname}_flt.fits"
    assert f"/<wbr>{name}</code>" in html
    path = str(sample.root / r.path / name)
    assert f'data-copy="{path}"' in html and 'class="copy"' in html


def test_gallery_cards_mark_exposures_that_were_not_normal(real_settings, tmp_path):
    from acsq_mongo.sample import make_sample_archive

    sample = make_sample_archive(tmp_path / "archive", 12, seed=2)  # (holds an interrupted one)
    flagged = [r for r in sample.rootnames if r.promoted["expflag"] not in (None, "NORMAL")]
    assert flagged
    settings = real_settings.replace(archive=sample.root)
    assert run_ingest(settings, sample.root, quicklook=False).ok
    client = create_app(settings, config={"TESTING": True}).test_client()
    r = flagged[0]
    html = _get(client, f"/archive/{r.promoted['proposid']}/?limit=500").get_data(as_text=True)
    figure = re.search(rf'<figure class="thumb flagged">(?:(?!</figure>).)*{r.rootname}'
                       r'(?:(?!</figure>).)*</figure>', html, re.S)
    assert figure and f"⚠ {r.promoted['expflag']}" in figure.group(0)
    normal = sum(q.promoted["expflag"] == "NORMAL" and q.promoted["proposid"]
                 == r.promoted["proposid"] for q in sample.rootnames)
    assert html.count('<figure class="thumb">') == min(normal, settings.page_size)
    html = _get(client, f"/query?rootname={r.rootname}&format=thumbnails").get_data(as_text=True)
    assert '<figure class="thumb flagged">' in html
