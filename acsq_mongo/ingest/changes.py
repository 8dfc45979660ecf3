"""Which rootnames on disk are new, changed or unchanged since the last ingest.

Each rootname folder's ``files_sig`` (:func:`acsq_mongo.archive.discover.files_sig`)
is compared with the one stored in the ``catalog`` collection, read by one
cheap projection scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsq_mongo.archive.discover import FileInfo, RootnameFolder
from acsq_mongo.db.collections import CATALOG

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["Changes", "compare_with_catalog", "stored_signatures", "same_file"]


def same_file(before: Mapping[str, Any] | None, info: FileInfo) -> bool:
    """Whether a file as stored in a document (name, size, mtime) is the file on disk now."""
    return before is not None and (before.get("name"), before.get("size"),
                                   before.get("mtime_ns")) == (info.name, info.size, info.mtime_ns)


@dataclass
class Changes:
    """Rootnames on disk compared with the catalog.

    Attributes
    ----------
    new : list of RootnameFolder
        On disk, not in the database.
    changed : list of RootnameFolder
        In both, but a file was added, removed or modified.
    unchanged : list of RootnameFolder
    """

    new: list[RootnameFolder] = field(default_factory=list)
    changed: list[RootnameFolder] = field(default_factory=list)
    unchanged: list[RootnameFolder] = field(default_factory=list)


def stored_signatures(db: Database) -> dict[str, str | None]:
    """``{_id: files_sig}`` of every rootname in the catalog (a projection scan)."""
    return {doc["_id"]: doc.get("files_sig") for doc in db[CATALOG].find({}, {"files_sig": 1})}


def compare_with_catalog(
    folders: Iterable[RootnameFolder], db: Database | None = None,
    stored: Mapping[str, str | None] | None = None,
) -> Changes:
    """Sort rootname folders into new, changed and unchanged.

    Parameters
    ----------
    folders : iterable of RootnameFolder
    db : Database, optional
        Read the stored signatures from its ``catalog``.
    stored : mapping, optional
        ``{_id: files_sig}``, instead of ``db``.
    """
    if stored is None:
        if db is None:
            raise ValueError("give db or stored")
        stored = stored_signatures(db)
    changes = Changes()
    for folder in folders:
        if folder.id not in stored:
            changes.new.append(folder)
        elif stored[folder.id] != folder.files_sig:
            changes.changed.append(folder)
        else:
            changes.unchanged.append(folder)
    return changes
