"""Anomaly tags on the web: the image view's form, and ``/anomalies``, the latest changes.

``POST /archive/<proposid>/<rootname>/anomalies``
    A signed-in tagger (or admin) sets and clears the rootname's flags: the
    form sends the flags wanted (checkboxes) and an optional comment; the
    difference from the current flags is written
    (:func:`acsq_mongo.tags.change_flags`). Anonymous: 401; without the role:
    403; a bad change: 400. Nothing is written then. CSRF-protected like
    every POST (:mod:`webapp.auth`).
``POST /archive/<proposid>/<rootname>/proposals``
    A tagger confirms or rejects a proposal of a detector or a rule
    (:func:`acsq_mongo.tags.proposals.answer`): fields ``key`` and ``answer``.
``/anomalies`` (and ``.json``, ``.csv``)
    The latest events, newest first, filtered by ``flag`` and ``user``; the
    URL holds the state (``?flag=ghost&user=ada&offset=50``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from acsq_mongo.browse.rootname import catalog_document
from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import ANOMALY_SLUG
from acsq_mongo.tags import TagError, change_flags
from acsq_mongo.tags.history import EVENT_COLUMNS, iter_events, recent_events
from acsq_mongo.tags.proposals import answer
from webapp.archive import proposal_segment
from webapp.auth import role_required
from webapp.formats import csv_response, format_urls, json_response, requested_format, suffix_rule
from webapp.state import state

__all__ = ["bp", "EVENTS_PAGE"]

bp = Blueprint("tags", __name__)

#: Events per page of ``/anomalies``.
EVENTS_PAGE = 50


@bp.route("/archive/<proposid>/<rootname>/anomalies", methods=["POST"])
@role_required("tag")
def change(proposid: str, rootname: str):
    """Set and clear a rootname's flags as the signed-in tagger."""
    st = state()
    doc = catalog_document(st.db, rootname)
    if doc is None:
        abort(404, description=f"There is no rootname {rootname[:20]} in the archive.")
    current = set(doc.get("anomalies") or ())
    wanted = set(request.form.getlist("flag"))
    add = [f for f in st.vocabulary.slugs if f in wanted - current]
    add += sorted(wanted - current - set(add))  # unknown: change_flags refuses them
    try:
        events = change_flags(st.db, doc["rootname"], current_user.user, st.vocabulary,
                              add=add, remove=sorted(current - wanted),
                              comment=request.form.get("comment"))
    except TagError as exc:
        abort(400, description=str(exc))
    if events:
        done = "; ".join(f"{e['action']} {st.vocabulary.label(e['flag'])}" for e in events)
        flash(f"Anomaly flags of {doc['rootname']} changed: {done}.")
    else:
        flash("Nothing changed: tick or untick a flag to change it.")
    return redirect(url_for("archive.image_view", proposid=proposal_segment(doc.get("proposid")),
                            rootname=doc["rootname"], _anchor="anomalies"), code=303)


@bp.route("/archive/<proposid>/<rootname>/proposals", methods=["POST"])
@role_required("tag")
def answer_proposal(proposid: str, rootname: str):
    """Confirm or reject a machine's proposal (form fields ``key`` and ``answer``), one click."""
    st = state()
    doc = catalog_document(st.db, rootname)
    if doc is None:
        abort(404, description=f"There is no rootname {rootname[:20]} in the archive.")
    decision = request.form.get("answer")
    if decision not in ("confirm", "reject"):
        abort(400, description="answer must be confirm or reject")
    try:
        events = answer(st.db, doc["rootname"], request.form.get("key") or "",
                        current_user.user, st.vocabulary, confirm=decision == "confirm",
                        comment=request.form.get("comment"))
    except TagError as exc:
        abort(400, description=str(exc))
    flag = st.vocabulary.label(events[-1]["flag"])
    flash(f"Proposed {flag} of {doc['rootname']} {decision}ed"
          + (": the flag is set." if decision == "confirm" else ": it is not proposed again."))
    return redirect(url_for("archive.image_view", proposid=proposal_segment(doc.get("proposid")),
                            rootname=doc["rootname"], _anchor="anomalies"), code=303)


def _whole(name: str) -> int:
    text = (request.args.get(name) or "0").strip()
    if not text.isdigit() or len(text) > 9:
        abort(400, description=f"{name} takes a whole number, got {text[:20]!r}")
    return int(text)


@bp.route("/anomalies")
@bp.route(suffix_rule("/anomalies"))
def anomalies(fmt: str | None = None):
    """The latest anomaly events, filtered by flag and user."""
    fmt = requested_format(fmt)
    st = state()
    flag, user = request.args.get("flag") or None, request.args.get("user") or None
    offset = _whole("offset")
    slug = (flag or "").strip().lower()
    if slug and slug not in st.vocabulary.slugs and ANOMALY_SLUG.fullmatch(slug):
        # The same answer in every format: an unknown flag is a 400 naming the flags.
        abort(400, description=f"there is no anomaly flag {slug[:40]!r}; the flags: "
              + ", ".join(st.vocabulary.slugs))
    try:
        if fmt == "csv":  # every event, streamed
            return csv_response(EVENT_COLUMNS, iter_events(st.db, flag=flag, user=user),
                                "acsq_anomalies.csv")
        page = recent_events(st.db, flag=flag, user=user, offset=offset, limit=EVENTS_PAGE)
    except AcsqError as exc:
        abort(400, description=str(exc))
    if fmt == "json":
        return json_response({"count": page.count, "offset": page.offset, "limit": page.limit,
                              "columns": list(EVENT_COLUMNS), "rows": page.rows})
    return render_template("anomalies.html", page=page, flag=flag or "", user=user or "",
                           formats=format_urls(), vocabulary=st.vocabulary.flags)
