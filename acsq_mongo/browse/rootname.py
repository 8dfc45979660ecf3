"""One rootname: its catalog entry, its whole document, its headers as tables, its neighbours.

Every lookup here is an ``_id`` equality, except :func:`proposal_members`,
which gives the order of a proposal's rootnames for "previous" and "next" from
the proposal's rows (:mod:`acsq_mongo.browse.proposal_rows`: its gallery, or
one indexed query of the slim ``catalog`` per proposal, cached per data
generation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acsq_mongo.browse.proposal_rows import proposal_rows
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.keys import unescape_key
from acsq_mongo.fields import FILETYPES, IMAGE_FILETYPES
from acsq_mongo.query.cache import CallCache
from acsq_mongo.query.errors import QueryError

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache

__all__ = [
    "HeaderCard",
    "HeaderTable",
    "Neighbours",
    "Association",
    "AsnRow",
    "asn_table",
    "rootname_id",
    "catalog_document",
    "whole_document",
    "header_tables",
    "quicklook_filetypes",
    "proposal_members",
    "neighbours",
    "association",
    "KEY_HEADER_VALUES",
    "key_header_values",
]

#: Header values the image view shows beside the promoted fields: (label, ext, keyword).
#: ORIENTAT is in the first science extension, CCDGAIN and PA_V3 in the primary header.
KEY_HEADER_VALUES: tuple[tuple[str, str, str], ...] = (
    ("CCDGAIN", "0", "CCDGAIN"), ("ORIENTAT", "1", "ORIENTAT"), ("PA_V3", "0", "PA_V3"),
)

_ROOTNAME = re.compile(r"[A-Za-z0-9]{8,9}", re.ASCII)


@dataclass(frozen=True)
class HeaderCard:
    """One keyword of a header, for display.

    Attributes
    ----------
    keyword : str
        The FITS keyword (unescaped: ``D2IM1.EXTVER``; ``""`` for blank-keyword text).
    value : Any
        As stored: bool, int, float, str, None, or a list of strings (commentary).
    type : str
        ``bool``, ``int``, ``float``, ``str``, ``commentary``, or for a null value
        what it was (``undefined``, ``nan``, ``inf``, ``-inf``; ``null`` if unknown).
    comment : str
        The card's comment (``conforms to FITS standard``), ``""`` if none.
    """

    keyword: str
    value: Any
    type: str
    comment: str = ""


@dataclass(frozen=True)
class HeaderTable:
    """Every keyword of one header: a filetype's extension."""

    filetype: str
    ext: str
    cards: tuple[HeaderCard, ...]

    @property
    def extname(self) -> str | None:
        """EXTNAME and EXTVER, e.g. ``SCI,1``, or None (a primary header)."""
        values = {c.keyword: c.value for c in self.cards if c.keyword in ("EXTNAME", "EXTVER")}
        if "EXTNAME" not in values:
            return None
        extver = values.get("EXTVER")
        return f"{values['EXTNAME']},{extver}" if extver is not None else str(values["EXTNAME"])


@dataclass(frozen=True)
class Neighbours:
    """Where a rootname stands among its proposal's rootnames (by date of observation)."""

    previous: str | None
    next: str | None
    index: int
    total: int


@dataclass(frozen=True)
class Association:
    """The association a rootname belongs to (``ASN_ID``), as its proposal's rootnames give it.

    Attributes
    ----------
    asn_id : str
        The association's ID, upper case (the product's rootname).
    product : str or None
        The product's rootname (``asn_id`` in lower case), if it is in the archive.
    members : tuple of str
        The member exposures in the archive, by date of observation.
    """

    asn_id: str
    product: str | None
    members: tuple[str, ...]
    table: tuple[AsnRow, ...] = ()


@dataclass(frozen=True)
class AsnRow:
    """One row of an association's asn table, and where it is in the archive.

    Attributes
    ----------
    memname : str
        The member's or product's 9-character rootname, lower case.
    memtype : str
        ``EXP-CRJ``, ``EXP-DTH``, ``PROD-CR1``, ``PROD-DTH``, ...
    memprsnt : bool
        Whether the pipeline had it (MEMPRSNT).
    in_archive : bool
        Whether this archive holds it (as an observation or merged into one).
    """

    memname: str
    memtype: str
    memprsnt: bool
    in_archive: bool

    @property
    def is_product(self) -> bool:
        """Whether the row is a product (``PROD-*``) rather than an exposure."""
        return self.memtype.startswith("PROD")


def rootname_id(rootname: str) -> str:
    """Return the ``_id`` of a rootname (the first 8 characters, lower case).

    Raises
    ------
    QueryError
        If the text is not 8 or 9 letters and digits.
    """
    if not isinstance(rootname, str) or _ROOTNAME.fullmatch(rootname) is None:
        shown = rootname[:20] if isinstance(rootname, str) else rootname
        raise QueryError(f"a rootname is 8 or 9 letters and digits, got {shown!r}")
    return rootname[:8].lower()


def _find(db: Database, collection: str, rootname: str, projection=None) -> dict | None:
    doc = db[collection].find_one({"_id": rootname_id(rootname)}, projection)
    if doc is None:
        return None
    if len(rootname) == 9 and doc.get("rootname") and doc["rootname"] != rootname.lower() \
            and rootname.lower() not in (doc.get("rootnames") or ()):
        return None  # same _id, another 9th character: not this rootname
    return doc


def catalog_document(db: Database, rootname: str) -> dict[str, Any] | None:
    """Return the catalog entry of a rootname (8 or 9 characters, any case), or None.

    A 9-character rootname finds the observation it was merged into (``rootnames``).
    """
    return _find(db, CATALOG, rootname)


def whole_document(db: Database, rootname: str) -> dict[str, Any] | None:
    """Return the whole document of a rootname (every header), or None.

    Its ``last_ingest_date`` is the catalog's: an ingest that finds the files
    unchanged sets the date there only, not in the stored whole document.
    """
    doc = _find(db, ROOTNAMES, rootname)
    if doc is not None:
        seen = db[CATALOG].find_one({"_id": doc["_id"]}, {"last_ingest_date": 1})
        if seen is not None and seen.get("last_ingest_date") is not None:
            doc["last_ingest_date"] = seen["last_ingest_date"]
    return doc


def _card_type(value: Any, null_kind: str | None) -> str:
    if value is None:
        return null_kind or "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        return "commentary"
    return type(value).__name__


def _ext_order(ext: str) -> tuple[int, str]:
    return (int(ext), ext) if ext.isdigit() else (10**6, ext)


def header_tables(document: Mapping[str, Any]) -> list[HeaderTable]:
    """Return every header of a whole document as tables, filetype by filetype.

    Filetypes come in :data:`~acsq_mongo.fields.FILETYPES` order, extensions in
    number order, keywords in the order of the file; keys are unescaped; each
    card carries its comment from the document's ``header_comments``.
    """
    headers = document.get("headers") or {}
    nulls = document.get("header_nulls") or {}
    comments = document.get("header_comments") or {}
    order = {ft: i for i, ft in enumerate(FILETYPES)}
    tables = []
    for filetype in sorted(headers, key=lambda ft: (order.get(ft, 99), ft)):
        for ext in sorted(headers[filetype] or {}, key=_ext_order):
            header = headers[filetype][ext] or {}
            ext_nulls = (nulls.get(filetype) or {}).get(ext) or {}
            ext_comments = (comments.get(filetype) or {}).get(ext) or {}
            cards = tuple(
                HeaderCard(unescape_key(key), value, _card_type(value, ext_nulls.get(key)),
                           ext_comments.get(key) or "")
                for key, value in header.items()
            )
            tables.append(HeaderTable(filetype, ext, cards))
    return tables


def key_header_values(db: Database, rootname: str, filetype: str | None
                      ) -> dict[str, Any]:
    """Return :data:`KEY_HEADER_VALUES` of one rootname's file (or of its best file).

    One ``_id`` lookup on ``rootnames``, projected to those keywords of the
    filetypes that may have them (``filetype`` first, then raw, flt, flc...).
    A keyword no file has is left out.
    """
    order = ([filetype] if filetype else []) + [ft for ft in FILETYPES if ft != filetype]
    projection = {f"headers.{ft}.{ext}.{key}": 1 for ft in order
                  for _, ext, key in KEY_HEADER_VALUES}
    doc = _find(db, ROOTNAMES, rootname, projection) or {}
    headers = doc.get("headers") or {}
    out: dict[str, Any] = {}
    for label, ext, key in KEY_HEADER_VALUES:
        for ft in order:
            value = ((headers.get(ft) or {}).get(ext) or {}).get(key)
            if value is not None:
                out[label] = value
                break
    return out


def quicklook_filetypes(document: Mapping[str, Any]) -> list[str]:
    """Return the image filetypes (raw, flt, flc, crj, crc, drz, drc) that have a quicklook JPEG,
    in that order."""
    quicklook = document.get("quicklook") or {}
    return [ft for ft in IMAGE_FILETYPES if quicklook.get(ft)]


def proposal_members(
    db: Database, proposid: int | None, cache: ResultCache | None = None, live: bool = False
) -> tuple[str, ...]:
    """Return the rootnames of a proposal, by date of observation (then ``_id``).

    From :func:`~acsq_mongo.browse.proposal_rows.proposal_rows` (its gallery,
    or with ``live`` the catalog as it is now), shared with the proposal's
    gallery pages and kept in ``cache`` until the data changes.
    """
    rows = proposal_rows(db, proposid, cache, live=live)
    return tuple(row.get("rootname") for row in rows)


def neighbours(
    db: Database, document: Mapping[str, Any], cache: ResultCache | None = None
) -> Neighbours:
    """Return the previous and next rootnames of a document's proposal, by date.

    From the proposal's gallery as of the last ingest run; a rootname stored
    since then (not in it yet) is placed among the proposal's rootnames as
    they are now.
    """
    members = proposal_members(db, document.get("proposid"), cache)
    rootname = document.get("rootname") or document["_id"]
    if rootname not in members:
        members = proposal_members(db, document.get("proposid"), cache, live=True)
    try:
        index = members.index(rootname)
    except ValueError:
        return Neighbours(None, None, 0, len(members))
    previous = members[index - 1] if index > 0 else None
    following = members[index + 1] if index + 1 < len(members) else None
    return Neighbours(previous, following, index + 1, len(members))


def association(
    db: Database, document: Mapping[str, Any], cache: ResultCache | None = None
) -> Association | None:
    """Return the association of a document, or None if it belongs to none.

    An ACS association (a CR-split, a dither pattern) has a product rootname
    ending in 0 (asn, drz, crj, ...) and member exposures whose ``ASN_ID`` is
    that rootname. The rootnames come from the proposal's gallery, as
    :func:`neighbours` reads it (the catalog as it is now if the gallery predates
    the document or holds no ``asn_id``).
    """
    asn_id = str(document.get("asn_id") or "").strip().upper()
    if asn_id in ("", "NONE"):
        return None
    rootname = document.get("rootname") or document["_id"]
    rows = proposal_rows(db, document.get("proposid"), cache)
    if not any(row.get("rootname") == rootname for row in rows) or (
            rows and "asn_id" not in rows[0]):
        rows = proposal_rows(db, document.get("proposid"), cache, live=True)
    product = asn_id.lower()
    mine = [row["rootname"] for row in rows
            if str(row.get("asn_id") or "").upper() == asn_id and row.get("rootname")]
    return Association(
        asn_id=asn_id,
        product=product if product in mine else None,
        members=tuple(r for r in mine if r != product),
        table=CallCache(db, cache).get("asn_table", (asn_id,), lambda: asn_table(db, asn_id))[0],
    )


def asn_table(db: Database, asn_id: str) -> tuple[AsnRow, ...]:
    """Return the asn table of an association, each row marked present in the archive or not.

    From the product's ``asn_members`` (read from its asn file at ingest); empty if
    the archive holds no asn file of that association. One lookup by ``_id`` for the
    product and for each member's observation (a page caches the answer).
    """
    product = db[CATALOG].find_one({"_id": asn_id[:8].lower()}, {"asn_members": 1})
    members = (product or {}).get("asn_members") or []
    if not members:
        return ()
    names = [str(m.get("memname") or "").lower() for m in members]
    held = set()
    for _id in sorted({n[:8] for n in names}):
        doc = db[CATALOG].find_one({"_id": _id}, {"rootname": 1, "rootnames": 1})
        if doc is not None:
            held.update(doc.get("rootnames") or [doc.get("rootname")])
    return tuple(AsnRow(name, str(m.get("memtype") or ""), bool(m.get("memprsnt", True)),
                        name in held) for name, m in zip(names, members, strict=True))
