"""Take the README's screenshot of the web app from the demo's sample archive.

Writes the demo's sample archive (60 rootnames, seed 1), ingests it with
quicklook images into a private local server, serves the app on a free
loopback port and saves one page with Debian's headless Chromium, driven by
Playwright as tests/test_web_browser.py does::

    .venv/bin/python scripts/docs_screenshot.py [--page /archive/14461/] [--out PNG]

Everything lives in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from acsq_mongo.db.localserver import LocalServer
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive
from acsq_mongo.settings import load_settings
from webapp import create_app

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="/archive/14461/", help="the page to show")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/_static/webapp-gallery.png")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=640)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalServer.private(Path(tmp)) as server:
        archive = make_sample_archive(Path(tmp) / "sample-archive", 60, seed=1).root
        settings = load_settings(environ={}, mongo_uri=server.uri, data=Path(tmp) / "var",
                                 archive=archive, workers=0,
                                 proposal_types=archive / "proposal_types.csv")
        assert run_ingest(settings, archive, quicklook=True).ok
        httpd = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(f"http://127.0.0.1:{httpd.server_port}{args.page}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            httpd.shutdown()
            thread.join(10)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
