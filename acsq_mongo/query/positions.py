"""Sky positions and radii as astronomers write them, parsed with ``astropy.coordinates``.

A position is one string:

- decimal degrees, ``RA,DEC`` or ``RA DEC``: ``10.6847,41.2690``;
- sexagesimal, RA in hours: ``00:42:44.3 +41:16:09``, ``00h42m44.3s +41d16m09s``,
  ``00 42 44.3 +41 16 09``;
- another frame, by a prefix: ``galactic 121.17 -21.57`` (also ``fk5``, ``fk4``,
  ``icrs``; their coordinates in degrees or sexagesimal as above);
- a target name of this archive (its ``TARGNAME``): the mean position of that
  target's pointings (:class:`acsq_mongo.query.targets.TargetNames`). There is
  no network name resolver.

Parsing reads nothing but the text: a position that is not coordinates is kept
as a name (:func:`read_position`), and the query core resolves it in one step
after parsing and before selecting (:meth:`QuerySpec.with_targets
<acsq_mongo.query.spec.QuerySpec.with_targets>`, called by
:mod:`~acsq_mongo.query.selection`), so that every face (``/query``,
``/sky.png``, ``/trend``, the CLI, Python) takes target names the same way.

A radius is an angle with a unit, ``5arcsec``, ``2arcmin``, ``0.1deg``; a bare
number is degrees.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from acsq_mongo.query.errors import QueryError

if TYPE_CHECKING:
    from collections.abc import Callable

    from astropy.coordinates import Angle, SkyCoord

__all__ = ["POSITION_HELP", "parse_position", "read_position", "parse_radius"]

#: What a position may look like, for error messages.
POSITION_HELP = ("RA,DEC in degrees (10.6847,41.2690), sexagesimal (00:42:44.3 +41:16:09 or "
                 "00h42m44.3s +41d16m09s), a frame prefix (galactic 121.17 -21.57), or a "
                 "target name of this archive")

_FRAMES = {"icrs": "icrs", "fk5": "fk5", "fk4": "fk4", "galactic": "galactic", "gal": "galactic"}
_FRAME_PREFIX = re.compile(r"^\s*(icrs|fk5|fk4|galactic|gal)\b[\s:]*(.*)$", re.IGNORECASE)
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_MAX_TEXT = 200


def _split(text: str) -> tuple[str, str] | None:
    """The RA and Dec parts of a coordinate string, or None if it has no such shape."""
    parts = [p.strip() for p in text.split(",")] if "," in text else text.split()
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    if len(parts) == 6:  # "00 42 44.3 +41 16 09"
        return ":".join(parts[:3]), ":".join(parts[3:])
    return None


def _coordinates(text: str) -> SkyCoord | None:
    """The ICRS position of a coordinate string; None if it is not one (maybe a name).

    Raises
    ------
    QueryError
        If it looks like coordinates but astropy rejects them (Dec beyond 90, say).
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    frame = "icrs"
    match = _FRAME_PREFIX.match(text)
    if match:
        frame, text = _FRAMES[match.group(1).lower()], match.group(2)
    parts = _split(text)
    if parts is None:
        if match:
            raise QueryError(f"{frame} position {text!r} needs two coordinates, "
                             "e.g. galactic 121.17 -21.57")
        return None
    lon, lat = parts
    if not re.search(r"\d", lon) or not re.search(r"\d", lat):
        return None
    # RA in degrees when written as a decimal number, else in hours (00:42:44.3); a
    # letter (h, d, m, s) gives its own unit. Galactic longitudes are always degrees.
    lon_unit = u.deg if _DECIMAL.match(lon) or frame == "galactic" else u.hourangle
    try:
        _check_longitude(lon, lon_unit, frame)
        coord = SkyCoord(f"{lon} {lat}", unit=(lon_unit, u.deg), frame=frame)
    except (ValueError, TypeError, u.UnitsError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if match or any(c.isdigit() for c in lon[:1] + lat[:2]):
            raise QueryError(f"cannot read the position {text!r}: {reason}; write "
                             + POSITION_HELP) from None
        return None
    return coord.icrs


def _check_longitude(lon: str, unit, frame: str) -> None:
    """RA (or l) from 0 to 360 degrees, 0h to 24h: the rule of ``ra=`` too
    (:class:`~acsq_mongo.query.cone.Cone`), never wrapped silently."""
    from astropy.coordinates import Angle

    try:
        degrees = float(Angle(lon, unit=unit).deg)
    except (ValueError, TypeError):
        return  # SkyCoord says what is wrong with it
    if not 0.0 <= degrees <= 360.0:
        what = "l" if frame == "galactic" else "RA"
        raise QueryError(f"{what} must be from 0 to 360 degrees (0h to 24h), got {lon!r}")


def read_position(text: str) -> SkyCoord | str:
    """Read a position string: its ICRS coordinates, or the target name it must be.

    Parameters
    ----------
    text : str
        Coordinates in any notation of this module, or a target name.

    Returns
    -------
    position : SkyCoord or str
        The coordinates; or, for text that is no coordinates (and not one
        number), the text stripped: a name to resolve
        (:class:`~acsq_mongo.query.targets.TargetNames`).
        Nothing is read from the store.

    Raises
    ------
    QueryError
        If the text is empty, too long, or looks like coordinates that astropy rejects.
    """
    text = str(text).strip()
    if not text:
        raise QueryError("a position is empty; write " + POSITION_HELP)
    if len(text) > _MAX_TEXT:
        raise QueryError(f"a position is at most {_MAX_TEXT} characters, got {len(text)}")
    coord = _coordinates(text)
    if coord is not None:
        return coord
    if _DECIMAL.match(text):  # one number is half a position, never a name
        raise QueryError(f"cannot read the position {text!r}; write " + POSITION_HELP)
    return text


def parse_position(text: str, names: Callable[[str], SkyCoord] | None = None) -> SkyCoord:
    """Parse a position string into an ICRS :class:`~astropy.coordinates.SkyCoord`.

    Parameters
    ----------
    text : str
        Coordinates in any notation of this module, or a target name.
    names : callable, optional
        Resolves a target name (e.g.
        :meth:`acsq_mongo.query.targets.TargetNames.resolve`); without it a
        name is an error.

    Raises
    ------
    QueryError
        One line: what was wrong, and what a position may be.
    """
    position = read_position(text)
    if not isinstance(position, str):
        return position
    if names is None:
        raise QueryError(f"cannot read the position {position!r}; write " + POSITION_HELP)
    return names(position)


def parse_radius(text) -> Angle:
    """Parse a radius: ``5arcsec``, ``2arcmin``, ``0.1deg``; a bare number is degrees.

    Raises
    ------
    QueryError
        If it is not an angle, or not above 0 and at most 180 degrees.
    """
    import astropy.units as u
    from astropy.coordinates import Angle

    raw = str(text).strip()
    if isinstance(text, bool) or not raw or len(raw) > 40:
        raise QueryError(f"a radius is an angle such as 5arcsec, 2arcmin or 0.1deg "
                         f"(a bare number is degrees), got {raw[:40]!r}")
    try:
        quantity = u.Quantity(raw)
        if quantity.unit == u.dimensionless_unscaled:
            quantity = quantity.value * u.deg
        angle = Angle(quantity).to(u.deg)
    except (ValueError, TypeError, u.UnitsError):
        raise QueryError(f"a radius is an angle such as 5arcsec, 2arcmin or 0.1deg "
                         f"(a bare number is degrees), got {raw!r}") from None
    if not np.isfinite(angle.value) or not 0.0 < angle.value <= 180.0:
        raise QueryError(f"a radius must be above 0 and at most 180 degrees, got {raw!r}")
    return angle
