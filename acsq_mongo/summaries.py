"""Per-proposal summaries (the ``proposals`` collection), rebuilt from the catalog.

The archive page lists every proposal with its number of rootnames, its
detectors, its date range and a representative thumbnail. Computing that on
every page view would scan the catalog each time, so ingest rebuilds it once
per run with :func:`refresh_proposals`: one projected scan of the slim
``catalog`` collection, summarised in Python (portable to MongoDB, FerretDB
and mongomock alike), and written back only where a summary changed.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from acsq_mongo.database import CATALOG, PROPOSALS
from acsq_mongo.store import bump_generation, utcnow

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["refresh_proposals", "summarise_proposals", "MAX_TARGNAMES"]

#: Most target names listed per proposal.
MAX_TARGNAMES = 10

_PROJECTION = {
    "proposid": 1, "detector": 1, "date_obs": 1, "pr_inv_l": 1, "pr_inv_f": 1,
    "proposal_type": 1, "targname": 1, "quicklook.thumbnail": 1,
}


def _most_common(counter: Counter) -> Any:
    if not counter:
        return None
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]


def summarise_proposals(rows) -> dict[int, dict[str, Any]]:
    """Summarise catalog rows (with the fields of ``_PROJECTION``) by proposal.

    Rows without a proposal ID are left out.

    Returns
    -------
    summaries : dict
        ``{proposid: summary}`` in the shape of docs/data-model.md, without
        ``updated``.
    """
    groups: dict[int, list[dict]] = {}
    for row in rows:
        pid = row.get("proposid")
        if isinstance(pid, int) and not isinstance(pid, bool):
            groups.setdefault(pid, []).append(row)
    out = {}
    for pid, members in groups.items():
        members.sort(key=lambda r: (r.get("date_obs") is None, r.get("date_obs") or 0,
                                    r["_id"]))
        dates = [r["date_obs"] for r in members if r.get("date_obs") is not None]
        targets = Counter(r["targname"] for r in members if r.get("targname"))
        pis = Counter((r.get("pr_inv_l"), r.get("pr_inv_f")) for r in members
                      if r.get("pr_inv_l") or r.get("pr_inv_f"))
        thumbnail = next(((r.get("quicklook") or {}).get("thumbnail") for r in members
                          if (r.get("quicklook") or {}).get("thumbnail")), None)
        pi = _most_common(pis) or (None, None)
        out[pid] = {
            "_id": pid,
            "proposid": pid,
            "n_rootnames": len(members),
            "detectors": sorted({r["detector"] for r in members if r.get("detector")}),
            "date_min": min(dates) if dates else None,
            "date_max": max(dates) if dates else None,
            "pr_inv_l": pi[0],
            "pr_inv_f": pi[1],
            "proposal_type": _most_common(
                Counter(r["proposal_type"] for r in members if r.get("proposal_type"))),
            "targnames": [t for t, _ in sorted(targets.items(), key=lambda kv: (-kv[1], kv[0]))
                          ][:MAX_TARGNAMES],
            "thumbnail": thumbnail,
        }
    return out


def refresh_proposals(db: Database) -> dict[str, int]:
    """Rebuild the ``proposals`` collection from the catalog.

    Summaries that did not change are not rewritten; proposals that no
    longer have rootnames are removed.

    Returns
    -------
    counts : dict
        ``{"proposals": total, "written": changed or new, "removed": n}``.
    """
    summaries = summarise_proposals(db[CATALOG].find({}, _PROJECTION))
    existing = {doc["_id"]: doc for doc in db[PROPOSALS].find({})}
    now = utcnow()
    written = 0
    for pid, summary in summaries.items():
        old = existing.get(pid)
        if old is not None and {k: v for k, v in old.items() if k != "updated"} == summary:
            continue
        db[PROPOSALS].replace_one({"_id": pid}, {**summary, "updated": now}, upsert=True)
        written += 1
    gone = [pid for pid in existing if pid not in summaries]
    if gone:
        db[PROPOSALS].delete_many({"_id": {"$in": gone}})
    if written or gone:
        bump_generation(db)
    return {"proposals": len(summaries), "written": written, "removed": len(gone)}
