"""Distributed ingest: the same documents on Dask as in one process, whatever happens to the run.

Given the sample archive, when it is ingested on a LocalCluster (or a
worker is killed, a task fails, the user presses Ctrl-C), the database ends
up holding what an in-process ingest writes: no rootname missing, none twice.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pymongo.errors
import pytest
from held_run import wait_until_held

import acsq_mongo.ingest.batch
from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, PROPOSALS, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.localserver import free_port
from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import IMAGE_FILETYPES
from acsq_mongo.ingest.batch import InProcessRunner
from acsq_mongo.ingest.dask_runner import DaskRunner, make_runner
from acsq_mongo.ingest.dask_worker import capture_logs, replay_records
from acsq_mongo.ingest.run import run_ingest

#: Fields that differ between two ingests of the same files.
_VOLATILE = ("first_ingest_date", "last_ingest_date")


def _comparable(doc: dict) -> dict:
    doc = {k: v for k, v in doc.items() if k not in _VOLATILE}
    if "errors" in doc:
        doc["errors"] = [{k: v for k, v in e.items() if k != "time"} for e in doc["errors"]]
    return doc


def _documents(db, collection: str) -> dict[str, dict]:
    return {d["_id"]: _comparable(d) for d in db[collection].find()}


def _proposals(db) -> dict:
    return {p["_id"]: {k: v for k, v in p.items() if k != "updated"}
            for p in db[PROPOSALS].find()}


@pytest.fixture
def reference(real_settings, sample_archive, tmp_path):
    """The sample archive ingested in this process (with quicklooks), in its own database."""
    settings = real_settings.replace(db=real_settings.db + "_ref", data=tmp_path / "ref")
    summary = run_ingest(settings, sample_archive.root)
    assert summary.ok and summary.ingested == 32
    db = connect(settings)
    yield db
    db.client.drop_database(settings.db)
    db.client.close()


def _assert_same_as(reference, db) -> None:
    for collection in (ROOTNAMES, CATALOG):
        mine, theirs = _documents(db, collection), _documents(reference, collection)
        assert sorted(mine) == sorted(theirs), collection
        for _id in theirs:
            assert mine[_id] == theirs[_id], (collection, _id)
    assert _proposals(db) == _proposals(reference)
    assert db[INGEST_ERRORS].count_documents({}) == 0


def test_a_local_cluster_of_two_processes_writes_what_one_process_writes(
        real_settings, real_db, sample_archive, reference):
    settings = real_settings.replace(workers=2, batch_size=5)
    lines = []
    with DaskRunner(settings, notify=lines.append) as runner:
        summary = run_ingest(settings, sample_archive.root, runner=runner)
        client = runner.start()
        workers = client.run(os.getpid)
    assert summary.ok and summary.ingested == 32 and summary.failed == 0
    images = sum(ft in r.filetypes for r in sample_archive.rootnames for ft in IMAGE_FILETYPES)
    assert summary.quicklooks_made == images
    # Two worker processes, neither of them this one, did the work.
    assert len(workers) == 2 and os.getpid() not in workers.values()
    assert lines and "LocalCluster, 2 workers" in lines[0] and "dashboard http" in lines[0]
    _assert_same_as(reference, real_db)
    # The images were drawn by the workers, into this run's ACSQ_DATA, as in one process.
    for doc in real_db[CATALOG].find({}, {"quicklook": 1}):
        for path in _image_paths(doc.get("quicklook") or {}):
            ref = settings.data.parent / "ref" / path
            assert (settings.data / path).read_bytes() == ref.read_bytes(), path
    # The workers' log lines are in the run log, once each.
    text = summary.log_path.read_text()
    for r in sample_archive.rootnames:
        assert text.count(f"{r.rootname}: Begin ingestion") == 1, r.rootname
        assert text.count(f"{r.rootname}: End ingestion") == 1, r.rootname
    assert "Dask: LocalCluster" in text and "Summary: 32 rootnames" in text


def _image_paths(quicklook: dict) -> list[str]:
    paths = [v for k, v in quicklook.items() if isinstance(v, str)]
    return paths + list((quicklook.get("preview") or {}).values())


def test_a_task_that_raises_is_retried_once_and_the_run_carries_on(
        real_settings, real_db, sample_archive, monkeypatch):
    """A threaded cluster in this process, so that the failure can be planted."""
    from distributed import Client, LocalCluster

    names = sorted(r.rootname for r in sample_archive.rootnames)   # the order of the batches
    flaky, broken = names[3], names[21]
    calls: dict[str, int] = {}
    real_ingest = acsq_mongo.ingest.batch.ingest_rootname

    def planted(db, settings, folder, **kwargs):
        calls[folder.rootname] = calls.get(folder.rootname, 0) + 1
        if folder.rootname == broken or (folder.rootname == flaky
                                         and calls[folder.rootname] == 1):
            raise pymongo.errors.AutoReconnect(f"connection reset ({folder.rootname})")
        return real_ingest(db, settings, folder, **kwargs)

    monkeypatch.setattr(acsq_mongo.ingest.batch, "ingest_rootname", planted)
    settings = real_settings.replace(batch_size=4)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        with DaskRunner(settings, client=client, threads=1) as runner:
            summary = run_ingest(settings, sample_archive.root, quicklook=False, runner=runner)
    # The flaky rootname's task ran twice and then succeeded; the broken one ran twice.
    assert calls[flaky] == 2 and calls[broken] == 2
    batch = names[20:24]   # the broken rootname's batch of 4
    # The retry found what its first attempt had written: "unchanged".
    assert summary.failed == 4 and summary.ingested + summary.unchanged == 28
    assert not summary.ok
    errors = list(real_db[INGEST_ERRORS].find({}, {"_id": 0}))
    assert sorted(e["rootname"] for e in errors) == sorted(batch)
    assert all(e["stage"] == "ingest" and "retried once" in e["error"]
               and "AutoReconnect" in e["error"] for e in errors)
    assert any(f"connection reset ({broken})" in f for f in summary.failures)
    assert real_db[CATALOG].find_one({"rootname": flaky}) is not None
    assert real_db[CATALOG].count_documents({}) >= 28
    # A rerun, with the fault gone, converges: every rootname, once.
    monkeypatch.setattr(acsq_mongo.ingest.batch, "ingest_rootname", real_ingest)
    again = run_ingest(settings, sample_archive.root, quicklook=False)
    assert again.ok and real_db[CATALOG].count_documents({}) == 32
    assert real_db[ROOTNAMES].count_documents({}) == 32


# ----------------------------------------------------------------------------
# The command line in a subprocess: kill -9 a worker, Ctrl-C


def _env(settings, archive, hold: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(ACSQ_MONGO_URI=settings.mongo_uri, ACSQ_DB=settings.db,
               ACSQ_DATA=str(settings.data), ACSQ_ARCHIVE=str(archive))
    if hold is not None:
        env["ACSQ_TEST_HOLD"] = str(hold)
    return env


def _acsq(*args: str) -> list[str]:
    return [sys.executable, "-m", "acsq_mongo.cli", *args]


def _workers(pid: int) -> list[psutil.Process]:
    """The Dask worker processes under ``pid``."""
    return [p for p in psutil.Process(pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline()) and "resource_tracker" not in
            " ".join(p.cmdline())]


def _no_stray_images(settings) -> None:
    """Every image belongs to a stored document, and no temporary file is left."""
    on_disk = {p.relative_to(settings.data).as_posix()
               for folder in ("jpegs", "thumbnails") if (settings.data / folder).is_dir()
               for p in (settings.data / folder).rglob("*") if p.is_file()}
    db = connect(settings)
    recorded = {path for doc in db[CATALOG].find({}, {"quicklook": 1})
                for path in _image_paths(doc.get("quicklook") or {})}
    db.client.close()
    assert on_disk == recorded


def test_a_worker_killed_mid_rootname_costs_only_time(real_settings, real_db, sample_archive,
                                                      reference, tmp_path):
    """kill -9 of the worker that has drawn a rootname's images but not stored it yet."""
    victim = sorted(r.rootname for r in sample_archive.rootnames)[5]
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / f"images.{victim}").touch()
    proc = subprocess.Popen(
        _acsq("ingest", "--workers", "2", "--batch-size", "1"),
        env=_env(real_settings, sample_archive.root, hold), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        pid = wait_until_held(hold, "images", victim, proc)
        assert pid in [w.pid for w in _workers(proc.pid)]
        assert real_db[CATALOG].find_one({"rootname": victim}) is None
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    # The killed worker's batch ran again elsewhere; a rootname it had stored is found
    # unchanged on its second run.
    counts = re.search(r"32 rootnames in .* s: (\d+) ingested, (\d+) unchanged, 0 failed", out)
    assert counts and int(counts[1]) + int(counts[2]) == 32, out
    # The killed worker's lines are lost with it; each rootname ingested in the end has its
    # story in the run log (one found unchanged on its second run has nothing to tell).
    log_text = Path(out.split("log: ")[1].strip()).read_text()
    ended = [r.rootname for r in sample_archive.rootnames
             if f"{r.rootname}: End ingestion" in log_text]
    assert len(ended) == int(counts[1]) and victim in ended
    _assert_same_as(reference, real_db)
    _no_stray_images(real_settings)


def _sigint_as_in_a_terminal() -> None:
    """SIGINT's default action in the child, as for a command run in a terminal.

    A process started in the background by a non-interactive shell (``make test &``, some
    CI runners) ignores SIGINT, and so would the CLI it starts: Python keeps an ignored
    SIGINT ignored, and the Ctrl-C would never arrive.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_a_rerun_converges(real_settings, real_db, sample_archive,
                                                    reference, tmp_path):
    held = sorted(r.rootname for r in sample_archive.rootnames)[12]
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / f"begin.{held}").touch()
    env = _env(real_settings, sample_archive.root, hold)
    # Files, not pipes: the CLI's exit is what is awaited, not that of every process that
    # inherited its output.
    with open(tmp_path / "out", "w+") as out_file, open(tmp_path / "err", "w+") as err_file:
        proc = subprocess.Popen(_acsq("ingest", "--workers", "2", "--batch-size", "1"),
                                env=env, stdout=out_file, stderr=err_file, text=True,
                                start_new_session=True, preexec_fn=_sigint_as_in_a_terminal)
        try:
            wait_until_held(hold, "begin", held, proc)       # the run cannot end before the Ctrl-C
            workers = _workers(proc.pid)
            os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal does: the group
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run again to finish" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Summary" not in out
    # The cluster went with it, the held worker too.
    assert len(workers) == 2
    psutil.wait_procs(workers, timeout=10)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    interrupted_at = real_db[CATALOG].count_documents({})
    assert real_db[CATALOG].find_one({"rootname": held}) is None and interrupted_at < 32
    logs = sorted(real_settings.logs_dir.glob("ingest_*.log"))
    assert "Interrupted after" in logs[-1].read_text()
    # Run again: the rest is ingested, what was there is not duplicated.
    (hold / f"begin.{held}").unlink()
    rerun = subprocess.run(_acsq("ingest", "--workers", "2"), env=env, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{32 - interrupted_at} ingested, {interrupted_at} unchanged" in rerun.stdout
    _assert_same_as(reference, real_db)
    _no_stray_images(real_settings)


# ----------------------------------------------------------------------------
# Smaller pieces


def test_workers_zero_runs_in_this_process_and_mongomock_always_does(mock_settings,
                                                                     real_settings):
    assert isinstance(make_runner(real_settings.replace(workers=0)), InProcessRunner)
    assert isinstance(make_runner(real_settings.replace(workers=2)), DaskRunner)
    # A mongomock store lives in one process's memory: workers could not see it.
    assert isinstance(make_runner(mock_settings.replace(workers=2)), InProcessRunner)


def test_bad_cluster_settings_and_an_unreachable_scheduler_are_clear_errors(real_settings):
    with pytest.raises(AcsqError, match="batch_size"):
        DaskRunner(real_settings.replace(batch_size=0))
    with pytest.raises(AcsqError, match="workers"):
        DaskRunner(real_settings.replace(workers=-1))
    with pytest.raises(AcsqError, match="'scheduler' must be an address such as tcp://"):
        DaskRunner(real_settings.replace(scheduler="tcp//dask-scheduler")).start()
    address = f"tcp://127.0.0.1:{free_port()}"
    runner = DaskRunner(real_settings.replace(scheduler=address, server_timeout=1))
    with pytest.raises(AcsqError, match=f"cannot reach the Dask scheduler at {address}"):
        runner.start()
    runner.close()


def test_each_batch_captures_only_its_own_log_lines():
    log = logging.getLogger("acsq_mongo.test")
    got: dict[str, list] = {}

    def batch(name: str) -> None:
        with capture_logs("INFO") as records:
            for i in range(50):
                log.info("%s line %d", name, i)
                time.sleep(0)
        got[name] = records

    threads = [threading.Thread(target=batch, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("a", "b"):
        messages = [r[3] for r in got[name]]
        assert messages == [f"{name} line {i}" for i in range(50)]
        assert all(r[1] == logging.INFO and r[2] == "acsq_mongo.test" for r in got[name])


def test_replayed_records_keep_the_worker_time_and_skip_this_process(caplog):
    caplog.set_level(logging.INFO, logger="acsq_mongo")
    when = time.time() - 3600
    n = replay_records([(when, logging.ERROR, "acsq_mongo.ingest.rootname", "j1: bad file", 1),
                        (when, logging.INFO, "acsq_mongo.ingest.rootname", "mine", os.getpid()),
                        (when, logging.DEBUG, "acsq_mongo.ingest.rootname", "below the level", 1)])
    assert n == 1
    [record] = [r for r in caplog.records if r.getMessage() == "j1: bad file"]
    assert record.levelno == logging.ERROR and record.created == when and record.process == 1
    assert not any(r.getMessage() in ("mine", "below the level") for r in caplog.records)


def test_workers_racing_to_create_the_generation_do_not_fail(real_db):
    """Dask workers' first writes all bump a generation that does not exist yet, and may
    store the same new rootname: one atomic upsert each, no duplicate-key error."""
    from acsq_mongo.db.generation import bump_generation, generation, upsert_by_id

    failures = []

    def bump(start: threading.Barrier) -> None:
        start.wait()
        try:
            bump_generation(real_db)
            upsert_by_id(real_db["catalog"], "j8zh21xv", {"_id": "j8zh21xv", "n": 1})
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            failures.append(exc)

    for _ in range(10):   # the race is lost only now and then (1 in 5 without the fix)
        real_db["meta"].delete_one({"_id": "generation"})
        real_db["catalog"].delete_one({"_id": "j8zh21xv"})
        start = threading.Barrier(8)
        threads = [threading.Thread(target=bump, args=(start,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert real_db["meta"].count_documents({"_id": "generation"}) == 1
        assert real_db["catalog"].count_documents({"_id": "j8zh21xv"}) == 1
        assert generation(real_db) is not None


def test_the_worker_preload_drops_only_the_closing_heartbeat_traceback(caplog):
    """The Ctrl-C test saw, now and then, a worker's heartbeat traceback on the terminal:
    the cluster closed while a heartbeat was in flight. The preload filters that one record."""
    import logging

    from acsq_mongo.ingest.dask_worker import HEARTBEAT_FILTER, dask_setup

    logger = logging.getLogger("distributed.worker")
    try:
        dask_setup()
        dask_setup()   # a restarted worker's preload: still one filter
        assert logger.filters.count(HEARTBEAT_FILTER) == 1
        with caplog.at_level(logging.WARNING, logger="distributed.worker"):
            try:
                raise OSError("Stream is closed")
            except OSError:
                logger.exception("Failed to communicate with scheduler during heartbeat.")
            logger.error("Worker is at %d%% memory usage", 95)
        assert [r.getMessage() for r in caplog.records] == ["Worker is at 95% memory usage"]
    finally:
        logger.removeFilter(HEARTBEAT_FILTER)
        signal.signal(signal.SIGINT, signal.default_int_handler)
