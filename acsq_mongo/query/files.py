"""File paths in the archive: the hand-off from a query to analysis code.

A rootname's files are ``<archive>/<path>/<rootname>_<filetype>.fits``. The
archive may hold upper-case names (``J94F05BGQ_FLT.FITS``), so when the exact
name is not there the folder is searched case-insensitively.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["file_path", "stored_files"]


def stored_files(row: dict, filetype: str) -> list[tuple[str, str, str | None]]:
    """``(rootname, folder, name)`` of each of an observation's files of ``filetype``.

    From its ``file_paths`` (every file of every rootname merged into it, by
    file key); a document written before them gives its one file at ``path``.
    """
    paths = row.get("file_paths") or {}
    found = sorted(p for key, p in paths.items() if key.rpartition("_")[2] == filetype)
    if not found:
        return [(row["rootname"], row["path"], None)]
    out = []
    for stored in found:
        folder, _, name = stored.rpartition("/")
        out.append((name[:9].lower(), folder, name))
    return out


def file_path(archive: Path, path: str, rootname: str, filetype: str,
              name: str | None = None) -> Path:
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
    name : str, optional
        The file's name as stored (``j8cw03abq_flt.fits.gz``); default
        ``<rootname>_<filetype>.fits``.

    Returns
    -------
    path : Path
        The file as it is on disk; if no file of that name exists in any
        case, the expected lower-case name.
    """
    exact = Path(archive) / path / (name or f"{rootname}_{filetype}.fits")
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
