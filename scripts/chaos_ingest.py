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
from chaos_processes import DaskCluster, children, cmdline, kill_group, wait_gone

from acsq_mongo.db.connection import connect
from acsq_mongo.db.localserver import LocalServer
from acsq_mongo.ingest.consistency import FILE_STAGES, compare_with_reference
from acsq_mongo.ingest.run import run_ingest
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
            kill_group(proc)
            return None

    # -- the kill

    def _workers(self) -> list[psutil.Process]:
        """The Dask worker processes running now."""
        if self.cluster:
            return self.cluster.worker_processes()
        return [p for p in self._children
                if "spawn_main" in " ".join(cmdline(p)) and p.is_running()]

    def strike(self, proc: subprocess.Popen, target: str) -> str:
        """Kill ``target`` now; restart it if it is the server or the cluster; say what."""
        if target == "cli":
            proc.kill()
            proc.wait(30)
            orphans = wait_gone(children(proc.pid, cached=self._children), 30)
            if orphans:
                for p in orphans:
                    p.kill()
                return f"ORPHANS: {len(orphans)} processes outlived the killed CLI"
            return "the ingest process"
        if target == "worker":
            victim = self.rng.choice(self._workers())
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
            # Its workers are lost with it (they would give up on it after a while):
            # they are started again with the new scheduler.
            self.cluster.stop_workers()
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
            at = self.rng.uniform(0.0, 0.9 * self.run_seconds)
            began = time.monotonic()
            self._children: list[psutil.Process] = []
            # A worker kill waits for a worker to kill (a LocalCluster starts after ~2 s).
            while proc.poll() is None and (time.monotonic() - began < at or (
                    target == "worker" and not self._workers())):
                self._children = children(proc.pid) or self._children
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="how many kills (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same kills")
    parser.add_argument("--scheduler", action="store_true",
                        help="run on a scheduler and workers of our own, and kill them too")
    parser.add_argument("--rootnames", type=int, default=12, help="sample size (default 12)")
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
