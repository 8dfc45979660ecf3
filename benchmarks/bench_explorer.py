#!/usr/bin/env python3
"""Image explorer benchmark: first picture, tiles, stretch and server memory, on a full WFC flt.

One full-size WFC rootname (raw, flt and flc: two 4096 x 2048 chips each,
:mod:`acsq_mongo.sample` with ``full_size``) is ingested, without quicklooks,
into a local SecantusDB server started here on a free port; the web app runs
under gunicorn (one gthread worker, as docker-compose runs it) on 127.0.0.1.

1. **First view, cold**, in Chromium (Debian's, headless, through
   Playwright): a new browser and a web app that has not opened the file yet;
   the time from asking for ``/explore/<rootname>/flt`` to every tile of the
   whole-field view drawn (the page's ``data-first-picture-ms``). Target < 1 s.
2. **Tiles**, ``--tiles`` random tiles of every level over HTTP: *cold* is each
   tile's first request to a web app just started (the file not yet opened);
   *warm* the same tiles again, without and with ``If-None-Match`` (304).
   Target p95 < 200 ms cold, < 50 ms warm. "Cold" does not empty the operating
   system's page cache (the file was just written; dropping the cache would
   disturb everyone else on the machine): it measures the app's own cold start.
3. **Stretch change** in Chromium: interval, stretch and colour map changed
   ``--stretches`` times on a zoomed view, each until the next animation frame
   (the page's ``data-stretch-ms``); no request is made. Target < 0.2 s.
4. **Server memory** per open explorer: the gunicorn worker's memory before
   and after a browser opens explorers of the raw, flt and flc (whole field,
   then zoomed): its anonymous memory (RSS less file-backed pages: what the
   explorers cost the app) and its RSS (which also counts the pages of the
   memory-mapped files, the operating system's page cache, reclaimable).

Every figure is printed with the date and ``uptime``'s load average.

Usage: python benchmarks/bench_explorer.py [--tiles 200] [--stretches 10]
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _common import WebServer, fetch, percentile

from acsq_mongo.db import localserver as localdb
from acsq_mongo.images.tiles import TILE, levels
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import plan_rootname, write_rootname
from acsq_mongo.settings import load_settings

ROOTNAME = "jben01a1q"
CHROMIUM = "/usr/bin/chromium"


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def worker_memory(server: WebServer) -> tuple[float, float]:
    """Anonymous memory (RSS less its file-backed pages) and RSS of the gunicorn worker, MiB."""
    anonymous = rss = 0
    for child in psutil.Process(server.process.pid).children(recursive=True):
        info = child.memory_info()
        anonymous, rss = anonymous + info.rss - info.shared, rss + info.rss
    return anonymous / 2**20, rss / 2**20


def tile_urls(base: str, n: int, rng: random.Random) -> list[str]:
    size = 4096
    top = levels(size, size)
    urls = []
    for _ in range(n):
        level = rng.randint(0, top)
        span = TILE << level
        count = -(-size // span)
        urls.append(f"{base}/explore/{ROOTNAME}/flt/pixels/SCI/all/"
                    f"{level}-{rng.randrange(count)}-{rng.randrange(count)}")
    return list(dict.fromkeys(urls))


def timed(urls: list[str], etags: dict[str, str] | None = None) -> list[float]:
    import urllib.request

    seconds = []
    for url in urls:
        if etags is None:
            seconds.append(fetch(url)[0])
            continue
        request = urllib.request.Request(url, headers={"If-None-Match": etags[url]})
        start = time.perf_counter()
        try:
            urllib.request.urlopen(request, timeout=60).read()
        except urllib.error.HTTPError as exc:  # 304 is raised as an "error"
            assert exc.code == 304, exc.code
        seconds.append(time.perf_counter() - start)
    return seconds


def report(name: str, seconds: list[float], target_ms: float) -> None:
    p50, p95 = percentile(seconds, 50) * 1000, percentile(seconds, 95) * 1000
    verdict = "ok" if p95 < target_ms else "OVER"
    print(f"  {name:<34} n={len(seconds):4d}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
          f"(target p95 < {target_ms:.0f} ms: {verdict})", flush=True)


def browser_phase(base: str, stretches: int, server: WebServer) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        before = worker_memory(server)
        page.goto(f"{base}/explore/{ROOTNAME}/flt")
        page.wait_for_function("() => document.getElementById('explorer').dataset.firstPictureMs",
                               timeout=60000)
        first = float(page.get_attribute("#explorer", "data-first-picture-ms"))
        steps = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const end = (part) => Math.max(0, ...performance.getEntriesByType('resource')
                .filter((e) => e.name.includes(part) && !e.name.includes('favicon'))
                .map((e) => e.responseEnd));
            return [nav.responseEnd, end('/static/'), end('meta.json'), end('/sample')]; }""")
        print(f"first view, cold (whole field of the flt, {load()}):")
        print(f"  first picture {first:.0f} ms (target < 1000 ms: "
              f"{'ok' if first < 1000 else 'OVER'}); page {steps[0]:.0f} ms, its scripts and "
              f"styles {steps[1]:.0f} ms, meta {steps[2]:.0f} ms, sample {steps[3]:.0f} ms",
              flush=True)
        # The same view again in a new tab: the browser has the scripts, the app the file.
        again = browser.new_page(viewport={"width": 1400, "height": 950})
        again.goto(f"{base}/explore/{ROOTNAME}/flc")
        again.wait_for_function(
            "() => document.getElementById('explorer').dataset.firstPictureMs", timeout=60000)
        print(f"  first picture of the flc, scripts cached: "
              f"{float(again.get_attribute('#explorer', 'data-first-picture-ms')):.0f} ms")
        again.close()

        page.goto(f"{base}/explore/{ROOTNAME}/flt?ext=SCI&ver=all&x=2048&y=3000&z=0")
        page.wait_for_function("() => document.getElementById('explorer').dataset.firstPictureMs")
        page.wait_for_load_state("networkidle")
        times = []
        choices = [("interval", ["zscale", "minmax", "percentile"]),
                   ("stretch", ["log", "asinh", "sqrt", "linear"]),
                   ("cmap", ["viridis", "gray", "magma"])]
        for i in range(stretches):
            name, values = choices[i % len(choices)]
            page.evaluate("() => { delete document.getElementById('explorer').dataset.stretchMs; }")
            page.select_option(f"select[name={name}]", values[i % len(values)])
            page.wait_for_function("() => document.getElementById('explorer').dataset.stretchMs")
            times.append(float(page.get_attribute("#explorer", "data-stretch-ms")) / 1000)
        tiles = page.evaluate("() => document.querySelectorAll('#map canvas').length")
        print(f"stretch change in Chromium ({tiles} tiles of 256 x 256 on screen, {load()}):")
        report("interval / stretch / colours", times, 200)

        for filetype in ("raw", "flc"):
            page.goto(f"{base}/explore/{ROOTNAME}/{filetype}?ext=SCI&ver=all&x=2048&y=3000&z=0")
            page.wait_for_function(
                "() => document.getElementById('explorer').dataset.firstPictureMs")
            page.wait_for_load_state("networkidle")
        after = worker_memory(server)
        print(f"server memory (gunicorn worker, 3 files explored, {load()}):")
        print(f"  anonymous {before[0]:.0f} -> {after[0]:.0f} MiB (+{after[0] - before[0]:.0f}, "
              f"the app's own); RSS {before[1]:.0f} -> {after[1]:.0f} MiB "
              f"(+{after[1] - before[1]:.0f}, with the mapped files' pages: the OS's cache)",
              flush=True)
        if errors:
            print("  page errors:", errors)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=200)
    parser.add_argument("--stretches", type=int, default=12)
    args = parser.parse_args()
    print(f"bench_explorer {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="acsq-bench-explorer-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        write_rootname(work / "archive", plan_rootname(ROOTNAME, "WFC", ("raw", "flt", "flc"),
                                                       full_size=True, seed=1))
        print(f"full-size WFC raw, flt, flc written in {time.perf_counter() - start:.1f} s")
        with localdb.LocalServer.private(work / "db") as db_server:
            settings = load_settings(environ={}, mongo_uri=db_server.uri, db="bench_explorer",
                                     archive=work / "archive", data=work / "var")
            assert run_ingest(settings, work / "archive", quicklook=False).ok
            rng = random.Random(27)

            server = WebServer("gunicorn", settings, 1, 4, work / "gunicorn.log")
            try:
                browser_phase(server.base, args.stretches, server)
            finally:
                server.stop()

            server = WebServer("gunicorn", settings, 1, 4, work / "gunicorn2.log")
            try:
                urls = tile_urls(server.base, args.tiles, rng)
                cold = timed(urls)
                warm = timed(urls)
                etags = {}
                import urllib.request
                for url in urls:
                    with urllib.request.urlopen(url, timeout=60) as response:
                        etags[url] = response.headers["ETag"]
                revalidated = timed(urls, etags)
                print(f"tiles over HTTP (float32 256 x 256, every level, {load()}):")
                report("cold (first request, app just up)", cold, 200)
                report("warm (read again)", warm, 50)
                report("warm, If-None-Match (304)", revalidated, 50)
            finally:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
