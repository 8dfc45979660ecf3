"""Facets and the total count from one aggregation with ``$facet``.

One ``$match`` (served by the indexes of the filter), then one ``$facet``
stage with a ``$count`` and a ``$group`` by each facet field: the server
reads the matching documents once and returns the total and every facet in
one reply. A document without a value for a field counts under None. A list
field (:data:`~acsq_mongo.fields.LIST_FACET_FIELDS`, the anomaly flags) is
unwound first: each element counts once, and a document with none counts
under None.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.fields import FACET_FIELDS, LIST_FACET_FIELDS

if TYPE_CHECKING:
    from pymongo.collection import Collection

__all__ = ["FACET_FIELDS", "facet_pipeline", "read_facets", "count_and_facets", "sort_counts",
           "count_in_python", "facet_keys"]

# The $facet branch that counts every match (no facet field may take this name).
_TOTAL = "_total"


def facet_pipeline(match: Mapping[str, Any], fields: Iterable[str] = FACET_FIELDS) -> list[dict]:
    """Return the aggregation pipeline: ``$match``, then one ``$facet``.

    Its one result document holds ``_total: [{n: count}]`` (empty when nothing
    matches) and, per field, ``[{_id: value, n: count}, ...]``.
    """
    branches: dict[str, list[dict]] = {_TOTAL: [{"$count": "n"}]}
    for name in fields:
        group = {"$group": {"_id": f"${name}", "n": {"$sum": 1}}}
        if name in LIST_FACET_FIELDS:
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
            counts[row.get("_id")] = counts.get(row.get("_id"), 0) + int(row["n"])
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
