"""Small synthetic ACS image files, laid out like the real ones, for quicklook tests."""

from __future__ import annotations

from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits

REAL_WFC_FLT = Path(astropy.__file__).parent / "wcs" / "tests" / "data" / "j94f05bgq_flt.fits"
REAL_STIS_RAW = Path(fits.__file__).parent / "tests" / "data" / "o4sp040b0_raw.fits"


def _primary(detector: str, rootname: str, proposid: int | None,
             imagetyp: str | None = None) -> fits.PrimaryHDU:
    primary = fits.PrimaryHDU()
    primary.header["INSTRUME"] = "ACS"
    if imagetyp is not None:
        primary.header["IMAGETYP"] = imagetyp
    primary.header["DETECTOR"] = detector
    primary.header["ROOTNAME"] = rootname
    if proposid is not None:
        primary.header["PROPOSID"] = proposid
    return primary


def _imset(sci: fits.ImageHDU, extver: int, ccdchip: int | None) -> list[fits.ImageHDU]:
    sci.header["EXTNAME"] = "SCI"
    sci.header["EXTVER"] = extver
    if ccdchip is not None:
        sci.header["CCDCHIP"] = ccdchip
    shape = sci.data.shape
    err = fits.ImageHDU(np.ones(shape, np.float32), name="ERR", ver=extver)
    dq = fits.ImageHDU(np.zeros(shape, np.int16), name="DQ", ver=extver)
    return [sci, err, dq]


def write_wfc(
    path: Path, wfc2: np.ndarray, wfc1: np.ndarray, rootname: str = "j94f05bgq",
    proposid: int | None = 10368, imagetyp: str | None = None,
) -> Path:
    """Write a WFC full frame: ext 1 = SCI,1 = chip 2 (WFC2), ext 4 = SCI,2 = chip 1 (WFC1)."""
    hdus = [_primary("WFC", rootname, proposid, imagetyp)]
    hdus += _imset(fits.ImageHDU(wfc2), 1, 2)
    hdus += _imset(fits.ImageHDU(wfc1), 2, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_single(
    path: Path, data: np.ndarray, detector: str = "HRC", rootname: str = "j8zh21xvq",
    proposid: int | None = 9999, ccdchip: int | None = 1,
) -> Path:
    """Write a one-chip image (HRC, SBC or a WFC subarray)."""
    hdus = [_primary(detector, rootname, proposid)]
    hdus += _imset(fits.ImageHDU(data), 1, ccdchip)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_drizzled(
    path: Path, sci: np.ndarray, wht: np.ndarray, rootname: str = "j94f05010",
    proposid: int | None = 10368,
) -> Path:
    """Write a drizzled product (drz, drc): SCI, WHT and CTX, one each, as AstroDrizzle does."""
    hdus = [_primary("WFC", rootname, proposid, "EXT")]
    hdus.append(fits.ImageHDU(sci.astype(np.float32), name="SCI", ver=1))
    hdus.append(fits.ImageHDU(wht.astype(np.float32), name="WHT", ver=1))
    hdus.append(fits.ImageHDU((wht > 0).astype(np.int32), name="CTX", ver=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_raw_uint16(
    path: Path, counts: np.ndarray, detector: str = "HRC", rootname: str = "j8zh21xvq",
) -> Path:
    """Write unsigned 16-bit counts as HST raw files store them: int16 with BZERO 32768."""
    hdus = [_primary(detector, rootname, 9999)]
    sci = fits.ImageHDU(counts.astype(np.uint16))  # astropy writes BZERO = 32768
    hdus += _imset(sci, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def truncate(path: Path, fraction: float = 0.6) -> Path:
    """Cut a file short, as an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
