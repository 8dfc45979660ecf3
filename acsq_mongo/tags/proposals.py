"""Anomalies proposed by a machine, for a tagger to confirm or reject.

A detector (``acstools.findsat_mrt`` finding a satellite trail) or a rule on
the image statistics (``saturation``, ``high_background``) proposes a flag
of the vocabulary. A proposal is an event in ``anomaly_events``, beside the
people's::

    {catalog_id, rootname, flag: "satellite_trail", action: "propose",
     user: "acstools.findsat_mrt 3.8.2", time, comment: "S/N 44.8 on chip1 ...",
     rule: "findsat_mrt", key: "satellite_trail:flc:acstools.findsat_mrt 3.8.2",
     detail: {"filetype": "flc", "trails": [{"chip", "endpoints", "snr", "width"}]}}

A tagger answers it with one click: ``confirm`` sets the flag (a ``set``
event, as a person setting it would) and records a ``confirm`` event;
``reject`` records a ``reject`` event. The history shows all three.

The proposals not yet answered are stored in the catalog as ``proposed``
(sorted slugs, absent when none), so ``proposed=satellite_trail`` and
``proposed__exists=true`` find them; no ingest writes that field. A proposal
rejected is never proposed again with the same ``key`` (flag, file and
detector version, or rule), and one already proposed is not proposed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG, GALLERIES
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.db.summary_shapes import gallery_id
from acsq_mongo.tags.flags import TagError, change_flags, check_comment

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.accounts.users import User
    from acsq_mongo.tags.vocabulary import Vocabulary

__all__ = ["PROPOSAL_ACTIONS", "propose", "answer", "pending_proposals", "store_proposed"]

#: The actions of proposals and their answers (``set`` and ``clear`` are people's changes).
PROPOSAL_ACTIONS = ("propose", "confirm", "reject")


def _events(db: Database, catalog_id: str) -> list[dict[str, Any]]:
    return sorted(db[ANOMALY_EVENTS].find({"catalog_id": catalog_id,
                                           "action": {"$in": list(PROPOSAL_ACTIONS)}}),
                  key=lambda e: (e["time"], str(e["_id"])))


def pending_proposals(db: Database, catalog_id: str) -> list[dict[str, Any]]:
    """The proposals of a rootname no one has answered yet, oldest first."""
    pending: dict[str, dict[str, Any]] = {}
    for event in _events(db, catalog_id):
        if event["action"] == "propose":
            pending.setdefault(event["key"], event)
        else:
            pending.pop(event["key"], None)
    return list(pending.values())


def set_gallery_proposed(db: Database, proposid: int | None, rootname: str,
                         flags: list[str]) -> bool:
    """Set one row's proposed flags in its proposal's gallery, in place (as a tag's flags)."""
    result = db[GALLERIES].update_one({"_id": gallery_id(proposid), "rows.rootname": rootname},
                                      {"$set": {"rows.$.proposed": flags or None}})
    return bool(result.matched_count)


def store_proposed(db: Database, catalog_id: str) -> list[str]:
    """Set the catalog's ``proposed`` from the rootname's pending proposals; return it."""
    flags = sorted({p["flag"] for p in pending_proposals(db, catalog_id)})
    # proposal_seq: how many proposal events there are (readers cache the history by it).
    seq = db[ANOMALY_EVENTS].count_documents({"catalog_id": catalog_id,
                                              "action": {"$in": list(PROPOSAL_ACTIONS)}})
    update: dict[str, Any] = {"$set": {"proposal_seq": seq}}
    if flags:
        update["$set"]["proposed"] = flags
    else:
        update["$unset"] = {"proposed": ""}
    db[CATALOG].update_one({"_id": catalog_id}, update)
    doc = db[CATALOG].find_one({"_id": catalog_id}, {"proposid": 1, "rootname": 1}) or {}
    set_gallery_proposed(db, doc.get("proposid"), doc.get("rootname") or catalog_id, flags)
    return flags


def propose(db: Database, rootname: str, flag: str, proposer: str, key: str, rule: str,
            comment: str, detail: Mapping[str, Any] | None = None, bump: bool = True
            ) -> dict[str, Any] | None:
    """Propose ``flag`` for a rootname, unless this ``key`` was proposed or answered before.

    Parameters
    ----------
    db : Database
    rootname : str
    flag : str
        A vocabulary slug (``satellite_trail``).
    proposer : str
        Who proposes, with its version (``acstools.findsat_mrt 3.8.2``, ``rule saturation``).
    key : str
        What makes this proposal the same as an earlier one (flag, file, detector
        version or rule): a rejected key is never proposed again.
    rule : str
        Which rule or detector made it.
    comment : str
        One line for the history (the S/N, the measured value and threshold).
    detail : mapping, optional
        What the view draws (a trail's endpoints).

    Returns
    -------
    event : dict or None
        The event written, or None if the key was proposed or answered before,
        or the flag is already set.
    """
    name = rootname.strip().lower()
    doc = db[CATALOG].find_one({"_id": name[:8]}, {"rootname": 1, "anomalies": 1})
    if doc is None:
        raise TagError(f"there is no rootname {name[:20]!r} in the archive")
    if flag in (doc.get("anomalies") or ()):
        return None
    if db[ANOMALY_EVENTS].find_one({"catalog_id": doc["_id"], "key": key}, {"_id": 1}):
        return None
    event = {"catalog_id": doc["_id"], "rootname": doc.get("rootname") or doc["_id"],
             "flag": flag, "action": "propose", "user": proposer, "time": utcnow(),
             "comment": check_comment(comment), "rule": rule, "key": key,
             "detail": dict(detail or {})}
    db[ANOMALY_EVENTS].insert_one(event)
    store_proposed(db, doc["_id"])
    if bump:
        bump_generation(db)
    return event


def answer(db: Database, rootname: str, key: str, user: User, vocabulary: Vocabulary,
           confirm: bool, comment: str = "") -> list[dict[str, Any]]:
    """Confirm or reject a pending proposal, as ``user``: one click on the image view.

    Confirming sets the flag (a ``set`` event) and records ``confirm``; rejecting
    records ``reject``, and the same key is never proposed again.

    Raises
    ------
    TagError
        If the user may not tag, or there is no such pending proposal.
    """
    if not user.can_tag:
        raise TagError(f"{user.name} may not answer proposals")
    name = rootname.strip().lower()
    pending = {p["key"]: p for p in pending_proposals(db, name[:8])}
    if key not in pending:
        raise TagError(f"no pending proposal {key[:80]!r} for {name[:20]!r}")
    proposal = pending[key]
    text = check_comment(comment)
    events = []
    if confirm:
        events += change_flags(db, name, user, vocabulary, add=[proposal["flag"]],
                               comment=text or f"confirmed: {proposal['comment']}")
    event = {"catalog_id": proposal["catalog_id"], "rootname": proposal["rootname"],
             "flag": proposal["flag"], "action": "confirm" if confirm else "reject",
             "user": user.name, "time": utcnow(), "comment": text, "rule": proposal["rule"],
             "key": key}
    db[ANOMALY_EVENTS].insert_one(event)
    store_proposed(db, proposal["catalog_id"])
    bump_generation(db)
    return events + [event]
