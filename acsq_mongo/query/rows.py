"""Stored documents into output rows: projections, the one row builder, pages in a given order.

Used by :mod:`.core` for every page and stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.query.errors import server_errors
from acsq_mongo.query.names import FieldRef
from acsq_mongo.query.result import Selection
from acsq_mongo.query.spec import QuerySpec

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["projection", "rows", "rows_by_ids", "distance_order"]


def projection(refs: tuple[FieldRef, ...], collection: str) -> dict[str, int]:
    """The projection of some columns on a collection (header columns only on ``rootnames``)."""
    out = {"_id": 1}
    for ref in refs:
        if ref.is_header and collection != ROOTNAMES:
            continue
        out[ref.path] = 1
    return out


def _value(doc: dict, ref: FieldRef) -> Any:
    if not ref.is_header and "." not in ref.path:
        return doc.get(ref.name)
    if not ref.is_header:  # an image statistic: stats.<filetype>.<region>.<statistic>
        node: Any = doc
        for part in ref.path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node
    node: Any = doc
    for part in ("headers", ref.filetype, ref.ext, ref.path.split(".", 3)[3]):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _docs_by_id(db: Database, collection: str, ids: list[str], paths: list[str]
                ) -> dict[str, dict]:
    """Fetch some paths of some documents of a collection, by ``_id``."""
    if not ids or not paths:
        return {}
    with server_errors():
        return {d["_id"]: d for d in db[collection].find(
            {"_id": {"$in": ids}}, {"_id": 1, **dict.fromkeys(paths, 1)})}


def rows(db: Database, docs: list[dict], refs: tuple[FieldRef, ...], collection: str
         ) -> list[dict[str, Any]]:
    """Output rows of some documents read from ``collection``: the one row builder.

    Every format (the HTML table, JSON, CSV, VOTable, ECSV, the CLI and the
    Python API) gets its rows from here, whichever collection the page or
    stream was read from. Each value comes from where it is kept: a field
    (``anomalies``, ``last_ingest_date``, ...) from ``catalog``, where the tags
    and the re-ingest of an unchanged rootname write it; a header keyword from
    ``rootnames``. The other collection is read once per call, by ``_id``.
    A rootname whose catalog entry is not written yet shows the whole
    document's fields.
    """
    header_refs = [r for r in refs if r.is_header]
    field_refs = [r for r in refs if not r.is_header]
    ids = [d["_id"] for d in docs]
    if collection == ROOTNAMES:
        headers = {d["_id"]: d for d in docs}
        fields = _docs_by_id(db, CATALOG, ids, [r.path for r in field_refs])
    else:
        headers = _docs_by_id(db, ROOTNAMES, ids, [r.path for r in header_refs])
        fields = {d["_id"]: d for d in docs}
    out = []
    for doc in docs:
        field_doc = fields.get(doc["_id"], doc)
        header_doc = headers.get(doc["_id"], {})
        out.append({ref.name: _value(header_doc if ref.is_header else field_doc, ref)
                    for ref in refs})
    return out


def distance_order(spec: QuerySpec, selection: Selection) -> tuple[str, ...] | None:
    """The ids in page order when the sort is by distance from the search's position."""
    if not spec.sorts_by_distance or selection.by_distance is None:
        return None
    direction = spec.sort[0][1]
    return selection.by_distance if direction > 0 else selection.by_distance[::-1]


def rows_by_ids(db: Database, spec: QuerySpec, ids: tuple[str, ...] | list[str]
                ) -> list[dict[str, Any]]:
    """The rows of these catalog ids, in this order (one ``_id: {$in: [...]}``)."""
    if not ids:
        return []
    with server_errors():
        docs = {d["_id"]: d for d in db[CATALOG].find({"_id": {"$in": list(ids)}},
                                                      projection(spec.columns, CATALOG))}
    return rows(db, [docs[i] for i in ids if i in docs], spec.columns, CATALOG)
