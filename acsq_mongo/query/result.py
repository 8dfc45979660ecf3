"""The shapes of a query's answer: which rootnames it selects, and one page of results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.query.spec import QuerySpec

if TYPE_CHECKING:

    pass

__all__ = [
    "Selection",
    "Result",
]


@dataclass(frozen=True)
class Selection:
    """Which rootnames a spec's filters and cone select, as a filter on one collection.

    Attributes
    ----------
    collection : str
        ``catalog`` or ``rootnames``.
    match : dict
        The MongoDB filter document.
    ids : tuple of str or None
        The exact ``_id`` s, when a cone, footprint search or header filter was
        resolved first.
    by_distance : tuple of str or None
        The same ids by distance from a search's position (then ``_id``).
    """

    collection: str
    match: dict
    ids: tuple[str, ...] | None = None
    by_distance: tuple[str, ...] | None = None


@dataclass
class Result:
    """One page of a query: rows, the total count, facets and paging.

    Attributes
    ----------
    spec : QuerySpec
    rows : list of dict
        Column name -> value, in ``spec.columns`` order.
    count : int
        How many rootnames match in all; with ``count_exact`` False, how many
        are known to match (more may).
    facets : dict or None
        Field -> list of ``(value, count)``, most frequent first
        (:data:`~acsq_mongo.query.facets.FACET_FIELDS`); None if not asked for,
        or not counted within the time budget.
    offset, limit : int
        The page: rows ``offset`` to ``offset + limit``.
    collection : str
        Which collection answered the filters (``catalog`` unless a header
        query matched very many rootnames).
    from_cache : bool
        Whether the rows came from the result cache.
    warnings : tuple of str
        Header keyword paths that cannot match
        (:func:`~acsq_mongo.query.keyword_check.spec_warnings`).
    count_exact : bool
        False when counting every match ran out of the time budget
        (``count_time_limit_ms``): ``count`` is then a lower bound.
    facets_of : int or None
        When set, the facets count only the first ``facets_of`` matches (in
        page order), not all of them.
    """

    spec: QuerySpec
    rows: list[dict[str, Any]]
    count: int
    facets: dict[str, list[tuple[Any, int]]] | None
    offset: int
    limit: int
    collection: str = CATALOG
    from_cache: bool = False
    warnings: tuple[str, ...] = ()
    count_exact: bool = True
    facets_of: int | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The output column names."""
        return self.spec.column_names

    @property
    def next_offset(self) -> int | None:
        """Offset of the next page, or None on the last page."""
        end = self.offset + self.limit
        if not self.limit:
            return None
        more = end < self.count or (not self.count_exact and len(self.rows) == self.limit)
        return end if more else None

    @property
    def prev_offset(self) -> int | None:
        """Offset of the previous page, or None on the first."""
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def first_row(self) -> int:
        """1-based number of the first row on the page (0 if the page is empty)."""
        return self.offset + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        """1-based number of the last row on the page."""
        return self.offset + len(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)
