"""Simple Image Access v2 queries: the SIA parameters, translated into query-core specs.

Parameters (names in any case; a parameter given more than once is ORed, as
the standard says; different parameters are ANDed):

- ``POS``: ``CIRCLE``, ``RANGE`` or ``POLYGON`` (:mod:`.regions`): the images
  whose footprint meets the region (:mod:`.region_overlap`); an image without
  a footprint (no usable WCS) by its target position (RA_TARG, DEC_TARG);
- ``BAND``: ``low high`` wavelengths in metres (or one value), met by the
  image's filter band (:mod:`.passbands`);
- ``TIME``: ``low high`` MJD, met by the exposure, EXPSTART to EXPSTART + EXPTIME;
- ``EXPTIME``: ``low high`` seconds, holding EXPTIME;
- ``COLLECTION`` (``HST``), ``FACILITY`` (``HST``), ``INSTRUMENT`` (``ACS``, ``ACS/WFC``,
  ``ACS/HRC``, ``ACS/SBC``), ``DPTYPE`` (``image``), ``CALIB`` (1, 2, 3),
  ``TARGET`` (TARGNAME), ``FORMAT`` (``application/fits``): exact values;
- ``MAXREC``: the most rows (default and cap: the ``max_rows`` setting); 0 gives
  the columns only. More matches than that answer ``QUERY_STATUS`` ``OVERFLOW``.

Each combination of the ORed choices that the core can select by index (a
footprint search ``overlaps`` of the region's bounding cone, or for rootnames
without a footprint a cone or RA/Dec ranges; the detector, target names,
exposure times, filter names, a window of EXPSTART) is one core spec; the rows of all are merged by
rootname and tested exactly here. Other standard parameters (``POL``,
``FOV``, ``SPATRES``, ``SPECRP``, ``TIMERES``, ``ID``) are refused with a
message; parameters of no standard are ignored (DALI 1.1).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from acsq_mongo.query import core
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.passbands import filters_in_band, image_passband
from acsq_mongo.query.sky_search import MAX_OVERLAP_RADIUS
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.sky.geometry import from_geojson
from acsq_mongo.vo.obscore import (
    ACCESS_FORMAT,
    CALIB_LEVELS,
    COLLECTION,
    FACILITY,
    SOURCE_COLUMNS,
    product_rows,
)
from acsq_mongo.vo.region_overlap import footprint_meets
from acsq_mongo.vo.regions import Region, parse_pos

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.query.cache import ResultCache
    from acsq_mongo.settings import Settings

__all__ = ["SiaQuery", "parse_sia", "run_sia", "SUPPORTED", "UNSUPPORTED"]

SUPPORTED = ("POS", "BAND", "TIME", "EXPTIME", "COLLECTION", "FACILITY", "INSTRUMENT",
             "DPTYPE", "CALIB", "TARGET", "FORMAT", "MAXREC", "RESPONSEFORMAT")
UNSUPPORTED = ("POL", "FOV", "SPATRES", "SPECRP", "TIMERES", "ID")
_DETECTORS = {"ACS/WFC": "WFC", "ACS/HRC": "HRC", "ACS/SBC": "SBC"}
_VOTABLE_FORMATS = ("", "votable", "application/x-votable+xml", "text/xml",
                    "application/x-votable+xml;serialization=tabledata")
# Most core queries one SIA query may become (a product of its ORed choices).
_MAX_COMBINATIONS = 64
# A TIME window starts a day early in the core (no ACS exposure is longer), exact here.
_TIME_MARGIN = 1.0


def _interval(name: str, text: str) -> tuple[float, float]:
    words = str(text).split()
    if len(words) not in (1, 2):
        raise QueryError(f"{name} takes one value or two (low high), got {text[:40]!r}")
    try:
        values = [float(w) for w in words]
    except ValueError:
        raise QueryError(f"{name} takes numbers (-Inf and +Inf for open ends), got "
                         f"{text[:40]!r}") from None
    low, high = values[0], values[-1]
    if math.isnan(low) or math.isnan(high) or low > high:
        raise QueryError(f"{name}: the low value comes first, and neither is NaN: {text[:40]!r}")
    return low, high


@dataclass
class SiaQuery:
    """A parsed SIA v2 query (see the module docstring); empty lists mean "any"."""

    regions: list[Region] = field(default_factory=list)
    bands: list[tuple[float, float]] = field(default_factory=list)
    times: list[tuple[float, float]] = field(default_factory=list)
    exptimes: list[tuple[float, float]] = field(default_factory=list)
    detectors: set[str] | None = None
    targets: set[str] = field(default_factory=set)
    calib: set[int] = field(default_factory=set)
    matches_nothing: bool = False
    maxrec: int | None = None


def _exact(values: list[str], allowed: Iterable[str]) -> bool:
    return any(v.strip().lower() in {a.lower() for a in allowed} for v in values)


def parse_sia(pairs: Iterable[tuple[str, Any]]) -> SiaQuery:
    """Parse SIA v2 parameters (``(name, value)`` pairs, e.g. a URL's) into a :class:`SiaQuery`.

    Raises
    ------
    QueryError
        On a bad value, or a standard parameter this service does not offer.
    """
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(str(name).upper(), []).append(str(value))
    for name in UNSUPPORTED:
        if name in given:
            raise QueryError(f"{name} is not supported by this service; it takes "
                             + ", ".join(SUPPORTED[:-1]))
    query = SiaQuery()
    query.regions = [parse_pos(v) for v in given.get("POS", [])]
    query.bands = [_interval("BAND", v) for v in given.get("BAND", [])]
    query.times = [_interval("TIME", v) for v in given.get("TIME", [])]
    query.exptimes = [_interval("EXPTIME", v) for v in given.get("EXPTIME", [])]
    if "INSTRUMENT" in given:
        wanted = {v.strip().upper() for v in given["INSTRUMENT"]}
        query.detectors = ({"WFC", "HRC", "SBC"} if "ACS" in wanted
                           else {_DETECTORS[w] for w in wanted if w in _DETECTORS})
    query.targets = {v.strip().upper() for v in given.get("TARGET", [])}
    for value in given.get("CALIB", []):
        if value.strip() not in ("0", "1", "2", "3", "4"):
            raise QueryError(f"CALIB is a calibration level, 0 to 4; got {value[:20]!r}")
        query.calib.add(int(value))
    checks = (("COLLECTION", (COLLECTION,)), ("FACILITY", (FACILITY,)), ("DPTYPE", ("image",)),
              ("FORMAT", (ACCESS_FORMAT,)))
    for name, allowed in checks:
        if name in given and not _exact(given[name], allowed):
            query.matches_nothing = True
    if query.detectors is not None and not query.detectors:
        query.matches_nothing = True
    if query.calib and not query.calib & set(CALIB_LEVELS.values()):
        query.matches_nothing = True
    for value in given.get("RESPONSEFORMAT", []):
        if value.strip().lower() not in _VOTABLE_FORMATS:
            raise QueryError(f"RESPONSEFORMAT {value[:40]!r} is not offered; this service "
                             "answers VOTable (application/x-votable+xml)")
    if "MAXREC" in given:
        text = given["MAXREC"][-1].strip()
        if not text.isdigit():
            raise QueryError(f"MAXREC takes a whole number, 0 or more; got {text[:20]!r}")
        query.maxrec = int(text)
    return query


def _core_choices(query: SiaQuery) -> list[list[tuple[str, Any]]]:
    """The ORed choices of core parameters, one list per ORed SIA parameter."""
    groups: list[list[list[tuple[str, Any]]]] = []
    if query.regions:
        groups.append([choice for region in query.regions for choice in _region_choices(region)])
    if query.bands:
        names = sorted({n for low, high in query.bands for n in filters_in_band(low, high)})
        if not names:
            return []
        groups.append([[("filter1__in", names)], [("filter2__in", names)]])
    if query.times:
        groups.append([_window("expstart", low - _TIME_MARGIN, high)
                       for low, high in query.times])
    if query.exptimes:
        groups.append([_window("exptime", low, high) for low, high in query.exptimes])
    fixed: list[tuple[str, Any]] = []
    if query.detectors is not None:
        fixed.append(("detector__in", sorted(query.detectors)))
    if query.targets:
        fixed.append(("targname__in", sorted(query.targets)))
    combinations = list(itertools.islice(itertools.product(*groups), _MAX_COMBINATIONS + 1))
    if len(combinations) > _MAX_COMBINATIONS:
        raise QueryError(f"this query ORs more than {_MAX_COMBINATIONS} combinations of "
                         "POS, BAND, TIME and EXPTIME values; split it")
    return [fixed + [pair for choice in combo for pair in choice] for combo in combinations]


def _region_choices(region: Region) -> list[list[tuple[str, Any]]]:
    """A region's two core queries: footprints that meet its bounding cone (indexed), and
    rootnames without a footprint whose target position is inside."""
    cone = region.bounding_cone()
    if cone is not None and cone.radius <= MAX_OVERLAP_RADIUS:
        by_footprint = [("overlaps", f"{cone.ra!r},{cone.dec!r},{cone.radius!r}")]
    else:
        by_footprint = [("footprint__exists", True)]   # too wide for one polygon: every one
    return [by_footprint, [*region.core_params(), ("footprint__exists", False)]]


def _in_region(region: Region, row: dict[str, Any]) -> bool:
    """The exact test: the footprint meets the region; without one, the target is inside."""
    footprint = row.get("footprint")
    if isinstance(footprint, dict):
        return footprint_meets(region, from_geojson(footprint))
    ra, dec = row.get("ra_targ"), row.get("dec_targ")
    return ra is not None and dec is not None and bool(np.all(region.contains(ra, dec)))


def _window(name: str, low: float, high: float) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    if math.isfinite(low):
        pairs.append((f"{name}__gte", low))
    if math.isfinite(high):
        pairs.append((f"{name}__lte", high))
    return pairs or [(f"{name}__exists", True)]


def _meets(row: dict[str, Any], query: SiaQuery) -> bool:
    """The exact test of one rootname's row against every ORed choice."""
    if query.regions and not any(_in_region(region, row) for region in query.regions):
        return False
    if query.bands:
        band = image_passband(row.get("detector"), row.get("filter1"), row.get("filter2"))
        if band is None or not any(band.overlaps(low, high) for low, high in query.bands):
            return False
    exptime, start = row.get("exptime"), row.get("expstart")
    if query.times:
        if start is None:
            return False
        end = start + (exptime or 0.0) / 86400.0
        if not any(start <= high and end >= low for low, high in query.times):
            return False
    if query.exptimes and (exptime is None or not any(
            low <= exptime <= high for low, high in query.exptimes)):
        return False
    return True


def _matching_rootnames(db: Database, query: SiaQuery, cache: ResultCache | None
                        ) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    for pairs in _core_choices(query):
        spec = QuerySpec.parse(pairs + [("columns", ",".join(SOURCE_COLUMNS)),
                                        ("sort", "date_obs")])
        for row in core.iter_rows(db, spec, cache):
            if row["rootname"] in seen or not _meets(row, query):
                continue
            seen.add(row["rootname"])
            yield row


def run_sia(
    db: Database,
    settings: Settings,
    query: SiaQuery,
    file_url: Callable[[str, str], str],
    preview_url: Callable[[str], str],
    cache: ResultCache | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Return the ObsCore rows of a SIA query, and whether MAXREC cut them (overflow).

    The limit is MAXREC, at most ``settings.max_rows`` (also the default).
    """
    limit = settings.max_rows if query.maxrec is None else min(query.maxrec, settings.max_rows)
    if query.matches_nothing or limit == 0:
        return [], False
    rows: list[dict[str, Any]] = []
    for source in _matching_rootnames(db, query, cache):
        for product in product_rows(source, file_url, preview_url):
            if query.calib and product["calib_level"] not in query.calib:
                continue
            if len(rows) == limit:
                return rows, True
            rows.append(product)
    return rows, False
