"""The wavelengths an ACS image saw: its filters' passbands, from a table shipped with the package.

``acsq_mongo/data/acs_passbands.csv`` lists, per detector and filter, the
pivot wavelength and FWHM (or, for a ramp filter, the range it tunes across),
with its source in its header: the STScI Exposure Time Calculator's ACS
filter summary, computed from the synphot throughput tables. An image's band
is that of its spectral filter: the one filter of the two wheels that is not
CLEAR, BLOCK or a polarizer; a polarizer alone has its own band. ObsCore's
``em_min``/``em_max`` are ``pivot -/+ FWHM/2``, in metres.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Passband", "PASSBANDS_PATH", "passbands", "image_passband", "active_filter",
           "filters_in_band"]

#: The table of passbands.
PASSBANDS_PATH = Path(__file__).resolve().parent.parent / "data" / "acs_passbands.csv"

_ANGSTROM = 1e-10


@dataclass(frozen=True)
class Passband:
    """A filter's band, in metres: ``low`` to ``high``, and the pivot (None for a ramp)."""

    low: float
    high: float
    pivot: float | None

    def overlaps(self, low: float, high: float) -> bool:
        """Whether the band meets the interval [low, high] (metres)."""
        return self.low <= high and self.high >= low


@functools.lru_cache(maxsize=1)
def passbands() -> dict[tuple[str, str], Passband]:
    """Return ``(detector, filter) -> Passband`` from the shipped table."""
    lines = [line for line in PASSBANDS_PATH.read_text().splitlines()
             if line and not line.startswith("#")]
    table = {}
    for row in csv.DictReader(lines):
        if row["pivot"]:
            pivot, fwhm = float(row["pivot"]), float(row["fwhm"])
            band = Passband((pivot - fwhm / 2) * _ANGSTROM, (pivot + fwhm / 2) * _ANGSTROM,
                            pivot * _ANGSTROM)
        else:
            band = Passband(float(row["low"]) * _ANGSTROM, float(row["high"]) * _ANGSTROM, None)
        table[(row["detector"], row["filter"])] = band
    return table


def _polarizer(name: str) -> str | None:
    if name.startswith("POL"):
        return "POL_UV" if name.endswith("UV") else "POL_V"
    return None


def active_filter(filter1: str | None, filter2: str | None) -> str | None:
    """Return the filter that sets an image's band (table name), or None if none or unclear."""
    names = [n.strip().upper() for n in (filter1, filter2) if isinstance(n, str) and n.strip()]
    names = [n for n in names if not n.startswith(("CLEAR", "BLOCK", "NOTCMDED", "N/A"))]
    spectral = [n for n in names if _polarizer(n) is None]
    if len(spectral) == 1:
        return spectral[0]
    if not spectral and len(names) == 1:
        return _polarizer(names[0])
    return None


def image_passband(detector: str | None, filter1: str | None, filter2: str | None
                   ) -> Passband | None:
    """Return the band of an image from its detector and filters, or None if unknown."""
    name = active_filter(filter1, filter2)
    if name is None or not isinstance(detector, str):
        return None
    return passbands().get((detector.upper(), name))


def filters_in_band(low: float, high: float) -> list[str]:
    """Return every FILTER1/FILTER2 value whose band meets [low, high] (metres).

    The polarizers are listed under their wheel names (POL0V, ...). This is
    the wide, indexed part of a BAND query; :func:`image_passband` then
    decides each image.
    """
    names: set[str] = set()
    for (_, name), band in passbands().items():
        if band.overlaps(low, high):
            if name == "POL_UV":
                names.update(("POL0UV", "POL60UV", "POL120UV"))
            elif name == "POL_V":
                names.update(("POL0V", "POL60V", "POL120V"))
            else:
                names.add(name)
    return sorted(names)
