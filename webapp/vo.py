"""``/vo/...``: the IVOA services, for TOPCAT, Aladin, pyvo and astroquery.

- ``/vo/scs``: Simple Cone Search 1.03 (:mod:`acsq_mongo.vo.scs`);
- ``/vo/sia``: Simple Image Access 2.0 (:mod:`acsq_mongo.vo.sia`), ObsCore
  rows whose ``access_url`` is the file download ``/files/<rootname>/<filetype>``
  and whose ``preview`` is the quicklook JPEG;
- ``/vo/<service>/availability`` and ``/vo/<service>/capabilities``: VOSI.

The views only translate: the request's parameters go to the query layer,
and its answer or error comes back as a VOTable. A bad parameter is an error
VOTable (SCS: ``INFO name="Error"``, with status 200 as SCS 1.03 clients
expect; SIA: ``QUERY_STATUS`` ``ERROR``, status 400 as DALI says).
"""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from acsq_mongo.db.connection import ping
from acsq_mongo.errors import DatabaseUnavailable
from acsq_mongo.formats.votable import VOTABLE_MIME, error_votable, votable_bytes
from acsq_mongo.query.errors import QueryError
from acsq_mongo.vo.obscore import obscore_table
from acsq_mongo.vo.scs import parse_scs, scs_table, scs_votable
from acsq_mongo.vo.sia import parse_sia, run_sia
from webapp import files
from webapp.state import state
from webapp.vosi import SCS_ID, SIA2_ID, VOSI_MIME, availability_xml, capabilities_xml

__all__ = ["bp", "file_url"]

bp = Blueprint("vo", __name__, url_prefix="/vo")

_SERVICES = {"scs": SCS_ID, "sia": SIA2_ID}


def _votable(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype=VOTABLE_MIME)


def file_url(rootname: str, filetype: str) -> str:
    """Return the absolute download URL of a file: the ``/files`` route's own URL."""
    return files.file_url(rootname, filetype, external=True)


def _preview_url(relpath: str) -> str:
    return url_for("images.image", relpath=relpath, _external=True)


@bp.route("/scs")
def cone_search():
    """Simple Cone Search 1.03."""
    try:
        ra, dec, sr, verb = parse_scs(request.args.items(multi=True))
        st = state()
        table = scs_table(st.db, st.settings, ra, dec, sr, verb, st.cache)
    except QueryError as exc:
        return _votable(error_votable(str(exc), style="scs", version="1.1"))
    return _votable(scs_votable(table))


@bp.route("/sia")
def image_access():
    """Simple Image Access 2.0 (the query endpoint)."""
    try:
        query = parse_sia(request.args.items(multi=True))
        st = state()
        rows, overflow = run_sia(st.db, st.settings, query, file_url, _preview_url, st.cache)
    except QueryError as exc:
        return _votable(error_votable(str(exc)), status=400)
    table = obscore_table(rows)
    table.meta["description"] = "ACS images (ObsCore), one row per image product"
    status = "OVERFLOW" if overflow else "OK"
    return _votable(votable_bytes(table, infos=[("QUERY_STATUS", status)]))


@bp.route("/<any(scs,sia):service>/availability")
def availability(service: str):
    """VOSI availability: whether the database answers."""
    try:
        ping(state().db)
    except DatabaseUnavailable:
        note = "the database is not answering; queries fail until it is back"
        return Response(availability_xml(False, note), mimetype=VOSI_MIME)
    return Response(availability_xml(True, "the service is accepting queries"),
                    mimetype=VOSI_MIME)


@bp.route("/<any(scs,sia):service>/capabilities")
def capabilities(service: str):
    """VOSI capabilities: the standard this service implements, and where."""
    base = url_for(f"vo.{'cone_search' if service == 'scs' else 'image_access'}",
                   _external=True)
    return Response(capabilities_xml(_SERVICES[service], base, state().settings.max_rows),
                    mimetype=VOSI_MIME)
