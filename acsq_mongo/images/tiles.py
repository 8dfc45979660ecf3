"""Pixels of one extension of an image file, a piece at a time, for the image explorer.

A :class:`PixelView` is one extension name (``SCI``, ``ERR`` or ``DQ``) of a
raw, flt, flc, crj, crc, drz or drc file: one chip (``extver=1``) or every
chip stitched as the quicklook stitches them (``extver=None``: bottom to top by
decreasing ``CCDCHIP``, see :mod:`acsq_mongo.images.imaging`). From it come:

- :meth:`PixelView.tile`: a 256 x 256 ``float32`` tile at a power-of-two
  level (level 0 is every pixel; level ``L`` takes every ``2**L``-th pixel of
  every ``2**L``-th row, so each value shown is a pixel of the file, never an
  average), rows from the top of the picture down, padded with NaN;
- :meth:`PixelView.sample`: the pixels :func:`~acsq_mongo.images.stretch.pixel_sample`
  takes from the quicklook's picture, so the explorer's default limits are
  the quicklook's;
- :meth:`PixelView.cut`: one row or one column of a chip.

Reading never loads a whole file. The file is memory-mapped and only the
rows a tile needs are touched. astropy's memory map is lost on scaled
integers (a raw file's ``uint16`` stored as ``int16`` with ``BZERO = 32768``:
astropy scales the whole array on first access), so the file is opened with
``do_not_scale_image_data=True`` and ``BSCALE``/``BZERO`` are applied to each
piece read. Every value read is exact in ``float32`` (``float32`` data as it
is, 16-bit integers after scaling). Tile-compressed extensions are read
through ``section``, which decompresses only the tiles it needs. A gzipped
file (``.fits.gz``) cannot be memory-mapped: astropy decompresses it on
opening, so it is held in memory while open (one of :data:`MAX_OPEN_FILES`). An
extension stored as keywords (``NAXIS = 0`` with ``NPIX1``, ``NPIX2``,
``PIXVALUE``, as raw files' ERR and DQ are) reads as that constant.

Open files are kept in a small cache (:data:`MAX_OPEN_FILES`), keyed by
path, size and modification time, so a rewritten file is opened anew.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from acsq_mongo.images.imaging import ImageReadError
from acsq_mongo.images.stretch import N_SAMPLES, sample_positions

__all__ = ["TILE", "EXTNAMES", "MAX_OPEN_FILES", "Block", "PixelView", "open_view", "levels"]

#: Side of a tile, in pixels.
TILE = 256
#: The extensions the explorer shows.
EXTNAMES: tuple[str, ...] = ("SCI", "ERR", "DQ")
#: Files kept open (memory-mapped) at once.
MAX_OPEN_FILES = 8


@dataclass(frozen=True)
class Block:
    """One chip of a view: an HDU and where its rows sit in the stitched picture.

    Attributes
    ----------
    hdu : int
        HDU index in the file.
    extver : int
    ccdchip : int or None
    row0 : int
        The picture row (0 = bottom, FITS orientation) of the chip's first row.
    width, height : int
    """

    hdu: int
    extver: int
    ccdchip: int | None
    row0: int
    width: int
    height: int


class _OpenFile:
    """One memory-mapped file and the pixel arrays of its extensions."""

    def __init__(self, path: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.hdul = fits.open(path, memmap=True, do_not_scale_image_data=True,
                                      lazy_load_hdus=False)
            except (FileNotFoundError, PermissionError):
                raise
            except Exception as exc:
                raise ImageReadError(f"not a readable FITS file: {type(exc).__name__}") from None
        self.lock = threading.Lock()
        self._arrays: dict[int, object] = {}
        #: What callers derive from the file and keep while it stays open (e.g. WCS numbers).
        self.memo: dict = {}

    def array(self, index: int):
        """The raw (unscaled) pixels of an HDU: a memory map, a section or a constant."""
        with self.lock:
            if index not in self._arrays:
                hdu = self.hdul[index]
                header = hdu.header
                if header.get("NAXIS", 0) == 0:
                    value = np.float32(header.get("PIXVALUE", 0.0))
                    shape = (int(header.get("NPIX2", 0)), int(header.get("NPIX1", 0)))
                    self._arrays[index] = ("const", value, shape)
                elif isinstance(hdu, fits.CompImageHDU):
                    self._arrays[index] = ("section", hdu.section, hdu.shape)
                else:
                    self._arrays[index] = ("raw", hdu.data, hdu.data.shape)
            return self._arrays[index]

    def scaling(self, index: int) -> tuple[float, float]:
        # Opened with do_not_scale_image_data, a memory map and a tile-compressed section
        # both give the stored integers: BSCALE and BZERO are applied by the reader.
        header = self.hdul[index].header
        return float(header.get("BSCALE", 1.0)), float(header.get("BZERO", 0.0))


_OPEN: OrderedDict[tuple, _OpenFile] = OrderedDict()
_OPEN_LOCK = threading.Lock()


def _open(path: Path) -> _OpenFile:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _OPEN_LOCK:
        found = _OPEN.get(key)
        if found is not None:
            _OPEN.move_to_end(key)
            return found
    opened = _OpenFile(path)
    with _OPEN_LOCK:
        _OPEN[key] = opened
        while len(_OPEN) > MAX_OPEN_FILES:
            _, old = _OPEN.popitem(last=False)
            old.hdul.close()
    return opened


def levels(width: int, height: int) -> int:
    """The coarsest level: the one at which the whole picture fits in one tile."""
    level = 0
    while max(width, height) > TILE << level:
        level += 1
    return level


@dataclass(frozen=True)
class PixelView:
    """One extension of one file, one chip or the chips stitched (see the module)."""

    path: Path
    extname: str
    extver: int | None
    blocks: tuple[Block, ...]
    width: int
    height: int
    imagetyp: str | None
    _file: _OpenFile

    @property
    def headers(self) -> fits.HDUList:
        """The file's HDUs (headers read; data memory-mapped on access)."""
        return self._file.hdul

    def remember(self, key, make):
        """``make()``, computed once per key while the file stays open."""
        memo = self._file.memo
        if key not in memo:
            memo[key] = make()
        return memo[key]

    @property
    def signature(self) -> str:
        """Changes when the file does: size and modification time."""
        stat = self.path.stat()
        return f"{stat.st_size:x}-{stat.st_mtime_ns:x}"

    def _read(self, block: Block, rows: slice, cols: slice) -> np.ndarray:
        kind, array, _ = self._file.array(block.hdu)
        if kind == "const":
            n_rows = len(range(*rows.indices(block.height)))
            n_cols = len(range(*cols.indices(block.width)))
            return np.full((n_rows, n_cols), array, dtype=np.float32)
        raw = np.asarray(array[rows, cols])
        scale, zero = self._file.scaling(block.hdu)
        if scale == 1.0 and zero == 0.0:
            return raw.astype(np.float32)
        return (raw.astype(np.float64) * scale + zero).astype(np.float32)

    def tile(self, level: int, tx: int, ty: int) -> np.ndarray:
        """Return one tile: ``TILE`` x ``TILE`` ``float32``, top row first, NaN outside the picture.

        Tile ``(tx, ty)`` of level ``L`` covers the picture's columns from
        ``tx * TILE * 2**L`` and its rows from ``ty * TILE * 2**L`` counted
        from the top, every ``2**L``-th of each.
        """
        step = 1 << level
        out = np.full((TILE, TILE), np.nan, dtype=np.float32)
        c_first = tx * TILE * step
        top = ty * TILE * step  # picture rows from the top
        for block in self.blocks:
            n_cols = min(TILE, -(-(block.width - c_first) // step))
            if n_cols <= 0:
                continue
            # Tile row i is picture row (from the bottom) m = height-1-top-i*step,
            # i.e. block row base - i*step.
            base = self.height - 1 - top - block.row0
            i_first = max(0, -(-(base - (block.height - 1)) // step))
            i_last = min(TILE - 1, base // step)
            if base < 0 or i_last < i_first:
                continue
            low, high = base - i_last * step, base - i_first * step
            cols = slice(c_first, c_first + n_cols * step, step)
            part = self._read(block, slice(low, high + 1, step), cols)
            out[i_first:i_last + 1, :n_cols] = part[::-1]
        return out

    def sample(self, n_samples: int = N_SAMPLES) -> np.ndarray:
        """The quicklook's sample of the picture (``float32``, 1-D), in the same order."""
        rows, cols = sample_positions(self.height, self.width, n_samples)
        bottom_rows = self.height - 1 - rows  # the quicklook samples the flipped picture
        out = np.full(rows.shape, np.nan, dtype=np.float32)
        for block in self.blocks:
            inside = ((bottom_rows >= block.row0) & (bottom_rows < block.row0 + block.height)
                      & (cols < block.width))
            if not inside.any():
                continue
            local_rows, local_cols = bottom_rows[inside] - block.row0, cols[inside]
            kind, array, _ = self._file.array(block.hdu)
            if kind == "const":
                out[inside] = array
                continue
            lo, hi = int(local_rows.min()), int(local_rows.max())
            # One strided pass over the rows the sample touches, then a gather.
            raw = np.asarray(array[lo:hi + 1])[local_rows - lo, local_cols]
            scale, zero = self._file.scaling(block.hdu)
            out[inside] = raw.astype(np.float64) * scale + zero
        return out

    def block_of(self, extver: int) -> Block:
        """The chip of this EXTVER.

        Raises
        ------
        ImageReadError
            If the view has none.
        """
        for block in self.blocks:
            if block.extver == extver:
                return block
        raise ImageReadError(f"no {self.extname},{extver} in {self.path.name}")

    def cut(self, extver: int, axis: str, index: int) -> np.ndarray:
        """One row (``axis="row"``, FITS ``y = index``) or column (``x = index``) of a chip.

        Raises
        ------
        ImageReadError
            If the chip has no such row or column.
        """
        block = self.block_of(extver)
        size = block.height if axis == "row" else block.width
        if axis not in ("row", "column") or not 1 <= index <= size:
            raise ImageReadError(f"{axis} {index} is outside {self.extname},{extver} "
                                 f"(1 to {size})")
        if axis == "row":
            return self._read(block, slice(index - 1, index), slice(None))[0]
        return self._read(block, slice(None), slice(index - 1, index))[:, 0]


def open_view(path: str | os.PathLike, extname: str = "SCI",
              extver: int | None = None) -> PixelView:
    """Open one extension of an image file, one chip or every chip stitched.

    Parameters
    ----------
    path : path-like
    extname : {"SCI", "ERR", "DQ"}
    extver : int, optional
        One chip; default every chip, stitched as the quicklook does.

    Returns
    -------
    view : PixelView

    Raises
    ------
    ImageReadError
        If the file is not FITS or has no such 2-D extension (one line).
    """
    path = Path(path)
    extname = extname.upper()
    if extname not in EXTNAMES:
        raise ImageReadError(f"extension {extname[:10]!r} is not one of {', '.join(EXTNAMES)}")
    opened = _open(path)
    hdul = opened.hdul
    chips = {}
    for index, hdu in enumerate(hdul):
        if index == 0 or hdu.name.upper() != "SCI":
            continue
        chips[hdu.header.get("EXTVER", 1)] = hdu.header.get("CCDCHIP")
    found = []
    for index, hdu in enumerate(hdul):
        if index == 0 or hdu.name.upper() != extname:
            continue
        ver = hdu.header.get("EXTVER", 1)
        if extver is not None and ver != extver:
            continue
        _, _, shape = opened.array(index)
        if len(shape) != 2 or 0 in shape:
            raise ImageReadError(f"{extname},{ver} of {path.name} is not a 2-D image")
        ccdchip = hdu.header.get("CCDCHIP", chips.get(ver))
        ccdchip = ccdchip if isinstance(ccdchip, int) and not isinstance(ccdchip, bool) else None
        found.append((index, ver, ccdchip, shape))
    if not found:
        which = extname if extver is None else f"{extname},{extver}"
        raise ImageReadError(f"no {which} extension in {path.name}")
    numbers = [f[2] for f in found]
    if None not in numbers and len(set(numbers)) == len(numbers):
        found.sort(key=lambda f: -f[2])  # WFC2 at the bottom, as the quicklook
    blocks, row = [], 0
    for index, ver, ccdchip, (height, width) in found:
        blocks.append(Block(index, ver, ccdchip, row, width, height))
        row += height
    imagetyp = hdul[0].header.get("IMAGETYP")
    imagetyp = imagetyp.strip().upper() or None if isinstance(imagetyp, str) else None
    return PixelView(path, extname, extver, tuple(blocks), max(b.width for b in blocks), row,
                     imagetyp, opened)
