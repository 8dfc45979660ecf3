"""Field names a query may use: the promoted fields, or a header keyword by path.

A name is either a top-level field of :data:`acsq_mongo.fields.FIELDS`
(``detector``, ``exptime``, ``date_obs``, ...) or a header keyword written
``headers.<filetype>.<ext>.<KEY>``: a filetype of
:data:`acsq_mongo.fields.FILETYPES`, an extension number (0 is the primary
header) and the keyword. Everything after the third dot is the keyword, so
record-valued keywords such as ``D2IM1.EXTVER`` work; it is escaped the way
the store escapes it (:func:`acsq_mongo.db.keys.escape_key`).

Nothing else gets through: no ``$``, no unexpected ``.``, no other
characters, so a name can never smuggle an operator into MongoDB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from acsq_mongo.db.keys import escape_key
from acsq_mongo.fields import (
    COMBINED_FIELDS,
    COMBINED_PARTS,
    FIELDS,
    FILETYPES,
    STATISTICS,
    STATS_FILETYPES,
    STATS_PREFIX,
    STATS_REGIONS,
    stats_field,
)
from acsq_mongo.query.errors import QueryError

__all__ = ["FieldRef", "resolve", "resolve_filter", "field_choices", "HEADER_PATH_HELP",
           "MAX_KEY_LENGTH", "ALIASES", "FILTER_NAMES", "WAVELENGTH", "STATS_PATH_HELP"]

#: How a header keyword is named in a query.
HEADER_PATH_HELP = "headers.<filetype>.<ext>.<KEY>, e.g. headers.flt.0.CCDGAIN"
#: How an image statistic is named in a query.
STATS_PATH_HELP = "stats.<filetype>.<region>.<statistic>, e.g. stats.flt.chip1.median"
#: Longest keyword accepted (HIERARCH keywords can be long; FITS cards are 80 characters).
MAX_KEY_LENGTH = 72

# A file key is a filetype, or <rootname>_<filetype> for a further file of that filetype
# (docs/data-model.md, "Identity"); an extension a number, or <EXTNAME>_<EXTVER> for the
# named extensions (D2IMARR_1, WCSDVARR_2, WCSCORR_1, HDRLET_1).
_HEADER = re.compile(r"headers\.((?:[A-Za-z0-9]{9}_)?[A-Za-z]+)\.([0-9]+|[A-Za-z2]+_[0-9]+)\.(.+)",
                     re.ASCII)
_KEY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*", re.ASCII)


@dataclass(frozen=True)
class FieldRef:
    """A field a query names, checked.

    Attributes
    ----------
    name : str
        The canonical name: ``exptime`` or ``headers.flt.0.CCDGAIN`` (filetype
        lower case, keyword upper case).
    path : str
        The dotted path in the document, with the keyword escaped.
    type : str
        ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``list``, ``dict``
        for a top-level field; ``header`` for a header keyword.
    filetype, ext, key : str or None
        For a header keyword: where it is, and the keyword unescaped.
    parts : tuple of str
        For a combined name (:data:`~acsq_mongo.fields.COMBINED_FIELDS`: ``filter``),
        the stored fields it stands for (``filter1``, ``filter2``); else empty.
    """

    name: str
    path: str
    type: str
    filetype: str | None = None
    ext: str | None = None
    key: str | None = None
    parts: tuple[str, ...] = ()

    @property
    def is_header(self) -> bool:
        """Whether this names a header keyword (lives only in ``rootnames``)."""
        return self.type == "header"


#: The search by the pivot wavelength of the image's filter (:mod:`.wavelength`).
WAVELENGTH = "wavelength"
#: Other names of fields: ``anomaly=ghost`` reads better than ``anomalies=ghost``.
ALIASES: dict[str, str] = {"anomaly": "anomalies", "asn": "asn_id"}
#: The name a filter on a field is written with (links, command lines): the alias if any.
FILTER_NAMES: dict[str, str] = {field: alias for alias, field in ALIASES.items()}


def field_choices() -> str:
    """Return the valid field names, for error messages."""
    combined = ", ".join(f"{name} ({' or '.join(COMBINED_PARTS[name])})"
                         for name in COMBINED_FIELDS)
    return (", ".join(FIELDS) + f", {combined} and {WAVELENGTH} (500nm..900nm) in a filter, "
            f"a header keyword as {HEADER_PATH_HELP}, or an image statistic as "
            f"{STATS_PATH_HELP}")


def resolve(name: str) -> FieldRef:
    """Check a field name and return what it refers to.

    Parameters
    ----------
    name : str
        ``detector``, ``headers.flt.0.CCDGAIN``, ...

    Returns
    -------
    ref : FieldRef

    Raises
    ------
    QueryError
        If the name is not a known field or a well-formed header path.
    """
    if not isinstance(name, str):
        raise QueryError(f"a field name must be text, got {name!r}")
    name = ALIASES.get(name, name)
    if name in FIELDS:
        return FieldRef(name=name, path=name, type=FIELDS[name].type)
    if ALIASES.get(name.lower(), name.lower()) in FIELDS:
        lowered = ALIASES.get(name.lower(), name.lower())
        return FieldRef(name=lowered, path=lowered, type=FIELDS[lowered].type)
    if name.startswith("headers.") or name.lower().startswith("headers."):
        return _header_ref("headers." + name[len("headers."):])
    if name.lower() == WAVELENGTH:
        raise QueryError("wavelength is a search (wavelength=500nm..900nm), not a column or "
                         "sort key; name filter1 and filter2")
    if name.lower() in COMBINED_FIELDS:
        parts = COMBINED_PARTS[name.lower()]
        raise QueryError(f"{name.lower()} searches {' and '.join(parts)} at once and is no "
                         f"column or sort key of its own; name {' or '.join(parts)}")
    if name.lower().startswith(STATS_PREFIX + "."):
        return _stats_ref(name)
    raise QueryError(f"unknown field {_show(name)}; valid fields: {field_choices()}")


def resolve_filter(name: str) -> FieldRef:
    """Check the field name of a filter: :func:`resolve`'s names, and the combined names.

    ``filter`` (:data:`~acsq_mongo.fields.COMBINED_FIELDS`) stands for ``filter1``
    and ``filter2`` at once: its ``parts``.

    Raises
    ------
    QueryError
        If the name is neither a field, a header path nor a combined name.
    """
    if isinstance(name, str) and name.lower() == WAVELENGTH:
        return FieldRef(name=WAVELENGTH, path=WAVELENGTH, type="wavelength")
    if isinstance(name, str) and name.lower() in COMBINED_FIELDS:
        lowered = name.lower()
        return FieldRef(name=lowered, path=lowered, type=COMBINED_FIELDS[lowered].type,
                        parts=COMBINED_PARTS[lowered])
    return resolve(name)


def _header_ref(name: str) -> FieldRef:
    match = _HEADER.fullmatch(name)
    if match is None:
        raise QueryError(f"bad header path {_show(name)}; write {HEADER_PATH_HELP}")
    filetype, ext, key = match.group(1).lower(), match.group(2), match.group(3)
    if filetype.rpartition("_")[2] not in FILETYPES:
        raise QueryError(
            f"unknown filetype {filetype!r} in {_show(name)}; valid filetypes: "
            + ", ".join(FILETYPES)
        )
    if "_" in ext:
        ext = ext.upper()
    elif len(ext) > 3 or (len(ext) > 1 and ext.startswith("0")):
        raise QueryError(f"bad extension {ext!r} in {_show(name)}; an extension is 0, 1, 2, ...")
    if len(key) > MAX_KEY_LENGTH or _KEY.fullmatch(key) is None:
        raise QueryError(
            f"bad header keyword {_show(key)} in {_show(name)}; a keyword is letters, digits, "
            "'-' and '_', with single dots inside record-valued keywords such as D2IM1.EXTVER"
        )
    key = key.upper()
    return FieldRef(
        name=f"headers.{filetype}.{ext}.{key}",
        path=f"headers.{filetype}.{ext}.{escape_key(key)}",
        type="header",
        filetype=filetype,
        ext=ext,
        key=key,
    )


def _stats_ref(name: str) -> FieldRef:
    """``stats.<filetype>.<region>.<statistic>``, each part from its table."""
    parts = name.split(".")
    if len(parts) != 4:
        raise QueryError(f"bad statistic {_show(name)}; write {STATS_PATH_HELP}")
    regions = {r.lower(): r for r in STATS_REGIONS}
    canonical = ".".join((STATS_PREFIX, parts[1].lower(),
                          regions.get(parts[2].lower(), parts[2]), parts[3].lower()))
    if stats_field(canonical) is None:
        _, filetype, region, statistic = canonical.split(".")
        if filetype not in STATS_FILETYPES:
            wrong = f"filetype {filetype!r}; valid: " + ", ".join(STATS_FILETYPES)
        elif region not in STATS_REGIONS:
            wrong = f"region {region!r}; valid: " + ", ".join(STATS_REGIONS)
        else:
            wrong = f"statistic {statistic!r}; valid: " + ", ".join(STATISTICS)
        raise QueryError(f"unknown {wrong} (in {_show(name)})")
    return FieldRef(name=canonical, path=canonical, type="float")


def _show(text: str, limit: int = 60) -> str:
    """Quote user text for a message, cut to a sane length."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
