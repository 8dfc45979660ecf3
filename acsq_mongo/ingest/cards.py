"""Header cards to typed values: the card parser of :mod:`acsq_mongo.ingest.headers`.

Standard cards (the vast majority: ``KEY = value / comment`` with a plain
string, number, logical or no value) are parsed by a few regular expressions;
every other card (record-valued keywords, ``CONTINUE`` long strings,
``HIERARCH``, complex values, invalid cards) goes to
:class:`astropy.io.fits.Card`, with its warnings captured. See
:mod:`acsq_mongo.ingest.headers` for the leniency rules.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

from acsq_mongo.db.keys import escape_key

__all__ = ["COMMENTARY_KEYWORDS", "NULL_KINDS", "parse_cards"]

#: Keywords whose cards are commentary: stored as lists of strings.
COMMENTARY_KEYWORDS = ("COMMENT", "HISTORY", "")

#: What a null value was, as recorded in ``header_nulls``.
NULL_KINDS = ("undefined", "nan", "inf", "-inf")

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# A standard card: an upper-case keyword (letters, digits, '-', '_') padded to
# 8 columns, '= ', then a plain string, integer, real, logical or nothing, and
# an optional comment. One regular expression, one match per card.
_STANDARD_RE = re.compile(
    r"(?P<key>[A-Z0-9_-]{1,8}) {0,7}= *"
    r"(?:'(?P<str>(?:[^']|'')*)'"
    r"|(?P<int>[+-]?[0-9]+)"
    r"|(?P<float>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[EeDd][+-]?[0-9]+)?)"
    r"|(?P<bool>[TF])"
    r"|) *(?:/ ?(?P<comment>.*))?\Z",
    re.S,
)
_RAW_NULLS = {
    "nan": "nan", "+nan": "nan", "-nan": "nan",
    "inf": "inf", "+inf": "inf", "infinity": "inf", "+infinity": "inf",
    "-inf": "-inf", "-infinity": "-inf",
}


class _Undefined:
    """Marker of an undefined value before it becomes None."""


_UNDEFINED = _Undefined()


def _null_kind(value: Any) -> str | None:
    if value is _UNDEFINED:
        return "undefined"
    if type(value) is float and (value != value or value in (math.inf, -math.inf)):
        if value != value:
            return "nan"
        return "inf" if value > 0 else "-inf"
    return None


def _parse_standard(card: str) -> tuple[str, Any, str] | None:
    """Parse a standard ``KEY = value / comment`` card; None if astropy must handle it."""
    if card[8:10] != "= ":
        return None
    m = _STANDARD_RE.match(card)
    if m is None:
        return None
    parsed = _standard_value(m)
    if parsed is None:
        return None
    return (*parsed, (m.group("comment") or "").rstrip())


def _standard_value(m: re.Match) -> tuple[str, Any] | None:
    kind = next((k for k in ("str", "int", "float", "bool") if m.group(k) is not None), None)
    if kind == "str":
        text = m.group("str")
        # Possible record-valued keyword ('EXTVER: 1') or CONTINUE'd string:
        # leave those to astropy.
        if ": " in text or text.rstrip().endswith("&"):
            return None
        return m.group("key"), text.replace("''", "'").rstrip(" ")
    if kind == "int":
        return m.group("key"), int(m.group("int"))
    if kind == "float":
        return m.group("key"), float(m.group("float").replace("D", "E").replace("d", "e"))
    if kind == "bool":
        return m.group("key"), m.group("bool") == "T"
    return m.group("key"), _UNDEFINED


def _parse_with_astropy(image: str, problems: list[str], where: str) -> tuple[str, Any, str]:
    """Parse one card (or a card and its CONTINUE cards) with astropy, leniently.

    Returns the keyword, the value and the comment (``""`` if none or unreadable).
    """
    from astropy.io.fits import Card
    from astropy.io.fits.card import Undefined
    from astropy.io.fits.verify import VerifyError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        card = Card.fromstring(image)
        keyword = card.keyword
        try:
            value = card.value
        except (VerifyError, ValueError):
            value = None
        try:
            comment = str(card.comment or "").rstrip()
        except (VerifyError, ValueError):
            comment = ""
        else:
            if isinstance(value, Undefined):
                value = _UNDEFINED
    if value is None:
        # Unparsable: keep the raw text, or recognise a raw NaN/Inf.
        raw = image[10:80] if image[8:10] == "= " else image[8:80]
        raw = raw.split("/", 1)[0].strip() if not raw.lstrip().startswith("'") else raw.strip()
        kind = _RAW_NULLS.get(raw.lower())
        if kind == "nan":
            value = math.nan
        elif kind == "inf":
            value = math.inf
        elif kind == "-inf":
            value = -math.inf
        else:
            value = raw
            problems.append(f"{where}: invalid value of {keyword!r}, kept as text {raw!r}")
    elif caught and keyword not in COMMENTARY_KEYWORDS:
        messages = {str(w.message).splitlines()[0] for w in caught}
        problems.append(f"{where}: card {keyword!r}: {'; '.join(sorted(messages))}")
    if isinstance(value, complex):
        value = str(value)
    return keyword, value, comment


def parse_cards(
    cards: list[str], where: str = "header", comments: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Turn the cards of one header into typed values.

    Parameters
    ----------
    cards : list of str
        The 80-character cards, without the ``END`` card.
    where : str
        How to name this header in problem reports, e.g. ``"HDU 1"``.
    comments : dict, optional
        Filled with ``{escaped KEY: comment}`` for every valued card that has a
        comment (the text after ``/``, trailing blanks removed); the first
        card's, for a repeated keyword.

    Returns
    -------
    values : dict
        ``{escaped KEY: value}`` in card order; commentary keywords map to
        lists of strings.
    nulls : dict
        ``{escaped KEY: kind}`` for every value that became None.
    problems : list of str
        What was read leniently.
    """
    values: dict[str, Any] = {}
    nulls: dict[str, str] = {}
    problems: list[str] = []
    commentary: dict[str, list[str]] = {}
    i, n = 0, len(cards)
    while i < n:
        card = cards[i]
        i += 1
        head = card[:8].rstrip()
        if head in COMMENTARY_KEYWORDS:
            text = card[8:].rstrip()
            if head or text:
                commentary.setdefault(head, []).append(text)
                if head not in values:
                    values[head] = None  # placeholder: keeps the card order
            continue
        parsed = _parse_standard(card)
        if parsed is None:
            image = card
            if card[8:10] == "= ":
                # Gather a long string's CONTINUE cards.
                while i < n and cards[i][:8] == "CONTINUE":
                    image += cards[i]
                    i += 1
            parsed = _parse_with_astropy(image, problems, where)
        keyword, value, comment = parsed
        if keyword in values:
            if keyword in COMMENTARY_KEYWORDS:
                # An odd card astropy read as commentary (e.g. a stray CONTINUE).
                commentary.setdefault(keyword, []).append(str(value))
            else:
                problems.append(f"{where}: duplicate keyword {keyword!r}; first value kept")
            continue
        kind = _null_kind(value)
        if kind is not None:
            nulls[escape_key(keyword)] = kind
            value = None
        elif type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
            problems.append(f"{where}: {keyword!r} = {value} is beyond 64 bits; kept as text")
            value = str(value)
        values[keyword] = value
        if comment and comments is not None:
            comments[escape_key(keyword)] = comment
    out = {}
    for keyword, value in values.items():
        if keyword in commentary:
            value = commentary[keyword]
        out[escape_key(keyword)] = value
    return out, nulls, problems
