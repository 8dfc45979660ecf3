"""Anomaly tags: flags people set on rootnames, with their history.

:mod:`.vocabulary` is the fixed list of flags (a setting), :mod:`.flags`
writes a change (append-only ``anomaly_events``, then the current flags in
the catalog's ``anomalies``), and :mod:`.history` reads the events back (an
image view's history, the ``/anomalies`` page). Queries on the flags go
through the query core like any other field (``anomaly=ghost``).
"""

from acsq_mongo.tags.flags import MAX_COMMENT, TagError, change_flags
from acsq_mongo.tags.vocabulary import Vocabulary

__all__ = ["MAX_COMMENT", "TagError", "change_flags", "Vocabulary"]
