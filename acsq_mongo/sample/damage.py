"""Spoil a sample archive with the bad files a real one holds, for fault tests.

:func:`add_bad_files` damages a few files of a sample archive written by
:func:`acsq_mongo.sample.make_sample_archive`, the way archives go wrong in
practice, and adds one rootname of another instrument:

``truncated``
    an flt cut short, as an interrupted copy leaves it;
``empty``
    a raw file of zero bytes;
``not FITS``
    an spt file that is an HTML error page (a failed download);
``non-ACS``
    a new rootname folder whose one raw file is a STIS exposure;
``NaN image``
    an flt whose science pixels are all NaN (its headers are fine).

Each kind hits a different rootname, chosen by the seed. The archive stays
a valid layout: only file contents change, and one folder is added.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acsq_mongo.sample.plan import SampleArchive

__all__ = ["BadFile", "add_bad_files", "NON_ACS_ROOTNAME"]

#: The rootname of the STIS exposure added to the archive.
NON_ACS_ROOTNAME = "o8zz01abq"


@dataclass(frozen=True)
class BadFile:
    """One damaged file.

    Attributes
    ----------
    kind : str
        ``truncated``, ``empty``, ``not FITS``, ``non-ACS`` or ``NaN image``.
    rootname : str
    path : str
        Relative to the archive root, as ingest reports it.
    """

    kind: str
    rootname: str
    path: str


def add_bad_files(archive: SampleArchive, seed: int = 0) -> list[BadFile]:
    """Damage files of ``archive`` in place; return what was damaged.

    Parameters
    ----------
    archive : SampleArchive
        Needs at least three rootnames with an flt, one of them with a raw
        and one with an spt.
    seed : int
        Which rootnames are hit.

    Returns
    -------
    bad : list of BadFile
        One per kind, in the order of the module docstring.
    """
    rng = random.Random(seed)
    root = Path(archive.root)
    with_flt = sorted((r for r in archive.rootnames if "flt" in r.filetypes),
                      key=lambda r: r.rootname)
    rng.shuffle(with_flt)
    truncated, nan_image = with_flt[0], with_flt[1]
    rest = [r for r in with_flt[2:] if {"raw", "spt"} <= set(r.filetypes)]
    empty, not_fits = rest[0], rest[-1] if len(rest) > 1 else rest[0]

    def path(r, filetype: str) -> Path:
        return root / r.path / f"{r.rootname}_{filetype}.fits"

    flt = path(truncated, "flt")
    data = flt.read_bytes()
    flt.write_bytes(data[: len(data) * 3 // 5])
    path(empty, "raw").write_bytes(b"")
    path(not_fits, "spt").write_bytes(b"<html><body>504 Gateway Timeout</body></html>\n" * 90)
    stis = _write_stis(root)
    _fill_with_nan(path(nan_image, "flt"))
    bad = [
        BadFile("truncated", truncated.rootname, f"{truncated.path}/{flt.name}"),
        BadFile("empty", empty.rootname, f"{empty.path}/{empty.rootname}_raw.fits"),
        BadFile("not FITS", not_fits.rootname, f"{not_fits.path}/{not_fits.rootname}_spt.fits"),
        BadFile("non-ACS", NON_ACS_ROOTNAME, stis.relative_to(root).as_posix()),
        BadFile("NaN image", nan_image.rootname, f"{nan_image.path}/{nan_image.rootname}_flt.fits"),
    ]
    return bad


def _write_stis(root: Path) -> Path:
    from astropy.io import fits

    folder = root / NON_ACS_ROOTNAME[:4] / NON_ACS_ROOTNAME
    folder.mkdir(parents=True, exist_ok=True)
    primary = fits.PrimaryHDU()
    primary.header["ROOTNAME"] = NON_ACS_ROOTNAME
    primary.header["INSTRUME"] = "STIS"
    primary.header["DETECTOR"] = "CCD"
    primary.header["PROPOSID"] = 8888
    sci = fits.ImageHDU(np.zeros((16, 16), np.int16), name="SCI")
    path = folder / f"{NON_ACS_ROOTNAME}_raw.fits"
    fits.HDUList([primary, sci]).writeto(path)
    return path


def _fill_with_nan(path: Path) -> None:
    from astropy.io import fits

    with fits.open(path, mode="update") as hdul:
        for hdu in hdul:
            if hdu.name == "SCI" and hdu.data is not None:
                hdu.data = np.full(hdu.data.shape, np.nan, np.float32)
