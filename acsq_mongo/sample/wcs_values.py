"""The WCS keywords of a sample image extension: a real footprint on the sky.

Each image points where its primary header says (``RA_TARG``, ``DEC_TARG``),
turned by its ``ORIENTAT`` (the position angle of the image's y axis, degrees
east of north) and scaled by the detector's plate scale
(:data:`~acsq_mongo.sample.acs.PIXEL_SCALE`). The tangent point (``CRVAL``)
is the target for every chip, and ``CRPIX`` puts it where it falls on that
chip: the centre of a one-chip image, and, for the two WFC chips, the middle
of the 50-pixel gap between them (``SCI,1`` is WFC2, below it; ``SCI,2`` is
WFC1, above). Drizzled products are north-aligned at their own scale and
cover both chips.

Sample images are usually small (a WFC chip of 128 x 256 pixels stands for
4096 x 2048): ``SIZAXIS1/2`` then keeps the size of the real image, as in
astropy's test copy of ``j94f05bgq_flt.fits``, and the WCS is that of the
real image, so the footprint is the real one. SIP coefficients are zero
(``CTYPE`` ends in ``-SIP`` for flt and flc, as in real files). Internal
exposures (bias, dark) see no sky: their WCS is not celestial (``CTYPE1/2``
``LINEAR``), so they get no footprint.
"""

from __future__ import annotations

import math
from typing import Any

from acsq_mongo.sample.acs import PIXEL_SCALE
from acsq_mongo.sample.plan import SampleRootname, _shape

__all__ = ["DRIZZLE_SCALE", "CHIP_GAP", "orientat", "wcs_values"]

#: Pixel scale of drizzled products, arcsec per pixel.
DRIZZLE_SCALE = {"WFC": 0.05, "HRC": 0.025, "SBC": 0.025}
#: Pixels between the two WFC chips (along y).
CHIP_GAP = 50
# Every SIP coefficient an ACS header may have (a header writes those it has).
_SIP_ZERO = {f"{p}_{i}_{j}": 0.0 for p in ("A", "B", "AP", "BP")
             for i in range(6) for j in range(6 - i)}
_IMAGE_FILETYPES = ("raw", "flt", "flc", "crj", "crc", "drz", "drc")


def orientat(r: SampleRootname) -> float:
    """The ``ORIENTAT`` of a rootname's images, degrees in (-180, 180]."""
    return round((r.promoted["expstart"] * 0.9856 + 45.0) % 360.0 - 180.0, 6)


def _cd(scale_arcsec: float, angle: float) -> dict[str, float]:
    """The CD matrix of square pixels whose y axis points ``angle`` degrees east of north."""
    s, t = scale_arcsec / 3600.0, math.radians(angle)
    matrix = {"CD1_1": -s * math.cos(t), "CD1_2": s * math.sin(t),
              "CD2_1": s * math.sin(t), "CD2_2": s * math.cos(t)}
    # 12 significant digits: what a FITS card keeps, so a value reads back as written.
    return {key: float(f"{value:.12g}") + 0.0 for key, value in matrix.items()}


def wcs_values(r: SampleRootname, filetype: str, extver: int) -> dict[str, Any]:
    """The WCS keywords of one image extension (SCI, ERR, DQ, WHT, CTX) of ``filetype``.

    Parameters
    ----------
    r : SampleRootname
    filetype : str
    extver : int
        The chip (``EXTVER``).

    Returns
    -------
    values : dict
        Empty for a filetype without images.
    """
    if filetype not in _IMAGE_FILETYPES:
        return {}
    p = r.promoted
    detector = p["detector"]
    (height, width), n_chips = _shape(detector, p["aperture"], True)
    drizzled = filetype in ("drz", "drc")
    angle = orientat(r)
    if drizzled:
        scale = DRIZZLE_SCALE[detector]
        ratio = PIXEL_SCALE[detector] / scale
        side = math.ceil(max(width, n_chips * height + CHIP_GAP) * ratio * 1.02)
        width = height = side
        angle = 0.0  # north up
        crpix = (width / 2 + 0.5, height / 2 + 0.5)
    else:
        scale = PIXEL_SCALE[detector]
        offset = 0.0
        if n_chips == 2:
            offset = (height + CHIP_GAP) / 2 * (1 if extver == 1 else -1)
        crpix = (width / 2 + 0.5, height / 2 + 0.5 + offset)
    internal = p.get("obstype") == "INTERNAL"
    sip = filetype in ("flt", "flc")
    values: dict[str, Any] = {
        "WCSAXES": 2,
        "CTYPE1": "LINEAR" if internal else "RA---TAN-SIP" if sip else "RA---TAN",
        "CTYPE2": "LINEAR" if internal else "DEC--TAN-SIP" if sip else "DEC--TAN",
        "CUNIT1": "deg", "CUNIT2": "deg",
        "CRVAL1": p["ra_targ"], "CRVAL2": p["dec_targ"],
        "CRPIX1": crpix[0], "CRPIX2": crpix[1],
        **_cd(scale, angle),
        "CDELT1": 1.0, "CDELT2": 1.0,
        "SIZAXIS1": width, "SIZAXIS2": height,
        "LTV1": 0.0, "LTV2": 0.0, "LTM1_1": 1.0, "LTM2_2": 1.0,
        "ORIENTAT": angle,
        "RADESYS": "ICRS", "EQUINOX": 2000.0, "LONPOLE": 180.0,
        "LATPOLE": p["dec_targ"],
            "A_ORDER": 4, "B_ORDER": 4,
    }
    values.update(_SIP_ZERO)
    return values
