"""One observation's folders: every folder whose rootname shares the first 8 characters.

What a re-ingest of a stored observation, or an ingest of one named folder,
scans: its folders as stored, and any other folder of the same ``_id`` beside
them (a sub-product or a retransmission added since), merged by
:func:`acsq_mongo.archive.discover.merge_folders`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from acsq_mongo.archive.discover import (
    ROOTNAME_RE,
    RootnameFolder,
    merge_folders,
    scan_rootname_folder,
)

__all__ = ["scan_observation"]


def scan_observation(base: str | os.PathLike, relpaths: Iterable[str],
                     skipped: list[tuple[str, str]] | None = None,
                     archive: str | os.PathLike | None = None) -> RootnameFolder | None:
    """Scan the folders of one stored observation again, merged (for a re-ingest).

    Parameters
    ----------
    base : path-like
        Where ``relpaths`` start: the archive root.
    relpaths : iterable of str
        Its folders relative to ``base``; any other folder of the same ``_id``
        beside one of them is scanned too.
    skipped : list, optional
        As for :func:`scan_rootname_folder`.
    archive : path-like, optional
        The archive root, for the folders' ``relpath``; default ``base``.

    Returns
    -------
    folder : RootnameFolder or None
        None if none of them holds a FITS file any more.
    """
    archive = archive if archive is not None else base
    relpaths = set(relpaths)
    for rel in list(relpaths):  # and any folder of the same _id added since
        parent = (Path(base) / rel).parent
        name = Path(rel).name.lower()
        try:
            relpaths |= {f"{Path(rel).parent.as_posix()}/{e.name}" for e in os.scandir(parent)
                         if e.is_dir() and e.name.lower()[:8] == name[:8]
                         and ROOTNAME_RE.match(e.name.lower())}
        except OSError:
            pass
    folders = [scan_rootname_folder(Path(base) / rel, archive, skipped)
               for rel in sorted(relpaths)]
    merged = merge_folders(f for f in folders if f.files)
    return merged[0] if merged else None
