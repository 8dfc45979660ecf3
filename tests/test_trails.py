"""Machine-proposed anomalies: satellite trails found by acstools.findsat_mrt, and the rules.

Given the sample archive, whose generator draws trails with known endpoints into some
flt and flc files and leaves the others clean (acsq_mongo.sample.injections), the
detector finds the drawn trails within a few pixels and nothing on the clean images.
Ingested on the real server, a detection becomes a proposed ``satellite_trail``; a tagger
confirms one and rejects another with one click in Chromium, the history records both,
the query core finds what is proposed and what is confirmed, and a rejected proposal is
not proposed again. The statistics' rules propose what brute force over the stored
statistics says they should.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from test_web_browser import _ARGS, CHROMIUM
from web_server import serving

from acsq_mongo import Archive
from acsq_mongo.accounts.users import add_user, get_user
from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG
from acsq_mongo.db.connection import connect
from acsq_mongo.images.trails import detect_trails
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from acsq_mongo.tags import Vocabulary
from acsq_mongo.tags.flags import set_gallery_flags
from acsq_mongo.tags.proposals import answer, pending_proposals
from acsq_mongo.tags.stats_rules import propose_from_stats
from acsq_mongo.tags.trail_job import TRAIL_SEARCHES, run_trails, trail_entries
from webapp import create_app

SECRET = "s" * 40
#: A trail is found when both ends of the detected line lie this close to the drawn line.
NEAR = 4.0


def distance_to_line(point, line) -> float:
    """Distance of a point from the infinite line through ``line``'s two ends (pixels)."""
    (x, y), (x0, y0, x1, y1) = point, line
    return abs((y1 - y0) * x - (x1 - x0) * y + x1 * y0 - y1 * x0) / np.hypot(x1 - x0, y1 - y0)


def found(detected, injected) -> bool:
    x0, y0, x1, y1 = detected
    return max(distance_to_line((x0, y0), injected),
               distance_to_line((x1, y1), injected)) <= NEAR


def _searchable(sample_archive):
    """Full-frame WFC or HRC science rootnames with an flc or flt: (with a trail, clean)."""
    rows = [r for r in sample_archive.rootnames
            if r.promoted["detector"] in ("WFC", "HRC") and not r.promoted["subarray"]
            and r.promoted["obstype"] != "INTERNAL" and ({"flc", "flt"} & set(r.filetypes))]
    with_trail = [r for r in rows if r.injected.get("trail")]
    clean = [r for r in rows if not r.injected.get("trail")]
    return with_trail, clean


def test_drawn_trails_are_found_and_clean_images_have_none(sample_archive):
    with_trail, clean = _searchable(sample_archive)
    assert len(with_trail) >= 2 and len(clean) >= 2
    for r in with_trail[:2] + clean[:2]:
        filetype = "flc" if "flc" in r.filetypes else "flt"
        search = detect_trails(sample_archive.root / r.path / f"{r.rootname}_{filetype}.fits")
        injected = r.injected.get("trail")
        if injected is None:
            assert search.trails == [], r.rootname
            continue
        on_chip = [t for t in search.trails if t.chip == injected["chip"]]
        assert any(found(t.endpoints, injected["endpoints"]) for t in on_chip), (
            r.rootname, injected, search.trails)
        assert all(t.snr >= 5 for t in search.trails)


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    work = tmp_path_factory.mktemp("trails")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_trails_{os.getpid()}", data=work / "var", workers=0,
                             secret_key=SECRET)
    assert run_ingest(settings, sample_archive.root, quicklook=True).ok
    db = connect(settings)
    add_user(db, "ada", "tagger", "a-long-enough-password")
    with_trail, clean = _searchable(sample_archive)
    chosen = [r.rootname for r in with_trail[:2] + clean[:1]]
    run = run_trails(db, settings, [("rootname__in", ",".join(chosen))])
    assert run.rootnames == 3 and not run.failures
    yield settings, db, with_trail[:2], clean[:1]
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.mark.realdb
def test_a_detection_is_a_proposal_queried_as_proposed_not_yet_as_a_flag(site):
    settings, db, with_trail, clean = site
    archive = Archive(settings, db=db)
    proposed = {row["rootname"] for row in archive.query(proposed="satellite_trail")}
    assert proposed == {r.rootname for r in with_trail}
    assert not list(archive.query(anomaly="satellite_trail"))
    proposal = pending_proposals(db, with_trail[0].rootname[:8])[0]
    assert proposal["user"].startswith("acstools.findsat_mrt 3.")
    assert proposal["rule"] == "findsat_mrt" and "S/N" in proposal["comment"]
    injected = with_trail[0].injected["trail"]
    assert any(found(t["endpoints"], injected["endpoints"])
               for t in proposal["detail"]["trails"])
    # Resumable: every selected file was searched once; a rerun searches none again.
    assert db[TRAIL_SEARCHES].count_documents({}) == 3
    assert trail_entries(db, [("rootname", with_trail[0].rootname)], "3.8.2") == []


@pytest.mark.realdb
def test_confirm_sets_the_flag_reject_is_not_proposed_again(site):
    settings, db, with_trail, _ = site
    vocabulary = Vocabulary.from_settings(settings)
    ada = get_user(db, "ada")
    first, second = (r.rootname for r in with_trail)
    key = pending_proposals(db, first[:8])[0]["key"]
    answer(db, first, key, ada, vocabulary, confirm=True)
    key2 = pending_proposals(db, second[:8])[0]["key"]
    answer(db, second, key2, ada, vocabulary, confirm=False, comment="a diffraction spike")
    catalog = {d["rootname"]: d for d in db[CATALOG].find(
        {"rootname": {"$in": [first, second]}}, {"rootname": 1, "anomalies": 1, "proposed": 1})}
    assert catalog[first].get("anomalies") == ["satellite_trail"]
    assert "proposed" not in catalog[first] and "proposed" not in catalog[second]
    assert catalog[second].get("anomalies") is None
    actions = [e["action"] for e in db[ANOMALY_EVENTS].find({"rootname": first}).sort("time", 1)]
    assert actions == ["propose", "set", "confirm"]
    actions = [e["action"] for e in db[ANOMALY_EVENTS].find({"rootname": second}).sort("time", 1)]
    assert actions == ["propose", "reject"]
    # Searched again (--force), same file and version: the rejected trail is not proposed again.
    run_trails(db, settings, [("rootname", second)], force=True)
    assert pending_proposals(db, second[:8]) == []
    assert db[ANOMALY_EVENTS].count_documents({"rootname": second, "action": "propose"}) == 1


@pytest.mark.realdb
def test_the_rules_propose_what_brute_force_over_the_statistics_says(site):
    settings, db, _, _ = site
    strict = settings.replace(proposal_saturated_fraction=0.0012, proposal_background_factor=1.5,
                              proposal_background_min_group=2)
    made = propose_from_stats(db, strict)
    docs = list(db[CATALOG].find({"stats": {"$exists": True}}, {"rootname": 1, "stats": 1,
                                                                  "filter1": 1, "filter2": 1,
                                                                  "exptime": 1}))
    saturated_files = {(d["rootname"], ft) for d in docs for ft in ("flt", "flc")
                       for region, v in (d["stats"].get(ft) or {}).items()
                       if region.startswith("chip") and v.get("saturated_fraction", 0) > 0.0012}
    saturated = {name for name, _ in saturated_files}
    groups: dict = {}
    for d in docs:
        for region, v in (d["stats"].get("flt") or {}).items():
            if region.startswith("chip") and "background" in v:
                groups.setdefault((d["filter1"], d["filter2"], d["exptime"]), []).append(
                    (d["rootname"], v["background"]))
    high = {name for members in groups.values() if len({n for n, _ in members}) >= 2
            for name, b in members if np.median([b for _, b in members]) > 0
            and b > 1.5 * np.median([b for _, b in members])}
    assert saturated and made["saturation"] == len(saturated_files)  # one per file
    assert made["high_background"] == len(high)
    for flag, expected in (("excessive_saturation", saturated), ("high_background", high)):
        events = list(db[ANOMALY_EVENTS].find({"flag": flag, "action": "propose"}))
        assert {e["rootname"] for e in events} == expected
        assert all(e["rule"] in ("saturation", "high_background") for e in events)
    assert propose_from_stats(db, strict) == {"saturation": 0, "high_background": 0}


def _fresh_proposal(db, settings, r) -> None:
    """Forget a rootname's events and flags, and search it again: one pending proposal."""
    db[ANOMALY_EVENTS].delete_many({"rootname": r.rootname})
    db[CATALOG].update_one({"_id": r.rootname[:8]}, {"$unset": {
        "anomalies": "", "anomaly_seq": "", "proposed": "", "proposal_seq": ""}})
    set_gallery_flags(db, r.promoted["proposid"], r.rootname, [])
    run_trails(db, settings, [("rootname", r.rootname)], force=True)
    assert len(pending_proposals(db, r.rootname[:8])) == 1


@pytest.mark.realdb
def test_a_tagger_sees_the_trail_drawn_and_confirms_or_rejects_in_chromium(site, tmp_path):
    settings, db, with_trail, _ = site
    from playwright.sync_api import sync_playwright

    r, other = with_trail
    for fresh in (r, other):  # fresh proposals to answer in the browser (earlier tests answered)
        _fresh_proposal(db, settings, fresh)
    shots = tmp_path
    with serving(create_app(settings)) as base, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{base}/login")
        page.fill("input[name=name]", "ada")
        page.fill("input[name=password]", "a-long-enough-password")
        page.click("form button[type=submit]")
        proposid = r.promoted["proposid"]
        page.goto(f"{base}/archive/{proposid}/")
        card = page.locator("figure.thumb.proposed", has_text=r.rootname)
        assert "proposed" in card.inner_text()
        page.screenshot(path=str(shots / "gallery_proposed.png"), full_page=True)
        page.goto(f"{base}/archive/{proposid}/{r.rootname}/")
        line = page.locator("svg.trail-overlay line")
        assert line.count() >= 1
        assert page.locator(".proposal .proposed-badge").inner_text().lower() == "proposed"
        page.screenshot(path=str(shots / "image_view_proposed_trail.png"), full_page=True)
        page.click("button.confirm")
        page.wait_for_load_state("networkidle")
        assert "confirmed" in page.locator(".flashes").inner_text()
        assert page.locator("svg.trail-overlay").count() == 0
        history = page.locator("table.events").inner_text()
        assert re.search(r"confirm", history) and re.search(r"propose", history)
        page.screenshot(path=str(shots / "image_view_confirmed.png"), full_page=True)
        page.goto(f"{base}/archive/{other.promoted['proposid']}/{other.rootname}/")
        page.click("button.reject")
        page.wait_for_load_state("networkidle")
        assert "rejected" in page.locator(".flashes").inner_text()
        assert page.locator(".proposal").count() == 0
        assert "reject" in page.locator("table.events").inner_text()
        page.screenshot(path=str(shots / "image_view_rejected.png"), full_page=True)
        page.click("table.events a:has-text('acstools.findsat_mrt')")  # who proposed: all theirs
        page.wait_for_load_state("networkidle")
        assert "propose" in page.locator("table").first.inner_text()
        chromium.close()
    assert errors == []
    assert db[CATALOG].find_one({"_id": r.rootname[:8]})["anomalies"] == ["satellite_trail"]
    assert "anomalies" not in db[CATALOG].find_one({"_id": other.rootname[:8]})
    if os.environ.get("ACSQ_SCREENSHOTS"):
        import shutil
        for shot in shots.glob("*.png"):
            shutil.copy(shot, os.environ["ACSQ_SCREENSHOTS"])


# The screen points of the explorer's dashed lines: each path's ends, in page (client) pixels.
_PATH_ENDS = """() => [...document.querySelectorAll('#map path.proposed-trail')].map((path) => {
  const m = path.getScreenCTM();
  const n = path.getTotalLength();
  return [path.getPointAtLength(0), path.getPointAtLength(n)].map((q) => {
    const s = new DOMPoint(q.x, q.y).matrixTransform(m);
    return [s.x, s.y];
  });
})"""


def _chip_extver(path, chip: str) -> int:
    """The SCI EXTVER of a file's chip (``chip1``: CCDCHIP 1), read with astropy."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        return next(h.header["EXTVER"] for h in hdul[1:]
                    if h.name == "SCI" and f"chip{h.header.get('CCDCHIP', 1)}" == chip)


@pytest.mark.realdb
def test_the_explorer_draws_a_proposed_trail_where_it_was_found_in_chromium(site, tmp_path):
    """At zoom 0 (one screen pixel per image pixel) centred on a trail's end, the dashed line
    ends where the detector put it: on the stitched picture by the quicklook's ends
    (``image_endpoints``, the image view's), on the chip alone by the chip's ends."""
    settings, db, with_trail, _ = site
    from playwright.sync_api import sync_playwright

    r = with_trail[0]
    _fresh_proposal(db, settings, r)
    proposal = pending_proposals(db, r.rootname[:8])[0]
    detail = proposal["detail"]
    filetype, height = detail["filetype"], detail["image_size"][1]
    trail = detail["trails"][0]
    path = settings.archive / r.path / f"{r.rootname}_{filetype}.fits"
    extver = _chip_extver(path, trail["chip"])
    ix0, iy0, ix1, iy1 = trail["image_endpoints"]  # 0-based, top row first (the image view's)
    ex0, ey0, ex1, ey1 = trail["endpoints"]        # 0-based chip pixels, from the bottom
    views = {"all": [(ix0 + 1, height - iy0), (ix1 + 1, height - iy1)],  # 1-based FITS pixels
             str(extver): [(ex0 + 1, ey0 + 1), (ex1 + 1, ey1 + 1)]}
    errors = []
    with serving(create_app(settings)) as base, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/login")
        page.fill("input[name=name]", "ada")
        page.fill("input[name=password]", "a-long-enough-password")
        page.click("form button[type=submit]")
        for ver, ends in views.items():
            for n, (x, y) in enumerate(ends):
                cx, cy = round(x), round(y)
                page.goto(f"{base}/explore/{r.rootname}/{filetype}?ver={ver}&x={cx}&y={cy}&z=0")
                page.wait_for_function(
                    "() => document.getElementById('explorer').dataset.ready === '1'",
                    timeout=30000)
                page.wait_for_load_state("networkidle")
                box = page.locator("#map").bounding_box()
                # The map's centre is pixel (cx, cy)'s centre; y grows upward in FITS.
                want = (box["x"] + box["width"] / 2 + (x - cx),
                        box["y"] + box["height"] / 2 - (y - cy))
                got = [end for ends_ in page.evaluate(_PATH_ENDS) for end in ends_]
                assert got, (ver, "no proposed trail drawn")
                nearest = min(np.hypot(gx - want[0], gy - want[1]) for gx, gy in got)
                assert nearest < 1.0, (ver, n, want, got)
                label = page.locator("#map .trail-label").first.inner_text()
                assert label == "proposed satellite_trail"
                assert page.locator(".proposal .proposed-badge").first.inner_text().lower() \
                    == "proposed"
                page.screenshot(path=str(tmp_path / f"explorer_trail_{ver}_{n}.png"))
        # Seen whole, then confirmed from the explorer (the image view's form and CSRF).
        page.goto(f"{base}/explore/{r.rootname}/{filetype}")
        page.wait_for_function("() => document.getElementById('explorer').dataset.ready === '1'",
                               timeout=30000)
        assert page.locator("#explorer").get_attribute("data-trails") == str(len(detail["trails"]))
        page.screenshot(path=str(tmp_path / "explorer_trail_whole.png"), full_page=True)
        page.click(".proposal button.confirm")
        page.wait_for_load_state("networkidle")
        assert "confirmed" in page.locator(".flashes").inner_text()
        chromium.close()
    assert errors == []
    assert db[CATALOG].find_one({"_id": r.rootname[:8]})["anomalies"] == ["satellite_trail"]
    if os.environ.get("ACSQ_SCREENSHOTS"):
        import shutil
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, os.environ["ACSQ_SCREENSHOTS"])


def test_the_production_job_searches_what_it_ingested_for_trails():
    import datetime
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "ingest_production.py"
    spec = importlib.util.spec_from_file_location("ingest_production", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    since = datetime.datetime(2026, 12, 5, 3, 17, 0)
    argv = module.detect_argv(["--config", "acsq.yaml", "--workers", "4", "--no-quicklook",
                               "/archive"], since)
    assert argv == ["--config", "acsq.yaml", "detect", "trails",
                    "last_ingest_date__gte=2026-12-05T03:17:00", "--workers", "4"]
    from acsq_mongo.cli import build_parser

    parser, _ = build_parser(argv)
    args = parser.parse_args(argv)  # a command line acsq accepts
    assert (args.command, args.what, args.filters) == (
        "detect", "trails", ["last_ingest_date__gte=2026-12-05T03:17:00"])
