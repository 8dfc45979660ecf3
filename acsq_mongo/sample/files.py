"""Writing a sample archive: the FITS files of each rootname, the manifest and the README."""

from __future__ import annotations

import datetime
import hashlib
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from acsq_mongo.errors import AcsqError
from acsq_mongo.sample import fits_bytes
from acsq_mongo.sample.acs import load_reference
from acsq_mongo.sample.header_values import (
    HISTORY,
    extension_header_values,
    header_cards,
    make_header,
    prepare_templates,
    primary_header_values,
    template_value,
)
from acsq_mongo.sample.injections import inject
from acsq_mongo.sample.pixels import Scene, raw_counts
from acsq_mongo.sample.plan import SampleArchive, SampleRootname, plan_rootnames

__all__ = [
    "MANIFEST_NAME",
    "POOL_MIN_ROOTNAMES",
    "PROPOSAL_TYPES_NAME",
    "make_sample_archive",
    "read_manifest",
    "write_rootname",
]


#: What the generator wrote, at the archive root.
MANIFEST_NAME = "sample_manifest.json"

#: The proposal-type table of a sample archive, for the ``proposal_types`` setting.
PROPOSAL_TYPES_NAME = "proposal_types.csv"

#: From how many rootnames :func:`make_sample_archive` writes in several processes.
POOL_MIN_ROOTNAMES = 200




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


class _Hdu(NamedTuple):
    """What one HDU of a file holds, for either writer."""

    combo: str
    values: dict[str, Any]
    history: tuple[str, ...] = ()
    data: np.ndarray | None = None
    columns: list[tuple[str, str, np.ndarray]] | None = None
    assigned: dict[str, Any] | None = None  # set after the header is made (header[key] = v)
    groups: bool = False


def _file_hdus(r: SampleRootname, filetype: str, seed: int, scene: Scene, reference: dict,
               written: datetime.datetime, cache: dict) -> Iterator[_Hdu]:
    """The HDUs of one file, primary first; each array made when its HDU is reached."""
    detector = r.promoted["detector"].lower()
    layout = _hdu_layout(r, filetype, reference)
    primary_values = primary_header_values(r, filetype, len(layout) + 1, written)
    history = HISTORY.get("drz" if filetype in ("drz", "drc") else filetype, ())
    if filetype in ("flc", "crj", "crc"):
        history = HISTORY["flt"]
    combo = f"{detector}_{filetype}_0"
    groups = any(key == "GROUPS" for key, _ in reference["keywords"].get(combo, []))
    yield _Hdu(combo, primary_values, history, groups=groups)
    gain = primary_values["CCDGAIN"]
    for ext, (extname, extver) in enumerate(layout, start=1):
        combo = f"{detector}_{filetype}_{ext}"
        values = extension_header_values(r, filetype, extname, extver)
        if filetype in ("asn", "jit"):
            yield _Hdu(combo, values, columns=_table_columns(r, filetype, combo, seed, reference))
            continue
        data = inject(scene, r, filetype, extname, extver,
                      _image_data(scene, r, filetype, extname, extver, gain, cache), gain)
        assigned = None
        if data is None:
            h, w = r.shape
            # The constant value of the empty array, of the inventory's type.
            pixvalue = 0 if isinstance(template_value(combo, seed, "PIXVALUE"), int) else 0.0
            assigned = {"NPIX1": w, "NPIX2": h, "PIXVALUE": pixvalue}
        yield _Hdu(combo, values, data=data, assigned=assigned)


def _write_bytes(path: Path, hdus: Iterator[_Hdu], seed: int) -> int:
    """Write a file as bytes (:mod:`acsq_mongo.sample.fits_bytes`); return its HDU count."""
    parts = []
    for hdu in hdus:
        cards = header_cards(hdu.combo, seed, hdu.values, hdu.history, hdu.assigned)
        if not parts:
            parts.append(fits_bytes.primary_hdu(cards, hdu.groups))
        elif hdu.columns is not None:
            parts.append(fits_bytes.bintable_hdu(hdu.columns, cards))
        else:
            parts.append(fits_bytes.image_hdu(cards, hdu.data))
    with open(path, "wb") as f:
        for part in parts:
            f.write(part)
    return len(parts)


def _write_astropy(path: Path, hdus: Iterator[_Hdu], seed: int) -> int:
    """Write a file through astropy's HDU classes (slower; the oracle of :func:`_write_bytes`)."""
    from astropy.io import fits

    out: list = []
    for hdu in hdus:
        header = make_header(hdu.combo, seed, hdu.values, hdu.history)
        if not out:
            item = fits.PrimaryHDU()
            item.header.extend(header, end=True)
            if hdu.groups:
                item.header.insert("NAXIS", ("GROUPS", False), after=True)
        elif hdu.columns is not None:
            item = fits.BinTableHDU.from_columns(
                [fits.Column(name, tform, array=array) for name, tform, array in hdu.columns])
            item.header.extend(header, unique=True)
        else:
            # (Not ImageHDU(data, header): that copies the header and merges it card by card.)
            item = fits.ImageHDU(data=hdu.data)
            item.header.extend(header, end=True)
            for key, value in (hdu.assigned or {}).items():
                item.header[key] = value
        out.append(item)
    # The header cards were verified (silentfix) as they were made (header_values._card);
    # checking them all again costs as much as making them.
    fits.HDUList(out).writeto(path, output_verify="ignore", overwrite=True)
    return len(out)


_WRITERS = {"bytes": _write_bytes, "astropy": _write_astropy}


def _write_file(path: Path, r: SampleRootname, filetype: str, seed: int, scene: Scene,
                reference: dict, written: datetime.datetime, cache: dict,
                writer: str = "bytes") -> int:
    hdus = _file_hdus(r, filetype, seed, scene, reference, written, cache)
    n_hdus = _WRITERS[writer](path, hdus, seed)
    stamp = (written - datetime.datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (stamp, stamp))
    return n_hdus


def write_rootname(
    archive: str | os.PathLike, r: SampleRootname, seed: int = 0,
    reference: dict | None = None, writer: str = "bytes",
) -> SampleRootname:
    """Write the files of one planned rootname into ``archive``.

    ``writer="astropy"`` writes the same bytes through astropy's HDU classes, ~5
    times slower: the oracle of the direct writer (:mod:`~acsq_mongo.sample.fits_bytes`).

    Returns
    -------
    r : SampleRootname
        The same, with ``n_hdus`` filled in.
    """
    reference = reference or load_reference()
    folder = Path(archive) / r.path
    folder.mkdir(parents=True, exist_ok=True)
    scene = Scene(r, seed)
    date_obs = datetime.datetime.fromisoformat(r.promoted["date_obs"])
    written = date_obs + datetime.timedelta(days=1, hours=3)
    cache: dict = {}
    for filetype in r.filetypes:
        path = folder / f"{r.rootname}_{filetype}.fits"
        r.n_hdus[filetype] = _write_file(path, r, filetype, seed, scene, reference, written,
                                         cache, writer)
    return r


def make_sample_archive(
    out: str | os.PathLike,
    n_rootnames: int = 50,
    seed: int = 0,
    full_size: bool = False,
    progress: Callable[[int, int, SampleRootname], None] | None = None,
    workers: int | None = None,
    writer: str = "bytes",
) -> SampleArchive:
    """Write a realistic sample archive.

    Parameters
    ----------
    out : path-like
        The archive root. It must not exist, or be empty.
    n_rootnames : int
        How many rootnames to write (association products count as rootnames).
    seed : int
        The same seed gives the same bytes.
    full_size : bool
        Real image dimensions instead of small ones.
    progress : callable, optional
        Called as ``progress(done, total, rootname)`` after each rootname, in plan order.
    workers : int, optional
        Processes writing rootnames at once (the files are the same bytes for
        any number; forks, on Linux only). Default: one per core for
        :data:`POOL_MIN_ROOTNAMES` rootnames or more, else 1.
    writer : {"bytes", "astropy"}
        How files are written: directly as bytes, or (the same bytes, slower)
        through astropy's HDU classes, for tests and benchmarks.

    Returns
    -------
    archive : SampleArchive
        What was written; also saved as ``sample_manifest.json`` in ``out``, with
        ``proposal_types.csv``, the proposal types for the ``proposal_types`` setting
        (FITS headers do not hold them).

    Raises
    ------
    AcsqError
        If ``out`` is a non-empty folder or a file, ``n_rootnames`` < 1 or ``writer``
        unknown.
    """
    root = Path(out)
    if n_rootnames < 1:
        raise AcsqError("--rootnames must be at least 1")
    if writer not in _WRITERS:
        raise AcsqError(f"unknown writer {writer!r}; choose one of {', '.join(_WRITERS)}")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise AcsqError(f"{root} exists and is not an empty folder; choose a new one")
    root.mkdir(parents=True, exist_ok=True)
    plan = plan_rootnames(n_rootnames, seed, full_size)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if len(plan) >= POOL_MIN_ROOTNAMES else 1
    if workers > 1 and writer == "bytes":
        prepare_templates(seed)
    for done, r in enumerate(_write_all(root, plan, seed, workers, writer), start=1):
        plan[done - 1] = r
        if progress is not None:
            progress(done, len(plan), r)
    archive = SampleArchive(root=root, seed=seed, full_size=full_size, rootnames=plan)
    manifest = {
        "seed": seed, "full_size": full_size, "n_rootnames": len(plan),
        "n_files": archive.n_files, "rootnames": [asdict(r) for r in plan],
    }
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    types = sorted({(r.promoted["proposid"], r.promoted["proposal_type"]) for r in plan
                    if r.promoted.get("proposal_type")})
    (root / PROPOSAL_TYPES_NAME).write_text(
        "proposid,proposal_type\n" + "".join(f"{pid},{kind}\n" for pid, kind in types))
    (root / "README.txt").write_text(
        f"Sample ACS archive written by `acsq sample` (seed {seed}, {len(plan)} rootnames, "
        f"{'full-size' if full_size else 'small'} images).\n"
        f"{MANIFEST_NAME} lists what was written; {PROPOSAL_TYPES_NAME} is the table of "
        "proposal types for ACSQ_PROPOSAL_TYPES. Not real data.\n"
    )
    return archive


def _write_one(job: tuple[Path, SampleRootname, int, str]) -> SampleRootname:
    root, r, seed, writer = job
    return write_rootname(root, r, seed, writer=writer)


def _write_all(root: Path, plan: list[SampleRootname], seed: int, workers: int, writer: str
               ) -> Iterator[SampleRootname]:
    """Write every planned rootname, ``workers`` processes at once; yield each in plan order."""
    jobs = ((root, r, seed, writer) for r in plan)
    if workers <= 1 or not sys.platform.startswith("linux"):
        yield from map(_write_one, jobs)
        return
    # Forks: they start at once, and need no `if __name__ == "__main__"` in the caller's
    # script (spawned processes import it again).
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_write_one, jobs, chunksize=8)


def read_manifest(root: str | os.PathLike) -> SampleArchive:
    """Read back what :func:`make_sample_archive` wrote into ``root``."""
    root = Path(root)
    data = json.loads((root / MANIFEST_NAME).read_text())
    rootnames = []
    for item in data["rootnames"]:
        item["shape"] = tuple(item["shape"])
        rootnames.append(SampleRootname(**item))
    return SampleArchive(root=root, seed=data["seed"], full_size=data["full_size"],
                         rootnames=rootnames)
