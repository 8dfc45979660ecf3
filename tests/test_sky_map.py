"""Sky maps (issue 16): where a query's rootnames lie, with footprints when the catalog has them.

The footprints are made by the ingest (branch ``sky``); here the catalog
documents are written as the contract between the branches says: a GeoJSON
``Polygon`` or ``MultiPolygon`` in ``footprint``, ``[lon, lat]`` in degrees
with lon = RA wrapped into (-180, 180]. A field that straddles RA 0 is drawn
as one field; every footprint ring becomes a polygon of the zoomed map.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.plots.sky_map import footprint_rings, sky_map, zoom_field
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.trends.sky_points import SkyMapTooLarge, sky_points
from webapp import create_app


def _square(ra: float, dec: float, half: float = 0.028) -> list[list[float]]:
    """An ACS/WFC-sized square around a position, as a closed GeoJSON ring (lon in (-180, 180])."""
    lon = ra if ra <= 180 else ra - 360
    return [[lon - half, dec - half], [lon + half, dec - half], [lon + half, dec + half],
            [lon - half, dec + half], [lon - half, dec - half]]


#: Three WFC images in one field across RA 0 (two chips for one), one HRC far away, one
#: without a footprint, and one without a position.
DOCS = [
    {"_id": "j0000001q", "detector": "WFC", "ra_targ": 359.99, "dec_targ": -30.0,
     "footprint": {"type": "Polygon", "coordinates": [_square(359.99, -30.0)]}},
    {"_id": "j0000002q", "detector": "WFC", "ra_targ": 0.02, "dec_targ": -30.01,
     "footprint": {"type": "MultiPolygon", "coordinates": [
         [_square(0.02, -30.02, 0.014)], [_square(0.02, -30.0, 0.014)]]}},
    {"_id": "j0000003q", "detector": "WFC", "ra_targ": 0.01, "dec_targ": -29.99},
    {"_id": "j0000004q", "detector": "HRC", "ra_targ": 150.0, "dec_targ": 60.0,
     "footprint": {"type": "Polygon", "coordinates": [_square(150.0, 60.0, 0.007)]}},
    {"_id": "j0000005q", "detector": "WFC", "ra_targ": None, "dec_targ": None},
]


@pytest.fixture
def catalog(db):
    db[CATALOG].insert_many([{**d, "rootname": d["_id"], "proposid": 9999} for d in DOCS])
    return db


def test_footprints_come_with_the_positions_of_a_query(catalog, settings):
    points = sky_points(catalog, QuerySpec.parse([("detector", "WFC")]), settings)
    assert points.rootnames == ["j0000001q", "j0000002q", "j0000003q"]   # one has no position
    assert points.n_matching == 4 and points.n_footprints == 2
    assert points.footprints[1]["type"] == "MultiPolygon"
    everything = sky_points(catalog, QuerySpec(), settings)
    assert len(everything.rootnames) == 4 and everything.n_footprints == 3


def test_a_map_over_the_cap_is_refused(catalog, settings):
    with pytest.raises(SkyMapTooLarge, match="draw 4 rootnames, more than the 3"):
        sky_points(catalog, QuerySpec.parse([("detector", "WFC")]),
                   settings.replace(trend_max_points=3))


def test_the_rings_of_a_footprint_wrap_ra_into_0_360():
    rings = footprint_rings(DOCS[1]["footprint"])
    assert len(rings) == 2 and all(r.shape == (5, 2) for r in rings)
    assert all(((r[:, 0] >= 0) & (r[:, 0] < 360)).all() for r in rings)
    across = footprint_rings(DOCS[0]["footprint"])[0]
    assert sorted({round(v, 3) for v in across[:, 0]}) == [0.018, 359.962]
    for broken in (None, {}, {"type": "Point", "coordinates": [1, 2]},
                   {"type": "Polygon", "coordinates": [[[1, 2]]]},
                   {"type": "Polygon", "coordinates": "x"}):
        assert footprint_rings(broken) == []


def test_a_small_field_across_ra_0_gets_a_zoomed_map_with_every_footprint_ring():
    wfc = [d for d in DOCS if d["detector"] == "WFC" and d["ra_targ"] is not None]
    ra = np.array([d["ra_targ"] for d in wfc])
    dec = np.array([d["dec_targ"] for d in wfc])
    centre, radius = zoom_field(ra, dec)
    assert radius < 0.05 and min(centre.ra.deg, 360 - centre.ra.deg) < 0.02
    svg = sky_map(ra, dec, [d.get("footprint") for d in wfc], fmt="svg").decode()
    assert sorted(re.findall(r'id="(footprint-\d+)"', svg)) == [
        "footprint-0", "footprint-1", "footprint-2"]
    # The whole sky has no zoomed panel, and so no footprint polygon.
    everywhere = sky_map(np.array([0.0, 150.0]), np.array([-30.0, 60.0]),
                         [DOCS[0]["footprint"], DOCS[3]["footprint"]], fmt="svg").decode()
    assert zoom_field(np.array([0.0, 150.0]), np.array([-30.0, 60.0])) is None
    assert "footprint-" not in everywhere


def test_footprints_are_coloured_by_filter_with_a_legend_and_the_sky_has_dec_labels():
    """Issue 25: each filter its own colour (group_colors), named in a legend with its
    count of polygons; the all-sky panel labels its parallels."""
    from acsq_mongo.plots.colors import group_colors

    wfc = [d for d in DOCS if d["detector"] == "WFC" and d["ra_targ"] is not None]
    ra = np.array([d["ra_targ"] for d in wfc])
    dec = np.array([d["dec_targ"] for d in wfc])
    groups = ["F606W", "F814W", "F606W"][:len(wfc)]
    svg = sky_map(ra, dec, [d.get("footprint") for d in wfc], fmt="svg",
                  groups=groups).decode()
    palette = set(group_colors(["F606W", "F814W"]).values())
    polygon_groups = [g for d, g in zip(wfc, groups, strict=False)
                      for _ in footprint_rings(d.get("footprint"))]
    strokes: dict[str, set] = {}
    for i, name in enumerate(polygon_groups):
        polygon = re.search(rf'<g id="footprint-{i}">(.*?)</g>', svg, re.S).group(1)
        strokes.setdefault(name, set()).update(re.findall(r"stroke: (#[0-9a-f]{6})", polygon))
    assert all(len(c) == 1 for c in strokes.values()), strokes   # one colour per filter
    assert strokes["F606W"] != strokes["F814W"]
    assert set().union(*strokes.values()) <= palette
    rings = {n: polygon_groups.count(n) for n in set(groups)}
    for name, n in rings.items():
        assert f"{name} ({n})" in svg
    for parallel in ("-60°", "-30°", "0°", "+30°", "+60°"):
        assert f"<!-- {parallel} -->" in svg
    # Without groups, one colour and no legend.
    plain = sky_map(ra, dec, [d.get("footprint") for d in wfc], fmt="svg").decode()
    assert "F606W (" not in plain and "<!-- +30° -->" in plain


def test_the_query_page_and_the_home_page_show_their_maps(catalog, settings):
    client = create_app(settings, db=catalog, config={"TESTING": True}).test_client()
    page = client.get("/query?detector=WFC").get_data(as_text=True)
    assert 'src="/sky.png?detector=WFC"' in page
    assert 'href="/trend?y=exptime&amp;detector=WFC"' in page
    assert 'src="/sky.png"' in client.get("/").get_data(as_text=True)
    reply = client.get("/sky.png?detector=WFC")
    assert reply.status_code == 200 and reply.data.startswith(b"\x89PNG")
    assert reply.headers["Content-Security-Policy"].startswith("default-src 'self'")
