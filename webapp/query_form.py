"""The query form: its fields, and how they become the query core's ``name=value`` pairs.

Most fields of the form are already query-core parameters (``detector``,
``targname``, ``proposid``, ``ra``/``dec``/``radius``, ``sort``...), so a
result URL reads like the command line. A few fields exist only in the form
and are translated here:

- ``date_op`` with ``date_from``/``date_to``, and ``exptime_op`` with
  ``exptime_from``/``exptime_to``: ``=``, ``<``, ``>`` or ``between`` become
  ``date_obs=...``, ``date_obs__lt=...``, ``date_obs__gt=...`` or
  ``date_obs__gte=...&date_obs__lte=...``;
- "any header keyword" rows ``kw_filetype``, ``kw_ext``, ``kw_key``,
  ``kw_op``, ``kw_value`` (repeated, one set per row) become
  ``headers.<filetype>.<ext>.<KEY>__<op>=<value>``;
- ``col`` (ticked output columns) and ``extra_columns`` (header paths to add)
  become ``columns``; none ticked means the standard columns.

Any other query-core parameter may be given directly:
``/query?detector=HRC&exptime__gte=1000&format=json``. Every value is checked
by the core (:class:`~acsq_mongo.query.spec.QuerySpec`), never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acsq_mongo.fields import DETECTORS, FIELDS, FILETYPES, STANDARD_COLUMNS
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.spec import SORTABLE, param_pairs

__all__ = [
    "FORM_ONLY",
    "TEXT_FIELDS",
    "RANGE_OPS",
    "KEYWORD_OPS",
    "WEB_FORMATS",
    "COLUMN_CHOICES",
    "KeywordRow",
    "QueryForm",
    "query_pairs",
]

#: Names that only the form uses; the core never sees them.
FORM_ONLY: tuple[str, ...] = (
    "date_op", "date_from", "date_to", "exptime_op", "exptime_from", "exptime_to",
    "kw_filetype", "kw_ext", "kw_key", "kw_op", "kw_value", "col", "extra_columns", "format",
    "count",
)
#: The seed's text fields, as (name, label, hint); ``*`` is a wildcard in each.
TEXT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("rootname", "Rootname", "j94f05bgq or j94f*"),
    ("targname", "Target", "NGC104 or NGC*"),
    ("pr_inv_l", "PI (last name)", "Anderson"),
    ("proposid", "Proposal ID", "10368"),
    ("proposal_type", "Proposal type", "GO, CAL/ACS, ..."),
    ("aperture", "Aperture", "WFC, WFC1-2K, ..."),
    ("filter", "Filter (either wheel)", "F814W"),
    ("filter1", "Filter 1", "F606W"),
    ("filter2", "Filter 2", "CLEAR2L"),
    ("wavelength", "Wavelength", "500nm..900nm or 656nm"),
    ("imagetyp", "Image type", "EXT, BIAS, DARK, ..."),
    ("obstype", "Observation type", "IMAGING, INTERNAL, ..."),
)
#: The detectors the form offers.
FORM_DETECTORS: tuple[str, ...] = DETECTORS
#: Range choices for date_obs and exptime: label -> ops.
RANGE_OPS: dict[str, tuple[str, ...]] = {
    "=": ("exact",), "<": ("lt",), ">": ("gt",), "between": ("gte", "lte"),
}
#: Ops of a header-keyword row: op -> label.
KEYWORD_OPS: dict[str, str] = {
    "exact": "=", "not": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
    "contains": "contains", "startswith": "starts with", "exists": "exists",
}
#: The output formats of the query page: value -> label.
WEB_FORMATS: dict[str, str] = {
    "html": "HTML table", "thumbnails": "thumbnails", "csv": "CSV (every row)",
    "json": "JSON (this page)", "votable": "VOTable (every row)", "ecsv": "ECSV (every row)",
    "curl": "download script (every file)",
}
#: Columns the form offers to tick: every scalar field.
COLUMN_CHOICES: tuple[str, ...] = tuple(n for n in FIELDS if n in SORTABLE)
#: How many header-keyword rows an empty form shows.
KEYWORD_ROWS = 3
# Every name the form has a field for.
_FORM_FIELDS = frozenset(FORM_ONLY + tuple(n for n, _, _ in TEXT_FIELDS)
                         + ("detector", "anomaly", "ra", "dec", "radius", "cone", "contains",
                            "overlaps", "sort"))


@dataclass(frozen=True)
class KeywordRow:
    """One "any header keyword" row of the form, as typed."""

    filetype: str = "flt"
    ext: str = "0"
    key: str = ""
    op: str = "exact"
    value: str = ""


def _range_pairs(field: str, op: str | None, start: str | None, stop: str | None
                 ) -> list[tuple[str, str]]:
    op = (op or "=").strip()
    start, stop = (start or "").strip(), (stop or "").strip()
    if op not in RANGE_OPS:
        raise QueryError(f"unknown comparison {op[:10]!r} for {field}; valid: "
                         + ", ".join(RANGE_OPS))
    if op == "between":
        pairs = []
        if start:
            pairs.append((f"{field}__gte", start))
        if stop:
            pairs.append((f"{field}__lte", stop))
        return pairs
    if stop and not start:
        raise QueryError(f"{field}: the second value is only for 'between'; give the first")
    if not start:
        return []
    suffix = "" if RANGE_OPS[op][0] == "exact" else "__" + RANGE_OPS[op][0]
    return [(field + suffix, start)]


def keyword_rows(args: Any) -> list[KeywordRow]:
    """Return the header-keyword rows of the form as typed (blank rows included)."""
    lists = {name: args.getlist(f"kw_{name}") for name in ("filetype", "ext", "key", "op", "value")}
    n = max(len(v) for v in lists.values())
    rows = []
    for i in range(n):
        cells = {name: (values[i] if i < len(values) else "").strip()
                 for name, values in lists.items()}
        rows.append(KeywordRow(filetype=cells["filetype"] or "flt", ext=cells["ext"] or "0",
                               key=cells["key"], op=cells["op"] or "exact",
                               value=cells["value"]))
    return rows


def _keyword_pairs(rows: list[KeywordRow]) -> list[tuple[str, str]]:
    pairs = []
    for number, row in enumerate(rows, start=1):
        if not row.key:
            if row.value:
                raise QueryError(f"header keyword row {number}: give the keyword of value "
                                 f"{row.value[:30]!r}")
            continue
        where = f"header keyword row {number} ({row.key[:30]})"
        if row.filetype.lower() not in FILETYPES:
            raise QueryError(f"{where}: unknown filetype {row.filetype[:10]!r}; valid "
                             "filetypes: " + ", ".join(FILETYPES))
        if not row.ext.isdigit():
            raise QueryError(f"{where}: the extension is a number (0 is the primary header)")
        if "__" in row.key:
            raise QueryError(f"{where}: choose the comparison in the op menu, not in the keyword")
        if row.op not in KEYWORD_OPS:
            raise QueryError(f"{where}: unknown op {row.op[:10]!r}; valid ops: "
                             + ", ".join(KEYWORD_OPS))
        value = row.value or ("true" if row.op == "exists" else "")
        if not value:
            raise QueryError(f"{where}: give a value to compare with")
        name = f"headers.{row.filetype.lower()}.{row.ext}.{row.key}"
        pairs.append((name if row.op == "exact" else f"{name}__{row.op}", value))
    return pairs


def query_pairs(args: Any) -> list[tuple[str, Any]]:
    """Translate the form's parameters into the query core's ``name=value`` pairs.

    Parameters
    ----------
    args : MultiDict
        The request's parameters (``request.args``).

    Returns
    -------
    pairs : list of (str, str)
        For :meth:`QuerySpec.parse`.

    Raises
    ------
    QueryError
        If a form-only field is inconsistent (a keyword row without a keyword, ...).
    """
    pairs = [(n, v) for n, v in param_pairs(args) if n not in FORM_ONLY]
    pairs += _range_pairs("date_obs", args.get("date_op"), args.get("date_from"),
                          args.get("date_to"))
    pairs += _range_pairs("exptime", args.get("exptime_op"), args.get("exptime_from"),
                          args.get("exptime_to"))
    pairs += _keyword_pairs(keyword_rows(args))
    ticked = [c for c in args.getlist("col") if c.strip()]
    extra = [c.strip() for c in (args.get("extra_columns") or "").split(",") if c.strip()]
    if ticked or extra:
        pairs.append(("columns", ",".join((ticked or list(STANDARD_COLUMNS)) + extra)))
    return pairs


# The form's range fields, and the core parameters each range op stands for.
_RANGES = (("date", "date_obs"), ("exptime", "exptime"))
_CORE_OPS = {"": "=", "exact": "=", "lt": "<", "gt": ">"}


def _ranges_from_core(args: Any) -> tuple[dict[str, str], set[str]]:
    """Fill the range fields from core parameters typed in a URL (``exptime__gte=abc``).

    Returns the field values, and the core parameter names they stand for (which
    then are not also carried as hidden fields). Only a range the form can show
    is filled: one value with ``=``, ``<`` or ``>``, or ``gte`` and/or ``lte``.
    """
    values: dict[str, str] = {}
    used: set[str] = set()
    for prefix, field in _RANGES:
        if any(args.get(f"{prefix}_{part}") for part in ("op", "from", "to")):
            continue
        given = {n: args.getlist(n) for n in args if n == field or n.startswith(field + "__")}
        if not given or any(len(v) != 1 for v in given.values()):
            continue
        ops = {n.partition("__")[2]: v[0] for n, v in given.items()}
        if len(ops) == 1 and next(iter(ops)) in _CORE_OPS:
            op, value = next(iter(ops.items()))
            values.update({f"{prefix}_op": _CORE_OPS[op], f"{prefix}_from": value})
        elif set(ops) <= {"gte", "lte"}:
            values.update({f"{prefix}_op": "between", f"{prefix}_from": ops.get("gte", ""),
                           f"{prefix}_to": ops.get("lte", "")})
        else:
            continue
        used.update(given)
    return values, used


def _rows_from_core(args: Any) -> tuple[list[KeywordRow], dict[str, str], set[tuple[str, str]]]:
    """Fill the form's rows from core parameters typed in a URL.

    ``headers.flt.0.CCDGAIN__gte=2`` becomes a header-keyword row (any op of the
    row's menu), and ``filter1__in=F606W,F814W`` the text field ``filter1`` (a
    comma list there means the same). Returns the rows, the text fields' values,
    and the ``(name, value)`` pairs they stand for (not carried as hidden fields).
    """
    rows: list[KeywordRow] = []
    texts: dict[str, str] = {}
    used: set[tuple[str, str]] = set()
    text_names = {n for n, _, _ in TEXT_FIELDS}
    for name, value in param_pairs(args):
        if not isinstance(value, str) or not value.strip():
            continue
        path, sep, op = name.rpartition("__")
        if sep and op == "in" and path in text_names and path not in texts \
                and not args.get(path):
            texts[path] = value.strip()
            used.add((name, value))
            continue
        if not sep or op not in KEYWORD_OPS:
            path, op = name, "exact"
        parts = path.split(".", 3)
        if (len(parts) == 4 and parts[0] == "headers" and parts[1].lower() in FILETYPES
                and parts[2].isdigit() and parts[3] and "__" not in parts[3]):
            rows.append(KeywordRow(filetype=parts[1].lower(), ext=parts[2], key=parts[3],
                                   op=op, value=value.strip()))
            used.add((name, value))
    return rows, texts, used


class QueryForm:
    """The form as the user filled it in, for showing it again.

    Parameters
    ----------
    args : MultiDict
        The request's parameters.
    suggestions : mapping, optional
        Field -> values to offer in the text fields' lists (facets of the whole archive).
    """

    text_fields = TEXT_FIELDS
    detectors = FORM_DETECTORS
    range_ops = tuple(RANGE_OPS)
    keyword_ops = KEYWORD_OPS
    formats = WEB_FORMATS
    filetypes = FILETYPES
    column_choices = COLUMN_CHOICES
    default_columns = STANDARD_COLUMNS
    sortable = SORTABLE

    def __init__(self, args: Any, suggestions: Mapping[str, list] | None = None) -> None:
        self.args = args
        self.suggestions = dict(suggestions or {})
        self._ranges, self._in_ranges = _ranges_from_core(args)
        self._core_rows, self._core_texts, self._in_rows = _rows_from_core(args)

    def get(self, name: str, default: str = "") -> str:
        """Return the value typed in a field (ranges and lists typed as core parameters
        included)."""
        if name in self._ranges:
            return self._ranges[name]
        if name in self._core_texts:
            return self._core_texts[name]
        return self.args.get(name, default)

    def ticked(self, column: str) -> bool:
        """Whether an output column is ticked."""
        return column in self.args.getlist("col")

    def keyword_rows(self) -> list[KeywordRow]:
        """The header-keyword rows to show: those typed (in the rows or as core parameters
        in the URL), then blank ones up to three."""
        rows = [r for r in keyword_rows(self.args) if r.key or r.value] + self._core_rows
        return rows + [KeywordRow()] * max(1, KEYWORD_ROWS - len(rows))

    def hidden(self) -> list[tuple[str, str]]:
        """Parameters the form has no field for (``exptime__gte=...`` typed in a URL).

        The form carries them as hidden fields, so changing the query keeps
        them; ``offset`` is dropped, since a changed query starts at its first page.
        """
        return [(n, v) for n, v in param_pairs(self.args)
                if n not in _FORM_FIELDS and n != "offset" and n not in self._in_ranges
                and (n, v) not in self._in_rows]

    @property
    def format(self) -> str:
        """The chosen output format."""
        fmt = self.get("format", "html").lower()
        return fmt if fmt in WEB_FORMATS else "html"
