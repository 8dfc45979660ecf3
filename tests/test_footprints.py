"""Footprints at ingest: given images with a WCS, the analyst finds where they lie on the sky."""

from __future__ import annotations

import math
import os
import shutil
import warnings
from pathlib import Path

import astropy
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.ingest.headers import read_headers
from acsq_mongo.ingest.lookup_tables import read_lookup_arrays
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.store import catalog_entry
from acsq_mongo.sample import plan_rootname, write_rootname
from acsq_mongo.sample.acs import PIXEL_SCALE
from acsq_mongo.sample.wcs_values import orientat
from acsq_mongo.sky.footprints import chip_ring, compute_footprints, lookup_extensions
from acsq_mongo.sky.geometry import (
    check_ring,
    footprint_contains,
    from_geojson,
    ring_contains,
    to_geojson,
    to_s_region,
)

# The distortion-paper keywords (lookup tables and their errors).
_DISTORTION_KEYS = ("CPDIS", "CPERR", "CQDIS", "CQERR", "DP", "DQ", "D2IM")
REAL_FLT = Path(astropy.__file__).parent / "wcs" / "tests" / "data" / "j94f05bgq_flt.fits"


def _headers(path: Path) -> dict:
    return read_headers(path).headers


def test_the_real_flt_footprint_contains_its_own_crval_and_uses_sizaxis():
    headers = _headers(REAL_FLT)
    assert (headers["1"]["NAXIS1"], headers["1"]["SIZAXIS1"]) == (1, 4096)  # pixels cut away
    footprints = compute_footprints({"flt": headers})
    assert footprints.warnings == []
    rings = footprints.rings["flt"]
    assert len(rings) == 2  # the two WFC chips
    for ext, ring in zip(("1", "4"), rings, strict=True):
        crval = headers[ext]["CRVAL1"], headers[ext]["CRVAL2"]
        assert ring_contains(ring, *crval)
        # Each chip is 4096 x 2048 pixels of ~0.05": its sides are ~202" and ~101".
        corners = SkyCoord([p[0] for p in ring], [p[1] for p in ring], unit="deg")
        sides = sorted(corners[i].separation(corners[(i + 1) % 4]).arcsec for i in range(4))
        assert sides[0] == pytest.approx(101, rel=0.03) and sides[3] == pytest.approx(204,
                                                                                      rel=0.03)
    # The corners are those astropy's own WCS gives for the 4096 x 2048 chip (SIP included).
    with fits.open(REAL_FLT) as hdul:
        wcs = WCS(hdul[1].header)
    expected = wcs.all_pix2world([[0.5, 0.5], [4096.5, 2048.5]], 1)
    assert rings[0][0] == pytest.approx(list(expected[0]), abs=1e-9)
    assert rings[0][2] == pytest.approx(list(expected[1]), abs=1e-9)
    # The other chip's CRVAL is not inside the first chip.
    assert not ring_contains(rings[0], headers["4"]["CRVAL1"], headers["4"]["CRVAL2"])


@pytest.mark.parametrize("change, why", [
    ({"CTYPE1": None}, "no celestial WCS"),
    ({"CRVAL2": None}, "missing or null CRVAL2"),
    ({"CD1_1": 0.0, "CD1_2": 0.0}, "astropy.wcs"),
    ({"SIZAXIS1": None, "NAXIS1": 0}, "no image size"),
    ({"CD1_1": 1.0, "CD2_2": 1.0}, "90 degrees"),
])
def test_a_broken_wcs_is_a_warning_and_no_footprint(change, why):
    headers = _headers(REAL_FLT)
    headers["4"].update(change)
    footprints = compute_footprints({"flt": headers, "raw": {}})
    assert footprints.rings == {}
    assert len(footprints.warnings) == 1 and why in footprints.warnings[0]
    assert footprints.warnings[0].startswith("flt[4]")


def test_raw_takes_the_flt_footprint_and_drz_its_own(tmp_path):
    r = plan_rootname("jabc01xyq", "WFC", filetypes=("raw", "flt", "drz"))
    write_rootname(tmp_path, r)
    headers = {ft: _headers(tmp_path / r.path / f"{r.rootname}_{ft}.fits") for ft in r.filetypes}
    footprints = compute_footprints(headers)
    assert set(footprints.rings) == {"raw", "flt", "drz"}
    assert footprints.rings["raw"] == footprints.rings["flt"]
    assert len(footprints.rings["drz"]) == 1
    assert footprints.preferred == footprints.rings["flt"]
    # The drizzled product covers both chips' centres.
    for ring in footprints.rings["flt"]:
        centre = np.mean([p[0] for p in ring]), np.mean([p[1] for p in ring])
        assert footprint_contains(footprints.rings["drz"], *centre)


@pytest.mark.parametrize("detector", ["WFC", "HRC", "SBC"])
def test_sample_footprints_follow_pointing_orientat_and_plate_scale(tmp_path, detector):
    r = plan_rootname("jabc02xyq", detector, filetypes=("flt",), seed=5)
    write_rootname(tmp_path, r)
    header = _headers(tmp_path / r.path / f"{r.rootname}_flt.fits")["1"]
    ring = chip_ring(header)
    ra_targ, dec_targ = r.promoted["ra_targ"], r.promoted["dec_targ"]
    corners = SkyCoord([p[0] for p in ring], [p[1] for p in ring], unit="deg")
    target = SkyCoord(ra_targ, dec_targ, unit="deg")
    width, height = header["SIZAXIS1"], header["SIZAXIS2"]
    scale = PIXEL_SCALE[detector]
    # Plate scale: the sides are the real image's size times the detector's scale.
    assert corners[0].separation(corners[1]).arcsec == pytest.approx(width * scale, rel=1e-3)
    assert corners[1].separation(corners[2]).arcsec == pytest.approx(height * scale, rel=1e-3)
    # ORIENTAT: the image's +y axis runs ORIENTAT east of north at the tangent point (the
    # target). The midpoints of the bottom and top sides lie on the chip's y axis; a WFC
    # SCI,1 chip (WFC2) lies below the target, in the -y direction.
    vectors = corners.cartesian.xyz.value.T
    bottom, top = (SkyCoord(*(vectors[i] + vectors[j]), representation_type="cartesian")
                   for i, j in ((0, 1), (2, 3)))
    if detector == "WFC":
        angle = target.position_angle(bottom).deg - 180.0
    else:
        angle = target.position_angle(top).deg
    assert math.remainder(angle - orientat(r), 360.0) == pytest.approx(0.0, abs=1e-6)
    # Pointing: a one-chip image is centred on its target; a WFC chip ends 25 px from it.
    if detector == "WFC":
        assert not ring_contains(ring, ra_targ, dec_targ)
        distances = [target.separation(c).arcsec for c in corners]
        assert min(distances) < 25 * scale * 2 + width * scale / 2 * 1.01
    else:
        assert ring_contains(ring, ra_targ, dec_targ)
        centre = SkyCoord(*np.mean(np.array(ring), axis=0), unit="deg")
        assert target.separation(centre).arcsec < 0.5


def test_geojson_and_s_region_of_a_footprint_across_ra_zero():
    ring = [[359.99, -0.01], [0.01, -0.01], [0.01, 0.01], [359.99, 0.01]]
    geo = to_geojson([ring])
    assert geo["type"] == "Polygon"
    lons = [lon for lon, _ in geo["coordinates"][0]]
    assert all(-180.0 < lon <= 180.0 for lon in lons)
    assert geo["coordinates"][0][0] == geo["coordinates"][0][-1]  # closed
    assert sorted(map(tuple, from_geojson(geo)[0])) == sorted(map(tuple, ring))
    assert to_s_region([ring]).startswith("POLYGON ICRS 359.9900000 -0.0100000 0.0100000")
    two = to_s_region([ring, ring])
    assert two.startswith("UNION ICRS (POLYGON ") and two.count("POLYGON") == 2


def test_ingest_stores_footprints_in_the_document_and_the_catalog(mock_settings, tmp_path,
                                                                 caplog):
    archive = tmp_path / "archive"
    folder = archive / "j94f" / "j94f05bgq"
    folder.mkdir(parents=True)
    shutil.copy2(REAL_FLT, folder / "j94f05bgq_flt.fits")
    # An internal exposure: its WCS is not celestial, so a warning and no footprint.
    bias = plan_rootname("jbia01b1q", "WFC", filetypes=("raw", "flt"))
    bias.promoted.update(obstype="INTERNAL", targname="BIAS")
    write_rootname(archive, bias)
    summary = run_ingest(mock_settings, archive, quicklook=False)
    assert summary.ok
    from acsq_mongo.db.connection import connect

    db = connect(mock_settings)
    doc = db[ROOTNAMES].find_one({"_id": "j94f05bg"})
    assert list(doc["footprints"]) == ["flt"]
    assert doc["footprint"]["type"] == "MultiPolygon"

    def vertices(rings):
        return [sorted((round(ra, 9), round(dec, 9)) for ra, dec in ring) for ring in rings]

    assert vertices(from_geojson(doc["footprint"])) == vertices(doc["footprints"]["flt"])
    assert doc["s_region"].startswith("UNION ICRS (POLYGON 5.52")
    entry = db[CATALOG].find_one({"_id": "j94f05bg"})
    assert entry == catalog_entry(doc)
    assert entry["footprint"] == doc["footprint"] and "footprints" not in entry
    internal = db[CATALOG].find_one({"_id": "jbia01b1"})
    assert internal["n_errors"] == 0
    assert "footprint" not in internal and "s_region" not in internal
    lines = [line for line in summary.log_path.read_text().splitlines()
             if "jbia01b1q: flt[1]: WCS unusable (no celestial WCS (CTYPE1 = 'LINEAR'))" in line]
    assert len(lines) == 1 and " WARNING: " in lines[0]


# --- The footprint's WCS against astropy's own, read from the whole header ---------------------

def _astropy_corners(header, hdul=None, size=None):
    """Where astropy's WCS of a whole FITS header puts the four outer pixel corners."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(header, hdul)
    n1, n2 = size or (header["NAXIS1"], header["NAXIS2"])
    pixels = [[0.5, 0.5], [n1 + 0.5, 0.5], [n1 + 0.5, n2 + 0.5], [0.5, n2 + 0.5]]
    world = wcs.all_pix2world(pixels, 1)
    world[:, 0] %= 360.0
    return world


def test_the_real_flt_corners_equal_astropys_for_both_chips():
    headers = _headers(REAL_FLT)
    rings = compute_footprints({"flt": headers}).rings["flt"]
    with fits.open(REAL_FLT) as hdul:
        for ring, ext in zip(rings, (1, 4), strict=True):
            expected = _astropy_corners(hdul[ext].header, hdul, size=(4096, 2048))
            assert np.abs(np.array(ring) - expected).max() < 1e-9


@pytest.mark.parametrize("detector", ["WFC", "HRC", "SBC"])
def test_sample_corners_equal_astropys_for_every_image_filetype(tmp_path, detector):
    wfc = ("flc", "drc") if detector == "WFC" else ()
    r = plan_rootname("jabc03xyq", detector, filetypes=("raw", "flt", "drz", *wfc), seed=11)
    write_rootname(tmp_path, r)
    compared = 0
    for filetype in ("flt", "flc", "drz", "drc"):
        if filetype not in r.filetypes:
            continue
        path = tmp_path / r.path / f"{r.rootname}_{filetype}.fits"
        rings = compute_footprints({filetype: _headers(path)}).rings[filetype]
        with fits.open(path) as hdul:
            scis = [hdu for hdu in hdul if hdu.name == "SCI"]
            for ring, hdu in zip(rings, scis, strict=True):
                size = [max(hdu.header[f"NAXIS{k}"], hdu.header.get(f"SIZAXIS{k}", 0))
                        for k in (1, 2)]
                # The sample's distortion keywords hold the inventory's random values (say
                # CPDIS1 = 'NOMINAL'), which name no table: astropy's WCS goes without them.
                header = hdu.header.copy()
                for key in [k for k in header if k.startswith(_DISTORTION_KEYS)]:
                    del header[key]
                expected = _astropy_corners(header, hdul, size)
                assert np.abs(np.array(ring) - expected).max() < 1e-9
                compared += 1
    assert compared == (6 if detector == "WFC" else 2)


def _linear_variants():
    """The same WCS written every way: CD, PC and CDELT, CROTA2 and CDELT, CD in arcsec."""
    scale, angle = 0.05 / 3600, 30.0
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    base = {"NAXIS": 2, "NAXIS1": 1000, "NAXIS2": 800, "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN", "CRVAL1": 359.99, "CRVAL2": -30.0, "CRPIX1": 400.5,
            "CRPIX2": 300.5}
    return [
        {**base, "CD1_1": -scale * c, "CD1_2": scale * s, "CD2_1": scale * s, "CD2_2": scale * c},
        {**base, "CDELT1": -scale, "CDELT2": scale, "PC1_1": c, "PC1_2": -s, "PC2_1": s,
         "PC2_2": c},
        {**base, "CDELT1": -scale, "CDELT2": scale, "CROTA2": angle},
        {**base, "CD1_1": -scale, "CD2_2": scale, "LONPOLE": 170.0},  # CD1_2, CD2_1 left out
        {**base, "CUNIT1": "arcsec", "CUNIT2": "arcsec", "CD1_1": -0.05, "CD2_2": 0.05},
    ]


@pytest.mark.parametrize("values", _linear_variants())
def test_every_way_of_writing_the_linear_part_gives_astropys_corners(values):
    ring = chip_ring(values)
    expected = _astropy_corners(fits.Header(values))
    assert np.abs(np.array(ring) - expected).max() < 1e-9


def test_a_tile_compressed_image_gets_the_footprint_of_its_image(tmp_path):
    values = _linear_variants()[0]
    header = fits.Header({k: v for k, v in values.items() if not k.startswith("NAXIS")})
    header["EXTNAME"] = "SCI"
    data = np.zeros((values["NAXIS2"], values["NAXIS1"]), np.float32)
    path = tmp_path / "jtil01aaq_flt.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header)]).writeto(path)
    stored = _headers(path)["1"]
    # The header is stored as astropy presents the image (issue 22), not the binary table's.
    assert "ZIMAGE" not in stored and stored["NAXIS1"] == values["NAXIS1"]
    ring = compute_footprints({"flt": {"0": {}, "1": stored}}).rings["flt"][0]
    expected = _astropy_corners(fits.Header(values))
    assert np.abs(np.array(ring) - expected).max() < 1e-9


# --- Lookup-table distortions (D2IMARR, WCSDVARR), as in ACS files since 2019 -------------------

def _record(keyword: str, value: str) -> fits.Card:
    """A record-valued card (``DP1 = 'EXTVER: 1'``), as the distortion paper writes them."""
    return fits.Card.fromstring(f"{keyword:8s}= '{value}'")


def _write_flt_with_lookup_tables(path: Path) -> None:
    """The real flt with made-up but smooth lookup tables of up to 2 pixels on each chip.

    Each chip has a WCSDVARR per axis (65 x 33, every 64 pixels) and a D2IMARR per
    axis (the second one written along the other axis, so that astropy transposes it).
    The tables are ~40 times larger than real ones, so that leaving them out shows.
    """
    with fits.open(REAL_FLT) as hdul:
        hdus = [hdu.copy() for hdu in hdul]
    yy, xx = np.mgrid[0:33, 0:65].astype(np.float32)
    extra = []
    for chip, sci in enumerate((1, 4)):
        header = hdus[sci].header
        for axis in (1, 2):
            extver = 2 * chip + axis
            header[f"CPDIS{axis}"] = "Lookup"
            header.append(_record(f"DP{axis}", f"EXTVER: {extver}"))
            header.append(_record(f"DP{axis}", "NAXES: 2"))
            header.append(_record(f"DP{axis}", "AXIS.1: 1"))
            header.append(_record(f"DP{axis}", "AXIS.2: 2"))
            table = (2.0 * np.sin(xx / (10 + axis + chip)) * np.cos(yy / 7)).astype(np.float32)
            extra.append(fits.ImageHDU(table, fits.Header({
                "EXTNAME": "WCSDVARR", "EXTVER": extver, "CRPIX1": 33.0, "CRPIX2": 17.0,
                "CRVAL1": 2048.0, "CRVAL2": 1024.0, "CDELT1": 64.0, "CDELT2": 64.0})))
            header[f"D2IMDIS{axis}"] = "Lookup"
            header.append(_record(f"D2IM{axis}", f"EXTVER: {extver}"))
            header.append(_record(f"D2IM{axis}", f"AXIS.{axis}: 1"))
            ramp = (1.5 * np.cos(np.arange(64) / (5 + axis))).astype(np.float32)
            d2im = np.vstack([ramp, ramp]) if axis == 1 else np.vstack([ramp, ramp]).T
            extra.append(fits.ImageHDU(d2im, fits.Header({
                "EXTNAME": "D2IMARR", "EXTVER": extver, "CRPIX1": 1.0, "CRPIX2": 1.0,
                "CRVAL1": 0.0, "CRVAL2": 0.0, "CDELT1": 64.0, "CDELT2": 64.0})))
    fits.HDUList(hdus + extra).writeto(path)


def _astropy_lookup_corners(path: Path) -> list[np.ndarray]:
    with fits.open(path) as hdul:
        out = []
        for ext in (1, 4):
            wcs = WCS(hdul[ext].header, hdul)
            assert wcs.cpdis1 is not None and wcs.det2im2 is not None  # the oracle uses them
            out.append(_astropy_corners(hdul[ext].header, hdul, size=(4096, 2048)))
        return out


def test_lookup_tables_read_by_offset_give_astropys_corners(tmp_path):
    path = tmp_path / "j94f05bgq_flt.fits"
    _write_flt_with_lookup_tables(path)
    read = read_headers(path)
    wanted = lookup_extensions(read.headers)
    assert sorted(read.headers[e]["EXTNAME"] for e in wanted) == ["D2IMARR"] * 4 + ["WCSDVARR"] * 4
    arrays = read_lookup_arrays(path, read.headers, read.data_offsets)
    # The same pixels as astropy reads (the fallback for headers kept from a previous ingest).
    by_astropy = read_lookup_arrays(path, read.headers)
    assert set(arrays) == set(wanted) == set(by_astropy)
    for ext in wanted:
        np.testing.assert_array_equal(arrays[ext], by_astropy[ext])
    footprints = compute_footprints({"flt": read.headers}, {"flt": arrays})
    assert footprints.warnings == []
    expected = _astropy_lookup_corners(path)
    for ring, corners in zip(footprints.rings["flt"], expected, strict=True):
        assert np.abs(np.array(ring) - corners).max() < 1e-9
        assert _max_arcsec(ring, corners) < 0.1
    # Without the tables: the corners move by more than 0.1", and a warning says why.
    without = compute_footprints({"flt": read.headers})
    assert len(without.warnings) == 2 and "flt[1]: lookup table D2IMARR,1 not read" in \
        without.warnings[0]
    assert max(_max_arcsec(r, c) for r, c in zip(without.rings["flt"], expected,
                                                 strict=True)) > 0.1


def _max_arcsec(ring, corners) -> float:
    ring = np.array(ring)
    a = SkyCoord(ring[:, 0], ring[:, 1], unit="deg")
    b = SkyCoord(corners[:, 0], corners[:, 1], unit="deg")
    return float(a.separation(b).arcsec.max())


def test_ingest_applies_the_lookup_tables_of_a_modern_flt(mock_settings, tmp_path):
    archive = tmp_path / "archive"
    folder = archive / "j94f" / "j94f05bgq"
    folder.mkdir(parents=True)
    _write_flt_with_lookup_tables(folder / "j94f05bgq_flt.fits")
    summary = run_ingest(mock_settings, archive, quicklook=False)
    assert summary.ok
    from acsq_mongo.db.connection import connect

    doc = connect(mock_settings)[ROOTNAMES].find_one({"_id": "j94f05bg"})
    expected = _astropy_lookup_corners(folder / "j94f05bgq_flt.fits")
    for ring, corners in zip(doc["footprints"]["flt"], expected, strict=True):
        assert np.abs(np.array(ring) - corners).max() < 1e-9
    assert "lookup table" not in summary.log_path.read_text()


def test_a_second_flt_gets_its_own_lookup_tables_and_keeps_them_when_kept(real_settings,
                                                                          tmp_path):
    """A retransmission ``j94f05bgr`` beside ``j94f05bgq``, both modern flts with lookup
    tables, the second pointed 0.05 deg away: each file key's footprint is its own file's,
    as astropy puts the corners with the tables; on the real server."""
    from acsq_mongo.db.connection import connect

    archive = tmp_path / "archive"
    paths = {}
    for name, shift in (("j94f05bgq", 0.0), ("j94f05bgr", 0.05)):
        path = archive / "j94f" / name / f"{name}_flt.fits"
        path.parent.mkdir(parents=True)
        _write_flt_with_lookup_tables(path)
        with fits.open(path, mode="update") as hdul:
            hdul[0].header["ROOTNAME"] = name
            for ext in (1, 4):
                hdul[ext].header["CRVAL1"] += shift
        paths["flt" if name.endswith("q") else f"{name}_flt"] = path
    settings = real_settings.replace(archive=archive)
    db = connect(settings)

    def check():
        doc = db[ROOTNAMES].find_one({"_id": "j94f05bg"})
        assert list(doc["footprints"]) == ["flt", "j94f05bgr_flt"]
        for key, path in paths.items():
            for ring, corners in zip(doc["footprints"][key], _astropy_lookup_corners(path),
                                     strict=True):
                assert np.abs(np.array(ring) - corners).max() < 1e-9, key
                assert _max_arcsec(ring, corners) < 0.1
        # The catalog's footprint stays the first flt's.
        catalog = db[CATALOG].find_one({"_id": "j94f05bg"})
        assert catalog["footprint"] == to_geojson(doc["footprints"]["flt"])

    summary = run_ingest(settings, archive, quicklook=False)
    assert summary.ok and "lookup table" not in summary.log_path.read_text()
    check()
    # The first file changes, the second is kept: its tables are read again (by astropy).
    stat = paths["flt"].stat()
    os.utime(paths["flt"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = run_ingest(settings, archive, quicklook=False)
    assert again.files_read == 1 and "lookup table" not in again.log_path.read_text()
    check()
    db.client.close()


@pytest.mark.parametrize("ring, why", [
    ([[10, 10], [11, 10], [11, 11], [10, 11]], None),
    ([[359.5, -0.5], [0.5, -0.5], [0.5, 0.5], [359.5, 0.5]], None),  # across RA 0
    ([[0, 89], [90, 89], [180, 89], [270, 89]], None),  # around the pole
    ([[10, 10], [11, 11], [11, 10], [10, 11]], "not convex"),  # a bow tie
    ([[10, 10], [11, 10], [11, 10], [10, 11]], "zero length"),
    ([[0, 0], [120, 0], [240, 0]], "90 degrees"),  # a great circle: no inside
    ([[10, 10], [11, float("nan")], [11, 11]], "finite sky position"),
    ([[10, 10], [11, 91], [11, 11]], "finite sky position"),
    ([[10, 10], [11, 10]], "at least three"),
])
def test_a_ring_is_checked_before_it_is_stored(ring, why):
    if why is None:
        check_ring(ring)
    else:
        with pytest.raises(ValueError, match=why):
            check_ring(ring)
