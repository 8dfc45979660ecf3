"""Cone search: targets within a radius of a sky position, without geo operators.

Two steps, the same on MongoDB 7 and later, SecantusDB and mongomock:

1. An indexed bounding box on ``dec_targ`` and ``ra_targ``
   (:meth:`Cone.box_filter`): the Dec band ``[dec - r, dec + r]``, and an RA
   range of half-width ``asin(sin r / cos dec)`` (the widest the cap gets),
   split in two where it crosses RA 0/360, and dropped when the cap contains
   a pole.
2. The exact great-circle test in Python (:meth:`Cone.contains`), with
   :func:`astropy.coordinates.angular_separation` (Vincenty's formula, accurate
   at every separation; :func:`acsq_mongo.sky.geometry.separation`).

All angles are in degrees.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from acsq_mongo.query import values
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.positions import parse_radius
from acsq_mongo.sky.geometry import separation

__all__ = ["Cone", "CONE_PARAMS"]

#: The query parameters of a cone search.
CONE_PARAMS = ("ra", "dec", "radius")

# Widen the box a little so that rounding never drops a target on its edge.
_MARGIN = 1e-9


def _radius(value: Any) -> float:
    """A radius in degrees: a number, or text with a unit (``2arcmin``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return float(parse_radius(text).deg)


@dataclass(frozen=True)
class Cone:
    """A cone on the sky: centre (``ra``, ``dec``) and ``radius``, in degrees.

    Attributes
    ----------
    ra, dec, radius : float
        Degrees; ``ra`` and ``dec`` are NaN while a target name is unresolved.
    target : str or None
        The target name the centre was given as (``cone=NGC104,2arcmin``), if any.
    text : str
        The ``cone=`` value as typed, if given so (links keep it).
    """

    ra: float
    dec: float
    radius: float
    target: str | None = None
    text: str = ""

    @classmethod
    def parse(cls, ra: Any, dec: Any, radius: Any) -> Cone:
        """Check and convert the three cone parameters (text or numbers, degrees; the
        radius may carry a unit: ``5arcsec``, ``2arcmin``).

        Raises
        ------
        QueryError
            If one is missing or out of range: RA 0 to 360, Dec -90 to 90,
            radius above 0 and at most 180.
        """
        given = {"ra": ra, "dec": dec, "radius": radius}
        missing = [name for name, value in given.items() if value in (None, "")]
        if missing:
            raise QueryError(
                "a cone search needs ra, dec and radius (degrees); missing: " + ", ".join(missing)
            )
        ra_ = values.to_float("ra", ra)
        dec_ = values.to_float("dec", dec)
        radius_ = _radius(radius)
        if not 0.0 <= ra_ <= 360.0:
            raise QueryError(f"ra must be from 0 to 360 degrees, got {ra_:g}")
        if not -90.0 <= dec_ <= 90.0:
            raise QueryError(f"dec must be from -90 to 90 degrees, got {dec_:g}")
        if not 0.0 < radius_ <= 180.0:
            raise QueryError(f"radius must be above 0 and at most 180 degrees, got {radius_:g}")
        return cls(ra_ % 360.0, dec_, radius_)

    @classmethod
    def from_text(cls, value: Any) -> Cone:
        """Parse ``cone=POSITION,RADIUS``, the cone as one string (:mod:`.positions`).

        A target name stays unresolved (NaN centre, ``target`` set) until the
        query core resolves it (:meth:`~acsq_mongo.query.spec.QuerySpec.with_targets`).

        Raises
        ------
        QueryError
            If it is not POSITION,RADIUS, or either part cannot be read.
        """
        from acsq_mongo.query.positions import parse_radius, read_position

        text = str(value).strip()
        position, sep, radius = text.rpartition(",")
        if not sep or not position.strip():
            raise QueryError(f"cone takes POSITION,RADIUS (e.g. 00:42:44.3 +41:16:09,2arcmin), "
                             f"got {text[:60]!r}")
        coord = read_position(position)
        degrees = float(parse_radius(radius).deg)
        if isinstance(coord, str):
            return cls(math.nan, math.nan, degrees, target=coord, text=text)
        return cls(float(coord.ra.deg) % 360.0, float(coord.dec.deg), degrees, text=text)

    @property
    def contains_pole(self) -> bool:
        """Whether the cap reaches a celestial pole (then every RA is in the box)."""
        return self.dec + self.radius >= 90.0 or self.dec - self.radius <= -90.0

    def ra_ranges(self) -> list[tuple[float, float]] | None:
        """Return the RA ranges of the bounding box, in [0, 360]; None if unrestricted."""
        if self.contains_pole:
            return None
        ratio = math.sin(math.radians(self.radius)) / math.cos(math.radians(self.dec))
        if ratio >= 1.0:
            return None
        half = math.degrees(math.asin(ratio)) + _MARGIN
        low, high = self.ra - half, self.ra + half
        if low < 0.0:
            return [(low + 360.0, 360.0), (0.0, high)]
        if high > 360.0:
            return [(low, 360.0), (0.0, high - 360.0)]
        return [(low, high)]

    def box_filter(self) -> dict:
        """Return the MongoDB filter of the bounding box (no geo operators: mongomock has none)."""
        dec_band = {
            "dec_targ": {
                "$gte": max(-90.0, self.dec - self.radius - _MARGIN),
                "$lte": min(90.0, self.dec + self.radius + _MARGIN),
            }
        }
        ranges = self.ra_ranges()
        if ranges is None:
            return {"$and": [dec_band, {"ra_targ": {"$ne": None}}]}
        boxes = [{"ra_targ": {"$gte": low, "$lte": high}} for low, high in ranges]
        ra_part = boxes[0] if len(boxes) == 1 else {"$or": boxes}
        return {"$and": [dec_band, ra_part]}

    def contains(self, ra, dec) -> np.ndarray:
        """Return which positions (degrees) are within the radius (the edge included)."""
        return separation(self.ra, self.dec, ra, dec) <= self.radius

    @property
    def resolved(self) -> bool:
        """Whether the centre is known (False while a target name waits to be resolved)."""
        return not math.isnan(self.ra)

    def at(self, ra: float, dec: float) -> Cone:
        """The same cone with its centre at (``ra``, ``dec``), degrees (a resolved name)."""
        return dataclasses.replace(self, ra=ra % 360.0, dec=dec)

    def key(self) -> tuple:
        """A hashable form, for caches."""
        if not self.resolved:
            return ("target", self.target, self.radius)
        return (self.ra, self.dec, self.radius)

    def describe(self) -> str:
        """The cone in words (for a page that shows no match)."""
        where = self.target if self.target else f"RA {self.ra:g}, Dec {self.dec:g}"
        return f"within {self.radius:g}° of {where}"
