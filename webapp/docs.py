"""``/docs``: how to query, written from the query core's own tables so it never drifts.

The fields with their types and units, the ops and what they do, the output
formats, and the same query from the web, the command line and Python. When
the setting ``docs_url`` names where the full guide (the Sphinx site that
``make docs`` builds) is served, the page links to it.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from acsq_mongo.fields import FIELDS, FILETYPES, STANDARD_COLUMNS
from acsq_mongo.query.facets import FACET_FIELDS
from acsq_mongo.query.filters import OPS_BY_TYPE
from acsq_mongo.query.names import HEADER_PATH_HELP
from acsq_mongo.query.spec import SORTABLE
from webapp.state import state

__all__ = ["bp", "OP_HELP"]

bp = Blueprint("docs", __name__)

#: What each op does, for people.
OP_HELP = {
    "exact": "equal (the default); * is a wildcard in text; a date is the whole period it names",
    "not": "not equal (also true where the field has no value)",
    "in": "one of a comma-separated list: detector__in=WFC,HRC",
    "notin": "none of a comma-separated list",
    "gt": "greater than (after the period a date names)",
    "gte": "greater than or equal",
    "lt": "less than (before the period a date names)",
    "lte": "less than or equal (up to the end of the period)",
    "contains": "text contains the value, case-insensitive",
    "startswith": "text starts with the value, case-insensitive",
    "regex": "a regular expression (case-sensitive; (?i) for not)",
    "exists": "true: has a value (a header keyword: is in that header); false: the opposite",
}


@bp.route("/docs")
def index():
    """The query guide."""
    return render_template(
        "docs.html", fields=FIELDS, ops_by_type=OPS_BY_TYPE, op_help=OP_HELP,
        filetypes=FILETYPES, header_help=HEADER_PATH_HELP, facet_fields=FACET_FIELDS,
        default_columns=STANDARD_COLUMNS, sortable=SORTABLE,
        guide_url=state().settings.docs_url,
    )
