"""Getting the files: one catalogued file, its download URL, and a bulk download script.

**One file.** :func:`catalogued_file` finds the file a ``/files/<rootname>/<filetype>``
URL names, and only such a file: the filetype must be one the rootname's catalog
entry lists, its place comes from that entry (never from the URL), and its real
path, symbolic links resolved, must lie inside the archive. :func:`download_url` is
the one place that spells the URL.

**Many files.** :func:`script_lines` writes a ``curl`` download script for every file
of the chosen filetypes of every rootname a query matches (not one page), in the way
of MAST's download scripts: a plain POSIX shell script, no state on the server. Each
line names the URL, the local file and its size in bytes; a file already there with
that size is skipped, and a partial one is resumed (``curl --continue-at -``, an HTTP
Range request), so running the script again finishes an interrupted download and
fetches nothing twice. It is a generator: the script streams while the query's
cursor does.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acsq_mongo.fields import FILETYPES
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.files import file_path

__all__ = [
    "FileRefused",
    "FileMissing",
    "ArchiveFile",
    "download_url",
    "catalogued_file",
    "script_lines",
    "SCRIPT_FOLDER",
]

#: Where the script puts the files, relative to where it is run.
SCRIPT_FOLDER = "acsq_download"

class FileRefused(QueryError):
    """A file that is not served: unknown filetype, not catalogued, or outside the archive."""


class FileMissing(QueryError):
    """A catalogued file that is not on disk (any more)."""


@dataclass(frozen=True)
class ArchiveFile:
    """One file of a rootname in the archive.

    Attributes
    ----------
    rootname, filetype : str
    path : Path
        Absolute path as the archive names it (case as on disk).
    """

    rootname: str
    filetype: str
    path: Path

    @property
    def name(self) -> str:
        """The file name a download gets: its own name, lower case
        (``<rootname>_<filetype>.fits``, or ``.fits.gz`` for a compressed file)."""
        if self.path.name.lower().endswith(".fits.gz"):
            return f"{self.rootname.lower()}_{self.filetype}.fits.gz"
        return f"{self.rootname.lower()}_{self.filetype}.fits"


def download_url(base_url: str, rootname: str, filetype: str) -> str:
    """Return the URL of one file: ``<base_url>/files/<rootname>/<filetype>``.

    Parameters
    ----------
    base_url : str
        Where the web app is served (``http://acsq.example.edu``, or ``""`` for a
        URL relative to the site's root).
    """
    return f"{base_url.rstrip('/')}/files/{rootname.lower()}/{filetype}"


def catalogued_file(archive: Path | None, entry: dict[str, Any] | None, rootname: str,
                    filetype: str) -> ArchiveFile:
    """Return the file ``filetype`` of a catalog entry, if it may be served.

    Parameters
    ----------
    archive : Path or None
        ``settings.archive``.
    entry : dict or None
        The rootname's catalog entry (None if there is none).
    rootname, filetype : str
        As the URL gives them (``rootname`` only for messages).

    Returns
    -------
    file : ArchiveFile
        An existing regular file, inside the archive once symbolic links are resolved.

    Raises
    ------
    FileRefused
        Unknown filetype, no such rootname or file in the catalog, no archive, or a
        path that leads outside the archive. The message is one line.
    FileMissing
        The file is catalogued but not on disk.
    """
    if filetype not in FILETYPES:
        raise FileRefused(f"Unknown filetype {filetype[:10]!r}; valid filetypes: "
                          + ", ".join(FILETYPES))
    if entry is None:
        raise FileRefused(f"There is no rootname {rootname[:20]} in the archive")
    name = entry.get("rootname") or entry["_id"]
    present = entry.get("filetypes") or []
    if filetype not in present:
        raise FileRefused(f"Rootname {name} has no {filetype} file; its files: "
                          + (", ".join(present) or "none"))
    if archive is None or not entry.get("path"):
        raise FileRefused("Files are not served: the archive root (ACSQ_ARCHIVE) is not set")
    stored = _stored_path(entry, rootname, filetype)
    if stored is not None:  # the file's own name and folder (a sub-product, a .fits.gz)
        folder, _, own = stored.rpartition("/")
        name = own[:9].lower()
        path = file_path(archive, folder, name, filetype, own)
    else:
        path = file_path(archive, entry["path"], name, filetype)
    root = Path(archive).resolve()
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):                   # missing, or a loop of links
        raise FileMissing(f"File {name}_{filetype}.fits is catalogued but missing from the "
                          "archive on disk; it may have been moved or removed since the last "
                          "ingest") from None
    if not real.is_relative_to(root):
        raise FileRefused(f"File {name}_{filetype}.fits is not served: it leads outside the "
                          "archive")
    if not real.is_file():
        raise FileMissing(f"File {name}_{filetype}.fits is not a regular file in the archive")
    return ArchiveFile(name, filetype, real)


def _stored_path(entry: dict[str, Any], rootname: str, filetype: str) -> str | None:
    """The catalogued path of the file ``filetype`` of ``rootname`` (8 characters: the
    observation's first file of that filetype; 9: that rootname's own), or None."""
    paths = entry.get("file_paths") or {}
    if len(rootname) == 9:
        prefix = f"{rootname.lower()}_{filetype}.fits"
        for stored in paths.values():
            if stored.rpartition("/")[2].lower().startswith(prefix):
                return stored
        if rootname.lower() != entry.get("rootname") and paths:
            raise FileRefused(f"Rootname {rootname[:9]} has no {filetype} file")
    return paths.get(filetype)


def _quote(text: str) -> str:
    """``text`` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


_PREAMBLE = """\
#!/bin/sh
# ACS Quicklook download script{about}
# Made {made} for the query:
#   {command}
#
# Run it with `sh {script}` in the folder where the files should go; they land in
# ./{folder}/<rootname>/. Run it again at any time: a file already there with its
# full size is skipped, a partial one is resumed, so an interrupted download is
# finished and nothing is fetched twice. It needs curl. Nothing is kept on the server.

FAILED=0

fetch() {{
    # fetch URL FILE SIZE: download URL to FILE unless FILE already has SIZE bytes.
    if [ -f "$2" ]; then
        have=$(wc -c < "$2" | tr -d ' ')
        if [ "$have" = "$3" ]; then
            echo "have $2"
            return 0
        fi
        if [ "$have" -gt "$3" ]; then
            rm -f "$2"  # longer than the archive's file: not a partial copy of it
        fi
    fi
    echo "get  $2"
    mkdir -p "$(dirname "$2")"
    if ! curl --fail --location --silent --show-error --continue-at - --output "$2" "$1"; then
        echo "FAILED $1" >&2
        FAILED=$((FAILED + 1))
    fi
}}

"""

_EPILOGUE = """\

if [ "$FAILED" -gt 0 ]; then
    echo "$FAILED file(s) failed; run this script again to retry them" >&2
    exit 1
fi
echo "done: every file is in ./{folder}/"
"""


def script_lines(
    files: Iterable[tuple[str, str, Path]],
    url_of: Callable[[str, str], str],
    command: str = "",
    script: str = "acsq_download.sh",
    now: datetime.datetime | None = None,
    archive: Path | None = None,
) -> Iterator[str]:
    """Yield the lines of a download script for ``files`` (:func:`iter_files`).

    Parameters
    ----------
    files : iterable of (rootname, filetype, path)
        What :func:`acsq_mongo.query.core.iter_files` yields.
    url_of : callable
        ``url_of(rootname, filetype)`` -> the file's URL (:func:`download_url`, or the
        web app's own ``url_for``).
    command : str
        The query, as the script's comment shows it.
    script : str
        The script's file name, for its usage comment.
    now : datetime, optional
        When it was made (default: now, UTC).
    archive : Path, optional
        The archive root: a file whose real path lies outside it (a symbolic link out),
        which ``/files/`` would refuse, gets a comment line instead of a ``fetch`` line.

    Yields
    ------
    line : str
        Lines with ``\\n`` ends. A file missing on disk gets a comment line, not a
        ``fetch`` line; the comment at the end counts the files.
    """
    root = Path(archive).resolve() if archive is not None else None
    now = now or datetime.datetime.now(datetime.UTC)
    made = now.strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(command.split())
    yield _PREAMBLE.format(about="", made=made, command=command or "(every rootname)",
                           script=script, folder=SCRIPT_FOLDER)
    n_files = n_bytes = n_missing = 0
    rootnames: set[str] = set()
    for rootname, filetype, path in files:
        local = f"{SCRIPT_FOLDER}/{rootname.lower()}/{rootname.lower()}_{filetype}.fits"
        try:
            size = path.stat().st_size
            outside = root is not None and not path.resolve().is_relative_to(root)
        except (OSError, RuntimeError):
            n_missing += 1
            yield f"# missing from the archive on disk: {local}\n"
            continue
        if outside:
            n_missing += 1
            yield f"# not served (it leads outside the archive): {local}\n"
            continue
        n_files += 1
        n_bytes += size
        rootnames.add(rootname)
        yield f"fetch {_quote(url_of(rootname, filetype))} {_quote(local)} {size}\n"
    missing = f"; {n_missing} catalogued file(s) missing or not served" if n_missing else ""
    yield (f"\n# {n_files} file(s) of {len(rootnames)} rootname(s), {n_bytes} bytes"
           f"{missing}\n")
    yield _EPILOGUE.format(folder=SCRIPT_FOLDER)
