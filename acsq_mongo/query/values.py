"""Converting what an analyst typed into the typed values of the store.

Every value that reaches MongoDB goes through here and comes out as a plain
scalar of the field's type (``str``, ``int``, ``float``, ``bool``,
``datetime``), never a mapping, so no operator can be smuggled in through a
value. Numbers are bounded: a whole number fits BSON's 64-bit integer
(:data:`INT64_MIN` to :data:`INT64_MAX`), a real number is finite, a date is
from year 1 to 9999; anything else is the usual one-line error.

Dates name a period, to the precision written: ``2005`` is that year,
``2005-03`` that month, ``2005-03-01`` that day, ``2005-03-01T14`` that hour,
and so on down to the millisecond. Filters then read as an analyst expects
(see :mod:`acsq_mongo.query.filters`): ``date_obs=2005-03-01`` is any time
that day, ``date_obs__lte=2005-03-01`` includes that day,
``date_obs__gt=2005-03-01`` starts the day after.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from typing import Any

from acsq_mongo.query.errors import QueryError

__all__ = [
    "MAX_TEXT_LENGTH",
    "INT64_MIN",
    "INT64_MAX",
    "Period",
    "to_text",
    "to_int",
    "to_float",
    "to_bool",
    "to_period",
    "parse_number",
    "parse_bool",
]

#: Longest text value accepted (a target name, a regex, ...).
MAX_TEXT_LENGTH = 200
#: The range of a whole number (BSON's int64).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?P<month>[0-9]{1,2})"
    r"(?:-(?P<day>[0-9]{1,2})"
    r"(?:[T ](?P<hour>[0-9]{1,2})"
    r"(?::(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?)?)?)?)?"
    r"Z?"
)


@dataclass(frozen=True)
class Period:
    """A span of time ``[start, end)``, naive UTC, as a date to some precision names."""

    start: datetime.datetime
    end: datetime.datetime


def _where(name: str) -> str:
    return f"{name} takes"


def to_text(name: str, value: Any) -> str:
    """Return ``value`` as text, checked for length."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise QueryError(f"{_where(name)} text, got {_describe(value)}")
    text = str(value)
    if len(text) > MAX_TEXT_LENGTH:
        raise QueryError(f"{name}: value is {len(text)} characters; at most {MAX_TEXT_LENGTH}")
    return text


def parse_number(text: str) -> int | float | None:
    """Return the int or float that ``text`` spells, or None if it is not a finite number.

    A whole number beyond 64 bits is read as a float (BSON holds no larger
    integer); text longer than :data:`MAX_TEXT_LENGTH` is not a number.
    """
    text = text.strip()
    if len(text) > MAX_TEXT_LENGTH:
        return None
    if _INT.fullmatch(text):
        number = int(text)
        if INT64_MIN <= number <= INT64_MAX:
            return number
        big = float(number)
        return big if math.isfinite(big) else None
    if _FLOAT.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def parse_bool(text: str) -> bool | None:
    """Return the bool that ``text`` spells (true/false, 1/0, yes/no, T/F), or None."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def to_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, e.g. a proposal ID."""
    if isinstance(value, bool):
        raise QueryError(f"{_where(name)} a whole number, got {_describe(value)}")
    number: Any = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        parsed = parse_number(value)
        if isinstance(parsed, (int, float)) and float(parsed).is_integer():
            number = int(parsed)
    if number is None:
        raise QueryError(f"{_where(name)} a whole number, got {_describe(value)}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise QueryError(f"{name}: {_describe(value)} is out of range (a 64-bit whole number)")
    return number


def to_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite float (degrees, seconds, MJD, ...)."""
    if isinstance(value, bool):
        raise QueryError(f"{_where(name)} a number, got {_describe(value)}")
    if isinstance(value, (int, float)) and _finite(value):
        return float(value)
    if isinstance(value, str):
        number = parse_number(value)
        if number is not None:
            return float(number)
    raise QueryError(f"{_where(name)} a number, got {_describe(value)}")


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def to_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool: true/false, 1/0, yes/no, T/F."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        flag = parse_bool(value)
        if flag is not None:
            return flag
    raise QueryError(f"{_where(name)} true or false (also 1/0, yes/no), got {_describe(value)}")


def to_period(name: str, value: Any) -> Period:
    """Return the period a date names, to the precision it is written.

    Parameters
    ----------
    name : str
        Field name, for messages.
    value : str, datetime.datetime or datetime.date
        ``2005``, ``2005-03``, ``2005-03-01``, ``2005-03-01T14:05``,
        ``2005-03-01 14:05:33.250``, ... (UTC; a trailing ``Z`` is allowed).
        A ``datetime`` is an instant (a millisecond, the store's precision);
        a ``date`` is that day.

    Returns
    -------
    period : Period
    """
    if isinstance(value, datetime.datetime):
        start = _naive_utc(value)
        start = start.replace(microsecond=start.microsecond // 1000 * 1000)
        return Period(start, start + datetime.timedelta(milliseconds=1))
    if isinstance(value, datetime.date):
        start = datetime.datetime(value.year, value.month, value.day)
        return Period(start, start + datetime.timedelta(days=1))
    hint = "a date such as 2005-03-01 or 2005-03-01T14:05:00 (UTC), or a year or year-month"
    if not isinstance(value, str):
        raise QueryError(f"{_where(name)} {hint}, got {_describe(value)}")
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise QueryError(f"{_where(name)} {hint}, got {_describe(value)}")
    parts = match.groupdict()
    try:
        return _period(parts)
    except ValueError as exc:
        raise QueryError(f"{name}: {value!r} is not a valid date ({exc})") from None


def _period(parts: dict[str, str | None]) -> Period:
    year = int(parts["year"])
    if parts["month"] is None:
        return Period(datetime.datetime(year, 1, 1), datetime.datetime(year + 1, 1, 1))
    month = int(parts["month"])
    if parts["day"] is None:
        start = datetime.datetime(year, month, 1)
        end = datetime.datetime(year + month // 12, month % 12 + 1, 1)
        return Period(start, end)
    day = datetime.datetime(year, month, int(parts["day"]))
    if parts["hour"] is None:
        return Period(day, day + datetime.timedelta(days=1))
    hour = int(parts["hour"])
    if parts["minute"] is None:
        start = day.replace(hour=hour)
        return Period(start, start + datetime.timedelta(hours=1))
    minute = int(parts["minute"])
    if parts["second"] is None:
        start = day.replace(hour=hour, minute=minute)
        return Period(start, start + datetime.timedelta(minutes=1))
    start = day.replace(hour=hour, minute=minute, second=int(parts["second"]))
    if parts["fraction"] is None:
        return Period(start, start + datetime.timedelta(seconds=1))
    millis = int((parts["fraction"] + "000")[:3])
    start = start.replace(microsecond=millis * 1000)
    return Period(start, start + datetime.timedelta(milliseconds=1))


def _naive_utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "...")
    return f"{type(value).__name__} {str(value)[:60]!r}"
