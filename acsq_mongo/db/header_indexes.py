"""Indexes on header keywords: ``acsq db index headers.flt.0.CCDGAIN``.

Every header of every file is in the ``rootnames`` documents, so any keyword
can be queried, but without an index a header-keyword query reads every whole
document (~50-130 kB each). An index on the keyword's path answers it from the
index instead. There are thousands of keywords, so none is indexed by default:
add one for a keyword that is queried often (a monitoring routine's, say), and
drop it when it is no longer used. Each index costs disk and a little ingest
time.

The indexes made here are named ``header:<path>``, so that they can be listed
and dropped apart from the store's own (:mod:`acsq_mongo.db.indexes`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.errors import ConfigError

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["PREFIX", "index_name", "create_header_index", "drop_header_index",
           "header_indexes"]

#: The name of a header-keyword index is this plus the path.
PREFIX = "header:"
# headers.<filetype>.<ext>.<KEYWORD>, as stored (the keyword escaped by db.keys).
_PATH = re.compile(r"headers\.[a-z]+\.[0-9]+\.[^.$\s][^.\s]*")


def index_name(path: str) -> str:
    """Return the index name for a header path (``header:headers.flt.0.CCDGAIN``)."""
    return PREFIX + path


def _check(path: str) -> str:
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ConfigError(
            f"{path!r} is not a header keyword path: write headers.<filetype>.<ext>.<KEYWORD>, "
            "e.g. headers.flt.0.CCDGAIN"
        )
    return path


def create_header_index(db: Database, path: str) -> bool:
    """Index a header keyword's path in ``rootnames``.

    Parameters
    ----------
    db : Database
    path : str
        The stored path, ``headers.<filetype>.<ext>.<KEYWORD>``.

    Returns
    -------
    created : bool
        False if the index was there already.

    Raises
    ------
    ConfigError
        If ``path`` is not a header keyword path.
    """
    name = index_name(_check(path))
    if name in db[ROOTNAMES].index_information():
        return False
    db[ROOTNAMES].create_index([(path, 1)], name=name)
    return True


def drop_header_index(db: Database, path: str) -> bool:
    """Drop the index of a header keyword's path; return False if there was none."""
    name = index_name(_check(path))
    if name not in db[ROOTNAMES].index_information():
        return False
    db[ROOTNAMES].drop_index(name)
    return True


def header_indexes(db: Database) -> list[str]:
    """Return the header paths that have an index made by :func:`create_header_index`."""
    return sorted(name[len(PREFIX):] for name in db[ROOTNAMES].index_information()
                  if name.startswith(PREFIX))
