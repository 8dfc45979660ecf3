"""The image explorer's server side: pixels exact and read in pieces, the routes, the region flags.

Expected values come from astropy (``fits.getdata`` with its scaling) and
from the quicklook's own code (``read_mosaic``, ``pixel_sample``,
``display_limits``), never from the module under test.
"""

from __future__ import annotations

import csv
import io
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from acsq_mongo.accounts.users import User
from acsq_mongo.browse.visit import visit_rootnames
from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG
from acsq_mongo.db.connection import connect
from acsq_mongo.images.imaging import ImageReadError, read_mosaic
from acsq_mongo.images.stretch import display_limits, pixel_sample
from acsq_mongo.images.tiles import TILE, levels, open_view
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import plan_rootname, write_rootname
from acsq_mongo.tags import TagError, Vocabulary, change_flags
from acsq_mongo.tags.region_flags import flag_region, flagged_regions
from webapp import create_app

ROOT = "jtil01a1q"
ADA = User("ada", "tagger")


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Small WFC files (two 256 x 128 chips): raw (uint16 via BZERO), flt, flc; and a neighbour."""
    root = tmp_path_factory.mktemp("tiles")
    write_rootname(root, plan_rootname(ROOT, "WFC", ("raw", "flt", "flc", "drz"), seed=2))
    write_rootname(root, plan_rootname("jtil01a2q", "WFC", ("flt",), seed=3))
    write_rootname(root, plan_rootname("jtil02a3q", "WFC", ("flt",), seed=4))
    return root


def _file(archive: Path, filetype: str, rootname: str = ROOT) -> Path:
    return archive / rootname[:4] / rootname / f"{rootname}_{filetype}.fits"


def _picture(path: Path, extname: str, extver: int | None = None) -> np.ndarray:
    """astropy's pixels of a view, chips stacked by decreasing CCDCHIP, top row first."""
    with fits.open(path) as hdul:
        chips = [(h.header.get("CCDCHIP", hdul["SCI", h.header["EXTVER"]].header.get("CCDCHIP")),
                  h.header["EXTVER"], h) for h in hdul[1:] if h.name == extname]
        if extver is not None:
            chips = [c for c in chips if c[1] == extver]
        if all(isinstance(c[0], int) for c in chips):  # else file order, as the quicklook
            chips.sort(key=lambda c: -c[0])
        blocks = []
        for _, _, h in chips:
            if h.header["NAXIS"] == 0:
                blocks.append(np.full((h.header["NPIX2"], h.header["NPIX1"]),
                                      h.header["PIXVALUE"], np.float32))
            else:
                blocks.append(h.data.astype(np.float32))
    return np.vstack(blocks)[::-1]


@pytest.mark.parametrize("filetype,extname,extver", [
    ("flt", "SCI", None), ("flt", "SCI", 2), ("flt", "ERR", None), ("flt", "DQ", 1),
    ("raw", "SCI", None), ("raw", "DQ", None), ("drz", "SCI", None)])
def test_every_tile_at_every_level_holds_astropys_values(archive, filetype, extname, extver):
    path = _file(archive, filetype)
    view = open_view(path, extname, extver)
    want = _picture(path, extname, extver)
    assert (view.height, view.width) == want.shape
    for level in range(levels(view.width, view.height) + 1):
        step = 1 << level
        span = TILE * step
        for ty in range(-(-view.height // span)):
            for tx in range(-(-view.width // span)):
                tile = view.tile(level, tx, ty)
                part = want[ty * span:(ty + 1) * span:step, tx * span:(tx + 1) * span:step]
                h, w = part.shape
                np.testing.assert_array_equal(tile[:h, :w], part)
                assert np.isnan(tile[h:]).all() and np.isnan(tile[:, w:]).all()


@pytest.mark.parametrize("filetype", ["raw", "flt"])
def test_tile_compressed_and_gzipped_files_give_astropys_values(archive, tmp_path, filetype):
    """A tile-compressed copy (raw: integers with BZERO) and a gzipped one: as astropy reads."""
    import gzip
    import shutil

    source = _file(archive, filetype)
    with fits.open(source) as hdul:
        compressed = fits.HDUList([fits.PrimaryHDU(header=hdul[0].header)] + [
            fits.CompImageHDU(data=h.data, header=h.header) if h.data is not None else h.copy()
            for h in hdul[1:]])
        compressed.writeto(tmp_path / "tiled.fits")
    with open(source, "rb") as plain, gzip.open(tmp_path / "zipped.fits.gz", "wb") as zipped:
        shutil.copyfileobj(plain, zipped)
    for path in (tmp_path / "tiled.fits", tmp_path / "zipped.fits.gz"):
        want = _picture(path, "SCI")
        view = open_view(path, "SCI")
        for level in (0, 1):
            span = TILE << level
            part = want[:span:1 << level, :span:1 << level]
            np.testing.assert_array_equal(view.tile(level, 0, 0)[:part.shape[0], :part.shape[1]],
                                          part)


def test_the_stretch_sample_is_the_quicklooks_so_the_default_limits_are_too(archive):
    for filetype in ("flt", "raw"):
        path = _file(archive, filetype)
        mosaic = read_mosaic(path).data[::-1]  # what the quicklook stretches
        sample = open_view(path, "SCI").sample()
        np.testing.assert_array_equal(sample, pixel_sample(mosaic))
        for stretch in ("percentile", "zscale"):
            assert display_limits(sample.reshape(1, -1), stretch) == display_limits(mosaic,
                                                                                     stretch)


def test_a_tile_of_a_full_size_raw_file_never_loads_the_file(tmp_path):
    """Scaled integers (BZERO) are read a tile at a time, not scaled whole by astropy."""
    write_rootname(tmp_path, plan_rootname("jbig01a1q", "WFC", ("raw",), full_size=True))
    path = _file(tmp_path, "raw", "jbig01a1q")
    chip_bytes = 4096 * 2048 * 4
    tracemalloc.start()
    try:
        view = open_view(path, "SCI")
        tracemalloc.reset_peak()
        tile = view.tile(0, 5, 3)
        _, peak = tracemalloc.get_traced_memory()
        # What astropy's own access does: the whole chip, scaled (so the measure can fail).
        tracemalloc.reset_peak()
        with fits.open(path) as hdul:
            whole = hdul["SCI", 2].data
            _, astropy_peak = tracemalloc.get_traced_memory()
            expected = whole[::-1][3 * TILE:4 * TILE, 5 * TILE:6 * TILE].astype(np.float32)
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(tile, expected)  # rows 768-1023 from the top: SCI,2
    assert peak < 2 * 1024 * 1024, f"a tile read allocated {peak} bytes"
    assert astropy_peak > chip_bytes // 2


def test_cuts_are_the_files_rows_and_columns(archive):
    path = _file(archive, "flt")
    view = open_view(path, "SCI")
    with fits.open(path) as hdul:
        np.testing.assert_array_equal(view.cut(2, "row", 17), hdul["SCI", 2].data[16])
        np.testing.assert_array_equal(view.cut(1, "column", 256), hdul["SCI", 1].data[:, 255])
    with pytest.raises(ImageReadError, match="outside SCI,1"):
        view.cut(1, "row", 129)
    with pytest.raises(ImageReadError, match="no SCI,3"):
        view.cut(3, "row", 1)


def test_a_file_that_is_not_fits_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad_flt.fits"
    bad.write_bytes(b"not a FITS file at all" * 200)
    with pytest.raises(ImageReadError, match="not a readable FITS file"):
        open_view(bad)
    with pytest.raises(ImageReadError, match="extension 'WHT'"):
        open_view(bad, "WHT")


# --- the routes ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(archive, tmp_path_factory):
    from acsq_mongo.settings import load_settings

    work = tmp_path_factory.mktemp("explorer_web")
    settings = load_settings(environ={}, mongo_uri=f"mongomock://{work.name}", db="explore",
                             archive=archive, data=work / "var")
    db = connect(settings)
    assert run_ingest(settings, archive, quicklook=False).ok
    app = create_app(settings, db=db, config={"TESTING": True})
    return app.test_client()


def test_tiles_come_from_one_route_with_an_etag(client, archive):
    url = f"/explore/{ROOT}/raw/pixels/SCI/all/0-0-0"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "application/octet-stream"
    tile = np.frombuffer(first.data, dtype="<f4").reshape(TILE, TILE)
    want = _picture(_file(archive, "raw"), "SCI")
    np.testing.assert_array_equal(tile[:, :256], want[:256, :256])
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    sample = client.get(f"/explore/{ROOT}/raw/pixels/SCI/all/sample")
    np.testing.assert_array_equal(np.frombuffer(sample.data, "<f4"), pixel_sample(want))


@pytest.mark.parametrize("url,status", [
    (f"/explore/{ROOT}/spt", 404),                              # not an image filetype
    (f"/explore/{ROOT}/crj", 404),                              # not one of its files
    ("/explore/jzzz99zzq/flt", 404),                            # not in the catalog
    ("/explore/..%2f..%2fetc/flt", 404),                        # not a rootname
    (f"/explore/{ROOT}/flt/pixels/SCI/all/9-9-9", 404),         # outside the picture
    (f"/explore/{ROOT}/flt/pixels/SCI/all/../../x", 404),
    (f"/explore/{ROOT}/flt/pixels/WHT/all/sample", 400),        # not an extension shown
    (f"/explore/{ROOT}/flt/pixels/SCI/0/sample", 400),
    (f"/explore/{ROOT}/flt/cut.csv?axis=row&index=abc", 400),
    (f"/explore/{ROOT}/flt/cut.csv?axis=diagonal&index=3", 400),
])
def test_bad_requests_are_refused(client, url, status):
    assert client.get(url).status_code == status


def test_a_file_linked_outside_the_archive_is_refused(client, archive, tmp_path):
    path = _file(archive, "flc")
    outside = tmp_path / "elsewhere.fits"
    os.replace(path, outside)
    path.symlink_to(outside)
    try:
        assert client.get(f"/explore/{ROOT}/flc/pixels/SCI/all/0-0-0").status_code == 404
        assert client.get(f"/explore/{ROOT}/flc").status_code == 404
    finally:
        path.unlink()
        os.replace(outside, path)


def test_the_cut_csv_reads_back_as_the_files_row(client, archive):
    text = client.get(f"/explore/{ROOT}/flt/cut.csv?ext=SCI&ver=all&chip=2&axis=row&index=9")
    rows = list(csv.DictReader(io.StringIO(text.data.decode())))
    with fits.open(_file(archive, "flt")) as hdul:
        want = hdul["SCI", 2].data[8]
    assert [int(r["x"]) for r in rows] == list(range(1, 257)) and {r["y"] for r in rows} == {"9"}
    np.testing.assert_array_equal(np.array([r["value"] for r in rows], dtype=np.float32), want)
    column = client.get(f"/explore/{ROOT}/flt/cut.json?ext=DQ&ver=1&axis=column&index=3").json
    assert column["y"] == list(range(1, 129)) and len(column["value"]) == 128


def test_meta_gives_the_quicklooks_default_and_the_chips_wcs(client, archive, tmp_path):
    meta = client.get(f"/explore/{ROOT}/flt/meta.json?ext=SCI&ver=all").json
    assert meta["default"] == {"interval": "percentile", "kept": 98.0, "stretch": "linear",
                               "quicklook": "percentile"}
    assert [b["ccdchip"] for b in meta["blocks"]] == [2, 1] and meta["blocks"][1]["row0"] == 128
    with fits.open(_file(archive, "flt")) as hdul:
        assert meta["blocks"][0]["wcs"]["crval"] == [hdul[1].header["CRVAL1"],
                                                     hdul[1].header["CRVAL2"]]
    choices = [c["value"] for c in meta["compare"]]
    assert choices == ["raw", "flc", "drz", "jtil01a2q/flt"]  # not jtil02a3q: another visit
    dark = _file(archive, "flc")
    original = fits.getval(dark, "IMAGETYP")
    fits.setval(dark, "IMAGETYP", value="DARK")
    try:
        meta = client.get(f"/explore/{ROOT}/flc/meta.json").json
        assert meta["default"]["interval"] == "zscale"  # quicklook_stretch_by_imagetyp
    finally:
        fits.setval(dark, "IMAGETYP", value=original)


def test_meta_places_a_proposed_trail_on_the_stitched_picture_and_on_its_chip(client, archive):
    """A trail proposed in chip1's pixels (0-based, unbinned) lies, on the stitched picture, above
    chip2 (chip2's NAXIS2 rows, read with astropy), and on chip1 alone where it was found."""
    from acsq_mongo.tags.proposals import propose

    db = client.application.extensions["acsq"].db
    with fits.open(_file(archive, "flc")) as hdul:
        chip1 = next(h.header["EXTVER"] for h in hdul[1:]
                     if h.name == "SCI" and h.header["CCDCHIP"] == 1)
        below = next(h.header["NAXIS2"] for h in hdul[1:]
                     if h.name == "SCI" and h.header["CCDCHIP"] == 2)
    ends = [10.5, 3.0, 200.0, 90.25]
    trail = {"chip": "chip1", "ext": 1, "endpoints": ends, "snr": 9.0, "width": 4.0}
    assert propose(db, ROOT, "satellite_trail", "acstools.findsat_mrt 3.8.2", "t:flc:3.8.2",
                   "findsat_mrt", "1 trail", {"filetype": "flc", "trails": [trail]})
    try:
        stitched = client.get(f"/explore/{ROOT}/flc/meta.json").json["trails"]
        alone = client.get(f"/explore/{ROOT}/flc/meta.json?ver={chip1}").json["trails"]
        other = client.get(f"/explore/{ROOT}/flc/meta.json?ver={3 - chip1}").json["trails"]
        drz = client.get(f"/explore/{ROOT}/drz/meta.json").json["trails"]
        assert [t["picture"] for t in stitched] == [[11.5, 4.0 + below, 201.0, 91.25 + below]]
        assert [t["picture"] for t in alone] == [[11.5, 4.0, 201.0, 91.25]]
        assert stitched[0]["flag"] == "satellite_trail" and other == [] and drz == []
        assert "proposed" in client.get(f"/explore/{ROOT}/flc").data.decode()
    finally:
        db[ANOMALY_EVENTS].delete_many({"rootname": ROOT})
        db[CATALOG].update_one({"_id": ROOT[:8]}, {"$unset": {"proposed": "", "proposal_seq": ""}})


def test_the_page_and_its_links(client):
    page = client.get(f"/explore/{ROOT}/flt?ext=DQ&ver=1").data.decode()
    assert "explorer/explorer.js" in page and "vendor/leaflet/leaflet.js" in page
    assert "<script>" not in page  # no inline script under the CSP
    first = f"/explore/{ROOT}"
    assert client.get(first).headers["Location"].endswith(f"/explore/{ROOT}/flt")
    image_view = client.get(f"/rootname/{ROOT}", follow_redirects=True).data.decode()
    assert f'href="{first}"' in image_view  # no quicklook made here: the first image file
    path = client.get(f"/rootname/{ROOT}", follow_redirects=True).request.path
    headers = client.get(path + "headers/").data.decode()
    assert f'href="/explore/{ROOT}/flt?ext=SCI&amp;ver=2"' in headers
    gallery = path.rstrip("/").rsplit("/", 1)[0] + "/"  # /archive/<proposid>/
    assert f'href="{first}"' in client.get(gallery).data.decode()


def test_flagging_needs_a_signed_in_tagger(client):
    response = client.post(f"/explore/{ROOT}/flt/flag", data={"flag": "ghost", "x0": 1, "y0": 1})
    assert response.status_code in (401, 403)


# --- region flags in the store -----------------------------------------------------------


def test_region_flags_are_events_with_a_region_and_clear_with_the_flag(settings, archive):
    settings = settings.replace(archive=archive)
    assert run_ingest(settings, archive, quicklook=False).ok
    db = connect(settings)
    vocabulary = Vocabulary.from_settings(settings)
    change_flags(db, ROOT, ADA, vocabulary, add=["ghost"], comment="checkbox")
    event = flag_region(db, ROOT, ADA, vocabulary, "ghost",
                        {"filetype": "flt", "extension": "SCI", "extver": "2",
                         "x0": "40", "y0": "30", "x1": "20", "y1": "10"}, comment="a ring")
    assert event["region"] == {"filetype": "flt", "extension": "SCI", "extver": 2,
                               "x0": 20, "y0": 10, "x1": 40, "y1": 30}
    flag_region(db, ROOT, ADA, vocabulary, "satellite_trail",
                {"filetype": "flc", "extension": "DQ", "x0": 5, "y0": 6})
    assert db[CATALOG].find_one({"_id": ROOT[:8]})["anomalies"] == ["ghost", "satellite_trail"]
    assert db[ANOMALY_EVENTS].count_documents({"catalog_id": ROOT[:8]}) == 3
    assert db[ANOMALY_EVENTS].count_documents({"region": {"$exists": False}}) == 1
    regions = flagged_regions(db, ROOT[:8])
    assert [(r["flag"], r["extver"], r["x1"]) for r in regions] == [("ghost", 2, 40),
                                                                    ("satellite_trail", None, 5)]
    change_flags(db, ROOT, ADA, vocabulary, remove=["ghost"])
    assert [r["flag"] for r in flagged_regions(db, ROOT[:8])] == ["satellite_trail"]
    before = db[ANOMALY_EVENTS].count_documents({})
    for bad, message in (({"filetype": "spt", "x0": 1, "y0": 1}, "filetype"),
                         ({"filetype": "flt", "extension": "WHT", "x0": 1, "y0": 1}, "extension"),
                         ({"filetype": "flt", "x0": 0, "y0": 1}, "x0"),
                         ({"filetype": "flt", "x0": "a", "y0": 1}, "whole number")):
        with pytest.raises(TagError, match=message):
            flag_region(db, ROOT, ADA, vocabulary, "ghost", bad)
    with pytest.raises(TagError, match="unknown anomaly flag"):
        flag_region(db, ROOT, ADA, vocabulary, "nope", {"filetype": "flt", "x0": 1, "y0": 1})
    with pytest.raises(TagError, match="may not"):
        flag_region(db, ROOT, User("guest", "viewer"), vocabulary, "ghost",
                    {"filetype": "flt", "x0": 1, "y0": 1})
    assert db[ANOMALY_EVENTS].count_documents({}) == before


def test_the_rootnames_of_a_visit(db, archive, settings):
    settings = settings.replace(archive=archive)
    assert run_ingest(settings, archive, quicklook=False).ok
    db = connect(settings)
    assert [r["rootname"] for r in visit_rootnames(db, ROOT)] == [ROOT, "jtil01a2q"]
    assert visit_rootnames(db, "j../..") == []
