"""Footprint searches find exactly what brute force finds: at the wrap, the poles, everywhere.

Footprints (one or two rectangular chips, any orientation and size) sit across
RA 0/360, around and near both poles, and elsewhere. ``contains`` and
``overlaps`` through the query core must find exactly the rootnames that a
brute-force computation finds: astropy's SkyCoord for positions and
separations, a point-in-convex-spherical-polygon test by the signs of triple
products, and the distance to a footprint's edges by sampling each great-circle
edge densely. On the real server, the query is answered by the 2dsphere index
(explain).
"""

from __future__ import annotations

import copy
import functools
import random
import shutil
from pathlib import Path

import astropy
import astropy.units as u
import numpy as np
import pymongo
import pytest
from astropy.coordinates import SkyCoord
from command_log import CommandLog

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.connection import connect
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.ingest.headers import read_headers
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query import QueryError, QuerySpec, iter_rows, run
from acsq_mongo.query.sky_search import FOOTPRINT_INDEX
from acsq_mongo.sky.geometry import to_geojson

REAL_FLT = Path(astropy.__file__).parent / "wcs" / "tests" / "data" / "j94f05bgq_flt.fits"


def _rectangle(ra, dec, width, height, angle):
    """Corners of a rectangle (degrees) centred on a position, turned ``angle`` east of north."""
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    half = np.hypot(width, height) / 2
    corner = np.degrees(np.arctan2(width, height))
    pas = [angle + corner, angle + 180 - corner, angle + 180 + corner, angle - corner]
    points = [centre.directional_offset_by(pa * u.deg, half * u.deg) for pa in pas]
    return [[float(p.ra.deg), float(p.dec.deg)] for p in points]


# Footprint centres: straddling RA 0, around and near both poles, elsewhere.
CENTRES = [
    (0.0, 0.0), (359.95, -0.5), (0.05, 0.7), (359.999, 30.0),
    (0.0, 90.0), (200.0, 89.8), (45.0, 89.5), (10.0, -90.0), (300.0, -89.7), (100.0, -89.3),
    (180.0, 0.0), (90.0, 45.0), (250.0, -60.0),
]


def _documents(seed=11):
    """``(catalog document, rings)`` of each rootname (a fresh copy each call)."""
    return copy.deepcopy(_made_documents(seed))


@functools.cache
def _made_documents(seed):
    rng = random.Random(seed)
    docs = []
    for i in range(130):
        ra0, dec0 = CENTRES[i % len(CENTRES)]
        ra = (ra0 + rng.uniform(-0.3, 0.3)) % 360.0
        dec = max(-89.999, min(89.999, dec0 + rng.uniform(-0.3, 0.3)))
        size = rng.choice([0.003, 0.05, 0.3, 1.0])
        angle = rng.uniform(0, 360)
        rings = [_rectangle(ra, dec, size, size / 2, angle)]
        if i % 3 == 0:  # a second chip beside the first, as WFC's
            other = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(
                angle * u.deg, size * 0.6 * u.deg)
            rings.append(_rectangle(float(other.ra.deg), float(other.dec.deg), size, size / 2,
                                    angle))
        doc = {f.name: None for f in PROMOTED_FIELDS}
        doc.update(_id=f"jsky{i:04d}", rootname=f"jsky{i:04d}q", ra_targ=ra, dec_targ=dec,
                   detector=("WFC", "HRC")[i % 2], filetypes=["flt"], path=f"jsky/jsky{i:04d}q",
                   footprint=to_geojson(rings))
        docs.append((doc, rings))
    # Two with no footprint at all: never found.
    for i in (998, 999):
        doc = {f.name: None for f in PROMOTED_FIELDS}
        doc.update(_id=f"jsky{i:04d}", rootname=f"jsky{i:04d}q", ra_targ=0.0, dec_targ=0.0)
        docs.append((doc, []))
    return docs


def _vectors(ring):
    return _ring_vectors(tuple(tuple(p) for p in ring))


@functools.cache
def _ring_vectors(ring: tuple) -> np.ndarray:
    coords = SkyCoord([p[0] for p in ring] * u.deg, [p[1] for p in ring] * u.deg)
    return coords.cartesian.xyz.value.T


@functools.cache
def _point(ra: float, dec: float) -> np.ndarray:
    return SkyCoord(ra * u.deg, dec * u.deg).cartesian.xyz.value


def _inside(ring, ra, dec) -> bool:
    """Brute force: a point is inside a convex spherical polygon if it is on the same side of
    every edge's great circle (the sign of the triple product), in the polygon's hemisphere."""
    v = _vectors(ring)
    p = _point(ra, dec)
    if np.dot(v.sum(axis=0), p) <= 0:  # the antipodal polygon has the same signs
        return False
    signs = [np.dot(np.cross(v[k], v[(k + 1) % len(v)]), p) for k in range(len(v))]
    return all(s > 0 for s in signs) or all(s < 0 for s in signs)


_T = np.linspace(0.0, 1.0, 3000)[:, None]


@functools.cache
def _edge_points(rings_key: tuple) -> np.ndarray:
    """Unit vectors of points every ~1/3000 of each edge (great-circle interpolation)."""
    out = []
    for ring in rings_key:
        v = _vectors(ring)
        for k in range(len(v)):
            a, b = v[k], v[(k + 1) % len(v)]
            omega = np.arccos(np.clip(np.dot(a, b), -1, 1))
            out.append((np.sin((1 - _T) * omega) * a + np.sin(_T * omega) * b) / np.sin(omega))
    return np.concatenate(out)


def _distance(rings, ra, dec) -> float:
    """Brute force: 0 inside, else the least separation to points sampled along every edge."""
    if any(_inside(r, ra, dec) for r in rings):
        return 0.0
    p = _point(ra, dec)
    along = _edge_points(tuple(tuple(map(tuple, r)) for r in rings))
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(along, p), axis=1),
                                       along @ p)).min())


def _found(db, params) -> list[str]:
    spec = QuerySpec.parse({**params, "columns": "rootname"})
    return [row["rootname"] for row in iter_rows(db, spec)]


@pytest.fixture
def sky_db(real_db):
    # The real server only: a footprint search is $geoIntersects, which mongomock lacks.
    db = real_db
    ensure_indexes(db)
    docs = _documents()
    db[CATALOG].insert_many([dict(d) for d, _ in docs])
    return db, docs


def _points(docs):
    """Positions to search: footprint centres, points just beside them, RA 0 and 360, poles."""
    rng = random.Random(3)
    points = [(0.0, 0.0), (360.0, 0.0), (0.0, 90.0), (123.0, 90.0), (0.0, -90.0), (359.9999, 0.3),
              (0.0001, -0.4), (45.0, 89.5)]
    for doc, rings in docs[:60:4]:
        if rings:
            ring = rings[0]
            points.append((ring[0][0], ring[0][1]))  # a corner
            points.append(((doc["ra_targ"] + rng.uniform(-0.2, 0.2)) % 360,
                           max(-90, min(90, doc["dec_targ"] + rng.uniform(-0.2, 0.2)))))
    return points


def test_contains_finds_what_brute_force_finds(sky_db):
    db, docs = sky_db
    checked = 0
    for ra, dec in _points(docs):
        expected = {d["rootname"] for d, rings in docs if any(_inside(r, ra, dec) for r in rings)}
        found = _found(db, {"contains": f"{ra!r},{dec!r}"})
        # A corner lies on two edges: either answer is right there.
        on_corner = {d["rootname"] for d, rings in docs
                     if any([ra, dec] in ring for ring in rings)}
        assert set(found) - on_corner == expected - on_corner, (ra, dec)
        assert len(found) == len(set(found))
        checked += bool(expected - on_corner)
    assert checked >= 15  # most positions are inside some footprint


@pytest.mark.parametrize("radius", [0.001, 0.4, 2.0])
def test_overlaps_finds_what_brute_force_finds(sky_db, radius):
    db, docs = sky_db
    tolerance = 1e-6  # what sampling the edges can overestimate a distance by, and more
    non_empty = 0
    for ra, dec in _points(docs)[::3]:
        distances = {d["rootname"]: _distance(rings, ra, dec) for d, rings in docs if rings}
        found = set(_found(db, {"overlaps": f"{ra!r},{dec!r},{radius}deg"}))
        sure = {r for r, dist in distances.items() if dist <= radius - tolerance}
        possible = {r for r, dist in distances.items() if dist <= radius + tolerance}
        assert sure <= found <= possible, (ra, dec, radius)
        non_empty += bool(found)
    assert non_empty >= 7


def test_sort_by_distance_puts_the_nearest_footprint_first(sky_db, real_settings):
    settings = real_settings
    db, docs = sky_db
    ra, dec = 0.0, 0.2
    spec = QuerySpec.parse({"overlaps": f"{ra},{dec},1.5", "sort": "distance",
                            "columns": "rootname", "limit": "7"})
    result = run(db, spec, settings)
    rings = {d["rootname"]: r for d, r in docs}
    all_rows = _found(db, {"overlaps": f"{ra},{dec},1.5", "sort": "distance"})
    assert [r["rootname"] for r in result.rows] == all_rows[:7] and result.count == len(all_rows)

    def centre_distance(rootname):
        xyz = np.concatenate([_vectors(r) for r in rings[rootname]]).sum(axis=0)
        centre = SkyCoord(x=xyz[0], y=xyz[1], z=xyz[2], representation_type="cartesian")
        return float(SkyCoord(ra * u.deg, dec * u.deg).separation(centre).deg)

    distances = [centre_distance(r) for r in all_rows]
    assert len(all_rows) > 10 and distances == sorted(distances)
    descending = _found(db, {"overlaps": f"{ra},{dec},1.5", "sort": "-distance"})
    assert [centre_distance(r) for r in descending] == sorted(distances, reverse=True)
    # The next page continues where the first ended.
    second = run(db, spec.replace(offset=7), settings)
    assert [r["rootname"] for r in second.rows] == all_rows[7:14]


def test_a_footprint_search_with_other_filters_counts_the_exact_set(sky_db, real_settings):
    settings = real_settings
    db, docs = sky_db
    params = {"overlaps": "0,0,1", "detector": "WFC", "columns": "rootname", "limit": "2"}
    expected = {d["rootname"] for d, rings in docs
                if rings and d["detector"] == "WFC" and _distance(rings, 0.0, 0.0) <= 1.0}
    result = run(db, QuerySpec.parse(params), settings)
    assert expected and result.count == len(expected)
    assert dict(result.facets["detector"]) == {"WFC": len(expected)}


@pytest.mark.realdb
def test_each_footprint_search_is_answered_by_the_2dsphere_index(real_db):
    ensure_indexes(real_db)
    real_db[CATALOG].insert_many([dict(d) for d, _ in _documents()])
    log = CommandLog()
    client = pymongo.MongoClient(real_db.client.address and
                                 f"mongodb://{real_db.client.address[0]}:"
                                 f"{real_db.client.address[1]}", event_listeners=[log])
    try:
        watched = client[real_db.name]
        for params in ({"contains": "0,0"}, {"overlaps": "0,89.9,0.5", "detector": "WFC"},
                       {"overlaps": "00:00:00 -89:50:00,30arcmin", "sort": "distance"}):
            assert _found(watched, params)
    finally:
        client.close()
    searches = [s for s in log.seen if s.name == "find" and "footprint" in str(s.filter)]
    assert len(searches) == 3
    for sent in searches:
        reply = real_db.command("explain", sent.command, verbosity="queryPlanner")
        plan = reply["queryPlanner"]["winningPlan"]
        stages = []
        while plan:
            stages.append((plan["stage"], plan.get("indexName")))
            plan = plan.get("inputStage")
        assert ("IXSCAN", FOOTPRINT_INDEX) in stages, stages
        assert "COLLSCAN" not in [s for s, _ in stages]


@pytest.mark.realdb
def test_the_real_flt_is_found_at_its_own_crval(real_settings, tmp_path):
    archive = tmp_path / "archive"
    (archive / "j94f" / "j94f05bgq").mkdir(parents=True)
    shutil.copy2(REAL_FLT, archive / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits")
    assert run_ingest(real_settings, archive, quicklook=False).ok
    db = connect(real_settings)
    headers = read_headers(REAL_FLT).headers
    for ext in ("1", "4"):  # each chip's own reference point
        crval = SkyCoord(headers[ext]["CRVAL1"] * u.deg, headers[ext]["CRVAL2"] * u.deg)
        text = crval.to_string("hmsdms", sep=":", precision=3)
        assert _found(db, {"contains": text}) == ["j94f05bgq"]
    # 10 arcmin away: no image covers it, but a 10-arcmin cone reaches it.
    far = f"{headers['1']['CRVAL1']},{headers['1']['CRVAL2'] + 10 / 60}"
    assert _found(db, {"contains": far}) == []
    assert _found(db, {"overlaps": far + ",10arcmin"}) == ["j94f05bgq"]


@pytest.mark.parametrize(("params", "message"), [
    ({"contains": "12.5"}, "cannot read the position '12.5'"),
    ({"contains": "10,95"}, "cannot read the position"),
    ({"overlaps": "10,20"}, "cannot read the position '10'"),
    ({"overlaps": "10,20,5parsec"}, "a radius is an angle"),
    ({"overlaps": "10,20,100"}, "at most 80 degrees"),
    ({"contains": "1,2", "overlaps": "1,2,3"}, "one search around a position per query"),
    ({"sort": "distance"}, "sort=distance needs a position"),
])
def test_bad_sky_searches_are_one_line_errors(params, message):
    with pytest.raises(QueryError, match=message) as caught:
        QuerySpec.parse(params)
    assert "\n" not in str(caught.value)
