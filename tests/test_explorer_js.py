"""The explorer's JavaScript: its numbers against astropy's, and its lint.

astropy computes the intervals (MinMax, Percentile, ZScale, and the
quicklook's own limits), the stretches, the RA/Dec of pixels of real WCSs
(``all_pix2world``, with SIP) and numpy prints float32 values; the expected
values are written to a JSON file and ``node --test tests/js/`` checks the
client's functions against them. ESLint (pinned in package.json) checks every
script of ``webapp/static`` and the JS tests. Both need ``make setup`` (npm ci).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.utils.data import get_pkg_data_filename
from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    MinMaxInterval,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)
from astropy.wcs import WCS

from acsq_mongo.images.client_wcs import client_wcs
from acsq_mongo.images.dq import DQ_FLAGS, dq_names
from acsq_mongo.images.stretch import display_limits

REPO = Path(__file__).resolve().parent.parent
ESLINT = REPO / "node_modules" / ".bin" / "eslint"
KEPT = (99.9, 99.5, 99.0, 98.0, 95.0, 90.0)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: scripts/install_system_deps.sh installs npm and node")
    return node


def _values(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    sky = rng.normal(100.0, 5.0, 20000).astype(np.float32)
    stars = sky.copy()
    stars[rng.integers(0, stars.size, 300)] += rng.exponential(3000.0, 300).astype(np.float32)
    with_nan = stars.copy()
    with_nan[rng.integers(0, with_nan.size, 500)] = np.nan
    dark = rng.poisson(3.0, 50000).astype(np.float32)  # integer levels, many ties
    bias = (rng.normal(0.0, 4.0, 7000) + np.linspace(-10, 10, 7000)).astype(np.float32)
    small = rng.uniform(-1.0, 1.0, 37).astype(np.float32)
    return [("sky", sky), ("stars", stars), ("nan", with_nan), ("dark", dark),
            ("bias", bias), ("small", small)]


def _sky_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    real = get_pkg_data_filename("data/j94f05bgq_flt.fits", package="astropy.wcs.tests")
    with fits.open(real) as hdul:
        for ext in (1, 4):
            header = hdul[ext].header
            wcs = WCS(header, hdul)
            x = np.concatenate([[1, 4096, 1, 4096], rng.uniform(1, 4096, 40)])
            y = np.concatenate([[1, 1, 2048, 2048], rng.uniform(1, 2048, 40)])
            ra, dec = wcs.all_pix2world(x, y, 1)
            assert wcs.sip is not None  # the real file has SIP: the test covers it
            cases.append({"name": f"j94f05bgq SCI ext {ext}", "wcs": client_wcs(header),
                          "points": np.column_stack([x, y, ra, dec]).tolist()})
    # Near the pole and across RA 0, where the projection is least forgiving.
    for name, crval in (("pole", (210.0, 89.85)), ("ra0", (0.02, -30.0))):
        header = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRPIX1": 2048.0,
                              "CRPIX2": 1024.0, "CRVAL1": crval[0], "CRVAL2": crval[1],
                              "CD1_1": -1.3e-5, "CD1_2": 4.1e-6, "CD2_1": 4.1e-6,
                              "CD2_2": 1.3e-5, "NAXIS": 2, "NAXIS1": 4096, "NAXIS2": 2048})
        wcs = WCS(header)
        x, y = rng.uniform(1, 4096, 30), rng.uniform(1, 2048, 30)
        ra, dec = wcs.all_pix2world(x, y, 1)
        cases.append({"name": name, "wcs": client_wcs(header),
                      "points": np.column_stack([x, y, ra, dec]).tolist()})
    return cases


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> Path:
    """astropy's values for the JS tests, as JSON."""
    rng = np.random.default_rng(27)
    tmp = tmp_path_factory.mktemp("js")
    intervals = []
    for name, values in _values(rng):
        ql_interval = "zscale" if name in ("dark", "bias") else "percentile"
        intervals.append({
            "name": name,
            "values": [None if not np.isfinite(v) else float(v) for v in values],
            "minmax": [float(v) for v in MinMaxInterval().get_limits(values[np.isfinite(values)])],
            "percentile": {str(k): [float(v) for v in PercentileInterval(k).get_limits(values)]
                           for k in KEPT},
            "zscale": [float(v) for v in ZScaleInterval().get_limits(values)],
            # The quicklook's own limits of the same pixels (acsq_mongo.images.stretch).
            "quicklook": {"interval": ql_interval,
                          "limits": list(display_limits(values.reshape(1, -1), ql_interval))},
        })
    grid = np.concatenate([[-5.0, 0.0, 1.0, 2.0, 100.0], rng.uniform(0.0, 100.0, 60)])
    vmin, vmax = 0.0, 100.0
    scaled = np.clip((grid - vmin) / (vmax - vmin), 0.0, 1.0)
    stretches = {"linear": LinearStretch(), "sqrt": SqrtStretch(), "log": LogStretch(),
                 "asinh": AsinhStretch()}
    floats = np.concatenate([rng.normal(0, 1000, 40), rng.normal(0, 1e-3, 20),
                             [0.1, 1 / 3, 65535.0, -2.5, 1e-8, 123456.79]]).astype(np.float32)
    dq_values = [0, 1, 16, 48, 2048 + 4096, 65535, 8192 | 256, int(rng.integers(0, 65536))]
    data = {
        "intervals": intervals,
        "stretches": {"vmin": vmin, "vmax": vmax, "values": grid.tolist(),
                      "results": {n: s(scaled.copy()).tolist() for n, s in stretches.items()}},
        "float32": [[float(v), str(v)] for v in floats],  # numpy's shortest repr
        "sky": _sky_cases(rng),
        "dq": {"table": [list(f) for f in DQ_FLAGS],
               "cases": [[v, dq_names(v)] for v in dq_values]},
    }
    path = tmp / "expected.json"
    path.write_text(json.dumps(data))
    return path


def test_the_client_functions_give_astropys_values(expected):
    """node's test runner checks stretch.js and readout.js against astropy's values."""
    result = subprocess.run([_node(), "--test", "tests/js/"], cwd=REPO, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "ACSQ_JS_EXPECTED": str(expected)})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 5" in result.stdout, result.stdout[-2000:]


def test_the_scripts_pass_eslint():
    """ESLint, pinned in package.json, finds nothing in the web app's scripts."""
    if not ESLINT.exists():
        pytest.fail(f"{ESLINT} is missing: run make setup (npm ci)")
    result = subprocess.run([str(ESLINT), "webapp/static", "tests/js", "eslint.config.js"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_a_lint_error_is_caught(tmp_path):
    """The lint is real: an undefined name in a script fails it."""
    if not ESLINT.exists():
        pytest.fail(f"{ESLINT} is missing: run make setup (npm ci)")
    bad = REPO / "webapp" / "static" / "explorer" / "_lint_probe.js"
    bad.write_text("export const x = undefinedName + 1;\n")
    try:
        result = subprocess.run([str(ESLINT), str(bad)], cwd=REPO, capture_output=True,
                                text=True, timeout=120)
    finally:
        bad.unlink()
    assert result.returncode == 1 and "no-undef" in result.stdout
