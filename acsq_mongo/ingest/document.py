"""The rootname document: promoted typed fields, files, every header, errors.

:func:`build_document` assembles the whole document of docs/data-model.md
from what ingest read (or kept) for each file; it does no I/O. The promoted
fields (:data:`acsq_mongo.fields.PROMOTED_FIELDS`) come from the primary
header of the best available file, in the order of
:data:`acsq_mongo.fields.FILETYPES` (raw, then flt, flc, crj, crc, drz, drc,
spt, jif, jit, asn). A keyword missing from that file's primary header is
taken from the next file that has it (a jit primary has no DETECTOR, for
example); a field no file has is None, and always present. The enumerated
text fields and the target (:data:`acsq_mongo.fields.CASE_FOLDED_FIELDS`) are
stored upper case, as FITS writes them, so that the query core can match them
without regard to case by an indexed equality.
"""

from __future__ import annotations

import datetime
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import bson

from acsq_mongo.archive.discover import RootnameFolder
from acsq_mongo.fields import CASE_FOLDED_FIELDS, FILETYPES, PROMOTED_FIELDS
from acsq_mongo.sky.footprints import Footprints, compute_footprints
from acsq_mongo.sky.geometry import to_geojson, to_s_region

__all__ = [
    "DocumentParts",
    "build_document",
    "build_document_bson",
    "has_pointing",
    "INTERNAL",
    "add_footprints",
    "encode_document",
    "promoted_fields",
    "parse_date_obs",
    "set_doc_bytes",
    "to_type",
]

_MJD_EPOCH = datetime.datetime(1858, 11, 17)

#: The OBSTYPE of internal frames (DARK, BIAS, FLAT): exposures without a sky position.
INTERNAL = "INTERNAL"
_TRUE = {"T", "TRUE", "YES", "Y", "1"}
_FALSE = {"F", "FALSE", "NO", "N", "0"}


def to_type(value: Any, kind: str) -> Any:
    """Convert a header value to a promoted field's type; None if it does not fit.

    Parameters
    ----------
    value : bool, int, float, str or None
    kind : {"str", "int", "float", "bool"}
    """
    if value is None:
        return None
    if kind == "str":
        text = str(value).strip()
        return text or None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().upper()
        return True if text in _TRUE else False if text in _FALSE else None
    if isinstance(value, bool):
        return None
    try:
        if kind == "int":
            if isinstance(value, float):
                return int(value) if value.is_integer() else None
            return int(str(value).strip())
        if kind == "float":
            return float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value


def _ms(when: datetime.datetime) -> datetime.datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def parse_date_obs(date_obs: Any, time_obs: Any = None, expstart: Any = None
                   ) -> datetime.datetime | None:
    """The observation's start as a naive UTC datetime, to the millisecond.

    Parameters
    ----------
    date_obs : str
        ``DATE-OBS``: ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm:ss[.sss]`` or the old
        ``DD/MM/YY``.
    time_obs : str, optional
        ``TIME-OBS``: ``hh:mm:ss[.sss]``.
    expstart : float, optional
        ``EXPSTART`` (MJD), used when ``DATE-OBS`` is missing or unreadable.
    """
    when = None
    if isinstance(date_obs, str):
        text = date_obs.strip()
        m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{2})", text)
        if m:
            day, month, year = (int(g) for g in m.groups())
            text = f"{1900 + year if year >= 50 else 2000 + year:04d}-{month:02d}-{day:02d}"
        if "T" not in text and isinstance(time_obs, str) and time_obs.strip():
            text = f"{text}T{time_obs.strip()}"
        try:
            when = datetime.datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            when = when.astimezone(datetime.UTC).replace(tzinfo=None)
    if when is None:
        mjd = to_type(expstart, "float")
        if mjd is not None and 0 < mjd < 200000:
            when = _MJD_EPOCH + datetime.timedelta(days=mjd)
    return _ms(when) if when is not None else None


def _primaries(headers: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Primary headers of the files read, best first."""
    return [headers[ft]["0"] for ft in FILETYPES if ft in headers and "0" in headers[ft]]


def promoted_fields(
    headers: Mapping[str, Mapping[str, Any]],
    rootname: str,
    proposal_types: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """The promoted, typed fields of a rootname, plus ``year``.

    Parameters
    ----------
    headers : mapping
        ``{filetype: {"<ext>": {KEY: value}}}`` of the files read.
    rootname : str
        The 9-character rootname (from the folder, not a header).
    proposal_types : mapping, optional
        ``{proposid: type}``.

    Returns
    -------
    fields : dict
        Every field of ``PROMOTED_FIELDS`` (None where unknown) and ``year``.
        ``ra_targ`` and ``dec_targ`` are None for an exposure without a sky
        position: ``OBSTYPE`` INTERNAL (DARK, BIAS, FLAT), or a pointing of
        exactly RA 0, Dec 0 (the header values stay in ``headers``).
    """
    primaries = _primaries(headers)

    def first(keyword: str) -> Any:
        for primary in primaries:
            value = primary.get(keyword)
            if value is not None:
                return value
        return None

    out: dict[str, Any] = {}
    for f in PROMOTED_FIELDS:
        if f.name == "rootname":
            out["rootname"] = rootname
        elif f.name == "date_obs":
            out["date_obs"] = None  # below
        elif f.keyword is None:
            out[f.name] = None
        else:
            out[f.name] = to_type(first(f.keyword), f.type)
    # DATE-OBS and TIME-OBS of the same header, so the two halves agree.
    date_obs = None
    for primary in primaries:
        date_obs = parse_date_obs(primary.get("DATE-OBS"), primary.get("TIME-OBS"),
                                  primary.get("EXPSTART"))
        if date_obs is not None:
            break
    out["date_obs"] = date_obs
    if proposal_types and out["proposid"] is not None:
        out["proposal_type"] = proposal_types.get(out["proposid"])
    for name in CASE_FOLDED_FIELDS:  # stored upper case: matched without regard to case
        if isinstance(out.get(name), str):
            out[name] = out[name].upper()
    out["year"] = date_obs.year if date_obs is not None else None
    # No sky position: an internal frame, or RA_TARG and DEC_TARG both exactly 0 (what
    # the pipeline writes when there is no pointing).
    if out.get("obstype") == INTERNAL or (out["ra_targ"] == 0.0 and out["dec_targ"] == 0.0):
        out["ra_targ"] = out["dec_targ"] = None
    return out


@dataclass
class DocumentParts:
    """What ingest read (or kept) of an observation: the input of :func:`build_document`.

    Attributes
    ----------
    folder : RootnameFolder
        The observation and its files on disk (names, sizes, times), by file key.
    headers : mapping
        ``{file key: {"<ext>": {KEY: value}}}`` for every file read or kept.
    header_nulls : mapping
        ``{file key: {"<ext>": {KEY: kind}}}``, only where values became null.
    n_hdus : mapping
        ``{file key: HDUs read}``; files that could not be read have 0.
    errors : list of dict
        ``{"path", "filetype", "stage", "error", "time"}`` for this observation.
    now : datetime
        Naive UTC: the ``last_ingest_date``.
    first_ingest_date : datetime, optional
        Kept from the stored document; default ``now``.
    quicklook : mapping, optional
        Quicklook image paths relative to ACSQ_DATA; the field is left out when None.
    proposal_types : mapping, optional
        ``{proposid: type}`` for ``proposal_type``.
    header_comments : mapping, optional
        ``{file key: {"<ext>": {KEY: comment}}}``, only for cards with a comment;
        stored apart from the values, so a query on a value is unchanged.
    footprints : Footprints, optional
        The footprints, if the caller computed them (to log their warnings);
        default: computed here from ``headers``.
    asn_members : list of dict, optional
        The rows of the asn file's table (:mod:`acsq_mongo.ingest.association`).
    stats : mapping, optional
        ``{filetype: {region: {statistic: value}}}``, the image statistics
        (:mod:`acsq_mongo.images.statistics`); the field is left out when empty.
    """

    folder: RootnameFolder
    headers: Mapping[str, Mapping[str, Mapping[str, Any]]]
    header_nulls: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    n_hdus: Mapping[str, int] = field(default_factory=dict)
    errors: list[Mapping[str, Any]] = field(default_factory=list)
    now: datetime.datetime = field(default_factory=datetime.datetime.now)
    first_ingest_date: datetime.datetime | None = None
    quicklook: Mapping[str, Any] | None = None
    proposal_types: Mapping[int, str] | None = None
    header_comments: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None
    footprints: Footprints | None = None
    asn_members: list[dict[str, Any]] | None = None
    stats: Mapping[str, Any] | None = None


def build_document(parts: DocumentParts) -> dict[str, Any]:
    """Assemble the whole observation document (docs/data-model.md).

    Returns
    -------
    document : dict
        With ``doc_bytes`` set to its own BSON size.
    """
    return build_document_bson(parts)[0]


def _ordered_keys(keys) -> list[str]:
    """File keys: the filetypes in FILETYPES order, then the further files by name."""
    keys = list(keys)
    return [ft for ft in FILETYPES if ft in keys] + sorted(k for k in keys if k not in FILETYPES)


def build_document_bson(parts: DocumentParts) -> tuple[dict[str, Any], bytes]:
    """:func:`build_document`, and the document's BSON.

    The BSON is what finding ``doc_bytes`` encoded anyway; a writer that
    sends it as it is (:class:`bson.raw_bson.RawBSONDocument`) saves
    encoding the whole document a second time.

    Returns
    -------
    document : dict
    bson : bytes
        ``bson.encode(document)``.
    """
    folder, headers = parts.folder, parts.headers
    promoted = promoted_fields(headers, folder.rootname, parts.proposal_types)
    doc: dict[str, Any] = {"_id": folder.id, "rootname": folder.rootname,
                           "path": folder.relpath}
    doc.update(promoted)
    doc["rootnames"] = folder.rootnames
    doc["filetypes"] = [ft for ft in FILETYPES
                        if any(info.filetype == ft for info in folder.files.values())]
    doc["files"] = {
        key: {"name": info.name, "size": info.size, "mtime": info.mtime,
              "mtime_ns": info.mtime_ns, "n_hdus": int(parts.n_hdus.get(key, 0)),
              "rootname": info.rootname or folder.rootname,
              "path": info.relpath or folder.relpath}
        for key, info in folder.files.items()
    }
    doc["file_paths"] = {key: f"{entry['path']}/{entry['name']}"
                         for key, entry in doc["files"].items()}
    doc["files_sig"] = folder.files_sig
    doc["headers"] = {k: dict(headers[k]) for k in _ordered_keys(headers)}
    nulls = parts.header_nulls
    doc["header_nulls"] = {k: dict(nulls[k]) for k in _ordered_keys(nulls) if nulls.get(k)}
    comments = parts.header_comments or {}
    doc["header_comments"] = {k: dict(comments[k]) for k in _ordered_keys(comments)
                              if comments.get(k)}
    if parts.asn_members is not None:
        doc["asn_members"] = [dict(row) for row in parts.asn_members]
    if parts.quicklook is not None:
        doc["quicklook"] = dict(parts.quicklook)
    if parts.stats:
        doc["stats"] = {key: parts.stats[key] for key in _ordered_keys(parts.stats)}
    footprints = parts.footprints
    if not has_pointing(promoted):
        footprints = Footprints()  # an internal frame sees no sky, whatever its WCS says
    elif footprints is None:
        footprints = compute_footprints(headers)
    add_footprints(doc, footprints)
    # The rootname is the document's own; ingest_errors rows carry it.
    doc["errors"] = [{k: v for k, v in e.items() if k != "rootname"} for e in parts.errors]
    doc["n_errors"] = len(parts.errors)
    doc["first_ingest_date"] = parts.first_ingest_date or parts.now
    doc["last_ingest_date"] = parts.now
    return doc, encode_document(doc)


def has_pointing(promoted: Mapping[str, Any]) -> bool:
    """Whether promoted fields describe an exposure of the sky (see :func:`promoted_fields`):
    not an internal frame, and a target position."""
    return promoted.get("obstype") != INTERNAL and not (
        promoted.get("ra_targ") is None and promoted.get("dec_targ") is None)


def add_footprints(doc: dict[str, Any], footprints: Footprints) -> None:
    """Set a document's sky fields: ``footprints``, ``footprint`` and ``s_region``.

    ``footprints`` holds the rings of every filetype; ``footprint`` (GeoJSON,
    for the 2dsphere index) and ``s_region`` (STC-S) those of the preferred
    filetype (:data:`acsq_mongo.sky.footprints.PREFERRED`). Without a usable
    WCS the three fields are left out (a 2dsphere index skips such documents).
    """
    for key in ("footprints", "footprint", "s_region"):
        doc.pop(key, None)
    preferred = footprints.preferred
    if preferred is None:
        return
    doc["footprints"] = {key: footprints.rings[key] for key in _ordered_keys(footprints.rings)}
    doc["footprint"] = to_geojson(preferred)
    doc["s_region"] = to_s_region(preferred)


def set_doc_bytes(doc: dict[str, Any]) -> int:
    """Set ``doc_bytes`` to the document's BSON size (including that field) and return it."""
    return len(encode_document(doc))


def encode_document(doc: dict[str, Any]) -> bytes:
    """Set ``doc_bytes`` to the document's BSON size, and return its BSON.

    ``doc_bytes`` becomes the document's last field.
    """
    doc.pop("doc_bytes", None)
    doc["doc_bytes"] = 0
    raw = bson.encode(doc)
    doc["doc_bytes"] = size = len(raw)  # an int32 either way, so the size does not change
    # The last element is doc_bytes's int32 (4 bytes), then the document's end byte.
    return raw[:-5] + struct.pack("<i", size) + raw[-1:]
