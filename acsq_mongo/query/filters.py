"""Filters: ``field__op=value`` pairs turned into a MongoDB filter document.

In the style of Datasette's ``filters.py``: one fixed table of operations
(:data:`OPS`), an allow-list of fields (:mod:`acsq_mongo.query.names`) and
values converted to the field's type (:mod:`acsq_mongo.query.values`). The
filter documents keep to plain query operators (docs/data-model.md), so they
run the same on MongoDB 7 and later, SecantusDB and mongomock.

===============  ================================================================
op               meaning
===============  ================================================================
``exact``        equal (the default when no ``__op`` is given); ``*`` in text is
                 a wildcard (case-insensitive); a date is the whole period it names;
                 ``a,b`` on a promoted field is ``in`` (``not``: ``notin``)
``not``          not equal (also true where the field has no value)
``in``           equal to one of a comma-separated list (wildcards allowed)
``notin``        equal to none of a comma-separated list
``gt``, ``gte``  greater than (after the period a date names), greater or equal
``lt``, ``lte``  less than (before the period), less or equal (up to its end)
``contains``     text contains the value, case-insensitive
``startswith``   text starts with the value, case-insensitive
``regex``        text matches a regular expression (case-sensitive but on the
                 case-folded fields; ``(?i)`` for any)
``exists``       ``true``: the field has a value; for a header keyword, the
                 keyword is in that header. ``false``: the opposite
===============  ================================================================

The enumerated text fields and the target
(:data:`~acsq_mongo.fields.CASE_FOLDED_FIELDS`: detector, filters, aperture,
obstype, imagetyp, expflag, proposal_type, ...) are stored upper case, so
every op matches them without regard to case by upper-casing what was typed:
``detector=wfc`` is the indexed equality ``{detector: "WFC"}``, ``targname=ngc*``
the anchored, case-sensitive (so indexed) regex ``^NGC.*$``. No
case-insensitive regex scans them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from acsq_mongo.fields import CASE_FOLDED_FIELDS
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.filter_values import (
    EQUALITY_OPS,
    ORDER_OPS,
    TEXT_OPS,
    AnyOf,
    Wildcard,
    convert,
    regex_escape,
)
from acsq_mongo.query.names import FILTER_NAMES, FieldRef, resolve, resolve_filter
from acsq_mongo.query.values import Period
from acsq_mongo.query.wavelength import wavelength_filter

__all__ = [
    "OPS",
    "OPS_BY_TYPE",
    "MAX_LIST_VALUES",
    "Filter",
    "Wildcard",
    "parse_filter",
    "split_name",
    "combine",
    "regex_escape",
]

#: Every op, in the order error messages list them.
OPS: tuple[str, ...] = (
    "exact", "not", "in", "notin", "gt", "gte", "lt", "lte",
    "contains", "startswith", "regex", "exists",
)
_TEXT_OPS, _ORDER_OPS, _EQUALITY_OPS = TEXT_OPS, ORDER_OPS, EQUALITY_OPS
# How Filter.describe writes an op for people.
_OP_WORDS = {"exact": "=", "not": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
             "notin": "not in", "startswith": "starts with"}

#: The ops each field type allows.
OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "str": OPS,
    "header": OPS,
    "int": _EQUALITY_OPS + _ORDER_OPS + ("exists",),
    "float": _EQUALITY_OPS + _ORDER_OPS + ("exists",),
    "datetime": _EQUALITY_OPS + _ORDER_OPS + ("exists",),
    "bool": _EQUALITY_OPS + ("exists",),
    "list": _EQUALITY_OPS + ("exists",),
    "dict": ("exists",),
    "wavelength": ("exact",),
}
# Ops that match where a value is absent: on a combined name (filter), where no part matches.
_NEGATIVE_OPS = ("not", "notin")

#: Most values one ``in``/``notin`` filter may list.
MAX_LIST_VALUES = 10_000

def _equal(path: str, value: Any) -> dict:
    """The filter for ``path`` equal to ``value`` (a scalar, period, wildcard or candidates)."""
    if isinstance(value, Period):
        return {path: {"$gte": value.start, "$lt": value.end}}
    if isinstance(value, Wildcard):
        if value.folded:
            return {path: {"$regex": value.regex}}
        return {path: {"$regex": value.regex, "$options": "i"}}
    if isinstance(value, AnyOf):
        return {path: {"$in": list(value.candidates)}}
    return {path: value}


def _is_plain(value: Any) -> bool:
    return not isinstance(value, (Period, Wildcard))


def _flatten(items: Iterable[Any]) -> list:
    out = []
    for item in items:
        out.extend(item.candidates if isinstance(item, AnyOf) else [item])
    return out


@dataclass(frozen=True)
class Filter:
    """One checked filter: a field, an op and a typed value.

    Build it with :func:`parse_filter`. ``value`` is a scalar, a
    :class:`~acsq_mongo.query.values.Period`, a :class:`Wildcard`, or for
    ``in``/``notin`` a tuple of those.
    """

    field: FieldRef
    op: str
    value: Any
    text: str

    @property
    def param(self) -> str:
        """The parameter name, ``field`` or ``field__op``."""
        name = FILTER_NAMES.get(self.field.name, self.field.name)
        return name if self.op == "exact" else f"{name}__{self.op}"

    def key(self) -> tuple:
        """A hashable, canonical form, for caches."""
        return (self.field.name, self.op, repr(self.value))

    def to_mongo(self) -> dict:
        """Return the MongoDB filter document of this filter.

        A combined name (``filter``) is the same filter on each of its parts:
        ORed (any wheel matches), or ANDed for ``not``, ``notin`` and
        ``exists=false`` (no wheel matches). ``wavelength`` is a filter on the
        detector and the filters (:mod:`.wavelength`). ``rootname=`` and
        ``rootname__in=`` also match the other 9-character rootnames merged into
        an observation (its ``rootnames``: an association's sub-products, a
        retransmission).
        """
        if self.field.parts:
            clauses = [Filter(resolve(part), self.op, self.value, self.text).to_mongo()
                       for part in self.field.parts]
            negative = self.op in _NEGATIVE_OPS or (self.op == "exists" and not self.value)
            return {"$and" if negative else "$or": clauses}
        if self.field.type == "wavelength":
            return wavelength_filter(self.value)
        if self.field.name == "rootname" and self.op in ("exact", "in"):
            mine = self._to_mongo(self.field.path)
            return {"$or": [mine, self._to_mongo("rootnames")]}
        return self._to_mongo(self.field.path)

    def _to_mongo(self, path: str) -> dict:
        op, value = self.op, self.value
        if op == "exact":
            return _equal(path, value)
        if op == "not":
            if isinstance(value, AnyOf):
                return {path: {"$nin": list(value.candidates)}}
            if _is_plain(value):
                return {path: {"$ne": value}}
            return {"$nor": [_equal(path, value)]}
        if op == "in":
            if all(_is_plain(v) for v in value):
                return {path: {"$in": _flatten(value)}}
            plain = _flatten(v for v in value if _is_plain(v))
            clauses = [_equal(path, v) for v in value if not _is_plain(v)]
            if plain:
                clauses.append({path: {"$in": plain}})
            return {"$or": clauses}
        if op == "notin":
            if all(_is_plain(v) for v in value):
                return {path: {"$nin": _flatten(value)}}
            return {"$nor": [_equal(path, v) for v in value]}
        if op in _ORDER_OPS:
            if isinstance(value, Period):
                bound = {
                    "gt": ("$gte", value.end), "gte": ("$gte", value.start),
                    "lt": ("$lt", value.start), "lte": ("$lt", value.end),
                }[op]
                return {path: {bound[0]: bound[1]}}
            return {path: {"$" + op: value}}
        folded = self.field.name in CASE_FOLDED_FIELDS
        if op == "contains":
            if folded:
                return {path: {"$regex": regex_escape(value)}}
            return {path: {"$regex": regex_escape(value), "$options": "i"}}
        if op == "startswith":
            if folded:
                return {path: {"$regex": "^" + regex_escape(value)}}
            return {path: {"$regex": "^" + regex_escape(value), "$options": "i"}}
        if op == "regex":
            if folded:
                return {path: {"$regex": value, "$options": "i"}}
            return {path: {"$regex": value}}
        if op == "exists":
            if self.field.is_header:
                return {path: {"$exists": value}}
            return {path: {"$ne": None}} if value else {path: None}
        raise AssertionError(op)  # pragma: no cover - parse_filter allows only OPS

    def describe(self) -> str:
        """A short description for people: ``exptime ≥ 1000``, ``detector in WFC,HRC``."""
        return f"{self.field.name} {_OP_WORDS.get(self.op, self.op)} {self.text}"


def combine(filters: Iterable[Filter], extra: Iterable[dict] = ()) -> dict:
    """AND filters (and extra filter documents) into one MongoDB filter document."""
    clauses = [f.to_mongo() for f in filters] + [c for c in extra if c]
    if not clauses:
        return {}
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}


def split_name(name: str) -> tuple[FieldRef, str]:
    """Split ``field__op`` into the checked field and op (``exact`` if none).

    Raises
    ------
    QueryError
        For an unknown field, an unknown op, or an op the field's type lacks.
    """
    if not isinstance(name, str):
        raise QueryError(f"a filter name must be text, got {name!r}")
    field_name, sep, op = name.rpartition("__")
    if not sep:
        field_name, op = name, "exact"
    elif op not in OPS:
        # A header keyword may itself contain "__"; try the whole name as a field first.
        try:
            return _check_op(resolve_filter(name), "exact"), "exact"
        except QueryError:
            pass
        ref = resolve_filter(field_name)
        raise QueryError(
            f"unknown op {op!r} in {name!r}; valid ops for {ref.name}: "
            + ", ".join(OPS_BY_TYPE[ref.type])
        )
    ref = resolve_filter(field_name)
    return _check_op(ref, op), op


def _check_op(ref: FieldRef, op: str) -> FieldRef:
    allowed = OPS_BY_TYPE[ref.type]
    if op not in allowed:
        raise QueryError(
            f"op {op!r} does not apply to {ref.name} ({ref.type}); valid ops: " + ", ".join(allowed)
        )
    return ref


def parse_filter(name: str, value: Any) -> Filter:
    """Check one ``field__op=value`` pair and convert its value.

    Parameters
    ----------
    name : str
        ``detector``, ``exptime__gte``, ``headers.flt.0.CCDGAIN__gte``, ...
    value : str or scalar, or a list of them for ``in``/``notin``
        Text as typed in a URL or on the command line (``in``/``notin``
        split it on commas, and so do ``exact`` and ``not`` on a promoted
        field, which become ``in`` and ``notin``), or, from Python, a value
        of the field's type.

    Returns
    -------
    filter : Filter

    Raises
    ------
    QueryError
        For an unknown field or op, or a value that is not of the field's type.
    """
    ref, op = split_name(name)
    if (op in ("exact", "not") and not ref.is_header and isinstance(value, str)
            and "," in value and "in" in OPS_BY_TYPE[ref.type]):
        # detector=WFC,HRC: no promoted value holds a comma, so it can only mean a list.
        op = "in" if op == "exact" else "notin"
    text = _text_of(value)
    label = f"{ref.name}__{op}" if op != "exact" else ref.name
    if op in ("in", "notin"):
        items = _list_items(label, value)
        converted = tuple(convert(ref, op, label, item) for item in items)
        return Filter(ref, op, converted, text)
    if isinstance(value, (list, tuple, set, frozenset)):
        raise QueryError(f"{label} takes one value; use {ref.name}__in for a list")
    return Filter(ref, op, convert(ref, op, label, value), text)


def _text_of(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value)
    return str(value)


def _list_items(label: str, value: Any) -> list:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
        items = [item for item in items if item]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        items = [value]
    if not items:
        raise QueryError(f"{label} needs at least one value (comma-separated)")
    if len(items) > MAX_LIST_VALUES:
        raise QueryError(f"{label} lists {len(items)} values; at most {MAX_LIST_VALUES}")
    return items
