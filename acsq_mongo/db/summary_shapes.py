"""The shapes of the summary collections, ``proposals`` and ``galleries``.

The ingest stage writes them (:func:`acsq_mongo.ingest.summaries.refresh_summaries`)
and the query core reads them (:mod:`acsq_mongo.browse.proposals`,
:mod:`acsq_mongo.browse.proposal_rows`); both take their ids, columns and limits
from here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GALLERY_COLUMNS", "MAX_GALLERY_ROWS", "MAX_TARGNAMES", "gallery_id", "proposal_id",
           "gallery_flags_update"]

#: Most target names listed per proposal.
MAX_TARGNAMES = 10

#: The columns of a gallery row: the gallery's, the facet fields, the quicklook paths and
#: the association (an image view lists the other rootnames of its association), and the
#: anomaly flags (marked on the gallery's cards; a tag refreshes its proposal's gallery).
GALLERY_COLUMNS: tuple[str, ...] = (
    "rootname", "date_obs", "detector", "aperture", "filter1", "filter2", "targname",
    "exptime", "obstype", "filetypes", "quicklook", "proposid", "asn_id", "expflag",
    "anomalies", "proposed",
)

#: Proposals with more rootnames than this get no gallery document (paged by the server).
MAX_GALLERY_ROWS = 2000


def gallery_id(proposid: int | None) -> str:
    """Return the ``_id`` of a proposal's gallery document (``"unknown"`` for None)."""
    return "unknown" if proposid is None else str(proposid)


def proposal_id(proposid: int) -> str:
    """Return the ``_id`` of a proposal's summary document: its ID as text."""
    return str(proposid)


def gallery_flags_update(proposid: int | None, rootname: str, flags: list[str],
                         seq: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filter and update that set one gallery row's anomaly flags, in place.

    A gallery keeps, beside its rows, ``anomaly_seqs``: how many flag events
    each tagged row's flags come from (the catalog's ``anomaly_seq``). With
    ``seq``, the update applies only over flags from fewer events, so flags
    read earlier (a tag's, or a summaries' refresh's) never overwrite later
    ones. One atomic positional update: the rest of the gallery stays as it is.
    """
    query: dict[str, Any] = {"_id": gallery_id(proposid), "rows.rootname": rootname}
    change: dict[str, Any] = {"rows.$.anomalies": flags or None}
    if seq is not None:
        query[f"anomaly_seqs.{rootname}"] = {"$not": {"$gte": seq}}
        change[f"anomaly_seqs.{rootname}"] = seq
    return query, {"$set": change}
