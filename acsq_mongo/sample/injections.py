"""Known things put into the sample images, so that measurements of them can be checked.

The generator (:mod:`acsq_mongo.sample.files`) passes every image array it
writes through :func:`inject`, which adds, deterministically from the
rootname, and records in ``SampleRootname.injected`` (saved in the manifest):

``bias``, ``bias_noise``
    raw files: each amplifier's bias level and read noise (DN). The raw SCI
    array gains the physical overscan (prescan) columns real raw files have:
    ``LTV1`` columns before the science columns, read by the left amplifier,
    and as many after them for a chip read by two amplifiers (WFC: 24, HRC:
    19; SBC has none), at the amplifier's bias level plus Gaussian noise; the
    amplifier's science pixels carry the same level.
``dq``
    flt, flc, crj, crc: per chip (``chip1``, ``chip2``), how many pixels of the
    DQ array have each flag counted by the statistics (saturated 256, hot 16,
    warm 64, bad column 128, cosmic ray 4096 or 8192), after a known number of
    each was set at random pixels and one bad column flagged.
``sky``
    flt: per chip, the median sky level in electrons (the scene's sky times
    its mean gradient).
``trail``
    some science exposures: a satellite trail added to the SCI arrays of the
    flt and flc files, ``{"chip", "extver", "endpoints": [x0, y0, x1, y1],
    "amplitude"}`` (0-based pixel coordinates of the chip, electrons at the
    trail's centre line); the others have ``None``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["PRESCAN", "inject", "chip_amps", "overscan_columns", "raw_sci_values",
           "READ_NOISE_DN", "has_trail"]

#: Physical overscan (prescan) columns of a raw chip, per detector (ACS Instrument Handbook).
PRESCAN: dict[str, int] = {"WFC": 24, "HRC": 19}
#: Read noise in the overscan, DN.
READ_NOISE_DN = 2.5
#: Flags set at random pixels of each chip (the counts are recorded after).
_FLAG_PIXELS = {256: 40, 16: 25, 64: 60, 8192: 90}


def _rng(r, *parts: Any) -> np.random.Generator:
    text = ":".join(str(p) for p in (r.rootname, *parts))
    return np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8],
                                                "little"))


def _amps(r) -> str:
    """CCDAMP as the generator writes it (header_values); '' for the SBC."""
    p = r.promoted
    if p["detector"] == "SBC":
        return ""
    return "ABCD" if p["detector"] == "WFC" and not p["subarray"] else "C"


def _ccdchip(r, extver: int) -> int:
    return 2 if extver == 1 and r.n_chips == 2 else 1


def chip_amps(r, extver: int) -> str:
    """The amplifiers that read a chip, left to right: WFC1 is read by A and B, WFC2 by C, D."""
    amps = _amps(r)
    if len(amps) == 4:
        return "AB" if _ccdchip(r, extver) == 1 else "CD"
    return amps


def overscan_columns(r, extver: int = 1) -> tuple[int, int]:
    """(columns before, columns after) the science columns of a raw chip."""
    amps = chip_amps(r, extver)
    lead = PRESCAN.get(r.promoted["detector"], 0) if amps else 0
    return lead, lead if len(amps) == 2 else 0


def raw_sci_values(r, extver: int, values: dict[str, Any]) -> dict[str, Any]:
    """A raw SCI header's values with its overscan: ``LTV1`` and ``CRPIX1`` moved by it."""
    lead, _ = overscan_columns(r, extver)
    out = dict(values)
    out["LTV1"] = float(lead)
    if "CRPIX1" in out:
        out["CRPIX1"] = out["CRPIX1"] + lead
    return out


def has_trail(r) -> bool:
    """Whether a rootname's flt and flc get a satellite trail: a third of science images."""
    p = r.promoted
    if p["obstype"] == "INTERNAL" or p["detector"] == "SBC" or r.kind == "product":
        return False
    return int(hashlib.sha256(f"trail:{r.rootname}".encode()).hexdigest(), 16) % 3 == 0


def inject(scene, r, filetype: str, extname: str, extver: int, data: np.ndarray | None,
           gain: float) -> np.ndarray | None:
    """Return ``data`` with this module's injections (a new array), and record them in ``r``.

    Parameters
    ----------
    scene : acsq_mongo.sample.pixels.Scene
    r : SampleRootname
    filetype, extname : str
    extver : int
    data : ndarray or None
        The array the generator made for this extension.
    gain : float
        CCDGAIN (e-/DN).
    """
    if data is None or filetype not in ("raw", "flt", "flc", "crj", "crc"):
        return data
    chip = f"chip{_ccdchip(r, extver)}"
    if filetype == "raw" and extname == "SCI":
        return _raw(r, extver, data, gain)
    if extname == "DQ":
        return _dq(r, extver, chip, data)
    if extname == "SCI" and filetype == "flt":
        sky = r.injected.setdefault("sky", {})
        if not scene.internal:
            sky[chip] = float(scene.sky * (1.15 + 0.075 * (extver if r.n_chips == 2 else 1)))
    if extname == "SCI" and filetype in ("flt", "flc"):
        return _trail(scene, r, extver, chip, data)
    return data


def _raw(r, extver: int, counts: np.ndarray, gain: float) -> np.ndarray:
    amps = chip_amps(r, extver)
    if not amps:
        return counts
    lead, trail = overscan_columns(r, extver)
    rng = _rng(r, "bias", extver)
    h, w = counts.shape
    science = counts.astype(np.float64)
    levels = {}
    for k, amp in enumerate(amps):
        level = 2100.0 + float(np.round(rng.uniform(-40.0, 40.0), 1))
        levels[amp] = level
        columns = slice(0, w // 2) if len(amps) == 2 and k == 0 else \
            slice(w // 2, w) if len(amps) == 2 else slice(0, w)
        science[:, columns] += level - 2100.0  # the generator's own bias is 2100 DN
    parts = []
    if lead:
        parts.append(rng.normal(levels[amps[0]], READ_NOISE_DN, (h, lead)))
    parts.append(science)
    if trail:
        parts.append(rng.normal(levels[amps[-1]], READ_NOISE_DN, (h, trail)))
    r.injected.setdefault("bias", {}).update(levels)
    r.injected.setdefault("bias_noise", {}).update({amp: READ_NOISE_DN for amp in amps})
    return np.clip(np.rint(np.hstack(parts)), 0, 65535).astype(np.uint16)


def _dq(r, extver: int, chip: str, dq: np.ndarray) -> np.ndarray:
    rng = _rng(r, "dq", extver)  # the same for the flt, flc, crj and crc of a chip
    out = dq.astype(np.int16)
    h, w = out.shape
    for bits, n in _FLAG_PIXELS.items():
        n = min(n, out.size // 50)
        out.flat[rng.choice(out.size, n, replace=False)] |= bits
    out[:, int(rng.integers(0, w))] |= 128
    counts = {name: int(np.count_nonzero(out & bits)) for name, bits in (
        ("saturated", 256), ("hot", 16), ("warm", 64), ("bad_column", 128),
        ("cosmic_ray", 4096 | 8192))}
    r.injected.setdefault("dq", {})[chip] = counts
    return out


def _trail(scene, r, extver: int, chip: str, sci: np.ndarray) -> np.ndarray:
    if not has_trail(r):
        r.injected.setdefault("trail", None)
        return sci
    rng = _rng(r, "trail")
    target = int(rng.integers(1, r.n_chips + 1))
    h, w = sci.shape
    if extver != target:
        return sci
    # From one edge to the opposite one, at a random slope.
    if rng.uniform() < 0.5:
        y0, y1 = float(rng.uniform(0, h - 1)), float(rng.uniform(0, h - 1))
        x0, x1 = 0.0, float(w - 1)
    else:
        x0, x1 = float(rng.uniform(0, w - 1)), float(rng.uniform(0, w - 1))
        y0, y1 = 0.0, float(h - 1)
    noise = float(np.sqrt(max(scene.sky, 0.0) + 16.0))
    amplitude = float(np.round(rng.uniform(4.0, 10.0) * noise, 1))
    yy, xx = np.mgrid[0:h, 0:w]
    length = np.hypot(x1 - x0, y1 - y0)
    distance = np.abs((y1 - y0) * xx - (x1 - x0) * yy + x1 * y0 - y1 * x0) / length
    out = sci + (amplitude * np.exp(-0.5 * (distance / 1.0) ** 2)).astype(np.float32)
    r.injected["trail"] = {"chip": chip, "extver": extver, "amplitude": amplitude,
                           "endpoints": [round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)]}
    return out.astype(np.float32)
