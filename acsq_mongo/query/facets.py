"""Facets and the total count from one aggregation with ``$facet``.

One ``$match`` (served by the indexes of the filter), then one ``$facet``
stage with a ``$count`` and a ``$group`` by each facet field: the server
reads the matching documents once and returns the total and every facet in
one reply. A document without a value for a field counts under None. A list
field (:data:`~acsq_mongo.fields.LIST_FACET_FIELDS`, the anomaly flags) is
unwound first: each element counts once, and a document with none counts
under None.

The combined facet ``filter`` (:data:`~acsq_mongo.fields.COMBINED_FIELDS`)
counts, for each filter name, the rootnames that have it in either wheel,
which is what ``filter=NAME`` matches. CLEAR, BLOCK and N/A positions and
None are left out of it: it lists the filters that were in the beam (the
``filter1`` and ``filter2`` facets still count every position). Its branch
groups by the pair of wheels, which the server counts with one ``$group``;
the pairs are then split by name here, so no rootname counts twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.fields import COMBINED_PARTS, LIST_FACET_FIELDS
from acsq_mongo.fields import FACET_FIELDS as _STORED_FACETS

if TYPE_CHECKING:
    from pymongo.collection import Collection

__all__ = ["FACET_FIELDS", "facet_pipeline", "read_facets", "count_and_facets", "sort_counts",
           "count_in_python", "facet_keys", "facet_sources"]

#: The fields the query core counts per value: the stored facet fields
#: (:data:`acsq_mongo.fields.FACET_FIELDS`) with the combined ``filter`` before the wheels.
FACET_FIELDS: tuple[str, ...] = tuple(
    name for stored in _STORED_FACETS
    for name in ((("filter",) if stored == "filter1" else ()) + (stored,)))

# The $facet branch that counts every match (no facet field may take this name).
_TOTAL = "_total"
# Wheel positions the combined filter facet leaves out.
_NOT_IN_BEAM = ("CLEAR", "BLOCK", "N/A", "NOTCMDED")


def _in_beam(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith(_NOT_IN_BEAM)


def facet_sources(fields: Iterable[str] = FACET_FIELDS) -> tuple[str, ...]:
    """The stored fields that the facets ``fields`` read (``filter``: both wheels)."""
    out: list[str] = []
    for name in fields:
        for source in COMBINED_PARTS.get(name, (name,)):
            if source not in out:
                out.append(source)
    return tuple(out)


def facet_pipeline(match: Mapping[str, Any], fields: Iterable[str] = FACET_FIELDS) -> list[dict]:
    """Return the aggregation pipeline: ``$match``, then one ``$facet``.

    Its one result document holds ``_total: [{n: count}]`` (empty when nothing
    matches) and, per field, ``[{_id: value, n: count}, ...]``.
    """
    branches: dict[str, list[dict]] = {_TOTAL: [{"$count": "n"}]}
    for name in fields:
        group = {"$group": {"_id": f"${name}", "n": {"$sum": 1}}}
        if name in COMBINED_PARTS:
            pair = {str(i): f"${part}" for i, part in enumerate(COMBINED_PARTS[name])}
            branches[name] = [{"$group": {"_id": pair, "n": {"$sum": 1}}}]
        elif name in LIST_FACET_FIELDS:
            unwind = {"$unwind": {"path": f"${name}", "preserveNullAndEmptyArrays": True}}
            branches[name] = [unwind, group]
        else:
            branches[name] = [group]
    pipeline: list[dict] = [{"$match": dict(match)}] if match else []
    pipeline.append({"$facet": branches})
    return pipeline


def sort_counts(counts: Mapping[Any, int]) -> list[tuple[Any, int]]:
    """Return ``(value, count)`` pairs, most frequent first, then by value (None last)."""
    def key(item: tuple[Any, int]) -> tuple:
        value, n = item
        return (-n, value is None, type(value).__name__, value if value is not None else 0)

    return sorted(counts.items(), key=key)


def facet_keys(doc: Mapping[str, Any], name: str) -> list[Any]:
    """The values ``doc`` counts under in facet ``name``, as the ``$facet`` counts them."""
    if name in COMBINED_PARTS:
        values = [doc.get(part) for part in COMBINED_PARTS[name]]
        return [v for i, v in enumerate(values) if _in_beam(v) and v not in values[:i]]
    value = doc.get(name)
    if name in LIST_FACET_FIELDS and isinstance(value, list):
        return list(value) or [None]
    return [value]


def count_in_python(docs: Iterable[Mapping[str, Any]], fields: Iterable[str] = FACET_FIELDS
                    ) -> dict[str, list[tuple[Any, int]]]:
    """The facets of some documents (rows), counted as :func:`facet_pipeline` counts them."""
    counters: dict[str, Counter] = {name: Counter() for name in fields}
    for doc in docs:
        for name, counter in counters.items():
            counter.update(facet_keys(doc, name))
    return {name: sort_counts(counter) for name, counter in counters.items()}


def read_facets(
    result: Mapping[str, Any], fields: Iterable[str] = FACET_FIELDS
) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """Read the one document :func:`facet_pipeline` returns.

    Returns
    -------
    total : int
    facets : dict
        Field name -> list of ``(value, count)``, most frequent first.
    """
    total = sum(int(row["n"]) for row in result.get(_TOTAL) or ())
    facets = {}
    for name in fields:
        counts: dict[Any, int] = {}
        for row in result.get(name) or ():
            if name in COMBINED_PARTS:
                pair = row.get("_id") or {}
                doc = {part: pair.get(str(i)) for i, part in enumerate(COMBINED_PARTS[name])}
                keys = facet_keys(doc, name)
            else:
                keys = [row.get("_id")]
            for key in keys:
                counts[key] = counts.get(key, 0) + int(row["n"])
        facets[name] = sort_counts(counts)
    return total, facets


def count_and_facets(
    collection: Collection, match: Mapping[str, Any], fields: Iterable[str] = FACET_FIELDS,
    max_time_ms: int = 0,
) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """Run the one ``$facet`` aggregation on ``collection``; return the total and the facets.

    ``max_time_ms`` > 0 is the server's budget (``maxTimeMS``): past it, pymongo
    raises :class:`~pymongo.errors.ExecutionTimeout`.
    """
    fields = tuple(fields)
    options = {"maxTimeMS": max_time_ms} if max_time_ms else {}
    result = next(iter(collection.aggregate(facet_pipeline(match, fields), **options)), {})
    return read_facets(result, fields)
