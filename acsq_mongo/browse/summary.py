"""What the archive holds: counts by detector, filetype and year, the latest ingest, errors.

The home page of the web app shows these figures. Every ingest run ends by
writing the counts behind them into ``meta`` ``{_id: "summary"}``
(:func:`acsq_mongo.ingest.summaries.refresh_summaries`), so the summary costs
three ``_id`` lookups in ``meta`` and a count of ``ingest_errors`` (a live
count): the other figures are those of the end of the last run. Before any run
has written it, they come from one ``$group`` over the slim ``catalog`` (on a
compound ``_id`` of detector, year, the ``filetypes`` array and ``n_errors``,
with ``$sum``), summed in Python: one read of the whole catalog. With a
:class:`~acsq_mongo.query.cache.ResultCache` it is computed once per data
generation and latest ingest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, META, PROPOSALS
from acsq_mongo.db.generation import generation
from acsq_mongo.fields import DETECTORS, FILETYPES
from acsq_mongo.query.facets import (
    FACET_FIELDS,
    count_and_facets,
    count_in_python,
    sort_counts,
)

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache

__all__ = [
    "ArchiveSummary",
    "archive_summary",
    "archive_values",
    "summarise_groups",
    "SUMMARY_PIPELINE",
]

#: The one aggregation behind the summary: a compound ``$group`` with ``$sum``.
SUMMARY_PIPELINE: tuple[dict, ...] = (
    {"$group": {
        "_id": {"detector": "$detector", "year": "$year", "filetypes": "$filetypes",
                "n_errors": "$n_errors"},
        "n": {"$sum": 1},
    }},
)


@dataclass
class ArchiveSummary:
    """The archive in figures.

    Attributes
    ----------
    n_rootnames : int
        Rootnames in the catalog.
    by_detector : list of (str or None, int)
        Rootnames per detector, WFC, HRC, SBC first, then any other value.
    by_filetype : list of (str, int)
        Rootnames that have a file of each filetype, in
        :data:`~acsq_mongo.fields.FILETYPES` order (filetypes no rootname has left out).
    by_year : dict
        ``{detector: {year: n}}``: observations per year of observation, by detector.
    years : list of int
        Every year with an observation, in order (rootnames without a date left out).
    n_files : int
        Files of every filetype, summed.
    rootnames_with_errors : int
        Rootnames whose document holds at least one ingest error now.
    document_errors : int
        The errors those documents hold.
    n_ingest_errors : int
        Rows in ``ingest_errors``, the append-only history of every failure.
    n_proposals : int
        Proposals in the ``proposals`` summaries.
    last_ingest : dict or None
        ``meta.last_ingest``: ``time`` (naive UTC), ``archive``, ``rootnames``,
        ``ingested``, ``unchanged``, ``failed``, ``files``, ``errors``, ``seconds``.
    """

    n_rootnames: int = 0
    by_detector: list[tuple[Any, int]] = field(default_factory=list)
    by_filetype: list[tuple[str, int]] = field(default_factory=list)
    by_year: dict[Any, dict[int, int]] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    n_files: int = 0
    rootnames_with_errors: int = 0
    document_errors: int = 0
    n_ingest_errors: int = 0
    n_proposals: int = 0
    last_ingest: dict[str, Any] | None = None


def _detector_order(counts: Mapping[Any, int]) -> list[tuple[Any, int]]:
    known = [(d, counts[d]) for d in DETECTORS if d in counts]
    others = sort_counts({d: n for d, n in counts.items() if d not in DETECTORS})
    return known + others


def summarise_groups(groups: Iterable[Mapping[str, Any]]) -> ArchiveSummary:
    """Sum the groups of :data:`SUMMARY_PIPELINE` into an :class:`ArchiveSummary`.

    Parameters
    ----------
    groups : iterable of mapping
        ``{"_id": {"detector", "year", "filetypes", "n_errors"}, "n": count}``; a
        field missing from ``_id`` (no value in the documents) counts as None.

    Returns
    -------
    summary : ArchiveSummary
        Without the ``ingest_errors`` count, proposals and the latest ingest.
    """
    detectors: Counter = Counter()
    filetypes: Counter = Counter()
    by_year: dict[Any, Counter] = {}
    summary = ArchiveSummary()
    for group in groups:
        key = group.get("_id") or {}
        n = int(group["n"])
        summary.n_rootnames += n
        detector = key.get("detector")
        detectors[detector] += n
        year = key.get("year")
        if isinstance(year, int) and not isinstance(year, bool):
            by_year.setdefault(detector, Counter())[year] += n
        for filetype in key.get("filetypes") or ():
            filetypes[filetype] += n
        n_errors = key.get("n_errors") or 0
        if isinstance(n_errors, int) and n_errors > 0:
            summary.rootnames_with_errors += n
            summary.document_errors += n * n_errors
    summary.by_detector = _detector_order(detectors)
    order = {ft: i for i, ft in enumerate(FILETYPES)}
    summary.by_filetype = sorted(filetypes.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    summary.n_files = sum(filetypes.values())
    summary.by_year = {d: dict(sorted(c.items())) for d, c in by_year.items()}
    summary.years = sorted({y for c in by_year.values() for y in c})
    return summary


def _stored(db: Database) -> dict[str, Any] | None:
    """The summary the last ingest run wrote (``meta.summary``), if any."""
    return db[META].find_one({"_id": "summary"})


def _compute(db: Database, last_ingest: dict | None) -> ArchiveSummary:
    stored = _stored(db)
    if stored is not None:
        summary = summarise_groups(stored.get("groups") or ())
    else:
        summary = summarise_groups(db[CATALOG].aggregate(list(SUMMARY_PIPELINE)))
    summary.n_ingest_errors = db[INGEST_ERRORS].count_documents({})
    if stored is not None and "n_proposals" in stored:
        summary.n_proposals = stored["n_proposals"]
    else:
        summary.n_proposals = db[PROPOSALS].count_documents({})
    if last_ingest is not None:
        summary.last_ingest = {k: v for k, v in last_ingest.items() if k != "_id"}
    return summary


def archive_summary(db: Database, cache: ResultCache | None = None) -> ArchiveSummary:
    """Return what the archive holds (see :class:`ArchiveSummary`).

    Parameters
    ----------
    db : Database
    cache : ResultCache, optional
        Keep the summary until the data generation or the latest ingest changes
        (an ingest run that only recorded errors changes the latter).

    Returns
    -------
    summary : ArchiveSummary
    """
    last_ingest = db[META].find_one({"_id": "last_ingest"})
    if cache is None:
        return _compute(db, last_ingest)
    stamp = (last_ingest or {}).get("time")
    key = ("archive_summary", db.name, id(db.client), generation(db), stamp)
    summary = cache.get(key)
    if summary is None:
        summary = _compute(db, last_ingest)
        cache.put(key, summary)
    return summary


def archive_values(
    db: Database, cache: ResultCache | None = None, only_cached: bool = False
) -> dict[str, list[Any]] | None:
    """Return the values each facet field takes in the whole archive, most frequent first.

    For a query form's suggestions: ``{"detector": ["WFC", "HRC", ...],
    "filter1": [...], ...}`` over :data:`~acsq_mongo.fields.FACET_FIELDS`,
    without None. As of the last ingest run (``meta.summary``); before any,
    one ``$group`` over ``catalog``.

    Parameters
    ----------
    db : Database
    cache : ResultCache, optional
        Keep the values until the data generation changes.
    only_cached : bool
        Return None rather than run the ``$group`` (a scan) if the values are
        neither cached nor stored by an ingest run.

    Returns
    -------
    values : dict or None
    """
    key = ("archive_values", db.name, id(db.client), generation(db))
    if cache is not None:
        values = cache.get(key)
        if values is not None:
            return values
    stored = _stored(db)
    if stored is not None and stored.get("values") is not None:
        values = dict(stored["values"])
        if "filter" not in values:   # the combined facet: the wheels' filters in the beam
            docs = [{"filter1": v} for v in values.get("filter1") or []]
            docs += [{"filter2": v} for v in values.get("filter2") or []]
            values["filter"] = [v for v, _ in count_in_python(docs, ["filter"])["filter"]]
    elif only_cached:
        return None
    else:
        _, facets = count_and_facets(db[CATALOG], {}, FACET_FIELDS)
        values = {name: [v for v, _ in pairs if v is not None] for name, pairs in facets.items()}
    if cache is not None:
        cache.put(key, values)
    return values
