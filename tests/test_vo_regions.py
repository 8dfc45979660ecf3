"""The VO protocols' sky regions and filter bands, checked against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.passbands import active_filter, filters_in_band, image_passband
from acsq_mongo.vo.regions import Circle, Polygon, Range, parse_pos


def _vectors(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], -1)


def _inside_convex(vertices, ra, dec):
    """Brute force for a convex polygon: on the inner side of every great-circle edge."""
    v = _vectors(*np.array(vertices).T)
    p = _vectors(ra, dec)
    sides = np.stack([np.einsum("ij,j->i", p, np.cross(v[i], v[(i + 1) % len(v)]))
                      for i in range(len(v))])
    return (sides > 0).all(axis=0) | (sides < 0).all(axis=0)


@pytest.mark.parametrize("vertices", [
    ((359.0, -1.0), (1.5, -1.0), (1.0, 1.2), (359.5, 1.0)),       # straddles RA 0
    ((0.0, 85.0), (90.0, 85.0), (180.0, 85.0), (270.0, 85.0)),    # holds the north pole
    ((10.0, -88.0), (130.0, -88.0), (250.0, -88.0)),              # holds the south pole
    ((150.0, 20.0), (152.0, 21.0), (150.5, 23.0)),                # an ordinary triangle
])
def test_polygon_contains_agrees_with_a_brute_force_test(vertices):
    rng = np.random.default_rng(5)
    polygon = Polygon(vertices)
    cone = polygon.bounding_cone()
    # Points scattered over the bounding cone and a little beyond, and the vertices' mean.
    offsets = rng.uniform(-1.3, 1.3, size=(2, 4000)) * cone.radius
    dec = np.clip(cone.dec + offsets[1], -90, 90)
    ra = (cone.ra + offsets[0] / np.maximum(np.cos(np.radians(dec)), 0.05)) % 360
    inside = polygon.contains(ra, dec)
    assert np.array_equal(inside, _inside_convex(vertices, ra, dec))
    assert inside.any() and not inside.all()
    assert cone.contains(ra[inside], dec[inside]).all()   # the core's prefilter keeps them


def test_pos_parses_the_three_shapes_and_refuses_bad_ones():
    assert parse_pos("CIRCLE 370 10 0.5") == Circle(10.0, 10.0, 0.5)
    assert parse_pos("range 10 20 -Inf +Inf") == Range(10.0, 20.0, None, None)
    assert parse_pos("POLYGON 1 2 3 4 5 7").vertices == ((1, 2), (3, 4), (5, 7))
    assert Range(10, 20, None, 5).core_params() == [
        ("ra_targ__gte", 10), ("ra_targ__lte", 20), ("dec_targ__lte", 5)]
    for text, words in [("CIRCLE 1 2", "3 numbers"), ("CIRCLE 1 95 1", "Dec must be"),
                        ("RANGE 20 10 0 1", "low bound"), ("RANGE -5 10 0 1", "0 to 360"),
                        ("POLYGON 1 2 3 4", "3 or more"), ("BOX 1 2 3 4", "unknown"),
                        ("CIRCLE a b c", "not a number"),
                        ("POLYGON 0 0 120 0 240 0", "smaller than a hemisphere")]:
        with pytest.raises(QueryError, match=words):
            parse_pos(text)


def test_an_images_band_is_its_spectral_filters():
    assert active_filter("F606W", "CLEAR2L") == "F606W"
    assert active_filter("CLEAR1L", "F814W") == "F814W"
    assert active_filter("F606W", "POL0V") == "F606W"      # the polarizer does not set it
    assert active_filter("CLEAR1S", "POL60UV") == "POL_UV"
    assert active_filter("F122M", "N/A") == "F122M"
    assert active_filter("CLEAR1L", "CLEAR2L") is None
    f606w = image_passband("WFC", "F606W", "CLEAR2L")
    assert f606w.pivot == pytest.approx(5917.7e-10)
    assert f606w.low < 5.5e-7 < 6.5e-7 < f606w.high
    assert image_passband("HRC", "F606W", "CLEAR2S").pivot != f606w.pivot
    assert image_passband("WFC", "FR656N", "CLEAR1L").pivot is None   # a ramp: a range
    names = filters_in_band(6.55e-7, 6.6e-7)
    assert {"F658N", "F660N", "F606W", "FR656N", "POL0V"} <= set(names)
    assert "F435W" not in names and "F122M" not in names


@pytest.mark.parametrize("region", [
    Range(10.0, 12.0, 30.0, 31.0), Range(0.0, 360.0, 80.0, 90.0), Range(350.0, 360.0, -5.0, 5.0),
    Circle(359.9, 0.0, 0.5), Polygon(((359.0, -1.0), (1.5, -1.0), (1.0, 1.2))),
])
def test_a_regions_bounding_cone_holds_every_point_of_it(region):
    cone = region.bounding_cone()
    rng = np.random.default_rng(2)
    ra, dec = rng.uniform(0, 360, 200_000), np.degrees(np.arcsin(rng.uniform(-1, 1, 200_000)))
    inside = region.contains(ra, dec)
    assert inside.any() and cone.contains(ra[inside], dec[inside]).all()


def test_an_open_range_has_no_bounding_cone():
    assert Range(10.0, 20.0, None, 5.0).bounding_cone() is None

