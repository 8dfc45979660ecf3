"""The query spec: everything a query says, parsed from ``name=value`` pairs.

The same pairs come from a URL (``/query?detector=HRC&exptime__gte=1000``),
the command line (``acsq query detector=HRC exptime__gte=1000``) or Python
(``Archive.query(detector="HRC", exptime__gte=1000)``). Besides filters
(:mod:`acsq_mongo.query.filters`), these names are reserved:

- ``ra``, ``dec``, ``radius``: a cone search of target positions, in degrees (the
  radius also with a unit: ``2arcmin``); or ``cone=POSITION,RADIUS``, the same as
  one string (:mod:`.positions`: ``00:42:44.3 +41:16:09,2arcmin``, ``NGC104,0.1``);
- ``contains=POSITION``, ``overlaps=POSITION,RADIUS``: footprint searches
  (:mod:`.sky_search`). One of the cone and these per query;
- ``sort``: comma-separated fields or header paths, ``-`` for descending:
  ``-exptime,rootname``, ``headers.flt.0.CCDGAIN``; with a position, ``distance``
  (from the position: to the target for the cone, to the footprint's centre for
  ``contains`` and ``overlaps``);
- ``columns``: comma-separated output columns, fields or header paths (default:
  :data:`DEFAULT_COLUMNS`, then every header keyword the filters or the sort name);
- ``limit``, ``offset``: the page;
- ``format``: ``table``, ``csv``, ``json``, ``paths``, ``votable``, ``ecsv`` or ``curl``;
- ``filetype``: comma-separated filetypes for ``paths`` and ``curl`` (default: all present).

An empty value (an empty form field) means "not given".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from acsq_mongo.fields import FIELDS, FILETYPES, STANDARD_COLUMNS
from acsq_mongo.query.cone import CONE_PARAMS, Cone
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.filters import Filter, parse_filter
from acsq_mongo.query.names import FieldRef, resolve
from acsq_mongo.query.sky_search import SKY_PARAMS, SkySearch

__all__ = [
    "QuerySpec",
    "FORMATS",
    "RESERVED",
    "SORTABLE",
    "DEFAULT_SORT",
    "DISTANCE",
    "DEFAULT_COLUMNS",
    "MAX_COLUMNS",
    "MAX_OFFSET",
    "default_columns",
    "param_pairs",
]

#: Output formats every face of the query core offers: ``curl`` is a download script of
#: every matching file (:mod:`acsq_mongo.formats.downloads`).
FORMATS: tuple[str, ...] = ("table", "csv", "json", "paths", "votable", "ecsv", "curl")
#: Parameter names that are not filters.
RESERVED: tuple[str, ...] = CONE_PARAMS + ("cone",) + SKY_PARAMS + (
    "sort", "columns", "limit", "offset", "format", "filetype")
#: The sort key of a search around a position: the distance from it.
DISTANCE = "distance"
#: Fields results can be sorted by (every scalar top-level field).
SORTABLE: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if f.type not in ("list", "dict"))
#: The order when none is asked for (``_id`` always breaks ties).
DEFAULT_SORT: tuple[tuple[str, int], ...] = (("date_obs", 1),)
#: The standard output columns (:data:`acsq_mongo.fields.STANDARD_COLUMNS`).
DEFAULT_COLUMNS: tuple[str, ...] = STANDARD_COLUMNS
#: Most output columns one query may ask for.
MAX_COLUMNS = 100
#: Largest ``offset`` and ``limit`` (far beyond any archive; keeps the server's skip in range).
MAX_OFFSET = 10**9

_REPEATABLE = ("columns", "filetype")


def param_pairs(params: Any) -> list[tuple[str, Any]]:
    """Return ``(name, value)`` pairs from a dict, a MultiDict or a list of pairs."""
    if params is None:
        return []
    items = getattr(params, "items", None)
    if items is not None:
        try:
            return list(items(multi=True))  # werkzeug MultiDict: every value
        except TypeError:
            return list(items())
    pairs = []
    for pair in params:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise QueryError(f"expected name=value pairs, got {pair!r}")
        pairs.append((pair[0], pair[1]))
    return pairs


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _split(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        parts = str(value).split(",")
    return [p.strip() for p in parts if p.strip()]


def _non_negative_int(name: str, value: Any) -> int:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and len(text) > 20:
        raise QueryError(f"{name} must be at most {MAX_OFFSET:,}, got {text[:30]!r}...")
    try:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = int(text)
    except (TypeError, ValueError, OverflowError):
        raise QueryError(f"{name} takes a whole number, got {str(value)[:30]!r}") from None
    if number < 0:
        raise QueryError(f"{name} cannot be negative, got {number}")
    if number > MAX_OFFSET:
        raise QueryError(f"{name} must be at most {MAX_OFFSET:,}, got {number}")
    return number


@dataclass(frozen=True)
class QuerySpec:
    """A checked query: filters, cone, sort, columns, page and output format.

    Build it with :meth:`parse`; every field is then valid, so running it
    never fails on bad input.
    """

    filters: tuple[Filter, ...] = ()
    cone: Cone | None = None
    sky: SkySearch | None = None
    sort: tuple[tuple[str, int], ...] = DEFAULT_SORT
    columns: tuple[FieldRef, ...] = tuple(resolve(n) for n in DEFAULT_COLUMNS)
    limit: int | None = None
    offset: int = 0
    format: str | None = None
    filetypes: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        params: Any = None,
        *,
        ignore: Iterable[str] = (),
        formats: Iterable[str] = FORMATS,
    ) -> QuerySpec:
        """Parse ``name=value`` pairs into a spec.

        Parameters
        ----------
        params : mapping, MultiDict or iterable of (name, value) pairs
            Filters ``field__op=value`` and the reserved names of this module.
            A name may repeat (filters are ANDed). Values are text, or from
            Python, values of the field's type (lists for ``in``/``notin``).
        ignore : iterable of str
            Other names the caller handles itself (e.g. a web view's ``page``).
        formats : iterable of str
            The formats ``format`` may name.

        Returns
        -------
        spec : QuerySpec

        Raises
        ------
        QueryError
            On any unknown name, op or format, or a value of the wrong type.

        Notes
        -----
        Parsing reads nothing from the store: a position given as a target
        name stays a name (:attr:`targets`) until :meth:`with_targets`
        resolves it, which the selection does before it reads anything.
        """
        ignore = set(ignore)
        formats = tuple(formats)
        filters: list[Filter] = []
        reserved: dict[str, Any] = {}
        for name, value in param_pairs(params):
            if not isinstance(name, str):
                raise QueryError(f"a parameter name must be text, got {name!r}")
            if name in ignore:
                continue
            if name in RESERVED:
                if _blank(value):
                    continue
                if name in reserved:
                    if name not in _REPEATABLE:
                        raise QueryError(f"{name} is given more than once")
                    value = _split(reserved[name]) + _split(value)
                reserved[name] = value
                continue
            if _blank(value):
                continue
            filters.append(parse_filter(name, value))
        spec = cls(filters=tuple(filters))
        changes: dict[str, Any] = {"columns": default_columns(spec.filters)}
        cone_values = [reserved.get(n) for n in CONE_PARAMS]
        searches = [n for n in ("cone", *SKY_PARAMS) if n in reserved]
        if any(v is not None for v in cone_values):
            searches.insert(0, "ra, dec, radius")
            changes["cone"] = Cone.parse(*cone_values)
        if len(searches) > 1:
            raise QueryError("one search around a position per query; got " + " and ".join(
                searches))
        if "cone" in reserved:
            changes["cone"] = Cone.from_text(reserved["cone"])
        for kind in SKY_PARAMS:
            if kind in reserved:
                changes["sky"] = SkySearch.parse(kind, reserved[kind])
        if "sort" in reserved:
            changes["sort"] = _parse_sort(reserved["sort"])
            if any(n == DISTANCE for n, _ in changes["sort"]) and not searches:
                raise QueryError("sort=distance needs a position: contains=, overlaps=, "
                                 "cone= or ra, dec, radius")
        if "columns" in reserved:
            changes["columns"] = _parse_columns(reserved["columns"])
        elif "sort" in changes:
            changes["columns"] = default_columns(spec.filters, changes["sort"])
        if "limit" in reserved:
            changes["limit"] = _non_negative_int("limit", reserved["limit"])
        if "offset" in reserved:
            changes["offset"] = _non_negative_int("offset", reserved["offset"])
        if "format" in reserved:
            fmt = str(reserved["format"]).strip().lower()
            if fmt not in formats:
                raise QueryError(f"unknown format {fmt!r}; valid formats: " + ", ".join(formats))
            changes["format"] = fmt
        if "filetype" in reserved:
            changes["filetypes"] = _parse_filetypes(reserved["filetype"])
        return dataclasses.replace(spec, **changes)

    @property
    def targets(self) -> tuple[str, ...]:
        """Target names the search's position was given as, still to resolve."""
        searches = (self.cone, self.sky)
        return tuple(s.target for s in searches if s is not None and not s.resolved)

    def with_targets(self, resolve: Callable[[str], Any]) -> QuerySpec:
        """Return the spec with its target name resolved to a position.

        The one step between parsing and selecting where the store is read
        for a name; :mod:`~acsq_mongo.query.selection` takes it for every
        face.

        Parameters
        ----------
        resolve : callable
            A target name -> its ICRS :class:`~astropy.coordinates.SkyCoord`
            (:meth:`~acsq_mongo.query.targets.TargetNames.resolve`).

        Raises
        ------
        QueryError
            If the name is no target of this archive (from ``resolve``).
        """
        changes: dict[str, Any] = {}
        for name in ("cone", "sky"):
            search = getattr(self, name)
            if search is not None and not search.resolved:
                coord = resolve(search.target)
                changes[name] = search.at(float(coord.ra.deg), float(coord.dec.deg))
        return dataclasses.replace(self, **changes) if changes else self

    def replace(self, **changes: Any) -> QuerySpec:
        """Return a copy with some attributes changed (e.g. another page)."""
        return dataclasses.replace(self, **changes)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The output column names."""
        return tuple(ref.name for ref in self.columns)

    @property
    def header_filters(self) -> tuple[Filter, ...]:
        """Filters on header keywords (answered by ``rootnames``)."""
        return tuple(f for f in self.filters if f.field.is_header)

    @property
    def field_filters(self) -> tuple[Filter, ...]:
        """Filters on promoted fields (answered by ``catalog``)."""
        return tuple(f for f in self.filters if not f.field.is_header)

    @property
    def sort_paths(self) -> list[tuple[str, int]]:
        """The sort as MongoDB takes it: document paths (header keywords escaped)."""
        return [(resolve(name).path, direction) for name, direction in self.sort
                if name != DISTANCE]

    @property
    def sorts_by_distance(self) -> bool:
        """Whether the first sort key is the distance from the search's position."""
        return bool(self.sort) and self.sort[0][0] == DISTANCE

    @property
    def sorts_by_header(self) -> bool:
        """Whether a sort key is a header keyword (then pages come from ``rootnames``)."""
        return any(name.startswith("headers.") for name, _ in self.sort)

    @property
    def header_columns(self) -> tuple[FieldRef, ...]:
        """Output columns that are header keywords."""
        return tuple(ref for ref in self.columns if ref.is_header)

    def selection_key(self) -> tuple:
        """What decides which rootnames match (for caches): filters, cone and sky search."""
        return (
            tuple(sorted(f.key() for f in self.filters)),
            self.cone.key() if self.cone else None,
            self.sky.key() if self.sky else None,
        )

    def to_params(self) -> list[tuple[str, str]]:
        """Return the spec as ``name=value`` pairs (for links: another page, another format)."""
        pairs = [(f.param, f.text) for f in self.filters]
        if self.cone is not None and self.cone.text:
            pairs.append(("cone", self.cone.text))
        elif self.cone is not None:
            pairs += [("ra", f"{self.cone.ra:g}"), ("dec", f"{self.cone.dec:g}"),
                      ("radius", f"{self.cone.radius:g}")]
        if self.sky is not None:
            pairs.append((self.sky.kind, self.sky.text))
        if self.sort != DEFAULT_SORT:
            pairs.append(("sort", ",".join(("-" if d < 0 else "") + n for n, d in self.sort)))
        if self.columns != default_columns(self.filters, self.sort):
            pairs.append(("columns", ",".join(self.column_names)))
        if self.limit is not None:
            pairs.append(("limit", str(self.limit)))
        if self.offset:
            pairs.append(("offset", str(self.offset)))
        if self.format is not None:
            pairs.append(("format", self.format))
        if self.filetypes:
            pairs.append(("filetype", ",".join(self.filetypes)))
        return pairs


def default_columns(filters: Iterable[Filter] = (),
                    sort: Iterable[tuple[str, int]] = ()) -> tuple[FieldRef, ...]:
    """The columns when none are asked for: :data:`DEFAULT_COLUMNS`, then each header
    keyword the filters or the sort name, so that what was asked about is shown."""
    refs = [resolve(n) for n in DEFAULT_COLUMNS]
    for ref in [f.field for f in filters] + [resolve(name) for name, _ in sort
                                             if name != DISTANCE]:
        if ref.is_header and ref not in refs and len(refs) < MAX_COLUMNS:
            refs.append(ref)
    return tuple(refs)


def _parse_sort(value: Any) -> tuple[tuple[str, int], ...]:
    keys = []
    for part in _split(value):
        direction = -1 if part.startswith("-") else 1
        name = part.lstrip("+-").strip()
        if name.lower().startswith(("headers.", "stats.")):
            name = resolve(name).name
        else:
            name = name.lower()
        if not name.startswith(("headers.", "stats.")) and name not in SORTABLE \
                and name != DISTANCE:
            raise QueryError(f"cannot sort by {part[:60]!r}; valid sort fields: "
                             + ", ".join(SORTABLE) + ", distance (from a search's "
                             "position), a header keyword as headers.<filetype>.<ext>.<KEY>, "
                             "or an image statistic as stats.<filetype>.<region>.<statistic>")
        if name not in (k for k, _ in keys):
            keys.append((name, direction))
    if not keys:
        raise QueryError("sort needs a field name, e.g. sort=-exptime")
    return tuple(keys)


def _parse_columns(value: Any) -> tuple[FieldRef, ...]:
    refs: list[FieldRef] = []
    for part in _split(value):
        ref = resolve(part)
        if ref not in refs:
            refs.append(ref)
    if not refs:
        raise QueryError("columns needs at least one field")
    if len(refs) > MAX_COLUMNS:
        raise QueryError(f"{len(refs)} columns asked for; at most {MAX_COLUMNS}")
    return tuple(refs)


def _parse_filetypes(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    for part in _split(value):
        filetype = part.lower()
        if filetype not in FILETYPES:
            raise QueryError(f"unknown filetype {part!r}; valid filetypes: " + ", ".join(FILETYPES))
        if filetype not in out:
            out.append(filetype)
    return tuple(out)

