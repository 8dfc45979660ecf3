"""Facets and the total count from one portable ``$group``.

FerretDB v1 scans (and decodes) every document of a collection for every
query, so the count and the six facets come from a single aggregation: one
``$group`` on a compound ``_id`` of the facet fields with ``$sum``, which
every backend supports. The counts per value of each field are then summed
in Python (marginalised); the total is the sum of all groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.fields import FACET_FIELDS

if TYPE_CHECKING:
    from pymongo.collection import Collection

__all__ = ["FACET_FIELDS", "group_pipeline", "marginalise", "count_and_facets", "sort_counts"]


def group_pipeline(match: Mapping[str, Any], fields: Iterable[str] = FACET_FIELDS) -> list[dict]:
    """Return the aggregation pipeline: ``$match``, then one ``$group`` with ``$sum``."""
    group_id = {name: f"${name}" for name in fields}
    pipeline: list[dict] = [{"$match": dict(match)}] if match else []
    pipeline.append({"$group": {"_id": group_id, "n": {"$sum": 1}}})
    return pipeline


def sort_counts(counts: Mapping[Any, int]) -> list[tuple[Any, int]]:
    """Return ``(value, count)`` pairs, most frequent first, then by value (None last)."""
    def key(item: tuple[Any, int]) -> tuple:
        value, n = item
        return (-n, value is None, type(value).__name__, value if value is not None else 0)

    return sorted(counts.items(), key=key)


def marginalise(
    groups: Iterable[Mapping[str, Any]], fields: Iterable[str] = FACET_FIELDS
) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """Sum the groups of a compound ``$group`` into the total and per-field counts.

    Parameters
    ----------
    groups : iterable of mapping
        ``{"_id": {field: value, ...}, "n": count}`` as the pipeline returns them.
        A field missing from ``_id`` (no value in the document) counts as None.

    Returns
    -------
    total : int
    facets : dict
        Field name -> list of ``(value, count)``, most frequent first.
    """
    fields = tuple(fields)
    counters: dict[str, Counter] = {name: Counter() for name in fields}
    total = 0
    for group in groups:
        n = int(group["n"])
        total += n
        key = group.get("_id") or {}
        for name in fields:
            counters[name][key.get(name)] += n
    return total, {name: sort_counts(counter) for name, counter in counters.items()}


def count_and_facets(
    collection: Collection, match: Mapping[str, Any], fields: Iterable[str] = FACET_FIELDS
) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """Run the one ``$group`` on ``collection`` and return the total and the facets."""
    fields = tuple(fields)
    return marginalise(collection.aggregate(group_pipeline(match, fields)), fields)
