"""Setting and clearing anomaly flags: an append-only history, and the flags derived from it.

A change is a list of events in ``anomaly_events``, one per flag set or
cleared::

    {catalog_id: "j8cw03f6", rootname: "j8cw03f6q", flag: "satellite_trail",
     action: "set" | "clear", user: "ada", time: <date UTC>, comment: "..."}

Events are only ever inserted. After inserting them, the rootname's current
flags are derived from all its events (in order of time, then ``_id``) and
stored in its catalog document: ``anomalies`` (sorted slugs; absent when
none, so ``anomaly__exists=false`` finds the unflagged) and ``anomaly_seq``
(how many events they come from). That is one atomic update, made only if
the stored flags come from fewer events than these: two changes at once can
land in either order, and the catalog ends with the flags of every event. No
ingest writes these fields (:func:`acsq_mongo.ingest.store.catalog_update`).
The rootname's row in its proposal's gallery gets the flags too, so its card
shows them at once, and the data generation changes, so no cached query result survives the change.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG, GALLERIES
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.db.summary_shapes import gallery_flags_update
from acsq_mongo.errors import AcsqError
from acsq_mongo.tags.vocabulary import Vocabulary

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.accounts.users import User

__all__ = ["MAX_COMMENT", "TagError", "check_comment", "derive_flags", "change_flags",
           "store_flags", "set_gallery_flags"]

#: Longest comment, in characters.
MAX_COMMENT = 500


class TagError(AcsqError):
    """A change that cannot be made (unknown flag or rootname, long comment): one line."""


def check_comment(comment: str | None) -> str:
    """Return a comment trimmed, with control characters (but newlines) removed.

    Raises
    ------
    TagError
        If it is longer than :data:`MAX_COMMENT` characters.
    """
    text = (comment or "").replace("\r\n", "\n").strip()
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    if len(text) > MAX_COMMENT:
        raise TagError(f"the comment has {len(text)} characters; at most {MAX_COMMENT}")
    return text


def derive_flags(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The flags a history leaves set: replay its events in order (time, then ``_id``)."""
    flags: set[str] = set()
    for event in sorted(events, key=lambda e: (e["time"], str(e["_id"]))):
        if event["action"] == "set":
            flags.add(event["flag"])
        elif event["action"] == "clear":  # (proposals and their answers: tags.proposals)
            flags.discard(event["flag"])
    return sorted(flags)


def store_flags(db: Database, catalog_id: str) -> list[str]:
    """Derive a rootname's flags from its events and store them in the catalog.

    Returns
    -------
    flags : list of str
        The flags its events leave set.
    """
    events = list(db[ANOMALY_EVENTS].find({"catalog_id": catalog_id},
                                          {"flag": 1, "action": 1, "time": 1}))
    flags, n = derive_flags(events), len(events)
    update: dict[str, Any] = {"$set": {"anomaly_seq": n}}
    if flags:
        update["$set"]["anomalies"] = flags
    else:
        update["$unset"] = {"anomalies": ""}
    # Only over flags derived from fewer events: a slower writer never undoes a later change.
    db[CATALOG].update_one(
        {"_id": catalog_id, "$or": [{"anomaly_seq": {"$lt": n}}, {"anomaly_seq": None}]},
        update)
    return flags


def change_flags(
    db: Database,
    rootname: str,
    user: User,
    vocabulary: Vocabulary,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    comment: str | None = "",
) -> list[dict[str, Any]]:
    """Set and clear flags of a rootname, as ``user``, with an optional comment.

    Parameters
    ----------
    db : Database
    rootname : str
        A rootname in the catalog (its 9 characters, or the first 8).
    user : User
        Who: an enabled tagger or admin.
    vocabulary : Vocabulary
        The flags that may be set.
    add, remove : iterable of str
        Flags (slugs) to set and to clear; a flag already so is left alone.
    comment : str, optional
        At most :data:`MAX_COMMENT` characters, kept with each event.

    Returns
    -------
    events : list of dict
        The events written (none if nothing changed).

    Raises
    ------
    TagError
        If the user may not tag, the rootname is not in the catalog, a flag to
        set is not in the vocabulary, a flag is both set and cleared, or the
        comment is too long. Nothing is written then.
    """
    if not user.can_tag:
        raise TagError(f"{user.name} may not set anomaly flags")
    add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    unknown = [f for f in add if f not in vocabulary.slugs]
    if unknown:
        raise TagError(f"unknown anomaly flag {unknown[0][:40]!r}; flags: "
                       + ", ".join(vocabulary.slugs))
    both = set(add) & set(remove)
    if both:
        raise TagError(f"{sorted(both)[0]!r} cannot be both set and cleared")
    text = check_comment(comment)
    name = (rootname or "").strip().lower()
    doc = db[CATALOG].find_one({"_id": name[:8]}, {"rootname": 1, "proposid": 1,
                                                   "anomalies": 1})
    if doc is None or len(name) < 8:
        raise TagError(f"there is no rootname {name[:20]!r} in the archive")
    current = set(doc.get("anomalies") or ())
    now = utcnow()
    events = [{"catalog_id": doc["_id"], "rootname": doc.get("rootname") or doc["_id"],
               "flag": flag, "action": action, "user": user.name, "time": now,
               "comment": text}
              for action, flags in (("set", [f for f in add if f not in current]),
                                    ("clear", [f for f in remove if f in current]))
              for flag in flags]
    if not events:
        return []
    db[ANOMALY_EVENTS].insert_many(events)
    store_flags(db, doc["_id"])
    # The gallery gets what the catalog holds now (a later change may have won the race).
    now_stored = db[CATALOG].find_one({"_id": doc["_id"]},
                                      {"anomalies": 1, "anomaly_seq": 1}) or {}
    set_gallery_flags(db, doc.get("proposid"), events[0]["rootname"],
                      now_stored.get("anomalies") or [], now_stored.get("anomaly_seq"))
    bump_generation(db)
    return events


def set_gallery_flags(db: Database, proposid: int | None, rootname: str,
                      flags: list[str], seq: int | None = None) -> bool:
    """Set one row's anomaly flags in its proposal's gallery (after a tag), in place.

    One atomic positional update: the rest of the gallery (rows, counts, the
    proposal's summary) stays as ingest's last run wrote it, and two tags at once
    on one proposal cannot undo each other. With ``seq`` (the catalog's
    ``anomaly_seq``), flags from fewer events never overwrite later ones
    (:func:`~acsq_mongo.db.summary_shapes.gallery_flags_update`). Returns whether a
    row was updated (False when the proposal has no gallery document, not this row
    yet: the next run writes it, or the gallery has later flags). The gallery's
    shape is the shared model's, so a tag needs nothing of the ingest stage.
    """
    query, update = gallery_flags_update(proposid, rootname, flags, seq)
    return bool(db[GALLERIES].update_one(query, update).matched_count)
