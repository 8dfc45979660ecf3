"""Image footprints on the sky, from the WCS keywords of the stored headers (``astropy.wcs``).

Which headers give a footprint:

- ``flt``, ``flc``: each ``SCI`` extension (one per chip: two for WFC);
- ``drz``, ``drc``: the product's ``SCI`` extension;
- ``raw``: the ``flt``'s footprint, when there is an ``flt``.

Each chip's ring is its four outer pixel corners, ``(0.5, 0.5)`` to
``(N1 + 0.5, N2 + 0.5)`` in FITS pixel numbering, through the full WCS
(SIP distortion included where ``CTYPE`` ends in ``-SIP``; the lookup-table
distortions live in other extensions and are below a pixel). The edges
between corners are great circles, as a 2dsphere index reads them: exact
for a tangent-plane image without distortion, within the SIP's curvature
(well under an arcsecond for ACS) otherwise. The size is ``NAXIS1/2``; where
the pixels have been cut away (``NAXIS`` smaller than ``SIZAXIS1/2``, as in
astropy's test copy of ``j94f05bgq_flt.fits``, 1 x 1 pixel of a 4096 x 2048
chip) it is ``SIZAXIS1/2``.

A missing or broken WCS gives no footprint and one line of
:attr:`Footprints.warnings` for the run log; it is never an ingest error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from acsq_mongo.sky.geometry import check_ring

__all__ = ["Footprints", "FOOTPRINT_FILETYPES", "PREFERRED", "chip_ring", "compute_footprints"]

#: Filetypes that get a footprint, and the order the catalog's ``footprint`` prefers them in.
FOOTPRINT_FILETYPES: tuple[str, ...] = ("flt", "flc", "drz", "drc", "raw")
PREFERRED = FOOTPRINT_FILETYPES

# The keywords a celestial WCS is read from (primary WCS only: no alternate letter).
_WCS_KEY = re.compile(
    r"^(WCSAXES|CTYPE[12]|CUNIT[12]|CRVAL[12]|CRPIX[12]|CDELT[12]|CD[12]_[12]|PC[12]_[12]"
    r"|CROTA2|LONPOLE|LATPOLE|RADESYS|EQUINOX|MJD-OBS|DATE-OBS)$"
)
_SIP_KEY = re.compile(r"^(A|B|AP|BP)_(ORDER|\d+_\d+|DMAX)$")


class WCSUnusable(ValueError):
    """An extension's WCS is missing, or gives no proper footprint."""


@dataclass
class Footprints:
    """The footprints of one rootname.

    Attributes
    ----------
    rings : dict
        ``{filetype: [ring, ...]}``, a ring being ``[[ra, dec], ...]`` (degrees,
        RA in [0, 360), not closed), one per chip or product.
    warnings : list of str
        One line per extension whose WCS gave no footprint, for the run log.
    """

    rings: dict[str, list[list[list[float]]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def preferred(self) -> list[list[list[float]]] | None:
        """The rings the catalog keeps: of the first filetype of :data:`PREFERRED`."""
        for filetype in PREFERRED:
            if self.rings.get(filetype):
                return self.rings[filetype]
        return None


def _size(header: Mapping[str, Any], axis: int) -> int:
    naxis = header.get(f"NAXIS{axis}")
    sizaxis = header.get(f"SIZAXIS{axis}")
    naxis = naxis if isinstance(naxis, int) and not isinstance(naxis, bool) else 0
    if isinstance(sizaxis, (int, float)) and not isinstance(sizaxis, bool) and sizaxis > naxis:
        return int(sizaxis)  # the pixels were cut away: the image's true size
    return naxis


def chip_ring(header: Mapping[str, Any]) -> list[list[float]]:
    """The footprint ring of one image extension, from its header values.

    Parameters
    ----------
    header : mapping
        ``{KEY: value}`` of the extension, as the header reader gives it.

    Returns
    -------
    ring : list of [ra, dec]
        Four corners in degrees, RA in [0, 360).

    Raises
    ------
    WCSUnusable
        If the WCS is missing or incomplete, astropy cannot use it, or it gives
        no proper polygon.
    """
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    n1, n2 = _size(header, 1), _size(header, 2)
    if n1 <= 0 or n2 <= 0:
        raise WCSUnusable("no image size (NAXIS1/2 or SIZAXIS1/2)")
    ctype1 = header.get("CTYPE1")
    if not isinstance(ctype1, str) or not ctype1.startswith("RA--"):
        raise WCSUnusable(f"no celestial WCS (CTYPE1 = {ctype1!r})")
    missing = [k for k in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2")
               if not isinstance(header.get(k), (int, float)) or isinstance(header.get(k), bool)]
    if missing:
        raise WCSUnusable("missing or null " + ", ".join(missing))
    sip = ctype1.endswith("-SIP")
    cards = fits.Header()
    cards["NAXIS"] = 2
    cards["NAXIS1"], cards["NAXIS2"] = n1, n2
    for key, value in header.items():
        if value is None or isinstance(value, (list, dict)):
            continue
        if _WCS_KEY.match(key) or (sip and _SIP_KEY.match(key)):
            cards[key] = value
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(cards, relax=True)
            x = np.array([0.5, n1 + 0.5, n1 + 0.5, 0.5])
            y = np.array([0.5, 0.5, n2 + 0.5, n2 + 0.5])
            ra, dec = wcs.all_pix2world(x, y, 1)
    except Exception as exc:  # astropy raises many kinds; each is a broken WCS here
        raise WCSUnusable(f"astropy.wcs: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    ring = [[float(a) % 360.0, float(d)] for a, d in zip(ra, dec, strict=True)]
    try:
        check_ring(ring)
    except ValueError as exc:
        raise WCSUnusable(str(exc)) from None
    return ring


def _sci_extensions(file_headers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    exts = [ext for ext, h in file_headers.items()
            if ext != "0" and str(h.get("EXTNAME", "")).strip().upper() == "SCI"]
    return sorted(exts, key=int)


def compute_footprints(headers: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Footprints:
    """Compute the footprints of a rootname from the headers of its files.

    Parameters
    ----------
    headers : mapping
        ``{filetype: {"<ext>": {KEY: value}}}``.

    Returns
    -------
    footprints : Footprints
        Rings of every filetype that has a usable WCS, and a warning for each
        ``SCI`` extension that has none (a filetype with a broken chip keeps no
        footprint: half of an exposure would claim less sky than it saw).
    """
    out = Footprints()
    for filetype in FOOTPRINT_FILETYPES:
        if filetype == "raw" or filetype not in headers:
            continue
        exts = _sci_extensions(headers[filetype])
        if filetype in ("drz", "drc"):
            exts = exts[:1]
        if not exts:
            out.warnings.append(f"{filetype}: no SCI extension; no footprint")
            continue
        rings = []
        for ext in exts:
            try:
                rings.append(chip_ring(headers[filetype][ext]))
            except WCSUnusable as exc:
                out.warnings.append(f"{filetype}[{ext}]: WCS unusable ({exc}); no footprint")
                rings = []
                break
        if rings:
            out.rings[filetype] = rings
    if "raw" in headers and "flt" in out.rings:
        out.rings["raw"] = [list(map(list, ring)) for ring in out.rings["flt"]]
    return out
