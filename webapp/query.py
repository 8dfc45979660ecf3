"""``/query``: the query form, and its results as an HTML table, thumbnails, CSV, JSON,
VOTable, ECSV or a download script (``/query.curl``, :mod:`acsq_mongo.formats.downloads`).

The form uses GET, so every result has a URL that can be bookmarked and
shared. Results come one page at a time, with the total count and the facet
counts beside them (each facet value a link that narrows the query). The page
also takes the query core's parameters directly
(``/query?detector=HRC&exptime__gte=1000&format=json``, or ``/query.json?...``).
A bad value shows the form again with the core's message.
"""

from __future__ import annotations

import itertools
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from acsq_mongo.browse.summary import archive_values
from acsq_mongo.formats.downloads import download_url, script_lines
from acsq_mongo.formats.render import result_dict
from acsq_mongo.formats.table import query_table
from acsq_mongo.formats.votable import ECSV_MIME, VOTABLE_MIME, ecsv_text, votable_bytes
from acsq_mongo.query import core
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.facets import FACET_FIELDS
from acsq_mongo.query.names import resolve
from acsq_mongo.query.spec import QuerySpec
from webapp.formats import (
    TABLE_SUFFIXES,
    csv_response,
    format_urls,
    json_response,
    suffix_rule,
)
from webapp.query_form import FORM_ONLY, WEB_FORMATS, QueryForm, query_pairs
from webapp.state import state

__all__ = ["bp", "LINK_COLUMNS", "SCRIPT_FILETYPES", "command_line", "script_urls"]

bp = Blueprint("query", __name__)

#: Columns the HTML answers always fetch (for links, thumbnails and the flags marked beside a
#: rootname), shown only if asked for.
LINK_COLUMNS = ("rootname", "proposid", "anomalies")
_THUMBNAIL_COLUMNS = ("date_obs", "detector", "filter1", "filter2", "exptime", "targname",
                      "expflag", "quicklook")
# How many values of each facet the sidebar lists.
FACET_VALUES_SHOWN = 12
#: The filetypes a result offers a download script of, one link each (and one for every file).
SCRIPT_FILETYPES = ("flt", "flc", "raw", "drz", "drc")


def command_line(spec: QuerySpec) -> str:
    """Return the ``acsq query`` command line of a spec (shown under the results)."""
    words = ["acsq", "query"]
    for name, value in spec.to_params():
        if name in ("offset", "limit", "format"):
            continue
        text = f"{name}={value}"
        safe = all(c.isalnum() or c in "_.-=,:+/" for c in text)
        words.append(text if safe else "'" + text.replace("'", "'\\''") + "'")
    return " ".join(words)


def _suggestions(compute: bool = True) -> dict[str, list]:
    """Values to offer in the form's text fields: those of the whole archive.

    A results page (its form folded away) only uses them if they are already
    known, so that a first query costs its own two scans and no more.
    """
    st = state()
    return archive_values(st.db, st.cache, only_cached=not compute) or {}


def script_urls() -> dict[str, str]:
    """Return the download-script URLs of this query: ``{"all": ..., "flt": ..., ...}``."""
    pairs = [(n, v) for n, v in request.args.items(multi=True)
             if n not in ("format", "offset", "limit", "filetype")]
    base = url_for("query.script")
    urls = {"all": base + ("?" + urlencode(pairs) if pairs else "")}
    for filetype in SCRIPT_FILETYPES:
        urls[filetype] = base + "?" + urlencode(pairs + [("filetype", filetype)])
    return urls


def _script_response(spec: QuerySpec) -> Response:
    """The download script of every matching file, streamed (``acsq_download.sh``).

    Every match: a page's ``offset`` and ``limit`` are ignored. The first file is
    looked up before the response starts, so that a query the
    database refuses, or a missing archive setting, is an error page with its status.
    """
    st = state()
    spec = spec.replace(offset=0, limit=None)         # every match, never one page
    files = core.iter_files(st.db, spec, st.settings, cache=st.cache)
    first = next(files, None)
    if first is not None:
        files = itertools.chain([first], files)
    base = request.url_root

    def url_of(rootname: str, filetype: str) -> str:
        return download_url(base, rootname, filetype)

    lines = script_lines(files, url_of, command=command_line(spec), archive=st.settings.archive)
    return Response(stream_with_context(lines), mimetype="text/x-shellscript",
                    headers={"Content-Disposition": 'attachment; filename="acsq_download.sh"'})


def _with_columns(spec: QuerySpec, names: tuple[str, ...]) -> QuerySpec:
    missing = tuple(resolve(n) for n in names if n not in spec.column_names)
    return spec.replace(columns=spec.columns + missing) if missing else spec


_SUFFIXES = ("json", "csv", *TABLE_SUFFIXES)


def _table_response(spec: QuerySpec, fmt: str) -> Response:
    """Every row of a query as a VOTable or ECSV download (built whole, then sent)."""
    st = state()
    table = query_table(st.db, spec, st.cache)
    if fmt == "votable":
        return Response(votable_bytes(table), mimetype=VOTABLE_MIME, headers={
            "Content-Disposition": 'attachment; filename="acsq_query.vot"'})
    return Response(ecsv_text(table), mimetype=ECSV_MIME, headers={
        "Content-Disposition": 'attachment; filename="acsq_query.ecsv"'})


@bp.route("/query.curl")
def script():
    """The download script of a query's files (``/query.curl?detector=WFC&filetype=flt``)."""
    return query("curl")


@bp.route("/query")
@bp.route(suffix_rule("/query", _SUFFIXES))
def query(fmt: str | None = None):
    """The query form; with parameters, also the results."""
    fmt = TABLE_SUFFIXES.get(fmt, fmt) or (request.args.get("format") or "html").strip().lower()
    fmt = {"table": "html", "vot": "votable"}.get(fmt, fmt)
    st = state()
    form = QueryForm(request.args)
    if not request.args and fmt == "html":  # (/query.csv and the others answer the archive)
        form.suggestions = _suggestions()
        return render_template("query.html", form=form, result=None, error=None)
    try:
        if fmt not in WEB_FORMATS:
            raise QueryError(f"unknown format {fmt[:20]!r}; valid formats: "
                             + ", ".join(WEB_FORMATS))
        spec = QuerySpec.parse(query_pairs(request.args), ignore=FORM_ONLY)
        if fmt == "curl":
            return _script_response(spec)
        if fmt == "csv":
            return csv_response(spec.column_names, core.iter_rows(st.db, spec, st.cache),
                                "acsq_query.csv")
        if fmt in ("votable", "ecsv"):
            return _table_response(spec, fmt)
        # ?count=all counts every match, however long that takes.
        asked = request.args.get("count")
        if asked not in (None, "all"):
            raise QueryError(f"count={asked[:20]!r}: the only value is count=all (count every "
                             "match, however long it takes)")
        budget = 0 if asked == "all" else st.settings.count_time_limit_ms
        if fmt == "json":
            return json_response(result_dict(core.run(
                st.db, spec, st.settings, cache=st.cache, count_time_limit_ms=budget)))
        shown = spec.column_names
        extra = LINK_COLUMNS + (_THUMBNAIL_COLUMNS if fmt == "thumbnails" else ())
        result = core.run(st.db, _with_columns(spec, extra), st.settings, cache=st.cache,
                          count_time_limit_ms=budget)
    except QueryError as exc:
        if fmt in ("json", "csv", "votable", "ecsv", "curl"):
            raise
        form.suggestions = _suggestions()
        return render_template("query.html", form=form, result=None, error=str(exc)), 400
    form.suggestions = _suggestions(compute=False)
    selection = [(n, v) for n, v in spec.to_params()
                 if n not in ("sort", "columns", "limit", "offset", "format", "filetype")]
    return render_template(
        "query.html", form=form, result=result, error=None, shown=shown, fmt=fmt,
        facet_fields=FACET_FIELDS, facets_shown=FACET_VALUES_SHOWN, spec=spec,
        command=command_line(spec), formats=format_urls(_SUFFIXES), script_urls=script_urls(),
        sky_query=urlencode(selection), trend_query=urlencode([("y", "exptime"), *selection]),
        map_max_points=st.settings.trend_max_points,
        count_time_limit=f"{st.settings.count_time_limit_ms / 1000:g} s",
    )

