"""The rootnames of one visit: those sharing the first six characters (``ipppss``).

An HST rootname is ``ipppssoot``: instrument, program, visit (``ss``), then the
exposure. The image explorer offers the other rootnames of a visit to compare
with. One indexed range query on the catalog's ``_id`` (its first 8
characters).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["visit_rootnames"]

_VISIT = re.compile(r"[a-z0-9]{6}", re.ASCII)


def visit_rootnames(db: Database, rootname: str, limit: int = 100) -> list[dict[str, Any]]:
    """The catalog entries of the rootnames of ``rootname``'s visit, in rootname order.

    Returns
    -------
    entries : list of dict
        ``rootname`` and ``filetypes`` of each (``rootname`` itself included),
        at most ``limit``; none for a malformed rootname.
    """
    prefix = (rootname or "").strip().lower()[:6]
    if _VISIT.fullmatch(prefix) is None:
        return []
    # "~" sorts after every letter and digit, so the range is the prefix's rootnames.
    cursor = db[CATALOG].find({"_id": {"$gte": prefix, "$lt": prefix + "~"}},
                              {"_id": 1, "rootname": 1, "filetypes": 1})
    rows = [{"rootname": d.get("rootname") or d["_id"], "filetypes": d.get("filetypes") or []}
            for d in cursor.sort("_id", 1).limit(limit)]
    return rows
