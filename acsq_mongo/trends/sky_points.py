"""Where a query's rootnames lie on the sky: their target positions and footprints.

One ``find`` on ``catalog`` with the query's own filter (which its indexes
serve), projected to ``ra_targ``, ``dec_targ`` and ``footprint`` (the GeoJSON
polygon the ingest stores when the image has a WCS; absent otherwise).
Rootnames without a position are left out. The same guard rail as a trend
applies: the query is counted first, and more than ``trend_max_points``
rootnames is refused before any position is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.query import core
from acsq_mongo.query.cache import CallCache, ResultCache
from acsq_mongo.query.errors import server_errors
from acsq_mongo.query.passbands import active_filter
from acsq_mongo.query.selection import cached_selection
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.trends.limits import TooManyPoints, check_points

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["SkyPoints", "SkyMapTooLarge", "sky_points"]


class SkyMapTooLarge(TooManyPoints):
    """A sky map over more rootnames than ``trend_max_points``."""


@dataclass
class SkyPoints:
    """The positions (degrees) and footprints of a query's rootnames that have a position."""

    rootnames: list[str] = field(default_factory=list)
    ra: list[float] = field(default_factory=list)
    dec: list[float] = field(default_factory=list)
    footprints: list[Any] = field(default_factory=list)
    #: Each rootname's filter, the spectral one of its two wheels (a polarizer alone, or
    #: ``F1/F2`` where that is not one): what the map colours its footprint by.
    filters: list[str | None] = field(default_factory=list)
    n_matching: int = 0

    @property
    def n_footprints(self) -> int:
        """How many rootnames have a footprint."""
        return sum(1 for f in self.footprints if f is not None)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _filter_of(doc: dict) -> str | None:
    """The filter a footprint is coloured by: the active one, else both wheels' names."""
    name = active_filter(doc.get("filter1"), doc.get("filter2"))
    if name is not None:
        return {"POL_UV": "POL*UV", "POL_V": "POL*V"}.get(name, name)
    wheels = [w for w in (doc.get("filter1"), doc.get("filter2")) if isinstance(w, str) and w]
    return "/".join(wheels) or None


def _compute(db: Database, spec: QuerySpec, cached: CallCache) -> SkyPoints:
    selection = cached_selection(cached, spec)
    points = SkyPoints()
    projection = {"_id": 1, "rootname": 1, "ra_targ": 1, "dec_targ": 1, "footprint": 1,
                  "filter1": 1, "filter2": 1}
    with server_errors():
        # (the catalog holds the footprint; a selection on rootnames names the same _ids)
        match = selection.match if selection.collection == CATALOG else None
        if match is None:
            ids = [d["_id"] for d in db[selection.collection].find(selection.match, {"_id": 1})]
            match = {"_id": {"$in": ids}}
        for doc in db[CATALOG].find(match, projection, sort=[("_id", 1)]):
            ra, dec = doc.get("ra_targ"), doc.get("dec_targ")
            if _number(ra) and _number(dec):
                points.rootnames.append(doc.get("rootname") or doc["_id"])
                points.ra.append(float(ra))
                points.dec.append(float(dec))
                points.footprints.append(doc.get("footprint"))
                points.filters.append(_filter_of(doc))
    return points


def sky_points(db: Database, spec: QuerySpec, settings: Settings,
               cache: ResultCache | None = None) -> SkyPoints:
    """Return the positions and footprints of the rootnames ``spec`` selects.

    Raises
    ------
    SkyMapTooLarge
        If the query matches more than ``settings.trend_max_points`` rootnames.
    """
    n_matching = core.count(db, spec, cache)
    check_points(n_matching, settings, SkyMapTooLarge, "this map would draw {n} rootnames",
                 "map")
    cached = CallCache(db, cache)
    points = cached.get("sky", spec.selection_key(), lambda: _compute(db, spec, cached),
                        keep=lambda p: len(p.rootnames) <= 20_000)[0]
    points.n_matching = n_matching
    return points
