"""Indexes on image statistics: ``acsq db index stats.raw.ampC.bias_level``.

The image statistics (:mod:`acsq_mongo.images.statistics`) are stored in the
slim ``catalog`` entries, where every query on them runs. There are hundreds of
``stats.<filetype>.<region>.<statistic>`` paths and a monitoring routine asks
about a few, so none is indexed by default: without an index, a query on a
statistic alone reads every catalog entry (~2 kB each, ~0.4 GB at the real
archive's 200,000 rootnames). Index the ones a routine asks about often.

Unlike a header keyword (:mod:`acsq_mongo.db.header_indexes`), a statistic
needs no copy: it is in the catalog already, so its index is one
``createIndexes`` on ``catalog`` and the query core's plans use it as they
are. The data do not change, so no new data generation starts. An index is
``(path, _id)``, so that a result sorted by the statistic, ties broken by
``_id`` as the query core does, reads it in order with no sort in memory.

The indexes made here are named ``stat:<path>``, so they can be listed and
dropped apart from the store's own (:mod:`acsq_mongo.db.indexes`) and the
header keywords'. At most :data:`MAX_STATISTIC_INDEXES` statistics have one
(``catalog`` has its own ~30 indexes and up to 24 header keywords' under
MongoDB's 64).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymongo import ASCENDING

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.header_indexes import MAX_COLLECTION_INDEXES
from acsq_mongo.errors import ConfigError
from acsq_mongo.fields import STATS_PREFIX, stats_field

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["STAT_INDEX_PREFIX", "MAX_STATISTIC_INDEXES", "statistic_indexes",
           "create_statistic_index", "drop_statistic_index"]

#: The name of a statistic's index is this plus its path.
STAT_INDEX_PREFIX = "stat:"
#: Most statistics with an index.
MAX_STATISTIC_INDEXES = 8


def _check(path: str) -> str:
    if not isinstance(path, str) or not path.startswith(STATS_PREFIX + ".") \
            or stats_field(path) is None:
        raise ConfigError(f"{path!r} is not an image statistic: write "
                          "stats.<filetype>.<region>.<statistic>, e.g. stats.raw.ampC.bias_level")
    return path


def statistic_indexes(db: Database) -> list[str]:
    """Return the statistics that have an index, sorted."""
    return sorted(name[len(STAT_INDEX_PREFIX):] for name in db[CATALOG].index_information()
                  if name.startswith(STAT_INDEX_PREFIX))


def create_statistic_index(db: Database, path: str) -> bool:
    """Index an image statistic in ``catalog``.

    Parameters
    ----------
    db : Database
    path : str
        ``stats.<filetype>.<region>.<statistic>``, as
        :func:`acsq_mongo.query.names.resolve` writes it.

    Returns
    -------
    created : bool
        False if it had an index already.

    Raises
    ------
    ConfigError
        If ``path`` is not a statistic, or :data:`MAX_STATISTIC_INDEXES`
        statistics (or MongoDB's 64 indexes of ``catalog``) have one already.
    """
    _check(path)
    existing = db[CATALOG].index_information()
    name = STAT_INDEX_PREFIX + path
    if name in existing:
        return False
    have = sorted(n[len(STAT_INDEX_PREFIX):] for n in existing if n.startswith(STAT_INDEX_PREFIX))
    if len(have) >= MAX_STATISTIC_INDEXES:
        raise ConfigError(f"{len(have)} statistics have an index already (at most "
                          f"{MAX_STATISTIC_INDEXES}): drop one first "
                          f"(acsq db index {have[0]} --drop)")
    if len(existing) >= MAX_COLLECTION_INDEXES:
        raise ConfigError(f"catalog has {len(existing)} indexes, MongoDB's most: "
                          "drop a header keyword's or a statistic's first")
    db[CATALOG].create_index([(path, ASCENDING), ("_id", ASCENDING)], name=name)
    return True


def drop_statistic_index(db: Database, path: str) -> bool:
    """Drop a statistic's index; return False if it had none."""
    _check(path)
    name = STAT_INDEX_PREFIX + path
    if name not in db[CATALOG].index_information():
        return False
    db[CATALOG].drop_index(name)
    return True
