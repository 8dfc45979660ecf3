"""Search by wavelength: ``wavelength=500nm..900nm``, from the filters' passbands.

The passbands are those SIA v2's ``BAND`` uses (:mod:`.passbands`, the table
shipped in ``acsq_mongo/data/acs_passbands.csv``). An image's band is that of
its spectral filter, the one of its two wheels that is not CLEAR, BLOCK or a
polarizer; a polarizer alone has its own band (:func:`.passbands.active_filter`).

- ``wavelength=LOW..HIGH``: the image's **pivot wavelength** lies from LOW to
  HIGH, both included (``500nm..900nm``; ``..`` may be written ``:``). A ramp
  filter, which tunes across a range and has no one pivot, matches when that
  range meets LOW..HIGH. One end may be left open: ``700nm..``, ``..400nm``.
- ``wavelength=VALUE``: the wavelength lies in the image's **band** (pivot
  ± FWHM/2; a ramp filter: the range it tunes across): ``wavelength=656nm``
  finds the H-alpha filters and the broad filters that cover it.

Values take a unit, read by :mod:`astropy.units` with the spectral
equivalencies: ``nm``, ``Angstrom``, ``um``, ``m``, and also frequencies and
energies (``500THz``, ``2eV``). A unit written once applies to both ends
(``500..900nm``).

The filter is exact and indexed: for each filter that qualifies, on each
detector, the image has it in one wheel and, in the other, nothing that would
take the band from it (:func:`wavelength_filter`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.passbands import passbands

__all__ = ["Wavelength", "parse_wavelength", "wavelength_filter", "matching_filters",
           "WAVELENGTH_HELP"]

#: What a wavelength search looks like, for error messages.
WAVELENGTH_HELP = ("a wavelength with a unit (656nm: in the filter's band) or a range of pivot "
                   "wavelengths LOW..HIGH (500nm..900nm, 5000..9000Angstrom, 700nm..)")

_RANGE = re.compile(r"^(.*?)\s*(?:\.\.|:)\s*(.*)$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# Names in a filter wheel that leave the band to the other wheel (passbands.active_filter).
_NEUTRAL = "^(CLEAR|BLOCK|NOTCMDED|N/A)"
_POLARIZERS = {"POL_UV": ("POL0UV", "POL60UV", "POL120UV"),
               "POL_V": ("POL0V", "POL60V", "POL120V")}
_MAX_TEXT = 100


@dataclass(frozen=True)
class Wavelength:
    """A wavelength search, in metres.

    Attributes
    ----------
    low, high : float
        The range of pivot wavelengths (``-inf``/``inf`` for an open end); for
        ``point``, both are the one wavelength.
    point : bool
        One wavelength, to be within the band; else a range of pivots.
    """

    low: float
    high: float
    point: bool = False

    def matches(self, band) -> bool:
        """Whether a :class:`~.passbands.Passband` qualifies."""
        if self.point or band.pivot is None:
            return band.low <= self.high and band.high >= self.low
        return self.low <= band.pivot <= self.high


def _quantity(text: str, unit: str | None, label: str):
    import astropy.units as u

    raw = text.strip()
    if _NUMBER.match(raw):
        if unit is None:
            raise QueryError(f"{label}: {raw!r} needs a unit, e.g. {raw}nm or {raw}Angstrom; "
                             f"write {WAVELENGTH_HELP}")
        raw = raw + unit
    try:
        quantity = u.Quantity(raw)
        metres = quantity.to(u.m, equivalencies=u.spectral()).value
    except (ValueError, TypeError, u.UnitsError):
        raise QueryError(f"{label}: cannot read {text.strip()[:40]!r} as a wavelength; write "
                         + WAVELENGTH_HELP) from None
    if not math.isfinite(metres) or metres <= 0:
        raise QueryError(f"{label}: a wavelength is above 0, got {text.strip()[:40]!r}")
    return metres


def _unit_of(text: str) -> str | None:
    match = re.match(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*(\S.*)$", text)
    return match.group(1).strip() if match else None


def parse_wavelength(value, label: str = "wavelength") -> Wavelength:
    """Read ``wavelength=``: ``656nm``, ``500nm..900nm``, ``500..900nm``, ``700nm..``.

    Raises
    ------
    QueryError
        One line: what could not be read, and what a wavelength search looks like.
    """
    if isinstance(value, Wavelength):
        return value
    text = str(value).strip()
    if not text or len(text) > _MAX_TEXT:
        raise QueryError(f"{label} takes " + WAVELENGTH_HELP)
    match = _RANGE.match(text)
    if match is None:
        metres = _quantity(text, None, label)
        return Wavelength(metres, metres, point=True)
    first, second = match.group(1).strip(), match.group(2).strip()
    if not first and not second:
        raise QueryError(f"{label} takes " + WAVELENGTH_HELP)
    unit = _unit_of(second) or _unit_of(first)
    low = _quantity(first, unit, label) if first else -math.inf
    high = _quantity(second, unit, label) if second else math.inf
    if low > high:
        # A frequency range runs the other way: 600THz..400THz is 500nm..750nm.
        low, high = high, low
    return Wavelength(low, high)


def matching_filters(wavelength: Wavelength) -> dict[str, list[str]]:
    """Return the filters (passband table names) that qualify, with their detectors."""
    found: dict[str, list[str]] = {}
    for (detector, name), band in sorted(passbands().items()):
        if wavelength.matches(band):
            found.setdefault(name, []).append(detector)
    return found


def _other_wheel(path: str, polarizer: bool) -> dict:
    """The other wheel holds nothing that takes the band (nothing, CLEAR..., a polarizer)."""
    pattern = _NEUTRAL if polarizer else _NEUTRAL[:-1] + "|POL)"
    return {"$or": [{path: None}, {path: ""}, {path: {"$regex": pattern}}]}


def wavelength_filter(wavelength: Wavelength) -> dict:
    """Return the MongoDB filter of a wavelength search (on ``catalog`` or ``rootnames``).

    For each qualifying filter: ``detector`` among those whose band qualifies,
    the filter in one wheel, and the other wheel neutral. Each branch starts
    with ``detector`` and a wheel's equality, which the (detector, filter1|2,
    date_obs, _id) indexes serve. No filter qualifies: a filter that matches nothing.
    """
    branches = []
    for name, detectors in matching_filters(wavelength).items():
        detector = detectors[0] if len(detectors) == 1 else {"$in": detectors}
        values = _POLARIZERS.get(name, (name,))
        value = values[0] if len(values) == 1 else {"$in": list(values)}
        polarizer = name in _POLARIZERS
        for wheel, other in (("filter1", "filter2"), ("filter2", "filter1")):
            branches.append({"detector": detector, wheel: value,
                             **_other_wheel(other, polarizer)})
    if not branches:
        return {"_id": {"$in": []}}
    return branches[0] if len(branches) == 1 else {"$or": branches}
