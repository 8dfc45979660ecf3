"""Ingest: every header of every file of a rootname into one document.

:func:`ingest_rootname` ingests one rootname folder. It is a pure function of ``(db, settings,
folder, force, quicklook)``, so a Dask worker can call it as it is, and it is idempotent: the
document is written by one upsert on ``_id``, and running it again on unchanged files changes
nothing but ``last_ingest_date``.

- **Unchanged rootname** (same ``files_sig`` as in the catalog): nothing is
  read; ``last_ingest_date`` is set, and missing quicklook images are made.
- **Changed rootname**: only files whose size or modification time changed
  are read again; the stored headers (and errors) of the others are kept.
- ``force``: every file is read again and every quicklook image made again.

Bad input
---------
A file that cannot be read (missing, unreadable, empty, not FITS, truncated), or a duplicate
(:mod:`~acsq_mongo.ingest.duplicates`), is an entry of the document's ``errors`` and of
``ingest_errors`` (path, error, time), and a log line; the rest carries on. A file read before
that became unreadable keeps its stored headers (nothing stored is lost). A document over 16 MB
is not written: an error too. A file whose ``INSTRUME`` is not ``ACS`` is an error of stage
``instrument`` (headers not stored); a rootname with no ACS file at all is not stored.

An observation (``_id``) may merge several folders, each file under its file key.
Many are ingested by :mod:`acsq_mongo.ingest.batch`, a run by :mod:`~acsq_mongo.ingest.run`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsq_mongo.archive.discover import RootnameFolder, scan_rootname_folder
from acsq_mongo.archive.observation import scan_observation
from acsq_mongo.db.collections import ROOTNAMES
from acsq_mongo.db.generation import utcnow
from acsq_mongo.fields import IMAGE_FILETYPES
from acsq_mongo.ingest.association import AsnTableError, read_asn_table
from acsq_mongo.ingest.changes import same_file
from acsq_mongo.ingest.document import (
    DocumentParts,
    build_document_bson,
    encode_document,
    promoted_fields,
)
from acsq_mongo.ingest.duplicates import duplicate_errors
from acsq_mongo.ingest.headers import HeaderReadError, read_headers
from acsq_mongo.ingest.hold import hold
from acsq_mongo.ingest.lookup_tables import footprint_arrays
from acsq_mongo.ingest.proposal_types import load_proposal_types
from acsq_mongo.ingest.quicklook_files import observation_quicklooks
from acsq_mongo.ingest.store import DocumentTooLarge
from acsq_mongo.ingest.store_batch import StoreBatch
from acsq_mongo.sky.footprints import compute_footprints

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["error_entry", "ACS", "RootnameResult", "ingest_rootname"]

log = logging.getLogger(__name__)

#: The INSTRUME value of ACS files.
ACS = "ACS"

# Error stages kept with a file while it is unchanged.
_FILE_STAGES = ("header", "instrument", "quicklook", "asn_table")


@dataclass
class RootnameResult:
    """What :func:`ingest_rootname` did.

    Attributes
    ----------
    rootname : str
    status : str
        ``"ingested"`` (written, no new error), ``"unchanged"`` (files as
        stored; only ``last_ingest_date`` set) or ``"failed"`` (a new error:
        the document may still have been written with everything else).
    files_read : int
        Files whose headers were read now.
    files_kept : int
        Files whose stored headers were kept (unchanged).
    errors : list of dict
        New errors of this run (also in ``ingest_errors``).
    stored : bool
        Whether the document was written (or, if unchanged, touched).
    doc_bytes : int or None
        BSON size of the document written.
    quicklooks_made, quicklooks_fresh : int
        Filetypes whose quicklook images were made now, or were fresh.
    """

    rootname: str
    status: str = "ingested"
    files_read: int = 0
    files_kept: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    stored: bool = False
    doc_bytes: int | None = None
    quicklooks_made: int = 0
    quicklooks_fresh: int = 0


def error_entry(rootname: str, path: str, filetype: str | None, stage: str, message: str,
                now) -> dict[str, Any]:
    """One error, as the document's ``errors`` and ``ingest_errors`` hold it."""
    return {"rootname": rootname, "path": path, "filetype": filetype, "stage": stage,
            "error": message, "time": now}


def _as_folder(folder: RootnameFolder | str | os.PathLike, settings: Settings
               ) -> RootnameFolder:
    if isinstance(folder, RootnameFolder):
        return folder
    path = Path(folder).absolute()  # with its siblings: every folder of its _id
    return scan_observation(path.parent.parent, [f"{path.parent.name}/{path.name}"],
                            archive=settings.archive) or scan_rootname_folder(path)


def ingest_rootname(
    db: Database,
    settings: Settings,
    folder: RootnameFolder | str | os.PathLike,
    force: bool = False,
    quicklook: bool = True,
    batch: StoreBatch | None = None,
) -> RootnameResult:
    """Ingest one rootname folder into the ``rootnames`` and ``catalog`` collections.

    Parameters
    ----------
    db : Database
    settings : Settings
        Uses ``archive`` (paths in errors are relative to it), ``data``
        (quicklook images), ``proposal_types`` and ``quicklook_stretch``.
    folder : RootnameFolder or path-like
        The rootname folder, ``<archive>/<root4>/<rootname>``.
    force : bool
        Read every file and make every quicklook image again.
    quicklook : bool
        Make quicklook JPEGs of the image files, raw to drc (skipping fresh ones).
    batch : StoreBatch, optional
        Read the stored state from it and queue the writes in it, for its
        ``flush`` to send (default: they are sent before this returns).

    Returns
    -------
    result : RootnameResult
        Never raises for bad input files; database failures propagate.
    """
    own = batch is None
    batch = StoreBatch(db, settings=settings) if own else batch
    result = _ingest(db, settings, _as_folder(folder, settings), force, quicklook, batch)
    for _, exc in batch.flush() if own else ():
        raise exc  # a write the server refused, as a lone write raises it
    return result


def _ingest(db: Database, settings: Settings, folder: RootnameFolder, force: bool,
            quicklook: bool, batch: StoreBatch) -> RootnameResult:
    rootname, _id = folder.rootname, folder.id
    hold(settings, "begin", rootname)
    result = RootnameResult(rootname)
    now = utcnow()
    stored = batch.state(_id)
    if stored is not None and stored.get("rootname") != rootname:
        log.warning("%s: replaces %s, stored under the same _id %r", rootname,
                    stored.get("rootname"), _id)
        stored = None
    if stored is not None and not force and stored.get("files_sig") == folder.files_sig:
        return _unchanged(db, settings, folder, stored, quicklook, result, now, batch)
    log.info("%s: Begin ingestion", rootname)

    previous: Mapping[str, Any] = {}
    if stored is not None:
        # Even with force: a file that has become unreadable keeps its old headers.
        previous = db[ROOTNAMES].find_one({"_id": _id}) or {}
    prev_files = previous.get("files") or {}
    prev_headers = previous.get("headers") or {}
    prev_nulls = previous.get("header_nulls") or {}
    prev_comments = previous.get("header_comments") or {}
    prev_errors = previous.get("errors") or []

    headers: dict[str, Any] = {}
    nulls: dict[str, Any] = {}
    comments: dict[str, Any] = {}
    n_hdus: dict[str, int] = {}
    offsets: dict[str, dict[str, int]] = {}  # of the files read now
    errors: list[dict[str, Any]] = []
    new_errors: list[dict[str, Any]] = []
    readable: dict[str, Path] = {}
    kept: set[str] = set()
    non_acs = 0

    asn_members = None
    for filetype, info in folder.files.items():
        # ``filetype`` is the file key here: the filetype, or <rootname>_<filetype>.
        relpath = f"{info.relpath or folder.relpath}/{info.name}"
        before = prev_files.get(filetype)
        unchanged = not force and same_file(before, info)
        if unchanged:
            kept.add(filetype)
            result.files_kept += 1
            n_hdus[filetype] = before.get("n_hdus", 0)
            if filetype in prev_headers:
                headers[filetype] = prev_headers[filetype]
                if prev_nulls.get(filetype):
                    nulls[filetype] = prev_nulls[filetype]
                if prev_comments.get(filetype):
                    comments[filetype] = prev_comments[filetype]
            old = [e for e in prev_errors if e.get("filetype") == filetype
                   and e.get("stage") in _FILE_STAGES]
            errors += old
            if filetype in prev_headers and not any(
                    e.get("stage") in ("header", "instrument") for e in old):
                readable[filetype] = info.path
            continue

        result.files_read += 1
        message, file_headers = None, None
        if info.stat_error:
            message = info.stat_error
        else:
            try:
                file_headers = read_headers(info.path)
            except HeaderReadError as exc:
                message = str(exc)
        if file_headers is not None:
            for problem in file_headers.problems:
                log.warning("%s: %s: %s (%s)", rootname, filetype, problem, relpath)
            message = file_headers.error
            instrume = file_headers.headers.get("0", {}).get("INSTRUME")
            if isinstance(instrume, str) and instrume.strip().upper() != ACS:
                non_acs += 1
                text = f"not an ACS file: INSTRUME = {instrume.strip()!r}; headers not stored"
                log.error("%s: %s: %s (%s)", rootname, filetype, text, relpath)
                err = error_entry(rootname, relpath, filetype, "instrument", text, now)
                errors.append(err)
                new_errors.append(err)
                n_hdus[filetype] = file_headers.n_hdus
                continue
            if file_headers.headers:
                headers[filetype] = file_headers.headers
                offsets[filetype] = file_headers.data_offsets
                if file_headers.nulls:
                    nulls[filetype] = file_headers.nulls
                if file_headers.comments:
                    comments[filetype] = file_headers.comments
            n_hdus[filetype] = file_headers.n_hdus
        else:
            n_hdus[filetype] = 0
        # The same bytes failed before (a --force rerun): what is stored came from this
        # very read, nothing older to keep; the document is what a first ingest writes.
        bad_before = same_file(before, info) and any(
            e.get("filetype") == filetype and e.get("stage") == "header" for e in prev_errors)
        if message is not None:
            if filetype in prev_headers and not bad_before:
                # Keep what was read before from this file: nothing stored is lost.
                headers[filetype] = prev_headers[filetype]
                if prev_nulls.get(filetype):
                    nulls[filetype] = prev_nulls[filetype]
                if prev_comments.get(filetype):
                    comments[filetype] = prev_comments[filetype]
                n_hdus[filetype] = len(prev_headers[filetype])
                message += "; headers from the previous ingest kept"
            log.error("%s: %s: %s (%s)", rootname, filetype, message, relpath)
            err = error_entry(rootname, relpath, filetype, "header", message, now)
            errors.append(err)
            new_errors.append(err)
        else:
            readable[filetype] = info.path
            if info.filetype == "asn" and filetype == "asn":
                asn_members = _asn_members(info.path, rootname, relpath, now, errors,
                                           new_errors)
    if asn_members is None and prev_files.get("asn") and "asn" in kept:
        asn_members = previous.get("asn_members")
    kept_duplicates, new_duplicates = duplicate_errors(folder, prev_errors, now)
    errors += kept_duplicates + new_duplicates
    new_errors += new_duplicates

    if not headers and non_acs and not previous:
        log.error("%s: no ACS file; rootname not ingested", rootname)
        batch.add_errors(result, new_errors)
        hold(settings, "stored", rootname)
        result.errors = new_errors
        result.status = "failed"
        log.info("%s: End ingestion", rootname)
        return result

    paths = (stored or {}).get("quicklook")
    stats = {ft: v for ft, v in (previous.get("stats") or {}).items() if ft in kept}
    if quicklook:
        # A kept file whose quicklook failed before is not tried again (force retries).
        failed_before = {e.get("filetype") for e in errors if e.get("stage") == "quicklook"}
        images = {key: path for key, path in readable.items()
                  if folder.files[key].filetype in IMAGE_FILETYPES
                  and (force or key not in failed_before)}
        errors = [e for e in errors
                  if e.get("stage") != "quicklook" or e.get("filetype") not in images]
        proposid = promoted_fields(headers, rootname)["proposid"]
        # A file read again (size or mtime changed) gets new images even if its mtime went
        # backwards (`rsync -a`), which quicklook's "newer than the FITS file" test misses.
        remake = force or any(ft not in kept for ft in images)
        paths, ql_errors = observation_quicklooks(folder, proposid, images, settings, remake,
                                                  result, now, stats)
        errors += ql_errors
        new_errors += ql_errors
    footprints = compute_footprints(headers, footprint_arrays(folder.files, headers, offsets))
    for warning in footprints.warnings:  # no footprint is a warning, not an ingest error
        log.warning("%s: %s", rootname, warning)
    document, raw = build_document_bson(DocumentParts(
        folder, headers, nulls, n_hdus, errors, now, quicklook=paths, footprints=footprints,
        first_ingest_date=(stored or {}).get("first_ingest_date"), asn_members=asn_members,
        proposal_types=load_proposal_types(settings.proposal_types), header_comments=comments,
        stats=stats))
    hold(settings, "images", rootname)

    try:
        result.doc_bytes = batch.upsert(result, document, raw=raw)
        result.stored = True
        read = ", ".join(ft for ft in folder.files if ft not in kept) or "none"
        log.info("%s: Updated rootnames and catalog: %d files (read: %s), %.0f kB",
                 rootname, len(folder.files), read, result.doc_bytes / 1000)
    except DocumentTooLarge as exc:
        log.error("%s: %s", rootname, exc)
        new_errors.append(error_entry(rootname, folder.relpath, None, "store", str(exc), now))
    batch.add_errors(result, new_errors)
    hold(settings, "stored", rootname)
    result.errors = new_errors
    result.status = "failed" if new_errors else "ingested"
    log.info("%s: End ingestion", rootname)
    return result


def _asn_members(path, rootname, relpath, now, errors, new_errors) -> list | None:
    """The rows of an asn file's table, or None (an error recorded) if it cannot be read."""
    try:
        return read_asn_table(path)
    except AsnTableError as exc:
        log.error("%s: asn: %s (%s)", rootname, exc, relpath)
        errors.append(error_entry(rootname, relpath, "asn", "asn_table", str(exc), now))
        new_errors.append(errors[-1])
        return None


def _unchanged(db, settings, folder, stored, quicklook, result, now, batch) -> RootnameResult:
    """Files as stored: set last_ingest_date; make quicklook images that are missing."""
    rootname = folder.rootname
    result.status = "unchanged"
    result.files_kept = len(folder.files)
    paths, stats = None, {}
    if quicklook and any(i.filetype in IMAGE_FILETYPES for i in folder.files.values()):
        stored_errors = ((db[ROOTNAMES].find_one({"_id": folder.id}, {"errors": 1}) or {})
                         .get("errors") or []) if stored.get("n_errors") else []
        skip = {e.get("filetype") for e in stored_errors
                if e.get("stage") in ("header", "instrument", "quicklook")}
        images = {key: info.path for key, info in folder.files.items()
                  if info.filetype in IMAGE_FILETYPES and key not in skip}
        if images:
            paths, errors = observation_quicklooks(folder, stored.get("proposid"), images,
                                                   settings, False, result, now, stats)
            if errors:
                return _add_errors(db, folder, paths, errors, result, now, batch)
            if paths == (stored.get("quicklook") or {}):
                paths = None
    batch.touch(result, folder.id, now, quicklook=paths, stats=stats)
    result.stored = True
    if paths is not None:
        log.info("%s: Updated quicklook paths (files unchanged)", rootname)
    log.debug("%s: files unchanged; last_ingest_date set", rootname)
    return result


def _add_errors(db, folder, paths, errors, result, now, batch) -> RootnameResult:
    """Files unchanged, but a quicklook failed: rewrite the document with the new errors."""
    document = dict(db[ROOTNAMES].find_one({"_id": folder.id}) or {})
    if not document:  # gone meanwhile: nothing to add to
        batch.add_errors(result, errors)
        result.errors, result.status = errors, "failed"
        return result
    document["errors"] = list(document.get("errors") or []) + [
        {k: v for k, v in e.items() if k != "rootname"} for e in errors]
    document["n_errors"] = len(document["errors"])
    document["quicklook"] = paths
    document["last_ingest_date"] = now
    result.doc_bytes = batch.upsert(result, document, raw=encode_document(document))
    batch.add_errors(result, errors)
    result.errors, result.status = errors, "failed"
    log.info("%s: Updated rootnames and catalog: quicklook errors (files unchanged)",
             folder.rootname)
    return result
