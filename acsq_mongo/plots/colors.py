"""The colours of groups in every plot: colour-blind safe, one fixed colour per detector."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["PALETTE", "MORE", "DETECTOR_COLORS", "OTHER", "group_colors"]

#: Okabe and Ito's colour-blind safe palette (without black), in order of use.
PALETTE: tuple[str, ...] = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
                            "#d55e00", "#f0e442")
#: The detectors always get the same colour (that of the home page's year chart).
DETECTOR_COLORS: dict[str, str] = {"WFC": "#0072b2", "HRC": "#e69f00", "SBC": "#009e73"}
#: Then, for an eighth group and on: matplotlib's tab20 (distinct, though not colour-blind safe).
MORE: tuple[str, ...] = ("#393b79", "#8c564b", "#17becf", "#bcbd22", "#9467bd", "#7f7f7f",
                         "#e377c2", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
                         "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")
#: Groups past both, and the missing value.
OTHER = "#b0b0b0"


def group_colors(values: Iterable[Any]) -> dict[Any, str]:
    """Return a colour for each group value, in the order given (most points first).

    Detector names keep their own colour; other values take the palette in
    turn, then :data:`MORE`; those past their end (and None) are grey.
    """
    values = list(values)
    colors: dict[Any, str] = {}
    free = list(PALETTE + MORE)
    for value in values:
        if value in DETECTOR_COLORS:
            colors[value] = DETECTOR_COLORS[value]
            if colors[value] in free:
                free.remove(colors[value])
    for value in values:
        if value in colors:
            continue
        colors[value] = free.pop(0) if free and value is not None else OTHER
    return colors
