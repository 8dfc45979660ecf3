"""What the benchmarks share: the archive they ingest, the web app they run, how they time it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from acsq_mongo.db import localserver as localdb
from acsq_mongo.sample import MANIFEST_NAME, SampleArchive, make_sample_archive, read_manifest


def sample_archive(given: Path | None, work: Path, rootnames: int, seed: int) -> SampleArchive:
    """Return the sample archive to benchmark on, writing it if needed.

    Parameters
    ----------
    given : Path or None
        ``--archive``: an archive written by ``acsq sample`` to reuse, or a folder to
        write one into (kept, so the next run reuses it). None: a new archive under
        ``work``.
    work : Path
        The benchmark's temporary folder.
    rootnames, seed : int
        Size and seed of an archive that has to be written.
    """
    root = (given or work / "archive").resolve()
    if (root / MANIFEST_NAME).exists():
        return read_manifest(root)
    print(f"sample archive: {rootnames} rootnames in {root} ...", flush=True)
    start = time.perf_counter()
    sample = make_sample_archive(root, rootnames, seed=seed)
    print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)
    return sample


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def fetch_body(url: str) -> tuple[float, int, bytes]:
    """GET ``url``: (seconds, HTTP status, body)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return time.perf_counter() - start, status, body


def fetch(url: str) -> tuple[float, int, int]:
    """GET ``url``: (seconds, HTTP status, size of the body)."""
    seconds, status, body = fetch_body(url)
    return seconds, status, len(body)


class WebServer:
    """The web app under gunicorn (a subprocess) or werkzeug (a thread), on 127.0.0.1."""

    def __init__(self, kind: str, settings, workers: int, threads: int, log: Path) -> None:
        self.kind = kind
        self.port = localdb.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if kind == "gunicorn":
            env = {**os.environ, "ACSQ_MONGO_URI": settings.mongo_uri, "ACSQ_DB": settings.db,
                   "ACSQ_DATA": str(settings.data), "ACSQ_ARCHIVE": str(settings.archive),
                   "ACSQ_SERVER_TIMEOUT": "30"}
            env.pop("ACSQ_CONFIG", None)
            self._log = open(log, "wb")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(workers), "--worker-class", "gthread",
                 "--threads", str(threads),
                 "--timeout", "120", "webapp.wsgi:app_from_environment()"],
                env=env, stdout=self._log, stderr=subprocess.STDOUT,
            )
        else:
            from werkzeug.serving import make_server

            from webapp import create_app

            self.server = make_server("127.0.0.1", self.port, create_app(settings),
                                      threaded=True)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                if fetch(self.base + "/static/style.css")[1] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the web app did not start; see {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.kind == "gunicorn":
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self._log.close()
        else:
            self.server.shutdown()
