"""The local MongoDB-compatible server for the demo, tests and CI: SecantusDB.

No MongoDB server can be installed on the development machines, so the real
server here is SecantusDB, a MongoDB wire-protocol server on WiredTiger (MongoDB's
own storage engine), with secondary indexes, the aggregation language, geo
operators and atomic updates. Production runs MongoDB 7 (docker-compose.yml).

SecantusDB is GPL-2.0-only and in beta. It runs here as a separate process, as
one runs mongod, and no module of acsq_mongo or webapp imports it. ``make``
(``scripts/install_localdb.sh``) sets up, at the versions pinned in
``scripts/localserver/pins.env``:

- its Rust server ``secantusd-rs`` (the default), built once into
  ``~/.cache/acsq-mongo/secantus-mdb-<version>/bin/``, outside the work tree;
- its Python server ``secantusd-py`` (the fallback), in its own virtualenv
  ``build/secantus-py/``.

:func:`start`, :func:`stop` and :func:`status` back ``acsq db start|stop|status``.
They keep the server's files under ``$ACSQ_DATA/db/``: ``data/`` (WiredTiger
files), ``localdb.pid`` and ``localdb.log``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pymongo
import pymongo.errors
from pymongo import uri_parser

from acsq_mongo.db.connection import redact_uri, server_description
from acsq_mongo.db.server_binary import (
    PYTHON_SERVER,
    REPO_ROOT,
    RUST_SERVER,
    SERVER_NAMES,
    find_binary,
    pinned_versions,
)
from acsq_mongo.errors import ConfigError, LocalServerError

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = [
    "LocalServer",
    "find_binary",
    "free_port",
    "pinned_versions",
    "start",
    "stop",
    "status",
    "running_pid",
    "answers",
    "REPO_ROOT",
    "RUST_SERVER",
    "PYTHON_SERVER",
]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(uri: str, timeout: float = 1.0) -> str | None:
    """Return a description of the server at ``uri`` if it answers a ping, else None."""
    client = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=int(timeout * 1000), connectTimeoutMS=int(timeout * 1000)
    )
    try:
        client.admin.command("ping")
        return server_description(client.get_database("admin"))
    except pymongo.errors.PyMongoError:
        return None
    finally:
        client.close()


def _host_port(uri: str) -> tuple[str, int]:
    try:
        nodes = uri_parser.parse_uri(uri)["nodelist"]
    except (pymongo.errors.InvalidURI, pymongo.errors.ConfigurationError, ValueError) as exc:
        raise ConfigError(f"bad ACSQ_MONGO_URI {redact_uri(uri)!r}: {exc}") from None
    if len(nodes) != 1:
        raise LocalServerError("the local server needs a single-host ACSQ_MONGO_URI")
    host, port = nodes[0]
    if host not in _LOOPBACK:
        raise LocalServerError(
            f"ACSQ_MONGO_URI points at {host}; the local server only listens on 127.0.0.1"
        )
    return ("127.0.0.1" if host == "localhost" else host), port


@dataclass
class LocalServer:
    """One local SecantusDB server process.

    Parameters
    ----------
    binary : Path
        ``secantusd-rs`` or ``secantusd-py``.
    host, port : str, int
        Where it listens.
    data_dir : Path
        Its WiredTiger home (created if missing, reopened intact on restart).
    log_path : Path
        Where its stdout and stderr go.
    """

    binary: Path
    host: str
    port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen | None = None

    @classmethod
    def private(cls, folder: Path, kind: str | None = None) -> LocalServer:
        """A server of one's own on a free loopback port, its files in ``folder``.

        For tests and benchmarks: ``with LocalServer.private(tmp) as server:`` starts
        it and stops it at the end of the block.

        Parameters
        ----------
        folder : Path
            Gets ``db/`` (the WiredTiger files) and ``localdb.log``.
        kind : {"secantusd-rs", "secantusd-py"}, optional
            Which server; default: the one ``make`` set up (the Rust one if built).
        """
        return cls(binary=find_binary(kind=kind), host="127.0.0.1", port=free_port(),
                   data_dir=Path(folder) / "db", log_path=Path(folder) / "localdb.log")

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def uri(self) -> str:
        """The server's MongoDB URI."""
        return f"mongodb://{self.host}:{self.port}/"

    def command(self) -> list[str]:
        """The command line that runs this server."""
        # --standalone: a plain standalone topology, as a lone mongod (without it
        # the server poses as a one-node replica set and adds $clusterTime to
        # every reply).
        return [str(self.binary), "--host", self.host, "--port", str(self.port),
                "--storage-path", str(self.data_dir), "--standalone"]

    def start(self, timeout: float = 60.0, detach: bool = False) -> None:
        """Start the server and return once it answers a ping.

        Parameters
        ----------
        timeout : float
            Seconds to wait for the first ping.
        detach : bool
            Run it in a session of its own, to outlive this process.

        Raises
        ------
        LocalServerError
            If it exits or does not answer within ``timeout`` seconds.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # cwd: the data folder, so that no stray ./secantusd.toml is picked up.
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=detach,
                close_fds=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalServerError(
                    f"{self.binary.name} exited with status {self.process.returncode}: "
                    f"{_tail(self.log_path)}"
                )
            if answers(self.uri, timeout=0.5):
                return
            time.sleep(0.1)
        self.kill()
        raise LocalServerError(
            f"{self.binary.name} did not answer at {self.uri} within {timeout:.0f} s: "
            f"{_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 20.0) -> str:
        """Stop the server with SIGTERM and wait for a clean exit; SIGKILL if it lingers.

        Returns
        -------
        message : str
            What happened: a clean exit, or a kill after ``timeout`` seconds.
        """
        if self.process is None or self.process.poll() is not None:
            return "not running"
        return _terminate(self.process.pid, timeout, wait=self.process.wait)

    def kill(self) -> None:
        """Kill the server with SIGKILL at once (a crash, for durability tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _terminate(pid: int, timeout: float, wait=None) -> str:
    """SIGTERM ``pid``, wait up to ``timeout`` s for it to exit, else SIGKILL it."""
    began = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    if wait is not None:
        try:
            wait(timeout)
            return f"exited cleanly {time.monotonic() - began:.1f} s after SIGTERM"
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            wait(10)
            return f"did not exit within {timeout:.0f} s of SIGTERM; killed with SIGKILL"
    deadline = began + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        return f"did not exit within {timeout:.0f} s of SIGTERM; killed with SIGKILL"
    return f"exited cleanly {time.monotonic() - began:.1f} s after SIGTERM"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def _pid_file(settings: Settings) -> Path:
    return settings.db_dir / "localdb.pid"


def _read_pid(settings: Settings) -> int | None:
    """Return the pid of our local server if its pid file names a live SecantusDB server."""
    path = _pid_file(settings)
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    if not _alive(pid) or not any(name.encode() in cmdline for name in SERVER_NAMES):
        path.unlink(missing_ok=True)  # stale: the process is gone or the pid reused
        return None
    return pid


def running_pid(settings: Settings) -> int | None:
    """Return the pid of the local server started by :func:`start` from ``settings.data``,
    if it is running (its pid file names a live SecantusDB server), else None."""
    return _read_pid(settings)


def start(settings: Settings) -> str:
    """Start the local server in the background (``acsq db start``).

    Returns
    -------
    message : str
        What happened, for the user.

    Raises
    ------
    LocalServerError
        If it is not installed, or cannot start (with the tail of its log).
    """
    uri = settings.mongo_uri
    if uri.startswith("mongomock://"):
        raise LocalServerError("ACSQ_MONGO_URI is mongomock://; there is no server to start")
    host, port = _host_port(uri)
    found = answers(uri)
    if found:
        return f"a server already answers at {redact_uri(uri)} ({found}); nothing to do"
    pid = _read_pid(settings)
    if pid is not None:
        raise LocalServerError(
            f"local server pid {pid} is running but does not answer at {redact_uri(uri)}; "
            f"see {settings.db_dir / 'localdb.log'} or run `acsq db stop`"
        )
    server = LocalServer(
        binary=find_binary(settings),
        host=host,
        port=port,
        data_dir=settings.db_dir / "data",
        log_path=settings.db_dir / "localdb.log",
    )
    server.start(detach=True)
    assert server.process is not None
    _pid_file(settings).write_text(f"{server.process.pid}\n")
    return (
        f"started {answers(uri) or 'the local server'} ({server.binary.name}) at {server.uri} "
        f"(pid {server.process.pid}, data in {server.data_dir})"
    )


def stop(settings: Settings, timeout: float = 20.0) -> str:
    """Stop the local server started by :func:`start` (``acsq db stop``).

    It sends SIGTERM and waits up to ``timeout`` seconds for a clean exit (the
    server flushes WiredTiger), then SIGKILL. The message says which happened.
    """
    pid = _read_pid(settings)
    if pid is None:
        return f"no local server is running from {settings.db_dir}"
    how = _terminate(pid, timeout)
    _pid_file(settings).unlink(missing_ok=True)
    return f"stopped the local server (pid {pid}): {how}"


def status(settings: Settings) -> tuple[bool, str]:
    """Report whether a server answers at ACSQ_MONGO_URI (``acsq db status``).

    Returns
    -------
    up : bool
        Whether a server answers.
    message : str
        What answers, and the local server's pid and data folder if it is ours.
    """
    uri = settings.mongo_uri
    if uri.startswith("mongomock://"):
        return True, "mongomock:// (in-memory, nothing to run)"
    found = answers(uri, timeout=min(settings.server_timeout, 3.0))
    pid = _read_pid(settings)
    ours = ""
    if pid is not None:
        data = settings.db_dir / "data"
        size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
        ours = f"; local server pid {pid}, data in {data} ({size / 1e6:.1f} MB)"
    if found:
        return True, f"up: {found} at {redact_uri(uri)}{ours}"
    return False, f"down: nothing answers at {redact_uri(uri)}{ours}"
