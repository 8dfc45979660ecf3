"""Write the image explorer's colour maps, webapp/static/explorer/colormaps.js, from matplotlib's.

Each map is 256 RGB triplets, as matplotlib samples it (``cmap(i / 255)``,
rounded to 8 bits), written as a hex string. Run it again only to add a map:
``python scripts/make_colormaps.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps

MAPS = ("gray", "viridis", "magma", "inferno", "cividis", "hot", "coolwarm")
OUT = Path(__file__).resolve().parent.parent / "webapp" / "static" / "explorer" / "colormaps.js"


def main() -> None:
    lines = ["// Colour maps of the image explorer: 256 RGB triplets each, from matplotlib's",
             "// maps of the same names. Written by scripts/make_colormaps.py; do not edit.",
             "const HEX = {"]
    for name in MAPS:
        rgb = np.round(colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
        lines.append(f'  {name}: "{rgb.tobytes().hex()}",')
    lines += ["};", "",
              "/** The colour maps by name, each a Uint8Array of 768 (R, G, B of levels 0-255). */",
              "export const COLORMAPS = Object.fromEntries(Object.entries(HEX).map(",
              "  ([name, hex]) =>",
              "  [name, Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16))]));", ""]
    OUT.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
