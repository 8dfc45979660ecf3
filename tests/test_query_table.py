"""``Query.to_table()``: every matching row as a typed astropy Table, and VOTable / ECSV from it.

Given the hand-made documents stored through the store, the analyst asks for
a table and gets every row (not one page), promoted fields with units, dates
as UTC ``Time``, header keywords typed from the keyword inventory, missing
values masked; and the same table as a VOTable (parsed strictly) and ECSV.
"""

from __future__ import annotations

import io
import sys

import astropy.units as u
import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.table import Table
from astropy.time import Time
from query_documents import load, make_documents

from acsq_mongo import Archive
from acsq_mongo.cli import main
from acsq_mongo.formats.table import UCDS, column_kind
from acsq_mongo.query.names import resolve

DOCS = make_documents(40)
COLUMNS = ("rootname", "date_obs", "ra_targ", "dec_targ", "exptime", "expstart", "subarray",
           "proposid", "filetypes", "headers.flt.0.CCDGAIN", "headers.flt.0.CRSPLIT",
           "headers.flt.0.STATFLAG", "headers.flt.0.FLSHCORR", "headers.flt.1.MYKEY")


@pytest.fixture
def archive(db, settings):
    load(db, DOCS)
    return Archive(settings.replace(page_size=5), db=db)


def _by_rootname():
    return {d["rootname"]: d for d in DOCS}


def test_every_row_comes_not_one_page(archive):
    q = archive.query(sort="rootname").select(*COLUMNS)
    table = q.to_table()
    assert len(q.page()) == 5
    assert list(table["rootname"]) == sorted(d["rootname"] for d in DOCS)
    assert table.colnames == list(COLUMNS)
    assert table.meta["query"][0] == ["sort", "rootname"]


def test_promoted_fields_have_units_and_dates_are_utc_times(archive):
    table = archive.query(sort="rootname").select(*COLUMNS).to_table()
    assert table["ra_targ"].unit == u.deg and table["dec_targ"].unit == u.deg
    assert table["exptime"].unit == u.s and table["expstart"].unit == u.d
    assert isinstance(table["date_obs"], Time) and table["date_obs"].scale == "utc"
    assert table["proposid"].dtype == np.int64 and table["subarray"].dtype == bool
    assert table["ra_targ"].info.meta["ucd"] == "pos.eq.ra;meta.main"
    docs = _by_rootname()
    for i, name in enumerate(table["rootname"]):
        doc = docs[name]
        if doc["date_obs"] is None:
            assert table["date_obs"].mask[i]
        else:
            assert table["date_obs"][i].datetime == doc["date_obs"]
        if doc["exptime"] is None:
            assert table["exptime"].mask[i]
        else:
            assert table["exptime"][i] == doc["exptime"]
        if doc["proposid"] is None:
            assert table["proposid"].mask[i]
        else:
            assert table["proposid"][i] == doc["proposid"]
        assert table["filetypes"][i] == ";".join(doc["filetypes"])
    assert table["date_obs"].mask.any() and table["exptime"].mask.any()


def test_header_columns_are_typed_from_the_keyword_inventory(archive):
    table = archive.query(sort="rootname").select(*COLUMNS).to_table()
    assert table["headers.flt.0.CCDGAIN"].dtype == np.float64      # Float in the inventory
    assert table["headers.flt.0.CRSPLIT"].dtype == np.int64        # Integer
    assert table["headers.flt.0.STATFLAG"].dtype == bool           # Bool
    assert table["headers.flt.0.FLSHCORR"].dtype.kind == "U"       # String
    docs = _by_rootname()
    for i, name in enumerate(table["rootname"]):
        flt0 = docs[name]["headers"]["flt"]["0"]
        assert table["headers.flt.0.CRSPLIT"][i] == flt0["CRSPLIT"]
        assert table["headers.flt.0.STATFLAG"][i] == flt0["STATFLAG"]


def test_a_keyword_of_mixed_types_keeps_every_value_as_text(archive):
    # MYKEY is unknown to the inventory, and stored as 2, "2", "abc" or 7.5.
    table = archive.query(sort="rootname").select("rootname", "headers.flt.1.MYKEY").to_table()
    docs = _by_rootname()
    column = table["headers.flt.1.MYKEY"]
    assert column.dtype.kind == "U"
    for i, name in enumerate(table["rootname"]):
        stored = docs[name]["headers"]["flt"]["1"].get("MYKEY")
        if stored is None:
            assert column.mask[i]
        else:
            assert column[i] == str(stored)


def test_column_kind_falls_back_to_the_values():
    ccdgain = resolve("headers.flt.0.CCDGAIN")
    assert column_kind(ccdgain, [1.0, 2.0, None]) == "float"
    assert column_kind(ccdgain, [1.0, "two"]) == "str"
    assert column_kind(resolve("headers.flt.0.NOSUCHKEY"), [1, 2]) == "int"
    assert column_kind(resolve("headers.flt.0.NOSUCHKEY"), [True, 2]) == "str"
    # With no value at all (a keyword no matching file has), the inventory's type stands.
    assert column_kind(ccdgain, [None, None]) == "float"


def test_to_pandas_gives_a_dataframe(archive):
    # pandas is in the test extra only: acsq-mongo itself does not depend on it.
    frame = archive.query(sort="rootname").select(*COLUMNS[:6]).to_pandas()
    assert list(frame.columns) == list(COLUMNS[:6])
    assert len(frame) == len(DOCS)
    assert str(frame["date_obs"].dtype).startswith("datetime64")


def test_to_pandas_without_pandas_says_how_to_get_it(archive, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        archive.query().to_pandas()


def test_the_votable_parses_strictly_and_keeps_units_ucds_and_masks(archive):
    q = archive.query(sort="rootname").select(*COLUMNS)
    parsed = parse(io.BytesIO(q.votable()), verify="exception").get_first_table()
    fields = {f.name: f for f in parsed.fields}
    assert fields["ra_targ"].unit == u.deg and fields["ra_targ"].ucd == "pos.eq.ra;meta.main"
    assert fields["date_obs"].xtype == "timestamp"
    table = parsed.to_table()
    expected = q.to_table()
    assert list(table["rootname"]) == list(expected["rootname"])
    assert np.array_equal(table["exptime"].mask, expected["exptime"].mask)
    present = ~expected["date_obs"].mask
    assert list(table["date_obs"][present]) == [t + "Z" for t in expected["date_obs"][present].isot]


def test_ecsv_reads_back_the_same_table(archive):
    q = archive.query(sort="rootname").select(*COLUMNS)
    back = Table.read(q.ecsv(), format="ascii.ecsv")
    expected = q.to_table()
    assert back["exptime"].unit == u.s and isinstance(back["date_obs"], Time)
    assert list(back["rootname"]) == list(expected["rootname"])
    assert np.array_equal(back["exptime"].mask, expected["exptime"].mask)
    assert list(back["headers.flt.0.CCDGAIN"]) == list(expected["headers.flt.0.CCDGAIN"])


@pytest.fixture
def cli_env(db, settings, monkeypatch):
    load(db, DOCS)
    monkeypatch.setenv("ACSQ_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", settings.db)
    monkeypatch.setenv("ACSQ_PAGE_SIZE", "5")
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)


def test_acsq_query_writes_votable_and_ecsv_of_every_row(cli_env, capsysbinary):
    assert main(["query", "detector=WFC", "--format", "votable", "--sort", "rootname"]) == 0
    votable = parse(io.BytesIO(capsysbinary.readouterr().out), verify="exception")
    names = list(votable.get_first_table().to_table()["rootname"])
    assert names == sorted(d["rootname"] for d in DOCS if d["detector"] == "WFC")
    assert len(names) > 5
    assert main(["query", "detector=WFC", "--format", "ecsv", "--sort", "rootname"]) == 0
    table = Table.read(capsysbinary.readouterr().out.decode(), format="ascii.ecsv")
    assert list(table["rootname"]) == names and table["ra_targ"].unit == u.deg


def test_every_ucd_given_is_in_the_ivoa_vocabulary(archive):
    # A strict parse refuses a UCD outside the UCD1+ vocabulary (W06).
    q = archive.query(sort="rootname").select(*UCDS)
    fields = parse(io.BytesIO(q.votable()), verify="exception").get_first_table().fields
    assert {f.name: f.ucd for f in fields} == UCDS


@pytest.fixture
def client(db, settings):
    from webapp import create_app

    load(db, DOCS)
    app = create_app(settings.replace(page_size=5), db=db, config={"TESTING": True})
    return app.test_client()


def test_the_result_page_links_votable_and_ecsv_of_every_row(client):
    html = client.get("/query?detector=WFC&sort=rootname&offset=5").get_data(as_text=True)
    assert 'href="/query.vot?detector=WFC&amp;sort=rootname"' in html
    assert 'href="/query.ecsv?detector=WFC&amp;sort=rootname"' in html
    wfc = sorted(d["rootname"] for d in DOCS if d["detector"] == "WFC")
    response = client.get("/query.vot?detector=WFC&sort=rootname")
    assert response.status_code == 200 and response.mimetype == "application/x-votable+xml"
    assert "acsq_query.vot" in response.headers["Content-Disposition"]
    votable = parse(io.BytesIO(response.data), verify="exception").get_first_table()
    assert list(votable.to_table()["rootname"]) == wfc
    text = client.get("/query?detector=WFC&sort=rootname&format=ecsv").get_data(as_text=True)
    assert list(Table.read(text, format="ascii.ecsv")["rootname"]) == wfc


def test_a_bad_query_asked_as_votable_is_a_votable_error(client):
    response = client.get("/query.vot?exptime__gte=long")
    assert response.status_code == 400
    votable = parse(io.BytesIO(response.data), verify="exception")
    (info,) = votable.resources[0].infos
    assert (info.name, info.value) == ("QUERY_STATUS", "ERROR")
    assert "exptime" in info.content
    response = client.get("/query.ecsv?exptime__gte=long")
    assert response.status_code == 400 and response.mimetype == "text/plain"
    assert "exptime" in response.get_data(as_text=True)
