"""A table as a VOTable or ECSV: what TOPCAT, Aladin, pyvo and astroquery read.

Both are written from the :class:`~astropy.table.Table` of
:mod:`.table`, with astropy:

- **VOTable** (:func:`votable_bytes`), with :mod:`astropy.io.votable`. Each
  FIELD carries the column's unit, UCD (``meta["ucd"]``), utype
  (``meta["utype"]``, e.g. ObsCore's) and description.
  Times become ISO 8601 UTC text with ``xtype="timestamp"`` (DALI), since a
  VOTable has no time type of its own; booleans are ``boolean`` (which,
  unlike ``bit``, may be null); text is ``char`` of any length.
- **ECSV** (:func:`ecsv_text`), astropy's own text format, which keeps units,
  descriptions, masks and times (an astropy ``Time`` column comes back as one).

Errors of the VO services are VOTables too (:func:`error_votable`): an
``INFO name="QUERY_STATUS" value="ERROR"`` (DALI, for SIA v2) or the
``INFO name="Error"`` of Simple Cone Search 1.03.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile
from astropy.table import Table
from astropy.time import Time

__all__ = ["votable_bytes", "ecsv_text", "error_votable", "VOTABLE_MIME", "ECSV_MIME"]

#: Media types (VOTable 1.4 section 7; ECSV is text).
VOTABLE_MIME = "application/x-votable+xml"
ECSV_MIME = "text/plain"

_DATATYPES = {"b": "boolean", "i": "long", "u": "long", "f": "double", "U": "char", "S": "char"}


def _cell_array(column) -> tuple[np.ndarray, np.ndarray, str, dict[str, str]]:
    """Data, mask, VOTable datatype and extra FIELD attributes of one column."""
    extra: dict[str, str] = {}
    if isinstance(column, Time):
        mask = np.array(column.mask, dtype=bool).reshape(len(column))
        iso = column.utc.isot
        text = np.char.add(np.asarray(getattr(iso, "unmasked", iso), dtype=str), "Z")
        text[mask] = ""
        extra["xtype"] = "timestamp"
        return text, mask, "char", extra
    data = np.asarray(column)
    mask = np.ma.getmaskarray(column) if hasattr(column, "mask") else np.zeros(len(data), bool)
    kind = data.dtype.kind
    if kind not in _DATATYPES:
        data = np.array([str(v) for v in data], dtype=str)
        kind = "U"
    if kind == "U":
        data = np.char.encode(data, "utf-8")
    return data, mask, _DATATYPES[kind], extra


def _votable(table: Table, version: str) -> VOTableFile:
    votable = VOTableFile(version=version)
    resource = Resource()
    resource.type = "results"
    votable.resources.append(resource)
    element = TableElement(votable)
    resource.tables.append(element)
    if table.meta.get("description"):
        element.description = str(table.meta["description"])
    columns = []
    for name in table.colnames:
        column = table[name]
        data, mask, datatype, extra = _cell_array(column)
        unit = getattr(column, "unit", None)
        meta = column.info.meta or {}
        if meta.get("xtype"):
            extra["xtype"] = meta["xtype"]
        if version in ("1.0", "1.1"):
            extra.pop("xtype", None)  # an attribute of VOTable 1.2 and later
        field = Field(
            votable, name=name, ID=name, datatype=datatype,
            arraysize="*" if datatype == "char" else None,
            unit=None if unit is None or isinstance(column, Time) else _vounit(unit),
            ucd=meta.get("ucd"), utype=meta.get("utype"), **extra,
        )
        if column.info.description:
            field.description = str(column.info.description)
        element.fields.append(field)
        columns.append((name, data, mask))
    element.create_arrays(len(table))
    for name, data, mask in columns:
        element.array[name] = data
        element.array.mask[name] = mask
    return votable


def votable_bytes(
    table: Table,
    *,
    version: str = "1.4",
    infos: Iterable[tuple[str, str]] = (),
) -> bytes:
    """Return a table as a VOTable document (UTF-8 XML).

    Parameters
    ----------
    table : astropy.table.Table
        Columns with units, descriptions and ``meta["ucd"]``; a ``Time``
        column is written as ISO 8601 UTC text with ``xtype="timestamp"``.
    version : str
        The VOTable version: ``"1.4"``, or ``"1.1"`` for Simple Cone Search 1.03,
        whose UCD1 words (``ID_MAIN``) later versions' vocabulary does not have.
    infos : iterable of (name, value)
        INFO elements of the results RESOURCE, e.g. ``("QUERY_STATUS", "OK")``.

    Returns
    -------
    xml : bytes
    """
    votable = _votable(table, version)
    resource = votable.resources[0]
    for name, value in infos:
        resource.infos.append(Info(name=name, value=value))
    out = io.BytesIO()
    votable.to_xml(out, tabledata_format="tabledata")
    return out.getvalue()


def ecsv_text(table: Table) -> str:
    """Return a table as ECSV text (units, descriptions, masks and times kept)."""
    out = io.StringIO()
    table.write(out, format="ascii.ecsv")
    return out.getvalue()


def error_votable(message: str, *, style: str = "dali", version: str = "1.4") -> bytes:
    """Return the VOTable that reports a failed VO query.

    Parameters
    ----------
    message : str
        One line for the user: which parameter was wrong, and what is valid.
    style : {"dali", "scs"}
        ``dali``: a results RESOURCE with ``INFO name="QUERY_STATUS"
        value="ERROR"`` whose text is the message (SIA v2, DALI 1.1).
        ``scs``: ``INFO name="Error" value="<message>"`` right under VOTABLE
        (Simple Cone Search 1.03, section 3).
    version : str
        The VOTable version.
    """
    votable = VOTableFile(version=version)
    if style == "scs":
        votable.infos.append(Info(name="Error", value=message))
    else:
        resource = Resource()
        resource.type = "results"
        info = Info(name="QUERY_STATUS", value="ERROR")
        info.content = message
        resource.infos.append(info)
        votable.resources.append(resource)
    out = io.BytesIO()
    votable.to_xml(out)
    return out.getvalue()


def _vounit(unit: Any) -> str:
    """A unit in VOUnit; one it does not know (electron, DN) quoted, as VOUnit 1.0 allows."""
    try:
        return unit.to_string("vounit")
    except ValueError:
        parts = []
        for base, power in zip(unit.bases, unit.powers, strict=True):
            try:
                name = base.to_string("vounit")
            except ValueError:
                name = f"'{base.to_string()}'"
            parts.append(name if power == 1 else f"{name}**{power:g}")
        return ".".join(parts)
