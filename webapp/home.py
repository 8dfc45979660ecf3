"""``/``: what the archive holds, and the way in.

Counts by detector and by filetype, the latest ingest, the number of errors
and the plot of observations per year by detector (seed Fig. 1), all from
:func:`acsq_mongo.browse.summary.archive_summary` (one scan of the slim
catalog, cached until the data changes); and the archive's coverage of the
sky, the image ``/sky.png`` (:mod:`webapp.sky`).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from acsq_mongo.browse.summary import archive_summary
from webapp.formats import json_response
from webapp.plot import year_plot
from webapp.state import state

__all__ = ["bp"]

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    """The home page."""
    st = state()
    summary = archive_summary(st.db, st.cache)
    return render_template("home.html", summary=summary, plot=year_plot(summary.by_year),
                           map_max_points=st.settings.trend_max_points)


@bp.route("/summary.json")
def summary_json():
    """The home page's figures as JSON."""
    st = state()
    summary = archive_summary(st.db, st.cache)
    return json_response({
        "n_rootnames": summary.n_rootnames,
        "by_detector": [{"detector": d, "count": n} for d, n in summary.by_detector],
        "by_filetype": [{"filetype": f, "count": n} for f, n in summary.by_filetype],
        "by_year": [{"detector": d, "year": y, "count": n}
                    for d, years in summary.by_year.items() for y, n in years.items()],
        "n_files": summary.n_files,
        "rootnames_with_errors": summary.rootnames_with_errors,
        "document_errors": summary.document_errors,
        "n_ingest_errors": summary.n_ingest_errors,
        "n_proposals": summary.n_proposals,
        "last_ingest": summary.last_ingest,
    })
