"""What a trend may plot, and the one-line errors for what it may not (no database needed)."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from acsq_mongo.cli import main
from acsq_mongo.plots.colors import DETECTOR_COLORS, OTHER, group_colors
from acsq_mongo.plots.trend_figure import trend_figure
from acsq_mongo.query.errors import QueryError
from acsq_mongo.trends.trend import TrendSpec


def test_a_trend_names_y_and_takes_the_query_s_filters():
    spec = TrendSpec.parse([("y", "headers.raw.1.ccdtemp"), ("detector", "WFC"),
                            ("date_obs__gte", "2010")])
    assert spec.y.name == "headers.raw.1.CCDTEMP" and spec.x.name == "date_obs"
    assert spec.by == "detector" and len(spec.query.filters) == 2
    assert TrendSpec.parse(spec.to_params()) == spec           # the URL holds the whole state
    one_group = TrendSpec.parse([("y", "exptime"), ("x", "expstart"), ("by", "")])
    assert one_group.by is None and TrendSpec.parse(one_group.to_params()) == one_group


@pytest.mark.parametrize("pairs, message", [
    ([("detector", "WFC")], "a trend needs y"),
    ([("y", "detector")], "y=detector is not a number; choose one of"),
    ([("y", "exptime"), ("x", "targname")], "x=targname is not a number or a date"),
    ([("y", "date_obs")], "y=date_obs is not a number"),
    ([("y", "exptime"), ("by", "pr_inv_f")], "cannot colour by 'pr_inv_f'; choose one of"),
    ([("y", "nosuchfield")], "unknown field 'nosuchfield'"),
    ([("y", "exptime"), ("y", "expstart")], "y is given more than once"),
    ([("y", "exptime"), ("exptime__gte", "abc")], "exptime"),
])
def test_bad_trends_are_one_line_errors(pairs, message):
    with pytest.raises(QueryError, match=message) as info:
        TrendSpec.parse(pairs)
    assert "\n" not in str(info.value)


def test_acsq_trend_refuses_an_unknown_output_suffix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACSQ_MONGO_URI", f"mongomock://{tmp_path.name}")
    assert main(["trend", "exptime", "--output", str(tmp_path / "t.jpg")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["acsq trend: error: a trend is saved as .png, .svg or .csv, not 't.jpg'"]


def test_the_points_pixels_are_where_the_png_draws_them():
    """The image map's areas sit on the points: the pixel under each is the group's colour."""
    from io import BytesIO

    from PIL import Image

    x = [datetime.datetime(2003, 1, 1) + datetime.timedelta(days=97 * i) for i in range(40)]
    y = [float((i * 7) % 11) for i in range(40)]
    groups = ["WFC" if i % 2 else "HRC" for i in range(40)]
    picture = trend_figure(x, y, groups, x_label="date_obs", y_label="exptime (s)",
                           by_label="detector")
    image = np.asarray(Image.open(BytesIO(picture.data)).convert("RGB")).astype(int)
    assert image.shape[:2] == (picture.height, picture.width)
    for (px, py), group in zip(picture.pixels, groups, strict=True):
        want = np.array([int(DETECTOR_COLORS[group][i:i + 2], 16) for i in (1, 3, 5)])
        patch = image[int(round(py)) - 1:int(round(py)) + 2, int(round(px)) - 1:int(round(px)) + 2]
        # The marker (alpha 0.8 over white, maybe over another marker) is near its colour.
        assert np.abs(patch.reshape(-1, 3) - want).sum(axis=1).min() < 120, (px, py, group)


def test_groups_get_distinct_colours_and_detectors_their_own():
    colors = group_colors(["F606W", "WFC", None, *[f"F{i}" for i in range(30)]])
    assert colors["WFC"] == DETECTOR_COLORS["WFC"] and colors[None] == OTHER
    named = [colors[f"F{i}"] for i in range(20)]
    assert len(set(named)) == len(named) and DETECTOR_COLORS["WFC"] not in named
