"""The local MongoDB-compatible server for development, tests and CI.

No MongoDB server can be installed on the development machines, so the real
server here is FerretDB v1 with its SQLite backend, embedded in a small Go
program of ours (``scripts/localdb/``), built by ``make localdb`` into
``build/acsq-localdb``. Production runs MongoDB 7 (docker-compose.yml).

:func:`start`, :func:`stop` and :func:`status` back ``acsq db start|stop|status``.
They keep the server's files under ``$ACSQ_DATA/db/``: ``data/`` (SQLite
files), ``localdb.pid`` and ``localdb.log``.
"""

from __future__ import annotations

import os
import shutil
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
from acsq_mongo.errors import ConfigError, LocalServerError

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = [
    "LocalServer",
    "find_binary",
    "free_port",
    "start",
    "stop",
    "status",
    "answers",
    "REPO_ROOT",
]

#: The checkout this package runs from (for ``build/acsq-localdb``).
REPO_ROOT = Path(__file__).resolve().parents[2]
_BINARY_NAME = "acsq-localdb"
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


def find_binary(settings: Settings | None = None, build: bool = True) -> Path:
    """Return the acsq-localdb binary, building it with Go if it is missing.

    Looks at the ``localdb_bin`` setting, then ``build/acsq-localdb`` of the
    checkout, then ``acsq-localdb`` on the PATH.

    Raises
    ------
    LocalServerError
        If it is nowhere and cannot be built.
    """
    if settings is not None and settings.localdb_bin is not None:
        if not settings.localdb_bin.is_file():
            raise LocalServerError(f"ACSQ_LOCALDB_BIN {settings.localdb_bin} does not exist")
        return settings.localdb_bin
    built = REPO_ROOT / "build" / _BINARY_NAME
    if built.is_file():
        return built
    on_path = shutil.which(_BINARY_NAME)
    if on_path:
        return Path(on_path)
    source = REPO_ROOT / "scripts" / "localdb"
    if build and (source / "main.go").is_file() and shutil.which("go"):
        proc = subprocess.run(
            ["go", "build", "-o", str(built), "."],
            cwd=source,
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0 and built.is_file():
            return built
        raise LocalServerError(f"building {_BINARY_NAME} failed: {proc.stderr.strip()[-2000:]}")
    raise LocalServerError(
        f"{_BINARY_NAME} is not built; run `make localdb` (needs Go) or set ACSQ_LOCALDB_BIN"
    )


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
    """One acsq-localdb process.

    Parameters
    ----------
    binary : Path
        The acsq-localdb executable.
    host, port : str, int
        Where it listens.
    data_dir : Path
        Folder of its SQLite files.
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
    def private(cls, folder: Path, build: bool = True) -> LocalServer:
        """A server of one's own on a free loopback port, its files in ``folder``.

        For tests and benchmarks: ``with LocalServer.private(tmp) as server:`` starts
        it and stops it at the end of the block.

        Parameters
        ----------
        folder : Path
            Gets ``db/`` (the SQLite files) and ``localdb.log``.
        build : bool
            Build the binary with ``make localdb`` if it is missing.
        """
        return cls(binary=find_binary(build=build), host="127.0.0.1", port=free_port(),
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

    def start(self, timeout: float = 30.0, detach: bool = False) -> None:
        """Start the server and return once it answers a ping.

        Raises
        ------
        LocalServerError
            If it exits or does not answer within ``timeout`` seconds.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "-listen", f"{self.host}:{self.port}", "-dir",
                 str(self.data_dir)],
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
        self.stop()
        raise LocalServerError(
            f"{self.binary.name} did not answer at {self.uri} within {timeout:.0f} s: "
            f"{_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server with SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def _pid_file(settings: Settings) -> Path:
    return settings.db_dir / "localdb.pid"


def _read_pid(settings: Settings) -> int | None:
    """Return the pid of our local server if its pid file names a live acsq-localdb."""
    path = _pid_file(settings)
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    if _BINARY_NAME.encode() not in cmdline:
        path.unlink(missing_ok=True)  # stale: the process is gone or the pid reused
        return None
    return pid


def start(settings: Settings) -> str:
    """Start the local server in the background (``acsq db start``).

    Returns
    -------
    message : str
        What happened, for the user.
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
        f"started {answers(uri) or 'the local server'} at {server.uri} "
        f"(pid {server.process.pid}, data in {server.data_dir})"
    )


def stop(settings: Settings, timeout: float = 10.0) -> str:
    """Stop the local server started by :func:`start` (``acsq db stop``)."""
    pid = _read_pid(settings)
    if pid is None:
        return f"no local server is running from {settings.db_dir}"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if _is_zombie(pid):
            break
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
        os.kill(pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return f"stopped the local server (pid {pid})"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


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
        size = sum(p.stat().st_size for p in data.glob("*.sqlite*") if p.is_file())
        ours = f"; local server pid {pid}, data in {data} ({size / 1e6:.1f} MB)"
    if found:
        return True, f"up: {found} at {redact_uri(uri)}{ours}"
    return False, f"down: nothing answers at {redact_uri(uri)}{ours}"
