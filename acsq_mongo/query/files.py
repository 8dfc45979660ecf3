"""File paths in the archive: the hand-off from a query to analysis code.

A rootname's files are ``<archive>/<path>/<rootname>_<filetype>.fits``. The
archive may hold upper-case names (``J94F05BGQ_FLT.FITS``), so when the exact
name is not there the folder is searched case-insensitively.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["file_path"]


def file_path(archive: Path, path: str, rootname: str, filetype: str) -> Path:
    """Return the absolute path of one file of a rootname.

    Parameters
    ----------
    archive : Path
        The archive root (``settings.archive``).
    path : str
        The rootname's folder relative to the archive, as stored (``j94f/j94f05bgq``).
    rootname : str
        The 9-character rootname.
    filetype : str
        ``flt``, ``raw``, ...

    Returns
    -------
    path : Path
        The file as it is on disk; if no file of that name exists in any
        case, the expected lower-case name.
    """
    exact = Path(archive) / path / f"{rootname}_{filetype}.fits"
    if exact.exists():
        return exact.absolute()
    found = _find_case_insensitive(Path(archive), [*Path(path).parts, exact.name])
    return (found or exact).absolute()


def _find_case_insensitive(base: Path, parts: list[str]) -> Path | None:
    """Follow ``parts`` down from ``base``, matching each name in any case."""
    current = base
    for part in parts:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        wanted = part.lower()
        try:
            with os.scandir(current) as entries:
                match = next((e.name for e in entries if e.name.lower() == wanted), None)
        except OSError:
            return None
        if match is None:
            return None
        current = current / match
    return current
