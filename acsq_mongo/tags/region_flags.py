"""Anomaly flags at a place in an image: a point or a box of one extension of one file.

A flag set from the image explorer is an ordinary ``set`` event of
``anomaly_events`` (:mod:`acsq_mongo.tags.flags`) with one more, optional
field::

    region: {filetype: "flt", extension: "SCI", extver: 1 | None,
             x0: 1201, y0: 388, x1: 1260, y1: 420}

The coordinates are FITS pixels (1-based, inclusive) of that view: of the
chip ``extver``, or, with ``extver`` None, of the picture with the chips
stitched as the quicklook stitches them. A point is a box of one pixel.
Unlike a change of the flag checkboxes, such an event is written even when
the flag is already set: each region is a finding of its own. Clearing a
flag clears its regions too (:func:`flagged_regions` replays the history).
Events without ``region`` are untouched; nothing else of the event changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.fields import IMAGE_FILETYPES
from acsq_mongo.tags.flags import TagError, check_comment, set_gallery_flags, store_flags
from acsq_mongo.tags.vocabulary import Vocabulary

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.accounts.users import User

__all__ = ["REGION_EXTENSIONS", "MAX_COORDINATE", "check_region", "flag_region",
           "flagged_regions"]

#: The extensions a region may be drawn on.
REGION_EXTENSIONS: tuple[str, ...] = ("SCI", "ERR", "DQ")
#: The largest pixel coordinate a region may have.
MAX_COORDINATE = 100_000


def _whole(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise TagError(f"region {name} takes a whole number, got {str(value)[:20]!r}") from None
    if not low <= number <= high:
        raise TagError(f"region {name} = {number} is outside {low} to {high}")
    return number


def check_region(region: Mapping[str, Any]) -> dict[str, Any]:
    """Return a region checked and normalised (corners ordered), or raise TagError.

    Parameters
    ----------
    region : mapping
        ``filetype``, ``extension``, ``extver`` (None or absent for the stitched
        picture), ``x0``, ``y0`` and, for a box, ``x1``, ``y1``.
    """
    filetype = str(region.get("filetype") or "").lower()
    if filetype not in IMAGE_FILETYPES:
        raise TagError(f"region filetype {filetype[:10]!r} is not one of "
                       + ", ".join(IMAGE_FILETYPES))
    extension = str(region.get("extension") or "SCI").upper()
    if extension not in REGION_EXTENSIONS:
        raise TagError(f"region extension {extension[:10]!r} is not one of "
                       + ", ".join(REGION_EXTENSIONS))
    extver = region.get("extver")
    extver = None if extver in (None, "", "all") else _whole(extver, "extver", 1, 99)
    x0 = _whole(region.get("x0"), "x0", 1, MAX_COORDINATE)
    y0 = _whole(region.get("y0"), "y0", 1, MAX_COORDINATE)
    x1 = _whole(region.get("x1", x0), "x1", 1, MAX_COORDINATE)
    y1 = _whole(region.get("y1", y0), "y1", 1, MAX_COORDINATE)
    return {"filetype": filetype, "extension": extension, "extver": extver,
            "x0": min(x0, x1), "y0": min(y0, y1), "x1": max(x0, x1), "y1": max(y0, y1)}


def flag_region(db: Database, rootname: str, user: User, vocabulary: Vocabulary, flag: str,
                region: Mapping[str, Any], comment: str | None = "") -> dict[str, Any]:
    """Set a flag on a rootname at a region of one of its images, as ``user``.

    Returns
    -------
    event : dict
        The event written.

    Raises
    ------
    TagError
        If the user may not tag, the flag is not in the vocabulary, the
        rootname is not in the catalog, or the region or comment is bad.
        Nothing is written then.
    """
    if not user.can_tag:
        raise TagError(f"{user.name} may not set anomaly flags")
    if flag not in vocabulary.slugs:
        raise TagError(f"unknown anomaly flag {str(flag)[:40]!r}; flags: "
                       + ", ".join(vocabulary.slugs))
    checked = check_region(region)
    text = check_comment(comment)
    name = (rootname or "").strip().lower()
    doc = db[CATALOG].find_one({"_id": name[:8]}, {"rootname": 1, "proposid": 1})
    if doc is None or len(name) < 8:
        raise TagError(f"there is no rootname {name[:20]!r} in the archive")
    event = {"catalog_id": doc["_id"], "rootname": doc.get("rootname") or doc["_id"],
             "flag": flag, "action": "set", "user": user.name, "time": utcnow(),
             "comment": text, "region": checked}
    db[ANOMALY_EVENTS].insert_one(event)
    store_flags(db, doc["_id"])
    stored = db[CATALOG].find_one({"_id": doc["_id"]}, {"anomalies": 1}) or {}
    set_gallery_flags(db, doc.get("proposid"), event["rootname"], stored.get("anomalies") or [])
    bump_generation(db)
    return event


def flagged_regions(db: Database, catalog_id: str) -> list[dict[str, Any]]:
    """The regions of a rootname whose flag is still set: each with its flag, user, time, comment.

    A ``clear`` of a flag drops the regions set before it.
    """
    events = db[ANOMALY_EVENTS].find(
        {"catalog_id": catalog_id},
        {"flag": 1, "action": 1, "time": 1, "user": 1, "comment": 1, "region": 1},
    ).sort([("catalog_id", 1), ("time", 1)])
    kept: dict[str, list[dict[str, Any]]] = {}
    for event in sorted(events, key=lambda e: (e["time"], str(e["_id"]))):
        if event["action"] == "clear":
            kept.pop(event["flag"], None)
        elif isinstance(event.get("region"), dict):
            kept.setdefault(event["flag"], []).append(
                {"flag": event["flag"], "user": event.get("user"), "time": event["time"],
                 "comment": event.get("comment") or "", **event["region"]})
    return sorted((r for regions in kept.values() for r in regions), key=lambda r: r["time"])
