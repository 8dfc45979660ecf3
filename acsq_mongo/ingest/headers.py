"""The header reader: every HDU header of a FITS file as plain, typed Python values.

This is the one place where FITS quirks are settled (see docs/data-model.md,
"Header values"). Everything after it sees ``{KEY: value}`` dictionaries whose
values are ``bool``, ``int``, ``float``, ``str``, ``None`` or, for
``COMMENT``, ``HISTORY`` and blank-keyword commentary, lists of strings.
Card comments (``/ conforms to FITS standard``) are kept apart, in
:attr:`FileHeaders.comments`, so a value is never mixed with its comment.

How a file is read
------------------
Only headers are read, never pixel data: the reader walks the file HDU by HDU,
reading 2880-byte header blocks up to each ``END`` card and seeking over the
data, whose size it computes from ``BITPIX``, ``NAXISn``, ``PCOUNT`` and
``GCOUNT``. So a 170 MB WFC flt costs the same as a 1 x 1 pixel one. Standard
cards (the vast majority: ``KEY = value / comment`` with a plain string,
number, logical or no value) are parsed by a few regular expressions; every
other card (record-valued keywords such as ``D2IM1.EXTVER``, ``CONTINUE``
long strings, ``HIERARCH``, complex values, invalid cards) is handed to
:class:`astropy.io.fits.Card`, with its warnings captured. Tests check that
both paths agree with astropy on real and generated headers.

Leniency
--------
- A card with non-ASCII bytes is decoded as UTF-8, else Latin-1, and kept.
- A card whose value does not parse keeps its raw text as a string; a raw
  ``NaN`` or ``Inf`` becomes ``None`` like any other NaN.
- Undefined values, NaN and +/-inf become ``None``, and ``header_nulls``
  records which (``"undefined"``, ``"nan"``, ``"inf"``, ``"-inf"``).
- A repeated keyword keeps its first value (as astropy's ``header[key]``).
- Integers beyond 64 bits (BSON's limit) are kept as strings.

Every such case is reported in :attr:`FileHeaders.problems` for the run log.
A file that cannot be read at all (missing, empty, not FITS, truncated inside
its primary header) raises :class:`HeaderReadError`; a file truncated later
returns the headers read so far with :attr:`FileHeaders.error` set.

Files as the archive serves them
--------------------------------
- A gzip-compressed file (``*_flt.fits.gz``) is read through :mod:`gzip`, the
  same way (its header blocks decompressed, its data skipped).
- A tile-compressed image (a ``BINTABLE`` with ``ZIMAGE = T``, astropy's
  ``CompImageHDU``) is stored with the image's header as astropy presents it
  (``fits.getheader(path, ext)``: ``XTENSION = 'IMAGE'``, the image's
  ``NAXISn``), not the binary table's.
- The extensions that files reprocessed since 2019 carry after the science
  extensions (:data:`NAMED_EXTNAMES`: ``D2IMARR``, ``WCSDVARR``, ``WCSCORR``,
  ``HDRLET``) are stored under ``<EXTNAME>_<EXTVER>`` (``WCSDVARR_2``), not
  their HDU number, so that ``0``, ``1``, ``2``... stay the primary header and
  the SCI/ERR/DQ extensions that queries name, whatever follows them.

Keywords become document keys through :func:`acsq_mongo.db.keys.escape_key`.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acsq_mongo.errors import AcsqError
from acsq_mongo.ingest.cards import COMMENTARY_KEYWORDS, NULL_KINDS, parse_cards

__all__ = [
    "BLOCK",
    "COMMENTARY_KEYWORDS",
    "NULL_KINDS",
    "FileHeaders",
    "HeaderReadError",
    "NAMED_EXTNAMES",
    "header_key",
    "read_headers",
]

#: Extensions stored under ``<EXTNAME>_<EXTVER>`` rather than their HDU number.
NAMED_EXTNAMES = ("D2IMARR", "WCSDVARR", "WCSCORR", "HDRLET", "SIPDIST", "NPOLFILE")


#: FITS block size in bytes.
BLOCK = 2880
_CARD = 80

# ----------------------------------------------------------------------------
# Files


class HeaderReadError(AcsqError):
    """A FITS file cannot be read at all: missing, unreadable, empty or not FITS."""


@dataclass
class FileHeaders:
    """The headers of one FITS file.

    Attributes
    ----------
    headers : dict
        ``{"<ext index>": {escaped KEY: value}}`` for every HDU read.
    nulls : dict
        ``{"<ext index>": {escaped KEY: kind}}``, only for HDUs with nulls.
    comments : dict
        ``{"<ext index>": {escaped KEY: comment}}``, only for cards with a comment.
    problems : list of str
        Cards and bytes read leniently; for the run log.
    error : str or None
        Why reading stopped early (a truncated file); the HDUs before it are
        in ``headers``.
    data_offsets : dict
        ``{"<ext>": byte offset of the HDU's data}`` for every HDU read, keyed as
        ``headers`` is (offsets in the uncompressed stream of a ``.fits.gz``), so
        that a caller can read a small extension's pixels without parsing again.
    """

    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    nulls: dict[str, dict[str, str]] = field(default_factory=dict)
    comments: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    data_offsets: dict[str, int] = field(default_factory=dict)

    @property
    def n_hdus(self) -> int:
        """Number of HDUs read."""
        return len(self.headers)


def _decode(raw: bytes, where: str, problems: list[str]) -> list[str]:
    """Split header bytes into 80-character cards, decoding non-ASCII leniently."""
    try:
        text = raw.decode("ascii")
        return [text[j : j + _CARD] for j in range(0, len(text), _CARD)]
    except UnicodeDecodeError:
        pass
    cards = []
    for j in range(0, len(raw), _CARD):
        chunk = raw[j : j + _CARD]
        try:
            card = chunk.decode("ascii")
        except UnicodeDecodeError:
            try:
                card, codec = chunk.decode("utf-8"), "UTF-8"
            except UnicodeDecodeError:
                card, codec = chunk.decode("latin-1"), "Latin-1"
            # Keep 80 characters per card so the columns stay where they are.
            card = card.ljust(_CARD)
            problems.append(
                f"{where}: non-ASCII bytes in card {card[:8].strip()!r}, read as {codec}"
            )
        cards.append(card)
    return cards


def _read_header_bytes(f, limit: int) -> tuple[bytes, bool]:
    """Read header blocks up to and including the END card.

    Returns
    -------
    raw : bytes
        The cards before ``END``.
    complete : bool
        False if the file ended before an ``END`` card.
    """
    chunks = []
    while True:
        block = f.read(BLOCK)
        if len(block) < BLOCK:
            chunks.append(block)
            return b"".join(chunks), False
        for j in range(0, BLOCK, _CARD):
            if block[j : j + 3] == b"END" and not block[j + 3 : j + 8].strip():
                chunks.append(block[:j])
                return b"".join(chunks), True
        chunks.append(block)
        if sum(len(c) for c in chunks) > limit:
            return b"".join(chunks), False


def _data_size(values: dict[str, Any]) -> int:
    """Size in bytes of an HDU's data, without padding (FITS standard 4.4.1)."""
    bitpix = values.get("BITPIX")
    naxis = values.get("NAXIS")
    if type(bitpix) is not int or type(naxis) is not int or bitpix == 0 or naxis < 0:
        raise ValueError("BITPIX or NAXIS missing or invalid")
    if naxis == 0:
        return 0
    axes = []
    for k in range(1, naxis + 1):
        n = values.get(f"NAXIS{k}")
        if type(n) is not int or n < 0:
            raise ValueError(f"NAXIS{k} missing or invalid")
        axes.append(n)
    pcount = values.get("PCOUNT", 0)
    gcount = values.get("GCOUNT", 1)
    pcount = pcount if type(pcount) is int else 0
    gcount = gcount if type(gcount) is int else 1
    if values.get("GROUPS") is True and axes[0] == 0:
        axes = axes[1:]  # random groups: NAXIS1 = 0
    product = math.prod(axes)
    return abs(bitpix) // 8 * gcount * (pcount + product)


def header_key(ext: int, values: dict[str, Any]) -> str:
    """The key of one HDU's header in a file's headers: ``"0"``, ``"1"``... or ``WCSDVARR_2``."""
    extname = values.get("EXTNAME")
    if ext > 0 and isinstance(extname, str) and extname.strip().upper() in NAMED_EXTNAMES:
        extver = values.get("EXTVER")
        extver = extver if type(extver) is int else 1
        return f"{extname.strip().upper()}_{extver}"
    return str(ext)


def open_fits_bytes(path: Path):
    """Open a FITS file, through gzip if compressed; return it and its (uncompressed) size."""
    f = open(path, "rb")
    if f.read(2) != b"\x1f\x8b":
        size = os.fstat(f.fileno()).st_size
        f.seek(0)
        return f, size
    f.close()
    f = gzip.open(path, "rb")
    try:
        size = 0
        while chunk := f.read(8 * 1024 * 1024):
            size += len(chunk)
        f.seek(0)
    except (OSError, EOFError) as exc:
        f.close()
        raise HeaderReadError(f"cannot decompress gzip file: {exc}") from None
    return f, size


def _image_headers(path: Path, exts: list[int], result: FileHeaders) -> None:
    """Replace the headers of tile-compressed HDUs by the image headers astropy presents."""
    from astropy.io import fits

    with fits.open(path, lazy_load_hdus=True) as hdul:
        for ext in exts:
            header = hdul[ext].header
            cards = []
            for card in header.cards:
                image = str(card)
                cards += [image[j:j + _CARD] for j in range(0, len(image), _CARD)]
            comments: dict[str, str] = {}
            values, nulls, problems = parse_cards(cards, f"HDU {ext}", comments)
            key = str(ext)
            result.headers[key] = values
            result.nulls.pop(key, None)
            result.comments.pop(key, None)
            if nulls:
                result.nulls[key] = nulls
            if comments:
                result.comments[key] = comments
            result.problems += problems


def read_headers(path: str | os.PathLike, max_header_bytes: int = 64 * 1024 * 1024) -> FileHeaders:
    """Read every HDU header of a FITS file, without its data.

    Parameters
    ----------
    path : path-like
        The FITS file.
    max_header_bytes : int
        Give up on a header larger than this (a file of blanks, not FITS).

    Returns
    -------
    result : FileHeaders
        ``error`` is set if the file was truncated after its primary header;
        the HDUs before the damage are kept.

    Raises
    ------
    HeaderReadError
        If the file is missing or unreadable, empty, not FITS, or truncated
        inside its primary header.
    """
    path = Path(path)
    try:
        f, size = open_fits_bytes(path)
    except OSError as exc:
        raise HeaderReadError(f"cannot read file: {exc.strerror or exc}") from None
    result = FileHeaders()
    compressed: list[int] = []
    with f:
        try:
            if size == 0:
                raise HeaderReadError("empty file (0 bytes)")
            offset, ext = 0, 0
            while offset < size:
                where = f"HDU {ext}"
                start = f.read(_CARD)
                f.seek(offset)
                expected = b"SIMPLE  =" if ext == 0 else b"XTENSION="
                if not start.startswith(expected):
                    if ext == 0:
                        raise HeaderReadError(
                            "not a FITS file: it does not start with a SIMPLE card"
                        )
                    rest = f.read(min(size - offset, 1024 * 1024))
                    if rest.strip(b"\x00 "):
                        result.problems.append(
                            f"{size - offset} bytes after HDU {ext - 1} are not a FITS "
                            "extension; ignored"
                        )
                    break
                raw, complete = _read_header_bytes(f, max_header_bytes)
                if not complete:
                    message = f"truncated file: the header of HDU {ext} has no END card"
                    if ext == 0:
                        raise HeaderReadError(message)
                    result.error = message
                    break
                cards = _decode(raw, where, result.problems)
                comments: dict[str, str] = {}
                values, nulls, problems = parse_cards(cards, where, comments)
                result.problems += problems
                key = header_key(ext, values)
                if key in result.headers:
                    result.problems.append(f"{where}: a second {key} extension; kept as {ext}")
                    key = str(ext)
                result.headers[key] = values
                if nulls:
                    result.nulls[key] = nulls
                if comments:
                    result.comments[key] = comments
                if values.get("ZIMAGE") is True and values.get("XTENSION") == "BINTABLE":
                    compressed.append(ext)
                header_end = f.tell()
                result.data_offsets[key] = header_end
                try:
                    data_size = _data_size(values)
                except ValueError as exc:
                    result.error = f"malformed header of HDU {ext}: {exc}"
                    break
                if header_end + data_size > size:
                    result.error = (
                        f"truncated file: HDU {ext} needs {data_size} bytes of data, "
                        f"{size - header_end} present"
                    )
                    break
                offset = header_end + -(-data_size // BLOCK) * BLOCK
                if offset > size:
                    result.problems.append(f"HDU {ext}: the last data block is not padded")
                f.seek(offset)
                ext += 1
        except (OSError, EOFError) as exc:
            raise HeaderReadError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}"
                                  ) from None
    if compressed and result.error is None:
        _image_headers(path, compressed, result)
    return result
