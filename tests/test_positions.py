"""Positions and radii as astronomers write them; target names from the archive itself."""

from __future__ import annotations

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from query_documents import load, make_documents

from acsq_mongo.cli import main
from acsq_mongo.query import QueryError, QuerySpec
from acsq_mongo.query.positions import parse_position, parse_radius
from acsq_mongo.query.targets import TargetNames

M31 = SkyCoord("00h42m44.3s", "+41d16m09s")


@pytest.mark.parametrize("text", [
    "00:42:44.3 +41:16:09", "00h42m44.3s +41d16m09s", "00 42 44.3 +41 16 09",
    "00:42:44.3, +41:16:09", "10.684583,41.269167", "10.684583 41.269167",
    " 10.684583 , 41.269167 ", "ICRS 10.684583 41.269167", "fk5 00:42:44.3 +41:16:09",
])
def test_one_position_in_every_notation(text):
    # (FK5 J2000 and ICRS differ by some milliarcseconds.)
    assert parse_position(text).separation(M31).arcsec < (0.1 if "fk5" in text else 0.01)


def test_a_galactic_position_is_converted_to_icrs_by_astropy():
    coord = parse_position("galactic 121.1743 -21.5733")
    expected = SkyCoord(l=121.1743 * u.deg, b=-21.5733 * u.deg, frame="galactic").icrs
    assert coord.separation(expected).arcsec < 1e-6
    assert coord.separation(M31).arcmin < 1  # it is M31
    assert parse_position("gal: 121.1743,-21.5733").separation(expected).arcsec < 1e-6


def test_ra_zero_and_360_are_the_same_place_and_poles_are_positions():
    assert parse_position("360,0").separation(parse_position("0,0")).arcsec < 1e-9
    assert parse_position("0,90").dec.deg == pytest.approx(90.0)
    assert parse_position("12:00:00 -90:00:00").dec.deg == pytest.approx(-90.0)


@pytest.mark.parametrize(("text", "degrees"), [
    ("5arcsec", 5 / 3600), ("2arcmin", 2 / 60), ("0.1deg", 0.1), ("0.1", 0.1), ("3", 3.0),
    ("2 arcmin", 2 / 60), ("1e-3", 1e-3), ("0.5 deg", 0.5), ("1.5e-2deg", 0.015),
])
def test_a_radius_has_a_unit_or_is_degrees(text, degrees):
    assert parse_radius(text).deg == pytest.approx(degrees)


@pytest.mark.parametrize(("text", "message"), [
    ("", "a position is empty"),
    ("10", "cannot read the position '10'"),
    ("10,95", "cannot read the position '10,95'"),
    ("25:00:00 +10:00:00", "cannot read the position"),
    ("galactic 121", "galactic position '121' needs two coordinates"),
    ("1 2 3", "cannot read the position"),
    ("x" * 300, "at most 200 characters"),
    ("M31", "cannot read the position 'M31'"),  # no archive to look names up in
])
def test_a_bad_position_is_a_one_line_error(text, message):
    with pytest.raises(QueryError, match=message) as caught:
        parse_position(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["", "5 parsec", "-1", "0", "181deg", "abc", "nan", "5 s",
                                  "1" * 50])
def test_a_bad_radius_is_a_one_line_error(text):
    with pytest.raises(QueryError) as caught:
        parse_radius(text)
    assert "\n" not in str(caught.value) and ("radius" in str(caught.value))


def _names(db):
    docs = make_documents(60)
    load(db, docs)
    return docs, TargetNames(db)


def test_a_target_name_is_the_mean_position_of_its_pointings(db):
    docs, names = _names(db)
    for target in ("NGC104", "wrap-east", "Polaris", "SOUTH-POLE"):
        rows = [d for d in docs if d["targname"] == target.upper()]
        assert rows, target
        pointings = SkyCoord([d["ra_targ"] for d in rows] * u.deg,
                             [d["dec_targ"] for d in rows] * u.deg)
        mean = pointings.cartesian.mean()
        expected = SkyCoord(mean, representation_type="cartesian", frame="icrs")
        found = names.resolve(target)
        assert found.separation(expected).arcsec < 1e-6, target
        # Every pointing is near the mean, also across RA 0 and by the pole.
        assert max(found.separation(pointings).deg) < 0.2


def test_an_unknown_target_name_lists_close_names(db):
    _, names = _names(db)
    with pytest.raises(QueryError) as caught:
        names.resolve("NGC 104")
    message = str(caught.value)
    assert "no network name resolver" in message and "close names: NGC104" in message
    assert "\n" not in message
    with pytest.raises(QueryError, match="neither a position nor a target") as caught:
        names.resolve("ZZZZZZZZ")
    assert "close names" not in str(caught.value)


def test_positions_and_names_in_every_search(db):
    docs, names = _names(db)
    ngc104 = names.resolve("NGC104")
    spec = QuerySpec.parse({"cone": "ngc104,0.2"})
    assert spec.targets == ("ngc104",)  # parsing reads nothing from the store
    spec = spec.with_targets(names.resolve)
    assert (spec.cone.ra, spec.cone.dec) == pytest.approx((ngc104.ra.deg, ngc104.dec.deg))
    assert spec.targets == () and ("cone", "ngc104,0.2") in spec.to_params()
    spec = QuerySpec.parse({"overlaps": "00:24:05.7 -72:04:53,2arcmin"})
    assert spec.targets == () and spec.sky.radius == pytest.approx(2 / 60)
    assert spec.sky.text == "00:24:05.7 -72:04:53,2arcmin"  # links keep what was typed
    spec = QuerySpec.parse({"contains": "NGC104"}).with_targets(names.resolve)
    assert ("contains", "NGC104") in spec.to_params()
    assert (spec.sky.ra, spec.sky.dec) == pytest.approx((ngc104.ra.deg, ngc104.dec.deg))
    spec = QuerySpec.parse({"ra": "6", "dec": "-72", "radius": "5arcmin"})
    assert spec.cone.radius == pytest.approx(5 / 60)


def test_the_cli_takes_positions_and_says_what_is_wrong(mock_settings, monkeypatch, capsys):
    from acsq_mongo.db.connection import connect

    load(connect(mock_settings), make_documents(60))
    monkeypatch.setenv("ACSQ_MONGO_URI", mock_settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", mock_settings.db)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    assert main(["query", "cone=NGC104,0.3", "--columns", "rootname,targname"]) == 0
    out = capsys.readouterr().out
    assert "NGC104" in out and "rows 1-" in out
    assert main(["query", "cone=NGC 104,0.3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "close names: NGC104" in err
    assert main(["query", "overlaps=10,20,5parsec"]) == 2
    assert "a radius is an angle" in capsys.readouterr().err


def test_the_python_api_resolves_names_and_raises_on_bad_positions(mock_settings):
    from acsq_mongo import Archive
    from acsq_mongo.db.connection import connect

    db = connect(mock_settings)
    load(db, make_documents(60))
    archive = Archive(mock_settings, db=db)
    rows = archive.query(cone="NGC104,0.3").select("rootname", "targname").rows()
    assert rows and {r["targname"] for r in rows} == {"NGC104"}
    with pytest.raises(QueryError, match="close names: NGC104"):
        archive.query(cone="NGC10,0.3").count()  # resolved when it runs, as on every face
    with pytest.raises(QueryError, match="one search around a position"):
        archive.query(cone="NGC104,0.3").filter(contains="1,2")



def test_the_web_form_takes_positions_and_answers_bad_ones_with_a_400_page(mock_settings):
    from acsq_mongo.db.connection import connect
    from webapp import create_app

    db = connect(mock_settings)
    load(db, make_documents(60))
    client = create_app(mock_settings, db=db, config={"TESTING": True}).test_client()
    page = client.get("/query", query_string={"cone": "NGC104,0.3", "sort": "distance"})
    assert page.status_code == 200 and "NGC104" in page.get_data(as_text=True)
    rows = client.get("/query.json", query_string={"cone": "00:24:05.7 -72:04:53,0.3"}).json
    assert rows["count"] > 0
    for params, message in ((({"contains": "10,95"}), "cannot read the position"),
                            ({"overlaps": "NGC 104,1arcmin"}, "close names: NGC104"),
                            ({"cone": "1,2,5 parsecs"}, "a radius is an angle")):
        page = client.get("/query", query_string=params)
        text = page.get_data(as_text=True)
        assert page.status_code == 400 and message in text, params
        assert "Traceback" not in text
