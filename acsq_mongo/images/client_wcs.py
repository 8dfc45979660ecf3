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

# The keywords read: the linear WCS, its projection and the SIP polynomials (A_p_q, B_p_q).
# The lookup-table distortions (D2IM, CPDIS/DP records) are left out, as said above.
_WCS_KEYS = ("WCSAXES", "CTYPE", "CRPIX", "CRVAL", "CD1_", "CD2_", "PC1_", "PC2_", "CDELT",
             "CUNIT", "LONPOLE", "LATPOLE", "RADESYS", "EQUINOX", "A_", "B_")
_SIP_ORDERS = ("A_ORDER", "B_ORDER")


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
    # Only the keywords of a TAN-SIP WCS: astropy reads a short header in a fraction of the
    # time of a whole ACS header (hundreds of cards), and no lookup-table keyword comes along.
    header = fits.Header([card for card in header.cards
                          if card.keyword.startswith(_WCS_KEYS) or card.keyword in _SIP_ORDERS])
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
