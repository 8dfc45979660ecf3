"""Spherical polygons: the exact tests behind the sky queries, and their stored forms.

A footprint is a list of rings; a ring is a list of ``[ra, dec]`` vertices in
degrees, not closed, whose edges are great-circle arcs (as GeoJSON on a
sphere, and MongoDB's 2dsphere index, read them). Each ring is smaller than a
hemisphere: its vertices all lie within 90 degrees of their mean direction.
The tests here are exact for such rings, with no planar approximation:

- :func:`ring_contains`: a gnomonic projection about the ring's centre maps
  great circles to straight lines, so the point-in-polygon test of the
  tangent plane is the spherical one;
- :func:`ring_distance`: the great-circle distance from a position to the
  ring's boundary (to an arc: to its circle if the foot of the
  perpendicular lies on the arc, else to the nearer end);
- :func:`footprint_meets_cone`: a ring meets a cone when it contains the
  centre or its boundary comes within the radius.

The stored forms: :func:`to_geojson` (RA wrapped to longitude in (-180, 180])
and :func:`to_s_region` (the ObsCore/STC-S string).

This module is the one place of spherical geometry in the package: one
:func:`unit_vectors`, one point-in-polygon test (:func:`ring_contains`), and
great-circle distances from :func:`astropy.coordinates.angular_separation`
(:func:`separation`, in degrees).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "separation",
    "unit_vectors",
    "to_radec",
    "ring_centre",
    "ring_contains",
    "ring_distance",
    "footprint_contains",
    "footprint_distance",
    "footprint_meets_cone",
    "footprint_centre",
    "cone_polygon",
    "check_ring",
    "to_geojson",
    "from_geojson",
    "to_s_region",
]

Ring = Sequence[Sequence[float]]


def separation(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle distance between sky positions, in degrees.

    :func:`astropy.coordinates.angular_separation` (Vincenty's formula, accurate at
    every separation) on positions in degrees.

    Parameters
    ----------
    ra1, dec1, ra2, dec2 : float or array-like
        Right ascensions and declinations in degrees; they broadcast.

    Returns
    -------
    separation : numpy.ndarray
        In degrees, from 0 to 180.
    """
    # (imported here: astropy.coordinates takes ~1 s to import, which a query without a
    # position, and `acsq --help`, should not pay)
    from astropy.coordinates import angular_separation

    radians = (np.radians(np.asarray(x, dtype=float)) for x in (ra1, dec1, ra2, dec2))
    return np.degrees(angular_separation(*radians))


def unit_vectors(ra, dec) -> np.ndarray:
    """Unit vectors (``..., 3``) of positions in degrees."""
    ra_r, dec_r = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    cos_dec = np.cos(dec_r)
    return np.stack([cos_dec * np.cos(ra_r), cos_dec * np.sin(ra_r), np.sin(dec_r)], axis=-1)


def to_radec(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RA in [0, 360) and Dec of (not necessarily unit) vectors, in degrees."""
    v = np.asarray(vectors, float)
    ra = np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    dec = np.degrees(np.arctan2(v[..., 2], np.hypot(v[..., 0], v[..., 1])))
    return ra, dec


def _ring_vectors(ring: Ring) -> np.ndarray:
    points = np.asarray(ring, float)
    return unit_vectors(points[:, 0], points[:, 1])


def ring_centre(ring: Ring) -> tuple[float, float]:
    """The mean direction of a ring's vertices, (RA, Dec) in degrees."""
    ra, dec = to_radec(_ring_vectors(ring).sum(axis=0))
    return float(ra), float(dec)


def _tangent_basis(centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors orthogonal to ``centre`` and to each other."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(centre[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    east = np.cross(helper, centre)
    east /= np.linalg.norm(east)
    return east, np.cross(centre, east)


def ring_contains(ring: Ring, ra, dec) -> np.ndarray:
    """Which positions (degrees) lie inside a ring (even-odd rule, great-circle edges).

    Positions on an edge may fall either way, as on the server.
    """
    vertices = _ring_vectors(ring)
    centre = vertices.sum(axis=0)
    centre /= np.linalg.norm(centre)
    east, north = _tangent_basis(centre)
    points = unit_vectors(ra, dec).reshape(-1, 3)
    # Gnomonic projection about the centre: great circles become straight lines.
    vx, vy = (vertices @ east) / (vertices @ centre), (vertices @ north) / (vertices @ centre)
    depth = points @ centre
    front = depth > 1e-12
    safe = np.where(front, depth, 1.0)
    px, py = (points @ east) / safe, (points @ north) / safe
    inside = np.zeros(len(points), bool)
    x1, y1 = vx, vy
    x2, y2 = np.roll(vx, -1), np.roll(vy, -1)
    for a_x, a_y, b_x, b_y in zip(x1, y1, x2, y2, strict=True):
        crosses = (a_y > py) != (b_y > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = a_x + (py - a_y) * (b_x - a_x) / (b_y - a_y)
        inside ^= crosses & (px < x_at)
    return (inside & front).reshape(np.shape(np.asarray(ra, float)))


def ring_distance(ring: Ring, ra, dec) -> np.ndarray:
    """Great-circle distance (degrees) from positions to a ring's boundary."""
    a = _ring_vectors(ring)
    b = np.roll(a, -1, axis=0)
    p = unit_vectors(ra, dec).reshape(-1, 3)
    normals = np.cross(a, b)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    # Distance to each vertex (the ends of the arcs).
    best = np.min(_angle(p[:, None, :], a[None, :, :]), axis=1)
    # The foot of the perpendicular lies on the arc when it is on a's and b's inner sides.
    along = p @ normals.T                                    # sin of the distance to the circle
    foot = p[:, None, :] - along[..., None] * normals[None, :, :]
    on_arc = (np.einsum("pek,ek->pe", foot, np.cross(normals, a)) >= 0) & \
             (np.einsum("pek,ek->pe", foot, np.cross(b, normals)) >= 0)
    to_circle = np.degrees(np.arcsin(np.clip(np.abs(along), 0.0, 1.0)))
    to_circle = np.where(on_arc, to_circle, np.inf)
    best = np.minimum(best, to_circle.min(axis=1))
    return best.reshape(np.shape(np.asarray(ra, float)))


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between unit vectors, degrees (accurate at every angle)."""
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1),
                                 np.sum(u * v, axis=-1)))


def footprint_contains(rings: Sequence[Ring], ra: float, dec: float) -> bool:
    """Whether any ring of a footprint contains the position."""
    return any(bool(ring_contains(ring, ra, dec)) for ring in rings)


def footprint_distance(rings: Sequence[Ring], ra: float, dec: float) -> float:
    """Distance (degrees) from a position to a footprint: 0 inside, else to the nearest edge."""
    if footprint_contains(rings, ra, dec):
        return 0.0
    return min(float(ring_distance(ring, ra, dec)) for ring in rings)


def footprint_meets_cone(rings: Sequence[Ring], ra: float, dec: float, radius: float) -> bool:
    """Whether a footprint and a cone (centre and radius in degrees) share a point."""
    return footprint_distance(rings, ra, dec) <= radius


def footprint_centre(rings: Sequence[Ring]) -> tuple[float, float]:
    """The mean direction of all of a footprint's vertices, (RA, Dec) in degrees."""
    vectors = np.concatenate([_ring_vectors(r) for r in rings])
    ra, dec = to_radec(vectors.sum(axis=0))
    return float(ra), float(dec)


def cone_polygon(ra: float, dec: float, radius: float, n: int = 24) -> list[list[float]]:
    """A ring of ``n`` vertices circumscribing a cone: every point of the cone is inside.

    Its edges touch the cone's circle, so it reaches at most
    ``atan(tan(radius) / cos(pi / n))`` from the centre; it must stay under 90
    degrees (a ring larger than a hemisphere is ambiguous).
    """
    reach = math.atan(math.tan(math.radians(radius)) / math.cos(math.pi / n))
    centre = unit_vectors(ra, dec)
    east, north = _tangent_basis(centre)
    angles = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    directions = np.cos(angles)[:, None] * east + np.sin(angles)[:, None] * north
    vertices = math.cos(reach) * centre + math.sin(reach) * directions
    out_ra, out_dec = to_radec(vertices)
    return [[float(a), float(d)] for a, d in zip(out_ra, out_dec, strict=True)]


def check_ring(ring: Ring) -> None:
    """Raise ValueError unless a ring is a proper footprint polygon.

    At least three distinct, finite vertices; every vertex within 90 degrees of
    the ring's centre (smaller than a hemisphere); no edge of zero length; and
    not self-intersecting (all turns the same way, as a footprint's corners are).
    Plain floats, not numpy: the ingest checks every chip's ring, of four vertices.
    """
    try:
        points = [(float(ra), float(dec)) for ra, dec in ring]
    except (TypeError, ValueError):
        raise ValueError("a footprint ring needs at least three [ra, dec] vertices") from None
    if len(points) < 3:
        raise ValueError("a footprint ring needs at least three [ra, dec] vertices")
    if not all(math.isfinite(ra) and math.isfinite(dec) and abs(dec) <= 90.0
               for ra, dec in points):
        raise ValueError("a footprint vertex is not a finite sky position")
    v = []
    for ra, dec in points:
        ra_r, dec_r = math.radians(ra), math.radians(dec)
        v.append((math.cos(dec_r) * math.cos(ra_r), math.cos(dec_r) * math.sin(ra_r),
                  math.sin(dec_r)))
    centre = tuple(sum(c) for c in zip(*v, strict=True))
    norm = math.sqrt(_dot(centre, centre))
    if norm < 1e-9 or any(_dot(u, centre) / norm <= 1e-6 for u in v):
        raise ValueError("a footprint ring reaches 90 degrees from its centre")
    n = len(v)
    for i in range(n):
        a, b = v[i], v[(i + 1) % n]
        c = _cross(a, b)
        if math.degrees(math.atan2(math.sqrt(_dot(c, c)), _dot(a, b))) < 1e-9:
            raise ValueError("a footprint ring has an edge of zero length")
    turns = []
    for i in range(n):
        before, here, after = v[i - 1], v[i], v[(i + 1) % n]
        incoming = tuple(h - b for h, b in zip(here, before, strict=True))
        outgoing = tuple(a - h for a, h in zip(after, here, strict=True))
        turns.append(_dot(_cross(incoming, outgoing), here))
    if not (all(t > 0 for t in turns) or all(t < 0 for t in turns)):
        raise ValueError("a footprint ring is not convex")


def _dot(u: Sequence[float], w: Sequence[float]) -> float:
    return u[0] * w[0] + u[1] * w[1] + u[2] * w[2]


def _cross(u: Sequence[float], w: Sequence[float]) -> tuple[float, float, float]:
    return (u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0])


def _lon(ra: float) -> float:
    """RA (degrees) as GeoJSON longitude in (-180, 180]."""
    lon = float(ra) % 360.0
    return lon - 360.0 if lon > 180.0 else lon


def to_geojson(rings: Sequence[Ring]) -> dict:
    """A footprint as a GeoJSON ``Polygon`` (one ring) or ``MultiPolygon``.

    Coordinates are ``[lon, lat]`` with lon = RA wrapped into (-180, 180];
    each ring is closed and counter-clockwise seen from outside the sphere.
    """
    polygons = []
    for ring in rings:
        points = [[_lon(ra), float(dec)] for ra, dec in ring]
        if _clockwise(ring):
            points.reverse()
        polygons.append([[*points, points[0]]])
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _clockwise(ring: Ring) -> bool:
    v = _ring_vectors(ring)
    return float(np.sum(np.cross(v, np.roll(v, -1, axis=0)) @ v.sum(axis=0))) < 0


def from_geojson(geometry: dict) -> list[list[list[float]]]:
    """The rings of a GeoJSON footprint, as ``[ra, dec]`` lists (RA in [0, 360), not closed)."""
    if geometry.get("type") == "Polygon":
        polygons = [geometry["coordinates"]]
    else:
        polygons = geometry["coordinates"]
    return [[[lon % 360.0, lat] for lon, lat in polygon[0][:-1]] for polygon in polygons]


def to_s_region(rings: Sequence[Ring]) -> str:
    """A footprint as ObsCore writes ``s_region`` (STC-S, ICRS, degrees).

    One ring: ``POLYGON ICRS ra1 dec1 ra2 dec2 ...``; several (the chips of a
    WFC exposure): ``UNION ICRS (POLYGON ... POLYGON ...)``.
    """
    def coords(ring: Ring) -> str:
        return " ".join(f"{float(ra) % 360.0:.7f} {float(dec):.7f}" for ra, dec in ring)

    if len(rings) == 1:
        return f"POLYGON ICRS {coords(rings[0])}"
    return "UNION ICRS (" + " ".join(f"POLYGON {coords(r)}" for r in rings) + ")"
