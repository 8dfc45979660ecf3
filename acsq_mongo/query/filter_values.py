"""A filter's values: what was typed, converted for the op and the field.

:func:`convert` turns one typed value into what the filter document holds: a
plain scalar of the field's type, a :class:`Wildcard` (``NGC*``), or for a
header keyword whose stored type varies, :class:`AnyOf` its readings. Text of
the case-folded fields is upper-cased here
(:data:`~acsq_mongo.fields.CASE_FOLDED_FIELDS`). Used by
:mod:`acsq_mongo.query.filters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from acsq_mongo.fields import ANOMALY_SLUG, CASE_FOLDED_FIELDS, FILETYPES, anomaly_slug
from acsq_mongo.query import values
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.keyword_types import keyword_types
from acsq_mongo.query.names import FieldRef
from acsq_mongo.query.regex_risk import regex_risk
from acsq_mongo.query.values import MAX_TEXT_LENGTH
from acsq_mongo.query.wavelength import parse_wavelength

__all__ = ["regex_escape", "Wildcard", "AnyOf", "convert", "TEXT_OPS", "ORDER_OPS",
           "EQUALITY_OPS"]

TEXT_OPS = ("contains", "startswith", "regex")
ORDER_OPS = ("gt", "gte", "lt", "lte")
EQUALITY_OPS = ("exact", "not", "in", "notin")

_REGEX_SPECIAL = frozenset("\\.^$|?*+()[]{}")


def regex_escape(text: str) -> str:
    """Escape ``text`` for a regex that PCRE (MongoDB), Rust (SecantusDB) and Python all read.

    Only regex metacharacters are escaped (``re.escape`` also escapes spaces
    and ``#``, which Go's regexp refuses).
    """
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


@dataclass(frozen=True)
class Wildcard:
    """A text pattern with ``*`` wildcards, matched whole.

    Case-insensitively (a regex option), unless ``folded``: then the pattern
    is already upper case like the stored values, and the anchored,
    case-sensitive regex can use the field's index.
    """

    pattern: str
    folded: bool = False

    @property
    def regex(self) -> str:
        """The anchored regex for the pattern."""
        return "^" + ".*".join(regex_escape(part) for part in self.pattern.split("*")) + "$"


@dataclass(frozen=True)
class AnyOf:
    """A header value that may be stored as more than one type (``2`` or ``"2"``)."""

    candidates: tuple


def convert(ref: FieldRef, op: str, label: str, value: Any) -> Any:
    """Convert one value for ``ref`` and ``op``."""
    if isinstance(value, (dict, list, tuple, set, frozenset)) or value is None:
        raise QueryError(f"{label} takes a single value, got {type(value).__name__}")
    if op == "exists":
        return values.to_bool(label, value)
    if ref.type == "wavelength":
        return parse_wavelength(value, label)
    folded = ref.name in CASE_FOLDED_FIELDS
    if op in TEXT_OPS:
        text = values.to_text(label, value)
        if op == "regex":
            _check_regex(label, text)
            return text
        return text.upper() if folded else text
    kind = ref.type
    if kind == "header":
        return _header_value(ref, op, label, value)
    if kind == "int":
        return values.to_int(label, value)
    if kind == "float":
        return values.to_float(label, value)
    if kind == "bool":
        return values.to_bool(label, value)
    if kind == "datetime":
        return values.to_period(label, value)
    text = values.to_text(label, value)
    if ref.name == "filetypes":
        if text.lower() not in FILETYPES:
            raise QueryError(
                f"{label}: unknown filetype {text!r}; valid filetypes: " + ", ".join(FILETYPES)
            )
        return text.lower()
    if ref.name in ("anomalies", "proposed"):
        slug = anomaly_slug(text) if ANOMALY_SLUG.fullmatch(text) is None else text
        if not slug or len(slug) > 64:
            raise QueryError(f"{label}: {text[:40]!r} is not an anomaly flag; write its name "
                             "as in the facets, e.g. satellite_trail")
        return slug
    if ref.name == "rootname":
        text, folded = text.lower(), True  # stored lower case
    elif folded:
        text = text.upper()
    if "*" in text and op in EQUALITY_OPS:
        return Wildcard(text, folded=folded)
    return text


def _check_regex(label: str, text: str) -> None:
    try:
        re.compile(text)
    except re.error as exc:
        raise QueryError(f"{label}: not a valid regular expression ({exc})") from None
    if len(text) > MAX_TEXT_LENGTH:  # pragma: no cover - to_text already caps it
        raise QueryError(f"{label}: regular expression too long")
    risk = regex_risk(text)
    if risk is not None:
        raise QueryError(
            f"{label}: the pattern {text} has {risk}, which can take the server exponential "
            "time on a long value, so it is refused; write it without (for a repeated group "
            "of repetitions, one character class: ^[\\w\\s]*$ rather than ^(\\w*\\s?)*$)")


def _header_value(ref: FieldRef, op: str, label: str, value: Any) -> Any:
    """Convert a header keyword's value using the keyword inventory.

    A keyword whose inventory types are all numbers takes a number; all
    ``Bool``, a bool (T/F, true/false, ...). Where the inventory is mixed
    (``Integer`` in some files, ``String`` in others) or the keyword is not in
    it, an equality matches every reading of the text (``2`` matches the
    number 2 and the text "2"), and an ordering compares numbers when the text
    is one.
    """
    assert ref.filetype is not None and ref.ext is not None and ref.key is not None
    kinds = keyword_types(ref.filetype, ref.ext, ref.key)
    if not isinstance(value, str):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return values.to_int(label, value)
        if isinstance(value, float):
            return values.to_float(label, value)
        raise QueryError(f"{label} takes text, a number or a bool, got {type(value).__name__}")
    text = values.to_text(label, value)
    number = values.parse_number(text)
    flag = values.parse_bool(text) if text.strip().lower() in ("t", "f", "true", "false") else None
    numeric = bool(kinds & {"Integer", "Float"})
    if kinds and kinds <= {"Integer", "Float"}:
        if number is None:
            raise QueryError(f"{label} takes a number ({ref.name} is numeric), got {text!r}")
        return float(number) if kinds == {"Float"} else number
    if kinds == {"Bool"}:
        flag = values.parse_bool(text)
        if flag is None:
            raise QueryError(f"{label} takes T or F ({ref.name} is a bool), got {text!r}")
        return flag
    if op in ORDER_OPS:
        return number if number is not None and (numeric or not kinds) else text
    if "*" in text:
        return Wildcard(text)
    candidates: list = []
    if number is not None and (numeric or not kinds):
        candidates.append(number)
    if flag is not None and ("Bool" in kinds or not kinds):
        candidates.append(flag)
    candidates.append(text)
    return candidates[0] if len(candidates) == 1 else AnyOf(tuple(candidates))
