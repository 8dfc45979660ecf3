"""One page of a query, with its count and facets: what :func:`acsq_mongo.query.core.run` reads.

Two ways, chosen per call (:meth:`PageRead.one_scan_applies`):

- **One scan.** Nothing is cached yet and the matches are in ``catalog``: one
  ``find`` asks for every match in page order (up to :data:`_ONE_SCAN_MAX`,
  projected to the columns and the facet fields), counts them in Python, and the
  page is a slice of them (:func:`in_one_scan`). Past that many matches, the
  aggregation counts after all. With a time budget the find stops asking once
  it is spent, and the count is "at least" what it saw.
- **Side by side.** Otherwise the count-and-facets aggregation
  (:mod:`.counting`) and the page's own ``find`` are independent reads, sent
  from two threads, so the page costs the slower of the two
  (:func:`beside_counts`).

Either way, the parts computed are kept in the call's cache
(:class:`~acsq_mongo.query.cache.CallCache`) under the same keys, so the next
page of the same query costs one ``find``.
"""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.query.counting import counts_within, read_within
from acsq_mongo.query.errors import QueryError, server_errors
from acsq_mongo.query.facets import FACET_FIELDS, count_in_python, facet_sources
from acsq_mongo.query.keyword_check import cached_warnings
from acsq_mongo.query.result import Result, Selection
from acsq_mongo.query.rows import distance_order, projection, rows, rows_by_ids
from acsq_mongo.query.selection import cached_selection

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import CallCache
    from acsq_mongo.query.spec import QuerySpec
    from acsq_mongo.settings import Settings

__all__ = ["PageRead", "read_page", "in_one_scan", "beside_counts", "sort_keys"]

# Up to this many matches, a page's count and facets come from its own find.
_ONE_SCAN_MAX = 2_000
# That find reads its matches in batches of this many (a time budget is checked between).
_SCAN_BATCH = 100
# The aggregation after a first scan is sent only with at least this much budget left (ms).
_MIN_BUDGET_MS = 50

Counts = tuple[int, "dict | None"]


def sort_keys(spec: QuerySpec) -> list[tuple[str, int]]:
    """The sort MongoDB takes: the spec's paths, then ``_id`` to break ties.

    ``_id`` goes in the direction of the last key, so that a sort on one promoted
    field is served by its ``(field, _id)`` index read forward or backward, not
    sorted in memory.
    """
    paths = spec.sort_paths
    return [*paths, ("_id", paths[-1][1] if paths else 1)]


def _page_limit(spec: QuerySpec, settings: Settings) -> int:
    limit = settings.page_size if spec.limit is None else spec.limit
    if limit > settings.max_rows:
        raise QueryError(
            f"limit {limit} is over the {settings.max_rows} rows one page may return "
            "(ACSQ_MAX_ROWS); page with offset, or stream CSV or paths"
        )
    return limit


@dataclass
class PageRead:
    """One call's reading of one page: the spec, its selection, the page size, the budget."""

    db: Database
    spec: QuerySpec
    cached: CallCache
    selection: Selection
    limit: int
    with_facets: bool
    budget_ms: int

    @property
    def page_key(self) -> tuple:
        spec = self.spec
        return (spec.selection_key(), spec.sort, spec.column_names, self.limit, spec.offset)

    def one_scan_applies(self) -> bool:
        """Whether this page may come with its count and facets from one ``find``."""
        spec, selection = self.spec, self.selection
        counts_key = ("facets" if self.with_facets else "count", *spec.selection_key())
        return bool(
            self.limit and spec.offset < _ONE_SCAN_MAX and selection.collection == CATALOG
            and (selection.ids is None or len(selection.ids) <= _ONE_SCAN_MAX)
            and not spec.sorts_by_header and distance_order(spec, selection) is None
            and not self.cached.has(counts_key) and not self.cached.has(("page", *self.page_key)))

    def counts(self, budget_ms: int | None = None) -> Counts | None:
        """The count and facets from the aggregation, within ``budget_ms`` (None: the call's)."""
        budget = self.budget_ms if budget_ms is None else budget_ms
        return counts_within(self.cached, self.spec, budget, with_facets=self.with_facets)

    def read(self) -> list[dict[str, Any]]:
        """The page's rows from its own ``find`` (or the ids in distance order)."""
        spec, selection = self.spec, self.selection
        if self.limit == 0:
            return []
        ordered = distance_order(spec, selection)
        if ordered is not None:
            return rows_by_ids(self.db, spec, ordered[spec.offset:spec.offset + self.limit])
        coll = ROOTNAMES if spec.sorts_by_header else selection.collection
        with server_errors():
            docs = list(self.db[coll].find(
                selection.match, projection(spec.columns, coll), sort=sort_keys(spec),
                skip=spec.offset, limit=self.limit,
            ))
        return rows(self.db, docs, spec.columns, coll)

    def result(self, page: list[dict], total: int, facet_counts: dict | None,
               from_cache: bool, *, exact: bool = True,
               facets_of: int | None = None) -> Result:
        """The :class:`Result` of this page."""
        return Result(
            spec=self.spec, rows=[dict(r) for r in page], count=total,
            facets=facet_counts if self.with_facets else None, offset=self.spec.offset,
            limit=self.limit, collection=self.selection.collection, from_cache=from_cache,
            warnings=cached_warnings(self.cached, self.spec, total), count_exact=exact,
            facets_of=facets_of if self.with_facets else None,
        )


def read_page(db: Database, spec: QuerySpec, settings: Settings, cached: CallCache, *,
              with_facets: bool = True, count_time_limit_ms: int = 0) -> Result:
    """One page with its count and facets (:func:`acsq_mongo.query.core.run`'s work)."""
    call = PageRead(db, spec, cached, cached_selection(cached, spec),
                    _page_limit(spec, settings), with_facets, count_time_limit_ms)
    return in_one_scan(call) if call.one_scan_applies() else beside_counts(call)


def _first_matches(call: PageRead, deadline: float | None) -> tuple[list[dict], bool]:
    """The first ``_ONE_SCAN_MAX + 1`` matches in page order, with the facet fields,
    read within ``deadline`` (:func:`.counting.read_within`)."""
    spec = call.spec
    fields = {**projection(spec.columns, CATALOG), **dict.fromkeys(facet_sources(), 1)}
    with server_errors():
        cursor = call.db[CATALOG].find(call.selection.match, fields, sort=sort_keys(spec),
                                       limit=_ONE_SCAN_MAX + 1, batch_size=_SCAN_BATCH)
        return read_within(cursor, _SCAN_BATCH, deadline, spec.offset + call.limit)


def _count_in_python(docs: list[dict]) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """The total and the facets of some documents, as the ``$facet`` would count them."""
    return len(docs), count_in_python(docs, FACET_FIELDS)


def in_one_scan(call: PageRead) -> Result:
    """The page, count and facets from one ``find`` of every match (see the module)."""
    spec, key = call.spec, call.spec.selection_key()
    deadline = time.monotonic() + call.budget_ms / 1000 if call.budget_ms else None
    docs, complete = _first_matches(call, deadline)
    all_read = complete and len(docs) <= _ONE_SCAN_MAX
    counted = None
    if all_read:
        counted = _count_in_python(docs)
        call.cached.put("facets", key, counted)
        call.cached.put("count", key, counted[0])
    elif complete and deadline is None:
        counted = call.counts(0)
    elif complete:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms >= _MIN_BUDGET_MS:
            counted = call.counts(left_ms)
    if all_read or spec.offset + call.limit <= len(docs):
        page_docs = docs[spec.offset:spec.offset + call.limit]
        page = call.cached.put("page", call.page_key, rows(
            call.db, page_docs, spec.columns, call.selection.collection))
    else:
        page = call.cached.get("page", call.page_key, call.read)[0]
    if counted is None:
        # Out of time: what the first scan saw, its facets those of the matches read.
        return call.result(page, len(docs), _count_in_python(docs)[1], False, exact=False,
                           facets_of=len(docs))
    return call.result(page, *counted, False)


def beside_counts(call: PageRead) -> Result:
    """The page's ``find`` and the count-and-facets aggregation, side by side."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        # (in this thread's context: the face's time budget holds there too)
        future = pool.submit(contextvars.copy_context().run, call.counts)
        page, hit = call.cached.get("page", call.page_key, call.read)
        counted = future.result()
    if counted is not None:
        return call.result(page, *counted, hit)
    # Out of time, with no first scan: an id set's size is exact, else the rows up to
    # this page's end are known to match (and one more, if the page is full).
    if call.selection.ids is not None:
        return call.result(page, len(call.selection.ids), None, hit)
    seen = call.spec.offset + len(page) + (1 if call.limit and len(page) == call.limit else 0)
    return call.result(page, seen, None, hit, exact=False)
