"""Image statistics of one ACS image file: per chip and per amplifier, as numbers to query.

:func:`file_statistics` reads a raw, flt, flc, crj, crc, drz or drc file and
returns ``{region: {statistic: value}}``, the value of the document's
``stats.<filetype>`` (the names, units and meaning are in
:data:`acsq_mongo.fields.STATISTICS`, and in docs/data-model.md):

- regions: ``chip1``, ``chip2`` (by ``CCDCHIP``) or ``image`` (a drizzled
  product); for a CCD readout, ``ampA`` ... ``ampD`` (by ``CCDAMP``): WFC1
  (chip 1) is read by amplifiers A (left half, in FITS orientation) and B
  (right half), WFC2 by C and D; a chip read by one amplifier is all that
  amplifier's. SBC (a MAMA) has no amplifiers.
- each region: ``median``, the sigma-clipped ``clipped_mean`` and
  ``clipped_std`` (:func:`astropy.stats.sigma_clipped_stats`, 3 sigma, at
  most 5 iterations) and ``percentile_1`` / ``percentile_99``, of the science
  pixels (the overscan of a raw file left out), in the file's units.
- with a DQ array (flt, flc, crj, crc): the fraction of the region's pixels
  with each flag that matters set (:data:`DQ_FLAGS`).
- raw, each amplifier: ``bias_level`` and ``bias_noise``, the sigma-clipped
  median and standard deviation of its physical overscan (prescan) columns.
  ``LTV1`` is the number of overscan columns before the science columns,
  read by the left amplifier; a chip read by two amplifiers has as many after
  them, read by the right one (WFC: 24 + 4096 + 24 columns).
- flt, flc, each chip: ``background``, the sigma-clipped median of the sky
  with the sources masked (pixels above the clipped median plus 3 sigma, and
  their neighbours) and the flagged pixels left out; and
  ``cosmic_rays_per_s``, the pixels flagged as cosmic rays per second of
  ``EXPTIME``.

Cost. The level and noise statistics of a large chip are taken from a regular
grid of its pixels (every ``stride``-th row and column, at most
:data:`MAX_SAMPLE` pixels per chip; all of a chip of up to :data:`MAX_WHOLE`
pixels, so the sample archive's small images are measured whole); the DQ
flags are counted on every ``k``-th row (at most :data:`MAX_DQ_SAMPLE` pixels
per chip). So the statistics cost under 10 % of the quicklook
(benchmarks/bench_quicklook.py). Nothing here raises for a bad file but
:class:`~acsq_mongo.images.imaging.ImageReadError` and ``OSError``, like
:func:`~acsq_mongo.images.imaging.read_mosaic`.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clipped_stats

from acsq_mongo.images.imaging import ImageFile, ImageReadError

__all__ = ["DQ_FLAGS", "MAX_SAMPLE", "CHIP_AMPS", "file_statistics", "sample_stride",
           "region_statistics", "statistics_of"]

#: The DQ flags counted, statistic name -> bits, from the ACS Data Handbook's table of data
#: quality flags (https://www.stsci.edu/hst/instrumentation/acs/data-analysis/dq-flag-definitions):
#: 16 hot pixel (dark current > 0.14 e-/s), 64 warm pixel (0.06 to 0.14 e-/s), 128 bias
#: structure (mostly bad columns), 256 full-well saturation, 4096 cosmic ray rejected by
#: AstroDrizzle, 8192 cosmic ray rejected by ACSREJ.
DQ_FLAGS: dict[str, int] = {
    "saturated_fraction": 256,
    "hot_fraction": 16,
    "warm_fraction": 64,
    "bad_column_fraction": 128,
    "cosmic_ray_fraction": 4096 | 8192,
}
#: The cosmic-ray bits, for ``cosmic_rays_per_s``.
COSMIC_RAY_BITS = DQ_FLAGS["cosmic_ray_fraction"]
#: Most pixels of one chip the level and noise statistics read (a 2048 x 4096 WFC chip:
#: every 33rd row and column).
MAX_SAMPLE = 2**13
#: Chips of up to this many pixels are measured whole (the sample archive's small images).
MAX_WHOLE = 2**16
#: Most pixels of one chip whose DQ flags are counted (a WFC chip: every 8th row).
MAX_DQ_SAMPLE = 2**20
#: The amplifiers of each WFC chip, left then right (ACS Instrument Handbook, section 7.3).
CHIP_AMPS: dict[int, str] = {1: "AB", 2: "CD"}
_SIGMA, _MAXITERS = 3.0, 5
_DRIZZLED = ("drz", "drc")


def sample_stride(shape: tuple[int, int], max_sample: int = MAX_SAMPLE) -> int:
    """Return the step between sampled rows and columns of a chip of ``shape``.

    1 (every pixel) for a chip of up to :data:`MAX_WHOLE` pixels.
    """
    n = int(shape[0]) * int(shape[1])
    if n <= MAX_WHOLE:
        return 1
    return max(1, math.ceil(math.sqrt(n / max_sample)))


def region_statistics(pixels: np.ndarray) -> dict[str, float]:
    """Return ``median``, ``clipped_mean``, ``clipped_std``, ``percentile_1`` and ``_99``.

    Parameters
    ----------
    pixels : ndarray
        The region's pixels (any shape); NaN and infinite values are left out.

    Returns
    -------
    stats : dict
        Empty if no pixel is finite.
    """
    values = np.asarray(pixels, dtype=np.float32).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {}
    mean, _, std = _clipped(values)
    low, median, high = np.percentile(values, [1.0, 50.0, 99.0])  # one partition
    return {"median": float(median), "clipped_mean": float(mean),
            "clipped_std": float(std), "percentile_1": float(low), "percentile_99": float(high)}


def file_statistics(path: str | os.PathLike, filetype: str) -> dict[str, dict[str, float]]:
    """Return the statistics of one image file, ``{region: {statistic: value}}``.

    Parameters
    ----------
    path : path-like
        A raw, flt, flc, crj, crc, drz or drc file.
    filetype : str
        Which of these it is (a raw file's overscan is measured, a drizzled
        product's zero-weight border left out).

    Returns
    -------
    stats : dict

    Raises
    ------
    ImageReadError
        If the file is not FITS or has no usable SCI extension.
    OSError
        If it cannot be opened.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            hdulist = fits.open(path, do_not_scale_image_data=True)
        except (FileNotFoundError, PermissionError):
            raise
        except Exception as exc:
            raise ImageReadError(f"not a readable FITS file: {exc}") from None
        with hdulist:
            return _measured(hdulist, filetype, scaled=False)


def statistics_of(image: ImageFile, filetype: str) -> dict[str, dict[str, float]]:
    """Return the statistics of a file :func:`~acsq_mongo.images.imaging.open_image` opened.

    The quicklook measures them so, on the file it has open and the pixels it
    has read (:func:`~acsq_mongo.images.imaging.mosaic_of`): opening and
    parsing the file again would cost a third of the statistics.

    Returns
    -------
    stats : dict
        As :func:`file_statistics`, which raises the same errors.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _measured(image.hdulist, filetype, scaled=True)


def _measured(hdulist: fits.HDUList, filetype: str, scaled: bool
              ) -> dict[str, dict[str, float]]:
    """:func:`_statistics`, its errors as :class:`ImageReadError`."""
    try:
        return _statistics(hdulist, filetype, scaled)
    except ImageReadError:
        raise
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ImageReadError(f"cannot measure {filetype}: {exc}") from None


def _statistics(hdulist: fits.HDUList, filetype: str, scaled: bool
                ) -> dict[str, dict[str, float]]:
    """The statistics; ``scaled``: astropy applies BZERO/BSCALE (else :func:`_scaled` does)."""
    primary = hdulist[0].header
    amps = str(primary.get("CCDAMP") or "").strip().upper()
    detector = str(primary.get("DETECTOR") or "").strip().upper()
    exptime = primary.get("EXPTIME")
    exptime = float(exptime) if isinstance(exptime, (int, float)) and exptime > 0 else None
    sci = [(i, hdu) for i, hdu in enumerate(hdulist)
           if isinstance(hdu, (fits.ImageHDU, fits.CompImageHDU)) and hdu.name.upper() == "SCI"]
    if not sci:
        raise ImageReadError("no SCI image extension")
    out: dict[str, dict[str, float]] = {}
    for _, hdu in sci:
        if hdu.header.get("NAXIS", 0) != 2:
            continue
        extver = hdu.header.get("EXTVER", 1)
        chip = hdu.header.get("CCDCHIP")
        chip = chip if isinstance(chip, int) and not isinstance(chip, bool) else None
        region = "image" if filetype in _DRIZZLED else f"chip{chip or extver}"
        data = hdu.data
        stride = sample_stride(data.shape)
        sample = _scaled(hdu, data[::stride, ::stride], scaled)
        dq = _companion(hdulist, "DQ", extver, data.shape)
        if filetype in _DRIZZLED:
            weight = _companion(hdulist, "WHT", extver, data.shape)
            if weight is not None:
                sample[~(weight[::stride, ::stride] > 0)] = np.nan
        cols = np.arange(0, data.shape[1], stride)  # the sample's columns in the chip
        lead, trail = 0, 0
        chip_amps = _chip_amps(amps, chip, detector) if filetype not in _DRIZZLED else ""
        if filetype == "raw":
            lead = max(0, int(round(float(hdu.header.get("LTV1", 0) or 0))))
            trail = lead if len(chip_amps) == 2 else 0
            first = int(np.count_nonzero(cols < lead))
            last = int(np.count_nonzero(cols < data.shape[1] - trail))
            overscans = [sample[:, :first], sample[:, last:]]
            sample, cols = sample[:, first:last], cols[first:last]
            for amp, overscan in zip(chip_amps, overscans[:len(chip_amps)], strict=True):
                if overscan.size:
                    _, level, noise = _clipped(overscan)
                    out.setdefault(f"amp{amp}", {}).update(
                        bias_level=float(level), bias_noise=float(noise))
        out.setdefault(region, {}).update(region_statistics(sample))
        flags = None
        if dq is not None:
            dq = dq[:, lead:dq.shape[1] - trail]
            n_rows, flags = _flag_counts(dq, len(chip_amps))
            out[region].update(_fractions(flags[0], n_rows * dq.shape[1]))
        width = data.shape[1] - lead - trail
        left = cols < lead + width // 2
        for k, amp in enumerate(chip_amps):
            two = len(chip_amps) == 2
            part = (sample[:, left] if k == 0 else sample[:, ~left]) if two else sample
            stats = out.setdefault(f"amp{amp}", {})
            stats.update(region_statistics(part))
            if flags is not None:
                n_left = n_rows * (dq.shape[1] // 2)
                n = n_rows * dq.shape[1]
                if two:
                    n = n_left if k == 0 else n - n_left
                stats.update(_fractions(flags[1 + k] if two else flags[0], n))
        if filetype in ("flt", "flc"):
            out[region]["background"] = _background(sample, dq, stride, out[region])
            if flags is not None and exptime:
                out[region]["cosmic_rays_per_s"] = (
                    out[region]["cosmic_ray_fraction"] * dq.size / exptime)
    return {region: values for region, values in out.items() if values}


def _clipped(values: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float, float]:
    """:func:`~astropy.stats.sigma_clipped_stats` of all the values: mean, median, std.

    Asked along an axis, of the values as one row: astropy then clips in its
    compiled loop, twice as fast as the Python loop it runs for ``axis=None``,
    with the same bounds and the same result.
    """
    row = np.reshape(values, (1, -1))
    if mask is not None:
        mask = np.reshape(mask, (1, -1))
    mean, median, std = sigma_clipped_stats(row, mask=mask, sigma=_SIGMA, maxiters=_MAXITERS,
                                            axis=1)
    return float(mean[0]), float(median[0]), float(std[0])


def _chip_amps(amps: str, chip: int | None, detector: str) -> str:
    """The amplifiers that read this chip, left to right ('' for none known)."""
    if detector == "SBC" or not amps:
        return ""
    if detector == "WFC" and chip in CHIP_AMPS:
        mine = "".join(a for a in CHIP_AMPS[chip] if a in amps)
        if mine:
            return mine
    return amps[0] if len(amps) == 1 else ""


def _scaled(hdu: fits.ImageHDU, view: np.ndarray, scaled: bool) -> np.ndarray:
    """The sampled pixels as float32, BSCALE and BZERO applied (only to the sample).

    ``scaled``: astropy has applied them (the file was opened so).
    """
    sample = np.array(view, dtype=np.float32)
    if scaled or isinstance(hdu, fits.CompImageHDU):
        return sample  # astropy scales compressed data as it decompresses
    bscale, bzero = hdu.header.get("BSCALE", 1), hdu.header.get("BZERO", 0)
    if bscale != 1:
        sample *= np.float32(bscale)
    if bzero:
        sample += np.float32(bzero)
    return sample


def _companion(hdulist: fits.HDUList, name: str, extver: int, shape: tuple[int, ...]
               ) -> np.ndarray | None:
    """The DQ or WHT array of the same EXTVER and shape, if the file has one with data."""
    for hdu in hdulist:
        if (isinstance(hdu, (fits.ImageHDU, fits.CompImageHDU)) and hdu.name.upper() == name
                and hdu.header.get("EXTVER", 1) == extver and hdu.header.get("NAXIS", 0) == 2):
            data = hdu.data
            if data is not None and data.shape == shape:
                return data
    return None


def _flag_counts(dq: np.ndarray, n_amps: int) -> tuple[int, list[dict[str, int]]]:
    """Pixels with each flag of :data:`DQ_FLAGS`: the whole region, then each half.

    Every ``k``-th row is read (all of them in a chip of up to :data:`MAX_DQ_SAMPLE`
    pixels). One pass finds the flagged pixels, four 16-bit flags at a time; the flags
    are then counted among them only.

    Returns
    -------
    n_rows : int
        The rows read.
    counts : list of dict
    """
    step = max(1, math.ceil(dq.size / MAX_DQ_SAMPLE))
    rows = dq[::step]
    width = rows.shape[1]
    if rows.dtype.itemsize == 2 and width % 4 == 0:
        # A word is nonzero where one of its four pixels is (any byte order).
        r, c = np.nonzero(np.ascontiguousarray(rows).view(np.uint64))
        r = np.repeat(r, 4)
        c = (c[:, None] * 4 + np.arange(4)).ravel()
        values = rows[r, c]
        keep = values != 0
        c, values = c[keep], values[keep]
    else:
        _, c = np.nonzero(rows)
        values = rows[np.nonzero(rows)]
    values = values.astype(np.int64)
    groups = [values]
    if n_amps == 2:
        left = c < width // 2
        groups += [values[left], values[~left]]
    return rows.shape[0], [{name: int(np.count_nonzero(group & bits))
                            for name, bits in DQ_FLAGS.items()} for group in groups]


def _fractions(counts: dict[str, int], n: int) -> dict[str, float]:
    return {name: count / n for name, count in counts.items()} if n else {}


def _background(sample: np.ndarray, dq: np.ndarray | None, stride: int,
                level: dict[str, float]) -> float | None:
    """The sky: sigma-clipped median with sources (and flagged pixels) masked.

    Sources are the pixels above the region's clipped median plus 3 clipped
    standard deviations (``level``, from :func:`region_statistics`), and their
    four neighbours in the sample.
    """
    mask = ~np.isfinite(sample)
    if dq is not None:
        mask |= dq[::stride, ::stride][:sample.shape[0], :sample.shape[1]] != 0
    if mask.all() or not level:
        return None
    median, std = level["median"], level["clipped_std"]
    source = sample > median + _SIGMA * std
    grown = source.copy()
    grown[1:, :] |= source[:-1, :]
    grown[:-1, :] |= source[1:, :]
    grown[:, 1:] |= source[:, :-1]
    grown[:, :-1] |= source[:, 1:]
    mask |= grown
    if mask.all():
        return float(median)
    _, background, _ = _clipped(sample, mask)
    return float(background)


def statistic_names(stats: dict[str, dict[str, Any]]) -> list[str]:
    """The ``region.statistic`` names of a result, sorted (for logs and tests)."""
    return sorted(f"{region}.{name}" for region, values in stats.items() for name in values)
