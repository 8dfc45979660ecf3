"""Bulk re-ingest of the rootnames that match a MongoDB filter.

``acsq reingest --where '<filter>'``: the filter is a MongoDB query document
in Extended JSON (:mod:`bson.json_util`), so dates are written
``{"$date": "2007-01-01T00:00:00Z"}``::

    {"detector": "HRC", "date_obs": {"$lt": {"$date": "2007-01-01T00:00:00Z"}}}
    {"headers.flt.0.CCDGAIN": 2}
    {"proposid": {"$in": [10368, 10369]}}

The matching rootnames are read again, every file (``force``), and their
quicklook images made again, on the same runners as an ingest (Dask or this
process); the others are not touched.

Guards:

- Operators that run code on the server (``$where``, ``$function``,
  ``$accumulator``) are refused anywhere in the filter, however deeply
  nested, as is JavaScript code (``{"$code": ...}``).
- A filter that names only catalog fields runs on the slim ``catalog``;
  anything else (a header keyword, ``files``, ``errors``) on ``rootnames``
  with a projection of ``_id``, ``rootname`` and ``path``. The catalog's
  documents are ~100x smaller, and its indexes serve the usual fields.
- Dates in the filter are made naive UTC, as the store holds them (an
  aware ``datetime`` from ``$date`` with an offset is converted).
- A text compared with a date field (``{"date_obs": {"$lt": "2007"}}``)
  would silently match nothing, so it is an error that says how to write
  the date.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import bson.json_util
import pymongo.errors
from bson.code import Code
from bson.json_util import JSONOptions

from acsq_mongo.archive.discover import RootnameFolder
from acsq_mongo.archive.observation import scan_observation
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import FIELDS, TAG_FIELDS
from acsq_mongo.ingest.rootname import RootnameResult
from acsq_mongo.ingest.run import (
    IngestSummary,
    close_summary,
    database_guard,
    ingest_folders,
    resolve_archive,
)
from acsq_mongo.ingest.run_log import start_run_log
from acsq_mongo.ingest.store import CATALOG_KEYS

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = [
    "FORBIDDEN_OPERATORS",
    "FilterError",
    "Selection",
    "parse_filter",
    "check_filter",
    "filter_collection",
    "select_rootnames",
    "run_reingest",
]

log = logging.getLogger(__name__)

#: Query operators that make the server run code; refused anywhere in a filter.
FORBIDDEN_OPERATORS = ("$where", "$function", "$accumulator")

#: Operators whose value is a list of filters on the same document.
_LOGICAL = ("$and", "$or", "$nor")

_JSON_OPTIONS = JSONOptions(tz_aware=True, tzinfo=datetime.UTC)

_DATE_FIELDS = {name for name, f in FIELDS.items() if f.type == "datetime"}


class FilterError(AcsqError):
    """The ``--where`` filter is not valid JSON, not allowed, or refused by the server."""

    exit_code = 2


def _naive_utc(value: Any) -> Any:
    """``value`` with every aware datetime turned into naive UTC, recursively."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dict):
        return {k: _naive_utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive_utc(v) for v in value]
    return value


def check_filter(query: Any, where: str = "filter") -> None:
    """Refuse operators that run code, anywhere in ``query``.

    Raises
    ------
    FilterError
        On ``$where``, ``$function``, ``$accumulator`` (in any case) or a
        JavaScript code value, naming where it was found.
    """
    if isinstance(query, Code):
        raise FilterError(f"JavaScript code is not allowed in a filter (in {where})")
    if isinstance(query, dict):
        for key, value in query.items():
            if not isinstance(key, str):
                raise FilterError(f"filter keys must be text (at {where})")
            if key.strip().lower() in FORBIDDEN_OPERATORS:
                raise FilterError(
                    f"operator {key} runs code on the server and is not allowed (in {where}); "
                    "use ordinary operators such as $eq, $in, $lt, $regex, $exists"
                )
            check_filter(value, f"{where}.{key}")
    elif isinstance(query, (list, tuple)):
        for i, value in enumerate(query):
            check_filter(value, f"{where}[{i}]")


def _check_dates(query: dict[str, Any]) -> None:
    """A text compared with a date field matches nothing: say how to write a date."""
    for key, value in query.items():
        if key in _LOGICAL and isinstance(value, list):
            for sub in value:
                if isinstance(sub, dict):
                    _check_dates(sub)
            continue
        if key not in _DATE_FIELDS:
            continue
        operands = [value]
        if isinstance(value, dict):
            operands = []
            for op, operand in value.items():
                operands += operand if isinstance(operand, list) else [operand]
                if op in ("$exists", "$type"):
                    operands = []
        for operand in operands:
            if isinstance(operand, str):
                raise FilterError(
                    f"{key} is a date: compare it with {{\"$date\": \"2007-01-01T00:00:00Z\"}}, "
                    f"not the text {operand!r}"
                )


def parse_filter(text: str) -> dict[str, Any]:
    """Parse and check a ``--where`` filter in MongoDB Extended JSON.

    Parameters
    ----------
    text : str
        A JSON object, e.g.
        ``{"detector": "HRC", "date_obs": {"$lt": {"$date": "2007-01-01T00:00:00Z"}}}``.

    Returns
    -------
    query : dict
        With dates as naive UTC datetimes.

    Raises
    ------
    FilterError
        If it is not a JSON object, or uses an operator that runs code.
    """
    try:
        query = bson.json_util.loads(text, json_options=_JSON_OPTIONS)
    except Exception as exc:  # json and bson raise ValueError, TypeError, InvalidId...
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise FilterError(f"--where is not valid Extended JSON: {reason}") from None
    if not isinstance(query, dict):
        raise FilterError(f"--where must be a JSON object such as {{\"detector\": \"HRC\"}}, "
                          f"not {type(query).__name__}")
    check_filter(query)
    query = _naive_utc(query)
    _check_dates(query)
    return query


def _top_fields(query: dict[str, Any]) -> set[str] | None:
    """Top-level field names a filter uses; None if it uses a top-level operator we
    cannot see into (``$expr``, ``$text``...)."""
    names: set[str] = set()
    for key, value in query.items():
        if key in _LOGICAL:
            for sub in value if isinstance(value, list) else []:
                inner = _top_fields(sub) if isinstance(sub, dict) else None
                if inner is None:
                    return None
                names |= inner
        elif key == "$comment":
            continue
        elif key.startswith("$"):
            return None
        else:
            names.add(key.split(".", 1)[0])
    return names


def filter_collection(query: dict[str, Any]) -> str:
    """``"catalog"`` if the filter names only catalog fields, else ``"rootnames"``."""
    names = _top_fields(query)
    if names is not None and names <= set(CATALOG_KEYS) | {f.name for f in TAG_FIELDS}:
        return CATALOG
    return ROOTNAMES


@dataclass
class Selection:
    """The rootnames a filter matched.

    Attributes
    ----------
    query : dict
    collection : str
        ``catalog`` or ``rootnames``: where the filter ran.
    rows : list of dict
        ``{"_id", "rootname", "path"}`` of each match, by rootname.
    """

    query: dict[str, Any]
    collection: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rootnames(self) -> list[str]:
        return [row.get("rootname") or row["_id"] for row in self.rows]


def select_rootnames(db: Database, query: dict[str, Any]) -> Selection:
    """Find the rootnames matching ``query`` (checked by :func:`parse_filter`).

    Raises
    ------
    FilterError
        If the server refuses the filter (an unknown operator, a bad regex).
    """
    check_filter(query)
    collection = filter_collection(query)
    try:
        rows = list(db[collection].find(query, {"_id": 1, "rootname": 1, "path": 1,
                                                "file_paths": 1}))
    except pymongo.errors.ConnectionFailure:
        raise
    except pymongo.errors.PyMongoError as exc:
        message = getattr(exc, "details", None) or {}
        raise FilterError(f"the server refused the filter: "
                          f"{message.get('errmsg') or exc}") from None
    rows.sort(key=lambda row: row.get("rootname") or row["_id"])
    return Selection(query, collection, rows)


def describe_filter(query: dict[str, Any]) -> str:
    """The filter as one line of Extended JSON, for logs."""
    return bson.json_util.dumps(query, json_options=bson.json_util.RELAXED_JSON_OPTIONS)


def run_reingest(
    settings: Settings,
    query: dict[str, Any],
    quicklook: bool = True,
    runner: Any = None,
    progress: Callable[[int, int, RootnameResult | None], None] | None = None,
    announce: Callable[[Selection], None] | None = None,
) -> IngestSummary:
    """Re-ingest every rootname that matches ``query``, reading every file again.

    Parameters
    ----------
    settings : Settings
        ``archive`` is the archive that the catalog's ``path`` fields are relative to.
    query : dict
        From :func:`parse_filter`.
    quicklook : bool
        Make the quicklook images again too.
    runner : InProcessRunner or DaskRunner, optional
        Default: this process.
    progress : callable, optional
        ``progress(done, total, result)`` after each rootname.
    announce : callable, optional
        Called with the :class:`Selection` before anything is re-ingested.

    Returns
    -------
    summary : IngestSummary
        A rootname in the database whose folder is no longer in the archive
        is a problem (the run fails); its document is left as it is.
    """
    archive = resolve_archive(settings)
    settings = settings.replace(archive=archive)
    summary = IngestSummary()
    summary.log_path = start_run_log("reingest", settings)
    with database_guard(summary):
        db = connect(settings)
        selection = select_rootnames(db, query)
        log.info("Re-ingest of %d rootnames matching %s (on %s)", len(selection.rows),
                 describe_filter(query), selection.collection)
        if announce is not None:
            announce(selection)
        folders = list(_folders(selection.rows, archive, summary))
        if folders:
            log.info("Re-ingesting %d rootnames %s", len(folders),
                     runner.describe() if runner is not None else "in this process")
        ingest_folders(db, settings, folders, summary, force=True, quicklook=quicklook,
                       runner=runner, progress=progress)
    return close_summary(summary)


def _folders(rows: Iterable[dict[str, Any]], archive, summary: IngestSummary
             ) -> Iterable[RootnameFolder]:
    for row in rows:
        rootname = row.get("rootname") or row["_id"]
        path = row.get("path")
        # Every folder of the observation (its sub-products, a retransmission).
        relpaths = {p.rsplit("/", 1)[0] for p in (row.get("file_paths") or {}).values()}
        folder = scan_observation(archive, relpaths | {path}) if path else None
        if folder is None or not folder.files:
            summary.problems.append(
                f"rootname {rootname} is in the database but its folder {path} has no FITS "
                f"files in the archive {archive}; not re-ingested")
            continue
        yield folder

