"""`acsq db start|status|stop` drive a real local server; `acsq --help` lists commands."""

import subprocess
import sys

import pymongo
import pytest

from acsq_mongo.cli import COMMANDS, main
from acsq_mongo.db.localserver import free_port


def _acsq(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "acsq_mongo.cli", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.realdb
def test_db_start_status_stop(tmp_path):
    import os

    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}"
    env = {**os.environ, "ACSQ_DATA": str(tmp_path / "var"), "ACSQ_MONGO_URI": uri}
    env.pop("ACSQ_CONFIG", None)

    down = _acsq("db", "status", env=env)
    assert down.returncode == 1 and "down" in down.stdout

    started = _acsq("db", "start", env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert "started SecantusDB" in started.stdout
        assert (tmp_path / "var" / "db" / "localdb.pid").is_file()

        again = _acsq("db", "start", env=env)
        assert again.returncode == 0 and "already answers" in again.stdout

        status = _acsq("db", "status", env=env)
        assert status.returncode == 0
        assert "up: SecantusDB" in status.stdout and "local server pid" in status.stdout

        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        coll = client.acsq_cli_test.rootnames
        coll.insert_one({"_id": "j94f05bg", "headers": {"flt": {"1": {"CCDGAIN": 2.0}}}})
        assert coll.find_one({"headers.flt.1.CCDGAIN": 2.0})["_id"] == "j94f05bg"
        client.close()

        indexes = _acsq("db", "indexes", env=env)
        assert indexes.returncode == 0 and "indexes ensured on SecantusDB" in indexes.stdout
    finally:
        stopped = _acsq("db", "stop", env=env)
    assert stopped.returncode == 0 and "stopped the local server" in stopped.stdout
    # It says how the server went: a clean exit after SIGTERM, or a SIGKILL.
    assert "after SIGTERM" in stopped.stdout or "killed with SIGKILL" in stopped.stdout
    assert not (tmp_path / "var" / "db" / "localdb.pid").exists()
    assert _acsq("db", "status", env=env).returncode == 1
    assert "no local server is running" in _acsq("db", "stop", env=env).stdout

    # The data survive a restart.
    restarted = _acsq("db", "start", env=env)
    try:
        assert restarted.returncode == 0, restarted.stderr
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        assert client.acsq_cli_test.rootnames.find_one({"_id": "j94f05bg"}) is not None
        client.close()
    finally:
        _acsq("db", "stop", env=env)


def test_db_start_says_when_the_server_cannot_start(tmp_path):
    """A server that cannot start is one line with the tail of its log, exit 1."""
    import os

    port = free_port()
    fake = tmp_path / "secantusd-rs"
    fake.write_text("#!/bin/sh\necho 'cannot open the storage: permission denied' >&2\nexit 3\n")
    fake.chmod(0o755)
    env = {**os.environ, "ACSQ_DATA": str(tmp_path / "var"),
           "ACSQ_MONGO_URI": f"mongodb://127.0.0.1:{port}", "ACSQ_LOCALDB_BIN": str(fake)}
    env.pop("ACSQ_CONFIG", None)
    failed = _acsq("db", "start", env=env)
    assert failed.returncode == 1
    assert "exited with status 3" in failed.stderr and "permission denied" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_db_start_refuses_a_remote_uri(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACSQ_DATA", str(tmp_path))
    monkeypatch.setenv("ACSQ_MONGO_URI", "mongodb://db.example.org:27017")
    monkeypatch.setenv("ACSQ_SERVER_TIMEOUT", "0.5")
    assert main(["db", "start"]) == 1
    err = capsys.readouterr().err
    assert "only listens on 127.0.0.1" in err and "Traceback" not in err


def test_help_lists_the_subcommands():
    out = subprocess.run(
        [sys.executable, "-m", "acsq_mongo.cli", "--help"], capture_output=True, text=True
    ).stdout
    present = [name for name in COMMANDS if f"\n    {name} " in out]
    assert "db" in present
    assert present == [name for name in COMMANDS if name in present]


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("colour: blue\n")
    assert main(["--config", str(config), "db", "status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'colour'" in err
