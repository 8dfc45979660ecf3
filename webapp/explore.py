"""The image explorer: ``/explore/<rootname>/<filetype>``, one image at full resolution.

``/explore/<rootname>/<filetype>``
    The page. Its URL holds the view's state, so a view can be shared:
    ``ext`` (SCI, ERR, DQ), ``ver`` (a chip's EXTVER, or ``all``: the chips
    stitched as the quicklook), ``x``/``y`` (the centre, FITS pixels of the
    picture), ``z`` (zoom: 0 is one screen pixel per image pixel), ``interval``
    (``minmax``, ``percentile``, ``zscale``, ``manual``), ``kept`` (percent),
    ``lo``/``hi`` (manual limits), ``stretch`` (linear, sqrt, log, asinh),
    ``cmap``, ``invert``, ``cmp`` (what to compare with: a filetype, or
    ``rootname/filetype``) and ``mode`` (``blink``, ``side``, ``diff``).
    ``webapp/static/explorer/explorer.js`` reads and writes them.
``/explore/<rootname>/<filetype>/meta.json?ext=SCI&ver=all``
    What the page needs to draw a view: size, chips, their WCS (for RA/Dec on
    the client), the default stretch (the quicklook's for the image type), the
    DQ table, what it may be compared with, the flagged regions and the
    proposed trails on this view (:func:`acsq_mongo.tags.trail_view.trails_on_view`).
``POST /explore/<rootname>/<filetype>/flag``
    A signed-in tagger flags an anomaly at a point or a box of this view
    (:func:`acsq_mongo.tags.region_flags.flag_region`); answers the event as JSON.

The pixels themselves come from :mod:`webapp.explore_pixels`. The file is
found as ``/files`` finds it (:func:`acsq_mongo.formats.downloads.catalogued_file`):
from the catalog, inside the archive, symbolic links resolved.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from acsq_mongo.browse.rootname import catalog_document
from acsq_mongo.browse.visit import visit_rootnames
from acsq_mongo.fields import IMAGE_FILETYPES, THUMBNAIL_FILETYPES
from acsq_mongo.formats.downloads import FileMissing, FileRefused, catalogued_file
from acsq_mongo.images.client_wcs import client_wcs
from acsq_mongo.images.dq import DQ_FLAGS
from acsq_mongo.images.imaging import ImageReadError
from acsq_mongo.images.stretch import stretch_for
from acsq_mongo.images.tiles import EXTNAMES, TILE, PixelView, levels, open_view
from acsq_mongo.query.errors import QueryError
from acsq_mongo.tags import TagError
from acsq_mongo.tags.proposals import pending_proposals
from acsq_mongo.tags.region_flags import flag_region, flagged_regions
from acsq_mongo.tags.trail_view import trails_on_view
from webapp.archive import proposal_segment
from webapp.auth import role_required
from webapp.formats import json_response
from webapp.state import state

__all__ = ["bp", "explore_url", "resolve", "view_of"]

bp = Blueprint("explore", __name__)

# The quicklook's stretch names as the explorer's interval and stretch.
_QUICKLOOK = {"percentile": ("percentile", "linear"), "zscale": ("zscale", "linear"),
              "asinh": ("percentile", "asinh")}


def explore_url(rootname: str, filetype: str, **state_args) -> str:
    """The explorer's URL of one image file (with any state in the query string)."""
    return url_for("explore.page", rootname=rootname, filetype=filetype, **state_args)


def resolve(rootname: str, filetype: str) -> tuple[dict, Path]:
    """The catalog entry and the checked path of an image file, or a 404."""
    if filetype not in IMAGE_FILETYPES:
        abort(404, description=f"{filetype[:10]!r} is not an image filetype; the explorer "
              f"shows {', '.join(IMAGE_FILETYPES)}.")
    st = state()
    try:
        entry = catalog_document(st.db, rootname)
    except QueryError as exc:
        abort(404, description=str(exc))
    try:
        found = catalogued_file(st.settings.archive, entry, rootname, filetype)
    except (FileRefused, FileMissing) as exc:
        abort(404, description=f"{exc}.")
    return entry, found.path


def parse_view(ext: str | None, ver: str | None) -> tuple[str, int | None]:
    """``ext`` and ``ver`` of a request, checked (a 400 otherwise)."""
    ext = (ext or "SCI").upper()
    if ext not in EXTNAMES:
        abort(400, description=f"ext must be one of {', '.join(EXTNAMES)}, got {ext[:10]!r}")
    ver = (ver or "all").lower()
    if ver == "all":
        return ext, None
    if not ver.isdigit() or not 1 <= int(ver) <= 99:
        abort(400, description=f"ver must be a chip's EXTVER (1, 2, ...) or all, got {ver[:10]!r}")
    return ext, int(ver)


def view_of(path: Path, ext: str, ver: int | None) -> PixelView:
    """Open a view of a file, or a 404 that says why."""
    try:
        return open_view(path, ext, ver)
    except ImageReadError as exc:
        abort(404, description=f"{exc}.")


@bp.route("/explore/<rootname>")
def first(rootname: str):
    """The explorer of a rootname's first image file (flt, else as the image view picks)."""
    try:
        entry = catalog_document(state().db, rootname)
    except QueryError as exc:
        abort(404, description=str(exc))
    if entry is None:
        abort(404, description=f"There is no rootname {rootname[:20]} in the archive.")
    present = entry.get("filetypes") or []
    choices = [ft for ft in (*THUMBNAIL_FILETYPES, *IMAGE_FILETYPES) if ft in present]
    if not choices:
        abort(404, description=f"{entry.get('rootname')} has no image file to explore.")
    return redirect(explore_url(entry.get("rootname") or entry["_id"], choices[0]))


@bp.route("/explore/<rootname>/<filetype>")
def page(rootname: str, filetype: str):
    """The explorer page of one image file."""
    entry, path = resolve(rootname, filetype)
    ext, ver = parse_view(request.args.get("ext"), request.args.get("ver"))
    view = view_of(path, ext, ver)
    root = entry.get("rootname") or entry["_id"]
    chips = sorted({h.header.get("EXTVER", 1) for h in view.headers[1:]
                    if h.name.upper() == ext})
    return render_template(
        "explore.html", doc=entry, rootname=root, filetype=filetype,
        segment=proposal_segment(entry.get("proposid")), ext=ext, view=view, chips=chips,
        extnames=EXTNAMES, image_filetypes=IMAGE_FILETYPES,
        meta_url=url_for("explore.meta", rootname=root, filetype=filetype),
        vocabulary=state().vocabulary.flags, proposals=_pending(entry),
        can_tag=bool(current_user.is_authenticated and current_user.can_tag),
    )


def _pending(entry: dict) -> list[dict]:
    """The rootname's proposals no one has answered (none to read if it has none)."""
    return pending_proposals(state().db, entry["_id"]) if entry.get("proposed") else []


def _compare_choices(entry: dict, filetype: str) -> list[dict]:
    root = entry.get("rootname") or entry["_id"]
    choices = [{"value": ft, "label": f"{root} {ft}"}
               for ft in IMAGE_FILETYPES if ft in (entry.get("filetypes") or []) and ft != filetype]
    for other in visit_rootnames(state().db, root):
        if other["rootname"] == root:
            continue
        for ft in IMAGE_FILETYPES:
            if ft in other["filetypes"]:
                choices.append({"value": f"{other['rootname']}/{ft}",
                                "label": f"{other['rootname']} {ft} (same visit)"})
    return choices


def _sci_wcs(view: PixelView, extver: int) -> dict | None:
    try:
        return client_wcs(view.headers["SCI", extver].header)
    except KeyError:
        return None


@bp.route("/explore/<rootname>/<filetype>/meta.json")
def meta(rootname: str, filetype: str):
    """What the page needs to draw one view of one file (see the module)."""
    entry, path = resolve(rootname, filetype)
    ext, ver = parse_view(request.args.get("ext"), request.args.get("ver"))
    view = view_of(path, ext, ver)
    root = entry.get("rootname") or entry["_id"]
    st = state()
    quicklook = stretch_for(view.imagetyp, st.settings.quicklook_stretch,
                            st.settings.quicklook_stretch_by_imagetyp)
    interval, stretch = _QUICKLOOK.get(quicklook, ("percentile", "linear"))
    headers = view.headers
    blocks = []
    for block in view.blocks:
        wcs = view.remember(("wcs", block.extver), lambda ver=block.extver: _sci_wcs(view, ver))
        blocks.append({"extver": block.extver, "ccdchip": block.ccdchip, "row0": block.row0,
                       "width": block.width, "height": block.height, "wcs": wcs})
    chips = sorted({h.header.get("EXTVER", 1) for h in headers[1:] if h.name.upper() == ext})
    base = url_for("explore.pixels", rootname=root, filetype=filetype, ext=ext,
                   ver=ver or "all", part="PART")
    return json_response({
        "rootname": root, "filetype": filetype, "ext": ext, "ver": ver,
        "chips": chips, "width": view.width, "height": view.height, "tile": TILE,
        "levels": levels(view.width, view.height), "imagetyp": view.imagetyp,
        "signature": view.signature,
        "default": {"interval": interval, "kept": 98.0, "stretch": stretch,
                    "quicklook": quicklook},
        "blocks": blocks, "dq": [list(flag) for flag in DQ_FLAGS],
        "pixels": base.replace("PART", "{part}"),
        "cut": url_for("explore.cut", rootname=root, filetype=filetype, fmt="json"),
        "cut_csv": url_for("explore.cut", rootname=root, filetype=filetype, fmt="csv"),
        "compare": _compare_choices(entry, filetype),
        "regions": flagged_regions(st.db, entry["_id"]),
        "trails": trails_on_view(_pending(entry), filetype, blocks),
        "flag_url": url_for("explore.flag", rootname=root, filetype=filetype),
        "image_view": url_for("archive.image_view", proposid=proposal_segment(
            entry.get("proposid")), rootname=root, filetype=filetype),
    })


@bp.route("/explore/<rootname>/<filetype>/flag", methods=["POST"])
@role_required("tag")
def flag(rootname: str, filetype: str):
    """Flag an anomaly at a point or box of this file's view, as the signed-in tagger."""
    entry, _ = resolve(rootname, filetype)
    form = request.form
    region = {"filetype": filetype, "extension": form.get("ext"), "extver": form.get("ver"),
              "x0": form.get("x0"), "y0": form.get("y0"),
              "x1": form.get("x1") or form.get("x0"), "y1": form.get("y1") or form.get("y0")}
    st = state()
    try:
        event = flag_region(st.db, entry.get("rootname") or entry["_id"], current_user.user,
                            st.vocabulary, form.get("flag") or "", region,
                            comment=form.get("comment"))
    except TagError as exc:
        abort(400, description=str(exc))
    event.pop("_id", None)
    return json_response({"event": event, "regions": flagged_regions(st.db, entry["_id"])})
