"""Summaries rebuilt once per ingest run: proposals, galleries, the archive in figures.

The browse pages need views of the whole catalog: the archive page lists every
proposal (rootnames, detectors, date range, a thumbnail), a proposal's gallery
and its image views' previous/next need the proposal's rootnames in date
order, and the home page counts everything. Computing those on every page view
queries the catalog each time, and every write changes the data generation, so
during an ingest no cached copy survives. So each ingest, re-ingest or
quicklook run ends with :func:`refresh_summaries`: one projected scan of the
slim ``catalog``, summarised in Python (the galleries need every row anyway),
and written back only where something changed:

``proposals``
    One summary per proposal (docs/data-model.md).
``galleries``
    One document per proposal, ``_id`` the proposal ID as text
    (``"unknown"`` for rootnames without one): its rootnames as rows of
    :data:`GALLERY_COLUMNS` by date of observation, then ``_id``; proposals
    of more than :data:`MAX_GALLERY_ROWS` rootnames are left to the query
    core.
``meta`` ``{_id: "summary"}``
    The archive's counts by detector, year, filetypes and errors (the groups
    of :data:`acsq_mongo.browse.summary.SUMMARY_PIPELINE`) and the values each
    facet field takes.

The ``_id`` s of ``proposals`` and ``galleries`` are the proposal ID as text
(``proposid`` stays an integer field), as URLs name them.

A tag set while a refresh runs is never lost from the gallery: a gallery
holds, beside its rows, ``anomaly_seqs`` (how many flag events each tagged
row's flags come from), a tag's gallery update applies only over fewer events
(:func:`acsq_mongo.tags.flags.set_gallery_flags`), and after replacing the galleries the refresh
reads the flags of the tagged rootnames again and sets any that changed since
its first read (the ``galleries`` hold step stops a refresh between the two,
for the test).

These are views as of the end of the last run, like the seed's per-run
tables; a page reads them with one ``_id`` lookup. The query core falls back
to the live scan where one is missing.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acsq_mongo.db.collections import CATALOG, GALLERIES, META, PROPOSALS
from acsq_mongo.db.generation import bump_generation, utcnow
from acsq_mongo.db.summary_shapes import (
    GALLERY_COLUMNS,
    MAX_GALLERY_ROWS,
    MAX_TARGNAMES,
    gallery_flags_update,
    gallery_id,
    proposal_id,
)
from acsq_mongo.fields import FACET_FIELDS, LIST_FACET_FIELDS
from acsq_mongo.ingest.hold import hold

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "refresh_summaries",
    "summarise_proposals",
    "gallery_rows",
    "summary_groups",
    "facet_values",
]

_PROJECTION = {
    name: 1 for name in (
        *GALLERY_COLUMNS, *FACET_FIELDS, "pr_inv_l", "pr_inv_f", "proposal_type", "year",
        "n_errors", "anomaly_seq",
    )
}


def _proposid(row: Mapping[str, Any]) -> int | None:
    pid = row.get("proposid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


def _most_common(counter: Counter) -> Any:
    if not counter:
        return None
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]


def _by_date(row: Mapping[str, Any]) -> tuple:
    # The order of sort([("date_obs", 1), ("_id", 1)]) on the server: null dates first.
    date = row.get("date_obs")
    return (date is not None, date or datetime.datetime.min, row["_id"])


def summarise_proposals(rows: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Summarise catalog rows by proposal.

    Rows without a proposal ID are left out.

    Returns
    -------
    summaries : dict
        ``{proposid: summary}`` in the shape of docs/data-model.md, without
        ``updated``.
    """
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        pid = _proposid(row)
        if pid is not None:
            groups.setdefault(pid, []).append(row)
    out = {}
    for pid, members in groups.items():
        members = sorted(members, key=_by_date)
        dates = [r["date_obs"] for r in members if r.get("date_obs") is not None]
        targets = Counter(r["targname"] for r in members if r.get("targname"))
        pis = Counter((r.get("pr_inv_l"), r.get("pr_inv_f")) for r in members
                      if r.get("pr_inv_l") or r.get("pr_inv_f"))
        thumbnail = next(((r.get("quicklook") or {}).get("thumbnail") for r in members
                          if (r.get("quicklook") or {}).get("thumbnail")), None)
        pi = _most_common(pis) or (None, None)
        out[pid] = {
            "_id": proposal_id(pid),
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


def gallery_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group catalog rows into galleries: ``{gallery_id: rows by date, then _id}``.

    Each row keeps :data:`GALLERY_COLUMNS` (missing ones as None), like a row
    of :func:`acsq_mongo.query.core.iter_rows`. Proposals of more than
    :data:`MAX_GALLERY_ROWS` rootnames are left out.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(gallery_id(_proposid(row)), []).append(row)
    return {
        key: [{c: row.get(c) for c in GALLERY_COLUMNS} for row in sorted(members, key=_by_date)]
        for key, members in groups.items() if len(members) <= MAX_GALLERY_ROWS
    }


def summary_groups(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Count rows by (detector, year, filetypes, n_errors).

    The same groups as the ``$group`` of
    :data:`acsq_mongo.browse.summary.SUMMARY_PIPELINE`, so
    :func:`acsq_mongo.browse.summary.summarise_groups` reads either.
    """
    counts: Counter = Counter()
    for row in rows:
        filetypes = row.get("filetypes")
        key = (row.get("detector"), row.get("year"),
               tuple(filetypes) if isinstance(filetypes, list) else filetypes,
               row.get("n_errors"))
        counts[key] += 1
    return [
        {"_id": {"detector": detector, "year": year,
                 "filetypes": list(filetypes) if isinstance(filetypes, tuple) else filetypes,
                 "n_errors": n_errors},
         "n": n}
        for (detector, year, filetypes, n_errors), n in sorted(counts.items(), key=str)
    ]


def facet_values(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Return the values each facet field takes, most frequent first, without None."""
    counters = {name: Counter() for name in FACET_FIELDS}
    for row in rows:
        for name, counter in counters.items():
            value = row.get(name)
            values = value if name in LIST_FACET_FIELDS and isinstance(value, list) else [value]
            counter.update(v for v in values if v is not None)
    return {
        name: [v for v, _ in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))]
        for name, c in counters.items()
    }


def _sync(db: Database, collection: str, wanted: Mapping[Any, dict[str, Any]],
          now: datetime.datetime) -> tuple[int, int]:
    """Write the documents of ``wanted`` that changed, remove the others; return the counts."""
    existing = {doc["_id"]: doc for doc in db[collection].find({})}
    written = 0
    for key, document in wanted.items():
        old = existing.get(key)
        if old is not None and {k: v for k, v in old.items() if k != "updated"} == document:
            continue
        db[collection].replace_one({"_id": key}, {**document, "updated": now}, upsert=True)
        written += 1
    gone = [key for key in existing if key not in wanted]
    if gone:
        db[collection].delete_many({"_id": {"$in": gone}})
    return written, len(gone)


def refresh_summaries(db: Database, settings: Settings | None = None) -> dict[str, int]:
    """Rebuild ``proposals``, ``galleries`` and ``meta.summary`` from the catalog.

    One projected scan of ``catalog``. Documents that did not change are not
    rewritten; proposals that no longer have rootnames are removed. Flags set
    meanwhile are kept (:func:`_mend_flags`).

    Parameters
    ----------
    db : Database
    settings : Settings, optional
        For the ``galleries`` hold step (``test_hold``, :mod:`acsq_mongo.ingest.hold`).

    Returns
    -------
    counts : dict
        ``{"proposals": total, "written": changed or new, "removed": n,
        "galleries": total, "galleries_written": n}``.
    """
    rows = list(db[CATALOG].find({}, _PROJECTION))
    now = utcnow()
    proposals = summarise_proposals(rows)
    written, removed = _sync(db, PROPOSALS, {s["_id"]: s for s in proposals.values()}, now)
    # Each gallery carries its proposal's summary: a gallery page reads both from one
    # document, so it never shows a count from one run beside rows from another.
    by_key = {gallery_id(pid): {k: v for k, v in s.items() if k != "_id"}
              for pid, s in proposals.items()}
    seqs: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.get("anomaly_seq") and row.get("rootname"):
            seqs.setdefault(gallery_id(_proposid(row)), {})[row["rootname"]] = row["anomaly_seq"]
    galleries = {key: {"_id": key, "n": len(members), "rows": members,
                       **({"summary": by_key[key]} if key in by_key else {}),
                       **({"anomaly_seqs": seqs[key]} if key in seqs else {})}
                 for key, members in gallery_rows(rows).items()}
    if settings is not None:
        hold(settings, "galleries")
    galleries_written, galleries_removed = _sync(db, GALLERIES, galleries, now)
    _mend_flags(db, rows)
    summary = {"_id": "summary", "n_rootnames": len(rows), "n_proposals": len(proposals),
               "groups": summary_groups(rows), "values": facet_values(rows)}
    summary_written, _ = _sync_one(db, summary, now)
    if written or removed or galleries_written or galleries_removed or summary_written:
        bump_generation(db)
    return {"proposals": len(proposals), "written": written, "removed": removed,
            "galleries": len(galleries), "galleries_written": galleries_written}


def _mend_flags(db: Database, read: list[Mapping[str, Any]]) -> int:
    """Set the gallery flags of rootnames tagged since ``read`` was read; return how many.

    A tag between the refresh's read of the catalog and its replacing of the
    galleries set its flags in a gallery that was then replaced by one built
    from the earlier read. Its events are in the catalog's ``anomaly_seq``:
    every tagged rootname whose count differs from the read gets its flags
    again, guarded (:func:`~acsq_mongo.db.summary_shapes.gallery_flags_update`),
    so a tag made meanwhile wins.
    """
    seen = {row["_id"]: row.get("anomaly_seq") for row in read}
    mended = 0
    for doc in db[CATALOG].find({"anomaly_seq": {"$exists": True}},
                                {"rootname": 1, "proposid": 1, "anomalies": 1,
                                 "anomaly_seq": 1}):
        if doc.get("anomaly_seq") != seen.get(doc["_id"]) and doc.get("rootname"):
            query, update = gallery_flags_update(_proposid(doc), doc["rootname"],
                                                 doc.get("anomalies") or [], doc["anomaly_seq"])
            mended += db[GALLERIES].update_one(query, update).matched_count
    return mended


def _sync_one(db: Database, document: dict[str, Any], now: datetime.datetime) -> tuple[int, int]:
    old = db[META].find_one({"_id": document["_id"]})
    if old is not None and {k: v for k, v in old.items() if k != "updated"} == document:
        return 0, 0
    db[META].replace_one({"_id": document["_id"]}, {**document, "updated": now}, upsert=True)
    return 1, 0
