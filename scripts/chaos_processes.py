"""Processes of scripts/chaos_ingest.py: its Dask cluster, and finding and ending children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from acsq_mongo.db.localserver import free_port


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
        wait_port(self.port)

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
        return [p for p in found if "spawn_main" in " ".join(cmdline(p))]

    def stop_workers(self) -> None:
        """Stop the ``dask worker`` processes (they are started again by :meth:`restart`)."""
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)

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


def cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def children(pid: int, cached=None) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return list(cached or [])


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)
