"""The indexes of every collection: what the queries filter and sort on.

:func:`ensure_indexes` is idempotent; ``acsq db indexes`` and every ingest run call it.
Everything here keeps to a subset of MongoDB that behaves the same on
MongoDB 7, FerretDB v1 and mongomock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymongo import ASCENDING, DESCENDING, IndexModel

from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, META, PROPOSALS, ROOTNAMES
from acsq_mongo.fields import PROMOTED_FIELDS

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["ensure_indexes"]


def _index(*keys: tuple[str, int], name: str | None = None) -> IndexModel:
    name = name or "_".join(f"{k}_{d}" for k, d in keys)
    return IndexModel(list(keys), name=name)


def _catalog_indexes() -> list[IndexModel]:
    models = [_index((f.name, ASCENDING)) for f in PROMOTED_FIELDS]
    models += [
        _index(("filetypes", ASCENDING)),
        _index(("year", ASCENDING)),
        # Gallery: a proposal's rootnames by date or exposure time.
        _index(("proposid", ASCENDING), ("date_obs", ASCENDING)),
        _index(("proposid", ASCENDING), ("exptime", DESCENDING)),
        # Browsing a detector over time, and the per-year plot.
        _index(("detector", ASCENDING), ("date_obs", ASCENDING)),
        _index(("detector", ASCENDING), ("year", ASCENDING)),
        # Cone search: a Dec band first, then the RA range.
        _index(("dec_targ", ASCENDING), ("ra_targ", ASCENDING)),
        # The stable default order of query results.
        _index(("date_obs", ASCENDING), ("_id", ASCENDING)),
        _index(("last_ingest_date", DESCENDING)),
    ]
    return models


def _rootnames_indexes() -> list[IndexModel]:
    # Header-keyword queries run here; let MongoDB narrow them by the usual keys.
    return [
        _index((name, ASCENDING))
        for name in ("rootname", "detector", "proposid", "date_obs", "filter1", "filter2")
    ]


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
        INGEST_ERRORS: [_index(("rootname", ASCENDING)), _index(("time", DESCENDING))],
        PROPOSALS: [_index(("n_rootnames", DESCENDING))],
    }
    ensured = []
    for collection, models in wanted.items():
        # Create only the missing ones: FerretDB v1.24 panics when one
        # createIndexes call repeats two or more existing indexes (it deletes
        # from a shrinking slice by the original position).
        existing = set(db[collection].index_information())
        missing = [m for m in models if m.document["name"] not in existing]
        if missing:
            db[collection].create_indexes(missing)
        ensured += [f"{collection}.{m.document['name']}" for m in models]
    # Make sure the small collections exist, so that the local server's index
    # doctor can index their _id straight away.
    db[META].update_one({"_id": "schema"}, {"$set": {"version": 1}}, upsert=True)
    return ensured
