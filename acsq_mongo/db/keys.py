"""Keys MongoDB can't hold: FITS keywords to document keys and back.

The ingest stage escapes every keyword it stores (:mod:`acsq_mongo.ingest.headers`);
the query core escapes the keywords a query names and unescapes the keys it shows.
:func:`escape_key` and :func:`unescape_key` map keywords to document keys
reversibly: ``%`` -> ``%25``, ``.`` -> ``%2E``, a leading ``$`` -> ``%24``,
NUL -> ``%00``, and the empty (blank) keyword -> ``%``.
"""

from __future__ import annotations

import re

__all__ = ["escape_key", "unescape_key"]

_ESCAPES = {"%": "%25", ".": "%2E", "\x00": "%00"}
_ESCAPE_RE = re.compile(r"[%.\x00]")
_UNESCAPE_RE = re.compile(r"%(25|2E|24|00)")
_UNESCAPES = {"25": "%", "2E": ".", "24": "$", "00": "\x00"}


_ESCAPED: dict[str, str] = {}


def escape_key(keyword: str) -> str:
    """Return the document key of a FITS keyword.

    MongoDB field names cannot contain ``.`` or NUL, cannot start with ``$``
    and should not be empty. The mapping is reversible by :func:`unescape_key`:

    ================================  ==============
    in the FITS header                in the document
    ================================  ==============
    ``%``                             ``%25``
    ``.`` (e.g. ``D2IM1.EXTVER``)     ``%2E``
    a leading ``$``                   ``%24``
    NUL                               ``%00``
    the empty (blank) keyword         ``%``
    ================================  ==============

    Parameters
    ----------
    keyword : str
        The keyword as astropy names it (record-valued keywords with their
        field specifier, ``HIERARCH`` keywords without the prefix).

    Returns
    -------
    key : str
    """
    key = _ESCAPED.get(keyword)
    if key is not None:
        return key
    if keyword == "":
        return "%"
    key = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], keyword)
    if key.startswith("$"):
        key = "%24" + key[1:]
    if len(_ESCAPED) < 100_000:  # keywords repeat from file to file
        _ESCAPED[keyword] = key
    return key


def unescape_key(key: str) -> str:
    """Return the FITS keyword of a document key (the inverse of :func:`escape_key`)."""
    if key == "%":
        return ""
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES[m.group(1)], key)
