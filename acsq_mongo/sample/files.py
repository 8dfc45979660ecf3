"""Writing a sample archive: the FITS files of each rootname, the manifest and the README."""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from acsq_mongo.errors import AcsqError
from acsq_mongo.sample import fits_bytes
from acsq_mongo.sample.acs import load_reference
from acsq_mongo.sample.hdus import Hdu, file_hdus
from acsq_mongo.sample.header_values import header_cards, make_header, prepare_templates
from acsq_mongo.sample.pixels import Scene
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


def _write_bytes(path: Path, hdus: Iterator[Hdu], seed: int) -> int:
    """Write a file as bytes (:mod:`acsq_mongo.sample.fits_bytes`); return its HDU count."""
    parts = []
    for hdu in hdus:
        cards = header_cards(hdu.combo, seed, hdu.values, hdu.history, hdu.assigned,
                             hdu.omitted)
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


def _write_astropy(path: Path, hdus: Iterator[Hdu], seed: int) -> int:
    """Write a file through astropy's HDU classes (slower; the oracle of :func:`_write_bytes`)."""
    from astropy.io import fits

    out: list = []
    for hdu in hdus:
        header = make_header(hdu.combo, seed, hdu.values, hdu.history, hdu.omitted)
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
    hdus = file_hdus(r, filetype, seed, scene, reference, written, cache)
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
