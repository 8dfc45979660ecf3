"""SIA regions against image footprints: exact on the sphere, with no vertex inside needed."""

from __future__ import annotations

import pytest

from acsq_mongo.sky.geometry import unit_vectors
from acsq_mongo.vo.region_overlap import arcs_cross, footprint_meets
from acsq_mongo.vo.regions import Circle, Polygon, Range

# A thin footprint lying east-west across RA 0 at Dec 10, and one near the north pole.
WIDE = [[359.0, 9.9], [1.0, 9.9], [1.0, 10.1], [359.0, 10.1]]
POLAR = [[0.0, 88.0], [90.0, 88.0], [180.0, 88.0], [270.0, 88.0]]


@pytest.mark.parametrize("region, meets", [
    (Circle(0.0, 10.0, 0.01), True),                                  # inside the footprint
    (Circle(0.0, 10.5, 0.39), False),                                 # 0.4 deg north of it
    (Polygon(((359.9, 9.0), (0.1, 9.0), (0.0, 11.0))), True),         # edges cross, no vertex in
    (Polygon(((2.0, 9.0), (3.0, 9.0), (2.5, 11.0))), False),
    (Polygon(((358.0, 9.0), (2.0, 9.0), (2.0, 11.0), (358.0, 11.0))), True),   # holds it
    (Range(359.95, 360.0, 9.0, 11.0), True),                          # a meridian strip across
    (Range(0.0, 0.05, 9.0, 11.0), True),
    (Range(0.0, 360.0, 10.0, 10.05), True),                           # a band: parallels cross
    (Range(0.0, 360.0, 10.2, 20.0), False),
    (Range(100.0, 120.0, 9.0, 11.0), False),
])
def test_a_footprint_meets_a_region_even_when_no_corner_is_inside(region, meets):
    assert footprint_meets(region, [WIDE]) is meets


def test_a_footprint_around_the_pole_meets_a_cap_inside_it():
    assert footprint_meets(Range(None, None, 89.0, None), [POLAR])
    assert footprint_meets(Range(10.0, 20.0, 88.5, 89.0), [POLAR])
    assert not footprint_meets(Range(10.0, 20.0, 80.0, 87.0), [POLAR])


def test_arcs_cross_only_where_both_arcs_are():
    a, b = unit_vectors(0.0, 0.0), unit_vectors(10.0, 0.0)
    assert arcs_cross(a, b, unit_vectors(5.0, -1.0), unit_vectors(5.0, 1.0))
    assert not arcs_cross(a, b, unit_vectors(15.0, -1.0), unit_vectors(15.0, 1.0))
    assert not arcs_cross(a, b, unit_vectors(5.0, 1.0), unit_vectors(5.0, 2.0))
