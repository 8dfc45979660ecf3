"""Serving the quicklook JPEGs and thumbnails, and nothing else.

Documents record image paths relative to ``ACSQ_DATA`` (``jpegs/10368/j94f05bgq_flt.jpg``,
``thumbnails/10368/j94f05bgq_flt.thumb``). ``/images/<path>`` serves such a
path only if every check passes:

1. the path has the shape of a quicklook path: ``jpegs/`` or ``thumbnails/``,
   one folder, a file name of letters, digits, ``_`` and ``-`` with the suffix
   ``.jpg`` or ``.thumb`` (so no ``..``, no absolute path, no other folder);
2. :func:`werkzeug.security.safe_join` accepts it under ``ACSQ_DATA``;
3. the real path, symbolic links resolved, is still inside ``ACSQ_DATA``.

A path that fails is a plain 404. A well-formed path whose file is missing
(an image not made yet, or removed) answers the placeholder picture with
status 404, so a page shows a neat "no image" square, never a broken image.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file, url_for
from werkzeug.security import safe_join

from webapp.state import state

__all__ = ["bp", "checked_image_path", "image_url", "PLACEHOLDER"]

bp = Blueprint("images", __name__)

#: The picture shown where an image is missing (in webapp/static).
PLACEHOLDER = "placeholder.svg"

_IMAGE_PATH = re.compile(r"(jpegs|thumbnails)/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{1,80}\.(jpg|thumb)",
                         re.ASCII)


def checked_image_path(data: Path, relpath: str) -> Path | None:
    """Return the file a quicklook path names inside ``data``, or None if it fails a check.

    Parameters
    ----------
    data : Path
        ``ACSQ_DATA``.
    relpath : str
        The path relative to it, as a document records it.

    Returns
    -------
    path : Path or None
        The resolved path (which may not exist), or None if the path is not a
        quicklook path or leads outside ``data``.
    """
    if not isinstance(relpath, str) or _IMAGE_PATH.fullmatch(relpath) is None:
        return None
    joined = safe_join(str(data), relpath)
    if joined is None:
        return None
    root = Path(data).resolve()
    resolved = Path(joined).resolve()
    if not resolved.is_relative_to(root):
        return None  # a symbolic link out of the data folder
    return resolved


def image_url(relpath: str | None) -> str:
    """Return the URL of a quicklook image, or of the placeholder if there is none."""
    if not relpath or _IMAGE_PATH.fullmatch(relpath) is None:
        return url_for("static", filename=PLACEHOLDER)
    return url_for("images.image", relpath=relpath)


@bp.route("/images/<path:relpath>")
def image(relpath: str):
    """Serve one quicklook JPEG or thumbnail from ``ACSQ_DATA``."""
    path = checked_image_path(state().settings.data, relpath)
    if path is None:
        abort(404, description="No such image.")
    if not path.is_file():
        placeholder = Path(current_app.static_folder) / PLACEHOLDER
        response = send_file(placeholder, mimetype="image/svg+xml", max_age=0)
        response.status_code = 404
        return response
    return send_file(path, mimetype="image/jpeg", max_age=3600, conditional=True)
