"""A chip's WCS in the few numbers a browser needs to turn pixels into RA/Dec.

The image explorer computes RA/Dec on the client from these numbers: the
reference pixel, the reference value, the CD matrix and the SIP polynomials
(``A``/``B``) of a TAN (or TAN-SIP) header, read by :class:`astropy.wcs.WCS`.
That is astropy's ``all_pix2world`` less two corrections that ACS headers may
also carry: the detector-to-image table (``D2IMFILE``) and the non-polynomial
distortion tables (``NPOLFILE``, the ``WCSDVARR`` extensions). Both are below
about 0.1 pixel (0.005 arcsec on WFC), far inside the readout's 0.05 arcsec;
``tests/test_explorer_js.py`` measures the difference on the real
``j94f05bgq_flt.fits``. Another projection, or a header without a celestial
WCS (internal BIAS and DARK frames), gives None and no sky readout.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

__all__ = ["client_wcs"]

# The keywords of the lookup-table distortions (wcslib's CPDIS/CQDIS records and their
# D2IM forms) that the client leaves out; astropy cannot read them without the file's
# WCSDVARR/D2IMARR extensions anyway.
_TABLE_KEYS = ("CPDIS", "CPERR", "CQDIS", "CQERR", "DP1", "DP2", "DQ1", "DQ2", "D2IM",
               "AXISCORR", "NPOLEXT")


def _sip(matrix: np.ndarray | None) -> list[list[float]]:
    if matrix is None:
        return []
    return [[int(p), int(q), float(matrix[p, q])]
            for p in range(matrix.shape[0]) for q in range(matrix.shape[1])
            if matrix[p, q] != 0.0]


def client_wcs(header: fits.Header) -> dict[str, Any] | None:
    """Return a header's TAN(-SIP) WCS as plain numbers, or None if it has none.

    Returns
    -------
    wcs : dict or None
        ``crpix`` (1-based, FITS), ``crval`` (degrees), ``cd`` (2 x 2, degrees
        per pixel, ``PC`` times ``CDELT`` if the header has those instead),
        ``a`` and ``b`` (lists of ``[p, q, coefficient]`` of the SIP terms
        ``u**p * v**q``, empty without SIP).
    """
    header = header.copy()
    for key in {key for key in header if key.upper().startswith(_TABLE_KEYS)}:
        del header[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wcs = WCS(header, relax=True)
        except Exception:
            return None
    ctype = [str(c).upper() for c in wcs.wcs.ctype]
    if (len(ctype) != 2 or not ctype[0].startswith("RA---TAN")
            or not ctype[1].startswith("DEC--TAN")):
        return None
    if wcs.wcs.lonpole not in (180.0,) and np.isfinite(wcs.wcs.lonpole):
        return None  # the client assumes the zenithal default, LONPOLE = 180
    sip = wcs.sip
    return {
        "crpix": [float(v) for v in wcs.wcs.crpix],
        "crval": [float(v) for v in wcs.wcs.crval],
        "cd": [[float(v) for v in row] for row in wcs.pixel_scale_matrix],
        "a": _sip(sip.a if sip is not None else None),
        "b": _sip(sip.b if sip is not None else None),
    }
