"""The production ingest of new data (cron) and the lock that keeps runs from overlapping.

Given an ingested archive, when new rootnames arrive and files change, the
production script ingests exactly those and leaves the rest alone; with
nothing new it does nothing and says so; while another run holds the lock it
stops at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.generation import generation
from acsq_mongo.ingest.run_lock import LOCKED_EXIT_STATUS, IngestLocked, ingest_lock, lock_path
from acsq_mongo.sample import plan_rootname, write_rootname

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ingest_production.py"


def _env(settings, archive) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(ACSQ_MONGO_URI=settings.mongo_uri, ACSQ_DB=settings.db,
               ACSQ_DATA=str(settings.data), ACSQ_ARCHIVE=str(archive))
    return env


def _production(settings, archive, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=_env(settings, archive),
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def _last_ingest_dates(db) -> dict[str, object]:
    return {d["_id"]: d["last_ingest_date"]
            for d in db[CATALOG].find({}, {"last_ingest_date": 1})}


def test_production_ingest_takes_new_and_changed_rootnames_and_nothing_else(
        real_settings, real_db, sample_archive_copy):
    archive = sample_archive_copy.root
    # The first run: everything is new. On Dask, from the script, as cron runs it.
    first = _production(real_settings, archive, "--workers", "2", "--no-quicklook")
    assert first.returncode == 0, first.stderr
    assert "32 ingested" in first.stdout and "Dask: LocalCluster" in first.stderr
    logs = sorted(real_settings.logs_dir.glob("ingest_production_*.log"))
    assert logs and "Summary: 32 rootnames" in logs[-1].read_text()
    assert real_db[CATALOG].count_documents({}) == 32

    # Nothing new: exit 0, no cluster started, nothing written (not even last_ingest_date).
    before, token = _last_ingest_dates(real_db), generation(real_db)
    idle = _production(real_settings, archive, "--workers", "2")
    assert idle.returncode == 0, idle.stderr
    assert "nothing new to ingest (32 rootnames unchanged)" in idle.stdout
    assert "Dask" not in idle.stderr
    assert generation(real_db) == token and _last_ingest_dates(real_db) == before
    assert "Nothing to ingest" in sorted(
        real_settings.logs_dir.glob("ingest_production_*.log"))[-1].read_text()

    # A new rootname arrives and a file of another changes.
    new = write_rootname(archive, plan_rootname("jnew01abq", "HRC", ["raw", "flt", "spt"],
                                                seed=7))
    changed = sample_archive_copy.rootnames[5]
    spt = archive / changed.path / f"{changed.rootname}_spt.fits"
    stamp = spt.stat().st_mtime + 60
    os.utime(spt, (stamp, stamp))
    time.sleep(0.01)   # last_ingest_date has millisecond precision
    third = _production(real_settings, archive, "--workers", "0", "--no-quicklook")
    assert third.returncode == 0, third.stderr
    assert "2 rootnames" in third.stdout and "2 ingested" in third.stdout
    assert "31 unchanged rootnames not visited" in third.stdout
    # The new rootname's 3 files, and of the changed one only its spt, are read.
    assert f"{3 + len(changed.filetypes)} files (4 read)" in third.stdout
    after = _last_ingest_dates(real_db)
    assert set(after) == set(before) | {new.rootname[:8]}
    touched = {_id for _id in before if after[_id] != before[_id]}
    assert touched == {changed.rootname[:8]}
    stored = real_db[ROOTNAMES].find_one({"_id": changed.rootname[:8]}, {"files": 1})
    assert stored["files"]["spt"]["mtime_ns"] == spt.stat().st_mtime_ns


def test_a_second_run_stops_at_once_while_another_holds_the_lock(real_settings, real_db,
                                                                 sample_archive, monkeypatch):
    for name, value in _env(real_settings, sample_archive.root).items():
        if name.startswith("ACSQ_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    with ingest_lock(real_settings, command="acsq ingest (the long one)"):
        second = _production(real_settings, sample_archive.root, "--workers", "0")
        # The CLI too, in this very process: the lock is per open file, not per process.
        assert main(["ingest", "--workers", "0"]) == LOCKED_EXIT_STATUS
        assert main(["reingest", "--where", "{}", "--workers", "0"]) == LOCKED_EXIT_STATUS
    assert second.returncode == LOCKED_EXIT_STATUS == 75
    assert "another ingest is running" in second.stderr
    assert f"pid {os.getpid()}" in second.stderr and "the long one" in second.stderr
    # It did nothing at all: no log, no documents.
    assert not list(real_settings.logs_dir.glob("ingest_production_*.log"))
    assert real_db[CATALOG].count_documents({}) == 0
    # Once the lock is free, the next run goes ahead.
    assert _production(real_settings, sample_archive.root, "--workers", "0",
                       "--no-quicklook").returncode == 0
    assert real_db[CATALOG].count_documents({}) == 32


def test_the_lock_dies_with_its_holder(mock_settings):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from acsq_mongo.settings import load_settings\n"
         "from acsq_mongo.ingest.run_lock import ingest_lock\n"
         # (the lock's lease lives in the database: this process's own mongomock one)
         f"settings = load_settings(environ={{}}, data={str(mock_settings.data)!r}, "
         f"mongo_uri={mock_settings.mongo_uri!r})\n"
         "with ingest_lock(settings):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IngestLocked, match=f"pid {holder.pid}"):
            with ingest_lock(mock_settings):
                pass
        holder.kill()                                   # kill -9: no clean-up ran
        holder.wait(10)
        assert lock_path(mock_settings).exists()        # the file stays, harmlessly
        with ingest_lock(mock_settings) as path:
            assert f"pid {os.getpid()}" in path.read_text()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_new_cannot_be_mixed_with_force_or_a_selection(mock_settings, sample_archive, capsys,
                                                       monkeypatch):
    monkeypatch.setenv("ACSQ_MONGO_URI", mock_settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DATA", str(mock_settings.data))
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(sample_archive.root), "--new", "--force"])
    assert exit_info.value.code == 2
    assert main(["ingest", str(sample_archive.root), "--new", "--rootnames", "jx4702dgq"]) == 2
    assert "--new looks at the whole archive" in capsys.readouterr().err


def test_the_script_passes_config_and_options_to_acsq_ingest_new():
    namespace: dict = {}
    exec(compile(SCRIPT.read_text(), str(SCRIPT), "exec"), namespace)   # not as __main__
    argv = namespace["production_argv"]
    assert argv([]) == ["ingest", "--new"]
    assert argv(["--workers", "4", "--config", "/etc/acsq.yaml", "/archive"]) == [
        "--config", "/etc/acsq.yaml", "ingest", "--new", "--workers", "4", "/archive"]


def test_the_compose_ingest_runs_the_production_ingest_on_the_compose_cluster():
    import yaml

    from acsq_mongo.cli import build_parser

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    command = services["ingest"]["command"]
    assert command[0] == "acsq"
    parser, _ = build_parser()
    args = parser.parse_args(command[1:])            # options this CLI really has
    assert args.command == "ingest" and args.new and not args.force
    scheduler = args.scheduler
    assert scheduler == "tcp://dask-scheduler:8786"
    assert scheduler in services["dask-worker"]["command"]
    assert services["dask-scheduler"]["command"][:2] == ["dask", "scheduler"]
    # Workers see the archive and ACSQ_DATA where the ingest client does.
    for key in ("volumes", "environment", "image"):
        assert services["dask-worker"][key] == services["ingest"][key], key
