"""Which rootnames a query selects: a filter on one collection, or the exact ids.

Filters on promoted fields only select on ``catalog``, and so do filters on
header keywords that have an index (their values are copied into the catalog:
:mod:`acsq_mongo.db.header_indexes`); another header-keyword filter, a cone or
a footprint search is resolved first to the exact ``_id`` s (at most
:data:`MAX_IDS`), so that the count, facets and pages of the query are those
of the exact set. A search around a position also keeps the ids in order of
distance from it, for ``sort=distance``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import bson
import numpy as np

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.header_indexes import copied_paths
from acsq_mongo.query.cache import CallCache, ResultCache
from acsq_mongo.query.errors import QueryError, server_errors
from acsq_mongo.query.filters import combine
from acsq_mongo.query.result import Selection
from acsq_mongo.query.sky_search import find_footprints
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.query.targets import TargetNames
from acsq_mongo.sky.geometry import separation as sky_separation

if TYPE_CHECKING:
    from pymongo.database import Database


__all__ = [
    "MAX_IDS",
    "MAX_FILTER_BYTES",
    "check_filter_size",
    "select",
    "cached_selection",
]


#: Most rootnames a cone or header filter may match before the query must be narrowed
#: (a cone) or runs whole on ``rootnames`` (a header filter). The ``_id`` list goes to the
#: server with the count, the facets and every page: ~21 bytes each as BSON, so ~2 MB.
MAX_IDS = 100_000
#: Most bytes of BSON one command's filter may carry. MongoDB refuses a command over
#: 16 MB; a query's own values are bounded too (filters.MAX_LIST_VALUES each), but a URL
#: may hold many lists: past this, the query is refused before it is sent.
MAX_FILTER_BYTES = 4 * 2**20
# Id sets larger than this are not kept in the result cache (memory).
_CACHE_IDS_MAX = 20_000


def select(db: Database, spec: QuerySpec, cache: ResultCache | None = None) -> Selection:
    """Return the selection of a spec: which collection, which filter, the exact ids.

    Parameters
    ----------
    db : Database
    spec : QuerySpec
    cache : ResultCache, optional

    Raises
    ------
    QueryError
        If a cone holds more than :data:`MAX_IDS` targets, or the server refuses a filter.
    """
    return cached_selection(CallCache(db, cache), spec)


def cached_selection(cached: CallCache, spec: QuerySpec) -> Selection:
    return cached.get(
        "selection", spec.selection_key(), lambda: _select(cached.db, spec),
        keep=lambda s: s.ids is None or len(s.ids) <= _CACHE_IDS_MAX,
    )[0]


def _by_distance(found: list[tuple[str, float]]) -> tuple[str, ...]:
    """The ids by distance from the search's position, then by ``_id``."""
    return tuple(_id for _id, _ in sorted(found, key=lambda pair: (pair[1], pair[0])))


def _capped(found: list[tuple[str, float]], what: str
            ) -> tuple[list[str], tuple[str, ...]]:
    """The ids a search found, sorted and by distance; a QueryError past :data:`MAX_IDS`."""
    if len(found) > MAX_IDS:
        raise QueryError(f"{what.format(n=len(found))}, more than {MAX_IDS}; make the search "
                         "smaller or add filters")
    return sorted(_id for _id, _ in found), _by_distance(found)


def check_filter_size(match: dict) -> dict:
    """Return ``match``; a QueryError if it is over :data:`MAX_FILTER_BYTES` as BSON."""
    size = len(bson.encode(match))
    if size > MAX_FILTER_BYTES:
        raise QueryError(f"this query's filters take {size / 2**20:.1f} MB, over the "
                         f"{MAX_FILTER_BYTES // 2**20} MB one database command may carry; "
                         "list fewer values")
    return match


def _select(db: Database, spec: QuerySpec) -> Selection:
    if spec.targets:  # a target name: its position, from the catalog (one step, every face)
        spec = spec.with_targets(TargetNames(db).resolve)
    field_filters, header_filters = spec.field_filters, spec.header_filters
    # Header keywords with an index are copied into the catalog (db.header_indexes):
    # filters on those alone run there, and never read a whole document.
    copied = bool(header_filters) and {f.field.path for f in header_filters} <= copied_paths(db)
    check_filter_size(combine(spec.filters))
    if spec.cone is None and spec.sky is None and (not header_filters or copied):
        return Selection(CATALOG, combine(spec.filters))
    ids: list[str] | None = None
    by_distance: tuple[str, ...] | None = None
    with server_errors():
        if spec.cone is not None:
            query = combine(field_filters, [spec.cone.box_filter()])
            docs = list(db[CATALOG].find(query, {"_id": 1, "ra_targ": 1, "dec_targ": 1}))
            found: list[tuple[str, float]] = []
            if docs:
                ra = np.array([d["ra_targ"] for d in docs], dtype=float)
                dec = np.array([d["dec_targ"] for d in docs], dtype=float)
                separation = sky_separation(spec.cone.ra, spec.cone.dec, ra, dec)
                found = [(d["_id"], float(sep)) for d, sep in zip(docs, separation, strict=True)
                         if sep <= spec.cone.radius]
            ids, by_distance = _capped(found, "the cone holds {n} rootnames")
        if spec.sky is not None:
            query = combine(field_filters, [spec.sky.server_filter()])
            found = find_footprints(db, spec.sky, query)
            ids, by_distance = _capped(found, "{n} footprints match")
        if header_filters and ids != []:  # (an empty cone needs no pass over rootnames)
            extra = [{"_id": {"$in": ids}}] if ids is not None else []
            query = combine(spec.filters, extra)
            found = sorted(d["_id"] for d in db[CATALOG if copied else ROOTNAMES].find(
                query, {"_id": 1}))
            if len(found) > MAX_IDS:
                # Too many to hand over as a list: answer the whole query from rootnames.
                return Selection(ROOTNAMES, query)
            ids = found
            if by_distance is not None:
                kept = set(found)
                by_distance = tuple(_id for _id in by_distance if _id in kept)
    assert ids is not None
    return Selection(CATALOG, {"_id": {"$in": ids}}, tuple(ids), by_distance)
