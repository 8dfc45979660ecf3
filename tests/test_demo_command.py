"""`acsq demo` (make demo): local server, sample archive, ingest, web app, end to end."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pymongo
import pymongo.errors
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
        # --no-serve leaves the server running for `acsq query`, and says how to stop it.
        pid = int(re.search(r"started SecantusDB.*\(pid (\d+),", first.stderr).group(1))
        for run in (first, second):
            assert (f"the local server is still running (pid {pid}, data in "
                    f"{tmp_path / 'var' / 'db' / 'data'})") in run.stderr
            assert "stop it with `acsq db stop`" in run.stderr
        assert "as it was before the demo" in second.stderr
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
        # Ctrl-C stops the web app and the local server this demo started, and says so.
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        pid = int(re.search(r"started SecantusDB.*\(pid (\d+),", err).group(1))
        assert re.search(rf"stopped the local server \(pid {pid}\): exited cleanly .*; it was "
                         "started by this demo", err), err
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
            f"/proc/{pid}/stat").read_text().split(")")[-1].split()[:1]
        with pytest.raises(pymongo.errors.ServerSelectionTimeoutError):
            pymongo.MongoClient(env["ACSQ_MONGO_URI"], serverSelectionTimeoutMS=1000
                                ).admin.command("ping")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        _acsq("db", "stop", env=env)
