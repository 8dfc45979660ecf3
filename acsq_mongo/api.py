"""The Python API: find a custom dataset and hand its files to analysis code.

Examples
--------
Find long WFC exposures in F625W and open their flt files with astropy::

    from astropy.io import fits
    from acsq_mongo import Archive, load_settings

    archive = Archive(load_settings())            # ACSQ_* environment or acsq.yaml
    q = archive.query(detector="WFC", filter1="F625W", exptime__gte=1000)
    print(q.count(), "rootnames")
    for path in q.paths("flt"):
        with fits.open(path) as hdul:
            print(path, hdul[0].header["CCDGAIN"], hdul["SCI", 1].data.mean())

Header keywords are reached by path; pass those filters in a dict (a Python
keyword argument cannot contain dots)::

    q = archive.query({"headers.flt.0.CCDGAIN__gte": 2}, detector="WFC")
    rows = q.select("rootname", "date_obs", "headers.flt.0.CCDGAIN").rows()

A keyword over time, per detector, with its statistics and its picture::

    t = archive.query(date_obs__gte="2010").trend("headers.flt.1.MDRIZSKY", by="detector")
    for g in t.groups:
        print(g.value, g.n, g.mean, g.min, g.max)
    t.save("mdrizsky.png")
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsq_mongo.browse.headers import choose_headers, default_filetype, fits_header
from acsq_mongo.browse.rootname import header_tables, whole_document
from acsq_mongo.db.budget import each_within, read_budget
from acsq_mongo.db.connection import connect
from acsq_mongo.formats.render import csv_lines, result_json, table_lines
from acsq_mongo.formats.table import query_table
from acsq_mongo.formats.votable import ecsv_text, votable_bytes
from acsq_mongo.query import core
from acsq_mongo.query.cache import ResultCache
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.spec import QuerySpec, default_columns, param_pairs
from acsq_mongo.query.targets import TargetNames
from acsq_mongo.trends.trend import Trend, TrendSpec, trend

if TYPE_CHECKING:
    from astropy.io.fits import Header
    from astropy.table import Table
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["Archive", "Query"]


class Archive:
    """The ACS archive as the database knows it.

    Parameters
    ----------
    settings : Settings
        Where the database (``mongo_uri``, ``db``) and the files (``archive``) are.
    db : Database, optional
        An open database; default: :func:`acsq_mongo.db.connection.connect` on first use.
    cache : ResultCache or bool, optional
        Reuse results until the data changes (default: a cache of this
        archive's own); ``False`` for none.

    Examples
    --------
    >>> archive = Archive(settings)                                   # doctest: +SKIP
    >>> q = archive.query(detector="WFC", exptime__gte=1000)          # doctest: +SKIP
    >>> q.count(), q.paths("flt")[:2]                                 # doctest: +SKIP
    (42, ['/grp/hst/acs/archive/j94f/j94f05bgq/j94f05bgq_flt.fits', ...])
    """

    def __init__(
        self, settings: Settings, db: Database | None = None,
        cache: ResultCache | bool | None = None,
    ) -> None:
        self.settings = settings
        self._db = db
        if cache is None or cache is True:
            cache = ResultCache(max_bytes=settings.result_cache_mb * 2**20)
        # (not `cache or None`: an empty cache is falsy)
        self.cache: ResultCache | None = None if cache is False else cache

    @property
    def db(self) -> Database:
        """The database (connected on first use)."""
        if self._db is None:
            self._db = connect(self.settings)
        return self._db

    def budget(self) -> contextlib.AbstractContextManager:
        """The time budget of one call, the setting ``time_limit_ms`` (0, the default: none).

        Past it a call raises :class:`~acsq_mongo.errors.TimeBudgetExceeded`
        (:mod:`acsq_mongo.db.budget`).
        """
        return read_budget(self.settings.time_limit_ms, "time_limit_ms")

    def query(self, params: Any = None, /, **filters: Any) -> Query:
        """Start a query.

        Parameters
        ----------
        params : mapping or list of (name, value) pairs, optional
            Filters and options by name, e.g. header paths
            ``{"headers.flt.0.CCDGAIN__gte": 2}``.
        **filters
            ``field__op=value`` filters (``detector="WFC"``,
            ``exptime__gte=1000``, ``date_obs__lt="2006"``,
            ``proposid__in=[10368, 9575]``), a cone (``ra=``, ``dec=``,
            ``radius=`` in degrees, or ``cone="NGC104,2arcmin"``), a footprint
            search (``contains="00:24:05.7 -72:04:53"``,
            ``overlaps="6.02,-72.08,2arcmin"``) and options (``sort="-exptime"``,
            ``columns=[...]``, ``limit=``, ``offset=``, ``filetype=``).

        Returns
        -------
        query : Query
            Lazy: nothing runs until you ask for rows, a count or paths.

        Raises
        ------
        QueryError
            On an unknown field or op, or a value of the wrong type. A target
            name (``cone="NGC104,2arcmin"``) is resolved when the query first
            runs, as on every face; an unknown one raises then.
        """
        pairs = param_pairs(params) + list(filters.items())
        return Query(self, QuerySpec.parse(pairs))

    def resolve_target(self, name: str):
        """The mean position of a target name's pointings in this archive (a SkyCoord).

        Raises
        ------
        QueryError
            If no rootname has that target; the message lists close names.
        """
        return TargetNames(self.db).resolve(name)

    def document(self, rootname: str) -> dict[str, Any] | None:
        """Return the whole stored document of a rootname (every header), or None.

        Raises
        ------
        QueryError
            If ``rootname`` is not 8 or 9 letters and digits.
        """
        return whole_document(self.db, rootname)

    def header(self, rootname: str, filetype: str | None = None, ext: int | str = 0
               ) -> Header:
        """Return one stored header of a rootname as an :class:`astropy.io.fits.Header`.

        Real keywords (``D2IM1.EXTVER``, not the stored ``D2IM1%2EEXTVER``), values and
        card comments, read from the database (no FITS file is opened):
        :mod:`acsq_mongo.browse.headers`.

        Parameters
        ----------
        rootname : str
            8 or 9 characters, any case.
        filetype : str, optional
            ``"flt"``, ``"raw"``, ``"spt"``, ...; default: flt, else drz, else drc, else
            the first the rootname has.
        ext : int or str
            The extension: a number (0, the primary header, by default) or an EXTNAME
            (``"SCI"``: the first; ``"SCI,2"``).

        Raises
        ------
        QueryError
            If the rootname is not in the archive, or has no such filetype or extension.

        Examples
        --------
        >>> archive.header("j94f05bgq", "flt", 0)["CCDGAIN"]          # doctest: +SKIP
        2.0
        >>> archive.header("j94f05bgq", "flt", "SCI").comments["CCDGAIN"]  # doctest: +SKIP
        """
        document = self.document(rootname)
        if document is None:
            raise QueryError(f"there is no rootname {rootname[:20]} in the archive")
        tables = header_tables(document)
        name = document.get("rootname") or document["_id"]
        chosen = choose_headers(tables, name, filetype or default_filetype(tables), ext)
        return fits_header(chosen[0])


class Query:
    """A query on the archive: count it, read its rows, get its file paths.

    Made by :meth:`Archive.query`; refine it with :meth:`filter`,
    :meth:`order_by` and :meth:`select`, which return new queries.
    """

    def __init__(self, archive: Archive, spec: QuerySpec) -> None:
        self.archive = archive
        self.spec = spec

    def __repr__(self) -> str:
        params = " ".join(f"{n}={v}" for n, v in self.spec.to_params())
        return f"<Query {params or '(everything)'}>"

    def _with(self, spec: QuerySpec) -> Query:
        return Query(self.archive, spec)

    def filter(self, params: Any = None, /, **filters: Any) -> Query:
        """Return a query with more filters (ANDed)."""
        more = QuerySpec.parse(param_pairs(params) + list(filters.items()))
        changes: dict[str, Any] = {"filters": self.spec.filters + more.filters}
        if self.spec.columns == default_columns(self.spec.filters, self.spec.sort):
            changes["columns"] = default_columns(changes["filters"], self.spec.sort)
        if more.cone is not None or more.sky is not None:
            if self.spec.cone is not None or self.spec.sky is not None:
                raise QueryError("one search around a position per query; this one has one")
            changes["cone"], changes["sky"] = more.cone, more.sky
        return self._with(self.spec.replace(**changes))

    def order_by(self, *fields: str) -> Query:
        """Return a query sorted by these fields (``"-exptime"`` for descending)."""
        order = QuerySpec.parse([("sort", ",".join(fields))]).sort
        changes: dict[str, Any] = {"sort": order}
        if self.spec.columns == default_columns(self.spec.filters, self.spec.sort):
            changes["columns"] = default_columns(self.spec.filters, order)
        return self._with(self.spec.replace(**changes))

    def select(self, *columns: str) -> Query:
        """Return a query with these output columns (fields or header paths)."""
        chosen = QuerySpec.parse([("columns", ",".join(columns))]).columns
        return self._with(self.spec.replace(columns=chosen))

    def count(self) -> int:
        """Return how many rootnames match."""
        with self.archive.budget():
            return core.count(self.archive.db, self.spec, self.archive.cache)

    def facets(self) -> dict[str, list[tuple[Any, int]]]:
        """Return the counts per detector, filter (either wheel, each filter in the beam once),
        filter1, filter2, aperture, proposid, obstype and anomaly flag."""
        with self.archive.budget():
            return core.facets(self.archive.db, self.spec, self.archive.cache)[1]

    def page(self, limit: int | None = None, offset: int | None = None,
             with_facets: bool = True) -> core.Result:
        """Return one page of rows with the total count and facets (see :func:`core.run`)."""
        changes: dict[str, Any] = {}
        if limit is not None:
            changes["limit"] = limit
        if offset is not None:
            changes["offset"] = offset
        spec = self.spec.replace(**changes) if changes else self.spec
        with self.archive.budget():
            return core.run(self.archive.db, spec, self.archive.settings,
                            with_facets=with_facets, cache=self.archive.cache)

    def trend(self, y: str, x: str = "date_obs", by: str | None = "detector") -> Trend:
        """Return a trend of ``y`` against ``x`` for this query's rootnames, grouped by ``by``.

        Parameters
        ----------
        y : str
            A numeric field or header path: ``"exptime"``, ``"headers.flt.1.MDRIZSKY"``.
        x : str
            ``"date_obs"`` (default) or another numeric field.
        by : str or None
            A facet field that colours the points (default detector); None for one group.

        Returns
        -------
        trend : Trend
            ``.rows()`` the points, ``.groups`` the count, mean, min and max per
            group, ``.save("trend.png")`` (or ``.svg``, ``.csv``).

        Raises
        ------
        TrendTooLarge
            Past ``settings.trend_max_points`` rootnames.
        """
        own = TrendSpec.parse([("y", y), ("x", x), ("by", by or "")])
        spec = dataclasses.replace(own, query=self.spec)
        with self.archive.budget():
            return trend(self.archive.db, spec, self.archive.settings, self.archive.cache)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # A stream: each batch of rows within the budget (not the whole, however long).
        return each_within(core.iter_rows(self.archive.db, self.spec, self.archive.cache),
                           self.archive.settings.time_limit_ms)

    def rows(self) -> list[dict[str, Any]]:
        """Return every matching row (column -> value), in the query's order."""
        return list(self)

    def paths(self, *filetypes: str) -> list[str]:
        """Return the absolute paths of the matching files.

        Parameters
        ----------
        *filetypes : str
            ``"flt"``, ``"raw"``, ...; default: every filetype each rootname has.
        """
        with self.archive.budget():
            return list(core.iter_paths(self.archive.db, self.spec, self.archive.settings,
                                        filetypes or None, self.archive.cache))

    def csv(self) -> Iterator[str]:
        """Yield the rows as CSV lines (header first), streamed."""
        return csv_lines(self.spec.column_names, iter(self))

    def to_csv(self, path: str | Path) -> int:
        """Write the rows to a CSV file; return how many rows were written."""
        lines = 0
        with open(path, "w", newline="") as out:
            for line in self.csv():
                out.write(line)
                lines += 1
        return lines - 1

    def to_table(self) -> Table:
        """Return every matching row as an :class:`astropy.table.Table` (not one page).

        Promoted fields are typed, with units: ``ra_targ``/``dec_targ`` in
        deg, ``exptime`` in s, ``expstart`` (MJD) in d; ``date_obs`` is an
        :class:`astropy.time.Time` column (UTC). Header keyword columns take
        their type from the ACS keyword inventory. Missing values are masked.
        ``table.meta["query"]`` holds the query's parameters. See
        :mod:`acsq_mongo.formats.table`.
        """
        with self.archive.budget():
            return query_table(self.archive.db, self.spec, self.archive.cache)

    def to_pandas(self) -> Any:
        """Return :meth:`to_table` as a :class:`pandas.DataFrame` (needs pandas).

        Raises
        ------
        ImportError
            If pandas is not installed; acsq-mongo does not depend on it.
        """
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise ImportError("Query.to_pandas() needs pandas, which acsq-mongo does not "
                              "install: pip install pandas (or use Query.to_table())") from None
        return self.to_table().to_pandas()

    def votable(self) -> bytes:
        """Return every matching row as a VOTable document (for TOPCAT; see
        :mod:`acsq_mongo.formats.votable`)."""
        return votable_bytes(self.to_table())

    def ecsv(self) -> str:
        """Return every matching row as ECSV text (units, masks and times kept)."""
        return ecsv_text(self.to_table())

    def json(self, limit: int | None = None, offset: int | None = None) -> str:
        """Return one page as JSON: count, paging, rows and facets."""
        return result_json(self.page(limit, offset))

    def text_table(self, limit: int | None = None, offset: int | None = None) -> str:
        """Return one page as a plain-text table (a string, aligned for a terminal)."""
        result = self.page(limit, offset, with_facets=False)
        return "\n".join(table_lines(result.columns, result.rows))
