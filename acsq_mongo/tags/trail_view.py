"""The proposed satellite trails of a file, placed on one view of the image explorer.

A trail proposal (:mod:`acsq_mongo.tags.proposals`, written by
:mod:`acsq_mongo.tags.trail_job`) keeps each trail's ends in its chip's own
pixels: 0-based, FITS orientation (``x`` the column, ``y`` the row counted
from the bottom), already unbinned (:func:`acsq_mongo.images.trails.detect_trails`
multiplies the binned ends back). The image view draws them on the quicklook
(``image_endpoints``: the chips stacked bottom to top by decreasing CCDCHIP).
The explorer shows a chip alone or the chips stacked the same way, so a
trail's ends on a view are its chip ends shifted by the chip's first row in
that view (:class:`acsq_mongo.images.tiles.Block` ``row0``), as 1-based FITS
pixels of the view's picture, like the explorer's regions and pinned pixel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["CHIP_FRAME_FILETYPES", "trails_on_view"]

#: Filetypes with the chips of the flt, so in the pixel frame the trails were found in.
CHIP_FRAME_FILETYPES = ("flt", "flc", "crj", "crc")


def _block_of(trail: Mapping[str, Any], blocks: Sequence[Mapping[str, Any]]
              ) -> Mapping[str, Any] | None:
    """The block of the view that shows the trail's chip, by CCDCHIP, else by EXTVER."""
    chip = str(trail.get("chip") or "")
    for block in blocks:
        if block.get("ccdchip") is not None and chip == f"chip{block['ccdchip']}":
            return block
    # Without CCDCHIP: the SCI extension's HDU index (1, 4, ...) gives its EXTVER.
    ext = trail.get("ext")
    if isinstance(ext, int) and ext >= 1 and all(b.get("ccdchip") is None for b in blocks):
        extver = (ext - 1) // 3 + 1
        return next((b for b in blocks if b.get("extver") == extver), None)
    return None


def trails_on_view(proposals: Iterable[Mapping[str, Any]], filetype: str,
                   blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The trails of the pending proposals that lie on a view, in the view's picture pixels.

    Parameters
    ----------
    proposals : iterable of mapping
        Pending proposals (:func:`acsq_mongo.tags.proposals.pending_proposals`);
        those without trails are skipped.
    filetype : str
        The file shown; trails are drawn on the files of the flt's frame only
        (:data:`CHIP_FRAME_FILETYPES`), as the image view draws them.
    blocks : sequence of mapping
        The view's chips: ``extver``, ``ccdchip``, ``row0`` (first row in the
        picture, from the bottom) and ``height``.

    Returns
    -------
    trails : list of dict
        Per trail: ``flag``, ``key``, ``user``, ``chip``, ``extver``, ``snr``,
        ``endpoints`` (as proposed, 0-based chip pixels) and ``picture``
        (``[x0, y0, x1, y1]``, 1-based FITS pixels of the view's picture).
        A trail on a chip the view does not show is left out.
    """
    if filetype not in CHIP_FRAME_FILETYPES:
        return []
    out = []
    for proposal in proposals:
        for trail in (proposal.get("detail") or {}).get("trails") or []:
            block = _block_of(trail, blocks)
            ends = trail.get("endpoints")
            if block is None or not isinstance(ends, (list, tuple)) or len(ends) != 4:
                continue
            x0, y0, x1, y1 = (float(v) for v in ends)
            row0 = int(block.get("row0") or 0)
            out.append({
                "flag": proposal["flag"], "key": proposal["key"], "user": proposal.get("user"),
                "chip": trail.get("chip"), "extver": block.get("extver"),
                "snr": trail.get("snr"), "endpoints": [x0, y0, x1, y1],
                "picture": [round(x0 + 1, 2), round(y0 + row0 + 1, 2),
                            round(x1 + 1, 2), round(y1 + row0 + 1, 2)],
            })
    return out
