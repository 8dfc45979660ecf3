"""Discovery: which rootnames and files the archive holds.

The archive (``ACSQ_ARCHIVE``) is laid out as
``<root4>/<rootname>/<rootname>_<filetype>.fits``, where ``root4`` is the
first 4 characters of the 9-character rootname and ``filetype`` one of
:data:`acsq_mongo.fields.FILETYPES`. Names are matched case-insensitively;
``.fits`` and gzip-compressed ``.fits.gz`` files count. Everything else (README
files, stray names, folders in the wrong place, empty folders) is skipped with
a log line and is never an error. A second file of one rootname and filetype
(``x_flt.fits`` beside ``x_flt.fits.gz``, or names that differ only in case)
is not skipped: it is a *duplicate* (:attr:`RootnameFolder.duplicates`), which
the ingest reports as an error of the observation (stage ``duplicate``), so a
readable file never goes unreported.

**One observation, many folders.** The first 8 characters of a rootname name
the observation (the document ``_id``, as in the seed). Folders whose names
share them (an association's product ``j8cw03010`` and its CR-split
sub-products ``j8cw03011``, ``j8cw03012``; a retransmitted exposure ``...q``
and ``...r``) are merged into one :class:`RootnameFolder`: every file is kept
under its own *file key* (:func:`file_key`), none is dropped (docs/data-model.md,
"Identity").

Each rootname gets a ``files_sig`` (a hash of its files' names, sizes and
modification times); :mod:`acsq_mongo.ingest.changes` compares it with the
stored one. Nothing here touches the database.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from acsq_mongo.fields import FILETYPES

__all__ = [
    "FileInfo",
    "RootnameFolder",
    "file_key",
    "Discovery",
    "files_sig",
    "duplicate_reason",
    "scan_rootname_folder",
    "discover_archive",
    "merge_folders",
]

log = logging.getLogger(__name__)

ROOTNAME_RE = re.compile(r"[a-z0-9]{9}\Z")
_FILE_RE = re.compile(r"([a-z0-9]{9})_([a-z]{3})\.fits(\.gz)?\Z")


@dataclass(frozen=True)
class FileInfo:
    """One FITS file of a rootname.

    Attributes
    ----------
    filetype : str
    name : str
        The file name as it is on disk (any case).
    path : Path
        Absolute path.
    size : int
        Bytes (0 if the file cannot be stat'ed).
    mtime_ns : int
        Modification time, nanoseconds since the epoch (0 if unknown).
    stat_error : str or None
        Why the file could not be stat'ed (e.g. a dangling symlink).
    rootname : str
        The file's own 9-character rootname, lower case (``""``: that of its folder).
    relpath : str
        Its folder relative to the archive root (``""``: that of its folder).
    """

    filetype: str
    name: str
    path: Path
    size: int
    mtime_ns: int
    stat_error: str | None = None
    rootname: str = ""
    relpath: str = ""

    @property
    def compressed(self) -> bool:
        """Whether the file is gzip-compressed (``.fits.gz``)."""
        return self.name.lower().endswith(".gz")

    @property
    def mtime(self) -> datetime.datetime:
        """Modification time as a naive UTC datetime, to the millisecond."""
        seconds, ns = divmod(self.mtime_ns, 1_000_000_000)
        when = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)
        return when + datetime.timedelta(milliseconds=ns // 1_000_000)


def file_key(filetype: str, rootname: str, principal: bool) -> str:
    """The key of a file in an observation's document (``files``, ``headers``, ...).

    The first file of each filetype (by 9-character rootname) is keyed by the
    filetype alone, ``crj``; any further file of that filetype under the same
    8-character ``_id`` by its own name without ``.fits``: ``j8cw03012_crj``.
    """
    return filetype if principal else f"{rootname}_{filetype}"


def files_sig(files: Iterable[FileInfo]) -> str:
    """SHA-1 of the sorted (name, size, mtime_ns) of a rootname's files."""
    text = "\n".join(
        f"{f.name}\t{f.size}\t{f.mtime_ns}" for f in sorted(files, key=lambda f: f.name)
    )
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class RootnameFolder:
    """One rootname folder of the archive and its FITS files.

    Attributes
    ----------
    rootname : str
        The 9-character rootname, lower case: the observation's principal (the
        lowest of the rootnames merged into it).
    folder : Path
        Absolute path of the principal's folder.
    relpath : str
        The principal's folder relative to the archive root, with ``/``.
    files : dict
        ``{file key: FileInfo}`` (:func:`file_key`): the filetypes in
        ``FILETYPES`` order, then the further files of a filetype.
    duplicates : list of FileInfo
        Files not ingested because their folder holds another file of the same
        rootname and filetype (``.fits`` and ``.fits.gz``, or names differing
        only in case): the first by name is in ``files``. The ingest reports
        each as an error (:func:`duplicate_reason` says why).
    """

    rootname: str
    folder: Path
    relpath: str
    files: dict[str, FileInfo] = field(default_factory=dict)
    duplicates: list[FileInfo] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The document ``_id``: the first 8 characters of the rootname."""
        return self.rootname[:8]

    @property
    def rootnames(self) -> list[str]:
        """Every 9-character rootname with a file here, sorted."""
        return sorted({info.rootname or self.rootname for info in self.files.values()})

    def merge(self, other: RootnameFolder) -> None:
        """Add the files of another folder of the same ``_id`` (a higher rootname).

        The principal keeps its filetype keys; a filetype already present gets
        the other file under ``<rootname>_<filetype>`` (:func:`file_key`).
        """
        infos = sorted((*self.files.values(), *other.files.values()),
                       key=lambda i: (i.rootname, FILETYPES.index(i.filetype)))
        principal = {}
        for info in infos:
            principal.setdefault(info.filetype, info)
        files = {ft: principal[ft] for ft in FILETYPES if ft in principal}
        for info in infos:
            if principal[info.filetype] is not info:
                files[file_key(info.filetype, info.rootname, False)] = info
        self.files = files
        self.duplicates = sorted((*self.duplicates, *other.duplicates), key=lambda i: i.name)

    def key_of(self, info: FileInfo) -> str | None:
        """The file key of the ingested file of ``info``'s rootname and filetype, if any."""
        rootname = info.rootname or self.rootname
        for key, kept in self.files.items():
            if kept.filetype == info.filetype and (kept.rootname or self.rootname) == rootname:
                return key
        return None

    @property
    def files_sig(self) -> str:
        """:func:`files_sig` of its files and duplicates (a duplicate added or gone is a
        change)."""
        return files_sig([*self.files.values(), *self.duplicates])


def duplicate_reason(duplicate: FileInfo, kept: FileInfo) -> str:
    """Why a duplicate (:attr:`RootnameFolder.duplicates`) is not ingested, one line."""
    return (f"a second {duplicate.filetype} file of rootname {duplicate.rootname} (names differ "
            f"only in case or .gz): not ingested; {kept.name} is")


def _stat(path: Path) -> tuple[int, int, str | None]:
    try:
        st = path.stat()
    except OSError as exc:
        return 0, 0, f"cannot stat file: {exc.strerror or exc}"
    return st.st_size, st.st_mtime_ns, None


def scan_rootname_folder(
    folder: str | os.PathLike, archive: str | os.PathLike | None = None,
    skipped: list[tuple[str, str]] | None = None,
) -> RootnameFolder:
    """List the FITS files of one rootname folder.

    Parameters
    ----------
    folder : path-like
        ``<archive>/<root4>/<rootname>``.
    archive : path-like, optional
        The archive root, for ``relpath``; default: the folder's grandparent.
    skipped : list, optional
        Receives ``(path, reason)`` for every entry that is not one of the
        rootname's FITS files; each is also logged.

    Returns
    -------
    folder : RootnameFolder
        ``files`` may be empty.
    """
    folder = Path(folder).absolute()
    rootname = folder.name.lower()
    archive = Path(archive).absolute() if archive is not None else folder.parent.parent
    try:
        relpath = folder.relative_to(archive).as_posix()
    except ValueError:
        relpath = f"{folder.parent.name}/{folder.name}"
    result = RootnameFolder(rootname=rootname, folder=folder, relpath=relpath)
    found: dict[str, FileInfo] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        _skip(skipped, str(folder), f"cannot list folder: {exc.strerror or exc}")
        return result
    for entry in entries:
        name = entry.name
        m = _FILE_RE.match(name.lower())
        path = folder / name
        if entry.is_dir():
            _skip(skipped, str(path), "a folder inside a rootname folder")
            continue
        if m is None:
            why = "not a .fits or .fits.gz file" if not name.lower().endswith(
                (".fits", ".fits.gz")) else "not named <rootname>_<filetype>.fits"
            _skip(skipped, str(path), why)
            continue
        file_rootname, filetype, _ = m.groups()
        if file_rootname != rootname:
            _skip(skipped, str(path), f"belongs to rootname {file_rootname}, not {rootname}")
            continue
        if filetype not in FILETYPES:
            _skip(skipped, str(path), f"unknown filetype {filetype!r}")
            continue
        size, mtime_ns, error = _stat(path)
        info = FileInfo(filetype, name, path, size, mtime_ns, error,
                        rootname=rootname, relpath=relpath)
        if filetype in found:
            # Not a stray: a readable file that is not ingested, so the ingest reports it.
            log.warning("%s: %s", path, duplicate_reason(info, found[filetype]))
            result.duplicates.append(info)
            continue
        found[filetype] = info
    result.files = {ft: found[ft] for ft in FILETYPES if ft in found}
    if not result.files:
        _skip(skipped, str(folder), "no FITS files of a known filetype")
    return result


def _skip(skipped: list | None, path: str, reason: str) -> None:
    log.info("Skipped %s: %s", path, reason)
    if skipped is not None:
        skipped.append((path, reason))


@dataclass
class Discovery:
    """What :func:`discover_archive` found.

    Attributes
    ----------
    folders : list of RootnameFolder
        Rootname folders with at least one FITS file, sorted by rootname.
    skipped : list of (str, str)
        Paths skipped, and why (stray files and folders): not errors.
    problems : list of (str, str)
        Requested rootnames not found: these make the run fail. (Folders whose
        ``_id``, the first 8 characters, is the same are merged, not refused.)
    """

    folders: list[RootnameFolder] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        return sum(len(f.files) for f in self.folders)


def _listdir(path: Path, skipped: list) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        _skip(skipped, str(path), f"cannot list folder: {exc.strerror or exc}")
        return []


def discover_archive(
    archive: str | os.PathLike, rootnames: Iterable[str] | None = None
) -> Discovery:
    """Find the rootname folders of an archive.

    Parameters
    ----------
    archive : path-like
        The archive root.
    rootnames : iterable of str, optional
        Only these rootnames (9 characters, or the 8-character ``_id``, any
        case). A requested rootname that is not there is a problem.

    Returns
    -------
    discovery : Discovery
    """
    archive = Path(archive).absolute()
    out = Discovery()
    wanted = None
    if rootnames is not None:
        wanted = {r.strip().lower() for r in rootnames if r.strip()}
    wanted_root4 = {w[:4] for w in wanted} if wanted is not None else None
    # A rootname asked for brings every folder of its observation (same first 8 characters).
    wanted_ids = {w[:8] for w in wanted} if wanted is not None else None

    for top in _listdir(archive, out.skipped):
        top_path = archive / top.name
        if not top.is_dir():
            if wanted is None:
                _skip(out.skipped, str(top_path), "not a <root4> folder")
            continue
        root4 = top.name.lower()
        if wanted_root4 is not None and root4 not in wanted_root4:
            continue
        if len(root4) != 4:
            _skip(out.skipped, str(top_path), "not a <root4> folder (4 characters)")
            continue
        for entry in _listdir(top_path, out.skipped):
            path = top_path / entry.name
            name = entry.name.lower()
            if wanted_ids is not None and name[:8] not in wanted_ids:
                continue
            if not entry.is_dir():
                _skip(out.skipped, str(path), "not a rootname folder")
                continue
            if not ROOTNAME_RE.match(name):
                _skip(out.skipped, str(path), "not a 9-character rootname folder")
                continue
            if name[:4] != root4:
                _skip(out.skipped, str(path), f"rootname {name} does not belong under {root4}/")
                continue
            folder = scan_rootname_folder(path, archive, out.skipped)
            if folder.files:
                out.folders.append(folder)

    out.folders = merge_folders(out.folders)
    if wanted is not None:
        for name in sorted(wanted):
            if not any(name in f.rootnames or f.id == name for f in out.folders):
                message = f"rootname {name} is not in the archive {archive}"
                log.error("%s", message)
                out.problems.append((name, message))
    return out


def merge_folders(folders: Iterable[RootnameFolder]) -> list[RootnameFolder]:
    """Merge the folders of each ``_id`` into one (:meth:`RootnameFolder.merge`).

    Returns
    -------
    folders : list of RootnameFolder
        One per ``_id``, sorted; each keeps the lowest rootname as its principal.
    """
    merged: dict[str, RootnameFolder] = {}
    for folder in sorted(folders, key=lambda f: f.rootname):
        first = merged.get(folder.id)
        if first is None:
            merged[folder.id] = folder
        else:
            log.info("%s: merged into observation %s (same first 8 characters)",
                     folder.rootname, folder.id)
            first.merge(folder)
    return [merged[_id] for _id in sorted(merged)]
