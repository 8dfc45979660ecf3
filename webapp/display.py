"""How values look on a page: Jinja filters and globals for the templates.

Values are written as the query core writes them
(:func:`~acsq_mongo.formats.render.text_value`), with a few kindnesses for people:
dates to the second in tables and to the minute with ``UTC`` in prose, counts
with thousands separators, header booleans as FITS writes them (``T``/``F``);
floats keep every digit. Every filter returns plain text, which the templates'
autoescaping escapes.
"""

from __future__ import annotations

import datetime
import re
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from markupsafe import Markup, escape

from acsq_mongo.fields import FIELDS
from acsq_mongo.formats.render import text_value

__all__ = [
    "register", "show", "fits_value", "seconds", "label", "count", "when", "header_rows",
    "hms", "dms", "path_breaks", "heading",
]

#: Short column headings for result tables (the full label is the heading's tooltip), so
#: that the standard columns fit a 1400-px-wide window.
HEADINGS = {
    "date_obs": "Date (UTC)", "exptime": "Exp. (s)", "ra_targ": "RA (°)", "dec_targ": "Dec (°)",
    "proposid": "Proposal", "pr_inv_l": "PI", "pr_inv_f": "PI first", "aperture": "Aperture",
    "proposal_type": "Prop. type", "expstart": "Start (MJD)",
}


def show(value: Any) -> str:
    """Return a field value as text for a table cell."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return text_value(value)


#: Fields whose null means "not on the sky" (an internal frame): shown as a dash.
_POSITION_FIELDS = frozenset({"ra_targ", "dec_targ"})


def cell(value: Any, name: str) -> str:
    """Return a field's value for a table cell: as :func:`show`, but a null position
    (an internal frame, which points nowhere on the sky) as ``—``."""
    if value is None and name in _POSITION_FIELDS:
        return "—"
    return show(value)


def fits_value(value: Any) -> str:
    """Return a header value as FITS writes it: booleans ``T``/``F``, numbers in full."""
    if isinstance(value, bool):
        return "T" if value else "F"
    return text_value(value)


def seconds(value: Any) -> str:
    """Return an exposure time without a needless ``.0`` (``400``, ``0.5``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text_value(value)


def label(name: str) -> str:
    """Return a column heading: the field's label and unit, or the name itself."""
    field = FIELDS.get(name)
    if field is None:
        return name
    return f"{field.label} ({field.unit})" if field.unit else field.label


def heading(name: str) -> str:
    """Return a short column heading for a result table (:data:`HEADINGS`, else the label)."""
    return HEADINGS.get(name) or label(name)


def count(n: Any) -> str:
    """Return a count with thousands separators (``12,345``)."""
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else text_value(n)


def when(value: Any) -> str:
    """Return a date (naive UTC) as ``2005-05-01 02:53 UTC``."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return text_value(value)


#: A keyword the query language can name (acsq_mongo.query.names): links only for those.
_QUERYABLE_KEY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*", re.ASCII)
# Longest text value a "query this value" link carries (the query core's cap is 200).
_LINK_TEXT_MAX = 200


def _card_links(card, path: str, query_url: str, trend_url: str) -> str:
    """The "query this value" and "trend this keyword" links of one card (HTML), or ""."""
    keyword = card.keyword or ""
    if card.type == "commentary" or len(keyword) > 72 or not _QUERYABLE_KEY.fullmatch(keyword):
        return ""   # (72: the longest keyword a query may name, query.names.MAX_KEY_LENGTH)
    links = []
    value = card.value
    if value is not None and not (isinstance(value, str) and len(value) > _LINK_TEXT_MAX):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        href = query_url + "?" + urlencode({path: text})
        links.append(f'<a href="{escape(href)}" title="Every rootname whose {escape(path)} is '
                     f'this value">query</a>')
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        href = trend_url + "?" + urlencode({"y": path})
        links.append(f'<a href="{escape(href)}" title="{escape(path)} over time, every '
                     'rootname">trend</a>')
    return f' <span class="kw-links">{" ".join(links)}</span>' if links else ""


def header_rows(cards, filetype: str = "", ext: str = "", query_url: str = "",
                trend_url: str = "") -> Markup:
    """Return the ``<tr>`` rows of a header table: keyword, value, comment, type, escaped.

    With ``query_url`` and ``trend_url`` (the ``/query`` and ``/trend`` pages), each
    keyword links to "query this value" (``headers.<filetype>.<ext>.<KEY>=<value>``)
    and, for a number, "trend this keyword" (``/trend?y=headers....``).

    Written in Python rather than as a template loop: a WFC rootname with every
    filetype has ~5,000 keywords, and this is ~5x faster than Jinja's loop.
    """
    rows = []
    for card in cards:
        if card.type == "commentary":
            value = "\n".join(text_value(line) for line in card.value)
            value_class = "value text"
        else:
            value = fits_value(card.value)
            value_class = "value"
        links = (_card_links(card, f"headers.{filetype}.{ext}.{card.keyword}", query_url,
                             trend_url) if query_url else "")
        rows.append(f'<tr><td class="kw">{escape(card.keyword or "(blank)")}{links}</td>'
                    f'<td class="{value_class}">{escape(value)}</td>'
                    f'<td class="comment">{escape(card.comment)}</td>'
                    f'<td class="type">{escape(card.type)}</td></tr>')
    return Markup("\n".join(rows))


def hms(degrees: Any) -> str:
    """Return a right ascension in degrees as sexagesimal hours, ``00h24m05.66s``."""
    if not isinstance(degrees, (int, float)) or isinstance(degrees, bool):
        return ""
    from astropy.coordinates import Angle

    return Angle(degrees % 360.0, unit="deg").to_string(unit="hour", precision=2, pad=True)


def dms(degrees: Any) -> str:
    """Return a declination in degrees as sexagesimal degrees, ``-72d04m52.7s``."""
    if not isinstance(degrees, (int, float)) or isinstance(degrees, bool):
        return ""
    from astropy.coordinates import Angle

    return Angle(degrees, unit="deg").to_string(unit="deg", precision=1, alwayssign=True,
                                                pad=True)


def path_breaks(path: Any) -> Markup:
    """Return a path that may wrap only after a ``/``, never inside a file name."""
    parts = text_value(path).split("/")
    return Markup("/<wbr>").join(escape(p) for p in parts)


def register(app: Flask) -> None:
    """Add the filters to an app's Jinja environment."""
    app.jinja_env.filters.update(show=show, cell=cell, fits=fits_value, seconds=seconds,
                                  label=label, count=count, when=when, header_rows=header_rows,
                                  hms=hms, dms=dms, path_breaks=path_breaks, heading=heading)
