"""Stored documents into output rows: projections, header columns, and pages in a given order.

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
    if not ref.is_header:
        return doc.get(ref.name)
    node: Any = doc
    for part in ("headers", ref.filetype, ref.ext, ref.path.split(".", 3)[3]):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _header_docs(db: Database, ids: list[str], refs: tuple[FieldRef, ...]) -> dict[str, dict]:
    """Fetch the header columns of some rootnames from ``rootnames``, by ``_id``."""
    if not ids or not refs:
        return {}
    fields = {"_id": 1, **{ref.path: 1 for ref in refs}}
    with server_errors():
        return {d["_id"]: d for d in db[ROOTNAMES].find({"_id": {"$in": ids}}, fields)}


def rows(db: Database, docs: list[dict], refs: tuple[FieldRef, ...], collection: str
         ) -> list[dict[str, Any]]:
    """Output rows of some documents (header columns fetched from ``rootnames`` if need be)."""
    header_refs = tuple(r for r in refs if r.is_header)
    headers: dict[str, dict] = {}
    if header_refs and collection != ROOTNAMES:
        headers = _header_docs(db, [d["_id"] for d in docs], header_refs)
    out = []
    for doc in docs:
        source = headers.get(doc["_id"], {})
        out.append({
            ref.name: _value(source if ref.is_header and collection != ROOTNAMES else doc, ref)
            for ref in refs
        })
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
