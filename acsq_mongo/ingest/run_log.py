"""Run logs in the seed's format.

Each run writes ``$ACSQ_DATA/logs/<module>_<YYYY-MM-DD-HH-MM>.log`` with lines
``MM/DD/YYYY HH:MM:SS LEVEL: message``. A log starts with the user, the
environment and the package versions, so that a run can be reproduced from
its log, as in the seed's Fig. 18.
"""

from __future__ import annotations

import datetime
import getpass
import importlib
import importlib.metadata
import importlib.util
import logging
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = ["start_run_log", "LOG_FORMAT", "LOG_DATEFMT", "log_environment"]

LOG_FORMAT = "%(asctime)s %(levelname)s: %(message)s"
LOG_DATEFMT = "%m/%d/%Y %H:%M:%S"

# (import name, distribution name): versions come from the installed metadata,
# which every package has (flask deprecated its __version__).
_PACKAGES = (
    ("numpy", "numpy"), ("astropy", "astropy"), ("pymongo", "pymongo"), ("PIL", "pillow"),
    ("dask", "dask"), ("distributed", "distributed"), ("flask", "flask"), ("yaml", "pyyaml"),
)


def log_environment(logger: logging.Logger, settings: Settings | None = None) -> None:
    """Log the user, Python, the package versions and paths, and the settings."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    logger.info("User: %s", user)
    logger.info("Host: %s", platform.node())
    logger.info("Python Version: %s", sys.version.replace("\n", " "))
    logger.info("Python Path: %s", sys.executable)
    import acsq_mongo

    logger.info("acsq_mongo Version: %s", acsq_mongo.__version__)
    for name, distribution in _PACKAGES:
        # Found, not imported: importing dask, distributed and flask costs a run
        # a second of CPU that it may never need.
        try:
            spec = importlib.util.find_spec(name)
            version = importlib.metadata.version(distribution)
        except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
            spec = None
        if spec is None:
            logger.info("%s Version: not installed", name)
            continue
        where = Path(spec.origin or "?").parent
        logger.info("%s Version: %s", name, version)
        logger.info("%s Path: %s", name, where)
    if settings is not None:
        for key, value in settings.describe().items():
            logger.info("Setting %s: %s", key, value)


def start_run_log(
    module: str,
    settings: Settings,
    logger_name: str = "acsq_mongo",
    now: datetime.datetime | None = None,
) -> Path:
    """Start a run log file and attach it to the ``acsq_mongo`` logger.

    Parameters
    ----------
    module : str
        Name of the running module or command, e.g. ``ingest`` or
        ``ingest_production``.
    settings : Settings
        Uses ``data`` (the log goes to ``data/logs``) and ``log_level``.
    logger_name : str
        Logger to attach the file to.
    now : datetime, optional
        Time stamp of the file name; default: now.

    Returns
    -------
    path : Path
        The log file. Two runs started in the same minute share it.
    """
    logs_dir = settings.logs_dir
    logs_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.datetime.now()).strftime("%Y-%m-%d-%H-%M")
    path = logs_dir / f"{module}_{stamp}.log"

    logger = logging.getLogger(logger_name)
    logger.setLevel(settings.log_level)
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler) and getattr(handler, "_acsq_run_log", False):
            logger.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler._acsq_run_log = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATEFMT))
    logger.addHandler(handler)
    log_environment(logger, settings)
    return path
