#!/usr/bin/env python
"""Kill the ingest anywhere, at random, and check that a rerun loses nothing.

    .venv/bin/python scripts/chaos_ingest.py --kills 100 --seed 1 [--scheduler]

It writes a small sample archive with bad files in it (truncated, empty, not
FITS, non-ACS, an all-NaN image; acsq_mongo.sample.damage), starts its own
local database server and ingests the archive once in this process: the
reference. Then, round after round, it runs ``acsq ingest`` (with quicklook
images) on a Dask cluster, and at a random moment of the run kills with
SIGKILL one of:

- a Dask worker (its nanny starts another);
- the Dask scheduler (``--scheduler``: the script runs its own scheduler and
  two ``dask worker`` processes; without it the CLI starts a LocalCluster);
- the ``acsq ingest`` process itself;
- the local database server.

It restarts what died, and runs the ingest again until it finishes (the rerun
may be killed too: about one rerun in four). A round starts from an empty
database and image folder, or from the finished previous round with
``--force`` (every file read and every image made again). After each round it
checks the database and the image folder against the reference
(acsq_mongo.ingest.consistency): the same documents but for ingest dates,
summaries that agree with the catalog, every bad file reported and no good
one, no partial image, no image without a document, no temporary file.

It prints one line per kill, then ``survived N/total`` with each failure;
exit status 0 if every kill was survived. Everything lives in a temporary
folder (``--work`` to keep it) and every process it started is stopped at
the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from acsq_mongo.db.connection import connect
from acsq_mongo.db.localserver import LocalServer, free_port
from acsq_mongo.ingest.consistency import FILE_STAGES, compare_with_reference
from acsq_mongo.ingest.rootname import run_ingest
from acsq_mongo.sample import make_sample_archive
from acsq_mongo.sample.damage import add_bad_files
from acsq_mongo.settings import load_settings

#: Exit statuses of a run that finished (1: some files are bad, as they are here).
FINISHED = (0, 1)


@dataclass
class Kill:
    """One kill and what came of it."""

    number: int
    round: int
    mode: str
    target: str
    at: float
    note: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "survived" if not self.problems else f"FAILED ({len(self.problems)} problems)"
        return (f"kill {self.number:3d}  round {self.round:3d} {self.mode:5s} "
                f"{self.target:9s} at {self.at:5.1f} s  {verdict}  {self.note}").rstrip()


class DaskCluster:
    """A Dask scheduler and ``dask worker`` processes of our own (``--scheduler``)."""

    def __init__(self, folder: Path, workers: int):
        self.folder = folder
        self.n_workers = workers
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - kept by the process
        return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn("scheduler", [
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(self.port),
            "--dashboard-address", ":0"])
        _wait_port(self.port)

    def start_workers(self) -> None:
        for i, proc in enumerate(self.workers):
            if proc.poll() is None:
                continue
            self.workers[i] = self._worker(i)
        while len(self.workers) < self.n_workers:
            self.workers.append(self._worker(len(self.workers)))

    def _worker(self, i: int) -> subprocess.Popen:
        return self._spawn(f"worker{i}", [
            "distributed.cli.dask_worker", self.address, "--nworkers", "1", "--nthreads", "1",
            "--dashboard-address", ":0", "--preload", "acsq_mongo.ingest.dask_runner",
            "--death-timeout", "60"])

    def restart(self, timeout: float = 180.0) -> None:
        """Start whatever of the cluster died, and wait until it has all its workers.

        Workers that lost their scheduler give up on it after a while and exit;
        they are started again as they go.
        """
        from distributed import Client

        if self.scheduler is None or self.scheduler.poll() is not None:
            self.start_scheduler()
        deadline = time.monotonic() + timeout
        with Client(self.address, timeout="30s") as client:
            while time.monotonic() < deadline:
                self.start_workers()
                if len(client.scheduler_info(n_workers=-1)["workers"]) >= self.n_workers:
                    return
                time.sleep(0.5)
        raise RuntimeError(f"the Dask cluster did not get its {self.n_workers} workers back")

    def worker_processes(self) -> list[psutil.Process]:
        """The worker processes (children of the nannies)."""
        found = []
        for proc in self.workers:
            if proc.poll() is None:
                found += psutil.Process(proc.pid).children(recursive=True)
        return [p for p in found if "spawn_main" in " ".join(_cmdline(p))]

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            if proc is not None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def _wait_port(port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


class Chaos:
    """The archive, the reference, the server, the cluster and the rounds."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.rng = random.Random(args.seed)
        self.kills: list[Kill] = []
        self.server: LocalServer | None = None
        self.cluster: DaskCluster | None = None
        self.data = work / "data"
        self.run_seconds = 10.0
        self.missed = 0

    # -- setting up

    def setup(self) -> None:
        archive = make_sample_archive(self.work / "archive", self.args.rootnames,
                                      seed=self.args.seed)
        bad = add_bad_files(archive, self.args.seed)
        self.archive = archive.root
        self.server = LocalServer.private(self.work / "server")
        self.server.start()
        self.settings = load_settings(environ={}, mongo_uri=self.server.uri, db="chaos",
                                      data=self.data, archive=self.archive)
        reference = self.settings.replace(db="reference", data=self.work / "reference")
        summary = run_ingest(reference, self.archive, runner=None)
        self.reference = connect(reference)
        self.reference_data = reference.data
        self.bad_paths = {e["path"] for e in self.reference["ingest_errors"].find(
            {"stage": {"$in": list(FILE_STAGES)}})}
        expected = {b.path for b in bad if b.kind != "NaN image"}
        if self.bad_paths != expected:
            raise SystemExit(f"the reference ingest did not report the bad files as expected: "
                             f"{sorted(self.bad_paths)} vs {sorted(expected)}")
        print(f"archive: {summary.rootnames} rootnames, bad files: "
              + "; ".join(f"{b.kind} {b.path}" for b in bad), flush=True)
        if self.args.scheduler:
            self.cluster = DaskCluster(self.work, self.args.workers)
            self.cluster.restart()
            print(f"Dask cluster: scheduler {self.cluster.address}, "
                  f"{self.args.workers} workers", flush=True)

    def targets(self) -> list[str]:
        every = ["worker", "cli", "db"] + (["scheduler"] if self.cluster else [])
        return [t for t in every if not self.args.targets or t in self.args.targets]

    # -- one ingest run

    def command(self, force: bool) -> list[str]:
        where = (["--scheduler", self.cluster.address] if self.cluster
                 else ["--workers", str(self.args.workers)])
        return [sys.executable, "-m", "acsq_mongo.cli", "ingest", *where,
                "--batch-size", str(self.args.batch_size)] + (["--force"] if force else [])

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
        env.update(ACSQ_MONGO_URI=self.server.uri, ACSQ_DB="chaos", ACSQ_DATA=str(self.data),
                   ACSQ_ARCHIVE=str(self.archive), ACSQ_SERVER_TIMEOUT="10")
        return env

    def start(self, force: bool) -> subprocess.Popen:
        log = open(self.work / "cli.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(self.command(force), env=self.env(), stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def finish(self, proc: subprocess.Popen) -> int | None:
        """Wait for a run; None if it hangs (then it is killed)."""
        try:
            return proc.wait(self.args.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return None

    # -- the kill

    def strike(self, proc: subprocess.Popen, target: str) -> str:
        """Kill ``target`` now; restart it if it is the server or the cluster; say what."""
        if target == "cli":
            proc.kill()
            proc.wait(30)
            orphans = _wait_gone(_children(proc.pid, cached=self._children), 30)
            if orphans:
                for p in orphans:
                    p.kill()
                return f"ORPHANS: {len(orphans)} processes outlived the killed CLI"
            return "the ingest process"
        if target == "worker":
            workers = (self.cluster.worker_processes() if self.cluster
                       else [p for p in self._children if "spawn_main" in
                             " ".join(_cmdline(p)) and p.is_running()])
            if not workers:
                return "no worker running yet"
            victim = self.rng.choice(workers)
            victim.kill()
            return f"worker pid {victim.pid}"
        if target == "db":
            self.server.kill()
            time.sleep(self.rng.uniform(0.0, 2.0))
            self.server = LocalServer(self.server.binary, self.server.host, self.server.port,
                                      self.server.data_dir, self.server.log_path)
            self.server.start()
            return "database server (restarted on its data)"
        if target == "scheduler":
            self.cluster.scheduler.kill()
            self.cluster.scheduler.wait(30)
            return "scheduler"
        raise ValueError(target)

    def one_round(self, number: int) -> None:
        force = number > 1 and self.rng.random() < 1 / 3 and self.last_ok
        if not force:
            self._reset()
        mode = "force" if force else "fresh"
        round_kills: list[Kill] = []
        notes: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            killing = len(self.kills) < self.args.kills and (
                attempt == 1 or self.rng.random() < 0.25)
            proc = self.start(force=force and attempt == 1)
            if not killing:
                status = self.finish(proc)
                if self.cluster:
                    self.cluster.restart()
                if status in FINISHED:
                    break
                notes.append(f"rerun exited {status}")
                if attempt > 6:
                    break
                continue
            target = self.rng.choice(self.targets())
            at = self.rng.uniform(0.0, self.run_seconds)
            began = time.monotonic()
            self._children: list[psutil.Process] = []
            while time.monotonic() - began < at and proc.poll() is None:
                self._children = _children(proc.pid) or self._children
                time.sleep(0.05)
            if proc.poll() is not None:   # over before the kill: not a kill, a clean run
                self.missed += 1
                if proc.returncode in FINISHED:
                    break
                notes.append(f"a run exited {proc.returncode} with no kill")
                continue
            kill = Kill(len(self.kills) + 1, number, mode, target, at, self.strike(proc, target))
            self.kills.append(kill)
            round_kills.append(kill)
            status = self.finish(proc)
            if status is None:
                kill.problems.append(f"the run hung for {self.args.timeout:.0f} s after the "
                                     f"kill of the {target}")
            elif target != "cli":
                kill.note += f"; run exited {status}"
            if self.cluster:
                self.cluster.restart()
            if "ORPHANS" in kill.note:
                kill.problems.append(kill.note)
        problems = notes + compare_with_reference(
            connect(self.settings), self.data, self.reference, self.reference_data,
            self.bad_paths)
        for kill in round_kills:
            kill.problems += problems
            print(kill.line(), flush=True)
            for problem in kill.problems[:10]:
                print(f"      {problem}", flush=True)
        self.last_ok = not problems

    def _reset(self) -> None:
        db = connect(self.settings)
        db.client.drop_database("chaos")
        db.client.close()
        shutil.rmtree(self.data, ignore_errors=True)

    def calibrate(self) -> None:
        """Round 0: one run with no kill, timed, and checked like any other."""
        self._reset()
        began = time.monotonic()
        status = self.finish(self.start(force=False))
        self.run_seconds = time.monotonic() - began
        problems = compare_with_reference(connect(self.settings), self.data, self.reference,
                                          self.reference_data, self.bad_paths)
        print(f"round 0: no kill, exit {status}, {self.run_seconds:.1f} s, "
              f"{'consistent' if not problems else problems}", flush=True)
        if status not in FINISHED or problems:
            raise SystemExit("an ingest without any kill does not match the reference")
        self.last_ok = True

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        if self.server is not None:
            self.server.stop()


def _children(pid: int, cached=None) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return list(cached or [])


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="how many kills (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same kills")
    parser.add_argument("--scheduler", action="store_true",
                        help="run on a scheduler and workers of our own, and kill them too")
    parser.add_argument("--rootnames", type=int, default=16, help="sample size (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    parser.add_argument("--batch-size", type=int, default=2, help="rootnames per task")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds a run may take before it counts as hung")
    parser.add_argument("--targets", type=lambda text: text.split(","),
                        help="only these, e.g. db,scheduler (default: all of worker, cli, db "
                        "and, with --scheduler, scheduler)")
    parser.add_argument("--work", type=Path, help="keep everything in this folder")
    args = parser.parse_args(argv)

    # A SIGTERM (timeout, kill) stops the script through its clean-up, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = args.work or Path(tempfile.mkdtemp(prefix="acsq-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    chaos = Chaos(args, work)
    began = time.monotonic()
    try:
        chaos.setup()
        chaos.calibrate()
        number = 0
        while len(chaos.kills) < args.kills:
            number += 1
            chaos.one_round(number)
    finally:
        chaos.close()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    failed = [k for k in chaos.kills if k.problems]
    print(f"\nsurvived {len(chaos.kills) - len(failed)}/{len(chaos.kills)} kills "
          f"({', '.join(f'{t} {sum(k.target == t for k in chaos.kills)}' for t in chaos.targets())}"
          f"; {chaos.missed} runs ended before their kill and were not counted) in "
          f"{(time.monotonic() - began) / 60:.1f} min on {platform.node()} "
          f"({os.cpu_count()} cores, {platform.platform()})")
    for kill in failed:
        print(f"  {kill.line()}")
        for problem in kill.problems:
            print(f"      {problem}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
