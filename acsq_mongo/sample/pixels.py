"""Pixels of a sample image: sky gradient, stars, hot pixels and cosmic rays."""

from __future__ import annotations

import hashlib

import numpy as np

from acsq_mongo.sample.plan import SampleRootname

__all__ = [
]


class Scene:
    """The sky of one rootname: a gradient, stars, hot pixels; cosmic rays per file."""

    def __init__(self, r: SampleRootname, seed: int):
        digest = hashlib.sha256(f"{seed}:{r.rootname}".encode()).digest()
        self.rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        self.r = r
        self.internal = r.promoted["obstype"] == "INTERNAL"
        self.exptime = max(r.promoted["exptime"], 1.0)
        self.sky = 0.0 if self.internal else float(self.rng.uniform(0.02, 0.3)) * self.exptime
        h, w = r.shape
        # Stars over the whole field of view (both WFC chips).
        n_stars = 0 if self.internal else int(self.rng.integers(15, 60)) * r.n_chips
        if h * w < 512 * 512:
            # A small image is a full frame scaled down, not a cut-out: as many stars would
            # crowd it, their wings would hold the 99th percentile and the sky look black.
            n_stars = max(3, n_stars // 4)
        self.stars = [
            (self.rng.uniform(0, h * r.n_chips), self.rng.uniform(0, w),
             10 ** self.rng.uniform(2.0, 4.5) * self.exptime / 100.0)
            for _ in range(n_stars)
        ]

    def chip(self, chip: int, cosmic_rays: bool = True, noise: bool = True) -> np.ndarray:
        """A chip in electrons, float32."""
        h, w = self.r.shape
        rng = self.rng
        y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
        image = np.full((h, w), self.sky, np.float32) * (1.0 + 0.3 * x + 0.15 * y * chip)
        if self.internal:
            image += self._internal_structure(chip)
        offset = (chip - 1) * h
        for sy, sx, flux in self.stars:
            sy -= offset
            if not -5 < sy < h + 5:
                continue  # on the other chip
            y0, x0 = int(sy), int(sx)
            ys, xs = slice(max(0, y0 - 4), min(h, y0 + 5)), slice(max(0, x0 - 4), min(w, x0 + 5))
            yy, xx = np.mgrid[ys, xs]
            r2 = (yy - sy) ** 2 + (xx - sx) ** 2
            image[ys, xs] += (flux / (2 * np.pi * 1.44) * np.exp(-r2 / (2 * 1.44))).astype(
                np.float32)
        if noise:
            image += rng.normal(0.0, 1.0, (h, w)).astype(np.float32) * np.sqrt(
                np.abs(image) + 16.0)
        n_hot = max(1, h * w // 1000)
        image[rng.integers(0, h, n_hot), rng.integers(0, w, n_hot)] += rng.uniform(
            500, 20000, n_hot).astype(np.float32)
        if cosmic_rays:
            for _ in range(max(1, int(h * w * self.exptime / 2.0e7))):
                cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
                length = int(rng.integers(1, 8))
                dy, dx = rng.choice((-1, 0, 1)), rng.choice((0, 1))
                for k in range(length):
                    py, px = cy + k * dy, cx + k * dx
                    if 0 <= py < h and 0 <= px < w:
                        image[py, px] += float(rng.uniform(800, 6000))
        return image


    def _internal_structure(self, chip: int) -> np.ndarray:
        """What a DARK or BIAS frame shows under a stretch that looks past its noise.

        A column pattern (bias structure), and for a DARK the dark current
        (0.01 e/s), amplifier glow rising towards the chip's readout corners,
        and a few warm columns; hot pixels are added with every chip.
        """
        h, w = self.r.shape
        digest = hashlib.sha256(f"internal:{self.r.rootname}:{chip}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        structure = np.zeros((h, w), np.float32)
        structure += rng.normal(0.0, 1.5, w).astype(np.float32)[None, :]
        if self.r.promoted["imagetyp"] != "DARK":
            return structure
        structure += 0.01 * self.exptime
        y = np.arange(h, dtype=np.float32)[:, None]
        x = np.arange(w, dtype=np.float32)[None, :]
        edge = y if chip % 2 else (h - 1 - y)  # WFC's amplifiers sit at the outer edges
        for corner in (x, w - 1 - x):
            distance = np.hypot(edge, corner)
            structure += 0.1 * self.exptime * np.exp(-distance / (0.1 * max(h, w)))
        for column in rng.integers(0, w, max(1, w // 64)):
            structure[:, column] += 0.02 * self.exptime
        return structure


def raw_counts(electrons: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
    dn = electrons / gain + 2100.0 + rng.normal(0, 0.5, electrons.shape)
    return np.clip(np.rint(dn), 0, 65535).astype(np.uint16)
