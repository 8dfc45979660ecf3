"""The image explorer's pixels: tiles and the stretch sample from one route, and cuts.

``/explore/<rootname>/<filetype>/pixels/<ext>/<ver>/<part>``
    ``part`` is ``<level>-<tx>-<ty>``, a tile (:meth:`acsq_mongo.images.tiles.PixelView.tile`),
    or ``sample``, the quicklook's sample of the picture (the client computes
    every interval from it). The body is little-endian ``float32``, exact
    file values; a tile is 256 x 256, top row first, NaN outside the picture.
    The ETag is made of the file's size and modification time and the part, so
    a revisit answers 304 without reading the file; ``Cache-Control: private,
    max-age=300`` lets the browser keep tiles while a view is explored.
``/explore/<rootname>/<filetype>/cut.json`` and ``cut.csv``
    ``?ext=SCI&ver=1&axis=row&index=388``: one row (FITS ``y = index``) or
    column (``x = index``) of one chip, as JSON (``x`` or ``y`` and ``value``
    lists) or as CSV (``x,y,value``; values as numpy prints a float32, so they
    read back exactly).

Both go through the same checks as ``/files`` (:func:`webapp.explore.resolve`).
"""

from __future__ import annotations

import re

import numpy as np
from flask import Response, abort, request

from acsq_mongo.images.imaging import ImageReadError
from webapp.explore import bp as explore_bp
from webapp.explore import parse_view, resolve, view_of
from webapp.formats import json_response

__all__ = ["bp"]

bp = explore_bp  # one blueprint, "explore", split over two modules

_TILE_PART = re.compile(r"(\d{1,2})-(\d{1,4})-(\d{1,4})", re.ASCII)
_MAX_AGE = 300


def _binary(values: np.ndarray, etag: str) -> Response:
    response = Response(values.astype("<f4", copy=False).tobytes(),
                        mimetype="application/octet-stream")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"private, max-age={_MAX_AGE}"
    return response


@bp.route("/explore/<rootname>/<filetype>/pixels/<ext>/<ver>/<part>")
def pixels(rootname: str, filetype: str, ext: str, ver: str, part: str):
    """One tile, or the stretch sample, of one view (see the module)."""
    _, path = resolve(rootname, filetype)
    ext, extver = parse_view(ext, ver)
    view = view_of(path, ext, extver)
    etag = f"{view.signature}-{ext}-{ver}-{part}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        response.headers["Cache-Control"] = f"private, max-age={_MAX_AGE}"
        return response
    if part == "sample":  # kept while the file stays open: 400 kB per view
        return _binary(view.remember(("sample", ext, extver), view.sample), etag)
    match = _TILE_PART.fullmatch(part)
    if match is None:
        abort(404, description="A part is 'sample' or a tile '<level>-<tx>-<ty>'.")
    level, tx, ty = (int(g) for g in match.groups())
    if level > 12 or tx * (256 << level) >= view.width or ty * (256 << level) >= view.height:
        abort(404, description=f"No tile {part} in this view.")
    return _binary(view.tile(level, tx, ty), etag)


def _index(name: str) -> int:
    text = (request.args.get(name) or "").strip()
    if not text.isdigit() or len(text) > 6:
        abort(400, description=f"{name} takes a whole number (a FITS pixel), got {text[:20]!r}")
    return int(text)


@bp.route("/explore/<rootname>/<filetype>/cut.<any(json, csv):fmt>")
def cut(rootname: str, filetype: str, fmt: str):
    """One row or column of one chip, as JSON or CSV."""
    entry, path = resolve(rootname, filetype)
    ext, extver = parse_view(request.args.get("ext"), request.args.get("ver"))
    axis = request.args.get("axis") or "row"
    if axis not in ("row", "column"):
        abort(400, description=f"axis must be row or column, got {axis[:10]!r}")
    index = _index("index")
    view = view_of(path, ext, extver)
    if extver is None:
        extver = _index("chip") if request.args.get("chip") else view.blocks[0].extver
    try:
        values = view.cut(extver, axis, index)
    except ImageReadError as exc:
        abort(400, description=f"{exc}.")
    along = np.arange(1, values.size + 1)
    texts = [repr(float(v)) if not np.isfinite(v) else np.format_float_positional(
        np.float32(v), unique=True, trim="-") for v in values]
    root = entry.get("rootname") or entry["_id"]
    if fmt == "json":
        key = "x" if axis == "row" else "y"
        return json_response({"rootname": root, "filetype": filetype, "ext": ext,
                              "extver": extver, "axis": axis, "index": index,
                              key: along.tolist(), "value": texts})
    if axis == "row":
        lines = (f"{x},{index},{t}\n" for x, t in zip(along, texts, strict=True))
    else:
        lines = (f"{index},{y},{t}\n" for y, t in zip(along, texts, strict=True))
    name = f"{root}_{filetype}_{ext.lower()}{extver}_{axis}{index}.csv"
    body = "x,y,value\n" + "".join(lines)
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
