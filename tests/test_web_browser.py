"""An analyst in a real browser: Debian's headless Chromium, driven by Playwright.

Given the sample archive ingested with quicklook images into the real server
and the app served by a real WSGI server on 127.0.0.1, the analyst opens the
home page, goes to the archive, opens a proposal's gallery, clicks a
thumbnail, reads the headers with the filter box, and runs a query from the
form. Every page has its title, every image loads (naturalWidth > 0, a
missing one as the placeholder), no script error or Content-Security-Policy
violation is reported, and a screenshot of each page is saved in the test's
temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from web_server import serving

from acsq_mongo.ingest.run import run_ingest
from webapp import create_app

CHROMIUM = Path("/usr/bin/chromium")
_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_ALL_IMAGES_LOADED = """() => Array.from(document.images).every(
    img => img.complete && img.naturalWidth > 0)"""


@pytest.fixture
def served(real_settings, sample_archive):
    settings = real_settings.replace(archive=sample_archive.root, page_size=12)
    assert run_ingest(settings, sample_archive.root, quicklook=True).ok
    with serving(create_app(settings)) as url:
        yield url, settings


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_deps.sh (make test does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One browser tab that records console errors and saves a screenshot per page."""

    def __init__(self, browser, folder: Path):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.folder = folder
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.shots: list[Path] = []

    def settle(self, name: str, title: str, full_page: bool = True) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        assert page.title() == f"{title} · ACS Quicklook"
        # Lazy thumbnails load once scrolled into view.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function(_ALL_IMAGES_LOADED, timeout=15000)
        page.evaluate("window.scrollTo(0, 0)")
        path = self.folder / f"{len(self.shots):02d}_{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 10_000
        self.shots.append(path)


def test_an_analyst_browses_and_queries_in_chromium(served, browser, tmp_path, sample_archive):
    base, settings = served
    visit = Visit(browser, tmp_path)
    page = visit.page

    page.goto(base + "/")
    visit.settle("home", "Home")
    assert page.locator("section.plot svg rect").count() > 0
    n = len(sample_archive.rootnames)
    assert f"{n} rootnames" in page.locator("p.lead").inner_text()

    page.click("header.menu >> text=Archive")
    visit.settle("archive", "Archive")
    first = page.locator("table.proposals tbody tr").first
    proposid = first.locator("td").nth(1).inner_text().strip()

    first.locator("td").nth(1).locator("a").click()
    visit.settle("gallery", f"Proposal {proposid}")
    assert page.locator(".gallery figure.thumb").count() > 0

    thumb = page.locator(".gallery figure.thumb").first
    rootname = thumb.locator("figcaption a").inner_text().strip()
    thumb.locator("img").click()
    visit.settle("image", f"{rootname} flt")
    preview = page.locator("figure.preview img")
    assert preview.evaluate("img => img.naturalWidth") > 0
    assert page.locator("aside.metadata table.facts tr").count() >= 20

    page.click("nav.tabs >> text=all headers")
    visit.settle("headers", f"{rootname} headers", full_page=False)   # thousands of rows
    rows = page.locator("#header-tables tbody tr")
    total = rows.count()
    page.fill("#header-filter", "exptime")
    page.wait_for_function("() => document.querySelector('.filter-count').textContent !== ''")
    visible = page.locator("#header-tables tbody tr:visible")
    assert 0 < visible.count() < total
    assert all("exptime" in t.lower() for t in visible.all_inner_texts())
    assert f"of {total} keywords" in page.locator(".filter-count").inner_text()

    page.goto(base + "/query")
    visit.settle("query_form", "Query")
    page.select_option("select[name=detector]", "WFC")
    page.fill("input[name=exptime_from]", "0")
    page.select_option("select[name=exptime_op]", ">")
    page.check("input[name=format][value=thumbnails]")
    page.click("button[type=submit]")
    wfc = sum(1 for r in sample_archive.rootnames if r.promoted["detector"] == "WFC"
              and r.promoted["exptime"] > 0)
    visit.settle("query_results", f"Query: {wfc} rootnames")
    assert "detector=WFC" in page.url and "exptime_op=%3E" in page.url   # shareable
    assert page.locator(".facets").inner_text().count("WFC") >= 1

    assert visit.errors == [], visit.errors        # no script error, no CSP violation
    assert len(visit.shots) == 7


def test_a_missing_thumbnail_shows_the_placeholder_in_the_browser(served, browser, tmp_path,
                                                                  sample_archive):
    base, settings = served
    member = next(r for r in sample_archive.rootnames if "flt" in r.filetypes)
    proposid = member.promoted["proposid"]
    shutil.rmtree(settings.data / "thumbnails" / str(proposid))
    visit = Visit(browser, tmp_path)
    visit.page.goto(f"{base}/archive/{proposid}/")
    visit.settle("gallery_without_thumbnails", f"Proposal {proposid}")
    widths = visit.page.locator(".gallery img").evaluate_all(
        "imgs => imgs.map(img => img.naturalWidth)")
    assert widths and all(w == 128 for w in widths)
    # Only the missing images' 404s were reported, nothing else.
    assert visit.errors and all("404" in e for e in visit.errors)


_NO_SIDEWAYS_SCROLL = """() => document.documentElement.scrollWidth <= window.innerWidth
    && Array.from(document.querySelectorAll('.table-wrap')).every(
        w => w.scrollWidth <= w.clientWidth + 1)"""


def test_what_an_analyst_reads_fits_and_says_so(served, browser, tmp_path, sample_archive):
    """Issue 13 in the browser: an empty answer, a 1400-px result without sideways
    scrolling, a header view with comments and a shared filter, and an image view."""
    base, settings = served
    visit = Visit(browser, tmp_path)
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": 900})

    page.goto(base + "/query?detector=wfc&filter1=F999W")
    visit.settle("empty_result", "Query: 0 rootnames")
    assert "No rootname matches" in page.locator("p.empty").inner_text()
    assert "acsq query detector=wfc filter1=F999W" in page.locator("p.command").inner_text()

    page.goto(base + "/query?detector=WFC&limit=12")
    n_wfc = sum(r.promoted["detector"] == "WFC" for r in sample_archive.rootnames)
    visit.settle("result_1400px", f"Query: {n_wfc} rootnames")
    assert page.locator("table.results-table thead th").count() == 12
    assert page.evaluate(_NO_SIDEWAYS_SCROLL), "the result table scrolls sideways at 1400 px"

    r = next(r for r in sample_archive.rootnames
             if "flt" in r.filetypes and r.promoted["detector"] == "WFC")
    proposid = r.promoted["proposid"]
    page.goto(f"{base}/archive/{proposid}/{r.rootname}/headers/?q=CCD")
    visit.settle("headers_with_comments", f"{r.rootname} headers", full_page=False)
    visible = page.locator("#header-tables tbody tr:visible")
    assert 0 < visible.count() and all("ccd" in t.lower() for t in visible.all_inner_texts())
    assert "commanded gain of CCD" in page.locator("#header-tables").inner_text()
    page.fill("#header-filter", "EXPTIME")
    page.wait_for_function("() => location.search === '?q=EXPTIME'")

    page.goto(f"{base}/archive/{proposid}/{r.rootname}/")
    visit.settle("image_view", f"{r.rootname} flt")
    facts = page.locator("aside.metadata table.facts").inner_text()
    assert "CCD gain" in facts and "ORIENTAT" in facts and "h" in facts
    # No file name is broken across lines: each path's last segment sits on one line.
    names_whole = page.locator("ul.files code.path").evaluate_all("""codes => codes.every(c => {
        const range = document.createRange(); const text = c.lastChild;
        range.selectNodeContents(text); return range.getClientRects().length === 1; })""")
    assert names_whole
    assert visit.errors == [], visit.errors


@pytest.fixture
def served_with_accounts(real_settings, sample_archive):
    from acsq_mongo.accounts.users import add_user
    from acsq_mongo.db.connection import connect

    settings = real_settings.replace(archive=sample_archive.root, page_size=12,
                                     secret_key="browser-test-secret-" + "y" * 32)
    assert run_ingest(settings, sample_archive.root, quicklook=True).ok
    add_user(connect(settings), "ada", "tagger", "ada's long passphrase")
    with serving(create_app(settings)) as url:
        yield url, settings


def test_a_tagger_signs_in_flags_an_image_and_finds_it_with_the_query_form(
        served_with_accounts, browser, tmp_path, sample_archive):
    """Issue 17 in the browser: sign in, flag an image with a comment, find it by its flag."""
    base, settings = served_with_accounts
    visit = Visit(browser, tmp_path)
    page = visit.page
    comment = "<script>alert(1)</script> a trail across chip 2"

    page.goto(base + "/")
    page.click("header.menu .account >> text=Sign in")
    visit.settle("sign_in", "Sign in")
    page.fill("input[name=name]", "ada")
    page.fill("input[name=password]", "ada's long passphrase")
    page.click("form.signin-form button[type=submit]")
    visit.settle("signed_in", "Home")
    assert page.locator("header .account .who").inner_text() == "ada"
    assert "Signed in as ada (tagger)" in page.locator(".flashes").inner_text()

    r = next(r for r in sample_archive.rootnames if "flt" in r.filetypes)
    proposid = r.promoted["proposid"]
    page.goto(f"{base}/archive/{proposid}/")
    visit.settle("gallery_before", f"Proposal {proposid}")
    page.locator(f".gallery figure.thumb >> text={r.rootname}").click()
    visit.settle("image_before", f"{r.rootname} flt")
    assert "No anomaly flag." in page.locator("section.anomalies").inner_text()
    page.check("form.tag-form input[value=satellite_trail]")
    page.fill("form.tag-form textarea[name=comment]", comment)
    page.click("form.tag-form button[type=submit]")
    visit.settle("image_flagged", f"{r.rootname} flt")
    assert page.url.endswith("#anomalies")
    assert "satellite trail" in page.locator("section.anomalies ul.flags").inner_text()
    history = page.locator("section.anomalies table.events tbody tr").first.inner_text()
    assert "ada" in history and comment in history    # the comment shown as text
    assert page.locator("form.tag-form input[value=satellite_trail]").is_checked()

    page.goto(base + "/query")
    visit.settle("query_form_flag", "Query")
    page.select_option("select[name=anomaly]", "satellite_trail")
    page.click("form.query-form button[type=submit]")
    visit.settle("query_by_flag", "Query: 1 rootname")
    assert "anomaly=satellite_trail" in page.url
    row = page.locator("table.results-table tbody tr").first.inner_text()
    assert r.rootname in row and "⚑ satellite trail" in row
    assert "satellite trail" in page.locator(".facets").inner_text()

    page.goto(f"{base}/archive/{proposid}/")
    visit.settle("gallery_after", f"Proposal {proposid}")
    card = page.locator(".gallery figure.thumb.tagged")
    assert card.count() == 1 and "⚑ satellite trail" in card.inner_text()

    page.click("header.menu >> text=Anomalies")
    visit.settle("anomalies", "Anomalies")
    assert comment in page.locator("table.events").inner_text()

    page.click("header .account button:text('Sign out')")
    visit.settle("signed_out", "Home")
    assert page.locator("header .account .who").count() == 0


def _wfc_footprint(ra: float, dec: float, half: float = 0.028) -> dict:
    """A WFC-sized square (3.4') around a position, as the catalog's GeoJSON footprint."""
    import math

    lon = ra if ra <= 180 else ra - 360
    h_ra = half / math.cos(math.radians(dec))
    ring = [[lon - h_ra, dec - half], [lon + h_ra, dec - half], [lon + h_ra, dec + half],
            [lon - h_ra, dec + half], [lon - h_ra, dec - half]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_trends_and_sky_maps_in_chromium(served, browser, tmp_path, sample_archive):
    """Issues 15 and 16 in the browser: a trend with hover and click, a query's sky map with
    its zoomed field and footprints, and the home page's coverage map, all within the CSP."""
    from acsq_mongo.db.connection import connect

    base, settings = served
    db = connect(settings)
    field = [d for d in db["catalog"].find({"detector": "WFC", "ra_targ": {"$gt": 300}})]
    assert field
    for doc in field:   # footprints as the sky branch stores them (CONTRACTS.md)
        db["catalog"].update_one({"_id": doc["_id"]}, {"$set": {
            "footprint": _wfc_footprint(doc["ra_targ"], doc["dec_targ"])}})
    db.client.close()
    visit = Visit(browser, tmp_path)
    page = visit.page

    page.goto(base + "/trend?y=headers.flt.1.MDRIZSKY&by=filter1")
    visit.settle("trend", "Trend: headers.flt.1.MDRIZSKY")
    img = page.locator(".trend-plot img")
    assert img.evaluate("img => img.naturalWidth") == int(img.get_attribute("width"))
    areas = page.locator("map#trend-points area")
    assert areas.count() > 0
    first = areas.first
    rootname = first.get_attribute("alt")
    assert first.get_attribute("title").startswith(f"{rootname}: headers.flt.1.MDRIZSKY = ")
    # Hovering the point's pixel lands on its area; a click opens the rootname's image view.
    box = img.bounding_box()
    cx, cy, _ = (int(v) for v in first.get_attribute("coords").split(","))
    page.mouse.move(box["x"] + cx, box["y"] + cy)
    assert page.evaluate(f"document.elementFromPoint({box['x'] + cx}, {box['y'] + cy}).alt"
                         ) == rootname
    page.mouse.click(box["x"] + cx, box["y"] + cy)
    page.wait_for_url(f"**/{rootname}/**")

    ra, dec = field[0]["ra_targ"], field[0]["dec_targ"]
    page.goto(f"{base}/query?ra={ra}&dec={dec}&radius=0.3")
    visit.settle("query_sky_map", f"Query: {len(field)} rootnames")
    sky = page.locator(".sky-map img")
    # All-sky and the zoomed field (1000 px), and with a filter legend beside it 1140 px.
    assert sky.evaluate("img => img.naturalWidth") in (1000, 1140)

    page.goto(base + "/")
    visit.settle("home_coverage", "Home")
    assert page.locator("figure.sky-map img").evaluate("img => img.naturalWidth") == 720
    assert visit.errors == [], visit.errors        # no script error, no CSP violation


def test_a_product_s_image_view_and_a_dark_s_thumbnail_in_the_browser(served, browser, tmp_path,
                                                                      sample_archive):
    """Issue 15 in the browser: a product opens on its drizzled image, every image filetype
    has a tab, its files are links; a DARK frame's thumbnail shows its structure."""
    base, settings = served
    visit = Visit(browser, tmp_path)
    page = visit.page
    product = next(r for r in sample_archive.rootnames
                   if r.kind == "product" and {"crj", "drc"} <= set(r.filetypes))
    proposid = product.promoted["proposid"]

    page.goto(f"{base}/archive/{proposid}/")
    visit.settle("gallery_with_product", f"Proposal {proposid}")
    card = page.locator(".gallery figure.thumb", has_text=product.rootname)
    assert card.locator("img").get_attribute("src").endswith(f"{product.rootname}_drz.thumb")

    card.locator("img").click()
    visit.settle("product_image_view", f"{product.rootname} drz")
    tabs = page.locator("nav.tabs .tab").all_inner_texts()
    assert tabs == [ft for ft in ("crj", "crc", "drz", "drc") if ft in product.filetypes] + [
        "all headers"]
    assert page.locator("figure.preview img").evaluate("img => img.naturalWidth") > 0
    links = page.locator("ul.files a.ft")
    assert links.count() == len(product.filetypes)
    with page.expect_download() as download:
        links.filter(has_text="drz").click()
    saved = tmp_path / "downloaded_drz.fits"
    download.value.save_as(saved)
    assert saved.read_bytes() == (sample_archive.root / product.path
                                  / f"{product.rootname}_drz.fits").read_bytes()
    assert "MAST" in page.locator("aside.metadata").inner_text()

    page.click("nav.tabs >> text=drc")
    visit.settle("product_drc", f"{product.rootname} drc")

    dark = next(r for r in sample_archive.rootnames if r.promoted["imagetyp"] == "DARK")
    page.goto(f"{base}/archive/{dark.promoted['proposid']}/?imagetyp=DARK")
    visit.settle("dark_thumbnails", f"Proposal {dark.promoted['proposid']}")
    thumb = page.locator(".gallery figure.thumb", has_text=dark.rootname).locator("img")
    shot = tmp_path / "dark_thumbnail.png"
    thumb.screenshot(path=str(shot))
    grey = np.asarray(Image.open(shot).convert("L"), dtype=float)
    # Structure, not a flat field nor pure salt and pepper: brighter corners (amp glow)
    # than the middle.
    h, w = grey.shape
    corners = np.mean([grey[:h // 6, :w // 6].mean(), grey[:h // 6, -w // 6:].mean(),
                       grey[-h // 6:, :w // 6].mean(), grey[-h // 6:, -w // 6:].mean()])
    middle = grey[h // 3: 2 * h // 3, w // 3: 2 * w // 3].mean()
    assert corners > middle + 20
    assert visit.errors == [], visit.errors


def test_header_links_a_small_drz_preview_and_the_narrow_menu_in_the_browser(
        served, browser, tmp_path, sample_archive):
    """Issue 25 in the browser: the header view's query and trend links lead to their pages;
    a drz preview smaller than its box is drawn pixel by pixel (no smoothing); at 420 px
    wide every menu link, "Code" included, is inside the window."""
    base, settings = served
    visit = Visit(browser, tmp_path)
    page = visit.page
    r = next(r for r in sample_archive.rootnames if "flt" in r.filetypes
             and r.promoted["proposid"] is not None)
    page.goto(f"{base}/archive/{r.promoted['proposid']}/{r.rootname}/headers/")
    visit.settle("header_links", f"{r.rootname} headers")
    links = page.locator("#flt-0 td.kw", has_text="CCDGAIN").locator(".kw-links a")
    assert links.all_inner_texts() == ["query", "trend"]
    gain_row = page.locator("#flt-0 tr", has=page.locator("td.kw", has_text="CCDGAIN"))
    row_shot = tmp_path / "header_row_ccdgain.png"
    gain_row.first.screenshot(path=str(row_shot))
    links.first.click()
    visit.settle("header_query_this_value", page.title().removesuffix(" · ACS Quicklook"))
    assert page.title().startswith("Query: ") and "0 rootnames" not in page.title()
    assert r.rootname in page.locator("table.results-table").inner_text()
    page.go_back()
    page.locator("#flt-0 td.kw", has_text="CCDGAIN").locator("text=trend").click()
    page.wait_for_load_state("networkidle")
    assert "headers.flt.0.CCDGAIN" in page.title()

    product = next(r for r in sample_archive.rootnames
                   if r.kind == "product" and "drz" in r.filetypes)
    page.goto(f"{base}/archive/{product.promoted['proposid']}/{product.rootname}/drz/")
    visit.settle("small_drz_preview", f"{product.rootname} drz")
    preview = page.locator("figure.preview img")
    natural, shown = preview.evaluate("img => [img.naturalWidth, img.clientWidth]")
    assert natural < shown, (natural, shown)   # the sample's drz is small: shown upscaled
    assert preview.evaluate("img => getComputedStyle(img).imageRendering") == "pixelated"
    shot = tmp_path / "small_drz_preview_only.png"
    preview.screenshot(path=str(shot))
    grey = np.asarray(Image.open(shot).convert("L"), dtype=int)
    # Nearest-neighbour: runs of equal pixels about shown/natural long, not a smooth ramp.
    row = grey[grey.shape[0] // 2]
    changes = np.count_nonzero(np.diff(row))
    assert changes < len(row) * natural / shown * 1.5, (changes, len(row))

    narrow = browser.new_page(viewport={"width": 420, "height": 800})
    narrow.goto(f"{base}/query")
    narrow.wait_for_load_state("networkidle")
    narrow.screenshot(path=str(tmp_path / "menu_420px.png"))
    for text in ("Query", "Trend", "Archive", "Docs", "Anomalies", "Code"):
        box = narrow.locator("header.menu nav a", has_text=text).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 420, (text, box)
    assert narrow.locator("header.menu").evaluate("m => m.scrollWidth") <= 420
    narrow.close()
    assert visit.errors == [], visit.errors
