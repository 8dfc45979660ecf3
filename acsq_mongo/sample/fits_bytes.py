"""FITS files written as bytes: header cards, 2880-byte blocks and big-endian data.

The sample generator writes thousands of files whose headers hold hundreds of
cards each. Through astropy's ``Header``, ``ImageHDU`` and ``HDUList.writeto``
that costs ~50 ms per rootname, most of it in header bookkeeping the
generator does not need. This module writes the same bytes directly
(FITS Standard 4.0, sections 3-4 and 7):

- each card is formatted by astropy's ``Card`` (verified as
  ``output_verify="silentfix"`` would) once per distinct keyword, value and
  comment, and its 80-character image kept (:func:`card_image`);
- a header is its cards, ``END``, and spaces to a multiple of 2880 bytes;
- data are big-endian, padded with zeros to a multiple of 2880 bytes;
  unsigned 16-bit integers are stored as signed ones with ``BZERO = 32768``;
- the structural cards (``SIMPLE``/``XTENSION``, ``BITPIX``, ``NAXISn``,
  ``PCOUNT``, ``GCOUNT``, ``TFIELDS``, ``TTYPEn``/``TFORMn``) come first, with
  the comments astropy gives them.

``acsq_mongo.sample.files`` keeps astropy's writer as an option
(``writer="astropy"``); a test checks that both write the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BLOCK", "bintable_hdu", "card_image", "image_hdu", "primary_hdu", "verified_card"]

#: Bytes in a FITS block.
BLOCK = 2880
_CARD = 80

# Cards already formatted and verified, by (keyword, type, value, comment): most repeat
# from file to file, and astropy takes ~50 microseconds to make and check one.
_CARDS: dict[tuple, Any] = {}
_IMAGES: dict[tuple, str] = {}
_MAX_CARDS = 200_000

_BITPIX = {np.dtype(np.uint8): 8, np.dtype(np.int16): 16, np.dtype(np.int32): 32,
           np.dtype(np.int64): 64, np.dtype(np.float32): -32, np.dtype(np.float64): -64}
# Binary table column formats (TFORM letter) and their big-endian numpy types.
_TFORMS = {"L": "S1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


def _cache_key(key: str, value: Any, comment: str) -> tuple:
    # (A float by its repr: -0.0 == 0.0, but a card shows the sign.)
    return (key, type(value), repr(value) if type(value) is float else value, comment)


def _new_card(key: str, value: Any, comment: str):
    from astropy.io.fits import Card

    card = Card(key, value, comment)
    card.verify("silentfix")
    card.image  # noqa: B018 - formats it now, once
    return card


def verified_card(key: str, value: Any, comment: str = ""):
    """The astropy ``Card`` of ``key = value / comment``, verified with ``silentfix``.

    The same object is returned for the same card: don't modify it.
    """
    cache_key = _cache_key(key, value, comment)
    card = _CARDS.get(cache_key)
    if card is None:
        card = _new_card(key, value, comment)
        if len(_CARDS) < _MAX_CARDS:
            _CARDS[cache_key] = card
    return card


def card_image(key: str, value: Any, comment: str = "") -> str:
    """The image of a card as astropy writes it: 80 characters (a multiple for ``CONTINUE``)."""
    cache_key = _cache_key(key, value, comment)
    image = _IMAGES.get(cache_key)
    if image is None:
        image = _new_card(key, value, comment).image
        if len(_IMAGES) < _MAX_CARDS:
            _IMAGES[cache_key] = image
    return image


def _padding(size: int, fill: bytes) -> bytes:
    return fill * (-size % BLOCK)


def _header(structure: list[str], cards: list[str]) -> bytes:
    text = "".join(structure) + "".join(cards) + "END".ljust(_CARD)
    return (text + _padding(len(text), b" ").decode()).encode("ascii")


def primary_hdu(cards: list[str], groups: bool = False) -> bytes:
    """A primary HDU without data (``NAXIS = 0``) that announces extensions.

    Parameters
    ----------
    cards : list of str
        The card images after the structural ones.
    groups : bool
        Add ``GROUPS = F`` after ``EXTEND`` (some ACS primary headers have it).
    """
    structure = [card_image("SIMPLE", True, "conforms to FITS standard"),
                 card_image("BITPIX", 8, "array data type"),
                 card_image("NAXIS", 0, "number of array dimensions"),
                 card_image("EXTEND", True)]
    if groups:
        structure.append(card_image("GROUPS", False))
    return _header(structure, cards)


def image_hdu(cards: list[str], data: np.ndarray | None) -> bytes:
    """An IMAGE extension holding ``data`` (``None``: no data, ``NAXIS = 0``).

    Parameters
    ----------
    cards : list of str
        The card images after the structural ones.
    data : ndarray or None
        uint8, int16, uint16 (written with ``BZERO = 32768``), int32, int64,
        float32 or float64.
    """
    structure = [card_image("XTENSION", "IMAGE", "Image extension")]
    if data is None:
        shape: tuple[int, ...] = ()
        bitpix, payload = 8, memoryview(b"")
    else:
        shape = data.shape
        unsigned = data.dtype == np.uint16
        stored = (data ^ np.uint16(0x8000)).view(np.int16) if unsigned else data
        bitpix = _BITPIX.get(stored.dtype)
        if bitpix is None:
            raise TypeError(f"no FITS image type for {data.dtype}")
        big = np.ascontiguousarray(stored, stored.dtype.newbyteorder(">"))
        payload = memoryview(big).cast("B")  # joined below without a copy of its own
    structure += [card_image("BITPIX", bitpix, "array data type"),
                  card_image("NAXIS", len(shape), "number of array dimensions")]
    structure += [card_image(f"NAXIS{k}", n) for k, n in enumerate(reversed(shape), start=1)]
    structure += [card_image("PCOUNT", 0, "number of parameters"),
                  card_image("GCOUNT", 1, "number of groups")]
    if data is not None and data.dtype == np.uint16:
        structure += [card_image("BSCALE", 1), card_image("BZERO", 32768)]
    return b"".join((_header(structure, cards), payload, _padding(len(payload), b"\0")))


def bintable_hdu(columns: list[tuple[str, str, np.ndarray]], cards: list[str]) -> bytes:
    """A BINTABLE extension of scalar columns.

    Parameters
    ----------
    columns : list of (name, tform, array)
        ``tform`` ``nA`` (strings, NUL-padded), ``L`` (bool), ``B``, ``I``, ``J``,
        ``K``, ``E`` or ``D``; every array as long as the first.
    cards : list of str
        The card images after the structural ones.
    """
    n_rows = len(columns[0][2])
    dtype = []
    for name, tform, _ in columns:
        if tform.endswith("A"):
            dtype.append((name, f"S{tform[:-1] or 1}"))
        else:
            dtype.append((name, _TFORMS[tform]))
    rows = np.zeros(n_rows, dtype=dtype)
    for name, tform, array in columns:
        if tform == "L":
            rows[name] = np.where(np.asarray(array, bool), b"T", b"F")
        elif tform.endswith("A"):
            rows[name] = np.char.encode(np.asarray(array, str), "ascii")
        else:
            rows[name] = array
    structure = [card_image("XTENSION", "BINTABLE", "binary table extension"),
                 card_image("BITPIX", 8, "array data type"),
                 card_image("NAXIS", 2, "number of array dimensions"),
                 card_image("NAXIS1", rows.dtype.itemsize, "length of dimension 1"),
                 card_image("NAXIS2", n_rows, "length of dimension 2"),
                 card_image("PCOUNT", 0, "number of group parameters"),
                 card_image("GCOUNT", 1, "number of groups"),
                 card_image("TFIELDS", len(columns), "number of table fields")]
    for k, (name, tform, _) in enumerate(columns, start=1):
        structure += [card_image(f"TTYPE{k}", name), card_image(f"TFORM{k}", tform)]
    # A card whose keyword the structure has is left out (astropy: ``extend(unique=True)``).
    taken = {image[:8] for image in structure}
    cards = [image for image in cards if image[:8] not in taken]
    data = rows.tobytes()
    return b"".join((_header(structure, cards), data, _padding(len(data), b"\0")))
