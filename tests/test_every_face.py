"""Every face gives the same answer (issue 25, items 1-6), on the real server.

Given the session's sample archive ingested into the real server, three images
flagged, then ingested again (an unchanged rootname gets a new
``last_ingest_date`` in the catalog only), and the web app on a real HTTP
server, an analyst:

- gets the same catalog fields (``anomalies``, ``last_ingest_date``, ...) in
  every format, whatever columns she picks, as the catalog holds them;
- names a target (``contains=NGC104``) on the query page, its sky map, the
  trend page, its CSV and the command line alike;
- asks ``/query.csv`` (and the others) with no parameters and gets that format;
- downloads an image through pyvo's ``getdataset()`` from a SIA v2 record;
- is offered only trend keywords that the inventory and the data have, and is
  warned about one that no header has, as ``acsq query`` warns;
- gets a 400 that names a parameter a page does not take, or one given twice,
  and ``format=`` honoured on the trend page;
- and (issue 29) opens every VOTable in TOPCAT with a UCD on every column, and
  a time column in the cone search's VOTable 1.1.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import html
import io
import itertools
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from unittest import mock

import astropy.units as u
import numpy as np
import pytest
import pyvo
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse
from astropy.io.votable.ucd import check_ucd
from astropy.table import Table
from astropy.time import Time
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from web_server import serving

from acsq_mongo import Archive
from acsq_mongo.accounts.users import User
from acsq_mongo.cli import main
from acsq_mongo.cli.trend_command import _EPILOG as TREND_HELP
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.fields import FIELDS
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from acsq_mongo.tags import Vocabulary, change_flags
from acsq_mongo.trends.trend_keywords import TREND_KEYWORDS
from webapp import create_app
from webapp.archive import proposal_segment

_names = itertools.count()
ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "acsq_mongo" / "data" / "acs_header_keywords.json"
HEADER_COLUMNS = ("headers.flt.0.CCDGAIN", "headers.flt.1.MDRIZSKY", "headers.raw.0.BIASLEVA")


class Site:
    """The app on a real HTTP server over the ingested, flagged, re-ingested sample."""

    def __init__(self, settings, db, sample, url, flagged):
        self.settings, self.db, self.sample, self.url = settings, db, sample, url
        self.flagged = flagged
        self.archive = Archive(settings, db=db, cache=False)

    def get(self, path: str, status: int = 200) -> tuple[bytes, str]:
        try:
            with urllib.request.urlopen(self.url + path) as response:
                code, body, kind = (response.status, response.read(),
                                    response.headers.get_content_type())
        except urllib.error.HTTPError as exc:
            code, body, kind = exc.code, exc.read(), exc.headers.get_content_type()
        assert code == status, (path, code, body[:300])
        return body, kind

    def text(self, path: str, status: int = 200) -> str:
        """The answer as text (an HTML page's entities read as characters)."""
        return html.unescape(self.get(path, status)[0].decode())

    def env(self):
        """The environment the command line reads this site's settings from."""
        values = {"ACSQ_MONGO_URI": self.settings.mongo_uri, "ACSQ_DB": self.settings.db,
                  "ACSQ_ARCHIVE": str(self.settings.archive),
                  "ACSQ_DATA": str(self.settings.data)}
        patched = mock.patch.dict(os.environ, values)
        patched.start()
        os.environ.pop("ACSQ_CONFIG", None)
        return patched

    def cli(self, *words: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        patched = self.env()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(words))
        finally:
            patched.stop()
        return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def site(sample_archive, real_server_uri, tmp_path_factory):
    work = tmp_path_factory.mktemp("every_face")
    settings = load_settings(environ={}, mongo_uri=real_server_uri,
                             db=f"acsq_faces_{os.getpid()}_{next(_names)}", data=work / "var",
                             archive=sample_archive.root)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    db = connect(settings)
    with_flt = sorted(r.rootname for r in sample_archive.rootnames if "flt" in r.filetypes)
    flagged = with_flt[:3]
    vocabulary = Vocabulary.from_settings(settings)
    change_flags(db, flagged[0], User("ada", "tagger"), vocabulary,
                 add=["ghost", "satellite_trail"], comment="two")
    change_flags(db, flagged[1], User("bob", "tagger"), vocabulary, add=["crosstalk"])
    change_flags(db, flagged[2], User("ada", "tagger"), vocabulary, add=["ghost"])
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok  # nothing changed
    with serving(create_app(settings, db=db)) as url:
        yield Site(settings, db, sample_archive, url, flagged)
    db.client.drop_database(settings.db)
    db.client.close()


def test_the_catalog_and_the_whole_documents_differ_where_the_bug_hid(site):
    """The premise: tags live in the catalog only, and a re-ingest dates only the catalog."""
    catalog = {d["_id"]: d for d in site.db[CATALOG].find({}, {"anomalies": 1,
                                                               "last_ingest_date": 1})}
    whole = {d["_id"]: d for d in site.db[ROOTNAMES].find({}, {"anomalies": 1,
                                                               "last_ingest_date": 1})}
    assert sorted(catalog[site.flagged[0][:8]]["anomalies"]) == ["ghost", "satellite_trail"]
    assert all("anomalies" not in d for d in whole.values())
    assert all(catalog[i]["last_ingest_date"] > whole[i]["last_ingest_date"] for i in whole)


# --- 1. one row builder: every format gives the catalog's fields ---------------------------

def _canon(name: str, value) -> str:
    """A value as comparable text, whatever type or text a format delivered it as."""
    kind = FIELDS[name].type
    if isinstance(value, np.ma.core.MaskedConstant) or value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Time):
        if np.any(value.mask):
            return ""
        value = value.utc.datetime
    if isinstance(value, str):
        if value == "":
            return ""
        if value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
            value = value[1:]  # a CSV cell neutralised against spreadsheet formulas
        if kind == "datetime":
            value = datetime.datetime.fromisoformat(value.rstrip("Z"))
        elif kind in ("int", "float"):
            value = float(value)
        elif kind == "bool":
            return {"true": "true", "false": "false", "True": "true", "False": "false"}[value]
        elif kind == "dict":
            value = json.loads(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return ";".join(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _rows(rows, fields) -> dict[str, dict[str, str]]:
    return {str(r["rootname"]): {f: _canon(f, r[f]) for f in fields} for r in rows}


def _table_rows(table: Table, fields) -> dict[str, dict[str, str]]:
    return _rows([{f: table[f][i] for f in ("rootname", *fields)} for i in range(len(table))],
                 fields)


_CHOICES = sorted(n for n in FIELDS if n != "rootname")
_COLUMNS = st.tuples(
    st.lists(st.sampled_from(_CHOICES), min_size=1, max_size=6, unique=True),
    st.lists(st.sampled_from(HEADER_COLUMNS), max_size=2, unique=True),
).map(lambda parts: ["rootname", *parts[0], *parts[1]])
_SORTS = st.sampled_from([None, "headers.flt.0.CCDGAIN", "-exptime"])


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(columns=_COLUMNS, sort=_SORTS)
@example(columns=["rootname", "anomalies", "headers.flt.0.CCDGAIN"], sort=None)
@example(columns=["rootname", "last_ingest_date", "anomalies", "headers.flt.1.MDRIZSKY"],
         sort="headers.flt.0.CCDGAIN")
def test_every_format_gives_the_catalog_fields_for_any_columns(site, columns, sort):
    names = sorted({r.rootname for r in site.sample.rootnames if "flt" in r.filetypes})[:8]
    fields = [c for c in columns if not c.startswith("headers.")]
    pairs = [("rootname__in", ",".join(names)), ("columns", ",".join(columns))]
    if sort:
        pairs.append(("sort", sort))
    query = urllib.parse.urlencode(pairs)
    # The oracle: the catalog documents themselves.
    docs = list(site.db[CATALOG].find({"rootname": {"$in": names}}))
    expected = _rows([{f: d.get(f) for f in ("rootname", *fields)} for d in docs], fields)
    assert len(expected) == len(names)

    answers = {"json": _rows(json.loads(site.text(f"/query.json?{query}&limit=100"))["rows"],
                             fields)}
    answers["csv"] = _rows(csv.DictReader(io.StringIO(site.text(f"/query.csv?{query}"))),
                           fields)
    answers["ecsv"] = _table_rows(Table.read(site.text(f"/query.ecsv?{query}"),
                                             format="ascii.ecsv"), fields)
    vot = parse(io.BytesIO(site.get(f"/query.vot?{query}")[0]), verify="exception")
    answers["vot"] = _table_rows(vot.get_first_table().to_table(), fields)
    words = [f"rootname__in={','.join(names)}", "--columns", ",".join(columns)]
    code, out, _ = site.cli("query", *words, *([f"--sort={sort}"] if sort else []),
                            "--format", "csv")
    assert code == 0
    answers["cli csv"] = _rows(csv.DictReader(io.StringIO(out)), fields)
    q = site.archive.query(rootname__in=names).select(*columns)
    if sort:
        q = q.order_by(sort)
    answers["Query.rows()"] = _rows(q.rows(), fields)
    answers["to_table()"] = _table_rows(q.to_table(), fields)
    for face, got in answers.items():
        assert got == expected, (face, columns, sort)


def test_the_issue_example_has_its_flags_in_csv(site):
    rootname = site.flagged[0]
    text = site.text(f"/query.csv?rootname={rootname}"
                     "&columns=rootname,anomalies,headers.flt.0.CCDGAIN")
    (row,) = csv.DictReader(io.StringIO(text))
    stored = site.db[CATALOG].find_one({"_id": rootname[:8]})["anomalies"]
    assert row["anomalies"] == ";".join(stored) and set(stored) == {"ghost", "satellite_trail"}
    assert row["headers.flt.0.CCDGAIN"] != ""


def test_a_header_keyword_trend_by_anomalies_takes_the_flags_from_the_catalog(site):
    data = json.loads(site.text("/trend.json?y=headers.flt.0.CCDGAIN&by=anomalies"))
    points = {p["rootname"]: p for p in data["points"]}
    for rootname in site.flagged:
        stored = site.db[CATALOG].find_one({"_id": rootname[:8]})["anomalies"]
        assert points[rootname]["anomalies"] == stored
    # Each group's statistics are those of its points (numpy, from the points themselves).
    by_group: dict[str, list[float]] = {}
    for p in data["points"]:
        by_group.setdefault(json.dumps(p["anomalies"]), []).append(p["headers.flt.0.CCDGAIN"])
    assert len(by_group) >= 3
    for group in data["groups"]:
        values = np.array(by_group.pop(json.dumps(group["value"])))
        assert (group["n"], group["min"], group["max"]) == (len(values), values.min(),
                                                            values.max())
        assert group["mean"] == pytest.approx(values.mean())
    assert by_group == {}


# --- 2. target names on every face ---------------------------------------------------------

def _target(site) -> tuple[str, SkyCoord]:
    """The sample's most observed target with a position, and its mean pointing (astropy)."""
    counts = Counter(r.promoted["targname"] for r in site.sample.rootnames
                     if r.promoted.get("ra_targ") is not None and r.promoted.get("targname"))
    name = counts.most_common(1)[0][0]
    rows = [r.promoted for r in site.sample.rootnames if r.promoted.get("targname") == name]
    points = SkyCoord([p["ra_targ"] for p in rows] * u.deg, [p["dec_targ"] for p in rows] * u.deg)
    mean = SkyCoord(points.cartesian.mean(), representation_type="cartesian", frame="icrs")
    mean.representation_type = "spherical"
    return name, mean


def _json_rootnames(site, query: str) -> list[str]:
    return sorted(r["rootname"] for r in json.loads(site.text(
        f"/query.json?{query}&limit=1000&columns=rootname"))["rows"])


def test_a_target_name_works_on_every_face(site, tmp_path):
    name, mean = _target(site)
    where = f"{float(mean.ra.deg)!r},{float(mean.dec.deg)!r}"
    for kind, by_name, by_coordinates in (
            ("contains", name, where), ("overlaps", f"{name},2arcmin", f"{where},2arcmin")):
        expected = _json_rootnames(site, urllib.parse.urlencode({kind: by_coordinates}))
        assert expected, (kind, name)
        named = urllib.parse.urlencode({kind: by_name})
        assert _json_rootnames(site, named) == expected
        # Its sky map: the same picture as the coordinates' (not a broken image).
        png, kind_of = site.get(f"/sky.png?{named}")
        assert kind_of == "image/png"
        by_numbers = site.get("/sky.png?" + urllib.parse.urlencode({kind: by_coordinates}))[0]
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))),
                              np.asarray(Image.open(io.BytesIO(by_numbers))))
        # The trend page, its CSV, and the command lines.
        page = site.text(f"/trend?y=exptime&{named}")
        assert f"of {name}" in page or f"contains {name}" in page
        points = csv.DictReader(io.StringIO(site.text(f"/trend.csv?y=exptime&{named}")))
        assert sorted(r["rootname"] for r in points) == expected
        code, out, err = site.cli("trend", "exptime", f"{kind}={by_name}", "--output",
                                  str(tmp_path / "t.csv"))
        assert code == 0, err
        with open(tmp_path / "t.csv") as saved:
            assert sorted(r["rootname"] for r in csv.DictReader(saved)) == expected
        code, out, err = site.cli("query", f"{kind}={by_name}", "--format", "csv",
                                  "--columns", "rootname")
        assert code == 0 and sorted(r["rootname"] for r in csv.DictReader(
            io.StringIO(out))) == expected
        rows = site.archive.query(**{kind: by_name}).select("rootname").rows()
        assert sorted(r["rootname"] for r in rows) == expected
    # The query page's own links to its sky map and trend keep the name.
    page = site.text("/query?" + urllib.parse.urlencode({"contains": name}))
    assert f'/sky.png?contains={urllib.parse.quote_plus(name)}' in page.replace("&amp;", "&")
    assert f"contains={urllib.parse.quote_plus(name)}" in re.search(
        r'href="(/trend\?[^"]*)"', page).group(1).replace("&amp;", "&")


def test_an_unknown_target_name_is_the_same_400_everywhere(site):
    for path in ("/query?contains=NOSUCHTARGET", "/sky.png?contains=NOSUCHTARGET",
                 "/trend?y=exptime&contains=NOSUCHTARGET",
                 "/trend.csv?y=exptime&cone=NOSUCHTARGET,1"):
        assert "neither a position nor a target name" in site.text(path, 400), path
    code, _, err = site.cli("trend", "exptime", "contains=NOSUCHTARGET")
    assert code != 0 and "neither a position nor a target name" in err


# --- 3. a format suffix answers in its format, even with no parameters ----------------------

def test_a_format_suffix_with_no_parameters_answers_in_that_format(site):
    n = site.db[CATALOG].count_documents({})
    body, kind = site.get("/query.csv")
    assert kind == "text/csv" and len(list(csv.DictReader(io.StringIO(body.decode())))) == n
    body, kind = site.get("/query.json")
    assert kind == "application/json" and json.loads(body)["count"] == n
    body, kind = site.get("/query.vot")
    assert kind == "application/x-votable+xml"
    assert len(parse(io.BytesIO(body), verify="exception").get_first_table().array) == n
    body, kind = site.get("/query.ecsv")
    assert kind == "text/plain" and len(Table.read(body.decode(), format="ascii.ecsv")) == n
    body, kind = site.get("/query.curl")
    assert kind == "text/x-shellscript" and body.startswith(b"#!")
    fetched = [line for line in body.decode().splitlines() if line.startswith("fetch ")]
    assert len(fetched) == site.sample.n_files
    assert "<form" in site.text("/query")  # the page itself is still the form


# --- 4. SIA v2 records that pyvo can download ------------------------------------------------

def test_pyvo_getdataset_returns_the_files_bytes(site):
    name, mean = _target(site)
    sia = pyvo.dal.SIA2Service(site.url + "/vo/sia")
    results = sia.search(pos=(mean.ra.deg, mean.dec.deg, 0.5))
    records = list(results)
    assert records
    fields = {f.name: f for f in results.fielddescs}
    assert fields["access_url"].utype == "obscore:Access.Reference"
    own = {"preview", "filetype"}  # this service's columns, not ObsCore's
    assert all(f.utype and f.utype.startswith("obscore:") for n, f in fields.items()
               if n not in own)
    by_name = site.sample.by_rootname()
    for record in records[:4]:
        rootname, filetype = record["obs_id"], record["filetype"]
        url = record.getdataurl()
        assert url.endswith(f"/files/{rootname}/{filetype}")
        path = site.sample.root / by_name[rootname].path / f"{rootname}_{filetype}.fits"
        assert record.getdataset().read() == path.read_bytes()


# --- 5. trend keywords that exist -------------------------------------------------------------

def _inventory_numeric(path: str) -> bool:
    """Whether the shipped inventory has the keyword of ``path`` as a number there."""
    _, filetype, ext, key = path.split(".", 3)
    keywords = json.loads(INVENTORY.read_text())["keywords"]
    kinds = {kind for combo, entries in keywords.items()
             if combo.endswith(f"_{filetype}_{ext}") for k, kind in entries if k == key}
    return bool(kinds) and kinds <= {"Integer", "Float"}


def _stored_number(site, path: str) -> bool:
    _, filetype, ext, key = path.split(".", 3)
    for doc in site.db[ROOTNAMES].find({}, {f"headers.{filetype}.{ext}": 1}):
        value = (((doc.get("headers") or {}).get(filetype) or {}).get(ext) or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
    return False


def test_the_trend_form_suggests_only_keywords_the_inventory_and_the_data_have(site):
    page = site.text("/trend")
    listed = re.search(r'<datalist id="trend-y">(.*?)</datalist>', page, re.S).group(1)
    offered = {v for v in re.findall(r'value="([^"]+)"', listed) if v.startswith("headers.")}
    expected = {p for p in TREND_KEYWORDS if _inventory_numeric(p) and _stored_number(site, p)}
    assert offered == expected and len(expected) >= 5
    for bogus in ("headers.raw.1.CCDTEMP", "headers.spt.0.CCDTEMP", "headers.flt.1.SKY"):
        assert bogus not in page


def test_the_help_and_the_guide_name_only_inventory_keywords(site):
    for path in set(re.findall(r"headers\.\w+\.\d+\.\w+", TREND_HELP)):
        assert _inventory_numeric(path) and _stored_number(site, path), path
    guide = (ROOT / "docs" / "guide" / "plots.md").read_text()
    for path in set(re.findall(r"headers\.\w+\.\d+\.\w+", guide)):
        if path == "headers.flt.1.SKY":  # named as the example of a warning
            assert "(`headers.flt.1.SKY`) is warned about" in guide
            continue
        assert _inventory_numeric(path), path


def test_a_trend_of_a_path_no_header_has_gets_the_query_hint(site):
    code, _, query_err = site.cli("query", "headers.flt.1.SKY__exists=true")
    hint = [line for line in query_err.splitlines() if line.startswith("warning:")]
    assert code == 0 and len(hint) == 1 and "no flt[1] header has SKY" in hint[0]
    code, _, trend_err = site.cli("trend", "headers.flt.1.SKY")
    assert code == 0 and hint[0] in trend_err.splitlines()
    warning = hint[0].removeprefix("warning: ")
    assert json.loads(site.text("/trend.json?y=headers.flt.1.SKY"))["warnings"] == [warning]
    page = site.text("/trend?y=headers.flt.1.SKY")
    assert "This keyword may not exist" in page and "no flt[1] header has SKY" in page
    assert "may not exist" not in site.text("/trend?y=headers.flt.1.MDRIZSKY")


# --- 6. one rule for parameters ----------------------------------------------------------------

def test_the_trend_page_honours_format(site):
    for fmt in ("csv", "json", "png", "svg"):
        assert site.get(f"/trend?y=exptime&format={fmt}") == site.get(f"/trend.{fmt}?y=exptime")
    text = site.text("/trend?y=exptime&format=xml", 400)
    assert "unknown format 'xml'" in text and "csv" in text
    assert "format is given more than once" in site.text(
        "/trend.json?y=exptime&format=csv&format=json", 400)


def test_a_parameter_a_page_does_not_take_is_a_400_naming_it(site):
    r = site.sample.rootnames[0]
    pid = proposal_segment(site.db[CATALOG].find_one({"_id": r.rootname[:8]})["proposid"])
    pages = ["/", "/summary.json", "/docs", "/archive/", f"/archive/{pid}/{r.rootname}/",
             f"/archive/{pid}/{r.rootname}/headers/", "/anomalies", "/anomalies.json",
             f"/files/{r.rootname}/{r.filetypes[0]}"]
    for page in pages:
        site.get(page)  # the page itself answers
        assert "nosuch" in site.text(page + "?nosuch=1", 400), page
    assert "sort is given more than once" in site.text("/archive/?sort=x&sort=y", 400)
    assert "format is given more than once" in site.text(
        "/query?detector=WFC&format=json&format=csv", 400)
    assert "count is given more than once" in site.text(
        "/query?detector=WFC&count=all&count=all", 400)
    assert "unknown format 'json'" in site.text("/sky.png?format=json", 400)
    # Query pages name an unknown parameter through the query core.
    assert "unknown field 'nosuch'" in site.text("/query.json?nosuch=1", 400)
    assert "unknown field 'nosuch'" in site.text("/trend.json?y=exptime&nosuch=1", 400)


def test_a_cone_search_parameter_given_twice_is_an_error_naming_it(site):
    body, _ = site.get("/vo/scs?RA=1&RA=2&DEC=3&SR=1")
    votable = parse(io.BytesIO(body), verify="exception")
    (info,) = [i for i in votable.infos if i.name == "Error"]
    assert "RA is given more than once" in info.value
    with pytest.raises(pyvo.dal.DALQueryError, match="DEC is given more than once"):
        pyvo.dal.SCSService(site.url + "/vo/scs?DEC=1").search(pos=(1, 2), radius=0.1)


# --- issue 29: VOTables as TOPCAT reads them ----------------------------------------------------

_UCD1_WORDS = {"ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"}  # SCS 1.03's own, in VOTable 1.1


def _votable(site, path: str):
    return parse(io.BytesIO(site.get(path)[0]), verify="exception")


def _assert_every_column_has_a_ucd(votable, path: str) -> None:
    fields = votable.get_first_table().fields
    assert fields, path
    for field in fields:
        assert field.ucd, (path, field.name)
        if field.ucd not in _UCD1_WORDS:
            assert check_ucd(field.ucd, check_controlled_vocabulary=True), (path, field.ucd)


def test_every_column_of_every_votable_has_a_ucd(site):
    every = ",".join([*FIELDS, "headers.flt.0.CCDGAIN", "headers.flt.0.FILTER1"])
    name, mean = _target(site)
    paths = [f"/query.vot?columns={every}", "/query.vot",
             *(f"/vo/scs?RA={mean.ra.deg}&DEC={mean.dec.deg}&SR=1&VERB={v}" for v in (1, 2, 3)),
             f"/vo/sia?POS=CIRCLE+{mean.ra.deg}+{mean.dec.deg}+1"]
    for path in paths:
        votable = _votable(site, path)
        _assert_every_column_has_a_ucd(votable, path)
        assert len(votable.get_first_table().array), path
    fields = {f.name: f for f in _votable(site, f"/query.vot?columns={every}")
              .get_first_table().fields}
    assert fields["aperture"].ucd == "instr.setup"
    assert fields["pr_inv_l"].ucd.startswith("meta.id")


def test_the_cone_search_has_the_exposure_start_as_an_mjd(site):
    name, mean = _target(site)
    for verb in (2, 3):
        votable = _votable(site, f"/vo/scs?RA={mean.ra.deg}&DEC={mean.dec.deg}&SR=1&VERB={verb}")
        assert votable.version == "1.1"
        (time,) = [f for f in votable.get_first_table().fields
                   if f.ucd == "time.start;obs.exposure" and f.datatype == "double"]
        assert time.unit == u.d
        table = votable.get_first_table().to_table()
        assert len(table)
        stored = {d["rootname"]: d for d in site.db[CATALOG].find(
            {"rootname": {"$in": list(table["rootname"])}}, {"expstart": 1, "date_obs": 1,
                                                            "rootname": 1})}
        starts = Time(np.asarray(table[time.name], dtype=float), format="mjd", scale="utc")
        for rootname, start in zip(table["rootname"], starts, strict=True):
            doc = stored[str(rootname)]
            assert start.mjd == doc["expstart"]
            # The MJD is the same instant as date_obs (DATE-OBS and TIME-OBS), within 1 s.
            assert abs((start - Time(doc["date_obs"], scale="utc")).sec) < 1.0
