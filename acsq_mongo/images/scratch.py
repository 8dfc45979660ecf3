"""Where images are written before they are renamed into place, and what killed writers leave.

:func:`acsq_mongo.images.quicklook.write_jpeg` writes each image to a
temporary file in ``$ACSQ_DATA/tmp/`` (the same file system as ``jpegs/``
and ``thumbnails/``, so the rename into place is atomic), named for its
writer: ``<image name>.<pid>@<host>.<random>.tmp``. An error removes it; a
writer killed with SIGKILL between the write and the rename cannot, and
leaves it behind. :func:`remove_leftovers`, run by every ingest at its start
and its end (under the ingest lock), removes the files of writers that are
gone: a process of this host that no longer runs, or, for a writer on
another host (a Dask worker elsewhere sharing ``ACSQ_DATA``), a file older
than :data:`STALE_AFTER`. A writer that is still running keeps its file.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from pathlib import Path

__all__ = ["SCRATCH", "STALE_AFTER", "scratch_dir", "scratch_path", "remove_leftovers"]

log = logging.getLogger(__name__)

#: The folder of ``ACSQ_DATA`` that holds images being written.
SCRATCH = "tmp"

#: Age (seconds) after which a temporary file of another host's writer counts as left over.
STALE_AFTER = 3600.0

_NAME = re.compile(r"\.(?P<pid>\d+)@(?P<host>[^/]+)\.[0-9a-f]+\.tmp$")


def scratch_dir(data: Path) -> Path:
    """The folder of temporary images, ``$ACSQ_DATA/tmp``."""
    return Path(data) / SCRATCH


def scratch_path(folder: Path, dest: Path) -> Path:
    """A temporary file in ``folder`` for the image ``dest``, named for this writer."""
    return Path(folder) / (f"{Path(dest).name}.{os.getpid()}@{socket.gethostname()}."
                           f"{uuid.uuid4().hex[:8]}.tmp")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a zombie has finished writing for good
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def remove_leftovers(data: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary images of writers that are gone; return them.

    Parameters
    ----------
    data : Path
        ``ACSQ_DATA``.
    now : float, optional
        The time to judge ages by (``time.time()``).
    """
    folder = scratch_dir(data)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    host = socket.gethostname()
    removed = []
    for path in folder.iterdir():
        match = _NAME.search(path.name)
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue   # renamed into place meanwhile
        # No writer spends an hour on one image, whatever its pid says (pids are reused).
        gone = age > STALE_AFTER or (match is not None and match["host"] == host
                                     and not _running(int(match["pid"])))
        if gone:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.warning("Removed %d temporary images left by killed writers in %s",
                    len(removed), folder)
    return removed
