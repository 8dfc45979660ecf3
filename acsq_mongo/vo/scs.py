"""Simple Cone Search 1.03: ``RA``, ``DEC``, ``SR`` (degrees) and ``VERB``, through the query core.

The cone is the query core's own (:class:`~acsq_mongo.query.cone.Cone`, on
the target position RA_TARG/DEC_TARG); the answer is a VOTable 1.1 whose
rootname, RA and Dec columns carry the UCD1 words the standard requires
(``ID_MAIN``, ``POS_EQ_RA_MAIN``, ``POS_EQ_DEC_MAIN``). Version 1.1, because
SCS 1.03 asks for those UCD1 words, which the UCD1+ vocabulary of later
VOTable versions does not have, and because SCS clients of its time read
1.1. Every other column has its UCD1+ UCD. VOTable 1.1 has no ``xtype``, so
``date_obs`` is only text there: the exposure start also comes as
``expstart``, an MJD (a double, unit ``d``, UCD ``time.start;obs.exposure``),
a time that a 1.1 client such as TOPCAT reads as one.

``VERB`` chooses the columns: 1 those three, 2 (the default) the standard
columns and ``expstart``, 3 every promoted field. ``SR=0`` answers the
columns and no rows. More matches than the ``max_rows`` setting is an error
that says so, not a silently cut table. Names are read in any case (``ra=``
as ``RA=``); each at most once (``RA=1&RA=2`` is an error naming ``RA``).
Parameters of no standard are ignored, as the standard says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from astropy.table import Table

from acsq_mongo.fields import PROMOTED_FIELDS, STANDARD_COLUMNS
from acsq_mongo.formats.table import rows_to_table
from acsq_mongo.formats.votable import votable_bytes
from acsq_mongo.query import core
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.spec import QuerySpec

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache
    from acsq_mongo.settings import Settings

__all__ = ["VERB_COLUMNS", "REQUIRED_UCDS", "parse_scs", "scs_table", "scs_votable"]

_MAIN = ("rootname", "ra_targ", "dec_targ")
#: The columns of each VERB.
VERB_COLUMNS: dict[int, tuple[str, ...]] = {
    1: _MAIN,
    2: _MAIN + tuple(c for c in STANDARD_COLUMNS if c not in _MAIN) + ("expstart",),
    3: _MAIN + tuple(f.name for f in PROMOTED_FIELDS if f.name not in _MAIN),
}
_PARAMS = ("RA", "DEC", "SR", "VERB")
#: The UCD1 words SCS 1.03 requires, by column.
REQUIRED_UCDS = {"rootname": "ID_MAIN", "ra_targ": "POS_EQ_RA_MAIN",
                 "dec_targ": "POS_EQ_DEC_MAIN"}


def _number(name: str, value: str | None) -> float:
    if value is None or not value.strip():
        raise QueryError(f"{name} is required: a cone search takes RA, DEC and SR in degrees")
    try:
        number = float(value)
    except ValueError:
        raise QueryError(f"{name} must be a number of degrees, got {value[:30]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise QueryError(f"{name} must be a finite number of degrees, got {value[:30]!r}")
    return number


def parse_scs(pairs: Iterable[tuple[str, Any]]) -> tuple[float, float, float, int]:
    """Return ``(ra, dec, sr, verb)`` from a request's parameters.

    Raises
    ------
    QueryError
        If RA, DEC or SR is missing or out of range (RA 0 to 360, DEC -90 to 90,
        SR 0 to 180), VERB is not 1, 2 or 3, or one of them is given twice.
    """
    given: dict[str, str] = {}
    for name, value in pairs:
        key = str(name).upper()
        if key in given and key in _PARAMS:
            raise QueryError(f"{key} is given more than once; a cone search takes one each of "
                             "RA, DEC, SR and VERB")
        given[key] = str(value)
    ra, dec, sr = (_number(n, given.get(n)) for n in ("RA", "DEC", "SR"))
    if not 0.0 <= ra <= 360.0:
        raise QueryError(f"RA must be from 0 to 360 degrees, got {ra:g}")
    if not -90.0 <= dec <= 90.0:
        raise QueryError(f"DEC must be from -90 to 90 degrees, got {dec:g}")
    if not 0.0 <= sr <= 180.0:
        raise QueryError(f"SR must be from 0 to 180 degrees, got {sr:g}")
    verb_text = given.get("VERB", "").strip() or "2"
    if verb_text not in ("1", "2", "3"):
        raise QueryError(f"VERB must be 1, 2 or 3, got {verb_text[:10]!r}")
    return ra, dec, sr, int(verb_text)


def scs_table(db: Database, settings: Settings, ra: float, dec: float, sr: float, verb: int,
              cache: ResultCache | None = None) -> Table:
    """Return the rootnames whose target lies within ``sr`` degrees of (``ra``, ``dec``).

    Raises
    ------
    QueryError
        If more than ``settings.max_rows`` match.
    """
    columns = ",".join(VERB_COLUMNS[verb])
    if sr == 0.0:
        spec = QuerySpec.parse([("columns", columns)])
        return rows_to_table(spec.columns, [])
    spec = QuerySpec.parse([("ra", ra), ("dec", dec), ("radius", sr), ("columns", columns)])
    matches = core.count(db, spec, cache)
    if matches > settings.max_rows:
        raise QueryError(f"{matches} rootnames lie in this cone, over the {settings.max_rows} "
                         "one answer may hold (ACSQ_MAX_ROWS); use a smaller SR")
    return rows_to_table(spec.columns, core.iter_rows(db, spec, cache))


def scs_votable(table: Table) -> bytes:
    """Return a cone search answer: VOTable 1.1 with the UCD1 words of SCS 1.03."""
    for name, ucd in REQUIRED_UCDS.items():
        table[name].info.meta = {**(table[name].info.meta or {}), "ucd": ucd}
    table.meta["description"] = "ACS rootnames whose target position lies in the cone"
    return votable_bytes(table, version="1.1")
