"""A proposal's rootnames in date order: its gallery's pages and its image views' neighbours.

A proposal has tens to hundreds of rootnames, and its gallery is browsed page
by page, image by image. Answering each page with the count-and-facets
aggregation and a ``find`` (:func:`acsq_mongo.query.core.run`) costs two
queries for the first page and one for each next one, and the image view's
previous/next one more, none of which survives a cache during an ingest
(every write changes the data generation). Instead every ingest run ends by writing each
proposal's rows, by date, into the ``galleries`` collection
(:func:`acsq_mongo.ingest.summaries.refresh_summaries`), and :func:`proposal_rows`
reads them with one ``_id`` lookup. Where a proposal has no gallery document
(none written yet, or more than
:data:`~acsq_mongo.ingest.summaries.MAX_GALLERY_ROWS` rootnames), or a caller needs
the rows as they are now (``live=True``), one projected, indexed ``find`` of the
proposal's rootnames is made instead. Either way the rows are kept per data
generation; the unfiltered gallery's count, facets and every page
(:func:`proposal_page`) and the image view's neighbours all come from them.
Filtered or re-sorted galleries go through :func:`~acsq_mongo.query.core.run`.
(On MongoDB the live way uses the ``proposid`` + ``date_obs`` index.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acsq_mongo.browse.proposals import get_proposal
from acsq_mongo.db.collections import CATALOG, GALLERIES
from acsq_mongo.db.generation import generation
from acsq_mongo.db.summary_shapes import GALLERY_COLUMNS, MAX_GALLERY_ROWS, gallery_id
from acsq_mongo.query import core
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.facets import FACET_FIELDS, count_in_python
from acsq_mongo.query.spec import DEFAULT_SORT, QuerySpec

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache
    from acsq_mongo.settings import Settings

__all__ = [
    "ROW_COLUMNS",
    "MAX_PROPOSAL_ROWS",
    "proposal_filter",
    "proposal_spec",
    "proposal_rows",
    "stored_gallery",
    "gallery_summary",
    "answerable",
    "proposal_page",
]

#: The columns kept for each rootname: a gallery's, the facet fields, and the quicklook paths.
ROW_COLUMNS: tuple[str, ...] = GALLERY_COLUMNS
#: Proposals with more rootnames than this are paged by the server instead.
MAX_PROPOSAL_ROWS = MAX_GALLERY_ROWS


def proposal_filter(proposid: int | None) -> tuple[str, str]:
    """Return the ``name=value`` pair that selects a proposal (None: ``proposid__exists=false``)."""
    if proposid is None:
        return ("proposid__exists", "false")
    return ("proposid", str(proposid))


def proposal_spec(proposid: int | None) -> QuerySpec:
    """Return the spec of a proposal's rootnames with :data:`ROW_COLUMNS`, by date."""
    return QuerySpec.parse([proposal_filter(proposid), ("columns", ",".join(ROW_COLUMNS))])


def proposal_rows(db: Database, proposid: int | None, cache: ResultCache | None = None,
                  live: bool = False) -> tuple[dict[str, Any], ...]:
    """Return every rootname of a proposal as a row of :data:`ROW_COLUMNS`, by date then ``_id``.

    Parameters
    ----------
    db : Database
    proposid : int or None
        None: the rootnames without a proposal ID.
    cache : ResultCache, optional
        Keep the rows until the data changes. The rows are shared: do not
        change them.
    live : bool
        Read the catalog as it is now (one projected scan) rather than the
        gallery written at the end of the last ingest run.

    Returns
    -------
    rows : tuple of dict
    """
    def compute() -> tuple[dict[str, Any], ...]:
        if not live:
            stored = stored_gallery(db, proposid, cache)
            if stored is not None:
                return tuple(stored.get("rows") or ())
        return tuple(core.iter_rows(db, proposal_spec(proposid)))

    if cache is None:
        return compute()
    key = ("proposal_rows", db.name, id(db.client), generation(db), proposid, live)
    rows = cache.get(key)
    if rows is None:
        rows = compute()
        cache.put(key, rows)
    return rows


def stored_gallery(db: Database, proposid: int | None, cache: ResultCache | None = None
                   ) -> dict[str, Any] | None:
    """Return a proposal's gallery document as the last run wrote it, or None.

    It holds the rows (``rows``, ``n``) and the proposal's summary (``summary``,
    when the proposal has an ID), written together in one document: a page that
    takes both from it shows a count and rows of the same run. The document is
    shared when cached: do not change it.
    """
    def read() -> dict[str, Any] | None:
        return db[GALLERIES].find_one({"_id": gallery_id(proposid)})

    if cache is None:
        return read()
    key = ("gallery", db.name, id(db.client), generation(db), proposid)
    if key not in cache:
        cache.put(key, read())
    return cache.get(key)


def gallery_summary(db: Database, proposid: int | None, cache: ResultCache | None = None
                    ) -> dict[str, Any] | None:
    """Return the proposal's summary for its gallery page, or None.

    From the gallery document when it has one (:func:`stored_gallery`): the
    document the page's rows come from, written with them in one write, so the
    page never shows a count and rows from two different runs. Otherwise from
    ``proposals``.
    """
    if proposid is None:
        return None
    stored = stored_gallery(db, proposid, cache)
    if stored is not None and "summary" in stored:
        return {"_id": stored["_id"], **stored["summary"], "updated": stored.get("updated")}
    return get_proposal(db, proposid, cache)


def answerable(spec: QuerySpec, proposid: int | None, n_rootnames: int | None) -> bool:
    """Whether :func:`proposal_rows` can answer ``spec``.

    That is: ``spec`` asks for nothing but rows of the proposal (any page), by
    date, in columns among :data:`ROW_COLUMNS`, and the proposal is known to
    have at most :data:`MAX_PROPOSAL_ROWS` rootnames.
    """
    if n_rootnames is None or n_rootnames > MAX_PROPOSAL_ROWS:
        return False
    wanted = QuerySpec.parse([proposal_filter(proposid)]).filters
    return (
        [f.key() for f in spec.filters] == [f.key() for f in wanted]
        and spec.cone is None
        and spec.sky is None
        and spec.sort == DEFAULT_SORT
        and set(spec.column_names) <= set(ROW_COLUMNS)
    )


def proposal_page(
    db: Database,
    spec: QuerySpec,
    settings: Settings,
    proposid: int | None,
    n_rootnames: int | None,
    cache: ResultCache | None = None,
) -> core.Result | None:
    """Answer a page of a proposal's gallery from :func:`proposal_rows`, if it can.

    Parameters
    ----------
    db : Database
    spec : QuerySpec
        The gallery's query: the proposal's filter, and nothing else for this
        path to apply (no other filter or cone, the default sort, columns
        among :data:`ROW_COLUMNS`).
    settings : Settings
        ``page_size`` and ``max_rows``, as for :func:`~acsq_mongo.query.core.run`.
    proposid : int or None
    n_rootnames : int or None
        How many rootnames the proposal has (its summary), to keep large
        proposals to the server's paging; None: unknown.
    cache : ResultCache, optional

    Returns
    -------
    result : Result or None
        The same page, count and facets :func:`~acsq_mongo.query.core.run`
        gives; None if this spec needs the server (call ``core.run``).

    Raises
    ------
    QueryError
        If the limit is over ``max_rows``.
    """
    if not answerable(spec, proposid, n_rootnames):
        return None
    limit = settings.page_size if spec.limit is None else spec.limit
    if limit > settings.max_rows:
        raise QueryError(
            f"limit {limit} is over the {settings.max_rows} rows one page may return "
            "(ACSQ_MAX_ROWS); page with offset, or stream CSV or paths"
        )
    rows = proposal_rows(db, proposid, cache)
    facets = count_in_python(rows, FACET_FIELDS)
    page = rows[spec.offset: spec.offset + limit] if limit else ()
    return core.Result(
        spec=spec, rows=[{c: row.get(c) for c in spec.column_names} for row in page],
        count=len(rows), facets=facets, offset=spec.offset, limit=limit, collection=CATALOG,
    )
