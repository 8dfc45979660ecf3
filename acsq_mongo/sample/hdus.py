"""What each HDU of a sample file holds: its header values, its image or its table.

:func:`file_hdus` yields the HDUs of one file in order, primary first, making each
array when its HDU is reached (the scene's random numbers are drawn in that
order). :mod:`~acsq_mongo.sample.files` writes them, directly as bytes or through
astropy.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from acsq_mongo.sample.eras import era_keywords
from acsq_mongo.sample.header_values import (
    HISTORY,
    extension_header_values,
    primary_header_values,
    template_value,
)
from acsq_mongo.sample.injections import inject
from acsq_mongo.sample.pixels import Scene, raw_counts
from acsq_mongo.sample.plan import SampleRootname

__all__ = ["Hdu", "file_hdus"]


_EXTNAMES = {"drz": ("SCI", "WHT", "CTX"), "drc": ("SCI", "WHT", "CTX"), "spt": ("UDL",),
             "asn": ("ASN",), "jit": ("JIT",), "jif": ("JIF",)}


def _hdu_layout(r: SampleRootname, filetype: str, reference: dict) -> list[tuple[str, int]]:
    """(EXTNAME, EXTVER) of every extension of a file."""
    n_hdus = reference["hdu_count"][r.promoted["detector"]][filetype]
    if filetype in ("raw", "flt", "flc", "crj", "crc"):
        if r.n_chips == 1:
            return [("SCI", 1), ("ERR", 1), ("DQ", 1)]
        return [(name, chip) for chip in (1, 2) for name in ("SCI", "ERR", "DQ")]
    names = _EXTNAMES[filetype]
    if len(names) == 1:
        return [(names[0], k) for k in range(1, n_hdus)]
    return [(names[k], 1) for k in range(n_hdus - 1)]


def _image_data(scene: Scene, r: SampleRootname, filetype: str, extname: str, extver: int,
                gain: float, cache: dict) -> np.ndarray | None:
    h, w = r.shape
    chip = extver if r.n_chips == 2 else 1
    if filetype in ("raw", "flt", "flc", "crj", "crc"):
        if (chip, "e") not in cache:
            cache[(chip, "e")] = scene.chip(chip)
        electrons = cache[(chip, "e")]
        if extname == "SCI":
            if filetype == "raw":
                return raw_counts(electrons, gain, scene.rng)
            if filetype in ("crj", "crc"):
                return scene.chip(chip, cosmic_rays=False)
            if filetype == "flc":
                return electrons * np.float32(1.01)
            return electrons
        if filetype == "raw":
            return None  # raw ERR and DQ are empty (NAXIS = 0), as in real raw files
        if extname == "ERR":
            return np.sqrt(np.abs(electrons) + 16.0).astype(np.float32)
        dq = np.zeros((h, w), np.int16)
        dq[electrons > 15000] = 256
        return dq
    if filetype in ("drz", "drc"):
        if ("drizzled", filetype) not in cache:
            cache[("drizzled", filetype)] = _drizzled(scene, r, filetype)
        sci, wht = cache[("drizzled", filetype)]
        if extname == "SCI":
            return sci
        if extname == "WHT":
            return wht
        return (wht > 0).astype(np.int32)
    if filetype == "spt":
        return (np.arange(160) % 97).astype(np.int16)
    if filetype == "jif":
        return (scene.rng.normal(100, 5, (16, 16))).astype(np.int16)
    return None


def _drizzled(scene: Scene, r: SampleRootname, filetype: str) -> tuple[np.ndarray, np.ndarray]:
    """SCI (e/s) and WHT of a drizzled product: every chip, in a tilted field with an empty border.

    AstroDrizzle's output frame is north up, so the detector's field sits in it
    tilted, with a border of zero weight. That border is 0 in the SCI of a drz
    and NaN in that of a drc here, the two ways real files have it.
    """
    chips = [scene.chip(c, cosmic_rays=False) for c in range(r.n_chips, 0, -1)]
    sci = np.vstack(chips) / np.float32(scene.exptime)
    h, w = sci.shape
    angle = np.deg2rad(8.0 + (sum(map(ord, r.rootname)) % 20))
    yy = np.arange(h, dtype=np.float32)[:, None] - np.float32((h - 1) / 2)
    xx = np.arange(w, dtype=np.float32)[None, :] - np.float32((w - 1) / 2)
    # Inside: the field rotated by ``angle``, shrunk to fit the frame.
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    inside = (np.abs(u) < 0.42 * w) & (np.abs(v) < 0.42 * h)
    wht = np.where(inside, np.float32(scene.exptime), np.float32(0.0)).astype(np.float32)
    sci[~inside] = np.nan if filetype == "drc" else 0.0
    return sci.astype(np.float32), wht


def _table_columns(r: SampleRootname, filetype: str, combo: str, seed: int, reference: dict
                   ) -> list[tuple[str, str, np.ndarray]]:
    """(name, TFORM, array) of each column of an asn or jit table."""
    if filetype == "asn":
        members = r.members or [r.rootname]
        names = [m.upper() for m in members if m != r.rootname]
        types = ["EXP-CRJ"] * len(names)
        names.append(r.rootname.upper())
        types.append("PROD-CRJ")
        return [("MEMNAME", "14A", np.array(names)), ("MEMTYPE", "14A", np.array(types)),
                ("MEMPRSNT", "L", np.ones(len(names), bool))]
    keys = dict(reference["keywords"].get(combo, []))
    n_cols = sum(1 for k in keys if k.startswith("TTYPE")) or 4
    digest = hashlib.sha256(f"{seed}:{r.rootname}:{combo}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    columns = ["SECONDS", "V2_DOM", "V3_DOM", "V2_ROLL", "V3_ROLL", "SI_V2_AVG", "SI_V3_AVG",
               "RA", "DEC", "ROLL", "LIMBANG", "BRIGHT"]
    return [(columns[k] if k < len(columns) else f"COL{k + 1}", "E",
             rng.normal(0, 1, 8).astype(np.float32)) for k in range(n_cols)]


class Hdu(NamedTuple):
    """What one HDU of a file holds, for either writer."""

    combo: str
    values: dict[str, Any]
    history: tuple[str, ...] = ()
    data: np.ndarray | None = None
    columns: list[tuple[str, str, np.ndarray]] | None = None
    assigned: dict[str, Any] | None = None  # set after the header is made (header[key] = v)
    groups: bool = False
    omitted: frozenset[str] = frozenset()  # template keywords left out (eras.era_keywords)


def file_hdus(r: SampleRootname, filetype: str, seed: int, scene: Scene, reference: dict,
               written: datetime.datetime, cache: dict) -> Iterator[Hdu]:
    """The HDUs of one file, primary first; each array made when its HDU is reached."""
    detector = r.promoted["detector"].lower()
    layout = _hdu_layout(r, filetype, reference)
    primary_values = primary_header_values(r, filetype, len(layout) + 1, written)
    history = HISTORY.get("drz" if filetype in ("drz", "drc") else filetype, ())
    if filetype in ("flc", "crj", "crc"):
        history = HISTORY["flt"]
    combo = f"{detector}_{filetype}_0"
    groups = any(key == "GROUPS" for key, _ in reference["keywords"].get(combo, []))
    era_values, omitted = era_keywords(r)  # a WFC file's keywords before or after SM4
    yield Hdu(combo, {**primary_values, **era_values}, history, groups=groups, omitted=omitted)
    gain = primary_values["CCDGAIN"]
    for ext, (extname, extver) in enumerate(layout, start=1):
        combo = f"{detector}_{filetype}_{ext}"
        values = extension_header_values(r, filetype, extname, extver)
        if filetype in ("asn", "jit"):
            yield Hdu(combo, values, columns=_table_columns(r, filetype, combo, seed, reference))
            continue
        data = inject(scene, r, filetype, extname, extver,
                      _image_data(scene, r, filetype, extname, extver, gain, cache), gain)
        assigned = None
        if data is None:
            h, w = r.shape
            # The constant value of the empty array, of the inventory's type.
            pixvalue = 0 if isinstance(template_value(combo, seed, "PIXVALUE"), int) else 0.0
            assigned = {"NPIX1": w, "NPIX2": h, "PIXVALUE": pixvalue}
        yield Hdu(combo, values, data=data, assigned=assigned)
