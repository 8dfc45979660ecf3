"""``acsq serve``: the web app on 127.0.0.1, as an analyst starts it from a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from query_documents import load, make_documents

from acsq_mongo.cli import main
from acsq_mongo.db.localserver import free_port


def _get(url: str, timeout: float = 20.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_acsq_serve_answers_on_the_port_it_was_given(real_db, real_settings, tmp_path):
    docs = make_documents(12)
    load(real_db, docs)
    port = free_port()
    env = {**os.environ, "ACSQ_MONGO_URI": real_settings.mongo_uri, "ACSQ_DB": real_settings.db,
           "ACSQ_DATA": str(tmp_path)}
    env.pop("ACSQ_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "acsq_mongo.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        status, html = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "12 rootnames" in html
        status, body = _get(f"http://127.0.0.1:{port}/query.json?detector=WFC")
        assert status == 200 and f'"count": {sum(d["detector"] == "WFC" for d in docs)}' in body
        status, _ = _get(f"http://127.0.0.1:{port}/archive/1/nosuch01q/")
        assert status == 404
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in stderr and "Traceback" not in stderr


def test_acsq_serve_help_and_a_bad_port(capsys):
    try:
        main(["serve", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "127.0.0.1" in out
    assert main(["serve", "--port", "70000"]) == 1
    assert "--port must be 1-65535" in capsys.readouterr().err
