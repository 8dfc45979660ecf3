"""Getting the data: one FITS file of the archive, ``/files/<rootname>/<filetype>``.

The file is found from the rootname's catalog entry, never from a path in the
URL, and served only if it passes every check of
:func:`acsq_mongo.formats.downloads.catalogued_file`: a filetype the entry lists, a
real path (symbolic links resolved) inside ``ACSQ_ARCHIVE``, a regular file. Anything
else is a 404 page that says which check failed; a catalogued file missing on disk
says so too.

The file is streamed by werkzeug's ``send_file``: Range requests (a resumed or
partial download answers 206), conditional GETs (ETag and Last-Modified: 304), and
``Content-Disposition: attachment; filename=<rootname>_<filetype>.fits``.
"""

from __future__ import annotations

from flask import Blueprint, abort, send_file, url_for

from acsq_mongo.browse.rootname import catalog_document
from acsq_mongo.formats.downloads import FileMissing, FileRefused, catalogued_file
from acsq_mongo.query.errors import QueryError
from webapp.state import state

__all__ = ["bp", "file_url", "FITS_MIMETYPE"]

bp = Blueprint("files", __name__)

#: The media type of a FITS file (RFC 4047).
FITS_MIMETYPE = "application/fits"


def file_url(rootname: str, filetype: str, external: bool = False) -> str:
    """Return the download URL of one file of a rootname (absolute with ``external``)."""
    return url_for("files.download", rootname=rootname.lower(), filetype=filetype,
                   _external=external)


@bp.route("/files/<rootname>/<filetype>")
def download(rootname: str, filetype: str):
    """Serve one catalogued FITS file of the archive, as an attachment."""
    st = state()
    try:
        entry = catalog_document(st.db, rootname)
    except QueryError as exc:                       # a malformed rootname
        abort(404, description=str(exc))
    try:
        # The filetype in any case, as the rootname: /files/j94f05bgq/FLT is the flt.
        found = catalogued_file(st.settings.archive, entry, rootname, filetype.lower())
    except (FileRefused, FileMissing) as exc:
        abort(404, description=f"{exc}.")
    return send_file(found.path, mimetype=FITS_MIMETYPE, as_attachment=True,
                     download_name=found.name, conditional=True, etag=True, max_age=0)
