"""imaging: every SCI extension read through astropy and stitched in DS9's orientation."""

import numpy as np
import pytest
from astropy.io import fits
from synthetic_images import (
    REAL_STIS_RAW,
    REAL_WFC_FLT,
    truncate,
    write_raw_uint16,
    write_single,
    write_wfc,
)

from acsq_mongo.images.imaging import ImageReadError, read_mosaic


def _chip_pattern(label: float, shape=(6, 10)) -> np.ndarray:
    """A chip whose every pixel says which chip it is and where: label + row/100 + col/10000."""
    rows, cols = np.indices(shape)
    return (label + rows / 100 + cols / 10000).astype(np.float32)


def test_wfc_full_frame_puts_wfc1_above_wfc2(tmp_path):
    # Given a WFC flt whose chips are labelled: ext 1 = WFC2 (2.x), ext 4 = WFC1 (1.x).
    wfc2, wfc1 = _chip_pattern(2.0), _chip_pattern(1.0)
    path = write_wfc(tmp_path / "j94f05bgq_flt.fits", wfc2, wfc1)

    mosaic = read_mosaic(path)

    # One image twice as tall, in FITS orientation (row 0 = y 1, the bottom):
    # WFC2 fills the bottom half, WFC1 the top half, neither flipped nor shifted.
    assert mosaic.data.shape == (12, 10)
    assert mosaic.data.dtype == np.float32 and mosaic.data.dtype.isnative
    assert mosaic.extensions == (1, 4)
    np.testing.assert_array_equal(mosaic.data[:6], wfc2)
    np.testing.assert_array_equal(mosaic.data[6:], wfc1)
    # The pixel (x 1, y 1) of chip 2 is the mosaic's lower-left corner; the last
    # pixel of chip 1 its upper-right corner.
    assert mosaic.data[0, 0] == pytest.approx(2.0)
    assert mosaic.data[-1, -1] == pytest.approx(1.0 + 5 / 100 + 9 / 10000)


def test_chips_are_ordered_by_ccdchip_not_by_file_order(tmp_path):
    # A file that stores chip 1 first still shows chip 1 on top.
    hdus = [fits.PrimaryHDU()]
    for extver, ccdchip, label in ((1, 1, 1.0), (2, 2, 2.0)):
        sci = fits.ImageHDU(_chip_pattern(label), name="SCI", ver=extver)
        sci.header["CCDCHIP"] = ccdchip
        hdus.append(sci)
    path = tmp_path / "x_flt.fits"
    fits.HDUList(hdus).writeto(path)
    mosaic = read_mosaic(path)
    assert mosaic.extensions == (2, 1)
    assert mosaic.data[0, 0] == pytest.approx(2.0) and mosaic.data[-1, 0] == pytest.approx(1.05)


def test_a_subarray_or_single_chip_is_shown_as_it_is(tmp_path):
    data = _chip_pattern(3.0, shape=(5, 7))
    mosaic = read_mosaic(write_single(tmp_path / "j8zh21xvq_flt.fits", data))
    np.testing.assert_array_equal(mosaic.data, data)
    assert mosaic.extensions == (1,)


def test_integer_raw_data_is_scaled_by_astropy(tmp_path):
    # Unsigned counts are stored as int16 with BZERO = 32768, as HST raw files are.
    counts = np.array([[0, 1, 40000], [65535, 32768, 7]], dtype=np.uint16)
    path = write_raw_uint16(tmp_path / "j8zh21xvq_raw.fits", counts)
    with fits.open(path, do_not_scale_image_data=True) as hdul:
        assert hdul[1].header["BZERO"] == 32768 and hdul[1].data.dtype.kind == "i"
    np.testing.assert_array_equal(read_mosaic(path).data, counts.astype(np.float32))


def test_bscale_and_bzero_both_apply(tmp_path):
    stored = np.array([[0, 10], [-5, 100]], dtype=np.int16)
    path = write_single(tmp_path / "x_raw.fits", stored)
    with fits.open(path, mode="update", do_not_scale_image_data=True) as hdul:
        hdul[1].header["BSCALE"] = 2.0
        hdul[1].header["BZERO"] = 100.0
    np.testing.assert_array_equal(read_mosaic(path).data, stored * 2.0 + 100.0)


def test_chips_of_different_widths_are_padded_with_nan(tmp_path):
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(np.ones((2, 3), np.float32), name="SCI", ver=1),
            fits.ImageHDU(np.full((2, 5), 2.0, np.float32), name="SCI", ver=2)]
    path = tmp_path / "x_flt.fits"
    fits.HDUList(hdus).writeto(path)
    data = read_mosaic(path).data
    assert data.shape == (4, 5)
    assert np.isnan(data[:2, 3:]).all() and (data[:2, :3] == 1).all() and (data[2:] == 2).all()


def test_a_constant_sci_extension_stored_as_keywords_is_read(tmp_path):
    sci = fits.ImageHDU(name="SCI", ver=1)
    sci.header.update(NPIX1=4, NPIX2=3, PIXVALUE=7.5)
    path = tmp_path / "x_flt.fits"
    fits.HDUList([fits.PrimaryHDU(), sci]).writeto(path)
    data = read_mosaic(path).data
    assert data.shape == (3, 4) and (data == 7.5).all()


def test_a_truncated_file_is_a_clear_error(tmp_path):
    wfc = np.zeros((64, 64), np.float32)
    path = truncate(write_wfc(tmp_path / "j94f05bgq_flt.fits", wfc, wfc), 0.6)
    with pytest.raises(ImageReadError, match="truncated file"):
        read_mosaic(path)


@pytest.mark.parametrize(
    "content, message",
    [(b"not a fits file at all" * 200, "not a readable FITS file"), (b"", "not a readable FITS")],
)
def test_garbage_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "x_flt.fits"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=message):
        read_mosaic(path)


def test_a_file_without_sci_is_a_clear_error(tmp_path):
    path = tmp_path / "x_spt.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((3, 3)))]).writeto(path)
    with pytest.raises(ImageReadError, match="no SCI image extension"):
        read_mosaic(path)


def test_a_sci_cube_is_refused(tmp_path):
    path = tmp_path / "x_flt.fits"
    cube = fits.ImageHDU(np.zeros((2, 3, 3), np.float32), name="SCI")
    fits.HDUList([fits.PrimaryHDU(), cube]).writeto(path)
    with pytest.raises(ImageReadError, match="3-D"):
        read_mosaic(path)


def test_the_real_acs_wfc_flt_is_read():
    # The astropy-shipped j94f05bgq_flt.fits: a real WFC flt with 1x1 pixel chips.
    mosaic = read_mosaic(REAL_WFC_FLT)
    assert mosaic.data.shape == (2, 1)
    assert mosaic.extensions == (1, 4)  # CCDCHIP 2 then 1, bottom to top


def test_a_real_file_without_ccdchip_stacks_in_file_order():
    # STIS raw: two 44 x 62 SCI extensions, int16 + BZERO, no CCDCHIP.
    mosaic = read_mosaic(REAL_STIS_RAW)
    assert mosaic.data.shape == (88, 62) and mosaic.extensions == (1, 4)
    with fits.open(REAL_STIS_RAW) as hdul:
        np.testing.assert_array_equal(mosaic.data[:44], hdul[1].data)
        np.testing.assert_array_equal(mosaic.data[44:], hdul[4].data)
