"""Running a query: the one place that turns a :class:`QuerySpec` into results.

The web app, the CLI and the Python API all call :func:`run` (one page, with
the total count and facets), :func:`iter_rows` (every row, streamed) or
:func:`iter_paths` (file paths).

Which collection answers, and how a page is read:

- Filters on promoted fields only: everything runs on the slim ``catalog``,
  whose indexes serve the filters and the sorts.
- Header-keyword filters: one query of ``rootnames`` (projection ``_id``)
  finds the matching ``_id`` s; the count, facets and page then run on
  ``catalog`` with ``_id: {$in: [...]}``. Header columns are fetched for the
  page's rootnames only, with one ``_id: {$in: [...]}``. A sort by a header
  keyword reads the page from ``rootnames`` (the same filter runs on either
  collection).
- A cone search: the indexed bounding box on ``catalog``, the exact test in
  Python, then the same ``_id: {$in: [...]}``, so that the count, facets and
  pages are those of the exact set. A footprint search (``contains``,
  ``overlaps``) likewise, from the ``footprint`` 2dsphere index
  (:mod:`.sky_search`). Sorted by distance from the position, a page is a
  slice of the ids in that order, read with one ``_id: {$in: [...]}``.
- When nothing is cached yet and at most ``page._ONE_SCAN_MAX`` rootnames match,
  the count, the facets and the page come from one ``find``: it asks for
  every match in page order (projected to the columns and the facet fields),
  counts them in Python, and the page is a slice of them. Otherwise the count
  and all facets come from one aggregation (``$match``, then one ``$facet``:
  :mod:`.facets`) sent beside the page's ``find``. Measured on SecantusDB's
  Rust server at 2,000 rootnames, the one ``find`` takes ~30 ms where the
  aggregation and the ``find`` take ~50-170 ms: its planner tries every
  candidate index of an unsorted ``$match`` on each call.
- With a time budget (``count_time_limit_ms``, which the web pages pass), the
  first find reads its matches in batches and asks for no more once the budget
  is spent, and the aggregation gets what is left of it (:mod:`.counting`):
  past it, the result says how many matches it has seen (``count_exact``
  False), with the facets of those.
- With a :class:`~acsq_mongo.query.cache.ResultCache`, the id sets, counts,
  facets and pages are kept until the data generation changes, so the next
  page of a query costs one ``find`` and a repeated page none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.fields import FILETYPES
from acsq_mongo.query.cache import CallCache, ResultCache
from acsq_mongo.query.counting import count, facets
from acsq_mongo.query.errors import QueryError, server_errors
from acsq_mongo.query.files import file_path, stored_files
from acsq_mongo.query.keyword_check import spec_warnings as warnings
from acsq_mongo.query.names import resolve
from acsq_mongo.query.page import read_page, sort_keys
from acsq_mongo.query.result import Result, Selection
from acsq_mongo.query.rows import distance_order as _distance_order
from acsq_mongo.query.rows import projection as _projection
from acsq_mongo.query.rows import rows as _rows
from acsq_mongo.query.rows import rows_by_ids as _rows_by_ids
from acsq_mongo.query.selection import cached_selection, select
from acsq_mongo.query.spec import QuerySpec

if TYPE_CHECKING:
    from pathlib import Path

    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "Result",
    "Selection",
    "run",
    "select",
    "count",
    "facets",
    "iter_rows",
    "iter_paths",
    "iter_files",
    "warnings",
]

_STREAM_BATCH = 500
# Streams of more rows than this (CSV downloads, file lists) are not kept either.
_CACHE_ROWS_MAX = 5_000
_PATH_COLUMNS = tuple(resolve(n) for n in ("rootname", "path", "filetypes", "file_paths"))


def run(
    db: Database,
    spec: QuerySpec,
    settings: Settings,
    *,
    with_facets: bool = True,
    cache: ResultCache | None = None,
    count_time_limit_ms: int = 0,
) -> Result:
    """Run a query and return one page, with the total count and the facets.

    Parameters
    ----------
    db : Database
    spec : QuerySpec
    settings : Settings
        ``page_size`` is the default limit, ``max_rows`` the most one page may ask for.
    with_facets : bool
        Compute the facets (they come with the count, from the same aggregation).
    cache : ResultCache, optional
        Keep and reuse results until the data changes.
    count_time_limit_ms : int
        The server's budget for the count and facets (the web pages pass the
        setting ``count_time_limit_ms``); 0, the default, counts every match.
        Past it the result holds how many matches were seen (``count_exact``
        False), with the facets of the first matches read or none
        (:mod:`.counting`).

    Returns
    -------
    result : Result

    Raises
    ------
    QueryError
        If the limit is over ``max_rows``, or the server refuses the query.
    """
    return read_page(db, spec, settings, CallCache(db, cache), with_facets=with_facets,
                     count_time_limit_ms=count_time_limit_ms)


def iter_rows(
    db: Database,
    spec: QuerySpec,
    cache: ResultCache | None = None,
    batch_size: int = _STREAM_BATCH,
) -> Iterator[dict[str, Any]]:
    """Yield every matching row, streamed: from ``spec.offset``, up to ``spec.limit`` if set.

    No row cap applies: this is for CSV downloads and file lists. Rows come
    in batches of ``batch_size`` from one cursor (one scan; of ``rootnames``
    when header columns are asked for). With a cache, a stream of at most
    :data:`_CACHE_ROWS_MAX` rows is kept until the data changes, so the same
    download again costs no scan.
    """
    cached = CallCache(db, cache)
    key = ("rows", spec.selection_key(), spec.sort, spec.column_names, spec.limit, spec.offset)
    if cache is not None:
        rows = cache.get((*key[:1], *cached.prefix, *key[1:]))
        if rows is not None:
            yield from (dict(r) for r in rows)
            return
    selection = cached_selection(cached, spec)
    ordered = _distance_order(spec, selection)
    if ordered is not None:
        end = None if spec.limit is None else spec.offset + spec.limit
        ordered = ordered[spec.offset:end]
        kept_rows: list[dict[str, Any]] = []
        for start in range(0, len(ordered), batch_size):
            rows = _rows_by_ids(db, spec, ordered[start:start + batch_size])
            if cache is not None and len(ordered) <= _CACHE_ROWS_MAX:
                kept_rows.extend(dict(r) for r in rows)
            yield from rows
        if cache is not None and len(ordered) <= _CACHE_ROWS_MAX:
            cache.put((*key[:1], *cached.prefix, *key[1:]), tuple(kept_rows))
        return
    # Header columns for every row: one pass over the whole documents beats a lookup per
    # rootname (the same filter runs on either collection).
    coll = ROOTNAMES if spec.header_columns or spec.sorts_by_header else selection.collection
    kept: list[dict[str, Any]] | None = [] if cache is not None else None
    with server_errors():
        cursor = db[coll].find(
            selection.match, _projection(spec.columns, coll), sort=sort_keys(spec),
            skip=spec.offset, limit=spec.limit or 0, batch_size=batch_size,
        )
        batch: list[dict] = []
        for doc in cursor:
            batch.append(doc)
            if len(batch) >= batch_size:
                rows = _rows(db, batch, spec.columns, coll)
                kept = _keep(kept, rows)
                yield from rows
                batch = []
        if batch:
            rows = _rows(db, batch, spec.columns, coll)
            kept = _keep(kept, rows)
            yield from rows
    if kept is not None:
        cache.put((*key[:1], *cached.prefix, *key[1:]), tuple(dict(r) for r in kept))


def _keep(kept: list[dict[str, Any]] | None, rows: list[dict[str, Any]]
          ) -> list[dict[str, Any]] | None:
    """Add ``rows`` to a stream's kept rows, or give up (None) past the cap."""
    if kept is None or len(kept) + len(rows) > _CACHE_ROWS_MAX:
        return None
    kept.extend(dict(r) for r in rows)
    return kept


def iter_paths(
    db: Database,
    spec: QuerySpec,
    settings: Settings,
    filetypes: tuple[str, ...] | list[str] | None = None,
    cache: ResultCache | None = None,
) -> Iterator[str]:
    """Yield the absolute paths of the matching files: :func:`iter_files`'s, as text."""
    return (str(path) for _, _, path in iter_files(db, spec, settings, filetypes, cache))


def iter_files(
    db: Database,
    spec: QuerySpec,
    settings: Settings,
    filetypes: tuple[str, ...] | list[str] | None = None,
    cache: ResultCache | None = None,
) -> Iterator[tuple[str, str, Path]]:
    """Yield ``(rootname, filetype, absolute path)`` of every matching file (no row cap).

    Parameters
    ----------
    filetypes : sequence of str, optional
        Which filetypes, in this order; default: ``spec.filetypes``, else every
        filetype a rootname has (in :data:`~acsq_mongo.fields.FILETYPES` order).

    Raises
    ------
    QueryError
        If no archive is configured, or a filetype is unknown.
    """
    if settings.archive is None:
        raise QueryError("file paths need the archive root: set ACSQ_ARCHIVE (or archive:)")
    wanted = tuple(filetypes) if filetypes else spec.filetypes
    for filetype in wanted:
        if filetype not in FILETYPES:
            raise QueryError(f"unknown filetype {filetype!r}; valid filetypes: "
                             + ", ".join(FILETYPES))
    for row in iter_rows(db, spec.replace(columns=_PATH_COLUMNS), cache):
        present, rootname = row.get("filetypes") or [], row.get("rootname")
        for filetype in wanted or FILETYPES:
            if filetype in present and row.get("path") and rootname:
                # Every file of that filetype: a sub-product's, a retransmission's too.
                for owner, folder, name in stored_files(row, filetype):
                    yield owner, filetype, file_path(settings.archive, folder, owner, filetype,
                                                     name)
