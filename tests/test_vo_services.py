"""The VO services through pyvo, the way TOPCAT and astroquery users reach them.

Given the session's sample archive ingested into the real server and the web
app served by a real HTTP server (werkzeug, in a thread), pyvo's
``SCSService`` and ``SIA2Service`` find what the query core finds; every
answer parses strictly (astropy ``verify='exception'``, and any VOTable
warning raised as an error while pyvo parses); bad parameters answer as each
standard says.
"""

from __future__ import annotations

import io
import itertools
import os
import urllib.error
import urllib.request
import warnings

import astropy.units as u
import numpy as np
import pytest
import pyvo
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse
from astropy.io.votable.exceptions import VOWarning
from astropy.time import Time
from pyvo.io.vosi import parse_availability, parse_capabilities
from web_server import serving

from acsq_mongo import Archive
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query.passbands import PASSBANDS_PATH
from acsq_mongo.settings import load_settings
from acsq_mongo.sky.geometry import from_geojson
from acsq_mongo.vo.obscore import OBSCORE_COLUMNS
from webapp import create_app

_names = itertools.count()
IMAGE_FILETYPES = {"raw": 1, "flt": 2, "flc": 2, "crj": 2, "crc": 2, "drz": 3, "drc": 3}


class Service:
    """The app on a real HTTP server, over the ingested sample archive."""

    def __init__(self, settings, db, sample, url):
        self.settings, self.db, self.sample, self.url = settings, db, sample, url
        self.archive = Archive(settings, db=db, cache=False)

    def get(self, path: str) -> tuple[int, bytes, str]:
        try:
            with urllib.request.urlopen(self.url + path) as response:
                return response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get_content_type()

    def votable(self, path: str, status: int = 200):
        code, body, mimetype = self.get(path)
        assert (code, mimetype) == (status, "application/x-votable+xml"), body[:300]
        return parse(io.BytesIO(body), verify="exception")


@pytest.fixture(scope="module")
def service(sample_archive, real_server_uri, tmp_path_factory):
    work = tmp_path_factory.mktemp("vo")
    settings = load_settings(environ={}, mongo_uri=real_server_uri,
                             db=f"acsq_vo_{os.getpid()}_{next(_names)}", data=work / "var",
                             archive=sample_archive.root)
    assert run_ingest(settings, sample_archive.root, quicklook=True).ok
    db = connect(settings)
    with serving(create_app(settings, db=db)) as url:
        yield Service(settings, db, sample_archive, url)
    db.client.drop_database(settings.db)
    db.client.close()


def strictly(call, *args, **kwargs):
    """Run a pyvo call with every VOTable warning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", VOWarning)
        return call(*args, **kwargs)


def _targets(service):
    """Sample rootnames with a target position: (rootname, ra, dec). An internal frame
    (written with RA_TARG 0) points nowhere on the sky."""
    return [(r.rootname, r.promoted["ra_targ"], r.promoted["dec_targ"])
            for r in service.sample.rootnames if r.promoted.get("ra_targ") is not None
            and r.promoted["obstype"] != "INTERNAL"]


def _cones(service):
    """Cones around several targets (RA 0/360 and the poles are in the sample), and a wide one."""
    targets = _targets(service)
    cones = [(ra, dec, 0.2) for _, ra, dec in targets[::5]]
    return cones + [(0.0, 0.0, 60.0), (10.0, 89.9, 1.0), (180.0, -89.9, 1.0)]


# --- Simple Cone Search -------------------------------------------------------------

def test_cone_search_finds_what_the_query_core_finds(service):
    scs = pyvo.dal.SCSService(service.url + "/vo/scs")
    for ra, dec, sr in _cones(service):
        found = strictly(scs.search, pos=(ra, dec), radius=sr, verbosity=2).to_table()
        core = service.archive.query(ra=ra, dec=dec, radius=sr).select(
            "rootname", "ra_targ", "dec_targ").rows()
        assert sorted(found["rootname"]) == sorted(r["rootname"] for r in core), (ra, dec, sr)
        centre = SkyCoord(ra * u.deg, dec * u.deg)
        if len(found):
            near = centre.separation(SkyCoord(found["ra_targ"], found["dec_targ"]))
            assert (near <= sr * u.deg).all()
    assert any(len(strictly(scs.search, pos=(ra, dec), radius=sr)) for ra, dec, sr
               in _cones(service))


def test_cone_search_votable_has_the_required_ucds_and_verbosity(service):
    ra, dec = _targets(service)[0][1:]
    widths = {}
    for verb in (1, 2, 3):
        votable = service.votable(f"/vo/scs?RA={ra}&DEC={dec}&SR=0.1&VERB={verb}")
        assert votable.version == "1.1"
        fields = {f.ucd: f for f in votable.get_first_table().fields}
        assert fields["ID_MAIN"].name == "rootname" and fields["ID_MAIN"].datatype == "char"
        assert fields["POS_EQ_RA_MAIN"].datatype == "double"
        assert fields["POS_EQ_RA_MAIN"].unit == u.deg
        assert fields["POS_EQ_DEC_MAIN"].name == "dec_targ"
        widths[verb] = len(votable.get_first_table().fields)
        assert len(votable.get_first_table().array) >= 1
    assert widths[1] == 3 < widths[2] < widths[3]


def test_cone_search_sr_zero_answers_the_columns_only(service):
    table = service.votable("/vo/scs?RA=10&DEC=20&SR=0").get_first_table()
    assert len(table.array) == 0 and [f.name for f in table.fields][:3] == [
        "rootname", "ra_targ", "dec_targ"]


@pytest.mark.parametrize("query, words", [
    ("RA=10&DEC=20", "SR is required"),
    ("RA=ten&DEC=20&SR=1", "RA must be a number"),
    ("RA=10&DEC=95&SR=1", "DEC must be from -90 to 90"),
    ("RA=10&DEC=20&SR=200", "SR must be from 0 to 180"),
    ("RA=10&DEC=20&SR=1&VERB=7", "VERB must be 1, 2 or 3"),
])
def test_cone_search_errors_are_an_info_named_error(service, query, words):
    votable = service.votable("/vo/scs?" + query)
    (info,) = votable.infos
    assert info.name == "Error" and words in info.value
    with pytest.raises(pyvo.dal.DALQueryError, match=words):
        strictly(pyvo.dal.SCSService(service.url + "/vo/scs").search,
                 pos=(10, 20), radius=1, **_raw(query))


def _raw(query: str) -> dict:
    """The query's parameters as pyvo keywords (so bad values reach the service)."""
    pairs = dict(p.split("=") for p in query.split("&"))
    return {"RA": pairs.get("RA"), "DEC": pairs.get("DEC"), "SR": pairs.get("SR"),
            "VERB": pairs.get("VERB", 2)}


def test_a_cone_over_the_row_cap_is_refused_not_cut(service):
    app = create_app(service.settings.replace(max_rows=3), db=service.db)
    body = app.test_client().get("/vo/scs?RA=0&DEC=0&SR=180").data
    (info,) = parse(io.BytesIO(body), verify="exception").infos
    assert info.name == "Error" and "over the 3 one answer may hold" in info.value


# --- Simple Image Access v2 -----------------------------------------------------------

def _sia(service):
    return strictly(pyvo.dal.SIA2Service, service.url + "/vo/sia")


def _products(service, rows):
    """The (rootname, filetype) image products of some core rows."""
    return sorted((r["rootname"], ft) for r in rows for ft in r["filetypes"] or ()
                  if ft in IMAGE_FILETYPES)


def _found(table):
    return sorted(zip(table["obs_id"], table["filetype"], strict=True))


def test_sia_rows_are_obscore_with_units_urls_and_calibration_levels(service):
    rootname, ra, dec = next(t for t in _targets(service)
                             if "flt" in service.archive.document(t[0])["filetypes"])
    result = strictly(_sia(service).search, pos=(ra, dec, 0.001))
    table = result.to_table()
    assert table["s_ra"].unit == u.deg and table["t_min"].unit == u.d
    assert table["t_exptime"].unit == u.s and table["em_min"].unit == u.m
    fields = {f.name: f for f in result.votable.get_first_table().fields}
    assert fields["s_ra"].ucd == "pos.eq.ra" and fields["em_max"].ucd == "em.wl;stat.max"
    doc = service.archive.document(rootname)
    mine = table[table["obs_id"] == rootname]
    assert sorted(mine["filetype"]) == sorted(f for f in doc["filetypes"] if f in IMAGE_FILETYPES)
    for row in mine:
        assert row["calib_level"] == IMAGE_FILETYPES[row["filetype"]]
        assert row["access_url"] == f"{service.url}/files/{rootname}/{row['filetype']}"
        assert row["access_format"] == "application/fits" and row["dataproduct_type"] == "image"
        assert row["instrument_name"] == f"ACS/{doc['detector']}"
        assert row["t_min"] == pytest.approx(doc["expstart"])
        assert row["t_max"] == pytest.approx(doc["expstart"] + doc["exptime"] / 86400)
        assert row["t_exptime"] == doc["exptime"] and row["s_ra"] == doc["ra_targ"]
    flt = mine[mine["filetype"] == "flt"][0]
    status, body, mimetype = service.get(flt["preview"].removeprefix(service.url))
    assert (status, mimetype) == (200, "image/jpeg") and body[:2] == b"\xff\xd8"
    # The access_url is the download: the very bytes of the archive's file.
    status, body, _ = service.get(flt["access_url"].removeprefix(service.url))
    path = service.sample.root / doc["path"] / f"{rootname}_flt.fits"
    assert status == 200 and body == path.read_bytes()


def _shipped_bands():
    """(detector, filter) -> (low, high) in metres, read from the shipped CSV here."""
    bands = {}
    for line in PASSBANDS_PATH.read_text().splitlines()[1:]:
        if line.startswith(("#", "detector")) or not line:
            continue
        det, name, pivot, fwhm, low, high = line.split(",")
        if pivot:
            low, high = float(pivot) - float(fwhm) / 2, float(pivot) + float(fwhm) / 2
        bands[(det, name)] = (float(low) * 1e-10, float(high) * 1e-10)
    return bands


def _band_of(doc, bands):
    # CLEAR in the other wheel; an SBC's FILTER2 is N/A.
    names = [n for n in (doc["filter1"], doc["filter2"])
             if n and not n.startswith("CLEAR") and n != "N/A"]
    spectral = [n for n in names if not n.startswith("POL")]
    name = spectral[0] if len(spectral) == 1 else (
        ("POL_UV" if names[0].endswith("UV") else "POL_V") if len(names) == 1 else None)
    return bands.get((doc["detector"], name))


@pytest.mark.parametrize("band", [(5.0e-7, 6.0e-7), (8.0e-7, 8.1e-7), (1.0e-7, 2.0e-7)])
def test_sia_band_meets_the_filters_passband(service, band):
    table = strictly(_sia(service).search, band=band).to_table()
    bands = _shipped_bands()
    rows = service.archive.query().select("rootname", "filetypes", "detector", "filter1",
                                          "filter2").rows()
    expected = [r for r in rows if (b := _band_of(r, bands)) and b[0] <= band[1]
                and b[1] >= band[0]]
    assert _found(table) == _products(service, expected)
    assert (table["em_min"] <= band[1]).all() and (table["em_max"] >= band[0]).all()


def test_sia_time_instrument_calib_and_collection(service):
    rows = service.archive.query().select("rootname", "filetypes", "expstart", "exptime",
                                          "detector").rows()
    starts = sorted(r["expstart"] for r in rows if r["expstart"] is not None)
    low, high = starts[len(starts) // 4], starts[len(starts) // 2]
    sia = _sia(service)
    window = (Time(low, format="mjd"), Time(high, format="mjd"))
    table = strictly(sia.search, time=window).to_table()  # pyvo sends MJD
    expected = [r for r in rows if r["expstart"] is not None
                and r["expstart"] <= high and r["expstart"] + r["exptime"] / 86400 >= low]
    assert _found(table) == _products(service, expected) and len(table)
    table = strictly(sia.search, instrument="ACS/HRC", calib_level=3).to_table()
    hrc = [r for r in rows if r["detector"] == "HRC"]
    assert _found(table) == [p for p in _products(service, hrc) if IMAGE_FILETYPES[p[1]] == 3]
    assert len(strictly(sia.search, collection="HST")) == len(_products(service, rows))
    assert len(strictly(sia.search, collection="JWST")) == 0


def _arc_points(a, b, n=400):
    """Points along the great-circle arc between two positions (degrees), as (ra, dec)."""
    va, vb = (SkyCoord(p[0] * u.deg, p[1] * u.deg).cartesian.xyz.value for p in (a, b))
    t = np.linspace(0.0, 1.0, n)[:, None]
    v = (1 - t) * va + t * vb
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.degrees(np.arctan2(v[:, 1], v[:, 0])) % 360, np.degrees(np.arcsin(v[:, 2]))


def _outline(vertices, n=400):
    """Dense points along a closed polygon's great-circle edges."""
    parts = [_arc_points(vertices[i], vertices[(i + 1) % len(vertices)], n)
             for i in range(len(vertices))]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _range_outline(ra1, ra2, dec1, dec2, n=2000):
    t = np.linspace(0.0, 1.0, n)
    ras = np.concatenate([ra1 + (ra2 - ra1) * t, np.full(n, ra2), ra1 + (ra2 - ra1) * t,
                          np.full(n, ra1)])
    decs = np.concatenate([np.full(n, dec1), dec1 + (dec2 - dec1) * t, np.full(n, dec2),
                           dec1 + (dec2 - dec1) * t])
    return ras, decs


def _xyz(ra, dec) -> np.ndarray:
    """Unit vectors of positions (degrees), from astropy (``..., 3``)."""
    return SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg).cartesian.xyz.value.T


def _in_convex(vertices, ra, dec) -> np.ndarray:
    """Brute force: which positions lie inside a convex spherical polygon: on the same
    side of every edge's great circle (the sign of a triple product), in its hemisphere."""
    v = _xyz(*np.asarray(vertices, float).T)
    p = _xyz(np.atleast_1d(ra), np.atleast_1d(dec)).reshape(-1, 3)
    signs = np.stack([p @ np.cross(v[k], v[(k + 1) % len(v)]) for k in range(len(v))])
    same_side = np.all(signs > 0, axis=0) | np.all(signs < 0, axis=0)
    return same_side & (p @ v.sum(axis=0) > 0)


def _in_box(ra1, ra2, dec1, dec2):
    """Brute force: which positions lie in an RA and Dec range (plain comparisons)."""
    def inside(ra, dec):
        ra, dec = np.asarray(ra, float), np.asarray(dec, float)
        return (ra1 <= ra) & (ra <= ra2) & (dec1 <= dec) & (dec <= dec2)
    return inside


def _brute_force(service, inside_region, region_outline):
    """The rootnames a region meets, by dense sampling: a footprint's outline point in the
    region, or a point of the region's outline in the footprint; without a footprint, the
    target in the region."""
    found = set()
    rows = service.archive.query().select("rootname", "filetypes", "footprint", "ra_targ",
                                          "dec_targ").rows()
    for row in rows:
        if row["footprint"] is None:
            if row["ra_targ"] is not None and inside_region(row["ra_targ"], row["dec_targ"]):
                found.add(row["rootname"])
            continue
        for ring in from_geojson(row["footprint"]):
            if inside_region(*_outline(ring)).any() or _in_convex(ring, *region_outline).any():
                found.add(row["rootname"])
    return sorted(p for p in _products(service, rows) if p[0] in found)


def test_sia_range_and_polygon_agree_with_a_brute_force_sampling(service):
    sia = _sia(service)
    for _, ra, dec in _targets(service)[::6]:
        if abs(dec) > 80:
            continue
        ra1, ra2, dec1, dec2 = max(0, ra - 0.5), min(360, ra + 0.5), dec - 0.3, dec + 0.3
        table = strictly(sia.search, pos=(ra1, ra2, dec1, dec2)).to_table()
        expected = _brute_force(service, _in_box(ra1, ra2, dec1, dec2),
                                _range_outline(ra1, ra2, dec1, dec2))
        assert _found(table) == expected and expected
        triangle = [((ra - 0.4) % 360, dec - 0.3), ((ra + 0.4) % 360, dec - 0.3),
                    (ra, dec + 0.4)]
        polygon = tuple(x for vertex in triangle for x in vertex)
        table = strictly(sia.search, pos=[polygon]).to_table()
        expected = _brute_force(service, lambda r, d, t=triangle: _in_convex(t, r, d),
                                _outline(triangle))
        assert _found(table) == expected and expected


def test_sia_maxrec_cuts_with_an_overflow_status(service):
    sia = _sia(service)
    # pyvo warns of an overflow only when fewer rows than its maxrec come back.
    assert len(strictly(sia.search, collection="HST", maxrec=2)) == 2
    votable = service.votable("/vo/sia?MAXREC=2")
    statuses = [i.value for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    assert statuses == ["OVERFLOW"]
    empty = service.votable("/vo/sia?MAXREC=0")
    assert len(empty.get_first_table().array) == 0 and len(empty.get_first_table().fields) > 10


@pytest.mark.parametrize("query, words", [
    ("POS=CIRCLE+10+20", "CIRCLE takes 3 numbers"),
    ("POS=BOX+1+2+3+4", "shape 'BOX' is unknown"),
    ("POS=RANGE+20+10+0+1", "the low bound comes first"),
    ("BAND=red", "BAND takes numbers"),
    ("POL=I", "POL is not supported"),
    ("MAXREC=-1", "MAXREC takes a whole number"),
    ("RESPONSEFORMAT=text/csv", "RESPONSEFORMAT 'text/csv' is not offered"),
])
def test_sia_errors_are_query_status_error_with_status_400(service, query, words):
    votable = service.votable("/vo/sia?" + query, status=400)
    (info,) = votable.resources[0].infos
    assert (info.name, info.value) == ("QUERY_STATUS", "ERROR") and words in info.content
    name, value = query.split("=", 1)
    with pytest.raises(pyvo.dal.DALQueryError, match=words.split("'")[0]):
        strictly(_sia(service).search, **{name: value.replace("+", " ")})


# --- VOSI -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, standard", [("scs", "ivo://ivoa.net/std/ConeSearch"),
                                            ("sia", "ivo://ivoa.net/std/SIA#query-2.0")])
def test_vosi_capabilities_and_availability(service, name, standard):
    status, body, mimetype = service.get(f"/vo/{name}/capabilities")
    assert status == 200 and mimetype == "text/xml"
    capabilities = parse_capabilities(io.BytesIO(body), pedantic=True)
    ids = {c.standardid: c for c in capabilities}
    assert set(ids) == {standard, "ivo://ivoa.net/std/VOSI#capabilities",
                        "ivo://ivoa.net/std/VOSI#availability"}
    (url,) = [a.content for a in ids[standard].interfaces[0].accessurls]
    assert url.rstrip("?") == f"{service.url}/vo/{name}"
    status, body, _ = service.get(f"/vo/{name}/availability")
    availability = parse_availability(io.BytesIO(body), pedantic=True)
    assert status == 200 and availability.available is True


def test_vosi_availability_says_no_while_the_database_is_down(service, tmp_path):
    down = load_settings(environ={}, mongo_uri="mongodb://127.0.0.1:9", db="x",
                         data=tmp_path, server_timeout=0.2)
    body = create_app(down).test_client().get("/vo/sia/availability").data
    availability = parse_availability(io.BytesIO(body), pedantic=True)
    assert availability.available is False and "not answering" in availability.notes[0]


def test_sia_answers_every_obscore_column_and_masks_what_is_unknown(service):
    table = service.votable("/vo/sia?COLLECTION=HST").get_first_table().to_table()
    assert table.colnames == list(OBSCORE_COLUMNS)
    # s_region is the catalog's footprint as STC-S; empty (a VOTable's null text) where the
    # rootname has none, never made up.
    regions = {r["rootname"]: r["s_region"] for r in service.archive.query().select(
        "rootname", "s_region").rows()}
    assert any(regions.values())
    for row in table:
        assert _text(row["s_region"]) == (regions[row["obs_id"]] or "")
    docs = {r["rootname"]: r for r in service.archive.query().select(
        "rootname", "quicklook").rows()}
    for row in table:
        made = (docs[row["obs_id"]]["quicklook"] or {}).get(row["filetype"])
        assert bool(made) == bool(_text(row["preview"])), row["obs_id"]


def _text(value) -> str:
    return "" if np.ma.is_masked(value) or value is None else str(value)


def _footprinted(service):
    """Rootnames with a footprint and image products: (rootname, rings, ra_targ, dec_targ)."""
    rows = service.archive.query(footprint__exists=True).select(
        "rootname", "footprint", "ra_targ", "dec_targ", "filetypes").rows()
    return [(r["rootname"], from_geojson(r["footprint"]), r["ra_targ"], r["dec_targ"])
            for r in rows if _products(service, [r])]


def _inner_point(ring, towards: float = 0.8):
    """A point well inside a convex ring: a vertex moved most of the way to the centre."""
    vectors = SkyCoord([p[0] for p in ring] * u.deg, [p[1] for p in ring] * u.deg).cartesian
    centre = SkyCoord(vectors.mean(), representation_type="cartesian").spherical
    vertex = SkyCoord(ring[0][0] * u.deg, ring[0][1] * u.deg)
    middle = SkyCoord(centre.lon, centre.lat)
    point = vertex.directional_offset_by(vertex.position_angle(middle),
                                         vertex.separation(middle) * towards)
    return point.ra.deg, point.dec.deg


def test_sia_pos_finds_images_by_footprint_not_just_target(service):
    sia = _sia(service)
    checked = 0
    for rootname, rings, ra_t, dec_t in _footprinted(service)[::4]:
        ra, dec = _inner_point(rings[0])
        far = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(ra_t * u.deg, dec_t * u.deg))
        if far.arcsec < 20:
            continue
        checked += 1
        circle = set(strictly(sia.search, pos=(ra, dec, 5 / 3600)).to_table()["obs_id"])
        assert rootname in circle
        # The target lies farther than the radius: a target cone would not find it.
        assert rootname not in {r["rootname"] for r in service.archive.query(
            ra=ra, dec=dec, radius=5 / 3600).select("rootname").rows()}
        d = 2 / 3600
        polygon = (ra - d, dec - d, ra + d, dec - d, ra, dec + d)
        assert rootname in set(strictly(sia.search, pos=[polygon]).to_table()["obs_id"])
        box = (ra - d, ra + d, dec - d, dec + d)
        assert rootname in set(strictly(sia.search, pos=box).to_table()["obs_id"])
    assert checked >= 2


def test_sia_circle_agrees_with_the_core_footprint_search(service):
    sia = _sia(service)
    for ra, dec, radius in _cones(service):
        if radius > 80:
            continue
        table = strictly(sia.search, pos=(ra, dec, radius)).to_table()
        overlapping = service.archive.query(overlaps=f"{ra},{dec},{radius}").select(
            "rootname", "filetypes").rows()
        without = service.archive.query(ra=ra, dec=dec, radius=radius,
                                        footprint__exists=False).select(
            "rootname", "filetypes").rows()
        assert _found(table) == _products(service, overlapping + without), (ra, dec, radius)
