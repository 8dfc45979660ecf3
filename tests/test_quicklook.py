"""quicklook: full JPEG, preview and flt thumbnail per raw/flt/flc file, fresh ones skipped."""

import os

import numpy as np
import pytest
from PIL import Image
from synthetic_images import REAL_WFC_FLT, truncate, write_raw_uint16, write_single, write_wfc

from acsq_mongo.images.quicklook import (
    make_quicklooks,
    preview_image,
    quicklook_targets,
    thumbnail_image,
    write_jpeg,
)


@pytest.fixture
def settings(mock_settings, tmp_path):
    return mock_settings.replace(archive=tmp_path / "archive")


def _archive_file(settings, rootname, filetype):
    return settings.archive / rootname[:4] / rootname / f"{rootname}_{filetype}.fits"


def _gradient(shape, low=0.0, high=1000.0):
    rows, cols = np.indices(shape)
    return (low + (high - low) * (rows + cols) / (shape[0] + shape[1])).astype(np.float32)


def _open(settings, relative):
    image = Image.open(settings.data / relative)
    image.load()
    return image


def test_each_filetype_gets_a_jpeg_and_a_preview_and_flt_a_thumbnail(settings):
    chip = _gradient((40, 60))
    files = {ft: write_wfc(_archive_file(settings, "j94f05bgq", ft), chip, chip)
             for ft in ("raw", "flt", "flc")}
    files["spt"] = files["raw"].with_name("j94f05bgq_spt.fits")  # not an image: ignored

    result = make_quicklooks("j94f05bgq", 10368, files, settings)

    assert result.errors == [] and (result.made, result.skipped) == (3, 0)
    assert result.paths == {
        "raw": "jpegs/10368/j94f05bgq_raw.jpg",
        "flt": "jpegs/10368/j94f05bgq_flt.jpg",
        "flc": "jpegs/10368/j94f05bgq_flc.jpg",
        "preview": {
            "raw": "jpegs/10368/j94f05bgq_raw_preview.jpg",
            "flt": "jpegs/10368/j94f05bgq_flt_preview.jpg",
            "flc": "jpegs/10368/j94f05bgq_flc_preview.jpg",
        },
        "thumbnail": "thumbnails/10368/j94f05bgq_flt.thumb",
    }
    for ft in ("raw", "flt", "flc"):
        full = _open(settings, result.paths[ft])
        assert full.format == "JPEG" and full.mode == "L" and full.size == (60, 80)
    thumb = _open(settings, result.paths["thumbnail"])
    assert thumb.format == "JPEG" and thumb.size == (128, 128)
    # Nothing but the images: no temporary files left behind.
    assert sorted(p.name for p in (settings.data / "jpegs/10368").iterdir()) == sorted(
        [f"j94f05bgq_{ft}.jpg" for ft in ("raw", "flt", "flc")]
        + [f"j94f05bgq_{ft}_preview.jpg" for ft in ("raw", "flt", "flc")]
    )


def test_the_jpeg_shows_wfc1_above_wfc2(settings):
    # WFC2 (ext 1) dark with a bright 4x4 block at its pixel (1, 1); WFC1 (ext 4) bright.
    wfc2 = np.zeros((40, 60), np.float32)
    wfc2[:4, :4] = 1000.0
    wfc1 = np.full((40, 60), 1000.0, np.float32)
    path = write_wfc(_archive_file(settings, "j94f05bgq", "flt"), wfc2, wfc1)

    result = make_quicklooks("j94f05bgq", 10368, {"flt": path}, settings)

    pixels = np.asarray(_open(settings, result.paths["flt"]), dtype=int)
    assert pixels.shape == (80, 60)  # two chips, one above the other
    assert pixels[5:35, 10:50].mean() > 240  # top half: WFC1
    assert pixels[45:75, 10:50].mean() < 15  # bottom half: WFC2
    assert pixels[-3:, :3].mean() > 200  # WFC2's pixel (1, 1) is the lower-left corner
    assert pixels[-3:, -3:].mean() < 15


def test_the_preview_is_about_1024_pixels_on_its_longest_side(settings):
    path = write_single(_archive_file(settings, "j8zh21xvq", "flt"), _gradient((1100, 2500)))
    result = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)
    assert _open(settings, result.paths["flt"]).size == (2500, 1100)
    width, height = _open(settings, result.paths["preview"]["flt"]).size
    assert width == 1024 and height == pytest.approx(1024 * 1100 / 2500, abs=1)


@pytest.mark.parametrize("size", [(4096, 4096), (4144, 4136), (1024, 1024), (300, 200), (1, 2)])
def test_preview_sizes(size):
    preview = preview_image(Image.new("L", size))
    assert max(preview.size) == min(1024, max(size))
    assert preview.size[0] / preview.size[1] == pytest.approx(size[0] / size[1], rel=0.02)


def test_thumbnails_are_exactly_128_square_padded_not_cropped(settings):
    # A wide subarray, 64 x 256: the thumbnail shows all of it, 128 x 32, centred
    # between black bands, never cropped.
    data = np.tile(np.linspace(100, 200, 256, dtype=np.float32), (64, 1))
    path = write_single(_archive_file(settings, "jc8m10syq", "flt"), data, detector="WFC")
    result = make_quicklooks("jc8m10syq", 12345, {"flt": path}, settings)
    thumb = _open(settings, result.paths["thumbnail"])
    assert thumb.size == (128, 128)
    pixels = np.asarray(thumb, dtype=int)
    assert pixels[:44].max() < 16 and pixels[-44:].max() < 16  # padding, top and bottom
    band = pixels[52:76]
    assert band[:, :8].mean() < 40 and band[:, -8:].mean() > 215  # the whole ramp is there

    # Any shape comes out 128 x 128.
    for size in [(1, 1), (4096, 4096), (2048, 64), (64, 2048), (127, 129)]:
        assert thumbnail_image(Image.new("L", size, 200)).size == (128, 128)


def test_fresh_images_are_skipped_and_force_makes_them_again(settings):
    path = write_single(_archive_file(settings, "j8zh21xvq", "flt"), _gradient((50, 50)))
    first = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)
    assert (first.made, first.skipped) == (1, 0)
    images = [settings.data / p for p in
              (first.paths["flt"], first.paths["preview"]["flt"], first.paths["thumbnail"])]
    # Make the images clearly older than "now" so that a rewrite would show.
    old = path.stat().st_mtime_ns + 1_000_000_000
    for image in images:
        os.utime(image, ns=(old, old))

    again = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)
    assert (again.made, again.skipped) == (0, 1)
    assert again.paths == first.paths
    assert [i.stat().st_mtime_ns for i in images] == [old] * 3  # untouched

    forced = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings, force=True)
    assert (forced.made, forced.skipped) == (1, 0)
    assert all(i.stat().st_mtime_ns != old for i in images)


def test_an_image_older_than_its_fits_file_is_made_again(settings):
    path = write_single(_archive_file(settings, "j8zh21xvq", "flt"), _gradient((50, 50)))
    make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)
    # The FITS file is replaced by a newer one; so is one missing image.
    newer = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(newer, newer))
    assert make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings).made == 1
    (settings.data / "thumbnails/9999/j8zh21xvq_flt.thumb").unlink()
    result = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)
    assert result.made == 1 and "thumbnail" in result.paths


def test_a_truncated_fits_leaves_no_jpeg_and_reports_an_error(settings):
    chip = _gradient((200, 300))
    good = write_wfc(_archive_file(settings, "j94f05bgq", "flt"), chip, chip)
    bad = truncate(write_wfc(_archive_file(settings, "j94f05bgq", "flc"), chip, chip))

    result = make_quicklooks("j94f05bgq", 10368, {"flt": good, "flc": bad}, settings)

    assert result.made == 1 and "flt" in result.paths  # the good one is not held back
    assert "flc" not in result.paths and "flc" not in result.paths["preview"]
    assert result.errors == [{
        "path": "j94f/j94f05bgq/j94f05bgq_flc.fits", "filetype": "flc", "stage": "quicklook",
        "error": result.errors[0]["error"],
    }]
    assert result.errors[0]["error"].startswith("truncated file")
    assert "\n" not in result.errors[0]["error"]
    names = {p.name for p in (settings.data / "jpegs/10368").iterdir()}
    assert names == {"j94f05bgq_flt.jpg", "j94f05bgq_flt_preview.jpg"}  # no flc, no temp file


def test_a_failed_remake_keeps_the_images_made_before(settings):
    path = write_single(_archive_file(settings, "j8zh21xvq", "flt"), _gradient((50, 50)))
    before = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)
    jpeg = (settings.data / before.paths["flt"]).read_bytes()
    truncate(path, 0.3)  # being replaced (cut inside SCI), and newer than the images now
    newer = (settings.data / before.paths["flt"]).stat().st_mtime_ns + 10**9
    os.utime(path, ns=(newer, newer))

    after = make_quicklooks("j8zh21xvq", 9999, {"flt": path}, settings)

    assert after.made == 0 and len(after.errors) == 1
    assert after.paths == before.paths  # nothing already made is lost
    assert (settings.data / before.paths["flt"]).read_bytes() == jpeg


@pytest.mark.parametrize(
    "problem", ["missing", "garbage", "no SCI"],
)
def test_bad_input_never_raises(settings, problem):
    path = _archive_file(settings, "j8zh21xvq", "raw")
    path.parent.mkdir(parents=True, exist_ok=True)
    if problem == "garbage":
        path.write_bytes(b"\x00\xff" * 5000)
    elif problem == "no SCI":
        from astropy.io import fits

        fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    result = make_quicklooks("j8zh21xvq", None, {"raw": path}, settings)
    assert result.made == 0 and result.paths == {}
    [error] = result.errors
    assert error["filetype"] == "raw" and error["stage"] == "quicklook"
    assert error["path"] == "j8zh/j8zh21xvq/j8zh21xvq_raw.fits" and error["error"]
    assert not (settings.data / "jpegs").exists() or not any((settings.data / "jpegs").rglob("*"))


def test_nan_constant_and_integer_images_give_valid_jpegs(settings):
    nan_chip = _gradient((30, 40))
    nan_chip[:10] = np.nan
    nan_chip[10:12] = np.inf
    files = {
        "flt": write_single(_archive_file(settings, "j8zh21xvq", "flt"), nan_chip),
        "flc": write_single(_archive_file(settings, "j8zh21xvq", "flc"),
                            np.full((30, 40), 3.0, np.float32)),
        "raw": write_raw_uint16(_archive_file(settings, "j8zh21xvq", "raw"),
                                np.arange(1200, dtype=np.uint16).reshape(30, 40) * 50),
    }
    result = make_quicklooks("j8zh21xvq", 9999, files, settings)
    assert result.errors == [] and result.made == 3

    flt = np.asarray(_open(settings, result.paths["flt"]), dtype=int)
    # NaN rows (FITS rows 0-9) are the bottom of the JPEG; inf rows just above: black.
    assert flt[-10:].max() < 12 and flt[-12:-10].max() < 12
    assert flt[:3, -5:].mean() > 200  # the top right of the gradient is bright

    flc = np.asarray(_open(settings, result.paths["flc"]), dtype=int)
    assert flc.max() - flc.min() <= 2  # flat

    raw = np.asarray(_open(settings, result.paths["raw"]), dtype=int)
    # Counts 0 .. 59950 stored as int16 + BZERO: a smooth ramp, not wrapped around.
    assert raw[-1, :5].mean() < 10 and raw[0, -5:].mean() > 245
    column_means = raw.mean(axis=1)
    assert (np.diff(column_means[2:-2]) <= 1).all()  # brighter upward, row by row


def test_the_real_acs_flt_with_1x1_chips_works(settings):
    result = make_quicklooks("j94f05bgq", 10368, {"flt": REAL_WFC_FLT}, settings)
    assert result.errors == [] and result.made == 1
    assert _open(settings, result.paths["flt"]).size == (1, 2)
    assert _open(settings, result.paths["thumbnail"]).size == (128, 128)
    assert result.errors == []


def test_no_proposid_goes_to_unknown():
    targets = quicklook_targets("J94F05BGQ", None, "flt")
    assert targets == {
        "full": "jpegs/unknown/j94f05bgq_flt.jpg",
        "preview": "jpegs/unknown/j94f05bgq_flt_preview.jpg",
        "thumbnail": "thumbnails/unknown/j94f05bgq_flt.thumb",
    }
    assert "thumbnail" not in quicklook_targets("j94f05bgq", 1, "raw")


def test_a_failed_write_leaves_the_old_image_and_no_temporary_file(tmp_path):
    dest = tmp_path / "jpegs" / "1" / "x_flt.jpg"
    write_jpeg(Image.new("L", (8, 8), 10), dest)
    before = dest.read_bytes()
    with pytest.raises(OSError):
        write_jpeg(Image.new("I;16", (8, 8)), dest)  # JPEG cannot hold 16-bit pixels
    assert dest.read_bytes() == before
    assert [p.name for p in dest.parent.iterdir()] == ["x_flt.jpg"]


def test_the_stretch_setting_is_used(settings):
    rng = np.random.default_rng(1)
    data = rng.normal(100, 10, (100, 100)).astype(np.float32)
    data[40:45, 40:45] += 3000  # a star, 0.25 % of the pixels
    path = write_single(_archive_file(settings, "j8zh21xvq", "flt"), data)
    linear = make_quicklooks("j8zh21xvq", 1, {"flt": path}, settings, force=True)
    linear_pixels = np.asarray(_open(settings, linear.paths["flt"]), dtype=int)
    asinh = make_quicklooks("j8zh21xvq", 1, {"flt": path},
                            settings.replace(quicklook_stretch="asinh"), force=True)
    asinh_pixels = np.asarray(_open(settings, asinh.paths["flt"]), dtype=int)
    assert np.median(asinh_pixels) > np.median(linear_pixels) + 20
