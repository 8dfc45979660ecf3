"""The image explorer in Chromium, against the app served from the real local server.

Given one full-size WFC rootname (raw, flt and flc, two 4096 x 2048 chips;
the flt and flc carry the SIP distortion of the real ``j94f05bgq_flt.fits``)
ingested with its quicklooks, an analyst opens the flt in the explorer, zooms
to a chosen pixel, reads its value and RA/Dec (astropy's), changes the stretch
(the picture changes and no request is made), pins a cut and downloads it as
CSV (the file's row), blinks the flt against the flc, and, signed in as a
tagger, flags a box, which the image view then draws. No script error and no
Content-Security-Policy violation is reported; a screenshot of each state is
saved in the test's folder (and in ``$ACSQ_SCREENSHOTS`` if set).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.utils.data import get_pkg_data_filename
from astropy.wcs import WCS
from PIL import Image
from test_web_browser import _ARGS, CHROMIUM
from web_server import serving

from acsq_mongo.accounts.users import add_user
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import plan_rootname, write_rootname
from webapp import create_app

pytestmark = [pytest.mark.browser, pytest.mark.realdb, pytest.mark.slow]

ROOTNAME = "jexp01a1q"
SECRET = "explorer-test-secret-" + "x" * 30
PASSWORD = "ada's long passphrase"
_TABLES = ("CPDIS", "D2IM", "DP1", "DP2", "NPOLEXT")
_SIP = ("A_ORDER", "B_ORDER", "A_", "B_", "CRPIX", "CRVAL", "CD1_", "CD2_")


def _real_sip(path: Path) -> None:
    """Give both SCI chips of ``path`` the WCS (with SIP) of the real j94f05bgq_flt.fits."""
    real = get_pkg_data_filename("data/j94f05bgq_flt.fits", package="astropy.wcs.tests")
    with fits.open(real) as source, fits.open(path, mode="update") as target:
        for ver in (1, 2):
            header = target["SCI", ver].header
            # The sample's lookup-table distortion keywords name extensions it does not
            # write (astropy's WCS would refuse them); the real file has none either.
            for key in {k for k in header if k.startswith(_TABLES)}:
                del header[key]
            for card in source["SCI", ver].header.cards:
                if card.keyword.startswith(_SIP) and not card.keyword.startswith(("AP_", "BP_")):
                    target["SCI", ver].header[card.keyword] = card.value


@pytest.fixture(scope="module")
def site(real_server_uri, tmp_path_factory):
    from acsq_mongo.settings import load_settings

    work = tmp_path_factory.mktemp("explorer")
    archive = work / "archive"
    write_rootname(archive, plan_rootname(ROOTNAME, "WFC", ("raw", "flt", "flc"),
                                          full_size=True, seed=4))
    write_rootname(archive, plan_rootname("jexp01a2q", "WFC", ("flt",), seed=5))
    for ft in ("flt", "flc"):
        _real_sip(archive / ROOTNAME[:4] / ROOTNAME / f"{ROOTNAME}_{ft}.fits")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, db="acsq_explorer_browser",
                             archive=archive, data=work / "var", secret_key=SECRET)
    db = connect(settings)
    db.client.drop_database(settings.db)
    assert run_ingest(settings, archive, quicklook=True).ok
    add_user(db, "ada", "tagger", PASSWORD)
    with serving(create_app(settings)) as url:
        yield url, archive / ROOTNAME[:4] / ROOTNAME, db
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.fixture
def page(tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_deps.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 950},
                                      accept_downloads=True)
        tab = context.new_page()
        tab.errors = []
        tab.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))
        yield tab
        browser.close()


class Shots:
    def __init__(self, page, folder: Path):
        self.page, self.folder, self.n = page, folder, 0
        self.copy_to = os.environ.get("ACSQ_SCREENSHOTS")

    def __call__(self, name: str, selector: str | None = None) -> Path:
        path = self.folder / f"{self.n:02d}_{name}.png"
        self.n += 1
        target = self.page.locator(selector) if selector else self.page
        target.screenshot(path=str(path))
        assert path.stat().st_size > 5_000
        if self.copy_to:
            Path(self.copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.copy_to)
        return path


def _ready(page) -> None:
    page.wait_for_function("() => document.getElementById('explorer').dataset.ready === '1'",
                           timeout=30000)
    page.wait_for_load_state("networkidle")


def _readout(page) -> dict[str, str]:
    cells = page.locator("#readout td[data-field]")
    return {cells.nth(i).get_attribute("data-field"): cells.nth(i).inner_text()
            for i in range(cells.count())}


def _centre(page) -> tuple[float, float]:
    """The screen position of the map's centre, the page scrolled to show the map."""
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _hover(page, dx: float, dy: float, expect_xy: str) -> dict[str, str]:
    """Hover ``dx``, ``dy`` screen pixels right of and above the map's centre."""
    cx, cy = _centre(page)
    page.mouse.move(cx + dx, cy - dy)
    page.wait_for_function(
        """(xy) => document.querySelector('#readout [data-field=xy]').textContent === xy
            && document.querySelector('#readout [data-field=value]').textContent !== ''""",
        arg=expect_xy, timeout=15000)
    page.wait_for_function("""() => {
        const v = document.querySelector('#readout [data-field=value]');
        return v.textContent !== '' && v.dataset.value !== undefined; }""")
    return _readout(page)


def _map_pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_an_analyst_explores_compares_and_flags_a_full_wfc_flt(site, page, tmp_path):
    url, folder, db = site
    shot = Shots(page, tmp_path)
    flt, flc = folder / f"{ROOTNAME}_flt.fits", folder / f"{ROOTNAME}_flc.fits"
    with fits.open(flt) as f, fits.open(flc) as c:
        sci, wcs = f["SCI", 2].data.copy(), WCS(f["SCI", 2].header, f)
        sci_flc = c["SCI", 2].data.copy()
    # The chosen pixel: on chip WFC1 (SCI,2, the upper half), where flt and flc differ.
    x, y = 1201, 388
    while sci[y - 1, x - 1] == sci_flc[y - 1, x - 1]:
        x += 1
    picture_y = 2048 + y

    # Open the full flt, then zoom to the chosen pixel (16 screen pixels per image pixel).
    page.goto(f"{url}/explore/{ROOTNAME}/flt")
    _ready(page)
    assert page.title() == f"Explore {ROOTNAME} flt · ACS Quicklook"
    shot("whole_field")
    page.goto(f"{url}/explore/{ROOTNAME}/flt?ext=SCI&ver=all&x={x}&y={picture_y}&z=4")
    _ready(page)
    seen = _hover(page, 0, 0, f"{x}, {y}")
    assert np.float32(float(seen["value"])) == sci[y - 1, x - 1]
    assert seen["chip"].startswith("SCI,2 (CCDCHIP 1)")
    ra, dec = wcs.all_pix2world([[x, y]], 1)[0]
    got_ra, got_dec = float(seen["ra"].split("°")[0]), float(seen["dec"].split("°")[0])
    off = np.hypot((got_ra - ra) * np.cos(np.radians(dec)), got_dec - dec) * 3600
    assert off < 0.05, f"RA/Dec {off:.4f} arcsec from astropy's all_pix2world"
    # More pixels around it, each 16 screen pixels apart: their values are the file's.
    rng = np.random.default_rng(3)
    for dx, dy in rng.integers(-15, 16, size=(6, 2)):
        seen = _hover(page, 16 * dx, 16 * dy, f"{x + dx}, {y + dy}")
        assert np.float32(float(seen["value"])) == sci[y + dy - 1, x + dx - 1], (dx, dy)
    _hover(page, 0, 0, f"{x}, {y}")
    before = shot("zoomed_to_pixel", "#map")
    assert "stitched" not in page.url and f"x={x}" in page.url and "z=4" in page.url

    # Change the stretch: the picture changes, and not one request for pixels is made.
    # (Chromium asks for the favicon again when the page's URL changes: not data.)
    requests: list[str] = []
    page.on("request", lambda r: "/static/" not in r.url and requests.append(r.url))
    page.select_option("select[name=interval]", "zscale")
    page.select_option("select[name=stretch]", "log")
    page.select_option("select[name=cmap]", "viridis")
    page.wait_for_function("() => document.getElementById('explorer').dataset.stretchMs")
    after = shot("stretched_zscale_log_viridis", "#map")
    assert np.abs(_map_pixels(before) - _map_pixels(after)).mean() > 5
    assert requests == [], requests
    assert "interval=zscale" in page.url and "stretch=log" in page.url

    # Pin the pixel: the row cut, downloaded as CSV, is the file's row.
    cx, cy = _centre(page)
    page.mouse.click(cx, cy)
    page.wait_for_selector("#cut-row canvas")
    page.wait_for_selector("#cut-column canvas")
    shot("pinned_cuts")
    with page.expect_download() as download:
        page.click("#csv-row")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 4096 and {r["y"] for r in rows} == {str(y)}
    values = np.array([float(r["value"]) for r in rows], dtype=np.float32)
    np.testing.assert_array_equal(values, sci[y - 1])

    # Blink the flt against the flc: the other image shows, with its own value.
    page.select_option("select[name=cmp]", "flc")
    page.wait_for_selector("#swap:not([hidden])")
    page.wait_for_load_state("networkidle")
    flt_shot = shot("blink_flt", "#map")
    page.click("#swap")
    page.wait_for_function("() => document.getElementById('status').dataset.showing === 'other'")
    page.wait_for_load_state("networkidle")
    seen = _hover(page, 0, 0, f"{x}, {y}")
    assert np.float32(float(seen["value"].split(" ")[0])) == sci_flc[y - 1, x - 1]
    assert np.float32(float(seen["other"].split(" ")[0])) == sci[y - 1, x - 1]
    flc_shot = shot("blink_flc", "#map")
    assert np.abs(_map_pixels(flt_shot) - _map_pixels(flc_shot)).max() > 0
    assert "cmp=flc" in page.url and "mode=blink" in page.url

    # The DQ overlay on the SCI view: a flagged pixel's bits by name (the ACS DQ table).
    with fits.open(flt) as f:
        dq = f["DQ", 2].data.copy()
    # A saturated pixel (bit 256); the sample flags others too (issue 28's injected DQ counts).
    dy_, dx_ = (int(v[0]) for v in np.nonzero(dq & 256))
    page.goto(f"{url}/explore/{ROOTNAME}/flt?ext=SCI&ver=all&x={dx_ + 1}&y={2048 + dy_ + 1}"
              "&z=4&dq=1")
    _ready(page)
    seen = _hover(page, 0, 0, f"{dx_ + 1}, {dy_ + 1}")
    page.wait_for_function("() => document.querySelector('#readout [data-field=dq]').textContent")
    bits = _readout(page)["dq"]
    assert bits.split(":")[0] == str(dq[dy_, dx_]) and "SATURATED" in bits
    shot("dq_overlay", "#map")

    # A tagger signs in, draws a box and flags it; the image view draws it.
    page.goto(f"{url}/login")
    page.fill("input[name=name]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{url}/explore/{ROOTNAME}/flt?ext=SCI&ver=all&x={x}&y={picture_y}&z=2")
    _ready(page)
    page.click("#draw-box")
    cx, cy = _centre(page)
    page.mouse.move(cx - 40, cy - 40)
    page.mouse.down()
    page.mouse.move(cx + 40, cy + 40, steps=4)
    page.mouse.up()
    page.select_option("select[name=flag]", index=0)
    page.fill("textarea[name=comment]", "a box around the chosen pixel")
    page.click("#flag-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('explorer').dataset.flagged === '1'")
    shot("flagged_box")
    event = db["anomaly_events"].find_one({"region": {"$exists": True}})
    region = event["region"]
    assert region["filetype"] == "flt" and region["extension"] == "SCI"
    assert region["extver"] is None  # drawn on the stitched picture
    # 40 screen pixels at 4 per image pixel: about 10 image pixels on each side.
    assert region["x0"] <= x <= region["x1"] and region["y0"] <= picture_y <= region["y1"]
    assert 18 <= region["x1"] - region["x0"] <= 22 and 18 <= region["y1"] - region["y0"] <= 22
    page.goto(f"{url}/rootname/{ROOTNAME}")
    page.click("nav.tabs >> text=flt")
    rect = page.locator("svg#flagged-regions rect")
    assert rect.count() == 1
    assert int(rect.get_attribute("x")) == region["x0"] - 1
    assert int(rect.get_attribute("y")) == 4096 - region["y1"]
    shot("image_view_with_region")
    assert page.errors == [], page.errors
