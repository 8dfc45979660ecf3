"""Cone search: the bounding box plus the exact test find what brute force finds.

Targets sit near RA 0/360, near both poles and elsewhere; cones across the
wrap, around the poles and of many sizes must find exactly the rootnames
whose great-circle distance (astropy's own computation) is within the radius.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from astropy.coordinates import angular_separation as astropy_separation
from query_documents import load, make_documents

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.query import QueryError, QuerySpec, iter_rows, run
from acsq_mongo.query.cone import Cone
from acsq_mongo.sky.geometry import separation


def _brute_force(docs, ra, dec, radius, keep=lambda d: True):
    found = set()
    for doc in docs:
        if doc["ra_targ"] is None or not keep(doc):
            continue
        sep = np.degrees(astropy_separation(*np.radians([ra, dec, doc["ra_targ"],
                                                          doc["dec_targ"]])))
        if sep <= radius:
            found.add(doc["rootname"])
    return found


def _sky_documents(n=300, seed=5):
    """Documents with positions all over the sky, crowded at the wrap and the poles."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            ra, dec = rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, 1)))
        elif kind == 1:
            ra, dec = rng.choice([rng.uniform(359, 360), rng.uniform(0, 1)]), rng.uniform(-3, 3)
        elif kind == 2:
            ra, dec = rng.uniform(0, 360), rng.uniform(87, 90)
        else:
            ra, dec = rng.uniform(0, 360), rng.uniform(-90, -87)
        doc = {f.name: None for f in PROMOTED_FIELDS}
        doc.update(_id=f"jsky{i:04d}", rootname=f"jsky{i:04d}q", ra_targ=ra % 360.0, dec_targ=dec,
                   detector=("WFC", "HRC")[i % 2], filetypes=["flt"], path=f"jsky/jsky{i:04d}q")
        docs.append(doc)
    return docs


CONES = [
    (0.0, 0.0, 1.5),        # across the wrap, on the equator
    (359.7, 1.0, 0.6),      # just west of the wrap
    (0.2, -2.0, 2.0),       # just east of it
    (180.0, 89.0, 1.5),     # contains the north pole
    (10.0, 88.6, 1.0),      # near the pole, not containing it: RA range is wide
    (300.0, -89.9, 0.3),    # small, at the south pole
    (45.0, -88.0, 2.0),     # reaches the south pole exactly
    (123.0, 30.0, 40.0),    # a large cap
    (10.0, 0.0, 180.0),     # the whole sky
]


@pytest.mark.parametrize(("ra", "dec", "radius"), CONES)
def test_cone_finds_what_brute_force_finds(db, ra, dec, radius):
    docs = _sky_documents()
    db[CATALOG].insert_many([dict(d) for d in docs])
    spec = QuerySpec.parse({"ra": ra, "dec": dec, "radius": radius, "columns": "rootname"})
    found = {row["rootname"] for row in iter_rows(db, spec)}
    expected = _brute_force(docs, ra, dec, radius)
    assert expected, "each cone should hold some targets"
    assert found == expected


def test_the_box_never_drops_a_target_of_the_cone():
    rng = np.random.default_rng(7)
    ra = rng.uniform(0, 360, 20000)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 20000)))
    for _ in range(200):
        cone = Cone(float(rng.uniform(0, 360)), float(rng.uniform(-90, 90)),
                    float(rng.uniform(0.01, 30)))
        inside = cone.contains(ra, dec)
        ranges = cone.ra_ranges()
        in_box = (dec >= cone.dec - cone.radius - 1e-9) & (dec <= cone.dec + cone.radius + 1e-9)
        if ranges is not None:
            in_ra = np.zeros_like(in_box)
            for low, high in ranges:
                in_ra |= (ra >= low) & (ra <= high)
            in_box &= in_ra
        assert not np.any(inside & ~in_box), cone


def test_separation_in_degrees_at_known_angles():
    # sky.geometry.separation is astropy's angular_separation in degrees: checked on
    # angles known by construction (antipodes, a pole, a tiny step, a right angle).
    assert separation(0.0, 0.0, 180.0, 0.0) == pytest.approx(180.0)
    assert separation(17.0, 90.0, 123.0, 90.0) == pytest.approx(0.0, abs=1e-12)
    assert separation(10.0, 0.0, 10.0 + 1e-9, 0.0) == pytest.approx(1e-9, rel=1e-6)
    assert separation(0.0, 0.0, 0.0, 90.0) == pytest.approx(90.0)
    assert separation(359.5, 0.0, 0.5, 0.0) == pytest.approx(1.0)


def test_count_facets_and_pages_are_those_of_the_exact_set(db, settings):
    docs = make_documents(60)
    load(db, docs)
    pairs = {"ra": "0.0", "dec": "1.0", "radius": "0.5", "detector__in": "WFC,HRC"}
    keep = lambda d: d["detector"] in ("WFC", "HRC")  # noqa: E731
    expected = _brute_force(docs, 0.0, 1.0, 0.5, keep)
    assert expected
    result = run(db, QuerySpec.parse({**pairs, "limit": "3", "columns": "rootname"}),
                 settings)
    assert result.count == len(expected)
    assert sum(n for _, n in result.facets["detector"]) == len(expected)
    rows = []
    offset = 0
    while True:
        page = run(db, QuerySpec.parse({**pairs, "limit": "3", "offset": str(offset),
                                        "columns": "rootname"}), settings)
        rows += [r["rootname"] for r in page.rows]
        if page.next_offset is None:
            break
        offset = page.next_offset
    assert sorted(rows) == sorted(expected) and len(rows) == len(set(rows))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ra": "10", "dec": "20"}, "needs ra, dec and radius (degrees); missing: radius"),
        ({"ra": "400", "dec": "0", "radius": "1"}, "ra must be from 0 to 360"),
        ({"ra": "10", "dec": "-91", "radius": "1"}, "dec must be from -90 to 90"),
        ({"ra": "10", "dec": "0", "radius": "0"}, "radius must be above 0"),
        ({"ra": "ten", "dec": "0", "radius": "1"}, "ra takes a number"),
    ],
)
def test_bad_cone_parameters_are_clear_errors(params, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        QuerySpec.parse(params)


def test_a_cone_with_a_header_filter_finds_what_brute_force_finds(db):
    docs = make_documents(60)
    load(db, docs)
    gain = lambda d: d["headers"]["flt"]["0"]["CCDGAIN"] >= 2  # noqa: E731
    expected = _brute_force(docs, 0.0, 1.0, 1.0, gain)
    spec = QuerySpec.parse({"ra": "0", "dec": "1", "radius": "1", "columns": "rootname",
                            "headers.flt.0.CCDGAIN__gte": "2"})
    assert expected and expected != _brute_force(docs, 0.0, 1.0, 1.0)
    assert {r["rootname"] for r in iter_rows(db, spec)} == expected
    empty = QuerySpec.parse({"ra": "90", "dec": "-30", "radius": "0.01",
                             "headers.flt.0.CCDGAIN__gte": "2"})
    assert list(iter_rows(db, empty)) == []
