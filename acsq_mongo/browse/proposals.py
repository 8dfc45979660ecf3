"""The proposals: one summary per proposal, as ingest wrote them in ``proposals``.

:func:`acsq_mongo.ingest.summaries.refresh_summaries` rebuilds the summaries after
every ingest run, so listing them reads the small ``proposals`` collection
(one document per proposal), never the catalog. Sorting is done in Python:
the list is small and cached per data generation, and None sorts last
whatever the direction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import PROPOSALS
from acsq_mongo.db.generation import generation
from acsq_mongo.db.summary_shapes import proposal_id
from acsq_mongo.query.errors import QueryError

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache

__all__ = [
    "PROPOSAL_COLUMNS",
    "PROPOSAL_SORTABLE",
    "DEFAULT_PROPOSAL_SORT",
    "UNKNOWN_PROPOSAL",
    "parse_proposid",
    "parse_proposal_sort",
    "list_proposals",
    "get_proposal",
]

#: The fields of a proposal summary, in the order lists show them.
PROPOSAL_COLUMNS: tuple[str, ...] = (
    "proposid", "n_rootnames", "detectors", "date_min", "date_max", "pr_inv_l", "pr_inv_f",
    "proposal_type", "targnames", "thumbnail",
)
#: Fields a proposal list can be sorted by.
PROPOSAL_SORTABLE: tuple[str, ...] = (
    "proposid", "n_rootnames", "date_min", "date_max", "pr_inv_l", "proposal_type",
)
#: Newest proposals (highest IDs) first.
DEFAULT_PROPOSAL_SORT: tuple[str, int] = ("proposid", -1)
#: How URLs and quicklook folders name the rootnames without a proposal ID.
UNKNOWN_PROPOSAL = "unknown"


def parse_proposid(text: str) -> int | None:
    """Return the proposal ID a URL names: digits, or ``unknown`` for None.

    Raises
    ------
    QueryError
        If the text is neither.
    """
    if text == UNKNOWN_PROPOSAL:
        return None
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 9):
        raise QueryError(f"a proposal ID is a number, got {text[:20]!r}")
    return int(text)


def parse_proposal_sort(text: str | None) -> tuple[str, int]:
    """Return ``(field, direction)`` from ``"-n_rootnames"`` (``-`` for descending).

    Raises
    ------
    QueryError
        If the field cannot be sorted by; the message lists those that can.
    """
    if text is None or not text.strip():
        return DEFAULT_PROPOSAL_SORT
    text = text.strip()
    direction = -1 if text.startswith("-") else 1
    name = text.lstrip("+-").strip().lower()
    if name not in PROPOSAL_SORTABLE:
        raise QueryError(f"cannot sort proposals by {text[:40]!r}; valid sort fields: "
                         + ", ".join(PROPOSAL_SORTABLE))
    return name, direction


def _sorted(docs: Iterable[dict], sort: tuple[str, int]) -> list[dict]:
    name, direction = sort
    present = [d for d in docs if d.get(name) is not None]
    missing = [d for d in docs if d.get(name) is None]
    present.sort(key=lambda d: (d[name], d["proposid"]), reverse=direction < 0)
    missing.sort(key=lambda d: d["proposid"])
    return present + missing


def _all_proposals(db: Database, cache: ResultCache | None) -> list[dict]:
    if cache is None:
        return list(db[PROPOSALS].find({}))
    key = ("proposals", db.name, id(db.client), generation(db))
    docs = cache.get(key)
    if docs is None:
        docs = list(db[PROPOSALS].find({}))
        cache.put(key, docs)
    return docs


def list_proposals(
    db: Database, sort: tuple[str, int] = DEFAULT_PROPOSAL_SORT,
    cache: ResultCache | None = None,
) -> list[dict[str, Any]]:
    """Return every proposal summary, sorted.

    Parameters
    ----------
    db : Database
    sort : (str, int)
        A field of :data:`PROPOSAL_SORTABLE` and 1 or -1 (see :func:`parse_proposal_sort`).
    cache : ResultCache, optional
        Keep the list until the data generation changes.

    Returns
    -------
    proposals : list of dict
        Copies of the summaries (docs/data-model.md, "Proposals").
    """
    return [dict(d) for d in _sorted(_all_proposals(db, cache), sort)]


def get_proposal(db: Database, proposid: int, cache: ResultCache | None = None
                 ) -> dict[str, Any] | None:
    """Return one proposal's summary (an ``_id`` lookup), or None.

    With a cache, an already cached list of every proposal answers it; otherwise
    the one summary is read by ``_id`` and cached on its own, so a gallery's first
    visit never reads the whole ``proposals`` collection.
    """
    if cache is None:
        return db[PROPOSALS].find_one({"_id": proposal_id(proposid)})
    gen = generation(db)
    every = cache.get(("proposals", db.name, id(db.client), gen))
    if every is not None:
        found = [doc for doc in every if doc["proposid"] == proposid]
        return dict(found[0]) if found else None
    key = ("proposal", db.name, id(db.client), gen, proposid)
    if key not in cache:
        cache.put(key, db[PROPOSALS].find_one({"_id": proposal_id(proposid)}))
    doc = cache.get(key)
    return dict(doc) if doc is not None else None
