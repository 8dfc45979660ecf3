"""Flagged regions drawn over a quicklook: their boxes in the picture's pixels.

The image view shows the quicklook, the SCI chips stitched (:mod:`acsq_mongo.images.imaging`);
a region flagged in the explorer on one chip is moved up by the rows of the chips
below it (:class:`acsq_mongo.images.tiles.Block`), so it lands where the
explorer drew it. The template draws the boxes as an SVG over the picture,
whose ``viewBox`` is the picture's size (y flipped: SVG rows run down).
"""

from __future__ import annotations

from typing import Any

from acsq_mongo.formats.downloads import FileMissing, FileRefused, catalogued_file
from acsq_mongo.images.imaging import ImageReadError
from acsq_mongo.images.tiles import open_view
from acsq_mongo.tags.region_flags import flagged_regions
from webapp.state import state

__all__ = ["picture_regions"]


def picture_regions(entry: dict, filetype: str | None) -> dict[str, Any] | None:
    """The flagged regions of one file as SVG boxes over its quicklook, or None if there are none.

    Returns
    -------
    overlay : dict or None
        ``width`` and ``height`` of the stitched picture and ``rects``: dicts of
        ``x``, ``y``, ``width``, ``height`` (SVG, top-left origin), ``flag``,
        ``title``.
    """
    if not filetype or not entry.get("anomaly_seq"):
        return None
    st = state()
    regions = [r for r in flagged_regions(st.db, entry["_id"]) if r["filetype"] == filetype]
    if not regions:
        return None
    try:
        found = catalogued_file(st.settings.archive, entry, entry["_id"], filetype)
        view = open_view(found.path, "SCI")
    except (FileRefused, FileMissing, ImageReadError, OSError):
        return None
    rects = []
    for r in regions:
        y0, y1 = r["y0"], r["y1"]
        if r["extver"] is not None:
            try:
                row0 = view.block_of(r["extver"]).row0
            except ImageReadError:
                continue
            y0, y1 = y0 + row0, y1 + row0
        where = "stitched" if r["extver"] is None else f"{r['extension']},{r['extver']}"
        rects.append({"x": r["x0"] - 1, "y": view.height - y1,
                      "width": r["x1"] - r["x0"] + 1, "height": y1 - y0 + 1, "flag": r["flag"],
                      "title": f"{r['flag']} ({where} x {r['x0']}-{r['x1']}, "
                               f"y {r['y0']}-{r['y1']}) by {r['user']}"})
    return {"width": view.width, "height": view.height, "rects": rects}
