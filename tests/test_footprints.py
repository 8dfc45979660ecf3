"""Footprints at ingest: given images with a WCS, the analyst finds where they lie on the sky."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import astropy
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.ingest.headers import read_headers
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.store import catalog_entry
from acsq_mongo.sample import plan_rootname, write_rootname
from acsq_mongo.sample.acs import PIXEL_SCALE
from acsq_mongo.sample.wcs_values import orientat
from acsq_mongo.sky.footprints import chip_ring, compute_footprints
from acsq_mongo.sky.geometry import (
    footprint_contains,
    from_geojson,
    ring_contains,
    to_geojson,
    to_s_region,
)

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
