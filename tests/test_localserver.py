"""The local SecantusDB server: both servers start, answer, index, and keep their data.

The Rust server (the default) runs the whole suite; the Python server is the
fallback for machines without a Rust toolchain, and one smoke test here keeps it
honest. Neither skips: ``make`` installs both.
"""

import mmap
import time
from pathlib import Path

import pymongo
import pytest

from acsq_mongo.db.localserver import (
    PYTHON_SERVER,
    RUST_SERVER,
    LocalServer,
    find_binary,
    pinned_versions,
)

pytestmark = pytest.mark.realdb


def _client(server: LocalServer) -> pymongo.MongoClient:
    return pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10000)


def test_the_rust_server_is_preferred_and_the_python_one_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.delenv("PATH", raising=False)  # only where make puts them
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    assert find_binary().name == PYTHON_SERVER  # no Rust build: the fallback
    version = pinned_versions()["SECANTUS_RS_VERSION"]
    built = tmp_path / "cache" / "acsq-mongo" / f"secantus-mdb-{version}" / "bin" / RUST_SERVER
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find_binary() == built
    assert find_binary(kind=PYTHON_SERVER).name == PYTHON_SERVER


def test_the_python_fallback_starts_round_trips_and_uses_an_index(tmp_path):
    with LocalServer.private(tmp_path, kind=PYTHON_SERVER) as server:
        client = _client(server)
        coll = client.smoke.catalog
        coll.insert_many([{"_id": f"j{i:07d}", "exptime": float(i), "detector": "WFC"}
                          for i in range(200)])
        coll.create_index("exptime")
        found = list(coll.find({"exptime": {"$gte": 195.0}}, {"_id": 1}).sort("exptime", 1))
        assert [d["_id"] for d in found] == [f"j{i:07d}" for i in range(195, 200)]
        plan = coll.find({"exptime": {"$gte": 195.0}}).explain()["queryPlanner"]["winningPlan"]
        assert "IXSCAN" in str(plan) and "COLLSCAN" not in str(plan)
        pinned = pinned_versions()["SECANTUS_PY_VERSION"]
        assert client.admin.command("buildInfo")["secantusVersion"] == pinned
        client.close()


_MARKER = b"acsq-journal-marker-5f3c"


def _in_journal(data_dir: Path) -> bool:
    """Whether the marker is in WiredTiger's journal files (in the page cache or on disk)."""
    for path in data_dir.glob("WiredTigerLog.*"):
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            if m.find(_MARKER) >= 0:
                return True
    return False


@pytest.mark.parametrize("how", ["stop", "kill -9"])
def test_data_written_before_a_stop_or_a_crash_are_there_after_a_restart(tmp_path, how):
    """A clean stop keeps every acknowledged write; a kill -9 keeps what reached the journal.

    As on mongod (w:1, j:false), an acknowledged write reaches the journal within
    a fraction of a second (measured: 0.1-0.7 s). SecantusDB's Rust server does
    not yet wait for it on writeConcern j:true or fsync, so the test waits for the
    journal to hold its last write, then kills: recovery must replay everything.
    """
    server = LocalServer.private(tmp_path)
    server.start()
    try:
        client = _client(server)
        coll = client.durable.rootnames
        coll.insert_many([{"_id": f"j{i:07d}", "n": i} for i in range(500)])
        coll.update_one({"_id": "j0000007"}, {"$set": {"n": -7, "mark": _MARKER.decode()}})
        client.close()
        if how == "kill -9":
            deadline = time.monotonic() + 60
            while not _in_journal(server.data_dir) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _in_journal(server.data_dir), "acknowledged writes never reached the journal"
    finally:
        if how == "stop":
            message = server.stop()
            assert "after SIGTERM" in message or "SIGKILL" in message
        else:
            server.kill()
    assert server.process.poll() is not None

    again = LocalServer(binary=server.binary, host=server.host, port=server.port,
                        data_dir=server.data_dir, log_path=server.log_path)
    with again:
        client = _client(again)
        coll = client.durable.rootnames
        assert coll.count_documents({}) == 500
        assert coll.find_one({"_id": "j0000007"})["n"] == -7
        assert sorted(d["n"] for d in coll.find({}, {"n": 1}))[-1] == 499
        client.close()
