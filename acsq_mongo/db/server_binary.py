"""Where the local SecantusDB server's executables are, at the pinned versions.

``make`` (``scripts/install_localdb.sh``) puts the Rust server ``secantusd-rs``
in a cache outside the work tree, keyed by the version pinned in
``scripts/localserver/pins.env``, and the Python fallback ``secantusd-py`` in its
own virtualenv ``build/secantus-py``. Nothing here imports SecantusDB (it is
GPL-2.0-only and runs as a separate process); this module only finds files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from acsq_mongo.errors import LocalServerError

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = ["REPO_ROOT", "RUST_SERVER", "PYTHON_SERVER", "SERVER_NAMES", "find_binary",
           "pinned_versions"]

#: The checkout this package runs from (for ``build/`` and ``scripts/``).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The two SecantusDB servers, in order of preference.
RUST_SERVER = "secantusd-rs"
PYTHON_SERVER = "secantusd-py"
SERVER_NAMES = (RUST_SERVER, PYTHON_SERVER)
_PINS = REPO_ROOT / "scripts" / "localserver" / "pins.env"
_INSTALL_HINT = "run `make setup` (scripts/install_localdb.sh) or set ACSQ_LOCALDB_BIN"


def pinned_versions() -> dict[str, str]:
    """Return the pinned SecantusDB versions of ``scripts/localserver/pins.env``.

    Returns
    -------
    pins : dict
        ``{"SECANTUS_RS_VERSION": ..., "SECANTUS_PY_VERSION": ...}``; empty when
        the package runs outside its checkout.
    """
    try:
        text = _PINS.read_text()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def _candidates() -> list[Path]:
    """Where ``make`` puts the servers, the Rust one first."""
    pins = pinned_versions()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "acsq-mongo"
    found = []
    if "SECANTUS_RS_VERSION" in pins:
        found.append(cache / f"secantus-mdb-{pins['SECANTUS_RS_VERSION']}" / "bin" / RUST_SERVER)
    found.append(REPO_ROOT / "build" / "secantus-py" / "bin" / PYTHON_SERVER)
    return found


def find_binary(settings: Settings | None = None, kind: str | None = None) -> Path:
    """Return the local SecantusDB server's executable.

    Looks at the ``localdb_bin`` setting (``ACSQ_LOCALDB_BIN``), then where
    ``make`` installs the servers (the Rust server's cache, then the Python
    fallback's ``build/secantus-py``), then the PATH.

    Parameters
    ----------
    settings : Settings, optional
        For ``localdb_bin``.
    kind : {"secantusd-rs", "secantusd-py"}, optional
        Only this server (the fallback's smoke test asks for the Python one).

    Raises
    ------
    LocalServerError
        If it is nowhere.
    """
    if settings is not None and settings.localdb_bin is not None and kind is None:
        if not settings.localdb_bin.is_file():
            raise LocalServerError(f"ACSQ_LOCALDB_BIN {settings.localdb_bin} does not exist")
        return settings.localdb_bin
    for path in _candidates():
        if path.is_file() and os.access(path, os.X_OK) and kind in (None, path.name):
            return path
    for name in SERVER_NAMES:
        on_path = shutil.which(name)
        if on_path and kind in (None, name):
            return Path(on_path)
    wanted = kind or " or ".join(SERVER_NAMES)
    raise LocalServerError(f"the local server ({wanted}) is not installed; {_INSTALL_HINT}")
