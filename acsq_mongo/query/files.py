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
    """Follow ``parts`` down from ``base``, matching each name in any case.

    Every folder whose name matches is tried, so ``j94f/`` and ``J94F/`` side
    by side both work.
    """
    if not parts:
        return base
    part, rest = parts[0], parts[1:]
    try:
        with os.scandir(base) as entries:
            names = [e.name for e in entries if e.name.lower() == part.lower()]
    except OSError:
        return None
    names.sort(key=lambda name: name != part)  # the exact spelling first
    for name in names:
        found = _find_case_insensitive(base / name, rest)
        if found is not None:
            return found
    return None
