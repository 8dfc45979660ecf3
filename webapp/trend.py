"""``/trend``: any numeric field against time (or another field), for the rootnames of any query.

``format=`` (``json``, ``csv``, ``png``, ``svg``) asks for what the suffix
does; another value is a 400 naming the valid ones.

The URL holds the whole state (``/trend?y=headers.flt.1.MDRIZSKY&by=detector&detector=WFC``),
so a trend can be bookmarked and shared. The page shows the picture, the
count, mean, minimum and maximum per group (the server's ``$group``), and the
same trend as ``acsq trend``. The points come as ``/trend.csv`` and
``/trend.json``; the picture as ``/trend.png`` and ``/trend.svg``.

The picture is matplotlib's PNG, drawn on the server. An HTML image map over
it names each point's rootname on hover and opens its image view on click:
no script, no inline style, so the site's Content-Security-Policy stays as
strict as it is (BokehJS needs ``style-src 'unsafe-inline'``; see
docs/guide/plots.md).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for

from acsq_mongo.query.errors import QueryError
from acsq_mongo.trends.trend import GROUP_FIELDS, NUMERIC_FIELDS, TrendSpec, trend
from acsq_mongo.trends.trend_keywords import suggested_keywords
from webapp.formats import csv_response, json_response, requested_format
from webapp.query_form import query_pairs
from webapp.state import state

__all__ = ["bp", "MAP_POINTS_MAX", "command_line"]

bp = Blueprint("trend", __name__)

#: Up to this many points, each one is a hover-and-click area of the picture.
MAP_POINTS_MAX = 5_000
_SUFFIXES = ("json", "csv", "png", "svg")
_FORMATS = f"<any({','.join(_SUFFIXES)}):fmt>"


def command_line(spec: TrendSpec) -> str:
    """Return the ``acsq trend`` command line of a trend (shown on the page)."""
    words = ["acsq", "trend", spec.y.name]
    for name, value in spec.to_params()[1:]:
        if name == "x":
            words.append(f"--x={value}")
        elif name == "by":
            words.append(f"--by={value}" if value else "--by=")
        else:
            text = f"{name}={value}"
            safe = all(c.isalnum() or c in "_.-=,:+/" for c in text)
            words.append(text if safe else "'" + text.replace("'", "'\\''") + "'")
    return " ".join(words)


def _rendered(spec: TrendSpec, result, fmt: str):
    """The picture, drawn once per trend and data generation (the page, then its PNG)."""
    return state().rendered(f"trend_{fmt}", spec.key(), lambda: result.picture(fmt))


def _query_pairs():
    # The query form's own fields (date ranges, keyword rows) are translated as on /query.
    return query_pairs(request.args)


@bp.route("/trend")
@bp.route("/trend." + _FORMATS)
def trend_page(fmt: str | None = None):
    """The trend form; with ``y``, the trend."""
    st = state()
    fmt = requested_format(fmt, allowed=("html", *_SUFFIXES))
    fmt = None if fmt == "html" else fmt
    args = _query_pairs()
    context = {"numeric_fields": NUMERIC_FIELDS, "group_fields": GROUP_FIELDS,
               "args": dict(request.args)}
    if fmt is None:  # the form suggests header keywords the inventory and the data have
        context["suggested"] = suggested_keywords(st.db, st.cache)
    if fmt is None and not request.args.get("y"):
        if request.args:
            context["error"] = "a trend needs y, the field to plot"
        return render_template("trend.html", spec=None, result=None, **context)
    try:
        spec = TrendSpec.parse(args, ignore=("format",))
        result = trend(st.db, spec, st.settings, st.cache)
    except QueryError as exc:
        if fmt is not None:
            raise
        return render_template("trend.html", spec=None, result=None, error=str(exc),
                               **context), 400
    if fmt == "csv":
        return csv_response(result.columns, result.rows(), "acsq_trend.csv")
    if fmt == "json":
        return json_response({
            "y": spec.y.name, "x": spec.x.name, "by": spec.by,
            "count": result.n_matching, "n_points": result.n_points,
            "warnings": list(result.warnings),
            "groups": [{"value": g.value, "n": g.n, "mean": g.mean, "min": g.min, "max": g.max}
                       for g in result.groups],
            "points": list(result.rows()),
        })
    if fmt in ("png", "svg"):
        picture = _rendered(spec, result, fmt)
        mimetype = "image/png" if fmt == "png" else "image/svg+xml"
        return Response(picture.data, mimetype=mimetype,
                        headers={"Cache-Control": "private, max-age=60"})
    picture = _rendered(spec, result, "png")
    areas = []
    if result.n_points <= MAP_POINTS_MAX:
        seen = set()
        for i, (px, py) in enumerate(picture.pixels):
            spot = (int(round(px)), int(round(py)))
            if spot in seen:  # a point drawn over another: the first one answers
                continue
            seen.add(spot)
            areas.append((spot, result.rootnames[i], result.x[i], result.y[i],
                          result.groups_of[i]))
    pairs = spec.to_params()
    return render_template(
        "trend.html", spec=spec, result=result, picture=picture, areas=areas,
        map_points_max=MAP_POINTS_MAX, command=command_line(spec),
        query_url=url_for("query.query") + _encoded(pairs[1:], drop=("x", "by")),
        urls={fmt: url_for("trend.trend_page", fmt=fmt) + _encoded(pairs)
              for fmt in ("png", "svg", "csv", "json")},
        hidden=[(n, v) for n, v in pairs if n not in ("y", "x", "by")],
        error=None, **context)


def _encoded(pairs, drop=()) -> str:
    from urllib.parse import urlencode

    kept = [(n, v) for n, v in pairs if n not in drop]
    return ("?" + urlencode(kept)) if kept else ""
