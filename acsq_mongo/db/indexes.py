"""The indexes of every collection: exactly those the queries use, each with its user.

:func:`ensure_indexes` is idempotent; ``acsq db indexes`` and every ingest run call it.
tests/test_index_use.py runs every query a page or the command line sends
through ``explain`` on the real server: each filtering query must be served
by an index, and each index here must win for at least one of them. The
small collections (``meta``, ``proposals``, ``galleries``) are read by
``_id`` or listed whole, and ``ingest_errors`` is only appended to and
counted whole, so they have no index but ``_id``; so has ``users`` (read by
``_id``, listed whole). Header keywords get their
indexes on demand (:mod:`acsq_mongo.db.header_indexes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymongo import ASCENDING, DESCENDING, GEOSPHERE, IndexModel

from acsq_mongo.db.collections import (
    ANOMALY_EVENTS,
    CATALOG,
    INGEST_ERRORS,
    PROPOSALS,
    ROOTNAMES,
    SIGN_IN_FAILURES,
)
from acsq_mongo.fields import PROMOTED_FIELDS

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["ensure_indexes"]


def _index(*keys: tuple[str, int], name: str | None = None) -> IndexModel:
    name = name or "_".join(f"{k}_{d}" for k, d in keys)
    return IndexModel(list(keys), name=name)


#: Promoted fields whose index is a compound one below (its first key serves their filters).
_IN_A_COMPOUND = ("date_obs", "dec_targ")


def _catalog_indexes() -> list[IndexModel]:
    # A form query on each promoted field (its $facet aggregation and its page's find),
    # and a result sorted by it: _id breaks the sort's ties in the same direction
    # (query.core._sort), so the index is read forward or backward with no in-memory sort.
    models = [_index((f.name, ASCENDING), ("_id", ASCENDING)) for f in PROMOTED_FIELDS
              if f.name not in _IN_A_COMPOUND]
    models += [
        # The default order of every result page (and a filter on date_obs); _id breaks ties.
        _index(("date_obs", ASCENDING), ("_id", ASCENDING)),
        # The form's main question, detector + filter + a date range, in page order (by
        # date): the page's scan reads only the matches, in order, and stops within its
        # counting budget (query.core). Without these, at 200,000 rootnames the planner
        # walked date_obs_1__id_1 and tested every rootname of the period (~14 per match).
        _index(("detector", ASCENDING), ("filter1", ASCENDING), ("date_obs", ASCENDING),
               ("_id", ASCENDING)),
        _index(("detector", ASCENDING), ("filter2", ASCENDING), ("date_obs", ASCENDING),
               ("_id", ASCENDING)),
        # A cone search's bounding box: a Dec band, then the RA range (and a filter on dec_targ).
        _index(("dec_targ", ASCENDING), ("ra_targ", ASCENDING)),
        # The home page's links: rootnames with a filetype, rootnames with ingest errors.
        _index(("filetypes", ASCENDING)),
        _index(("n_errors", ASCENDING)),
        # Footprint searches (contains, overlaps): $geoIntersects on the GeoJSON footprints.
        # Documents without a footprint are left out of it (2dsphere indexes are sparse).
        IndexModel([("footprint", GEOSPHERE)], name="footprint_2dsphere"),
        # Anomaly flags: anomaly=, anomaly__in= and anomaly__exists= (a multikey index).
        _index(("anomalies", ASCENDING)),
        # rootname= also finds the rootnames merged into an observation (an association's
        # sub-products, a retransmission): the other branch of its $or (a multikey index).
        _index(("rootnames", ASCENDING), ("_id", ASCENDING)),
    ]
    return models


def _anomaly_event_indexes() -> list[IndexModel]:
    return [
        # The /anomalies page: the latest events, of one flag, or by one user.
        _index(("time", DESCENDING)),
        _index(("flag", ASCENDING), ("time", DESCENDING)),
        _index(("user", ASCENDING), ("time", DESCENDING)),
        # An image view's history, and the flags derived from it when one changes.
        _index(("catalog_id", ASCENDING), ("time", ASCENDING)),
    ]


def _sign_in_failure_indexes() -> list[IndexModel]:
    # Sign-in throttling counts the recent failures of an account or an address.
    return [_index(("key", ASCENDING), ("time", ASCENDING))]


#: The promoted fields a header-keyword query on ``rootnames`` is most often narrowed by.
ROOTNAMES_INDEXED: tuple[str, ...] = ("detector", "proposid", "date_obs", "filter1", "filter2")


def _rootnames_indexes() -> list[IndexModel]:
    # A header-keyword query runs here (selection.py) with the form's other filters: these
    # narrow it to the matching whole documents before the header test.
    return [_index((name, ASCENDING)) for name in ROOTNAMES_INDEXED]


def ensure_indexes(db: Database) -> list[str]:
    """Create the indexes of every collection. Idempotent.

    Returns
    -------
    names : list of str
        ``"<collection>.<index>"`` for every index ensured.
    """
    wanted = {
        CATALOG: _catalog_indexes(),
        ROOTNAMES: _rootnames_indexes(),
        ANOMALY_EVENTS: _anomaly_event_indexes(),
        SIGN_IN_FAILURES: _sign_in_failure_indexes(),
    }
    ensured = []
    for collection, models in wanted.items():
        # Only the missing ones: one call, and nothing to do when all are there.
        existing = set(db[collection].index_information())
        missing = [m for m in models if m.document["name"] not in existing]
        if missing:
            db[collection].create_indexes(missing)
        ensured += [f"{collection}.{m.document['name']}" for m in models]
    _drop_retired(db)
    return ensured


#: Indexes earlier versions created that no query uses: dropped where they exist.
RETIRED: dict[str, tuple[str, ...]] = {
    CATALOG: ("date_obs_1", "dec_targ_1", "year_1", "proposid_1_date_obs_1",
              "proposid_1_exptime_-1", "detector_1_date_obs_1", "detector_1_year_1",
              "last_ingest_date_-1",
              # One field each, before _id joined them to serve sorts as well.
              *(f"{f.name}_1" for f in PROMOTED_FIELDS if f.name not in _IN_A_COMPOUND)),
    ROOTNAMES: ("rootname_1",),
    INGEST_ERRORS: ("rootname_1", "time_-1"),
    PROPOSALS: ("n_rootnames_-1",),
}


def _drop_retired(db: Database) -> None:
    for collection, names in RETIRED.items():
        existing = set(db[collection].index_information())
        for name in names:
            if name in existing:
                db[collection].drop_index(name)
