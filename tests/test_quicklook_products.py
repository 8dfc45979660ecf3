"""Quicklooks of the products: drz and drc (zero-weight border black), crj and crc (stitched
like flt), the product's thumbnail from its drz, and DARK and BIAS frames under zscale."""

import numpy as np
import pytest
from PIL import Image
from synthetic_images import write_drizzled, write_wfc

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.images.imaging import read_mosaic
from acsq_mongo.images.quicklook import make_quicklooks, render
from acsq_mongo.images.stretch import STRETCHES, display_limits, stretch_for, to_uint8
from acsq_mongo.ingest.run import run_ingest


@pytest.fixture
def settings(mock_settings, tmp_path):
    return mock_settings.replace(archive=tmp_path / "archive")


def _file(settings, rootname, filetype):
    return settings.archive / rootname[:4] / rootname / f"{rootname}_{filetype}.fits"


def _pixels(settings, relative):
    with Image.open(settings.data / relative) as image:
        return np.asarray(image, dtype=int)


def _tilted_field(shape=(80, 100)):
    """A field of values 1000..2000 (a ramp) inside a frame whose border has no weight."""
    rows, cols = np.indices(shape)
    sci = (1000.0 + 1000.0 * cols / (shape[1] - 1)).astype(np.float32)
    inside = (rows >= 15) & (rows < shape[0] - 15) & (cols >= 20) & (cols < shape[1] - 20)
    wht = np.where(inside, 500.0, 0.0).astype(np.float32)
    return sci, wht, inside


@pytest.mark.parametrize("fill", [0.0, np.nan])
def test_a_drizzled_product_border_of_zero_weight_is_nan_and_left_out_of_the_limits(
        settings, fill):
    sci, wht, inside = _tilted_field()
    sci[~inside] = fill                 # AstroDrizzle writes 0 (drz) or NaN there
    path = write_drizzled(_file(settings, "j94f05010", "drz"), sci, wht)

    mosaic = read_mosaic(path)

    assert mosaic.masked == int((~inside).sum())
    assert np.isnan(mosaic.data[~inside]).all()
    np.testing.assert_array_equal(mosaic.data[inside], sci[inside])
    # The limits are those of the field alone: the border is not "the darkest 1 %".
    assert display_limits(mosaic.data) == pytest.approx(display_limits(sci[inside]))


def test_the_drz_jpeg_draws_the_border_black_and_spreads_the_field_over_the_grey_levels(
        settings):
    sci, wht, inside = _tilted_field()
    sci[~inside] = 0.0
    files = {"drz": write_drizzled(_file(settings, "j94f05010", "drz"), sci, wht)}

    result = make_quicklooks("j94f05010", 10368, files, settings)

    assert result.errors == []
    pixels = _pixels(settings, result.paths["drz"])[::-1]          # back to FITS orientation
    assert pixels.shape == sci.shape
    rendered = np.asarray(render(files["drz"]))[::-1]
    assert (rendered[~inside] == 0).all()                       # black, before JPEG
    rows, cols = np.indices(sci.shape)
    # JPEG rings within its 8 x 8 blocks; the blocks wholly in the border stay black.
    far = (rows < 8) | (rows >= 72) | (cols < 16) | (cols >= 80)
    assert (pixels[far] <= 2).all()
    field = pixels[inside]
    # The ramp covers the grey levels: 1000 is black only at its first percent.
    assert np.percentile(field, 50) == pytest.approx(128, abs=12)
    assert field.max() >= 250


def test_crj_and_crc_are_stitched_like_flt(settings):
    wfc2 = np.zeros((40, 60), np.float32)
    wfc1 = np.full((40, 60), 1000.0, np.float32)
    files = {ft: write_wfc(_file(settings, "j94f05010", ft), wfc2, wfc1, rootname="j94f05010")
             for ft in ("crj", "crc", "flt")}

    result = make_quicklooks("j94f05010", 10368, files, settings)

    assert result.errors == [] and result.made == 3
    flt = _pixels(settings, result.paths["flt"])
    for ft in ("crj", "crc"):
        pixels = _pixels(settings, result.paths[ft])
        assert pixels.shape == (80, 60)
        np.testing.assert_array_equal(pixels, flt)
        assert pixels[:40].mean() > 200 and pixels[40:].mean() < 50   # WFC1 on top


def test_a_product_thumbnail_comes_from_its_drz_and_an_exposure_s_from_its_flt(settings):
    sci, wht, _ = _tilted_field()
    chip = np.ones((40, 60), np.float32)
    product = {ft: write_drizzled(_file(settings, "j94f05010", ft), sci, wht)
               for ft in ("drc", "drz")}
    product["crj"] = write_wfc(_file(settings, "j94f05010", "crj"), chip, chip)
    exposure = {"flt": write_wfc(_file(settings, "j94f05bgq", "flt"), chip, chip),
                "drz": write_drizzled(_file(settings, "j94f05bgq", "drz"), sci, wht)}
    only_drc = {"drc": product["drc"]}

    assert make_quicklooks("j94f05010", 10368, product, settings).paths["thumbnail"] == \
        "thumbnails/10368/j94f05010_drz.thumb"
    assert make_quicklooks("j94f05bgq", 10368, exposure, settings).paths["thumbnail"] == \
        "thumbnails/10368/j94f05bgq_flt.thumb"
    assert make_quicklooks("j94f06010", 10368, only_drc, settings).paths["thumbnail"] == \
        "thumbnails/10368/j94f06010_drc.thumb"
    thumb = _pixels(settings, "thumbnails/10368/j94f05010_drz.thumb")
    assert thumb.shape == (128, 128)


def _nearest_stretch(jpeg: np.ndarray, mosaic: np.ndarray) -> str:
    """Which stretch of ``mosaic`` (FITS orientation) a JPEG is closest to."""
    def distance(stretch):
        return np.abs(jpeg.astype(int) - to_uint8(mosaic[::-1].copy(), stretch)).mean()
    return min(STRETCHES, key=distance)


def _dark_chip(rng, shape=(40, 60)):
    """Read noise, a warm column and a few hot pixels: what a DARK frame holds."""
    chip = rng.normal(10.0, 4.0, shape).astype(np.float32)
    chip[:, 7] += 12.0
    chip[rng.integers(0, shape[0], 6), rng.integers(0, shape[1], 6)] += 5000.0
    return chip


@pytest.mark.parametrize("imagetyp, expected", [("DARK", "zscale"), ("BIAS", "zscale"),
                                                ("EXT", "percentile"), (None, "percentile")])
def test_dark_and_bias_frames_get_zscale_by_default(settings, imagetyp, expected):
    rng = np.random.default_rng(5)
    wfc2, wfc1 = _dark_chip(rng), _dark_chip(rng)
    path = write_wfc(_file(settings, "jk5102njq", "flt"), wfc2, wfc1, imagetyp=imagetyp)

    assert read_mosaic(path).imagetyp == imagetyp
    chosen = stretch_for(imagetyp, settings.quicklook_stretch,
                         settings.quicklook_stretch_by_imagetyp)
    assert chosen == expected
    image = np.asarray(render(path, settings.quicklook_stretch,
                              settings.quicklook_stretch_by_imagetyp))
    mosaic = read_mosaic(path).data
    np.testing.assert_array_equal(image, to_uint8(mosaic[::-1].copy(), expected))


def test_zscale_shows_a_dark_s_warm_column_that_the_percentile_clip_hides_in_noise(settings):
    rng = np.random.default_rng(6)
    path = write_wfc(_file(settings, "jk5102njq", "flt"), _dark_chip(rng), _dark_chip(rng),
                     imagetyp="DARK")
    mosaic = read_mosaic(path).data
    zscale = to_uint8(mosaic.copy(), "zscale").astype(float)
    percentile = to_uint8(mosaic.copy(), "percentile").astype(float)

    def contrast(pixels):
        """Warm column against the rest, in units of the noise's grey-level scatter."""
        rest = np.delete(pixels, 7, axis=1)
        return (pixels[:, 7].mean() - rest.mean()) / rest.std()

    # Under the 1-99 % clip the noise takes every grey level (salt and pepper); zscale
    # keeps it in a band of grey, so the column stands out more against it.
    assert percentile.std() > zscale.std()
    assert contrast(zscale) > 0 and contrast(percentile) > 0


def test_the_stretch_of_an_image_type_is_a_setting(settings, tmp_path):
    rng = np.random.default_rng(7)
    path = write_wfc(_file(settings, "jk5102njq", "flt"), _dark_chip(rng), _dark_chip(rng),
                     imagetyp="DARK")
    mosaic = read_mosaic(path).data
    changed = settings.replace(quicklook_stretch_by_imagetyp="DARK=asinh")
    none = settings.replace(quicklook_stretch_by_imagetyp="")

    for chosen, expected in ((changed, "asinh"), (none, "percentile")):
        result = make_quicklooks("jk5102njq", 1, {"flt": path},
                                 chosen.replace(data=tmp_path / expected))
        pixels = np.asarray(Image.open(tmp_path / expected / result.paths["flt"]))
        assert _nearest_stretch(pixels, mosaic) == expected


def test_ingest_on_the_real_server_makes_every_product_quicklook(real_settings,
                                                                 sample_archive, real_db):
    settings = real_settings.replace(archive=sample_archive.root)
    assert run_ingest(settings, sample_archive.root, quicklook=True).ok
    products = [r for r in sample_archive.rootnames
                if {"crj", "crc", "drz", "drc"} & set(r.filetypes)]
    assert {ft for r in products for ft in r.filetypes} >= {"crj", "crc", "drz", "drc"}
    darks = 0
    for r in products + [r for r in sample_archive.rootnames
                         if r.promoted["imagetyp"] == "DARK"]:
        entry = real_db[CATALOG].find_one({"_id": r.rootname[:8]})
        quicklook = entry["quicklook"]
        for ft in {"crj", "crc", "drz", "drc"} & set(r.filetypes):
            assert quicklook[ft] == f"jpegs/{r.promoted['proposid']}/{r.rootname}_{ft}.jpg"
            assert ft in quicklook["preview"]
        if r.kind == "product":
            assert quicklook["thumbnail"].endswith(f"{r.rootname}_drz.thumb")
        for ft in {"drz", "drc"} & set(r.filetypes):
            fits_path = sample_archive.root / r.path / f"{r.rootname}_{ft}.fits"
            mosaic = read_mosaic(fits_path)
            assert mosaic.masked > 0                     # the sample's tilted field
            border = np.isnan(mosaic.data)
            assert _pixels(settings, quicklook[ft]).shape == border.shape
            rendered = np.asarray(render(fits_path))[::-1]
            assert (rendered[border] == 0).all() and rendered[~border].max() == 255
            # The limits are the field's: its darkest 1 % is black, not the whole border.
            assert display_limits(mosaic.data) == display_limits(mosaic.data[~border])
        if r.promoted["imagetyp"] == "DARK":
            darks += 1
            path = sample_archive.root / r.path / f"{r.rootname}_flt.fits"
            pixels = _pixels(settings, quicklook["flt"])
            assert _nearest_stretch(pixels, read_mosaic(path).data) == "zscale"
    assert darks > 0
