"""Sky regions of the VO protocols (DALI 1.1 ``POS``): CIRCLE, RANGE and POLYGON, in degrees.

``CIRCLE ra dec radius``, ``RANGE ra1 ra2 dec1 dec2`` (either bound of a
range may be ``-Inf`` or ``+Inf``) and ``POLYGON ra1 dec1 ra2 dec2 ra3 dec3
...`` (three or more vertices joined by great circles, smaller than a
hemisphere), ICRS. A region says how the query core can select it
(:meth:`Region.core_params`: the cone, or ranges of ``ra_targ``/``dec_targ``,
all indexed) and whether a position is inside (:meth:`Region.contains`, exact).
A polygon is selected by its bounding cone in the core and tested exactly
by :func:`acsq_mongo.sky.geometry.ring_contains`, the one point-in-polygon test
of the package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from acsq_mongo.query.cone import Cone
from acsq_mongo.query.errors import QueryError
from acsq_mongo.sky.geometry import ring_contains, separation, to_radec, unit_vectors

__all__ = ["Region", "Circle", "Range", "Polygon", "parse_pos"]

_SHAPES = "CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2 or POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ..."


class Region:
    """A region of the sky (see the module docstring)."""

    def core_params(self) -> list[tuple[str, object]]:
        """Return query-core parameters that select (at least) the positions inside."""
        raise NotImplementedError

    def contains(self, ra, dec) -> np.ndarray:
        """Return which positions (degrees, array-like) are inside, exactly."""
        raise NotImplementedError

    def bounding_cone(self) -> Cone | None:
        """Return a cone holding the whole region, or None if the region is unbounded."""
        raise NotImplementedError


@dataclass(frozen=True)
class Circle(Region):
    """A cone: centre and radius, degrees."""

    ra: float
    dec: float
    radius: float

    def core_params(self) -> list[tuple[str, object]]:
        return [("ra", self.ra), ("dec", self.dec), ("radius", self.radius)]

    def contains(self, ra, dec) -> np.ndarray:
        return Cone(self.ra, self.dec, self.radius).contains(ra, dec)

    def bounding_cone(self) -> Cone:
        return Cone(self.ra, self.dec, self.radius)


@dataclass(frozen=True)
class Range(Region):
    """RA and Dec intervals, degrees; None for an open bound."""

    ra_min: float | None
    ra_max: float | None
    dec_min: float | None
    dec_max: float | None

    def core_params(self) -> list[tuple[str, object]]:
        pairs: list[tuple[str, object]] = []
        for name, op, value in (("ra_targ", "gte", self.ra_min), ("ra_targ", "lte", self.ra_max),
                                ("dec_targ", "gte", self.dec_min),
                                ("dec_targ", "lte", self.dec_max)):
            if value is not None:
                pairs.append((f"{name}__{op}", value))
        if not pairs:
            pairs.append(("ra_targ__exists", True))
        return pairs

    def contains(self, ra, dec) -> np.ndarray:
        ra, dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
        inside = np.isfinite(ra) & np.isfinite(dec)
        for values, low, high in ((ra, self.ra_min, self.ra_max),
                                  (dec, self.dec_min, self.dec_max)):
            if low is not None:
                inside &= values >= low
            if high is not None:
                inside &= values <= high
        return inside

    def bounding_cone(self) -> Cone | None:
        """A cone about the range's middle reaching its farthest boundary point.

        The boundary is sampled (the parallels are not great circles), and the
        radius widened by the largest gap between samples, so nothing is left out.
        """
        bounds = (self.ra_min, self.ra_max, self.dec_min, self.dec_max)
        if any(b is None for b in bounds):
            return None
        ra_lo, ra_hi, dec_lo, dec_hi = bounds
        steps = np.linspace(0.0, 1.0, 65)
        ras = np.concatenate([ra_lo + (ra_hi - ra_lo) * steps, np.full(65, ra_hi),
                              ra_hi - (ra_hi - ra_lo) * steps, np.full(65, ra_lo)])
        decs = np.concatenate([np.full(65, dec_lo), dec_lo + (dec_hi - dec_lo) * steps,
                               np.full(65, dec_hi), dec_hi - (dec_hi - dec_lo) * steps])
        centre = unit_vectors(ras, decs).sum(axis=0)
        if np.linalg.norm(centre) < 1e-9:
            return None
        ra, dec = (float(v) for v in to_radec(centre))
        reach = float(np.max(separation(ra, dec, ras, decs)))
        gap = float(np.max(separation(ras, decs, np.roll(ras, 1), np.roll(decs, 1))))
        return Cone(ra, dec, min(180.0, reach + gap + 1e-9))


@dataclass(frozen=True)
class Polygon(Region):
    """A spherical polygon: vertices ``((ra, dec), ...)`` in degrees, joined by great circles."""

    vertices: tuple[tuple[float, float], ...]

    def bounding_cone(self) -> Cone:
        """The cone about the vertices' mean direction that holds every vertex."""
        ras, decs = np.array(self.vertices).T
        ra, dec = (float(v) for v in to_radec(unit_vectors(ras, decs).sum(axis=0)))
        radius = float(np.max(separation(ra, dec, ras, decs)))
        return Cone(ra, dec, min(180.0, radius * (1 + 1e-9) + 1e-9))

    def core_params(self) -> list[tuple[str, object]]:
        cone = self.bounding_cone()
        return [("ra", cone.ra), ("dec", cone.dec), ("radius", cone.radius)]

    def contains(self, ra, dec) -> np.ndarray:
        """Which positions are inside (:func:`acsq_mongo.sky.geometry.ring_contains`)."""
        return np.asarray(ring_contains(self.vertices, ra, dec))


def _numbers(words: list[str], what: str) -> list[float]:
    out = []
    for word in words:
        try:
            out.append(float(word))
        except ValueError:
            raise QueryError(f"POS {what}: {word[:20]!r} is not a number; write {_SHAPES}"
                             ) from None
    if any(math.isnan(v) for v in out):
        raise QueryError(f"POS {what}: NaN is not a position")
    return out


def _check_dec(dec: float) -> None:
    if not -90.0 <= dec <= 90.0:
        raise QueryError(f"POS: Dec must be from -90 to 90 degrees, got {dec:g}")


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def parse_pos(text: str) -> Region:
    """Parse one DALI ``POS`` value into a :class:`Region`.

    Raises
    ------
    QueryError
        On an unknown shape, a wrong count of numbers, or a value out of range.
    """
    words = str(text).split()
    if not words:
        raise QueryError(f"POS is empty; write {_SHAPES}")
    shape, rest = words[0].upper(), words[1:]
    if shape == "CIRCLE":
        if len(rest) != 3:
            raise QueryError("POS CIRCLE takes 3 numbers: ra dec radius (degrees)")
        ra, dec, radius = _numbers(rest, "CIRCLE")
        _check_dec(dec)
        if not 0.0 < radius <= 180.0 or not math.isfinite(ra):
            raise QueryError(f"POS CIRCLE: radius must be above 0 and at most 180 degrees, "
                             f"and ra finite; got ra {ra:g}, radius {radius:g}")
        return Circle(ra % 360.0, dec, radius)
    if shape == "RANGE":
        if len(rest) != 4:
            raise QueryError("POS RANGE takes 4 numbers: ra1 ra2 dec1 dec2 (degrees, "
                             "-Inf/+Inf for open)")
        ra1, ra2, dec1, dec2 = _numbers(rest, "RANGE")
        if ra1 > ra2 or dec1 > dec2:
            raise QueryError("POS RANGE: the low bound comes first (ra1 <= ra2, dec1 <= dec2)")
        for dec in (dec1, dec2):
            if math.isfinite(dec):
                _check_dec(dec)
        for ra in (ra1, ra2):
            if math.isfinite(ra) and not 0.0 <= ra <= 360.0:
                raise QueryError(f"POS RANGE: ra must be from 0 to 360 degrees, got {ra:g}")
        return Range(_bound(ra1), _bound(ra2), _bound(dec1), _bound(dec2))
    if shape == "POLYGON":
        if len(rest) < 6 or len(rest) % 2:
            raise QueryError("POS POLYGON takes 3 or more vertices: ra1 dec1 ra2 dec2 ra3 dec3 ...")
        values = _numbers(rest, "POLYGON")
        if not all(math.isfinite(v) for v in values):
            raise QueryError("POS POLYGON: vertices must be finite")
        vertices = tuple((values[i] % 360.0, values[i + 1]) for i in range(0, len(values), 2))
        for _, dec in vertices:
            _check_dec(dec)
        polygon = Polygon(vertices)
        if np.linalg.norm(unit_vectors(*np.array(vertices).T).sum(axis=0)) < 1e-9 or (
                polygon.bounding_cone().radius >= 90.0):
            raise QueryError("POS POLYGON must be smaller than a hemisphere")
        return polygon
    raise QueryError(f"POS shape {words[0][:20]!r} is unknown; write {_SHAPES}")
