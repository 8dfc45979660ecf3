"""Anomalies proposed from the image statistics, by rules with thresholds that are settings.

Two rules, each over the catalog's ``stats`` (:mod:`acsq_mongo.images.statistics`):

``saturation``
    A chip of an flt or flc whose ``saturated_fraction`` is above the setting
    ``proposal_saturated_fraction`` proposes ``excessive_saturation``.
``high_background``
    A chip of an flt whose ``background`` is above ``proposal_background_factor``
    times the median background of the flt chips of the same ``filter1``,
    ``filter2`` and ``exptime`` (groups of at least
    ``proposal_background_min_group`` images) proposes ``high_background``.

Each proposal names its rule and the numbers that made it, in its comment and
its key (the rule, the filetype and the threshold): a rejected one is not
proposed again while the threshold is the same.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.tags.proposals import propose

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["RULES", "propose_from_stats"]

#: The rules, and the flag each proposes.
RULES: dict[str, str] = {"saturation": "excessive_saturation",
                         "high_background": "high_background"}
_FIELDS = {"_id": 1, "rootname": 1, "filter1": 1, "filter2": 1, "exptime": 1,
           "stats.flt": 1, "stats.flc": 1}


def _chips(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {region: values for region, values in (stats or {}).items()
            if region.startswith("chip")}


def propose_from_stats(db: Database, settings: Settings) -> dict[str, int]:
    """Apply the rules to every catalog rootname with statistics; return proposals per rule."""
    made = {rule: 0 for rule in RULES}
    docs = list(db[CATALOG].find({"$or": [{"stats.flt": {"$exists": True}},
                                          {"stats.flc": {"$exists": True}}]}, _FIELDS))
    limit = settings.proposal_saturated_fraction
    for doc in docs:
        for filetype in ("flt", "flc"):
            chips = _chips((doc.get("stats") or {}).get(filetype))
            worst = max(((c, v.get("saturated_fraction")) for c, v in chips.items()
                         if v.get("saturated_fraction") is not None),
                        key=lambda cv: cv[1], default=None)
            if worst is not None and worst[1] > limit:
                comment = (f"rule saturation: {worst[1]:.2%} of {worst[0]} of the {filetype} "
                           f"flagged saturated (DQ 256), above {limit:.2%}")
                key = f"excessive_saturation:{filetype}:rule saturation>{limit:g}"
                if propose(db, doc["rootname"], RULES["saturation"], "rule saturation", key,
                           "saturation", comment, {"filetype": filetype}, bump=False):
                    made["saturation"] += 1
    made["high_background"] = _high_background(db, settings, docs)
    if any(made.values()):
        bump_generation(db)
    return made


def _high_background(db: Database, settings: Settings, docs: list[dict[str, Any]]) -> int:
    groups: dict[tuple, list[tuple[dict[str, Any], str, float]]] = defaultdict(list)
    for doc in docs:
        for chip, values in _chips((doc.get("stats") or {}).get("flt")).items():
            if values.get("background") is not None:
                key = (doc.get("filter1"), doc.get("filter2"), doc.get("exptime"))
                groups[key].append((doc, chip, float(values["background"])))
    factor, made = settings.proposal_background_factor, 0
    for (filter1, filter2, exptime), members in groups.items():
        if len({doc["_id"] for doc, _, _ in members}) < settings.proposal_background_min_group:
            continue
        median = statistics.median(b for _, _, b in members)
        if median <= 0:
            continue
        for doc, chip, background in members:
            if background > factor * median:
                comment = (f"rule high_background: {chip} of the flt at {background:.1f} e-, "
                           f"{background / median:.1f} times the median {median:.1f} e- of "
                           f"{filter1}/{filter2} at {exptime:g} s")
                key = f"high_background:flt:rule background>{factor:g}x median"
                if propose(db, doc["rootname"], RULES["high_background"],
                           "rule high_background", key, "high_background", comment,
                           {"filetype": "flt", "chip": chip}, bump=False):
                    made += 1
    return made
