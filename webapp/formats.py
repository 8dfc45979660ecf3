"""One list, many answers: HTML, JSON and CSV, in the way of Datasette's renderers.

A list page is served at its own URL (``/query``, ``/archive/``) and with a
suffix (``/query.json``, ``/archive.csv``), or with ``?format=json|csv``;
the suffix wins. JSON is one page (with the count and paging), CSV streams
every row. Query results also come as a VOTable (``.vot``) and as ECSV
(``.ecsv``), every row typed with units (:mod:`acsq_mongo.formats.votable`).
The writing itself is the query core's (:mod:`acsq_mongo.formats.render`):
the same value formatting, and CSV cells neutralised against spreadsheet
formulas.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, url_for

from acsq_mongo.formats.render import csv_lines, json_default, to_jsonable
from acsq_mongo.query.errors import QueryError

__all__ = [
    "LIST_FORMATS",
    "SUFFIX",
    "suffix_rule",
    "requested_format",
    "wants_json",
    "wants_csv",
    "wants_votable",
    "TABLE_SUFFIXES",
    "json_response",
    "csv_response",
    "format_urls",
    "page_url",
]

#: The answers every list page gives.
LIST_FORMATS: tuple[str, ...] = ("html", "json", "csv")
#: The URL converter of a format suffix, for ``@bp.route("/x.<SUFFIX>")``.
SUFFIX = "fmt"
#: The suffixes of the typed-table answers -> their ``format`` name.
TABLE_SUFFIXES: dict[str, str] = {"vot": "votable", "ecsv": "ecsv"}


def suffix_rule(path: str, formats: Sequence[str] = ("json", "csv")) -> str:
    """Return ``path`` with a format suffix rule: ``/archive`` -> ``/archive.<any(json,csv)>``."""
    return path.rstrip("/") + f".<any({','.join(formats)}):{SUFFIX}>"


def requested_format(fmt: str | None = None, allowed: Sequence[str] = LIST_FORMATS) -> str:
    """Return the format a request asks for: the URL suffix, else ``?format=``, else html.

    Raises
    ------
    QueryError
        If ``format`` names something not in ``allowed``; the message lists them.
    """
    if fmt:
        return fmt
    asked = (request.args.get("format") or "").strip().lower()
    if not asked:
        return "html"
    if asked == "table":  # the CLI's name for the HTML table
        asked = "html"
    if asked not in allowed:
        raise QueryError(f"unknown format {asked[:20]!r}; valid formats: " + ", ".join(allowed))
    return asked


def wants_json() -> bool:
    """Whether this request asked for JSON (so an error should be JSON too)."""
    view_args = request.view_args or {}
    return view_args.get(SUFFIX) == "json" or request.args.get("format", "").lower() == "json"


def wants_csv() -> bool:
    """Whether this request asked for CSV, ECSV or a download script (so an error is plain
    text, not a page: a script saved from it must not be HTML)."""
    view_args = request.view_args or {}
    return (view_args.get(SUFFIX) in ("csv", "ecsv") or request.endpoint == "query.script"
            or request.args.get("format", "").lower() in ("csv", "ecsv", "curl"))


def wants_votable() -> bool:
    """Whether this request asked for a VOTable (so an error should be a VOTable too)."""
    view_args = request.view_args or {}
    return (view_args.get(SUFFIX) == "vot"
            or request.args.get("format", "").lower() in ("vot", "votable"))


def json_response(data: Any, status: int = 200) -> Response:
    """Return ``data`` as JSON (datetimes in ISO 8601, UTC)."""
    text = json.dumps(to_jsonable(data), default=json_default, ensure_ascii=False)
    return Response(text + "\n", status=status, mimetype="application/json")


def csv_response(columns: Sequence[str], rows: Iterable[Mapping[str, Any]],
                 filename: str) -> Response:
    """Return a streamed CSV download (RFC 4180, formula-looking cells neutralised).

    The first row is read before the response starts, so that a query the
    database refuses is still an error with its status (not a cut-off download).
    """
    safe = "".join(c for c in filename if c.isalnum() or c in "._-") or "acsq.csv"
    rows = iter(rows)
    first = next(rows, None)
    if first is not None:
        rows = itertools.chain([first], rows)
    return Response(
        csv_lines(list(columns), rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def _query_string(drop: Iterable[str] = (), replace: Mapping[str, Any] | None = None) -> str:
    # Built by hand, not through url_for(**args): a parameter named like one of
    # url_for's own (_external, _anchor, endpoint) must stay a plain parameter.
    replace = dict(replace or {})
    dropped = set(drop) | set(replace)
    pairs = [(n, v) for n, v in request.args.items(multi=True) if n not in dropped]
    pairs += [(n, str(v)) for n, v in replace.items() if v is not None]
    return ("?" + urlencode(pairs)) if pairs else ""


def format_urls(formats: Sequence[str] = ("json", "csv")) -> dict[str, str]:
    """Return the URLs of this list page in other formats (``.json``, ``.csv``).

    The JSON link keeps the page (``offset``); CSV, VOTable and ECSV are every
    row, so they drop ``offset`` and ``limit``.
    """
    view_args = {k: v for k, v in (request.view_args or {}).items() if k != SUFFIX}
    urls = {}
    for fmt in formats:
        drop = ("format",) if fmt == "json" else ("format", "offset", "limit")
        urls[fmt] = url_for(request.endpoint, **view_args, **{SUFFIX: fmt}) + _query_string(drop)
    return urls


def page_url(**replace: Any) -> str:
    """Return this page's URL with some parameters replaced (None removes one)."""
    return url_for(request.endpoint, **(request.view_args or {})) + _query_string(
        drop=[k for k, v in replace.items() if v is None],
        replace={k: v for k, v in replace.items() if v is not None},
    )
