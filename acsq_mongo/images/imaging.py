"""Reading the science pixels of an ACS image file, chips stitched into one mosaic.

:func:`read_mosaic` reads every ``SCI`` extension of a raw, flt, flc, crj,
crc, drz or drc file (astropy applies BZERO/BSCALE) and stacks them into one
2-D ``float32`` array in **FITS orientation**: row 0 is the detector's
``y = 1`` row, so ``plt.imshow(mosaic.data, origin="lower")`` and DS9 show
the same picture.

Drizzled products (drz, drc) have one SCI extension, and a ``WHT``
extension of the same EXTVER and shape: pixels of zero (or non-finite)
weight, the border around the drizzled field of view, are set to NaN
whatever their SCI value (AstroDrizzle writes 0 or NaN there), so the
stretch leaves them out of its limits and draws them black. crj and crc
have the chips of an flt and are stitched the same way.

Stitching convention
--------------------
ACS/WFC full frames have two chips: extension 1 (``SCI,1``) is chip 2
(WFC2, ``CCDCHIP = 2``) and extension 4 (``SCI,2``) is chip 1 (WFC1,
``CCDCHIP = 1``). In the usual "as displayed" view of ACS/WFC (DS9 or the
ACS Instrument Handbook's full-frame figures, ``y`` increasing upward) WFC1
sits above WFC2. The WCS agrees: in the real ``j94f05bgq_flt.fits``, the
centre of chip 1 maps to ``y ~ 3090`` in chip 2's pixel frame, i.e. straight
above chip 2 along ``+y``, and ``det(CD) < 0``, so this view shows the sky
unmirrored (rotated by the telescope roll, not turned north up).

So chips are stacked bottom to top by *decreasing* ``CCDCHIP``: WFC2 in rows
0-2047, WFC1 in rows 2048-4095 of a 4096 x 4096 flt mosaic (4144 x 4136 for a
raw with its overscan). No inter-chip gap is inserted (the ~50 px gap would
need the distortion model to place exactly); columns are not shifted. If any
SCI extension lacks ``CCDCHIP``, the file order is used instead (``SCI,1`` at
the bottom). Subarrays and HRC/SBC images have one SCI extension and are
returned as they are. Extensions of different widths are left-aligned and
padded with NaN (drawn black).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from acsq_mongo.errors import AcsqError

__all__ = ["ImageFile", "Mosaic", "ImageReadError", "mosaic_of", "open_image", "read_mosaic"]


class ImageReadError(AcsqError):
    """A FITS file has no usable science pixels (corrupt, truncated, no SCI)."""


@dataclass(frozen=True)
class Mosaic:
    """The science pixels of one file, chips stitched.

    Attributes
    ----------
    data : ndarray
        2-D ``float32`` array in FITS orientation (row 0 = bottom), native
        byte order, writable.
    extensions : tuple of int
        HDU indices of the SCI extensions, in the order they are stacked,
        bottom to top (``(1, 4)`` for a WFC full frame).
    imagetyp : str or None
        The primary header's ``IMAGETYP`` (``EXT``, ``DARK``, ``BIAS``...),
        upper case, or None if it has none; the stretch may depend on it.
    masked : int
        Pixels set to NaN because their weight (``WHT``) is zero.
    """

    data: np.ndarray
    extensions: tuple[int, ...]
    imagetyp: str | None = None
    masked: int = 0


@dataclass(frozen=True)
class _Chip:
    ext: int
    ccdchip: int | None
    pixels: np.ndarray
    weight: np.ndarray | None = None


@dataclass(frozen=True)
class ImageFile:
    """An ACS image file, open: what :func:`open_image` yields.

    Attributes
    ----------
    hdulist : astropy.io.fits.HDUList
        Opened as astropy does by default (memory-mapped; BZERO/BSCALE applied
        to the data as it is read).
    size : int
        The file's size in bytes, to detect truncation (very large for a
        gzip file, whose offsets are of the uncompressed bytes).
    name : str
        The file's name, for messages.
    """

    hdulist: fits.HDUList
    size: int
    name: str


@contextlib.contextmanager
def open_image(path: str | os.PathLike) -> Iterator[ImageFile]:
    """Open an ACS image file once, for :func:`mosaic_of` and the image statistics.

    Raises
    ------
    ImageReadError
        If the file is not FITS. The message is one line.
    OSError
        If the file cannot be opened at all (missing, unreadable).
    """
    path = Path(path)
    file_size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(2) == b"\x1f\x8b":
            # gzip (``_flt.fits.gz``): offsets are of the uncompressed bytes, which astropy
            # reads to the end; a truncated stream is its error (EOFError), caught below.
            file_size = 2**63
    # Format quirks (bad cards, "file may have been truncated") are settled
    # here: truncation is checked explicitly in mosaic_of, the rest do not matter
    # for the pixels.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # astropy's default memory-maps the file (float SCI data is then
            # read once, straight into the mosaic) and, unlike memmap=True,
            # still applies BZERO/BSCALE to integer data.
            hdulist = fits.open(path)
        except (FileNotFoundError, PermissionError):
            raise
        except Exception as exc:  # astropy raises many kinds on garbage input
            raise ImageReadError(f"not a readable FITS file: {_describe(exc)}") from None
    with hdulist:
        yield ImageFile(hdulist, file_size, path.name)


def read_mosaic(path: str | os.PathLike) -> Mosaic:
    """Read and stitch every SCI extension of an ACS image file.

    Parameters
    ----------
    path : path-like
        A raw, flt, flc, crj, crc, drz or drc FITS file (any FITS file with
        ``SCI`` image extensions works).

    Returns
    -------
    mosaic : Mosaic

    Raises
    ------
    ImageReadError
        If the file is not FITS, is truncated, has no SCI extension, or a
        SCI extension is not a 2-D image. The message is one line.
    OSError
        If the file cannot be opened at all (missing, unreadable).
    """
    with open_image(path) as image:
        return mosaic_of(image)


def mosaic_of(image: ImageFile) -> Mosaic:
    """Read and stitch every SCI extension of a file :func:`open_image` opened.

    See :func:`read_mosaic`, which raises the same errors.
    """
    hdulist, file_size, name = image.hdulist, image.size, image.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sci = [(i, hdu) for i, hdu in enumerate(hdulist) if _is_sci(hdu)]
        except Exception as exc:
            raise ImageReadError(f"corrupt FITS structure: {_describe(exc)}") from None
        if not sci:
            raise ImageReadError(f"no SCI image extension in {name}")
        chips = [_read_chip(i, hdu, file_size, name) for i, hdu in sci]
        chips = [_with_weight(chip, hdulist, file_size) for chip in chips]
        imagetyp = hdulist[0].header.get("IMAGETYP")
        imagetyp = (imagetyp.strip().upper() or None) if isinstance(imagetyp, str) else None
        return _stitch(chips, imagetyp)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_sci(hdu: fits.hdu.base._BaseHDU) -> bool:
    return isinstance(hdu, (fits.ImageHDU, fits.CompImageHDU)) and hdu.name.upper() == "SCI"


def _read_chip(ext: int, hdu: fits.ImageHDU, file_size: int, name: str) -> _Chip:
    header = hdu.header
    ccdchip = header.get("CCDCHIP")
    ccdchip = ccdchip if isinstance(ccdchip, int) and not isinstance(ccdchip, bool) else None
    naxis = header.get("NAXIS", 0)
    if naxis == 0:
        # A constant array stored as keywords (NPIX1, NPIX2, PIXVALUE), as
        # HST pipelines write for uniform extensions.
        npix1, npix2 = header.get("NPIX1"), header.get("NPIX2")
        if isinstance(npix1, int) and isinstance(npix2, int) and npix1 > 0 and npix2 > 0:
            value = header.get("PIXVALUE", 0.0)
            return _Chip(ext, ccdchip, np.full((npix2, npix1), value, dtype=np.float32))
        raise ImageReadError(f"SCI extension {ext} of {name} has no data")

    if not isinstance(hdu, fits.CompImageHDU):
        shape = [header.get(f"NAXIS{k}", 0) for k in range(1, naxis + 1)]
        needed = hdu.fileinfo()["datLoc"] + abs(header["BITPIX"]) // 8 * int(np.prod(shape))
        if needed > file_size:
            raise ImageReadError(
                f"truncated file: {name} has {file_size} bytes but SCI extension {ext} "
                f"ends at byte {needed}"
            )
    try:
        pixels = hdu.data  # astropy applies BZERO/BSCALE
    except Exception as exc:
        raise ImageReadError(
            f"cannot read SCI extension {ext} of {name}: {_describe(exc)}"
        ) from None
    if pixels is None:
        raise ImageReadError(f"SCI extension {ext} of {name} has no data")
    if pixels.ndim > 2 and all(n == 1 for n in pixels.shape[:-2]):
        pixels = pixels.reshape(pixels.shape[-2:])  # degenerate axes, e.g. NAXIS3 = 1
    if pixels.ndim != 2:
        raise ImageReadError(
            f"SCI extension {ext} of {name} is {pixels.ndim}-D, not a 2-D image"
        )
    return _Chip(ext, ccdchip, pixels)


def _with_weight(chip: _Chip, hdulist: fits.HDUList, file_size: int) -> _Chip:
    """Attach the chip's ``WHT`` array (same EXTVER and shape), if the file has one."""
    extver = hdulist[chip.ext].header.get("EXTVER", 1)
    for i, hdu in enumerate(hdulist):
        if (isinstance(hdu, fits.ImageHDU) and hdu.name.upper() == "WHT"
                and hdu.header.get("EXTVER", 1) == extver):
            try:
                weight = _read_chip(i, hdu, file_size, "").pixels
            except ImageReadError:
                return chip  # an unreadable weight map: the SCI pixels as they are
            if weight.shape == chip.pixels.shape:
                return _Chip(chip.ext, chip.ccdchip, chip.pixels, weight)
            return chip
    return chip


def _stitch(chips: list[_Chip], imagetyp: str | None = None) -> Mosaic:
    """Stack chips bottom to top by decreasing CCDCHIP (else file order)."""
    numbers = [c.ccdchip for c in chips]
    if None not in numbers and len(set(numbers)) == len(numbers):
        chips = sorted(chips, key=lambda c: -c.ccdchip)  # WFC2 at the bottom
    height = sum(c.pixels.shape[0] for c in chips)
    width = max(c.pixels.shape[1] for c in chips)
    data = np.empty((height, width), dtype=np.float32)
    row = 0
    masked = 0
    for chip in chips:
        h, w = chip.pixels.shape
        # One pass: byte swap, BZERO/BSCALE result and float32 conversion.
        block = data[row:row + h, :w]
        block[...] = chip.pixels
        if chip.weight is not None:
            # ``not > 0`` is also true for a NaN weight.
            empty = ~(chip.weight > 0)
            masked += int(np.count_nonzero(empty))
            block[empty] = np.nan
        if w < width:
            data[row:row + h, w:] = np.nan
        row += h
    return Mosaic(data=data, extensions=tuple(c.ext for c in chips), imagetyp=imagetyp,
                  masked=masked)
