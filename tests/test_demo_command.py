"""`acsq demo` (make demo): local server, sample archive, ingest, web app, end to end."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pymongo
import pytest

from acsq_mongo.db.localserver import free_port


def _env(tmp_path, port):
    env = {**os.environ, "ACSQ_DATA": str(tmp_path / "var"),
           "ACSQ_MONGO_URI": f"mongodb://127.0.0.1:{port}", "ACSQ_DB": "acsq_demo_test"}
    for name in ("ACSQ_CONFIG", "ACSQ_ARCHIVE"):
        env.pop(name, None)
    return env


def _acsq(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "acsq_mongo.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.realdb
def test_demo_sets_everything_up_and_a_second_run_reuses_it(tmp_path):
    env = _env(tmp_path, free_port())
    try:
        first = _acsq("demo", "--no-serve", "--rootnames", "6", "--workers", "0", env=env)
        assert first.returncode == 0, first.stderr
        assert "started SecantusDB" in first.stderr
        assert "writing a sample archive of 6 rootnames" in first.stderr
        client = pymongo.MongoClient(env["ACSQ_MONGO_URI"], serverSelectionTimeoutMS=5000)
        catalog = client.acsq_demo_test.catalog
        n = catalog.count_documents({})
        assert n >= 6
        with_images = catalog.count_documents({"quicklook.thumbnail": {"$exists": True}})
        assert with_images >= 1
        # The sample's proposal-type table is used, as ACSQ_PROPOSAL_TYPES would be.
        assert "proposal types from" in first.stderr
        assert catalog.count_documents({"proposal_type": None}) == 0
        assert any((tmp_path / "var" / "jpegs").rglob("*.jpg"))

        second = _acsq("demo", "--no-serve", "--workers", "0", env=env)
        assert second.returncode == 0, second.stderr
        assert "already answers" in second.stderr
        assert "the sample of an earlier demo" in second.stderr
        assert f"{n} unchanged" in second.stdout
        assert catalog.count_documents({}) == n
        client.close()
    finally:
        _acsq("db", "stop", env=env)


@pytest.mark.realdb
def test_demo_serves_the_web_app(tmp_path):
    env = _env(tmp_path, free_port())
    web = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "acsq_mongo.cli", "demo", "--rootnames", "4", "--workers", "0",
         "--port", str(web)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        page = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=5) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert page is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        assert "<title>Home · ACS Quicklook</title>" in page
        assert any(detector in page for detector in ("WFC", "HRC", "SBC"))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        _acsq("db", "stop", env=env)
