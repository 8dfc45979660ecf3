"""One rootname's stored headers as astropy sees them: pick one by filetype and extension.

The whole document keeps every header (:mod:`acsq_mongo.browse.rootname`,
:func:`~acsq_mongo.browse.rootname.header_tables`: keys unescaped, each card
with its comment). Here a header is chosen by filetype and by extension,
written as a number (``0``, the primary header) or by ``EXTNAME`` (``SCI``, the
first one; ``SCI,2``), and turned back into an :class:`astropy.io.fits.Header`
with the real keywords (``D2IM1.EXTVER``, not the stored ``D2IM1%2EEXTVER``),
values and comments. ``acsq headers`` and ``Archive.header`` read them here.

What the header cannot give back as it was in the file: ``COMMENT``, ``HISTORY``
and blank-keyword lines come in one run each, at the place of the first one
(the document keeps each as a list); a NaN or infinite value comes back
undefined, as it is stored (``header_nulls`` says which it was).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from acsq_mongo.browse.rootname import HeaderTable, header_tables, whole_document
from acsq_mongo.fields import FILETYPES, THUMBNAIL_FILETYPES
from acsq_mongo.query.errors import QueryError

if TYPE_CHECKING:
    from astropy.io.fits import Header
    from pymongo.database import Database

__all__ = ["rootname_headers", "choose_headers", "default_filetype", "fits_header", "parse_ext"]


def parse_ext(ext: int | str | None) -> int | tuple[str, int | None] | None:
    """Read an extension as typed: ``0``, ``"1"``, ``"SCI"``, ``"sci,2"``; None for all.

    Returns
    -------
    ext : int, (EXTNAME, EXTVER or None), or None

    Raises
    ------
    QueryError
        If it is neither a number nor an EXTNAME (letters, digits, ``_``, ``-``).
    """
    if ext is None or isinstance(ext, int) and not isinstance(ext, bool):
        if isinstance(ext, int) and ext < 0:
            raise QueryError(f"an extension is 0 (the primary header), 1, 2, ..., got {ext}")
        return ext
    text = str(ext).strip()
    if text.isdigit():
        return int(text)
    name, _, version = text.partition(",")
    name = name.strip().upper()
    if (not name or len(name) > 68 or not all(c.isalnum() or c in "_-" for c in name)
            or (version.strip() and not version.strip().isdigit())):
        raise QueryError(f"an extension is a number (0 is the primary header) or an EXTNAME "
                         f"such as SCI or SCI,2, got {text[:30]!r}")
    return name, int(version) if version.strip() else None


def _matches(table: HeaderTable, ext: int | tuple[str, int | None]) -> bool:
    if isinstance(ext, int):
        return table.ext == str(ext)
    name, version = ext
    values = {c.keyword: c.value for c in table.cards if c.keyword in ("EXTNAME", "EXTVER")}
    if str(values.get("EXTNAME", "")).strip().upper() != name:
        return False
    return version is None or values.get("EXTVER", 1) == version


def choose_headers(tables: list[HeaderTable], rootname: str, filetype: str | None = None,
                   ext: int | str | None = None) -> list[HeaderTable]:
    """The headers of one filetype (or all), of one extension (or all; an EXTNAME: the first).

    Raises
    ------
    QueryError
        If the rootname has no such filetype or extension; the message lists those it has.
    """
    if filetype is not None:
        wanted = filetype.strip().lower()
        if wanted not in FILETYPES:
            raise QueryError(f"unknown filetype {filetype[:10]!r}; valid filetypes: "
                             + ", ".join(FILETYPES))
        present = sorted({t.filetype for t in tables}, key=FILETYPES.index)
        tables = [t for t in tables if t.filetype == wanted]
        if not tables:
            raise QueryError(f"{rootname} has no {wanted} headers; its filetypes: "
                             + (", ".join(present) or "none"))
    which = parse_ext(ext)
    if which is None:
        return tables
    chosen = [t for t in tables if _matches(t, which)]
    if isinstance(which, tuple) and which[1] is None:
        firsts: dict[str, HeaderTable] = {}
        for table in chosen:
            firsts.setdefault(table.filetype, table)
        chosen = list(firsts.values())
    if not chosen:
        have = ", ".join(f"{t.filetype}[{t.ext}]" + (f" {t.extname}" if t.extname else "")
                         for t in tables[:12])
        raise QueryError(f"{rootname} has no extension {ext!s:.20} there; its headers: {have}")
    return chosen


def rootname_headers(db: Database, rootname: str, filetype: str | None = None,
                     ext: int | str | None = None) -> tuple[dict, list[HeaderTable]]:
    """Return a rootname's whole document and its chosen headers (:func:`choose_headers`).

    Raises
    ------
    QueryError
        If the rootname is malformed, not in the archive, or has no such header.
    """
    document = whole_document(db, rootname)
    if document is None:
        raise QueryError(f"there is no rootname {rootname[:20]} in the archive")
    name = document.get("rootname") or document["_id"]
    return document, choose_headers(header_tables(document), name, filetype, ext)


def default_filetype(tables: list[HeaderTable]) -> str | None:
    """The filetype a header is read from when none is named: flt, drz, drc, then any."""
    present = [t.filetype for t in tables]
    for filetype in THUMBNAIL_FILETYPES + FILETYPES:
        if filetype in present:
            return filetype
    return None


def fits_header(table: HeaderTable) -> Header:
    """Return one stored header as an :class:`astropy.io.fits.Header`.

    Real keywords (record-valued ones as ``D2IM1.EXTVER``, long ones as
    ``HIERARCH``), values and card comments; commentary cards one per line.
    """
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    header = fits.Header()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # HIERARCH for keywords over 8 chars
        for card in table.cards:
            if card.type == "commentary":
                for line in card.value or []:
                    header.append(fits.Card(card.keyword, str(line)), useblanks=False,
                                  bottom=True)
                continue
            header.append(fits.Card(card.keyword, card.value, card.comment), useblanks=False,
                          bottom=True)
    return header
