"""Footprint searches: which images cover a position, which meet a cone.

``contains=POSITION``
    the rootnames whose footprint (catalog ``footprint``, GeoJSON) contains
    the position;
``overlaps=POSITION,RADIUS``
    the rootnames whose footprint shares a point with the cone.

Two steps, like the cone search of target positions (:mod:`.cone`):

1. The server narrows: ``$geoIntersects`` on the ``footprint`` 2dsphere index,
   with the point, or with a polygon circumscribing the cone (every point of
   the cone is inside it: :func:`~acsq_mongo.sky.geometry.cone_polygon`). The
   query names the index (``hint``): SecantusDB's planner does not choose a
   2dsphere index by itself. MongoDB 7 takes the same command.
2. The exact test in Python (:mod:`acsq_mongo.sky.geometry`), on the stored
   rings: point in spherical polygon, or distance from the centre to the
   footprint within the radius.

There is one path, the server's: mongomock has no geo operators (it raises
``NotImplementedError``), so the tests of footprint searches run on the real server.

A cone's radius is at most :data:`MAX_OVERLAP_RADIUS`: the polygon around it must
stay smaller than a hemisphere, which GeoJSON on a sphere needs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.positions import parse_radius, read_position
from acsq_mongo.sky.geometry import (
    cone_polygon,
    footprint_centre,
    footprint_contains,
    footprint_distance,
    from_geojson,
    separation,
    to_geojson,
)

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["SkySearch", "SKY_PARAMS", "FOOTPRINT_INDEX", "MAX_OVERLAP_RADIUS"]

#: The query parameters of a footprint search.
SKY_PARAMS = ("contains", "overlaps")
#: The name of the catalog's 2dsphere index on ``footprint`` (acsq_mongo.db.indexes).
FOOTPRINT_INDEX = "footprint_2dsphere"
#: Largest radius of ``overlaps``, degrees.
MAX_OVERLAP_RADIUS = 80.0
# Widen the server's polygon a little, so that rounding never drops a footprint on its edge.
_MARGIN = 1e-9


@dataclass(frozen=True)
class SkySearch:
    """A footprint search: ``kind`` ``contains`` or ``overlaps``, a centre and a radius.

    Attributes
    ----------
    kind : str
    ra, dec : float
        The position, ICRS degrees; NaN while a target name is unresolved.
    radius : float
        Degrees; 0 for ``contains``.
    text : str
        The value as given (links keep a target name, not its numbers).
    target : str or None
        The target name the position was given as, if any.
    """

    kind: str
    ra: float
    dec: float
    radius: float = 0.0
    text: str = ""
    target: str | None = None

    @classmethod
    def parse(cls, kind: str, value: Any) -> SkySearch:
        """Parse ``contains=POSITION`` or ``overlaps=POSITION,RADIUS``.

        A target name is kept unresolved (NaN position, ``target`` set): the
        query core resolves it before selecting (:meth:`at`). Nothing here
        reads the store.

        Raises
        ------
        QueryError
            On a position or radius that cannot be read, or a radius over
            :data:`MAX_OVERLAP_RADIUS`.
        """
        text = str(value).strip()
        radius = 0.0
        position = text
        if kind == "overlaps":
            position, sep, radius_text = text.rpartition(",")
            if not sep or not position.strip():
                raise QueryError(f"overlaps takes POSITION,RADIUS (e.g. 10.68,41.27,2arcmin), "
                                 f"got {text[:60]!r}")
            radius = float(parse_radius(radius_text).deg)
            if radius > MAX_OVERLAP_RADIUS:
                raise QueryError(f"overlaps takes a radius of at most {MAX_OVERLAP_RADIUS:g} "
                                 f"degrees, got {radius_text.strip()!r}")
        elif kind != "contains":
            raise QueryError(f"unknown sky search {kind!r}; valid: " + ", ".join(SKY_PARAMS))
        coord = read_position(position)
        if isinstance(coord, str):
            return cls(kind, math.nan, math.nan, radius, text, target=coord)
        return cls(kind, float(coord.ra.deg) % 360.0, float(coord.dec.deg), radius, text)

    @property
    def resolved(self) -> bool:
        """Whether the position is known (False while a target name waits to be resolved)."""
        return not math.isnan(self.ra)

    def at(self, ra: float, dec: float) -> SkySearch:
        """The same search at (``ra``, ``dec``), degrees (a resolved target name)."""
        return dataclasses.replace(self, ra=ra % 360.0, dec=dec)

    def key(self) -> tuple:
        """A hashable form, for caches."""
        if not self.resolved:
            return (self.kind, "target", self.target, self.radius)
        return (self.kind, self.ra, self.dec, self.radius)

    def geometry(self) -> dict:
        """The GeoJSON the server's ``$geoIntersects`` takes: the point, or the cone's polygon."""
        if self.kind == "contains":
            lon = self.ra - 360.0 if self.ra > 180.0 else self.ra
            return {"type": "Point", "coordinates": [lon, self.dec]}
        return to_geojson([cone_polygon(self.ra, self.dec, self.radius * (1 + _MARGIN) + 1e-12)])

    def server_filter(self) -> dict:
        """The filter of step 1: ``$geoIntersects`` with :meth:`geometry`."""
        return {"footprint": {"$geoIntersects": {"$geometry": self.geometry()}}}

    def matches(self, footprint: dict) -> bool:
        """The exact test of one stored GeoJSON footprint."""
        rings = from_geojson(footprint)
        if self.kind == "contains":
            return footprint_contains(rings, self.ra, self.dec)
        return footprint_distance(rings, self.ra, self.dec) <= self.radius

    def distance(self, footprint: dict) -> float:
        """Distance (degrees) from the position to the footprint's centre, for sorting."""
        ra, dec = footprint_centre(from_geojson(footprint))
        return float(separation(self.ra, self.dec, ra, dec))

    def describe(self) -> str:
        """The search in words (for a page that shows no match)."""
        where = self.target if self.target else f"RA {self.ra:.6f}, Dec {self.dec:+.6f}"
        if self.kind == "contains":
            return f"footprint contains {where}"
        return f"footprint within {self.radius * 3600:g}\" of {where}"


def find_footprints(db: Database, search: SkySearch, query: dict) -> list[tuple[str, float]]:
    """Step 1 and 2: the ``(_id, distance)`` of every catalog entry the search matches.

    ``query`` is the search's server filter ANDed with the query's other field filters.
    """
    cursor = db[CATALOG].find(query, {"_id": 1, "footprint": 1}).hint(FOOTPRINT_INDEX)
    out = []
    for doc in cursor:
        footprint = doc.get("footprint")
        if isinstance(footprint, dict) and search.matches(footprint):
            out.append((doc["_id"], search.distance(footprint)))
    return out
