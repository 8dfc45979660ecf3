"""Header keywords worth a trend, and only those that exist.

:data:`TREND_KEYWORDS` names the numeric header keywords an ACS analyst
trends most (sky level, bias level, dark, gain, read noise, post-flash,
sensitivity), each at the header where calacs writes it. A suggestion must
exist twice over:

- in the shipped keyword inventory (:mod:`acsq_mongo.query.keyword_types`, the
  real ACS headers), as a number at that filetype and extension
  (:func:`inventory_keywords`: what ``acsq trend --help`` and the guide may
  name, with no store to ask);
- and in the stored data (:func:`suggested_keywords`: what the web form
  offers). Each path is looked for in the whole documents of at most
  :data:`SAMPLE_ROOTNAMES` rootnames that have that filetype (the catalog's
  ``filetypes`` index finds them), so the cost is bounded whatever the size
  of the archive; with a cache, once per data generation.

Any other path may still be typed; a path no header has gets the warning of
:mod:`acsq_mongo.query.keyword_check`, as a query does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.query.cache import CallCache
from acsq_mongo.query.errors import server_errors
from acsq_mongo.query.keyword_types import keyword_types
from acsq_mongo.query.names import resolve

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache

__all__ = ["TREND_KEYWORDS", "SAMPLE_ROOTNAMES", "inventory_keywords", "suggested_keywords"]

#: Header keywords worth a trend, in the order they are offered: path -> what it is.
TREND_KEYWORDS: dict[str, str] = {
    "headers.flt.1.MDRIZSKY": "sky level AstroDrizzle subtracted",
    "headers.flt.0.BIASLEVA": "bias level of amplifier A",
    "headers.flt.1.MEANDARK": "mean dark subtracted",
    "headers.flt.0.CCDGAIN": "commanded gain",
    "headers.flt.0.READNSEA": "read noise of amplifier A",
    "headers.flt.1.MEANFLSH": "mean post-flash subtracted",
    "headers.flt.1.PHOTFLAM": "inverse sensitivity",
    "headers.flt.1.GOODMEAN": "mean of the good pixels",
    "headers.raw.0.MEANEXP": "mean exposure time of the CR-split set",
}
#: How many rootnames of a filetype are looked at for a keyword.
SAMPLE_ROOTNAMES = 50
_NUMERIC = {"Integer", "Float"}


def inventory_keywords() -> tuple[str, ...]:
    """The paths of :data:`TREND_KEYWORDS` that the keyword inventory has as numbers there."""
    out = []
    for path in TREND_KEYWORDS:
        ref = resolve(path)
        kinds = keyword_types(ref.filetype, ref.ext, ref.key)
        if kinds and kinds <= _NUMERIC:
            out.append(path)
    return tuple(out)


def _stored(db: Database, path: str) -> bool:
    """Whether a stored header of some of the first rootnames with that filetype has a
    number at ``path``."""
    ref = resolve(path)
    with server_errors():
        ids = [d["_id"] for d in db[CATALOG].find({"filetypes": ref.filetype}, {"_id": 1},
                                                   limit=SAMPLE_ROOTNAMES)]
        if not ids:
            return False
        docs = db[ROOTNAMES].find({"_id": {"$in": ids}, ref.path: {"$exists": True}},
                                  {ref.path: 1})
        return any(_is_number(_at(doc, ref.path)) for doc in docs)


def _at(doc: dict, path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def suggested_keywords(db: Database, cache: ResultCache | None = None) -> tuple[str, ...]:
    """The paths of :func:`inventory_keywords` that the stored data has (numbers).

    Parameters
    ----------
    db : Database
    cache : ResultCache, optional
        Keep the answer until the data generation changes.
    """
    def compute() -> tuple[str, ...]:
        return tuple(p for p in inventory_keywords() if _stored(db, p))

    return CallCache(db, cache).get("trend_keywords", (), compute)[0]
