"""Duplicates: a readable file that is not ingested is reported, never skipped silently.

A folder holding ``x_flt.fits`` and ``x_flt.fits.gz`` (or two names that differ only in case)
has two files for one file key. Discovery keeps the first by name and lists the other as a
duplicate (:attr:`acsq_mongo.archive.discover.RootnameFolder.duplicates`); here each becomes an
error of stage ``duplicate`` in the observation's ``errors`` and in ``ingest_errors``, so the
files on disk are the files in the store plus the files reported with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from acsq_mongo.archive.discover import RootnameFolder, duplicate_reason

__all__ = ["DUPLICATE", "duplicate_errors"]

log = logging.getLogger(__name__)

#: The error stage of a duplicate.
DUPLICATE = "duplicate"


def duplicate_errors(folder: RootnameFolder, previous: Iterable[Mapping[str, Any]], now
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The errors of an observation's duplicates: those stored before, and new ones.

    Parameters
    ----------
    folder : RootnameFolder
    previous : iterable of mapping
        The stored document's ``errors``: a duplicate reported there (same path) is
        kept as it is, not reported again (as an unchanged bad file is not).
    now : datetime
        The time of a new error.

    Returns
    -------
    kept, new : list of dict
        Error entries (``rootname``, ``path``, ``filetype``: the file key of the file
        ingested in its place, ``stage``, ``error``, ``time``); only ``new`` go to
        ``ingest_errors``.
    """
    before = {e.get("path"): e for e in previous if e.get("stage") == DUPLICATE}
    kept, new = [], []
    for info in folder.duplicates:
        relpath = f"{info.relpath or folder.relpath}/{info.name}"
        if relpath in before:
            kept.append(dict(before[relpath]))
            continue
        key = folder.key_of(info)
        reason = duplicate_reason(info, folder.files[key]) if key else "a second file"
        log.error("%s: %s: %s (%s)", folder.rootname, key, reason, relpath)
        new.append({"rootname": folder.rootname, "path": relpath, "filetype": key,
                    "stage": DUPLICATE, "error": reason, "time": now})
    return kept, new
