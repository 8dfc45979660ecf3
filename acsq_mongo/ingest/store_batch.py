"""Writes of many rootnames sent in bulk, and their stored state read in one query.

An ingest of many rootnames (:func:`acsq_mongo.ingest.batch.ingest_many`)
goes through a :class:`StoreBatch`, so that an unchanged rootname costs no
round trip of its own, and a batch of rootnames one request per collection
and one generation bump. What is written is what :mod:`acsq_mongo.ingest.store`
writes for one rootname.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pymongo.errors
from bson.raw_bson import RawBSONDocument
from pymongo import ReplaceOne, UpdateMany, UpdateOne

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import Capabilities, capabilities
from acsq_mongo.db.generation import bump_generation
from acsq_mongo.db.header_indexes import header_indexes
from acsq_mongo.ingest.hold import hold
from acsq_mongo.ingest.store import (
    INGEST_STATE_FIELDS,
    MAX_DOCUMENT_BYTES,
    catalog_entry,
    catalog_update,
    check_size,
    record_errors,
)

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["StoreBatch"]

log = logging.getLogger(__name__)


_MISSING = object()


@dataclass
class _Queued:
    """The writes queued for one rootname, under its caller's key."""

    key: Any
    rootnames: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    catalog: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    touch: tuple[str, datetime.datetime] | None = None
    errors: list[Mapping[str, Any]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class StoreBatch:
    """The store's reads and writes for a batch of rootnames, sent in bulk.

    Reads: :meth:`prefetch` reads the stored state (:data:`INGEST_STATE_FIELDS`
    of the catalog) of many rootnames with one query, and :meth:`state` hands
    each out once, or reads it if it was not prefetched.

    Writes: :meth:`upsert`, :meth:`touch` and :meth:`add_errors` queue the
    writes of a rootname under a key (the caller's result for it), and
    :meth:`flush` sends them: one bulk write to ``rootnames``, then one to
    ``catalog`` (whole first, as :func:`acsq_mongo.ingest.store.upsert_rootname`), one generation
    bump, after one insert of the errors. The unchanged rootnames of a batch
    get one ``update_many`` with ``_id: {$in: [...]}``, and share one
    ``last_ingest_date``: the latest of theirs. Writes are also sent when
    ``max_rootnames`` rootnames or ``max_bytes`` of documents are held, and
    before the state of a rootname with writes held is read.

    With ``background``, those sends go from a thread of their own, one after
    the other, while the caller carries on (parsing the next rootnames as the
    server stores the last ones); :meth:`pending` says whose writes are not
    sent yet, :meth:`flush` waits for all, and :meth:`close` for those under
    way. A store that cannot take writes from several threads (mongomock:
    :func:`acsq_mongo.db.connection.capabilities`) is always written to in the
    caller's thread.

    If the server refuses a write of the batch, each rootname's writes are
    sent again alone, to find whose it was: :meth:`flush` returns the keys
    of those rootnames with the exception. Queued errors are recorded before the
    documents, so a kill between the two writes leaves the rootname to be ingested
    again rather than stored without its errors. A lost connection propagates;
    what was sent before is kept.
    The methods may be called from several threads.

    Parameters
    ----------
    db : Database
    max_rootnames : int
        Rootnames whose writes are held at most.
    max_bytes : int
        BSON bytes of whole documents held at most.
    background : bool
        Send from a thread of its own.
    settings : Settings, optional
        For the ``written`` hold step (:mod:`acsq_mongo.ingest.hold`), taken
        for each rootname once its batch is written.
    """

    def __init__(self, db: Database, max_rootnames: int = 100,
                 max_bytes: int = MAX_DOCUMENT_BYTES, background: bool = False,
                 settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings
        self.max_rootnames = max_rootnames
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._states: dict[str, dict[str, Any] | None] = {}
        self._queued: dict[int, _Queued] = {}
        self._ids: Counter[str] = Counter()  # ids with writes held or under way
        self._bytes = 0
        self._failures: list[tuple[Any, Exception]] = []
        self._unsent: set[int] = set()  # keys with writes held or under way
        self._sending: list[Future] = []
        # What the store can do (mongomock: no bulk write models, no raw BSON, one thread).
        self._can = capabilities(db)
        # The indexed header keywords, copied into catalog entries (read again per batch).
        self._header_paths = tuple(header_indexes(db))
        self._sender = None
        if background and self._can.threads:
            self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="acsq-store")

    def prefetch(self, ids: Iterable[str]) -> None:
        """Read the stored state of the rootnames ``ids`` with one query."""
        ids = sorted(set(ids))
        if not ids:
            return
        found = {doc["_id"]: doc for doc in
                 self.db[CATALOG].find({"_id": {"$in": ids}}, INGEST_STATE_FIELDS)}
        with self._lock:
            for _id in ids:
                self._states[_id] = found.get(_id)

    def state(self, _id: str) -> dict[str, Any] | None:
        """Return the stored state of rootname ``_id`` (None if it is not stored)."""
        with self._lock:
            state = self._states.pop(_id, _MISSING)
            pending = _id in self._ids
        if pending:
            self._send(wait=True)
        elif state is not _MISSING:
            return state
        return self.db[CATALOG].find_one({"_id": _id}, INGEST_STATE_FIELDS)

    def upsert(self, key: Any, document: Mapping[str, Any], raw: bytes | None = None) -> int:
        """Queue the write of a whole rootname document into both collections.

        Parameters
        ----------
        key : object
            The caller's handle on this rootname (returned by :meth:`flush` if
            the write fails).
        document : mapping
            The whole document; must have ``_id``.
        raw : bytes, optional
            Its BSON, if at hand (``bson.encode(document)``): sent as it is,
            and not encoded again.

        Returns
        -------
        size : int

        Raises
        ------
        DocumentTooLarge
            If the document is over 16 MB; nothing is queued then.
        """
        size = check_size(document, None if raw is None else len(raw))
        _id = document["_id"]
        whole = RawBSONDocument(raw) if raw is not None and self._can.raw_bson else dict(document)
        with self._lock:
            queued = self._entry(key)
            queued.rootnames.append(("replace", _id, whole))
            entry = catalog_entry(document, self._header_paths)
            queued.catalog.append(("upsert", _id, catalog_update(entry)))
            self._hold(queued, _id)
            self._bytes += size
        self._send_if_full()
        return size

    def touch(self, key: Any, _id: str, last_ingest_date: datetime.datetime,
              quicklook: Mapping[str, Any] | None = None,
              stats: Mapping[str, Any] | None = None) -> None:
        """Queue what :func:`acsq_mongo.ingest.store.touch_rootname` writes.

        ``stats``, ``{filetype: statistics}`` measured now, are set in both collections.
        """
        with self._lock:
            queued = self._entry(key)
            if quicklook is None and not stats:
                queued.touch = (_id, last_ingest_date)
            else:
                fields: dict[str, Any] = {"last_ingest_date": last_ingest_date}
                if quicklook is not None:
                    fields["quicklook"] = dict(quicklook)
                fields.update({f"stats.{ft}": value for ft, value in (stats or {}).items()})
                queued.rootnames.append(("set", _id, fields))
                queued.catalog.append(("set", _id, fields))
            self._hold(queued, _id)
        self._send_if_full()

    def add_errors(self, key: Any, errors: Iterable[Mapping[str, Any]]) -> None:
        """Queue rows for ``ingest_errors`` (see :func:`acsq_mongo.ingest.store.record_errors`)."""
        errors = list(errors)
        if errors:
            with self._lock:
                self._entry(key).errors.extend(errors)

    def flush(self) -> list[tuple[Any, Exception]]:
        """Send what is queued and wait; return ``(key, exception)`` of the rootnames not written.

        Raises
        ------
        pymongo.errors.ConnectionFailure
            If the database went away.
        """
        self._send(wait=True)
        return self.failures()

    def send(self) -> None:
        """Send what is queued; in the background, without waiting.

        Raises
        ------
        pymongo.errors.ConnectionFailure
            If the database went away during an earlier send.
        """
        self._send(wait=False)

    def pending(self, key: Any) -> bool:
        """Whether writes queued under ``key`` are not sent yet."""
        with self._lock:
            return id(key) in self._unsent

    def failures(self) -> list[tuple[Any, Exception]]:
        """Return (and forget) ``(key, exception)`` of the rootnames not written so far."""
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def close(self) -> None:
        """Wait for the sends under way (what is still held is dropped)."""
        if self._sender is not None:
            self._sender.shutdown(wait=True)

    def _entry(self, key: Any) -> _Queued:
        queued = self._queued.get(id(key))
        if queued is None:
            queued = self._queued[id(key)] = _Queued(key)
            self._unsent.add(id(key))
        return queued

    def _hold(self, queued: _Queued, _id: str) -> None:
        if _id not in queued.ids:
            queued.ids.add(_id)
            self._ids[_id] += 1

    def _send_if_full(self) -> None:
        with self._lock:
            full = len(self._queued) >= self.max_rootnames or self._bytes >= self.max_bytes
        if full:
            self._send(wait=False)

    def _send(self, wait: bool) -> None:
        with self._send_lock:
            with self._lock:
                queued = list(self._queued.values())
                self._queued, self._bytes = {}, 0
            if queued:
                self._header_paths = tuple(header_indexes(self.db))
            if queued and self._sender is None:
                self._send_now(queued)
            elif queued:
                self._wait(lambda: True)  # one send under way at a time
                self._sending.append(self._sender.submit(self._send_now, queued))
            self._wait(lambda: wait or self._sending[0].done())

    def _wait(self, until) -> None:
        while self._sending and until():
            self._sending.pop(0).result()  # raises what the sender met

    def _send_now(self, queued: list[_Queued]) -> None:
        self._send_queued(queued)
        if self.settings is not None:
            for one in queued:
                rootname = getattr(one.key, "rootname", None)
                if rootname:
                    hold(self.settings, "written", rootname)
        # Sent (or refused): no longer pending. After a lost connection they stay so.
        with self._lock:
            for one in queued:
                self._unsent.discard(id(one.key))
                self._ids.subtract(one.ids)
            self._ids = +self._ids  # drop the ids no longer held

    def _send_queued(self, queued: list[_Queued]) -> None:
        # Errors first: killed between the two writes, a rerun finds the rootname
        # missing or changed and ingests it again; the other way round, it would find
        # the document stored, unchanged, and never record its errors.
        record_errors(self.db, [e for one in queued for e in one.errors])
        try:
            self._write(queued)
        except pymongo.errors.ConnectionFailure:
            raise
        except Exception as exc:  # a refused write: find whose, one rootname at a time
            if len(queued) == 1:
                failed = [(queued[0], _one_error(exc))]
            else:
                log.warning("A bulk write failed (%s: %s); writing its %d rootnames "
                            "one at a time", type(exc).__name__, _short(exc), len(queued))
                failed = []
                for one in queued:
                    try:
                        self._write([one])
                    except pymongo.errors.ConnectionFailure:
                        raise
                    except Exception as one_exc:
                        failed.append((one, _one_error(one_exc)))
            with self._lock:
                self._failures.extend((one.key, one_exc) for one, one_exc in failed)

    def _write(self, queued: list[_Queued]) -> None:
        rootnames = [op for one in queued for op in one.rootnames]
        catalog = [op for one in queued for op in one.catalog]
        touched = [one.touch for one in queued if one.touch is not None]
        if touched:
            when = max(t for _, t in touched)
            ids = [_id for _id, _ in touched]
            # The catalog only, as store.touch_rootname: not 50 kB rewritten for a date.
            catalog.append(("set_many", ids, {"last_ingest_date": when}))
        if not catalog:
            return
        if rootnames:
            apply_writes(self.db[ROOTNAMES], rootnames, self._can)
        apply_writes(self.db[CATALOG], catalog, self._can)
        bump_generation(self.db)

def apply_writes(collection, ops: list[tuple[str, Any, dict[str, Any]]],
                 can: Capabilities, ordered: bool = True) -> None:
    """Send ``(kind, _id or ids, body)`` writes to ``collection``: one bulk write, in order.

    Kinds: ``replace`` (a whole document, upserted), ``upsert`` (an update, upserted),
    ``set`` (``$set`` on one document), ``set_many`` (``$set`` on ``_id: {$in: ids}``),
    ``update`` (an update document as it is, on one document). Where the store takes
    no write models (``can.bulk_write`` False), each write is sent alone, in order.
    """
    if not ops:
        return
    writes = []   # (the write model's class, its filter, its body, upsert)
    for kind, target, body in ops:
        if kind == "replace":
            writes.append((ReplaceOne, {"_id": target}, body, True))
        elif kind == "upsert":  # the catalog: an update that keeps the tag fields
            writes.append((UpdateOne, {"_id": target}, body, True))
        elif kind == "set":
            writes.append((UpdateOne, {"_id": target}, {"$set": body}, False))
        elif kind == "update":
            writes.append((UpdateOne, {"_id": target}, body, False))
        else:
            writes.append((UpdateMany, {"_id": {"$in": target}}, {"$set": body}, False))
    if can.bulk_write:
        collection.bulk_write([model(where, body, upsert=upsert)
                               for model, where, body, upsert in writes], ordered=ordered)
        return
    one_by_one = {ReplaceOne: collection.replace_one, UpdateOne: collection.update_one,
                  UpdateMany: collection.update_many}
    for model, where, body, upsert in writes:
        one_by_one[model](where, body, upsert=upsert)


def _short(exc: Exception) -> str:
    """The first error of a bulk write (not the documents it quotes), else the message."""
    return str(_one_error(exc))[:300]


def _one_error(exc: Exception) -> Exception:
    """A bulk write's first error as the one-document write would raise it, else ``exc``."""
    if not isinstance(exc, pymongo.errors.BulkWriteError):
        return exc
    errors = (exc.details or {}).get("writeErrors") or [{}]
    first = {k: v for k, v in errors[0].items() if k != "op"}  # not the whole document
    kind = (pymongo.errors.DuplicateKeyError if first.get("code") == 11000
            else pymongo.errors.WriteError)
    return kind(first.get("errmsg", str(exc)[:300]), first.get("code"), first)
