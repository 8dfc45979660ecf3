"""Warnings for header keyword paths, and values, that cannot match anything.

``headers.flt.1.CCDGAIN`` (CCDGAIN is in the primary header, extension 0) or
the typo ``headers.flt.0.CCDGAN`` are well-formed paths, so a query on them
runs and silently finds nothing. :func:`path_warnings` checks each header
path of a query against the shipped keyword inventory
(:mod:`acsq_mongo.query.keyword_types`) and, for a keyword the inventory has
not seen there, against the stored data (one ``find_one`` on ``rootnames``).
A keyword in neither gets a one-line warning that names the headers where
the keyword does occur and suggests close spellings. A warning never stops
the query: a keyword may be new, or written by a local pipeline.

Likewise a value that no rootname has, in a query that matches nothing
(``detector=XYZ``, ``anomaly=bogus``): :func:`value_warnings` names the values
the field does take (one ``distinct`` on ``catalog``, served by the field's index).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.keys import unescape_key
from acsq_mongo.fields import COMBINED_PARTS
from acsq_mongo.query.cache import CallCache
from acsq_mongo.query.errors import server_errors
from acsq_mongo.query.keyword_types import keyword_places, keywords_at
from acsq_mongo.query.names import FieldRef, resolve

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache
    from acsq_mongo.query.spec import QuerySpec

__all__ = ["path_warnings", "path_warning", "spec_warnings", "cached_warnings",
           "value_warnings", "VALUE_CHECKED"]

#: Fields whose values are a short vocabulary: a value none of them has is named in a warning.
VALUE_CHECKED: tuple[str, ...] = ("detector", "filter", "filter1", "filter2", "aperture",
                                  "obstype", "obsmode", "imagetyp", "expflag",
                                  "proposal_type", "anomalies")
# How many of a field's values a warning names.
_VALUES_NAMED = 15

# Filter ops that match where a keyword is absent (so a match does not prove it exists).
_NEGATIVE_OPS = ("not", "notin")

# How many close spellings and other headers a warning names.
_SPELLINGS = 3
_PLACES = 6


def _stored_has(db: Database, ref: FieldRef) -> bool:
    return db[ROOTNAMES].find_one({ref.path: {"$exists": True}}, {"_id": 1}) is not None


def _stored_keys(db: Database, filetype: str, ext: str) -> set[str]:
    """The keywords of one stored header of that filetype and extension (spelling candidates)."""
    where = f"headers.{filetype}.{ext}"
    doc = db[ROOTNAMES].find_one({where: {"$exists": True}}, {where: 1})
    header = ((doc or {}).get("headers") or {}).get(filetype, {}).get(ext) or {}
    return {unescape_key(k) for k in header}


def path_warning(db: Database, ref: FieldRef) -> str | None:
    """Return the warning for one header path, or None if the keyword can be there."""
    assert ref.filetype is not None and ref.ext is not None and ref.key is not None
    if ref.key in keywords_at(ref.filetype, ref.ext) or _stored_has(db, ref):
        return None
    message = f"{ref.name}: no {ref.filetype}[{ref.ext}] header has {ref.key}"
    places = [f"{ft}[{ext}]" for ft, ext in keyword_places(ref.key)]
    if places:
        more = f" and {len(places) - _PLACES} more" if len(places) > _PLACES else ""
        message += f"; it is in {', '.join(places[:_PLACES])}{more}"
        same = [f"headers.{ft}.{ext}.{ref.key}" for ft, ext in keyword_places(ref.key)
                if ft == ref.filetype]
        if same:
            message += f" (try {same[0]})"
        return message
    candidates = keywords_at(ref.filetype, ref.ext) | _stored_keys(db, ref.filetype, ref.ext)
    close = difflib.get_close_matches(ref.key, sorted(candidates), n=_SPELLINGS, cutoff=0.75)
    if close:
        message += "; did you mean " + " or ".join(close) + "?"
    return message


def path_warnings(db: Database, refs: Iterable[FieldRef], cache: ResultCache | None = None,
                  generation: str | None = None) -> tuple[str, ...]:
    """Return the warnings for the header paths among ``refs`` (each path once).

    Parameters
    ----------
    db : Database
    refs : iterable of FieldRef
        The fields a query filters, sorts or shows; non-header ones are skipped.
    cache : ResultCache, optional
        Keeps each path's answer until the data ``generation`` changes.
    generation : str, optional
        The data generation the cache key carries.
    """
    out: list[str] = []
    seen: set[str] = set()
    for ref in refs:
        if not ref.is_header or ref.name in seen:
            continue
        seen.add(ref.name)
        key = ("path_warning", db.name, id(db.client), generation, ref.name)
        if cache is not None and key in cache:
            warning = cache.get(key)
        else:
            warning = path_warning(db, ref)
            if cache is not None:
                cache.put(key, warning)
        if warning:
            out.append(warning)
    return tuple(out)


def spec_warnings(db: Database, spec: QuerySpec, cache: ResultCache | None = None
                  ) -> tuple[str, ...]:
    """Return warnings for the header keyword paths ``spec`` filters or sorts by that cannot
    match: a keyword neither in the keyword inventory nor in any stored header of that
    filetype and extension.
    """
    return cached_warnings(CallCache(db, cache), spec)


def cached_warnings(cached: CallCache, spec: QuerySpec, total: int | None = None
                    ) -> tuple[str, ...]:
    """:func:`spec_warnings` within one call; ``total`` is the count, if known.

    A keyword that a positive filter matched in some rootname exists, so with
    ``total > 0`` such paths are not looked for again.
    """
    found = total is not None and total > 0
    refs = [f.field for f in spec.filters
            if not (found and f.op not in _NEGATIVE_OPS and f.value is not False)]
    refs += [resolve(name) for name, _ in spec.sort if name.startswith("headers.")]
    with server_errors():
        out = path_warnings(cached.db, refs, cached.cache,
                            cached.prefix[2] if cached.prefix else None)
        if not found:
            out += value_warnings(cached, spec)
    return out


def _field_values(cached: CallCache, field: str) -> list:
    """The values a catalog field takes (both wheels for ``filter``), sorted."""
    def compute() -> list:
        values: set = set()
        for part in COMBINED_PARTS.get(field, (field,)):
            values.update(v for v in cached.db[CATALOG].distinct(part) if v is not None)
        return sorted(values, key=str)

    return cached.get("field_values", (field,), compute)[0]


def value_warnings(cached: CallCache, spec: QuerySpec) -> tuple[str, ...]:
    """Warnings for the values of ``=`` and ``in`` filters on :data:`VALUE_CHECKED` fields
    that no rootname has, each naming the values the field takes."""
    out = []
    for f in spec.filters:
        name = f.field.name
        if name not in VALUE_CHECKED or f.op not in ("exact", "in"):
            continue
        wanted = f.value if f.op == "in" else (f.value,)
        if not all(isinstance(v, str) for v in wanted):
            continue  # a wildcard or a period: not one value
        values = _field_values(cached, name)
        missing = [v for v in wanted if v not in values]
        if not missing:
            continue
        what = "anomaly flag" if name == "anomalies" else name
        shown = ", ".join(map(str, values[:_VALUES_NAMED]))
        more = f" and {len(values) - _VALUES_NAMED} more" if len(values) > _VALUES_NAMED else ""
        known = f"the values: {shown}{more}" if values else f"no rootname has any {what}"
        out.append(f"{f.param}={f.text}: no rootname has {what} "
                   f"{', '.join(map(str, missing))}; {known}")
    return tuple(out)
