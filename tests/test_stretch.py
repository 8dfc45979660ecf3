"""stretch: 1st-99th percentile clip (or zscale / asinh) to 8 bits; NaN and inf black."""

import numpy as np
import pytest

from acsq_mongo.images.stretch import N_SAMPLES, display_limits, pixel_sample, to_uint8


def _ramp(n_rows=100, n_cols=100) -> np.ndarray:
    return np.arange(n_rows * n_cols, dtype=np.float32).reshape(n_rows, n_cols)


def test_percentile_clip_maps_known_values_to_0_and_255():
    # A ramp 0 .. 9999: the 1st percentile is 99.99, the 99th 9899.01.
    data = _ramp()
    vmin, vmax = display_limits(data)
    assert vmin == pytest.approx(99.99) and vmax == pytest.approx(9899.01)

    pixels = to_uint8(data.copy())

    assert pixels.dtype == np.uint8 and pixels.shape == (100, 100)
    flat = pixels.ravel()
    assert (flat[:100] == 0).all()  # 0 .. 99, below the 1st percentile: black
    assert (flat[9900:] == 255).all()  # 9900 .. 9999, above the 99th: white
    assert flat[5000] in (127, 128)  # halfway between the limits: mid grey
    assert (np.diff(flat.astype(int)) >= 0).all()  # monotonic in between


def test_limits_from_a_sample_of_a_large_image_match_the_true_percentiles():
    rng = np.random.default_rng(3)
    data = rng.normal(100.0, 10.0, size=(1500, 1000)).astype(np.float32)
    assert data.size > 10 * N_SAMPLES
    vmin, vmax = display_limits(data)
    true_vmin, true_vmax = np.percentile(data, [1, 99])
    assert vmin == pytest.approx(true_vmin, abs=0.5)
    assert vmax == pytest.approx(true_vmax, abs=0.5)


def test_the_sample_is_deterministic_and_spread_over_columns():
    data = _ramp(2000, 1024)
    first, second = pixel_sample(data), pixel_sample(data)
    np.testing.assert_array_equal(first, second)
    assert 0.9 * N_SAMPLES <= len(first) <= N_SAMPLES
    assert len(np.unique(first % 1024)) > 1000  # not the same few columns every row
    # A flipped view is sampled as its contiguous copy would be.
    flipped = data[::-1]
    np.testing.assert_array_equal(
        pixel_sample(flipped), pixel_sample(np.ascontiguousarray(flipped))
    )


def test_nan_and_inf_are_left_out_of_the_limits_and_drawn_black():
    data = _ramp()
    clean_limits = display_limits(data)
    dirty = data.copy()
    dirty[0, :10] = np.nan
    dirty[50, :10] = np.inf
    dirty[99, -10:] = -np.inf
    # The limits are the percentiles of the finite pixels only.
    vmin, vmax = display_limits(dirty)
    expected = np.percentile(dirty[np.isfinite(dirty)], [1, 99])
    assert (vmin, vmax) == pytest.approx(tuple(expected))
    assert vmin == pytest.approx(clean_limits[0], abs=15)  # 30 of 10,000 values gone

    with np.errstate(all="raise"):  # no "invalid value in cast" warnings either
        pixels = to_uint8(dirty)
    assert (pixels[0, :10] == 0).all()
    assert (pixels[50, :10] == 0).all()  # +inf is black, not white
    assert (pixels[99, -10:] == 0).all()
    assert (pixels[99, :-10] == 255).all()  # the finite neighbours are still white


def test_a_constant_image_is_flat():
    pixels = to_uint8(np.full((30, 40), 7.5, dtype=np.float32))
    assert pixels.shape == (30, 40) and (pixels == pixels[0, 0]).all()


def test_an_all_nan_image_is_flat_black():
    with np.errstate(all="raise"):
        pixels = to_uint8(np.full((30, 40), np.nan, dtype=np.float32))
    assert (pixels == 0).all()


def test_a_mostly_nan_image_still_finds_its_few_finite_pixels():
    data = np.full((1000, 1000), np.nan, dtype=np.float32)
    data[500, 500:510] = np.arange(10)  # the stride hits one of them at most
    vmin, vmax = display_limits(data)
    assert (vmin, vmax) == pytest.approx(tuple(np.percentile(np.arange(10), [1, 99])))


def test_a_sparse_image_whose_percentiles_coincide_uses_min_and_max():
    # Photon counting (SBC): almost every pixel is 0, a few are 1 .. 50.
    data = np.zeros((100, 100), dtype=np.float32)
    data[0, :50] = np.arange(1, 51)
    assert display_limits(data) == (0.0, 50.0)
    pixels = to_uint8(data)
    assert pixels[0, 49] == 255 and pixels[50, 50] == 0 and 0 < pixels[0, 24] < 255


def test_zscale_and_asinh_give_valid_images_of_their_own():
    rng = np.random.default_rng(5)
    data = rng.normal(100.0, 10.0, size=(200, 200)).astype(np.float32)
    data[100:110, 100:110] = 5000.0  # a star
    linear = to_uint8(data.copy(), "percentile")
    zscale = to_uint8(data.copy(), "zscale")
    asinh = to_uint8(data.copy(), "asinh")
    for pixels in (linear, zscale, asinh):
        assert pixels.dtype == np.uint8 and pixels[105, 105] == 255
    zmin, zmax = display_limits(data, "zscale")
    assert 60 < zmin < 100 < zmax < 140  # zscale hugs the sky, not the star
    # asinh lifts the faint end: the sky median is brighter than with linear.
    assert np.median(asinh) > np.median(linear) + 20


def test_an_unknown_stretch_is_refused():
    with pytest.raises(ValueError, match="percentile, zscale, asinh"):
        display_limits(_ramp(), "log")


def test_a_flipped_view_is_stretched_in_its_own_orientation():
    data = _ramp()
    pixels = to_uint8(data[::-1])
    assert pixels.flags.c_contiguous
    assert (pixels[-1, :] == 0).all() and (pixels[0, :] == 255).all()
