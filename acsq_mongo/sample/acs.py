"""What ACS looks like, for the sample: the keyword inventory and tables of real values.

The keyword inventory (``acsq_mongo/data/acs_header_keywords.json``, a copy of
``../shared/reference/acs_header_keywords.json``) lists, for every detector and
filetype, the HDUs and every keyword with its type. The tables hold targets
(some near RA 0/360 and near both poles), PIs, proposal types, apertures and
filters of each detector, and pixel scales.
"""

from __future__ import annotations

import datetime
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "REFERENCE_PATH",
    "TARGETS",
    "INTERNAL_TARGETS",
    "PIS",
    "PROPOSAL_TYPES",
    "APERTURES",
    "FILTERS",
    "PIXEL_SCALE",
    "load_reference",
    "mjd",
]


#: The keyword inventory shipped with the package.
REFERENCE_PATH = Path(__file__).parent.parent / "data" / "acs_header_keywords.json"
_MJD_EPOCH = datetime.datetime(1858, 11, 17)

def load_reference(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Load the ACS keyword inventory.

    Parameters
    ----------
    path : path-like, optional
        Default: the copy shipped in the package.
    """
    return _load_reference(str(path or REFERENCE_PATH))


@lru_cache(maxsize=2)
def _load_reference(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def mjd(when: datetime.datetime) -> float:
    """Modified Julian Date of a naive UTC datetime."""
    return (when - _MJD_EPOCH).total_seconds() / 86400.0


# Sky positions in degrees (J2000). Near RA 0/360 and near the poles on purpose.
TARGETS: tuple[tuple[str, float, float], ...] = (
    ("NGC7793", 359.4576, -32.5911),
    ("POLARIS", 37.9546, 89.2641),
    ("WLM", 0.4923, -15.4611),
    ("SCP-FIELD", 75.0000, -89.6500),
    ("NGC104", 6.0236, -72.0813),
    ("M31-HALO", 10.6847, 41.2690),
    ("HUDF", 53.1625, -27.7914),
    ("NGC6543", 269.6392, 66.6331),
    ("M87", 187.7059, 12.3911),
    ("OMEGACEN", 201.6970, -47.4794),
    ("ABELL1689", 197.8730, -1.3381),
    ("NGC346", 14.7708, -72.1750),
    ("ORION-TRAP", 83.8187, -5.3872),
    ("NCP-FIELD", 210.0000, 89.8500),
    ("M16", 274.7000, -13.8070),
    ("NGC4038", 180.4710, -18.8675),
)
INTERNAL_TARGETS = (("BIAS", "BIAS"), ("DARK", "DARK"))

PIS = (
    ("Anderson", "Jay"), ("Riess", "Adam"), ("Sirianni", "Marco"), ("Bourque", "Matthew"),
    ("Grogin", "Norman"), ("Lucas", "Ray"), ("Avila", "Roberto"), ("Bohlin", "Ralph"),
    ("Chiaberge", "Marco"), ("Gilliland", "Ron"), ("Ford", "Holland"), ("Illingworth", "Garth"),
)
PROPOSAL_TYPES = (("GO", 60), ("SNAP", 8), ("GTO/ACS", 6), ("GO/DD", 4), ("GO/PAR", 4),
                   ("CAL/ACS", 18))

APERTURES = {
    "WFC": (("WFC", 40), ("WFC1", 15), ("WFC2", 5), ("WFCENTER", 10), ("WFC1-2K", 5),
            ("WFC1-1K", 3), ("WFC1-512", 4), ("WFC1B-512", 2)),
    "HRC": (("HRC", 50), ("HRC-FIX", 15), ("HRC-512", 8), ("HRC-CORON1.8", 3),
            ("HRC-ACQ", 2)),
    "SBC": (("SBC", 70), ("SBC-FIX", 30)),
}
FILTERS = {
    # (FILTER1, FILTER2) pairs in use; one wheel is CLEAR for most imaging.
    "WFC": (("F606W", "CLEAR2L"), ("F555W", "CLEAR2L"), ("F775W", "CLEAR2L"),
            ("F850LP", "CLEAR2L"), ("F475W", "CLEAR2L"), ("F625W", "CLEAR2L"),
            ("F658N", "CLEAR2L"), ("CLEAR1L", "F814W"), ("CLEAR1L", "F435W"),
            ("CLEAR1L", "F660N"), ("G800L", "CLEAR2L"), ("F606W", "POL0V")),
    "HRC": (("F606W", "CLEAR2S"), ("F555W", "CLEAR2S"), ("CLEAR1S", "F220W"),
            ("CLEAR1S", "F250W"), ("CLEAR1S", "F330W"), ("CLEAR1S", "F435W"),
            ("CLEAR1S", "F814W"), ("F502N", "CLEAR2S"), ("PR200L", "CLEAR2S")),
    "SBC": (("F115LP", "N/A"), ("F122M", "N/A"), ("F125LP", "N/A"), ("F140LP", "N/A"),
            ("F150LP", "N/A"), ("F165LP", "N/A"), ("PR110L", "N/A"), ("PR130L", "N/A")),
}
PIXEL_SCALE = {"WFC": 0.05, "HRC": 0.025, "SBC": 0.032}  # arcsec per pixel
