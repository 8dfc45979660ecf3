"""Kill the ingest at known steps; a rerun loses nothing.

Given an archive with bad files in it, when a Dask worker, the Dask
scheduler, the ``acsq ingest`` process or the database server is killed with
SIGKILL while the run is held at a known step (acsq_mongo.ingest.hold), and
what died is restarted and the ingest run again, the database and the image
folder are what one clean ingest makes: every rootname once, every bad file
reported, no partial or orphan image, no temporary file. The 100 random
kills of ``scripts/chaos_ingest.py`` are the same checks at random moments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from held_run import wait_until_held

from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, PROPOSALS
from acsq_mongo.db.connection import connect
from acsq_mongo.db.localserver import LocalServer, free_port
from acsq_mongo.images.scratch import remove_leftovers, scratch_dir, scratch_path
from acsq_mongo.ingest.consistency import FILE_STAGES, compare_with_reference
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive
from acsq_mongo.sample.damage import add_bad_files
from acsq_mongo.settings import load_settings

pytestmark = pytest.mark.realdb


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A sample archive of 8 rootnames with its bad files, and what they are."""
    archive = make_sample_archive(tmp_path_factory.mktemp("damaged") / "archive", 8, seed=5)
    bad = add_bad_files(archive, seed=5)
    return archive, bad


@pytest.fixture(scope="module")
def reference(real_server_uri, damaged, tmp_path_factory):
    """The damaged archive ingested once, in this process: (db, data, bad paths)."""
    archive, bad = damaged
    settings = load_settings(environ={}, mongo_uri=real_server_uri,
                             db=f"acsq_kills_ref_{os.getpid()}",
                             data=tmp_path_factory.mktemp("reference") / "var")
    run_ingest(settings, archive.root)
    db = connect(settings)
    bad_paths = {e["path"] for e in db[INGEST_ERRORS].find({"stage": {"$in": list(FILE_STAGES)}})}
    assert bad_paths == {b.path for b in bad if b.kind != "NaN image"}
    yield db, settings.data, bad_paths
    db.client.drop_database(settings.db)
    db.client.close()


def _env(settings, archive, hold: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(ACSQ_MONGO_URI=settings.mongo_uri, ACSQ_DB=settings.db,
               ACSQ_DATA=str(settings.data), ACSQ_ARCHIVE=str(archive),
               ACSQ_TEST_HOLD=str(hold), **extra)
    return env


def _ingest(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "acsq_mongo.cli", "ingest", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _hold(tmp_path: Path, step: str, rootname: str | None = None) -> Path:
    folder = tmp_path / "hold"
    folder.mkdir(exist_ok=True)
    (folder / (f"{step}.{rootname}" if rootname else step)).touch()
    return folder


def _finish(proc, timeout: float = 300.0) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, out, err


def _rerun(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    rerun = subprocess.run([sys.executable, "-m", "acsq_mongo.cli", "ingest", *args], env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode in (0, 1) and "rootnames in" in rerun.stdout, rerun.stderr
    return rerun


def _assert_whole(settings, reference) -> None:
    ref_db, ref_data, bad_paths = reference
    db = connect(settings)
    try:
        assert compare_with_reference(db, settings.data, ref_db, ref_data, bad_paths) == []
    finally:
        db.client.close()


def _worker_pids(pid: int) -> list[int]:
    return [p.pid for p in psutil.Process(pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())]


def test_a_worker_killed_with_a_bad_rootname_queued_loses_none_of_its_errors(
        real_settings, damaged, reference, tmp_path):
    archive, bad = damaged
    victim = next(b.rootname for b in bad if b.kind == "truncated")
    hold = _hold(tmp_path, "stored", victim)
    env = _env(real_settings, archive.root, hold)
    proc = _ingest(env, "--workers", "2", "--batch-size", "1")
    pid = wait_until_held(hold, "stored", victim, proc)
    assert pid in _worker_pids(proc.pid)
    os.kill(pid, signal.SIGKILL)
    status, out, err = _finish(proc)
    assert status == 1, err   # the bad files: something failed
    _rerun(env, "--workers", "2")
    _assert_whole(real_settings, reference)


def test_a_worker_killed_once_its_batch_is_written_leaves_it_stored_for_the_rerun(
        real_settings, real_db, damaged, reference, tmp_path):
    archive, bad = damaged
    victim = next(b.rootname for b in bad if b.kind == "truncated")
    hold = _hold(tmp_path, "written", victim)
    env = _env(real_settings, archive.root, hold)
    proc = _ingest(env, "--workers", "2", "--batch-size", "1")
    pid = wait_until_held(hold, "written", victim, proc)
    assert pid in _worker_pids(proc.pid)
    # Held after the write: the document and its errors are in the database.
    assert real_db[CATALOG].count_documents({"_id": victim[:8]}) == 1
    assert real_db[INGEST_ERRORS].count_documents({"rootname": victim}) >= 1
    os.kill(pid, signal.SIGKILL)
    _finish(proc)
    _rerun(env, "--workers", "2")
    _assert_whole(real_settings, reference)


def test_the_ingest_killed_before_its_summaries_leaves_them_to_the_rerun(
        real_settings, real_db, damaged, reference, tmp_path):
    archive, _ = damaged
    hold = _hold(tmp_path, "summaries")
    env = _env(real_settings, archive.root, hold)
    proc = _ingest(env, "--workers", "2", "--batch-size", "2")
    pid = wait_until_held(hold, "summaries", None, proc)
    assert pid == proc.pid            # the client, with every document stored
    workers = [psutil.Process(p) for p in _worker_pids(proc.pid)]
    assert real_db[CATALOG].count_documents({}) == 8 and real_db[PROPOSALS].count_documents({}) == 0
    proc.kill()
    _finish(proc)
    # Its LocalCluster's workers went with it.
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    rerun = _rerun(env, "--workers", "2")
    assert "8 unchanged" in rerun.stdout
    _assert_whole(real_settings, reference)


def test_the_ingest_killed_mid_rootname_then_a_forced_rerun(real_settings, damaged, reference,
                                                            tmp_path):
    archive, bad = damaged
    victim = next(b.rootname for b in bad if b.kind == "NaN image")
    hold = _hold(tmp_path, "images", victim)
    env = _env(real_settings, archive.root, hold)
    proc = _ingest(env, "--workers", "1", "--batch-size", "1")
    wait_until_held(hold, "images", victim, proc)
    proc.kill()                       # its images are drawn, its document is not stored
    _finish(proc)
    _rerun(env, "--workers", "1", "--force")
    _assert_whole(real_settings, reference)


def test_images_left_half_written_by_a_killed_writer_are_removed_by_the_next_ingest(
        real_settings, damaged, reference):
    archive, _ = damaged
    scratch = scratch_dir(real_settings.data)
    scratch.mkdir(parents=True)
    writer = subprocess.run(            # a process that wrote a temporary image and is gone
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from acsq_mongo.images.scratch import scratch_path; "
         "p = scratch_path(Path(sys.argv[1]), Path('jabc01xyq_flt.jpg')); "
         "p.write_bytes(b'\\xff\\xd8 half'); print(p)", str(scratch)],
        capture_output=True, text=True, check=True)
    dead = Path(writer.stdout.strip())
    alive = scratch_path(scratch, Path("jabc02xyq_flt.jpg"))   # this process: still writing
    alive.write_bytes(b"\xff\xd8 busy")
    assert remove_leftovers(real_settings.data) == [dead] and alive.exists()
    dead.write_bytes(b"\xff\xd8 half")
    alive.unlink()
    run_ingest(real_settings, archive.root)
    assert not dead.exists()
    _assert_whole(real_settings, reference)


def test_the_database_server_killed_mid_run_restarts_on_its_data_and_the_rerun_converges(
        damaged, reference, tmp_path):
    archive, bad = damaged
    victim = next(b.rootname for b in bad if b.kind == "not FITS")
    with LocalServer.private(tmp_path / "server") as server:
        settings = load_settings(environ={}, mongo_uri=server.uri, db="killed",
                                 data=tmp_path / "var")
        hold = _hold(tmp_path, "images", victim)
        env = _env(settings, archive.root, hold, ACSQ_SERVER_TIMEOUT="20")
        proc = _ingest(env, "--workers", "1", "--batch-size", "1")
        wait_until_held(hold, "images", victim, proc)
        server.kill()
        again = LocalServer(server.binary, server.host, server.port, server.data_dir,
                            server.log_path)
        again.start()                  # on the same files, with no repair step
        (hold / f"images.{victim}").unlink()
        status, out, err = _finish(proc)
        # Either the run rode out the restart, or it stopped and says to run again.
        assert status in (1, 3), err
        _rerun(env, "--workers", "1")
        _assert_whole(settings, reference)
        again.stop()


def _dask(*args: str, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=out,
                                start_new_session=True)


def test_the_scheduler_killed_mid_run_stops_the_run_and_blames_no_rootname(
        real_settings, real_db, damaged, reference, tmp_path):
    from distributed import Client

    archive, _ = damaged
    victim = sorted(r.rootname for r in archive.rootnames)[3]
    address = f"tcp://127.0.0.1:{free_port()}"
    host, port = address[6:].split(":")

    def scheduler() -> subprocess.Popen:
        return _dask("distributed.cli.dask_scheduler", "--host", host, "--port", port,
                     "--dashboard-address", ":0", log=tmp_path / "scheduler.log")

    def worker() -> subprocess.Popen:
        return _dask("distributed.cli.dask_worker", address, "--nthreads", "1",
                     "--dashboard-address", ":0", "--preload", "acsq_mongo.ingest.dask_runner",
                     "--death-timeout", "30", log=tmp_path / "worker.log")

    processes = [scheduler(), worker()]
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
        hold = _hold(tmp_path, "begin", victim)
        env = _env(real_settings, archive.root, hold)
        proc = _ingest(env, "--scheduler", address, "--batch-size", "1")
        wait_until_held(hold, "begin", victim, proc)
        processes[0].kill()
        processes[0].wait(10)
        status, out, err = _finish(proc)
        assert status == 4, err
        assert "lost the Dask cluster" in err and "run again to finish" in err
        assert "Traceback" not in err
        # The rootnames in flight were cancelled, not failed: none is blamed for it.
        assert real_db[INGEST_ERRORS].count_documents({"stage": "ingest"}) == 0
        (hold / f"begin.{victim}").unlink()
        processes[1].wait(120)            # the worker gives up on its lost scheduler
        processes = [scheduler(), worker()]
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
        _rerun(env, "--scheduler", address)
        _assert_whole(real_settings, reference)
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_a_scheduler_lost_while_a_result_is_fetched_is_a_lost_cluster_too(
        real_settings, real_db, damaged, monkeypatch):
    """The scheduler killed during the client's fetch of a finished task's result.

    The 5th clean-clone run of the suite caught it: the kill fell during that fetch and a
    CommClosedError traceback ended the run with exit 1. The moment cannot be staged with a
    real kill, so the fetch fails as it did then, on a threaded cluster in this process.
    """
    from distributed import Client, Future, LocalCluster
    from distributed.comm.core import CommClosedError

    from acsq_mongo.errors import ClusterUnavailable
    from acsq_mongo.ingest.dask_runner import DaskRunner

    def lost(self, timeout=None):
        raise CommClosedError("in <TCP (closed) ConnectionPool.gather>: ConnectionResetError")

    archive, _ = damaged
    monkeypatch.setattr(Future, "result", lost)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        with DaskRunner(real_settings, client=client) as runner:
            with pytest.raises(ClusterUnavailable, match="lost the Dask cluster.*run again"):
                run_ingest(real_settings, archive.root, quicklook=False, runner=runner)
    assert real_db[INGEST_ERRORS].count_documents({"stage": "ingest"}) == 0
