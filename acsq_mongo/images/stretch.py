"""Display stretch: science pixels to 8-bit grey levels, via astropy.visualization.

The limits come from astropy intervals computed on a sample of pixels, then
:class:`~astropy.visualization.ManualInterval` maps the whole image onto
[0, 1] with clipping, in place on the ``float32`` array (no float64 copy).

``percentile`` (the default, as the seed)
    :class:`~astropy.visualization.PercentileInterval` keeping 98 %: values at
    or below the 1st percentile are black (0), values at or above the 99th
    percentile are white (255), linear in between.
``zscale``
    :class:`~astropy.visualization.ZScaleInterval` (IRAF's zscale), linear.
``asinh``
    The 1st-99th percentile limits, then
    :class:`~astropy.visualization.AsinhStretch` (``a = 0.1``), which lifts
    faint structure.

The sample is a fixed stride through the image (``N_SAMPLES`` pixels,
deterministic, so a file always gives the same JPEG). It is taken before
astropy sees the values because ``PercentileInterval(n_samples=...)`` first
filters the *whole* array for finite values and only then samples; handing it
the strided sample keeps the limits at a fraction of a millisecond.

The stretch may depend on the image type (``IMAGETYP``): internal frames
(DARK, BIAS) have no sky, and under the 1-99 % limits their read noise fills
the grey levels, so hot pixels and structure vanish in salt and pepper.
:func:`stretch_for` picks the stretch of an image type from the setting
``quicklook_stretch_by_imagetyp`` (default ``DARK=zscale,BIAS=zscale``),
else ``quicklook_stretch``.

NaN and inf are left out of the limits and drawn black. A constant image is
drawn flat black; an image with no finite pixel at all, flat black too. If the
two percentiles coincide (an image that is > 98 % one value, such as a sparse
SBC frame) the sample's minimum and maximum are used instead.
"""

from __future__ import annotations

import numpy as np
from astropy.visualization import (
    AsinhStretch,
    ManualInterval,
    MinMaxInterval,
    PercentileInterval,
    ZScaleInterval,
)

__all__ = ["STRETCHES", "N_SAMPLES", "pixel_sample", "sample_positions", "display_limits",
           "to_uint8", "stretch_for"]

#: The stretches the ``quicklook_stretch`` setting may name.
STRETCHES: tuple[str, ...] = ("percentile", "zscale", "asinh")

#: How many pixels the limits are computed from.
N_SAMPLES = 100_000

#: Percent of the pixels kept between the limits (1st to 99th percentile).
PERCENTILE_KEPT = 98.0

# Fewer finite pixels than this in the sample, and the limits come from all of them.
_MIN_FINITE = 1000

# [0, 1] onto 256 equal-width grey levels with one multiply and a truncating
# cast: 1.0 -> 255.999 -> 255, and 0.0 -> 0.
_GREY_SCALE = 255.999


def stretch_for(
    imagetyp: str | None, default: str = "percentile",
    by_imagetyp: tuple[tuple[str, str], ...] | dict[str, str] = (),
) -> str:
    """Return the stretch of an image of type ``imagetyp``.

    Parameters
    ----------
    imagetyp : str or None
        The file's ``IMAGETYP`` (``EXT``, ``DARK``, ``BIAS``, ...), any case.
    default : str
        The stretch of image types ``by_imagetyp`` does not name (setting
        ``quicklook_stretch``).
    by_imagetyp : mapping or pairs
        ``{IMAGETYP: stretch}`` (setting ``quicklook_stretch_by_imagetyp``).

    Returns
    -------
    stretch : str
        One of :data:`STRETCHES`.
    """
    table = {str(k).upper(): v for k, v in dict(by_imagetyp).items()}
    return table.get((imagetyp or "").strip().upper(), default)


def pixel_sample(data: np.ndarray, n_samples: int = N_SAMPLES) -> np.ndarray:
    """Return about ``n_samples`` pixels of ``data`` taken at a fixed stride.

    The stride is chosen coprime with the row length, so the sample walks
    across columns instead of repeating the same few.

    Parameters
    ----------
    data : ndarray
        2-D image (any strides).
    n_samples : int
        Target sample size.

    Returns
    -------
    sample : ndarray
        1-D copy, at most ``n_samples`` values (all of them if the image is
        smaller).
    """
    data = np.atleast_2d(data)
    if data.size <= n_samples:
        return data.ravel()
    # Index rows and columns rather than a flattened view, which would copy
    # the whole image when ``data`` is a flipped view.
    rows, cols = sample_positions(data.shape[-2], data.shape[-1], n_samples)
    return data[rows, cols]


def sample_positions(height: int, width: int,
                     n_samples: int = N_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows and columns :func:`pixel_sample` takes from a ``height`` x ``width`` image.

    The image explorer gathers the same pixels from a file without reading it
    whole, so its default limits are the quicklook's.

    Returns
    -------
    rows, cols : ndarray
        Integer arrays of the same length, at most ``n_samples`` (every pixel,
        in row order, if the image has no more).
    """
    size = height * width
    if size <= n_samples:
        index = np.arange(size)
    else:
        step = size // n_samples
        while np.gcd(step, width) != 1:
            step += 1
        index = np.arange(0, size, step)[:n_samples]
    return index // width, index % width


def display_limits(data: np.ndarray, stretch: str = "percentile") -> tuple[float, float]:
    """Return the values drawn black and white, ignoring NaN and inf.

    Parameters
    ----------
    data : ndarray
        The image.
    stretch : {"percentile", "zscale", "asinh"}

    Returns
    -------
    vmin, vmax : float
        ``vmin <= vmax``; equal only for a constant image. ``(0.0, 0.0)`` if
        no pixel is finite.
    """
    if stretch not in STRETCHES:
        raise ValueError(f"unknown stretch {stretch!r}; choose one of {', '.join(STRETCHES)}")
    sample = pixel_sample(data)
    sample = sample[np.isfinite(sample)]
    if sample.size < _MIN_FINITE and data.size > sample.size:
        # A mostly NaN image: the stride found too few finite pixels, so take
        # them all (one more pass, only for such images).
        sample = data[np.isfinite(data)]
        if sample.size > N_SAMPLES:
            sample = sample[:: sample.size // N_SAMPLES]
    if sample.size == 0:
        return 0.0, 0.0
    if stretch == "zscale":
        vmin, vmax = ZScaleInterval().get_limits(sample)
    else:
        vmin, vmax = PercentileInterval(PERCENTILE_KEPT, n_samples=N_SAMPLES).get_limits(sample)
    if not vmax > vmin:
        vmin, vmax = MinMaxInterval().get_limits(sample)
    return float(vmin), float(vmax)


def to_uint8(data: np.ndarray, stretch: str = "percentile") -> np.ndarray:
    """Stretch an image to 8-bit grey levels. ``data`` is overwritten.

    Parameters
    ----------
    data : ndarray
        2-D ``float32`` (or ``float64``) image, writable; used as scratch
        space. A flipped view (``mosaic[::-1]``) is fine: the result keeps
        the orientation of the view.
    stretch : {"percentile", "zscale", "asinh"}

    Returns
    -------
    pixels : ndarray
        C-contiguous ``uint8`` array of the same shape: 0 at ``vmin`` and
        below, 255 at ``vmax`` and above; NaN and inf are 0.
    """
    vmin, vmax = display_limits(data, stretch)
    finite = np.isfinite(data)
    all_finite = bool(finite.all())
    # astropy maps [vmin, vmax] onto [0, 1] and clips, in place; it skips the
    # division for a constant image, which then comes out flat.
    ManualInterval(vmin, vmax)(data, clip=True, out=data)
    if stretch == "asinh":
        AsinhStretch()(data, clip=True, out=data)
    np.multiply(data, _GREY_SCALE, out=data)
    if not all_finite:
        data[~finite] = 0.0
    return data.astype(np.uint8, order="C")
