"""The value type of a header keyword, from the real ACS keyword inventory.

``acs_header_keywords.json`` lists, for every ``<detector>_<filetype>_<ext>``,
the keywords seen in the public ACS archive and the type of their values
(``Integer``, ``Float``, ``String``, ``Bool``). A query on
``headers.<filetype>.<ext>.<KEY>`` uses it to convert the value the analyst
typed. The query does not know the detector, so the types of every detector
are merged; a keyword that is not in the inventory gets its type from the
text itself.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

__all__ = ["inventory_path", "keyword_types", "keyword_places", "keywords_at"]

_PACKAGE = Path(__file__).resolve().parent.parent
_CANDIDATES = (
    _PACKAGE / "data" / "acs_header_keywords.json",
    _PACKAGE.parent.parent / "shared" / "reference" / "acs_header_keywords.json",
)


def inventory_path() -> Path | None:
    """Return the keyword inventory file: the package's copy, else ``../shared/reference``."""
    for path in _CANDIDATES:
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=1)
def _inventory() -> dict[tuple[str, str], dict[str, frozenset[str]]]:
    path = inventory_path()
    if path is None:
        return {}
    keywords = json.loads(path.read_text())["keywords"]
    merged: dict[tuple[str, str], dict[str, set[str]]] = {}
    for combo, entries in keywords.items():
        _detector, filetype, ext = combo.rsplit("_", 2)
        table = merged.setdefault((filetype, ext), {})
        for key, kind in entries:
            table.setdefault(key.upper(), set()).add(kind)
    return {
        where: {key: frozenset(kinds) for key, kinds in table.items()}
        for where, table in merged.items()
    }


def keyword_types(filetype: str, ext: str, key: str) -> frozenset[str]:
    """Return the value types seen for a keyword, e.g. ``{"Float"}``; empty if unknown.

    Parameters
    ----------
    filetype : str
        ``flt``, ``raw``, ...
    ext : str
        Extension number as text, ``"0"`` for the primary header.
    key : str
        The keyword as in the FITS header (not escaped), e.g. ``D2IM1.EXTVER``.
    """
    return _inventory().get((filetype, ext), {}).get(key.upper(), frozenset())


def keywords_at(filetype: str, ext: str) -> frozenset[str]:
    """Return every keyword the inventory has seen in one filetype's extension."""
    return frozenset(_inventory().get((filetype, ext), {}))


def keyword_places(key: str) -> list[tuple[str, str]]:
    """Return the ``(filetype, ext)`` headers where the inventory has seen a keyword."""
    key = key.upper()
    return sorted((where for where, table in _inventory().items() if key in table),
                  key=lambda w: (w[0], int(w[1]) if w[1].isdigit() else 999))
