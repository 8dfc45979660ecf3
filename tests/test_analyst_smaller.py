"""The smaller things an analyst hit, round 2 (issue 25, "Smaller"), on the real server.

Given the session's sample archive ingested: the query form says things once
and shows the filters of its URL in its rows; names work in any case; a value
nothing has, an unknown flag and a negative RA each get one answer on every
face; an index on a keyword no header has says so; the docs cite URLs that
answer; CSV dates read as JSON's do.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
from html import unescape
from pathlib import Path

import pytest
from settings_env import use_settings

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from webapp import create_app

pytestmark = pytest.mark.realdb

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count()


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    work = tmp_path_factory.mktemp("smaller")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_small_{os.getpid()}_{next(_names)}", data=work / "var",
                             page_size=5)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    yield settings, db, client
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.fixture
def cli_env(site, monkeypatch):
    settings, _, _ = site
    use_settings(monkeypatch, settings)


# --- the query form -----------------------------------------------------------------------

def test_the_form_says_observation_once(site):
    _, _, client = site
    html = client.get("/query").get_data(as_text=True)
    assert len(re.findall(r"Observation(?! type)", html)) == 1  # the fieldset's legend


def test_a_facets_more_expands_to_every_value_as_a_link(site, monkeypatch):
    import webapp.query

    _, db, client = site
    proposals = {str(d["proposid"]) for d in db[CATALOG].find({}, {"proposid": 1})}
    assert len(proposals) >= 3
    monkeypatch.setattr(webapp.query, "FACET_VALUES_SHOWN", 2)  # (the sample is small)
    html = client.get("/query?exptime__gte=0").get_data(as_text=True)
    aside = re.search(r'<aside class="facets".*?</aside>', html, re.S).group(0)
    section = re.search(r"<h3>Proposal ID</h3>(.*?)(?=<h3>|</aside>)", aside, re.S).group(1)
    more = re.search(r'<li class="more"><details><summary>… (\d+) more</summary>(.*?)'
                     r'</details>', section, re.S)
    assert more and int(more.group(1)) == len(proposals) - 2
    assert len(re.findall(r"proposid=(\d+)", more.group(2))) == len(proposals) - 2
    assert set(re.findall(r"proposid=(\d+)", section)) == proposals  # every value a link


def test_filters_in_the_url_fill_the_forms_rows_not_hidden_fields(site):
    _, _, client = site
    html = client.get("/query?headers.flt.0.CCDGAIN__gte=2&filter1__in=F606W,F814W"
                      "&exptime__gt=1").get_data(as_text=True)
    assert '<input type="hidden"' not in html
    assert '<input name="filter1" value="F606W,F814W"' in html
    row = re.search(r'<div class="kw-row">(.*?)</div>', html, re.S).group(1)
    assert '<option selected>flt</option>' in row and 'name="kw_ext" value="0"' in row
    assert 'name="kw_key" value="CCDGAIN"' in row and 'value="gte" selected' in row
    assert 'name="kw_value" value="2"' in row
    # Submitting the form as shown asks the same question.
    fields = [("kw_filetype", "flt"), ("kw_ext", "0"), ("kw_key", "CCDGAIN"),
              ("kw_op", "gte"), ("kw_value", "2"), ("filter1", "F606W,F814W"),
              ("exptime_op", ">"), ("exptime_from", "1")]
    again = client.get("/query.json", query_string=fields).get_json()
    first = client.get("/query.json?headers.flt.0.CCDGAIN__gte=2&filter1__in=F606W,F814W"
                       "&exptime__gt=1").get_json()
    assert again["count"] == first["count"]
    assert [r["rootname"] for r in again["rows"]] == [r["rootname"] for r in first["rows"]]


# --- case -----------------------------------------------------------------------------------

def test_filetypes_in_any_case(site):
    settings, db, client = site
    doc = db[CATALOG].find_one({"filetypes": "flt", "proposid": {"$ne": None}})
    r, pid = doc["rootname"], doc["proposid"]
    moved = client.get(f"/archive/{pid}/{r}/FLT/")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/{r}/flt/")
    upper = client.get(f"/files/{r.upper()}/FLT")
    lower = client.get(f"/files/{r}/flt")
    assert upper.status_code == 200 and upper.data == lower.data
    assert upper.data == (settings.archive / doc["path"] / f"{r}_flt.fits").read_bytes()


# --- values that match nothing --------------------------------------------------------------

def test_a_value_no_rootname_has_is_named_with_the_values_there_are(site, cli_env, capsys):
    _, db, client = site
    detectors = sorted({d for d in db[CATALOG].distinct("detector") if d})
    assert main(["query", "detector=XYZ"]) == 0
    err = capsys.readouterr().err
    assert "detector=XYZ: no rootname has detector XYZ" in err
    assert f"the values: {', '.join(detectors)}" in err
    assert main(["query", "anomaly=bogus", "--format", "csv"]) == 0
    assert "no rootname has anomaly flag bogus" in capsys.readouterr().err
    data = client.get("/query.json?detector=xyz").get_json()
    assert data["count"] == 0 and any("no rootname has detector XYZ" in w
                                      for w in data["warnings"])
    html = client.get("/query?detector=XYZ").get_data(as_text=True)
    assert "This value matches nothing:" in html
    # A value some rootname has: no warning.
    assert client.get(f"/query.json?detector={detectors[0]}").get_json()["warnings"] == []


# --- flags, positions -----------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".json", ".csv"])
def test_an_unknown_flag_is_a_400_in_every_format(site, suffix):
    _, _, client = site
    response = client.get(f"/anomalies{suffix}?flag=x")
    assert response.status_code == 400
    assert "there is no anomaly flag 'x'" in unescape(response.get_data(as_text=True))
    assert client.get(f"/anomalies{suffix}?flag=ghost").status_code == 200


def test_one_rule_for_ra_in_every_way_a_position_is_written(site, cli_env, capsys):
    _, _, client = site
    refused = ["/query.json?ra=-0.5&dec=-32.59&radius=1",
               "/query.json?contains=-0.5%20-32.59", "/query.json?cone=-0.5,-32.59,1",
               "/query.json?overlaps=-0.5,-32.59,1", "/query.json?ra=360.5&dec=0&radius=1",
               "/query.json?contains=360.5%200"]
    for url in refused:
        response = client.get(url)
        assert response.status_code == 400, url
        assert re.search(r"(ra|RA) must be from 0 to 360 degrees", response.get_json()["error"])
    for url in ("/query.json?ra=359.5&dec=-32.59&radius=1",
                "/query.json?contains=359.5%20-32.59", "/query.json?cone=359.5,-32.59,1"):
        assert client.get(url).status_code == 200, url
    assert main(["query", "contains=-0.5 -32.59"]) == 2
    assert "RA must be from 0 to 360 degrees" in capsys.readouterr().err


# --- indexes --------------------------------------------------------------------------------

def test_indexing_a_keyword_no_header_has_warns(site, cli_env, capsys):
    assert main(["db", "index", "headers.flt.0.NOSUCHKEY"]) == 0
    captured = capsys.readouterr()
    assert "warning: headers.flt.0.NOSUCHKEY: no flt[0] header has NOSUCHKEY" in captured.err
    assert "0 of them have it" in captured.out
    assert main(["db", "index", "headers.flt.0.NOSUCHKEY", "--drop"]) == 0
    assert main(["db", "index", "headers.flt.0.CCDGAIN"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    n = int(re.search(r"; (\d+) of them have it", captured.out).group(1))
    _, db, _ = site
    assert n == db["rootnames"].count_documents({"headers.flt.0.CCDGAIN": {"$exists": True}})
    assert n > 0
    assert main(["db", "index", "headers.flt.0.CCDGAIN", "--drop"]) == 0


# --- docs, CSV ------------------------------------------------------------------------------

def test_the_data_model_cites_urls_that_answer(site):
    _, db, client = site
    text = (ROOT / "docs" / "data-model.md").read_text()
    assert "/rootname/<r>.json" not in text
    doc = db[CATALOG].find_one({"proposid": {"$ne": None}})
    for url in re.findall(r"`(/archive/<proposid>/<rootname>/[^`]*)`", text):
        real = url.replace("<proposid>", str(doc["proposid"])).replace(
            "<rootname>", doc["rootname"])
        assert client.get(real).status_code == 200, real


def test_csv_dates_read_as_json_dates(site, cli_env, capsys):
    _, _, client = site
    url = "?detector=WFC&columns=rootname,date_obs,last_ingest_date&limit=5"
    rows = client.get("/query.json" + url).get_json()["rows"]
    text = client.get("/query.csv" + url).get_data(as_text=True)
    by_csv = {r["rootname"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    for row in rows:
        for column in ("date_obs", "last_ingest_date"):
            if row[column] is not None:
                assert row[column].endswith("Z")
                assert by_csv[row["rootname"]][column] == row[column]
    assert main(["query", "detector=WFC", "--columns", "rootname,date_obs", "--format",
                 "csv"]) == 0
    lines = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert lines and all(r["date_obs"].endswith("Z") for r in lines if r["date_obs"])
    json_rows = json.loads(client.get("/query.json?detector=WFC&columns=rootname,date_obs"
                                      "&limit=1000").get_data(as_text=True))["rows"]
    assert {r["rootname"]: r["date_obs"] for r in lines} == {
        r["rootname"]: r["date_obs"] for r in json_rows}
