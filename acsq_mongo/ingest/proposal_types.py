"""The optional local table of proposal types: proposal ID -> GO, CAL/ACS, SNAP, ...

FITS headers do not say what kind of proposal an observation belongs to, and
nothing is fetched from the network, so the type comes from a local table
named by the ``proposal_types`` setting (``ACSQ_PROPOSAL_TYPES``):

CSV
    Two columns, proposal ID and type, with or without a header row::

        proposid,proposal_type
        10368,GO
        10375,CAL/ACS

YAML
    A mapping ``{10368: GO, 10375: CAL/ACS}``, or a list of
    ``{proposid: 10368, proposal_type: GO}`` mappings.

Without the setting every ``proposal_type`` is None.
"""

from __future__ import annotations

import csv
import os
from functools import lru_cache
from pathlib import Path

import yaml

from acsq_mongo.errors import ConfigError

__all__ = ["load_proposal_types"]


def load_proposal_types(path: str | os.PathLike | None) -> dict[int, str]:
    """Read the proposal-type table.

    Parameters
    ----------
    path : path-like or None
        A ``.csv``, ``.yaml`` or ``.yml`` file; None gives an empty table.

    Returns
    -------
    table : dict
        ``{proposid: proposal_type}``.

    Raises
    ------
    ConfigError
        If the file cannot be read or a row is malformed (one line, naming
        the file and the row).
    """
    if path is None:
        return {}
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"cannot read proposal types {path}: {exc.strerror}") from None
    return dict(_load(str(path), mtime))


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> tuple[tuple[int, str], ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read proposal types {path}: {exc}") from None
    if path.lower().endswith((".yaml", ".yml")):
        rows = _yaml_rows(path, text)
    else:
        rows = _csv_rows(path, text)
    table = {}
    for where, proposid, ptype in rows:
        try:
            pid = int(str(proposid).strip())
        except ValueError:
            raise ConfigError(
                f"proposal types {path} {where}: proposal ID {proposid!r} is not a number"
            ) from None
        ptype = str(ptype).strip() if ptype is not None else ""
        if not ptype:
            raise ConfigError(f"proposal types {path} {where}: empty proposal type")
        table[pid] = ptype
    return tuple(sorted(table.items()))


def _csv_rows(path: str, text: str):
    rows = []
    for n, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2:
            raise ConfigError(f"proposal types {path} line {n}: expected proposid,type")
        if n == 1 and not row[0].strip().isdigit():
            continue  # a header row
        rows.append((f"line {n}", row[0], row[1]))
    return rows


def _yaml_rows(path: str, text: str):
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"proposal types {path} is not valid YAML") from None
    if content is None:
        return []
    if isinstance(content, dict):
        return [(f"entry {k!r}", k, v) for k, v in content.items()]
    if isinstance(content, list):
        rows = []
        for n, item in enumerate(content, start=1):
            if not isinstance(item, dict) or "proposid" not in item:
                raise ConfigError(
                    f"proposal types {path} item {n}: expected {{proposid: ..., "
                    "proposal_type: ...}}"
                )
            rows.append((f"item {n}", item["proposid"], item.get("proposal_type")))
        return rows
    raise ConfigError(f"proposal types {path} must be a mapping or a list")
