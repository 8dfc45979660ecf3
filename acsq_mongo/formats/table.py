"""Rows of a query as an :class:`astropy.table.Table`: typed columns with units.

What each column becomes:

- promoted fields (:data:`acsq_mongo.fields.FIELDS`) by their declared type:
  ``ra_targ``/``dec_targ`` in deg, ``exptime`` in s, ``expstart`` (an MJD) in d;
- datetimes (``date_obs``, the ingest dates) as one :class:`astropy.time.Time`
  column, scale UTC (the store's datetimes are naive UTC);
- header keywords (``headers.<filetype>.<ext>.<KEY>``) by the type the keyword
  inventory gives (:mod:`acsq_mongo.query.keyword_types`): ``Integer`` int64, ``Float``
  float64, ``Bool`` bool, ``String`` text. A keyword the inventory does not
  know, or whose stored values do not fit its type, takes its type from the
  values, so nothing stored is lost;
- lists (``filetypes``) as text joined with ``;`` and mappings as JSON text,
  as CSV writes them.

A missing value is masked. Each column's ``description`` says what it is, and
``meta["ucd"]`` holds its UCD (IVOA UCD1+; VOTables carry it, :mod:`.votable`):
every field has one (:data:`UCDS`), and a header keyword column has
``instr.param;meta.fits`` for a number or a boolean, ``meta.code;meta.fits``
for text, so that TOPCAT, which reads columns by their UCDs, knows each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, Table
from astropy.time import Time

from acsq_mongo.fields import describe_field
from acsq_mongo.formats.render import iso_utc, text_value
from acsq_mongo.query import core
from acsq_mongo.query.keyword_types import keyword_types
from acsq_mongo.query.names import FieldRef
from acsq_mongo.query.spec import QuerySpec

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache

__all__ = ["UNITS", "UCDS", "HEADER_UCDS", "rows_to_table", "column_kind", "typed_column",
           "query_table"]

#: Units of the promoted fields, by the unit text of :class:`acsq_mongo.fields.Field`.
UNITS: dict[str, u.UnitBase] = {"deg": u.deg, "s": u.s, "MJD": u.d}
#: Units of the image statistics (:data:`acsq_mongo.fields.STATISTICS`); a fraction has none.
STATS_UNITS: dict[str, u.UnitBase] = {
    "DN": u.DN, "electron": u.electron, "electron/s": u.electron / u.s, "1/s": u.s**-1}

#: The UCD (IVOA UCD1+) of every field.
UCDS: dict[str, str] = {
    "rootname": "meta.id;meta.main",
    "detector": "instr.setup",
    "proposid": "meta.id;obs.proposal",
    "proposal_type": "meta.code.class;obs.proposal",
    "pr_inv_l": "meta.id.PI",
    "pr_inv_f": "meta.id.PI",
    "targname": "meta.id;src",
    "ra_targ": "pos.eq.ra;meta.main",
    "dec_targ": "pos.eq.dec;meta.main",
    "aperture": "instr.setup",
    "filter1": "meta.id;instr.filter",
    "filter2": "meta.id;instr.filter",
    "obstype": "meta.code.class;obs",
    "obsmode": "meta.code;instr.setup",
    "imagetyp": "meta.code.class;obs",
    "subarray": "meta.code;instr.setup",
    "asn_id": "meta.id;obs.sequence",
    "exptime": "time.duration;obs.exposure",
    "expflag": "meta.code.qual;obs.exposure",
    "expstart": "time.start;obs.exposure",
    "date_obs": "time.start;obs.exposure",
    "path": "meta.ref;meta.file",
    "year": "time.epoch;obs",
    "filetypes": "meta.code;meta.file",
    "quicklook": "meta.ref;meta.preview",
    "n_errors": "meta.number",
    "first_ingest_date": "time.processing",
    "last_ingest_date": "time.processing",
    "footprint": "pos.outline;obs.field",
    "s_region": "pos.outline;obs.field",
    "anomalies": "meta.code.qual",
    "proposed": "meta.code.qual",
    "stats": "stat.value",
    "rootnames": "meta.id;meta.dataset",
    "file_paths": "meta.ref;meta.file",
    "asn_members": "meta.id;obs.sequence",
}
#: The UCD of a header keyword column, by its type: a number or boolean, or text.
HEADER_UCDS: dict[str, str] = {"number": "instr.param;meta.fits", "text": "meta.code;meta.fits"}

_INVENTORY_KINDS = {"Integer": "int", "Float": "float", "Bool": "bool", "String": "str"}


def _values_kind(values: Sequence[Any]) -> str:
    """The narrowest of bool, int, float, str that holds every non-missing value."""
    present = [v for v in values if v is not None]
    if not present:
        return "str"
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if any(isinstance(v, (bool, np.bool_)) for v in present):
        return "str"
    if all(isinstance(v, (int, np.integer)) for v in present):
        return "int"
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
        return "float"
    return "str"


def _fits(kind: str, values: Sequence[Any]) -> bool:
    """Whether every non-missing value is of ``kind`` (ints count as floats; none at all fit)."""
    if all(v is None for v in values):
        return True
    found = _values_kind(values)
    return found == kind or (kind == "float" and found == "int")


def column_kind(ref: FieldRef, values: Sequence[Any]) -> str:
    """Return the column type of a field: bool, int, float, str, datetime, list or dict.

    Parameters
    ----------
    ref : FieldRef
        The field or header keyword.
    values : sequence
        Its values in the rows (None where missing); decide a header keyword's
        type when the inventory does not know it or its values do not fit.
    """
    if not ref.is_header:
        return ref.type
    kinds = {_INVENTORY_KINDS.get(k, "str") for k in keyword_types(ref.filetype, ref.ext, ref.key)}
    if kinds == {"int", "float"}:
        kinds = {"float"}
    if len(kinds) == 1:
        (kind,) = kinds
        if _fits(kind, values):
            return kind
    return _values_kind(values)


def typed_column(name: str, kind: str, values: list[Any]) -> Column | MaskedColumn | Time:
    """Return one column of ``kind`` (bool, int, float, str, datetime, ...), None masked."""
    mask = np.array([v is None for v in values], dtype=bool)
    if kind == "datetime":
        fill = "2000-01-01T00:00:00"
        times = Time([iso_utc(v)[:-1] if v is not None else fill for v in values],
                     format="isot", scale="utc") if values else Time([], format="isot",
                                                                     scale="utc")
        if mask.any():
            times[mask] = np.ma.masked
        return times
    if kind == "bool":
        data = np.array([bool(v) if v is not None else False for v in values], dtype=bool)
    elif kind == "int":
        data = np.array([int(v) if v is not None else 0 for v in values], dtype=np.int64)
    elif kind == "float":
        data = np.array([float(v) if v is not None else np.nan for v in values],
                        dtype=np.float64)
    else:
        data = np.array([text_value(v) for v in values], dtype=str)
        if data.dtype.itemsize == 0:
            data = data.astype("U1")
    return MaskedColumn(data, name=name, mask=mask) if mask.any() else Column(data, name=name)


def _describe(column: Any, ref: FieldRef) -> None:
    if ref.is_header:
        where = "the primary header" if ref.ext == "0" else f"extension {ref.ext}"
        column.info.description = f"{ref.key} in {where} of the {ref.filetype} file"
        kind = "number" if column.dtype.kind in "biuf" else "text"
        column.info.meta = {"ucd": HEADER_UCDS[kind]}
        return
    field = describe_field(ref.name)
    column.info.description = field.label + (" (MJD)" if field.unit == "MJD" else "")
    unit = UNITS.get(field.unit) or STATS_UNITS.get(field.unit)
    if unit is not None and not isinstance(column, Time) and column.dtype.kind in "fiu":
        column.unit = unit  # numbers only: a footprint's JSON text has no unit
    if ref.name in UCDS:
        column.info.meta = {"ucd": UCDS[ref.name]}
    elif ref.name.startswith("stats."):  # an image statistic (acsq_mongo.fields.STATISTICS)
        column.info.meta = {"ucd": "stat.value"}


def rows_to_table(
    refs: Sequence[FieldRef],
    rows: Iterable[Mapping[str, Any]],
    meta: Mapping[str, Any] | None = None,
) -> Table:
    """Return query rows as a typed :class:`~astropy.table.Table`.

    Parameters
    ----------
    refs : sequence of FieldRef
        The columns, in order (a spec's ``columns``).
    rows : iterable of mapping
        Column name -> value, as :func:`acsq_mongo.query.core.iter_rows` yields them.
    meta : mapping, optional
        Table metadata (e.g. the query's parameters).

    Returns
    -------
    table : astropy.table.Table
        One row per row, columns as the module docstring says.
    """
    rows = list(rows)
    table = Table(meta=dict(meta or {}))
    for ref in refs:
        values = [row.get(ref.name) for row in rows]
        column = typed_column(ref.name, column_kind(ref, values), values)
        table[ref.name] = column
        _describe(table[ref.name], ref)
    return table


def query_table(db: Database, spec: QuerySpec, cache: ResultCache | None = None) -> Table:
    """Return every row of a query (not one page) as a typed table (:func:`rows_to_table`).

    ``table.meta["query"]`` holds the query's parameters as ``[name, value]`` pairs.
    """
    return rows_to_table(spec.columns, core.iter_rows(db, spec, cache),
                         meta={"query": [list(p) for p in spec.to_params()]})
