"""A trend drawn with matplotlib: ``y`` against ``x``, one colour per group.

:func:`trend_figure` returns the image (PNG or SVG) and, for PNG, where each
point landed in it, in image pixels, so that the web page can lay an HTML
image map over the picture: hovering a point names its rootname, clicking it
opens its image view. That needs no script and no inline style, so it keeps
to the site's Content-Security-Policy (BokehJS does not: it styles its plots
with inline ``<style>`` elements; see docs/guide/plots.md).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from acsq_mongo.plots.colors import group_colors

__all__ = ["RenderedTrend", "trend_figure", "FIGURE_SIZE", "DPI"]

#: The figure's size in inches, and its resolution: 960 x 460 pixels.
FIGURE_SIZE = (9.6, 4.6)
DPI = 100


@dataclass(frozen=True)
class RenderedTrend:
    """The image of a trend, and where its points are in it.

    Attributes
    ----------
    data : bytes
        The PNG or SVG.
    width, height : int
        Its size in pixels.
    pixels : numpy.ndarray
        ``(n, 2)``: each point's column and row in the image (from the top
        left), in the order given; empty for SVG.
    """

    data: bytes
    width: int
    height: int
    pixels: np.ndarray


def _label(value: Any) -> str:
    return "(none)" if value is None else str(value)


def trend_figure(
    x: Sequence[Any],
    y: Sequence[float],
    groups: Sequence[Any],
    *,
    x_label: str,
    y_label: str,
    by_label: str | None,
    title: str = "",
    fmt: str = "png",
) -> RenderedTrend:
    """Draw ``y`` against ``x``, coloured by group.

    Parameters
    ----------
    x : sequence of float or datetime.datetime
        Dates (naive UTC) are drawn on a date axis.
    y : sequence of float
    groups : sequence
        The group of each point (same length); the legend lists the groups
        by number of points, with the count.
    x_label, y_label, by_label : str
        Axis labels, and the legend's title (None: no legend).
    title : str
    fmt : {"png", "svg"}

    Returns
    -------
    rendered : RenderedTrend
    """
    fig = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    dated = bool(len(x)) and isinstance(x[0], datetime.datetime)
    xs = mdates.date2num(list(x)) if dated else np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    group_array = np.array([_label(g) for g in groups], dtype=object)
    order = sorted(set(group_array), key=lambda g: (-int(np.sum(group_array == g)), g))
    colors = group_colors(order)
    for group in order:
        inside = group_array == group
        ax.plot(xs[inside], ys[inside], linestyle="none", marker="o", markersize=3.5,
                alpha=0.8, color=colors[group], label=f"{group} ({int(inside.sum()):,})")
    if dated:
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title, fontsize=11)
    if by_label and len(order) > 0:
        ax.legend(title=by_label, fontsize=8, title_fontsize=9, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    if not len(xs):
        ax.text(0.5, 0.5, "no points", transform=ax.transAxes, ha="center", va="center",
                color="#666666")
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).draw()  # the layout is fixed now: the points' pixels are those saved
    width, height = (int(round(v)) for v in fig.bbox.size)
    pixels = np.empty((0, 2))
    if fmt == "png" and len(xs):
        shown = ax.transData.transform(np.column_stack([xs, ys]))
        pixels = np.column_stack([shown[:, 0], height - shown[:, 1]])
    fig.savefig(buffer, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    return RenderedTrend(buffer.getvalue(), width, height, pixels)


def _metadata(fmt: str) -> dict:
    # No creation date in the file: the same trend gives the same bytes.
    return {"Date": None} if fmt == "svg" else {}
