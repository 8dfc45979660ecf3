"""One result, many formats: table, CSV, JSON and file paths.

- **table**: columns aligned for a terminal, numbers right-aligned.
- **CSV**: streamed, one line at a time (RFC 4180 quoting by :mod:`csv`,
  CRLF line ends); dates as in JSON, ``2006-08-10T01:21:52Z``. A text cell
  that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
  prefixed with ``'`` so that a spreadsheet does not run it as a formula;
  numbers (a negative Dec) stay numbers.
- **JSON**: the rows with the count, paging and facets; datetimes in ISO 8601
  UTC with a ``Z`` (``2006-08-10T01:21:52Z``, milliseconds where there are any).

Values are written the same way everywhere: None as empty, booleans as
``true``/``false``, datetimes as ISO 8601, lists joined with ``;``.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acsq_mongo.query.core import Result

__all__ = [
    "FORMULA_PREFIXES",
    "text_value",
    "csv_cell",
    "csv_lines",
    "table_lines",
    "iso_utc",
    "to_jsonable",
    "result_dict",
    "result_json",
    "json_default",
]

#: Cell starts that spreadsheets read as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def text_value(value: Any, datetime_sep: str = "T") -> str:
    """Return a value as text: None empty, bools true/false, ISO dates, lists with ``;``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=datetime_sep)
    if isinstance(value, (list, tuple)):
        return ";".join(text_value(v, datetime_sep) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(to_jsonable(value), sort_keys=True)
    return str(value)


def csv_cell(value: Any) -> Any:
    """Return a CSV cell: numbers as they are, dates as in JSON (ISO 8601 UTC with ``Z``),
    text neutralised against formulas."""
    if _is_number(value):
        return value
    if isinstance(value, datetime.datetime):
        return iso_utc(value)
    text = text_value(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Yield CSV lines (with CRLF ends): the header, then one line per row.

    A generator: rows are read and written one at a time, so a download of
    any size streams in constant memory.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(csv_cell(c) for c in columns)
    for row in rows:
        yield line(csv_cell(row.get(c)) for c in columns)


def table_lines(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], max_width: int = 40
) -> Iterator[str]:
    """Yield the lines of a plain-text table aligned for a terminal.

    Cells wider than ``max_width`` characters are cut with ``…``.
    """
    def cell(value: Any) -> str:
        text = text_value(value, datetime_sep=" ").replace("\n", " ").replace("\t", " ")
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    numeric = [
        all(_is_number(row.get(c)) or row.get(c) is None for row in rows) and bool(rows)
        for c in columns
    ]
    widths = [
        max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)
    ]

    def join(parts: Sequence[str]) -> str:
        out = [
            p.rjust(w) if right else p.ljust(w)
            for p, w, right in zip(parts, widths, numeric, strict=True)
        ]
        return "  ".join(out).rstrip()

    yield join(list(columns))
    yield "  ".join("-" * w for w in widths)
    for row_cells in cells:
        yield join(row_cells)


def iso_utc(value: datetime.datetime) -> str:
    """Return a datetime as ISO 8601 UTC with ``Z``: ``2006-08-10T01:21:52.250Z``.

    The store's datetimes are naive UTC (docs/data-model.md); an aware one is
    converted to UTC first. Milliseconds (BSON's precision) only where there are any.
    """
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    timespec = "milliseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=timespec) + "Z"


def to_jsonable(value: Any) -> Any:
    """Return ``value`` with datetimes as ISO 8601 UTC text (``Z``) and tuples as lists."""
    if isinstance(value, datetime.datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """``default=`` for :func:`json.dumps`: datetimes as ISO 8601 UTC (``Z``), dates as ISO."""
    if isinstance(value, datetime.datetime):
        return iso_utc(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def result_dict(result: Result) -> dict[str, Any]:
    """Return a result as plain data: count, paging, columns, rows, facets, the query and
    warnings (header keyword paths that cannot match)."""
    facets = None
    if result.facets is not None:
        facets = {
            name: [{"value": to_jsonable(v), "count": n} for v, n in pairs]
            for name, pairs in result.facets.items()
        }
    return {
        "count": result.count,
        "count_exact": result.count_exact,
        "offset": result.offset,
        "limit": result.limit,
        "next_offset": result.next_offset,
        "columns": list(result.columns),
        "rows": [to_jsonable(row) for row in result.rows],
        "facets": facets,
        "facets_of": result.facets_of,
        "query": [list(pair) for pair in result.spec.to_params()],
        "warnings": list(result.warnings),
    }


def result_json(result: Result, indent: int | None = None) -> str:
    """Return a result as JSON text (see :func:`result_dict`)."""
    return json.dumps(result_dict(result), indent=indent, default=json_default)
