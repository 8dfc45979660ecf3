"""The home page plot: observations per year by detector (seed Fig. 1), as inline SVG.

Drawn on the server, with no JavaScript library, so it works offline: this
module computes the geometry (stacked bars per year, axis ticks, a legend)
and ``_year_plot.html`` writes it as SVG elements. Every label goes through
the template's autoescaping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from acsq_mongo.fields import DETECTORS

__all__ = ["Bar", "YearPlot", "year_plot", "nice_step", "COLORS"]

#: One colour per detector (others grey), distinguishable by colour-blind readers.
COLORS = {"WFC": "#0072b2", "HRC": "#e69f00", "SBC": "#009e73"}
_OTHER = "#999999"


@dataclass(frozen=True)
class Bar:
    """One detector's share of one year: a rectangle, with a tooltip."""

    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass
class YearPlot:
    """Everything the SVG template needs, in pixels (y grows downward)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str, int]] = field(default_factory=list)
    total: int = 0

    @property
    def bottom(self) -> int:
        """The y of the x axis."""
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        """The x of the plot's right edge."""
        return self.left + self.plot_width


def nice_step(maximum: float, ticks: int = 5) -> int:
    """Return a tick step of 1, 2 or 5 times a power of ten giving about ``ticks`` ticks."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * power >= raw:
            return max(1, int(multiple * power))
    return max(1, int(10 * power))


def year_plot(by_year: Mapping[Any, Mapping[int, int]], width: int = 760,
              height: int = 300) -> YearPlot | None:
    """Lay out stacked bars of observations per year, one colour per detector.

    Parameters
    ----------
    by_year : mapping
        ``{detector: {year: n}}``.
    width, height : int
        Size of the SVG in pixels.

    Returns
    -------
    plot : YearPlot or None
        None if there is no dated observation.
    """
    detectors = [d for d in DETECTORS if d in by_year]
    detectors += sorted((d for d in by_year if d not in DETECTORS), key=str)
    years = sorted({y for counts in by_year.values() for y in counts})
    if not years:
        return None
    years = list(range(years[0], years[-1] + 1))  # gaps show as gaps
    totals = {y: sum(by_year[d].get(y, 0) for d in detectors) for y in years}
    peak = max(totals.values())
    step = nice_step(peak)
    y_max = max(step, math.ceil(peak / step) * step)
    left, top, right_margin, bottom_margin = 56, 16, 12, 34
    plot = YearPlot(width=width, height=height, left=left, top=top,
                    plot_width=width - left - right_margin,
                    plot_height=height - top - bottom_margin)
    slot = plot.plot_width / len(years)
    bar_width = max(1.0, slot * 0.72)
    scale = plot.plot_height / y_max
    label_every = max(1, math.ceil(len(years) * 34 / plot.plot_width))
    for i, year in enumerate(years):
        x = left + i * slot + (slot - bar_width) / 2
        base = float(plot.bottom)
        for detector in detectors:
            n = by_year[detector].get(year, 0)
            if not n:
                continue
            h = n * scale
            base -= h
            plot.bars.append(Bar(round(x, 2), round(base, 2), round(bar_width, 2), round(h, 2),
                                 COLORS.get(str(detector), _OTHER),
                                 f"{year} {detector or 'no detector'}: {n:,}"))
        if (year - years[0]) % label_every == 0:
            plot.x_ticks.append((round(left + i * slot + slot / 2, 2), str(year)))
    for value in range(0, y_max + 1, step):
        plot.y_ticks.append((round(plot.bottom - value * scale, 2), f"{value:,}"))
    plot.legend = [(str(d) if d is not None else "no detector", COLORS.get(str(d), _OTHER),
                    sum(by_year[d].values())) for d in detectors]
    plot.total = sum(totals.values())
    return plot
