"""Headers in the CLI, in Python and in the header view (issue 25, item 9), on the real server.

Given the real ACS/WFC flt that ships with astropy (j94f05bgq, pixels cut to
1x1) ingested, an analyst reads its headers back without opening the file:
``Archive.header()`` is an :class:`astropy.io.fits.Header` whose keywords,
values and comments are those astropy reads from the file itself, record-valued
keywords included; ``acsq headers`` prints them as text, JSON or FITS; and in
the header view each keyword links to a query of its value and a trend of it.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import astropy
import pytest
from astropy.io import fits
from settings_env import use_settings

from acsq_mongo.api import Archive
from acsq_mongo.cli import main
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query.errors import QueryError
from acsq_mongo.settings import load_settings
from webapp import create_app

pytestmark = pytest.mark.realdb

ROOTNAME = "j94f05bgq"
REAL_FLT = Path(astropy.__file__).parent / "wcs" / "tests" / "data" / "j94f05bgq_flt.fits"
_names = itertools.count()


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    """The session's sample archive with the real flt added, ingested."""
    work = tmp_path_factory.mktemp("headers_api")
    shutil.copytree(sample_archive.root, work / "archive")
    folder = work / "archive" / ROOTNAME[:4] / ROOTNAME
    folder.mkdir(parents=True)
    path = folder / f"{ROOTNAME}_flt.fits"
    shutil.copy(REAL_FLT, path)
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=work / "archive",
                             db=f"acsq_hdr_{os.getpid()}_{next(_names)}", data=work / "var")
    assert run_ingest(settings, settings.archive, quicklook=False).ok
    db = connect(settings)
    yield settings, db, path
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.fixture
def cli_env(site, monkeypatch):
    settings, _, _ = site
    use_settings(monkeypatch, settings)


def _plain_cards(header: fits.Header) -> dict[str, tuple]:
    """Every valued card: keyword -> (value, comment)."""
    return {card.keyword: (card.value, card.comment) for card in header.cards
            if card.keyword not in ("COMMENT", "HISTORY", "")}


@pytest.mark.parametrize("ext", [0, 1, "SCI", "SCI,1", "ERR"])
def test_archive_header_is_the_files_header_with_real_keys_and_comments(site, ext):
    settings, db, path = site
    header = Archive(settings, db=db).header(ROOTNAME.upper(), "flt", ext)
    assert isinstance(header, fits.Header)
    index = ext if isinstance(ext, int) else tuple(
        int(p) if p.isdigit() else p for p in ext.split(",")) if "," in ext else ext
    with fits.open(path) as hdul:
        expected = hdul[index].header
        assert _plain_cards(header) == _plain_cards(expected)
        assert list(header["HISTORY"]) == list(expected["HISTORY"]) if "HISTORY" in expected \
            else "HISTORY" not in header
    assert not any("%2E" in key for key in header)


def test_record_valued_keywords_come_back_as_astropy_names_them(site):
    """The sample's flt files carry D2IM1.EXTVER (stored as D2IM1%2EEXTVER)."""
    settings, db, _ = site
    doc = db["rootnames"].find_one({"headers.flt.1.D2IM1%2EEXTVER": {"$exists": True}},
                                   {"rootname": 1, "path": 1})
    assert doc is not None, "no sample flt has a record-valued keyword"
    path = settings.archive / doc["path"] / f"{doc['rootname']}_flt.fits"
    expected = fits.getheader(path, 1)
    header = Archive(settings, db=db).header(doc["rootname"], "flt", 1)
    assert "D2IM1.EXTVER" in expected and header["D2IM1.EXTVER"] == expected["D2IM1.EXTVER"]
    assert header.comments["D2IM1.EXTVER"] == expected.comments["D2IM1.EXTVER"]
    assert _plain_cards(header) == _plain_cards(expected)


def test_archive_header_errors_are_one_line(site):
    settings, db, _ = site
    archive = Archive(settings, db=db)
    for args, message in ((("j94f05bgq", "raw", 0), "no raw headers; its filetypes: flt"),
                          (("j94f05bgq", "flt", 9), "no extension 9"),
                          (("j94f05bgq", "flt", "SCI,9"), "no extension SCI,9"),
                          (("jzzz99zzq", "flt", 0), "no rootname"),
                          (("not a rootname", "flt", 0), "8 or 9 letters")):
        with pytest.raises(QueryError, match=message):
            archive.header(*args)


def test_acsq_headers_as_text_json_and_fits(site, cli_env, capsys):
    _, _, path = site
    expected = fits.getheader(path, 0)
    assert main(["headers", ROOTNAME, "--filetype", "flt", "--ext", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"# {ROOTNAME}_flt.fits [0]\n")
    assert f"\n{expected.cards['CCDGAIN'].image.rstrip()}\n" in text

    assert main(["headers", ROOTNAME, "--filetype", "flt", "--ext", "SCI,1",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    [one] = data["headers"]
    assert (one["filetype"], one["ext"], one["extname"]) == ("flt", 1, "SCI,1")
    cards = {c["keyword"]: c for c in one["cards"]}
    sci = fits.getheader(path, 1)
    for key in ("CRVAL1", "ORIENTAT", "EXTNAME"):
        assert cards[key]["value"] == sci[key] and cards[key]["comment"] == sci.comments[key]

    assert main(["headers", ROOTNAME, "--filetype", "flt", "--ext", "0", "--format",
                 "fits"]) == 0
    block = capsys.readouterr().out
    assert len(block) % 2880 == 0
    assert _plain_cards(fits.Header.fromstring(block)) == _plain_cards(expected)

    # Every header at once as text; a FITS block of many headers is refused in one line.
    assert main(["headers", ROOTNAME]) == 0
    assert capsys.readouterr().out.count(f"# {ROOTNAME}_flt.fits [") == len(fits.open(path))
    assert main(["headers", ROOTNAME, "--format", "fits"]) == 2
    err = capsys.readouterr().err
    assert "--format fits writes one header" in err and err.count("\n") == 1


def test_the_header_view_links_each_keyword_to_a_query_and_a_trend(site):
    settings, db, path = site
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    page = client.get(f"/archive/10501/{ROOTNAME}/headers/", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = re.search(r'<td class="kw">CCDGAIN <span class="kw-links">(.*?)</span></td>', html)
    assert row, "CCDGAIN has no links"
    links = dict((text, unescape(href)) for href, text in
                 re.findall(r'<a href="([^"]+)"[^>]*>(query|trend)</a>', row.group(1)))
    assert set(links) == {"query", "trend"}
    gain = fits.getheader(path, 0)["CCDGAIN"]
    query = urlsplit(links["query"])
    assert query.path == "/query" and parse_qsl(query.query) == [
        ("headers.flt.0.CCDGAIN", str(gain))]
    trend = urlsplit(links["trend"])
    assert trend.path == "/trend" and parse_qsl(trend.query) == [("y", "headers.flt.0.CCDGAIN")]
    # Following the query link finds this rootname; the trend link draws a trend.
    found = client.get(links["query"].replace("/query?", "/query.json?")).get_json()
    assert ROOTNAME in [r["rootname"] for r in found["rows"]]
    assert client.get(links["trend"]).status_code == 200
    # A text keyword gets a query but no trend; commentary cards get neither.
    text_row = re.search(r'<td class="kw">FILTER1 <span class="kw-links">(.*?)</span>', html)
    assert text_row and ">query<" in text_row.group(1) and ">trend<" not in text_row.group(1)
    assert not re.search(r'<td class="kw">HISTORY <span class="kw-links">', html)


def test_the_header_csv_keeps_history_lines_apart(site):
    settings, db, path = site
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    response = client.get(f"/archive/10501/{ROOTNAME}/headers.csv", follow_redirects=True)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    history = [r for r in rows if r["keyword"] == "HISTORY" and r["ext"] == "0"]
    expected = list(fits.getheader(path, 0).get("HISTORY", []))
    if not expected:
        pytest.skip("no HISTORY in this file's primary header")
    assert history[0]["value"].split("\n") == [str(line).rstrip() for line in expected]
