"""The WFC before and after its repair in Servicing Mission 4 (May 2009): era keywords.

The WFC stopped in January 2007 when its CCD Electronics Box failed; astronauts replaced
the electronics (CEB-R, read out by a SIDECAR ASIC) in May 2009. CALACS tells the eras by
``EXPSTART`` against ``SM4MJD = 54967`` (2009-05-14; hstcal's ``acs.h``), and documents what
only post-SM4 full-frame WFC data get: de-striping of the new electronics' bias stripes (ACS
ISR 2011-05), and, when ``JWROTYPE = DS_int`` and ``CCDGAIN = 2``, bias-shift (ISR 2012-02)
and cross-talk (ISR 2010-02) corrections (the CALACS pages of acstools and hstcal, and the
ACS Data Handbook, section 3.4). ``JWROTYPE`` is the readout mode of the repair's ASIC
(``DS_int``: dual-slope integrator; ``CLAMP_SAMPLE``), which the original electronics
did not have.

The keyword inventory (``acs_header_keywords.json``) is a union over the whole archive and
does not say which era a keyword belongs to. So the era split here comes from that
documentation, not from the inventory: :data:`POST_SM4_KEYWORDS`, written into a post-SM4
WFC header (where the inventory gives the filetype the keyword) and left out of a pre-SM4
one. The inventory lists ``JWROTYPE`` for HRC files too, all of them older than SM4, so
headers reprocessed later may carry it in either era: a query must not assume that a
keyword's presence tells the era; ``EXPSTART`` or ``DATE-OBS`` does.
"""

from __future__ import annotations

from typing import Any

from acsq_mongo.sample.plan import SampleRootname

__all__ = ["SM4_MJD", "POST_SM4_KEYWORDS", "post_sm4", "era_keywords"]

#: The MJD from which CALACS treats WFC data as post-SM4 (hstcal ``SM4MJD``: 2009-05-14).
SM4_MJD = 54967.0

#: Primary-header keywords of post-SM4 WFC files only, with the value the sample writes.
POST_SM4_KEYWORDS: dict[str, Any] = {"JWROTYPE": "DS_int"}


def post_sm4(r: SampleRootname) -> bool | None:
    """Whether a WFC rootname was taken after SM4; None for HRC and SBC (one era each)."""
    if r.promoted["detector"] != "WFC":
        return None
    return r.promoted["expstart"] >= SM4_MJD


def era_keywords(r: SampleRootname) -> tuple[dict[str, Any], frozenset[str]]:
    """The era keywords of a rootname's primary headers: ``(values, left out)``.

    A post-SM4 WFC header gets :data:`POST_SM4_KEYWORDS`' values (where the inventory
    gives its filetype the keyword: they replace the template's); a pre-SM4 one leaves
    those keywords out. HRC and SBC headers are as the inventory has them.
    """
    era = post_sm4(r)
    if era is None:
        return {}, frozenset()
    if era:
        return dict(POST_SM4_KEYWORDS), frozenset()
    return {}, frozenset(POST_SM4_KEYWORDS)
