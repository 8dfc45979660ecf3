"""The headers of a planned sample archive without writing its files, for bulk loads.

:func:`make_sample_archive` writes FITS files, about 10 ms of CPU a rootname (2,000
rootnames in ~10 s on two cores): 200,000 would be ~35 minutes of CPU and ~300 GB of
files (1.4 MB a rootname) for documents that a scale benchmark can build without them.
It needs the documents, not the pixels, so this module gives, for the same plan
(:func:`plan_archive`), the headers that :func:`write_rootname` would write, as plain
``{KEYWORD: value}`` dictionaries (one per HDU, in card order, ``HISTORY`` as a list of
strings) built from the same keyword templates and the same per-rootname values. The
keywords astropy derives from the data when it writes a file (``BITPIX``, ``NAXISn``,
``BZERO``, ``TTYPEn`` ...) are added as it writes them, so that, keys escaped, they
equal what the header reader returns from the written files (a test checks it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from acsq_mongo.sample.acs import load_reference
from acsq_mongo.sample.eras import era_keywords
from acsq_mongo.sample.hdus import _hdu_layout
from acsq_mongo.sample.header_values import (
    HISTORY,
    _like,
    _template,
    extension_header_values,
    primary_header_values,
)
from acsq_mongo.sample.injections import overscan_columns
from acsq_mongo.sample.plan import SampleRootname, plan_rootnames

__all__ = ["plan_archive", "planned_headers", "written_date"]

_IDENTITY = ("EXTNAME", "EXTVER", "ROOTNAME", "FILENAME")
_TABLE_FILETYPES = ("asn", "jit")
# The column names of the jitter tables (sample.hdus._table_columns).
_JIT_COLUMNS = ("SECONDS", "V2_DOM", "V3_DOM", "V2_ROLL", "V3_ROLL", "SI_V2_AVG", "SI_V3_AVG",
                "RA", "DEC", "ROLL", "LIMBANG", "BRIGHT")


def plan_archive(n_rootnames: int, seed: int = 0) -> list[SampleRootname]:
    """Return the plan :func:`make_sample_archive` would write (small images).

    Parameters
    ----------
    n_rootnames : int
        How many rootnames (association products count as rootnames).
    seed : int
        The same seed gives the same plan as ``make_sample_archive(..., seed=seed)``.
    """
    return plan_rootnames(n_rootnames, seed, False)


def written_date(r: SampleRootname):
    """When :func:`write_rootname` dates the files of ``r`` (a naive UTC datetime)."""
    import datetime

    date_obs = datetime.datetime.fromisoformat(r.promoted["date_obs"])
    return date_obs + datetime.timedelta(days=1, hours=3)


@lru_cache(maxsize=512)
def _template_dict(combo: str, seed: int) -> dict[str, Any]:
    return dict(_template(combo, seed))


def _values(combo: str, seed: int, overrides: dict[str, Any],
            history: tuple[str, ...] = ()) -> dict[str, Any]:
    """The keywords of one header as ``header_values.make_header`` writes them."""
    template = _template_dict(combo, seed)
    values = {key: overrides[key] for key in _IDENTITY if key in overrides
              and key not in template}
    values.update(template)
    for key, value in overrides.items():
        if key in template:
            values[key] = _like(value, template[key])
    if history:
        values["HISTORY"] = list(history)
    return values


def _table_structure(r: SampleRootname, combo: str, reference: dict) -> dict[str, Any]:
    """The keywords of the binary tables of ``sample.hdus._table_columns``."""
    if combo.split("_")[1] == "asn":
        columns = [("MEMNAME", "14A", 14), ("MEMTYPE", "14A", 14), ("MEMPRSNT", "L", 1)]
        n_rows = len([m for m in r.members if m != r.rootname]) + 1
    else:
        keys = dict(reference["keywords"].get(combo, []))
        n_cols = sum(1 for k in keys if k.startswith("TTYPE")) or 4
        columns = [(_JIT_COLUMNS[k] if k < len(_JIT_COLUMNS) else f"COL{k + 1}", "E", 4)
                   for k in range(n_cols)]
        n_rows = 8
    header: dict[str, Any] = {
        "XTENSION": "BINTABLE", "BITPIX": 8, "NAXIS": 2,
        "NAXIS1": sum(size for _, _, size in columns), "NAXIS2": n_rows, "PCOUNT": 0,
        "GCOUNT": 1, "TFIELDS": len(columns),
    }
    for k, (name, form, _) in enumerate(columns, start=1):
        header[f"TTYPE{k}"] = name
        header[f"TFORM{k}"] = form
    return header


def _structure(r: SampleRootname, filetype: str, extname: str, extver: int = 1
               ) -> dict[str, Any]:
    """The data-describing keywords astropy writes first in an image extension."""
    h, w = r.shape
    if filetype == "raw" and extname != "SCI":
        return {"XTENSION": "IMAGE", "BITPIX": 8, "NAXIS": 0, "PCOUNT": 0, "GCOUNT": 1}
    if filetype == "spt":
        shape, bitpix = (160,), 16
    elif filetype == "jif":
        shape, bitpix = (16, 16), 16
    else:
        # A drizzled product covers every chip (sample.hdus._drizzled).
        shape = (h * r.n_chips, w) if filetype in ("drz", "drc") else (h, w)
        if filetype == "raw":
            shape = (h, w + sum(overscan_columns(r, extver)))
        bitpix = 16 if extname == "DQ" or filetype == "raw" else 32 if extname == "CTX" else -32
    header: dict[str, Any] = {"XTENSION": "IMAGE", "BITPIX": bitpix, "NAXIS": len(shape)}
    header.update({f"NAXIS{k}": n for k, n in enumerate(reversed(shape), start=1)})
    header.update(PCOUNT=0, GCOUNT=1)
    if filetype == "raw":
        header.update(BSCALE=1, BZERO=32768)
    return header


def planned_headers(r: SampleRootname, seed: int = 0, reference: dict | None = None,
                    extensions: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Return the headers :func:`write_rootname` would write for ``r``.

    Parameters
    ----------
    r : SampleRootname
        A planned rootname (:func:`plan_archive` or :func:`plan_rootname`).
    seed : int
        The seed of the plan.
    reference : dict, optional
        The keyword inventory (default: :func:`load_reference`).
    extensions : bool
        False: the primary headers only (cheaper, for the promoted fields).

    Returns
    -------
    headers : dict
        ``{filetype: [primary, extension 1, ...]}``, each header a dict of FITS
        keyword to value (``bool``, ``int``, ``float`` or ``str``; ``HISTORY`` a
        list of strings), in card order.
    """
    reference = reference or load_reference()
    detector = r.promoted["detector"].lower()
    written = written_date(r)
    h, w = r.shape
    out: dict[str, list[dict[str, Any]]] = {}
    for filetype in r.filetypes:
        layout = _hdu_layout(r, filetype, reference)
        values = primary_header_values(r, filetype, len(layout) + 1, written)
        history = HISTORY.get("drz" if filetype in ("drz", "drc") else filetype, ())
        if filetype in ("flc", "crj", "crc"):
            history = HISTORY["flt"]
        combo = f"{detector}_{filetype}_0"
        primary = {"SIMPLE": True, "BITPIX": 8, "NAXIS": 0, "EXTEND": True}
        if "GROUPS" in dict(reference["keywords"].get(combo, [])):
            primary["GROUPS"] = False
        era_values, omitted = era_keywords(r)  # as hdus.file_hdus writes them
        primary.update(_values(combo, seed, {**values, **era_values}, history))
        for key in omitted:
            primary.pop(key, None)
        hdus = [primary]
        for ext, (extname, extver) in enumerate(layout if extensions else [], start=1):
            combo = f"{detector}_{filetype}_{ext}"
            if filetype in _TABLE_FILETYPES:
                header = _table_structure(r, combo, reference)
            else:
                header = _structure(r, filetype, extname, extver)
            values = extension_header_values(r, filetype, extname, extver)
            header.update(_values(combo, seed, values))
            if filetype == "raw" and extname != "SCI":
                # Empty arrays: their size and constant value instead (the inventory's type).
                header.update(NPIX1=w, NPIX2=h)
                header["PIXVALUE"] = 0 if isinstance(header.get("PIXVALUE"), int) else 0.0
            hdus.append(header)
        out[filetype] = hdus
    return out
