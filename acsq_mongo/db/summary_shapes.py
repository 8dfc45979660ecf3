"""The shapes of the summary collections, ``proposals`` and ``galleries``.

The ingest stage writes them (:func:`acsq_mongo.ingest.summaries.refresh_summaries`)
and the query core reads them (:mod:`acsq_mongo.browse.proposals`,
:mod:`acsq_mongo.browse.proposal_rows`); both take their ids, columns and limits
from here.
"""

from __future__ import annotations

__all__ = ["GALLERY_COLUMNS", "MAX_GALLERY_ROWS", "MAX_TARGNAMES", "gallery_id", "proposal_id"]

#: Most target names listed per proposal.
MAX_TARGNAMES = 10

#: The columns of a gallery row: the gallery's, the facet fields, the quicklook paths and
#: the association (an image view lists the other rootnames of its association), and the
#: anomaly flags (marked on the gallery's cards; a tag refreshes its proposal's gallery).
GALLERY_COLUMNS: tuple[str, ...] = (
    "rootname", "date_obs", "detector", "aperture", "filter1", "filter2", "targname",
    "exptime", "obstype", "filetypes", "quicklook", "proposid", "asn_id", "expflag",
    "anomalies",
)

#: Proposals with more rootnames than this get no gallery document (paged by the server).
MAX_GALLERY_ROWS = 2000


def gallery_id(proposid: int | None) -> str:
    """Return the ``_id`` of a proposal's gallery document (``"unknown"`` for None)."""
    return "unknown" if proposid is None else str(proposid)


def proposal_id(proposid: int) -> str:
    """Return the ``_id`` of a proposal's summary document: its ID as text."""
    return str(proposid)
