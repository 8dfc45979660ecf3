"""Satellite trails in an flc or flt file, found with the ACS team's ``acstools.findsat_mrt``.

:func:`detect_trails` runs the tool's WFC wrapper
(:class:`acstools.findsat_mrt.WfcWrapper`) on each science chip of a full-frame
WFC or HRC flc/flt file, as its documentation does: bad pixels masked from the
DQ array (cosmic-ray flags kept), the median subtracted, the chip binned by
``binsize`` (summed), then the median Radon transform, its sources, and the
filter that keeps the trails (status 2: wide enough, S/N above the tool's
threshold, persistent along the trail). A full WFC chip (2048 x 4096) is
binned by 4, to the 512 x 1024 image the tool's authors time; a chip of up to
1024 columns is not binned (:func:`default_binsize`).

The trails come back in the chip's own pixels (0-based, FITS orientation:
``x`` the column, ``y`` the row), endpoints unbinned. The tool is optional
(``pip install acsq-mongo[trails]``): without it, :func:`detect_trails` raises
:class:`TrailToolMissing`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any

from astropy.io import fits

from acsq_mongo.errors import AcsqError

__all__ = ["DETECTOR_NAME", "Trail", "TrailSearch", "TrailToolMissing", "default_binsize",
           "detect_trails", "detector_version", "trail_extensions"]

#: Who proposes a trail found here.
DETECTOR_NAME = "acstools.findsat_mrt"
#: Binned chips are at most this many columns wide.
BINNED_WIDTH = 1024


class TrailToolMissing(AcsqError):
    """acstools (with photutils and scikit-image) is not installed."""


@dataclass(frozen=True)
class Trail:
    """One trail found on one chip.

    Attributes
    ----------
    chip : str
        ``chip1`` or ``chip2`` (by CCDCHIP).
    ext : int
        The SCI extension's HDU index (1 or 4).
    endpoints : tuple of float
        ``(x0, y0, x1, y1)``, 0-based chip pixels, unbinned.
    snr : float
        The trail's signal-to-noise ratio, as the tool measures it.
    width : float
        Its width, in unbinned pixels.
    image_endpoints : tuple of float
        The same ends in the quicklook image (chips stacked, top row first), for drawing.
    """

    chip: str
    ext: int
    endpoints: tuple[float, float, float, float]
    snr: float
    width: float
    image_endpoints: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass
class TrailSearch:
    """What :func:`detect_trails` did on one file."""

    filetype: str
    version: str
    binsize: int
    trails: list[Trail] = field(default_factory=list)
    chips: int = 0
    image_size: tuple[int, int] = (0, 0)


def _mosaic(extensions: list[tuple[int, str, int, int]]
            ) -> tuple[tuple[int, int], dict[str, int]]:
    """The quicklook's size (width, height) and each chip's first row in it.

    Chips are stacked bottom to top by decreasing CCDCHIP, as
    :func:`acsq_mongo.images.imaging.read_mosaic` stacks them.
    """
    offsets, row = {}, 0
    for _, chip, _, height in sorted(extensions, key=lambda e: -int(e[1][4:] or 0)):
        offsets[chip] = row
        row += height
    return (max((e[2] for e in extensions), default=0), row), offsets


def detector_version() -> str:
    """The version of acstools that finds the trails."""
    try:
        import acstools
    except ImportError as exc:
        raise TrailToolMissing(_missing(exc)) from None
    return str(acstools.__version__)


def _missing(exc: BaseException) -> str:
    return (f"trail detection needs acstools, photutils and scikit-image "
            f"(pip install 'acsq-mongo[trails]'): {exc}")


def default_binsize(width: int) -> int:
    """The bin factor of a chip ``width`` columns wide: at most :data:`BINNED_WIDTH` binned."""
    return max(1, -(-int(width) // BINNED_WIDTH))


def trail_extensions(path: str | os.PathLike) -> list[tuple[int, str, int, int]]:
    """``(HDU index, chip, width, height)`` of the SCI chips the wrapper can read (1 and 4).

    Empty for a subarray, which the tool does not handle.
    """
    with fits.open(path) as hdul:
        if hdul[0].header.get("SUBARRAY") is True:
            return []
        out = []
        for ext in (1, 4):
            if ext < len(hdul) and hdul[ext].name == "SCI" and hdul[ext].header.get("NAXIS") == 2:
                chip = hdul[ext].header.get("CCDCHIP", 1)
                out.append((ext, f"chip{chip}", int(hdul[ext].header["NAXIS1"]),
                            int(hdul[ext].header["NAXIS2"])))
        return out


def detect_trails(path: str | os.PathLike, binsize: int | None = None,
                  threshold: float = 5.0) -> TrailSearch:
    """Find the satellite trails of an flc or flt file.

    Parameters
    ----------
    path : path-like
        ``<rootname>_flc.fits`` or ``<rootname>_flt.fits`` (the tool reads the
        filetype from the name).
    binsize : int, optional
        Bin factor; default :func:`default_binsize` of each chip's width.
    threshold : float
        Least S/N of a trail (the tool's default, 5).

    Returns
    -------
    search : TrailSearch

    Raises
    ------
    TrailToolMissing
        If acstools cannot be imported.
    """
    version = detector_version()
    try:
        from acstools.findsat_mrt import WfcWrapper
    except ImportError as exc:
        raise TrailToolMissing(_missing(exc)) from None
    path = os.fspath(path)
    filetype = os.path.basename(path).rsplit(".", 1)[0].rsplit("_", 1)[-1].lower()
    search = TrailSearch(filetype=filetype, version=version, binsize=binsize or 1)
    quiet = [logging.getLogger(name) for name in ("findsat_mrt", "utils_findsat_mrt")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory() as scratch:
            warnings.simplefilter("ignore")
            extensions = trail_extensions(path)
            search.image_size, offsets = _mosaic(extensions)
            for ext, chip, width, _ in extensions:
                factor = binsize or default_binsize(width)
                search.binsize = factor
                finder = WfcWrapper(path, extension=ext, binsize=factor if factor > 1 else None,
                                    preprocess=True, processes=1, threshold=threshold,
                                    plot=False, save_catalog=False, save_diagnostic=False,
                                    output_dir=scratch)
                finder.run_mrt()
                finder.find_mrt_sources()
                finder.filter_sources()
                search.chips += 1
                search.trails += _trails(finder.source_list, chip, ext, factor,
                                         offsets[chip], search.image_size[1])
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    return search


def _trails(sources: Any, chip: str, ext: int, factor: int, offset_rows: int = 0,
            height: int = 0) -> list[Trail]:
    """The accepted sources (status 2) as trails in unbinned chip pixels."""
    if sources is None:
        return []
    out = []
    offset = (factor - 1) / 2  # a binned pixel's centre, in unbinned pixels
    for source in sources:
        if int(source["status"]) != 2:
            continue
        (x0, y0), (x1, y1) = source["endpoints"]
        ends = tuple(round(float(v) * factor + offset, 1) for v in (x0, y0, x1, y1))
        x0, y0, x1, y1 = ends
        image = (x0, height - 1 - (y0 + offset_rows), x1, height - 1 - (y1 + offset_rows))
        out.append(Trail(chip=chip, ext=ext, endpoints=ends, snr=round(float(source["snr"]), 2),
                         width=round(float(source["width"]) * factor, 1),
                         image_endpoints=tuple(round(v, 1) for v in image)))
    return out
