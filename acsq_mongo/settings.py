"""Settings: defaults, then a YAML file, then ``ACSQ_*`` environment variables.

One :class:`Settings` object is built by :func:`load_settings` and passed
explicitly to whatever needs it. Nothing is read at import time.

Precedence, lowest to highest:

1. the defaults below;
2. a YAML file, named by ``--config`` or ``ACSQ_CONFIG``;
3. environment variables ``ACSQ_<NAME>``, e.g. ``ACSQ_MONGO_URI``;
4. explicit overrides (command-line options).

Relative paths in the YAML file are taken relative to the file's folder;
relative paths from the environment or the defaults, relative to the current
directory. All paths are made absolute when the settings are loaded.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from acsq_mongo.errors import ConfigError

__all__ = ["Settings", "load_settings", "redact_uri", "SETTING_NAMES",
           "DEFAULT_ANOMALY_VOCABULARY", "SECRET_SETTINGS"]


def redact_uri(uri: str) -> str:
    """Return ``uri`` with any password replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", uri)


#: The anomaly flags of the ACS team, as labels (their slugs are what is stored and queried).
DEFAULT_ANOMALY_VOCABULARY: tuple[str, ...] = (
    "satellite trail", "guide-star failure", "ghost", "dragon's breath", "scattered light",
    "crosstalk", "bias stripes", "cosmic-ray shower", "data transfer error",
    "excessive saturation", "high background", "other",
)

#: Settings never shown (run logs, ``describe``): only whether they are set.
SECRET_SETTINGS: frozenset[str] = frozenset({"secret_key"})


def _setting(default: Any, kind: type, doc: str, choices: tuple | None = None) -> Any:
    return field(default=default, metadata={"kind": kind, "doc": doc, "choices": choices})


@dataclass(frozen=True)
class Settings:
    """Every setting of acsq-mongo. Build one with :func:`load_settings`."""

    mongo_uri: str = _setting(
        "mongodb://127.0.0.1:27017", str, "MongoDB URI; mongomock:// gives an in-memory store"
    )
    db: str = _setting("acsq", str, "database name")
    archive: Path | None = _setting(None, Path, "root of the FITS archive (read-only)")
    data: Path = _setting(
        Path("var"), Path, "where jpegs/, thumbnails/, logs/ and db/ (local server) go"
    )
    server_timeout: float = _setting(
        4.0, float, "seconds to wait for the database before giving up"
    )
    localdb_bin: Path | None = _setting(
        None, Path, "the local SecantusDB server (secantusd-rs or secantusd-py); default: the one "
        "`make` set up"
    )
    proposal_types: Path | None = _setting(
        None, Path, "CSV or YAML table mapping proposid to proposal type (GO, CAL/ACS, ...)"
    )
    quicklook_stretch: str = _setting(
        "percentile", str, "quicklook stretch", choices=("percentile", "zscale", "asinh")
    )
    quicklook_stretch_by_imagetyp: tuple = _setting(
        (("BIAS", "zscale"), ("DARK", "zscale")), dict,
        "quicklook stretch per IMAGETYP, over quicklook_stretch: a YAML mapping or "
        "IMAGETYP=STRETCH,... (DARK and BIAS frames show their structure under zscale)",
        choices=("percentile", "zscale", "asinh"),
    )
    scheduler: str | None = _setting(
        None, str, "Dask scheduler address, e.g. tcp://host:8786; default: a LocalCluster"
    )
    workers: int | None = _setting(
        None, int, "LocalCluster worker processes; default: the number of cores"
    )
    batch_size: int = _setting(25, int, "rootnames per Dask task")
    page_size: int = _setting(60, int, "rows or thumbnails per web page")
    max_rows: int = _setting(5000, int, "most rows one query page may return")
    count_time_limit_ms: int = _setting(
        250, int, "a web page's budget for counting a query's matches and facets (ms); past it "
        "the page says how many it has seen so far ('at least 2,001') and links to counting "
        "them all; 0 always counts them all"
    )
    web_time_limit_ms: int = _setting(
        10_000, int, "the web app's time budget for the database reads of one request (ms): "
        "past it the server stops the read and the page answers 503 (an index or a narrower "
        "query helps); 0 sets none"
    )
    time_limit_ms: int = _setting(
        0, int, "the same budget for `acsq query`, `acsq trend` and each Python API call (ms); "
        "0, the default, sets none"
    )
    result_cache_mb: int = _setting(
        256, int, "most memory the web app's and the Python API's result cache may hold (MB, "
        "per process); the least recently used results go first"
    )
    proxy_hops: int = _setting(
        0, int, "how many reverse proxies (nginx) stand in front of the web app and set "
        "X-Forwarded-For/-Proto/-Host; 0 trusts none (werkzeug's ProxyFix)"
    )
    ingest_lease_s: int = _setting(
        60, int, "the ingest lock's lease in the database (s): a holder renews it every third "
        "of this; a crashed holder's lease expires after it, and another run may start"
    )
    trend_max_points: int = _setting(
        200_000, int, "most rootnames one trend or sky map may plot; more is refused"
    )
    log_level: str = _setting(
        "INFO", str, "log level", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    code_url: str | None = _setting(
        None, str, "where the web app's Code link points; default: its docs page's Code section"
    )
    docs_url: str | None = _setting(
        None, str, "URL of the full guide (the Sphinx site of make docs); /docs links to it"
    )
    secret_key: str | None = _setting(
        None, str, "the web app's session secret (a long random string, from the environment); "
        "without it the app is read-only and nobody can sign in"
    )
    session_cookie_secure: bool = _setting(
        False, bool, "send the session cookie over HTTPS only: set it when the app is served "
        "over HTTPS"
    )
    anomaly_vocabulary: tuple = _setting(
        DEFAULT_ANOMALY_VOCABULARY, tuple, "the anomaly flags taggers choose from (labels; "
        "in YAML a list, in the environment comma-separated)"
    )
    proposal_saturated_fraction: float = _setting(
        0.01, float, "propose 'excessive saturation' for an flt/flc chip with more than this "
        "fraction of its pixels flagged saturated (DQ 256)"
    )
    proposal_background_factor: float = _setting(
        3.0, float, "propose 'high background' for an flt chip whose background is more than "
        "this many times the median of its filters and exposure time"
    )
    proposal_background_min_group: int = _setting(
        5, int, "least images of the same filters and exposure time for that median"
    )
    trail_threshold: float = _setting(
        5.0, float, "least S/N of a satellite trail proposed by acstools.findsat_mrt"
    )
    web_url: str = _setting(
        "http://127.0.0.1:5000", str, "where the web app is served: the base of the file URLs "
        "in a download script from `acsq query --format curl` (the web app uses its own)"
    )
    mast_dataset_url: str = _setting(
        "https://archive.stsci.edu/hst/search.php?sci_data_set_name={ROOTNAME}&action=Search",
        str, "link from an image view to the dataset in the MAST archive ({rootname}, "
        "{ROOTNAME}, {proposid}); a plain link, nothing is fetched"
    )
    mast_proposal_url: str = _setting(
        "https://www.stsci.edu/cgi-bin/get-proposal-info?id={proposid}&observatory=HST", str,
        "link from a proposal's gallery and image views to the proposal at STScI/MAST "
        "({proposid})"
    )
    test_hold: Path | None = _setting(
        None, Path, "tests and the chaos script only: a folder of hold files that stop an ingest "
        "at a known step (acsq_mongo.ingest.hold); never set in production"
    )

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (values are validated)."""
        checked = {name: _convert(name, value, "override") for name, value in changes.items()}
        return dataclasses.replace(self, **checked)

    @property
    def logs_dir(self) -> Path:
        """Folder of the run logs, ``$ACSQ_DATA/logs``."""
        return self.data / "logs"

    @property
    def db_dir(self) -> Path:
        """Folder of the local server's files, ``$ACSQ_DATA/db``."""
        return self.data / "db"

    def describe(self) -> dict[str, str]:
        """Return the settings as strings, with any password in the URI hidden."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_SETTINGS:
                out[f.name] = "(set)" if value else "(not set)"
                continue
            if f.name == "mongo_uri":
                value = redact_uri(value)
            elif f.metadata["kind"] is dict:
                value = ",".join(f"{k}={v}" for k, v in value)
            out[f.name] = str(value)
        return out


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Settings))
_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TRUE_FALSE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _convert(name: str, value: Any, source: str, base: Path | None = None) -> Any:
    """Check and convert one setting, raising a one-line ConfigError."""
    if name not in _FIELDS:
        valid = ", ".join(SETTING_NAMES)
        raise ConfigError(f"unknown setting {name!r} in {source}; valid settings: {valid}")
    meta = _FIELDS[name].metadata
    kind, choices = meta["kind"], meta["choices"]
    if kind is dict and (value == "" or value == {} or value == ()):
        return ()  # none: every image type gets quicklook_stretch
    if value is None or value == "":
        if _FIELDS[name].default is None:
            return None
        raise ConfigError(f"setting {name!r} in {source} cannot be empty")
    try:
        if kind is Path:
            if not isinstance(value, (str, os.PathLike)):
                raise TypeError
            path = Path(value).expanduser()
            if not path.is_absolute():
                path = (base or Path.cwd()) / path
            value = Path(os.path.normpath(path))
        elif kind is int:
            if isinstance(value, bool) or isinstance(value, float):
                raise TypeError
            value = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise TypeError
            value = float(value)
        elif kind is bool:
            if isinstance(value, str):
                value = _TRUE_FALSE[value.lower()]
            elif not isinstance(value, bool):
                raise TypeError
        elif kind is tuple:
            value = _to_tuple(value)
        elif kind is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise TypeError
            value = str(value)
        elif kind is dict:
            value = _pairs(value)
    except (TypeError, ValueError, KeyError):
        shown = "a hidden value" if name in SECRET_SETTINGS else repr(value)
        what = ("a non-empty list of text" if kind is tuple
                else "KEY=VALUE,..." if kind is dict else kind.__name__)
        raise ConfigError(f"setting {name!r} in {source} must be {what}, got {shown}") from None
    if kind in (int, float) and value < 0:
        raise ConfigError(f"setting {name!r} in {source} must be 0 or more, got {value!r}")
    if kind is dict:
        for key, item in value:
            if choices is not None and item not in choices:
                raise ConfigError(f"setting {name!r} in {source}: {key} must be one of "
                                  f"{', '.join(choices)}; got {item!r}")
        return value
    if choices is not None:
        if kind is str and name == "log_level":
            value = value.upper()
        if value not in choices:
            raise ConfigError(
                f"setting {name!r} in {source} must be one of {', '.join(choices)}; got {value!r}"
            )
    return value


def _to_tuple(value: Any) -> tuple[str, ...]:
    """A list setting: a YAML list, or comma-separated text (the environment)."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise TypeError
    if not all(isinstance(item, str) for item in items):
        raise TypeError
    out = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not out:
        raise ValueError
    return out


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A mapping setting as sorted ``(KEY, value)`` pairs (hashable, so Settings stays frozen).

    From a mapping (YAML), pairs, or text ``KEY=VALUE,KEY=VALUE`` (environment);
    keys are upper-cased, values lower-cased.
    """
    if isinstance(value, str):
        items = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, item = part.partition("=")
            if not sep or not key.strip():
                raise ValueError(part)
            items.append((key, item))
    elif isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (tuple, list)):
        items = [tuple(pair) for pair in value]
        if any(len(pair) != 2 for pair in items):
            raise ValueError(value)
    else:
        raise TypeError
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in items):
        raise TypeError
    return tuple(sorted({k.strip().upper(): v.strip().lower() for k, v in items}.items()))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where} is not valid YAML") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"config file {path} must be a mapping of setting: value")
    return content


def load_settings(
    config: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, a YAML file, the environment and overrides.

    Parameters
    ----------
    config : path-like, optional
        YAML file of settings. Default: ``ACSQ_CONFIG`` from ``environ``, if set.
    environ : mapping, optional
        Environment to read ``ACSQ_*`` variables from. Default: ``os.environ``,
        read when this function is called.
    **overrides
        Settings that take precedence over everything else; ``None`` values
        are ignored, so command-line options can be passed as they are.

    Returns
    -------
    settings : Settings

    Raises
    ------
    ConfigError
        On an unknown setting, a value of the wrong type, or an unreadable file.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    cwd = Path.cwd()

    for name in SETTING_NAMES:
        default = _FIELDS[name].default
        values[name] = _convert(name, default, "defaults", cwd) if default is not None else None

    config = config if config is not None else env.get("ACSQ_CONFIG") or None
    if config is not None:
        path = Path(config).expanduser().resolve()
        for name, value in _read_yaml(path).items():
            values[name] = _convert(str(name), value, f"config file {path}", path.parent)

    for name in SETTING_NAMES:
        var = "ACSQ_" + name.upper()
        if var in env:
            values[name] = _convert(name, env[var], f"environment variable {var}", cwd)

    for name, value in overrides.items():
        if value is not None:
            values[name] = _convert(name, value, "command line", cwd)

    return Settings(**values)
