"""``/sky.png``: where a query's rootnames lie on the sky (the home page: the whole archive).

Takes the query's own parameters (``/sky.png?detector=WFC&proposid=10368``);
none gives the whole archive. The map is matplotlib's, drawn on the server
with astropy's WCSAxes (:mod:`acsq_mongo.plots.sky_map`): all-sky, and for a
small field a zoomed panel with the footprints. It is drawn once per query and
data generation. A query over ``trend_max_points`` rootnames gets a 400 with
the reason; the pages show the map only under that cap.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.trends.sky_points import sky_points
from webapp.formats import requested_format
from webapp.query_form import FORM_ONLY, query_pairs
from webapp.state import state

__all__ = ["bp", "map_label"]

bp = Blueprint("sky", __name__)


def map_label(n_points: int, n_matching: int, n_footprints: int) -> str:
    """The all-sky panel's title."""
    text = f"{n_points:,} rootname{'s' if n_points != 1 else ''} with a position"
    if n_matching > n_points:
        text += f" (of {n_matching:,})"
    return text


@bp.route("/sky.png")
def sky_png():
    """The sky map of a query (PNG)."""
    from acsq_mongo.plots.sky_map import sky_map

    st = state()
    requested_format(None, allowed=("png",))  # format=png or none: the only answer
    spec = QuerySpec.parse(query_pairs(request.args), ignore=FORM_ONLY)
    points = sky_points(st.db, spec, st.settings, st.cache)

    def draw() -> bytes:
        return sky_map(points.ra, points.dec, points.footprints, groups=points.filters,
                       label=map_label(len(points.ra), points.n_matching, points.n_footprints))

    data = st.rendered("sky_png", spec.selection_key(), draw)
    return Response(data, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})
