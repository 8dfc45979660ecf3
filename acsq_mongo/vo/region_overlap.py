"""Whether an image's footprint meets a SIA region: exact tests on the sphere.

A footprint is a list of convex rings with great-circle edges
(:mod:`acsq_mongo.sky.geometry`). A ring meets a region when one holds a
point of the other, or their boundaries cross:

- a **circle**: the ring comes within the radius of the centre
  (:func:`~acsq_mongo.sky.geometry.footprint_meets_cone`);
- a **polygon** (great-circle edges): a vertex of either inside the other, or
  two edges crossing (the great circles' intersection lies on both arcs);
- a **range**: a ring vertex inside the range, a point of the range's
  boundary inside the ring, or a ring edge crossing a meridian edge (an arc)
  or a parallel edge (a small circle of constant Dec: solved for where the
  edge's great circle reaches that Dec).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from acsq_mongo.sky.geometry import footprint_meets_cone, ring_contains, unit_vectors
from acsq_mongo.vo.regions import Circle, Polygon, Range, Region

__all__ = ["footprint_meets"]

Ring = Sequence[Sequence[float]]


def _on_arc(p: np.ndarray, a: np.ndarray, b: np.ndarray, normal: np.ndarray) -> bool:
    return bool(np.dot(np.cross(a, p), normal) >= 0 and np.dot(np.cross(p, b), normal) >= 0)


def arcs_cross(a, b, c, d) -> bool:
    """Whether great-circle arcs ``a``-``b`` and ``c``-``d`` (unit vectors, < 180 deg) meet."""
    n1, n2 = np.cross(a, b), np.cross(c, d)
    x = np.cross(n1, n2)
    norm = np.linalg.norm(x)
    if norm < 1e-15:   # the same great circle: an overlap is found by the vertex tests
        return False
    x /= norm
    return any(_on_arc(p, a, b, n1) and _on_arc(p, c, d, n2) for p in (x, -x))


def _edges(vectors: np.ndarray):
    return zip(vectors, np.roll(vectors, -1, axis=0), strict=True)


def _ring_meets_polygon(ring: Ring, polygon: Polygon) -> bool:
    ring_v = unit_vectors(*np.asarray(ring, float).T)
    poly_v = unit_vectors(*np.asarray(polygon.vertices, float).T)
    ras, decs = np.asarray(ring, float).T
    if polygon.contains(ras, decs).any():
        return True
    pras, pdecs = np.asarray(polygon.vertices, float).T
    if np.asarray(ring_contains(ring, pras, pdecs)).any():
        return True
    return any(arcs_cross(a, b, c, d) for a, b in _edges(ring_v) for c, d in _edges(poly_v))


def _crosses_parallel(a: np.ndarray, b: np.ndarray, dec: float, ra_lo: float, ra_hi: float
                      ) -> bool:
    """Whether arc a-b meets Dec = ``dec`` at an RA within [ra_lo, ra_hi]."""
    theta = math.atan2(np.linalg.norm(np.cross(a, b)), float(np.dot(a, b)))
    u = b - np.dot(a, b) * a
    if np.linalg.norm(u) < 1e-15:
        return False
    u /= np.linalg.norm(u)
    radius = math.hypot(a[2], u[2])
    target = math.sin(math.radians(dec))
    if radius < abs(target) or radius == 0.0:
        return False
    phase = math.atan2(u[2], a[2])
    spread = math.acos(max(-1.0, min(1.0, target / radius)))
    for t in (phase + spread, phase - spread):
        t %= 2 * math.pi
        if t <= theta:
            p = a * math.cos(t) + u * math.sin(t)
            ra = math.degrees(math.atan2(p[1], p[0])) % 360.0
            if ra_lo <= ra <= ra_hi:
                return True
    return False


def _ring_meets_range(ring: Ring, box: Range) -> bool:
    ras, decs = np.asarray(ring, float).T
    if box.contains(ras, decs).any():
        return True
    ra_lo, ra_hi = box.ra_min if box.ra_min is not None else 0.0, (
        box.ra_max if box.ra_max is not None else 360.0)
    dec_lo, dec_hi = max(-90.0, box.dec_min if box.dec_min is not None else -90.0), min(
        90.0, box.dec_max if box.dec_max is not None else 90.0)
    # Points of the range's boundary: inside the ring when the ring holds the whole range.
    points_ra = np.array([ra_lo, ra_lo, ra_hi, ra_hi])
    points_dec = np.array([dec_lo, dec_hi, dec_lo, dec_hi])
    if np.asarray(ring_contains(ring, points_ra, points_dec)).any():
        return True
    ring_v = unit_vectors(ras, decs)
    middle = (dec_lo + dec_hi) / 2
    if not (ra_lo <= 0.0 and ra_hi >= 360.0):   # a full turn of RA has no meridian edge
        for ra in (ra_lo, ra_hi):
            halves = ((dec_lo, middle), (middle, dec_hi))   # each under 180 degrees
            for low, high in halves:
                c, d = unit_vectors(ra, low), unit_vectors(ra, high)
                if any(arcs_cross(a, b, c, d) for a, b in _edges(ring_v)):
                    return True
    for dec in (dec_lo, dec_hi):
        if -90.0 < dec < 90.0 and any(_crosses_parallel(a, b, dec, ra_lo, ra_hi)
                                       for a, b in _edges(ring_v)):
            return True
    return False


def footprint_meets(region: Region, rings: Sequence[Ring]) -> bool:
    """Whether a footprint (rings of ``[ra, dec]``, degrees) shares a point with a region."""
    if isinstance(region, Circle):
        return footprint_meets_cone(rings, region.ra, region.dec, region.radius)
    if isinstance(region, Polygon):
        return any(_ring_meets_polygon(ring, region) for ring in rings)
    if isinstance(region, Range):
        return any(_ring_meets_range(ring, region) for ring in rings)
    raise TypeError(f"not a region: {region!r}")
