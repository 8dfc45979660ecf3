"""Regular expressions that can take exponential time, refused before they reach the server.

MongoDB matches ``$regex`` with PCRE, which backtracks: a group that repeats
and itself holds a repetition (``^(\\w*\\s?)*$``, ``^([\\w ]+\\s?)*$``) can try
every way of splitting a long value that does not match, and a backreference
(``(a+)\\1``) defeats any linear-time engine. The server checks its time limit
between documents, not inside one match, so such a pattern can hold a server
thread past any budget. :func:`regex_risk` finds both by reading the pattern
(never by running it): a repetition (``*``, ``+``, ``{n,}``, ``{n,m}`` with
``m`` > 1) of a group that holds an unbounded repetition (``*``, ``+``,
``{n,}``), and any backreference or recursion. Everything else runs under the
time budget (:mod:`acsq_mongo.db.budget`).
"""

from __future__ import annotations

import re

__all__ = ["regex_risk"]

_COUNTED = re.compile(r"\{(\d*)(,?)(\d*)\}")
_BACKREF_ESCAPE = re.compile(r"\\([1-9]|[gk][<{'\d-])")
_BACKREF_GROUP = re.compile(r"\(\?(P=|P>|&|R\)|[+-]?\d)")
_GROUP_PREFIX = re.compile(r"\(\?(?:P?<[A-Za-z_]\w*>|'[A-Za-z_]\w*'|<[=!]|[:=!>|]|[a-zA-Z-]*[:)])")


def _quantifier(pattern: str, i: int) -> tuple[int, bool, bool] | None:
    """The quantifier at ``i``: ``(length, repeats, unbounded)``, or None."""
    char = pattern[i]
    if char in "*+":
        return 1, True, True
    if char == "?":
        return 1, False, False
    match = _COUNTED.match(pattern, i) if char == "{" else None
    if match is None or not (match.group(1) or match.group(3)):
        return None
    low, comma, high = match.groups()
    if not comma:
        return match.end() - i, int(low) > 1, False
    unbounded = not high
    return match.end() - i, unbounded or int(high) > 1, unbounded


def regex_risk(pattern: str) -> str | None:
    """Why ``pattern`` may take exponential time, or None if it is safe to send.

    Parameters
    ----------
    pattern : str
        A regular expression (PCRE syntax, which Python's ``re`` also reads).

    Returns
    -------
    reason : str or None
        ``"a backreference"`` or ``"a repeated group that repeats inside"``.
    """
    # Each open group: whether it holds an unbounded repetition.
    holds = [False]
    closed: bool | None = None  # the group that just closed: whether it held one
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            if _BACKREF_ESCAPE.match(pattern, i):
                return "a backreference"
            i, closed = i + 2, None
            continue
        if char == "[":
            j = i + 1 + (pattern[i + 1:i + 2] == "^")
            j += pattern[j:j + 1] == "]"  # a ] first in a class is itself
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i, closed = j + 1, None
            continue
        if char == "(":
            if _BACKREF_GROUP.match(pattern, i):
                return "a backreference"
            prefix = _GROUP_PREFIX.match(pattern, i)
            if prefix is not None and prefix.group().endswith(")"):
                i, closed = prefix.end(), None  # (?i): flags only, no group
                continue
            holds.append(False)
            i, closed = (prefix.end() if prefix else i + 1), None
            continue
        if char == ")" and len(holds) > 1:
            closed = holds.pop()
            holds[-1] = holds[-1] or closed
            i += 1
            continue
        quantifier = _quantifier(pattern, i)
        if quantifier is None:
            i, closed = i + 1, None
            continue
        length, repeats, unbounded = quantifier
        if closed and repeats:
            return "a repeated group that repeats inside"
        holds[-1] = holds[-1] or unbounded
        i += length
        i += i < n and pattern[i] in "?+"  # lazy or possessive
        closed = None
    return None
