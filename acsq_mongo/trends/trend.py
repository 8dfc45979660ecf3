"""Trends: a numeric field against time (or another number), for the rootnames of any query.

A trend is a query plus three names, as JWQL's monitors are: ``y``, the
numeric field plotted (a promoted field such as ``exptime`` or any header
keyword such as ``headers.flt.1.MDRIZSKY``); ``x``, ``date_obs`` by default or
another numeric field; and ``by``, a facet field that colours the points
(``detector`` by default; empty for one group). The same ``name=value``
pairs as a query give the rootnames: ``y=headers.flt.1.MDRIZSKY&detector=WFC``.

Two requests answer it, both on the collection that holds the fields
(``catalog`` for promoted fields and indexed header keywords, ``rootnames``
for other header keywords), with the query's own filter, which its indexes
serve:

- one ``find`` of the points: rootnames whose ``x`` and ``y`` are numbers
  (or dates, for a date ``x``);
- one aggregation, ``$match`` then ``$group`` by ``by``: the count, mean,
  minimum and maximum of ``y`` per group, computed by the server.

The two are sent side by side. A header keyword lives in the whole documents
of ``rootnames``, so its trend reads them (narrow the query to read fewer: see
benchmarks/bench_trend.py for what it costs), unless it has an index
(``acsq db index``): its values are then copied into the catalog, which
answers the trend.

Guard rail: the query's rootnames are counted first (an indexed count), and a
trend of more than ``settings.trend_max_points`` is refused with a message
that says so, before any point is read.
"""

from __future__ import annotations

import contextvars
import datetime
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.header_indexes import copied_paths
from acsq_mongo.fields import FACET_FIELDS, FIELDS, TAG_FIELDS, describe_field
from acsq_mongo.formats.render import csv_lines
from acsq_mongo.query import core
from acsq_mongo.query.cache import CallCache, ResultCache
from acsq_mongo.query.errors import QueryError, server_errors
from acsq_mongo.query.filters import combine
from acsq_mongo.query.keyword_check import path_warnings
from acsq_mongo.query.names import FieldRef, resolve
from acsq_mongo.query.selection import cached_selection
from acsq_mongo.query.spec import QuerySpec, param_pairs
from acsq_mongo.trends.limits import TooManyPoints, check_points

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.plots.trend_figure import RenderedTrend
    from acsq_mongo.settings import Settings

__all__ = [
    "TREND_PARAMS",
    "GROUP_FIELDS",
    "NUMERIC_FIELDS",
    "TrendSpec",
    "TrendTooLarge",
    "Trend",
    "Group",
    "trend",
    "group_pipeline",
]

#: The names a trend adds to a query's parameters.
TREND_PARAMS: tuple[str, ...] = ("y", "x", "by")
#: The fields a trend may colour its points by.
GROUP_FIELDS: tuple[str, ...] = FACET_FIELDS + ("imagetyp", "subarray", "expflag")
#: Promoted fields that can be plotted (numbers, and ``date_obs`` for x).
NUMERIC_FIELDS: tuple[str, ...] = tuple(
    n for n, f in FIELDS.items() if f.type in ("int", "float", "datetime"))


_TAGS = frozenset(f.name for f in TAG_FIELDS)


class TrendTooLarge(TooManyPoints):
    """A trend over more points than ``trend_max_points``."""


def _numeric_ref(role: str, name: str, allow_dates: bool) -> FieldRef:
    ref = resolve(name)
    if ref.is_header:
        return ref
    if ref.type in ("int", "float") or (allow_dates and ref.type == "datetime"):
        return ref
    kinds = "a number or a date" if allow_dates else "a number"
    choices = [n for n in NUMERIC_FIELDS if allow_dates or FIELDS[n].type != "datetime"]
    raise QueryError(f"{role}={ref.name} is not {kinds}; choose one of " + ", ".join(choices)
                     + " or a header keyword as headers.<filetype>.<ext>.<KEY>")


@dataclass(frozen=True)
class TrendSpec:
    """A checked trend: the query, and what to plot against what, coloured by what.

    Attributes
    ----------
    query : QuerySpec
    y, x : FieldRef
    by : str or None
        A field of :data:`GROUP_FIELDS`, or None for one group.
    """

    query: QuerySpec
    y: FieldRef
    x: FieldRef
    by: str | None = "detector"

    @classmethod
    def parse(cls, params: Any = None, *, ignore: tuple[str, ...] = ()) -> TrendSpec:
        """Parse ``name=value`` pairs: ``y`` (required), ``x``, ``by``, and the query's own.

        Raises
        ------
        QueryError
            If ``y`` is missing, a field is not numeric, ``by`` is not a
            facet field, or the query is bad.
        """
        own: dict[str, Any] = {}
        rest = []
        for name, value in param_pairs(params):
            if name in TREND_PARAMS:
                if name in own:
                    raise QueryError(f"{name} is given more than once")
                own[name] = str(value).strip() if value is not None else ""
            else:
                rest.append((name, value))
        if not own.get("y"):
            raise QueryError("a trend needs y, the field to plot, e.g. y=exptime or "
                             "y=headers.flt.1.MDRIZSKY")
        y = _numeric_ref("y", own["y"], allow_dates=False)
        x = _numeric_ref("x", own.get("x") or "date_obs", allow_dates=True)
        by: str | None = (own["by"].lower() or None) if "by" in own else "detector"
        if by is not None and by not in GROUP_FIELDS:
            raise QueryError(f"cannot colour by {by[:40]!r}; choose one of "
                             + ", ".join(GROUP_FIELDS) + ", or by= for one group")
        query = QuerySpec.parse(rest, ignore=ignore)
        return cls(query=query, y=y, x=x, by=by)

    def to_params(self) -> list[tuple[str, str]]:
        """The trend as ``name=value`` pairs (its URL, its command line)."""
        pairs = [("y", self.y.name)]
        if self.x.name != "date_obs":
            pairs.append(("x", self.x.name))
        if self.by != "detector":
            pairs.append(("by", self.by or ""))
        return pairs + [(n, v) for n, v in self.query.to_params()
                        if n not in ("columns", "sort", "limit", "offset", "format")]

    def key(self) -> tuple:
        """What decides the trend's answer (for caches)."""
        return (self.query.selection_key(), self.y.name, self.x.name, self.by)

    def title(self) -> str:
        """The plot's title: what against what, for which query."""
        searches = [s.describe() for s in (self.query.cone, self.query.sky) if s is not None]
        filters = ", ".join([f.describe() for f in self.query.filters] + searches)
        return f"{self.y.name} against {self.x.name}" + (f" ({filters})" if filters else "")

    @property
    def header_paths(self) -> frozenset[str]:
        """The paths of the axes that are header keywords."""
        return frozenset(ref.path for ref in (self.x, self.y) if ref.is_header)


@dataclass(frozen=True)
class Group:
    """The statistics of ``y`` over one group's points, as the server's ``$group`` gives them."""

    value: Any
    n: int
    mean: float
    min: float
    max: float


@dataclass
class Trend:
    """A trend's answer: its points and the statistics per group.

    Attributes
    ----------
    spec : TrendSpec
    rootnames, proposids, x, y, groups_of : list
        One entry per point, in order of ``x`` (then rootname).
    groups : list of Group
        Per value of ``by``, most points first.
    n_matching : int
        Rootnames the query matches (some may have no value of ``x`` or ``y``).
    warnings : tuple of str
        For a header path of ``x`` or ``y`` that no header has: where the keyword
        is, or close spellings (:mod:`.keyword_check`, as for a query's filters).
    """

    spec: TrendSpec
    rootnames: list[str] = field(default_factory=list)
    proposids: list[Any] = field(default_factory=list)
    x: list[Any] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    groups_of: list[Any] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    n_matching: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def n_points(self) -> int:
        """How many points are plotted."""
        return len(self.rootnames)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`: rootname, x, y and the group field."""
        names = ("rootname", self.spec.x.name, self.spec.y.name)
        return names + ((self.spec.by,) if self.spec.by else ())

    def rows(self) -> Iterator[dict[str, Any]]:
        """Yield the plotted points as rows (for CSV and JSON)."""
        for i, rootname in enumerate(self.rootnames):
            row = {"rootname": rootname, self.spec.x.name: self.x[i], self.spec.y.name: self.y[i]}
            if self.spec.by:
                row[self.spec.by] = self.groups_of[i]
            yield row


    def picture(self, fmt: str = "png") -> RenderedTrend:
        """Draw the trend with matplotlib (:func:`acsq_mongo.plots.trend_figure.trend_figure`).

        Parameters
        ----------
        fmt : {"png", "svg"}
        """
        from acsq_mongo.plots.trend_figure import trend_figure

        return trend_figure(self.x, self.y, self.groups_of, x_label=_axis_label(self.spec.x),
                            y_label=_axis_label(self.spec.y), by_label=self.spec.by,
                            title=self.spec.title(), fmt=fmt)

    def save(self, path: str | Path) -> Path:
        """Write the picture (``.png``, ``.svg``) or the points (``.csv``); return the path.

        Raises
        ------
        QueryError
            If the suffix is none of these.
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt == "csv":
            with open(path, "w", newline="") as out:
                out.writelines(csv_lines(list(self.columns), self.rows()))
        elif fmt in ("png", "svg"):
            path.write_bytes(self.picture(fmt).data)
        else:
            raise QueryError(f"a trend is saved as .png, .svg or .csv, not {path.name!r}")
        return path


def _axis_label(ref: FieldRef) -> str:
    field = None if ref.is_header else describe_field(ref.name)
    unit = field.unit if field is not None else ""
    return f"{ref.name} ({unit})" if unit else ref.name


def _path_value(doc: dict, path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _value_filter(spec: TrendSpec) -> dict:
    # ("number": int, long, double and decimal, never bool; a date field holds only dates)
    x_type = "date" if spec.x.type == "datetime" else "number"
    return {"$and": [{spec.y.path: {"$type": "number"}}, {spec.x.path: {"$type": x_type}}]}


def group_pipeline(match: dict, spec: TrendSpec) -> list[dict]:
    """The aggregation of the per-group statistics: ``$match``, then one ``$group``."""
    by = f"${spec.by}" if spec.by else None
    y = f"${spec.y.path}"
    return [{"$match": match},
            {"$group": {"_id": by, "n": {"$sum": 1}, "mean": {"$avg": y},
                        "min": {"$min": y}, "max": {"$max": y}}}]


def _tag_groups(db: Database, docs: list[dict], spec: TrendSpec) -> tuple[list[dict], list]:
    """The points' tag values (``anomalies``) from the catalog, where the tags write them,
    and the statistics per group computed here as the ``$group`` would."""
    with server_errors():
        tags = {d["_id"]: d.get(spec.by) for d in db[CATALOG].find(
            {"_id": {"$in": [d["_id"] for d in docs]}}, {spec.by: 1})}
    groups: dict[Any, dict] = {}
    for doc in docs:
        value, y = tags.get(doc["_id"]), _path_value(doc, spec.y.path)
        doc[spec.by] = value
        g = groups.setdefault(tuple(value) if isinstance(value, list) else value,
                              {"_id": value, "n": 0, "sum": 0.0, "min": y, "max": y})
        g["n"], g["sum"], g["min"], g["max"] = g["n"] + 1, g["sum"] + y, min(g["min"], y), max(
            g["max"], y)
    return docs, [{**g, "mean": g["sum"] / g["n"]} for g in groups.values()]


def _compute(db: Database, spec: TrendSpec, cached: CallCache) -> Trend:
    selection = cached_selection(cached, spec.query)
    # A header keyword is read from rootnames, unless it has an index: then the catalog
    # holds a copy of it (db.header_indexes), and the trend never reads a whole document.
    collection = selection.collection
    if spec.header_paths and not spec.header_paths <= copied_paths(db):
        collection = ROOTNAMES
    match = combine([], [selection.match, _value_filter(spec)])
    projection = {"_id": 1, "rootname": 1, "proposid": 1, spec.x.path: 1, spec.y.path: 1}
    if spec.by:
        projection[spec.by] = 1

    def points() -> list[dict]:
        with server_errors():
            return list(db[collection].find(match, projection))

    def statistics() -> list[dict]:
        with server_errors():
            return list(db[collection].aggregate(group_pipeline(match, spec)))

    if collection == ROOTNAMES and spec.by in _TAGS:
        docs, groups = _tag_groups(db, points(), spec)  # (tags live in the catalog only)
    else:
        # Independent reads of the same documents: sent side by side, a trend costs the
        # slower of the two (a scan of whole documents for a header keyword), not their sum.
        with ThreadPoolExecutor(max_workers=2) as pool:
            # (in this thread's context: the face's time budget holds there too)
            groups_future = pool.submit(contextvars.copy_context().run, statistics)
            docs, groups = points(), groups_future.result()
    epoch = datetime.datetime(1970, 1, 1)

    def order(doc: dict) -> tuple:
        x = _path_value(doc, spec.x.path)
        return ((x - epoch).total_seconds() if isinstance(x, datetime.datetime) else x,
                doc.get("rootname") or doc["_id"])

    docs.sort(key=order)
    trend = Trend(spec=spec)
    for doc in docs:
        trend.rootnames.append(doc.get("rootname") or doc["_id"])  # (_id: its first 8)
        trend.proposids.append(doc.get("proposid"))
        trend.x.append(_path_value(doc, spec.x.path))
        trend.y.append(_path_value(doc, spec.y.path))
        trend.groups_of.append(doc.get(spec.by) if spec.by else None)
    trend.groups = sorted(
        (Group(g["_id"], int(g["n"]), float(g["mean"]), g["min"], g["max"]) for g in groups),
        key=lambda g: (-g.n, g.value is None, str(g.value)))
    return trend


def trend(db: Database, spec: TrendSpec, settings: Settings,
          cache: ResultCache | None = None) -> Trend:
    """Return a trend's points and its statistics per group.

    Parameters
    ----------
    db : Database
    spec : TrendSpec
    settings : Settings
        ``trend_max_points``: the most rootnames one trend may plot.
    cache : ResultCache, optional
        Keep the answer until the data changes.

    Raises
    ------
    TrendTooLarge
        If the query matches more than ``trend_max_points`` rootnames (said
        before any point is read).
    QueryError
        If the server refuses the query.
    """
    cached = CallCache(db, cache)
    n_matching = core.count(db, spec.query, cache)
    check_points(n_matching, settings, TrendTooLarge, "this trend would plot up to {n} points",
                 "trend", "e.g. with date_obs__gte=, detector= or proposid=")
    result = cached.get("trend", spec.key(), lambda: _compute(db, spec, cached),
                        keep=lambda t: t.n_points <= 20_000)[0]
    result.n_matching = n_matching
    result.warnings = path_warnings(db, (spec.y, spec.x), cache,
                                    cached.prefix[2] if cached.prefix else None)
    return result
