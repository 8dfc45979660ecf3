"""Image footprints on the sky, from the WCS keywords of the stored headers (``astropy.wcs``).

Which headers give a footprint:

- ``flt``, ``flc``: each ``SCI`` extension (one per chip: two for WFC);
- ``drz``, ``drc``: the product's ``SCI`` extension;
- ``raw``: the ``flt``'s footprint, when there is an ``flt``;

and a further file of one of them (``j94f05bgr_flt``, a file key) the same way.

Each chip's ring is its four outer pixel corners, ``(0.5, 0.5)`` to
``(N1 + 0.5, N2 + 0.5)`` in FITS pixel numbering, through the full WCS
(:meth:`astropy.wcs.WCS.calc_footprint`): SIP distortion where ``CTYPE`` ends
in ``-SIP``, and the lookup-table distortions (``D2IMARR``, ``WCSDVARR``) where
the header names them and the caller passes their pixels (they live in other
extensions; without them a corner is off by their size, a few hundredths of an
arcsecond for ACS). The edges between corners are great circles, as a
2dsphere index reads them: exact for a tangent-plane image without
distortion, within the SIP's curvature (well under an arcsecond for ACS)
otherwise. The size is ``NAXIS1/2`` (``ZNAXIS1/2`` of a tile-compressed
image); where the pixels have been cut away (``NAXIS`` smaller than
``SIZAXIS1/2``, as in astropy's test copy of ``j94f05bgq_flt.fits``, 1 x 1
pixel of a 4096 x 2048 chip) it is ``SIZAXIS1/2``.

The WCS is built from the keywords it needs alone (:func:`chip_wcs`), set
on a bare :class:`~astropy.wcs.WCS` rather than parsed from a FITS header:
some 40 microseconds a chip instead of 12 ms, with the same corners.

A missing or broken WCS gives no footprint and one line of
:attr:`Footprints.warnings` for the run log; it is never an ingest error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from acsq_mongo.fields import file_keys, key_filetype
from acsq_mongo.sky.geometry import check_ring

__all__ = ["Footprints", "FOOTPRINT_FILETYPES", "PREFERRED", "LookupTableMissing", "WCSUnusable",
           "chip_ring", "chip_wcs", "compute_footprints", "lookup_extensions"]

#: Filetypes that get a footprint, and the order the catalog's ``footprint`` prefers them in.
FOOTPRINT_FILETYPES: tuple[str, ...] = ("flt", "flc", "drz", "drc", "raw")
PREFERRED = FOOTPRINT_FILETYPES

#: The lookup-table distortions: (keyword prefix, record keyword prefix, EXTNAME of the table).
_LOOKUPS = (("D2IMDIS", "D2IM", "D2IMARR"), ("CPDIS", "DP", "WCSDVARR"))
_NUMBER_TYPES = (int, float)
# The projection parameters read, PVi_m with m < 40 (as many as TPV has).
_PV_KEYS = frozenset(f"PV{i}_{m}" for i in (1, 2) for m in range(40))
_DOT = "%2E"  # "." in a stored keyword (acsq_mongo.db.keys.escape_key)

#: ``{"<ext>": array}``: the pixels of a file's lookup-table extensions, by HDU index.
Arrays = Mapping[str, np.ndarray]


class WCSUnusable(ValueError):
    """An extension's WCS is missing, or gives no proper footprint."""


class LookupTableMissing(LookupError):
    """A header names a lookup table whose pixels were not given."""


@dataclass
class Footprints:
    """The footprints of one rootname.

    Attributes
    ----------
    rings : dict
        ``{filetype: [ring, ...]}``, a ring being ``[[ra, dec], ...]`` (degrees,
        RA in [0, 360), not closed), one per chip or product.
    warnings : list of str
        One line per extension whose WCS gave no footprint, for the run log.
    """

    rings: dict[str, list[list[list[float]]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def preferred(self) -> list[list[list[float]]] | None:
        """The rings the catalog keeps: of the first filetype of :data:`PREFERRED`."""
        for filetype in PREFERRED:
            if self.rings.get(filetype):
                return self.rings[filetype]
        return None


def _number(value: Any) -> bool:
    """Whether a header value is a finite number (not a bool, a string or None)."""
    return type(value) in _NUMBER_TYPES and math.isfinite(value)


def _size(header: Mapping[str, Any], axis: int) -> int:
    if header.get("ZIMAGE") is True:  # a tile-compressed image: NAXISn are the table's
        naxis = header.get(f"ZNAXIS{axis}")
    else:
        naxis = header.get(f"NAXIS{axis}")
    sizaxis = header.get(f"SIZAXIS{axis}")
    naxis = naxis if isinstance(naxis, int) and not isinstance(naxis, bool) else 0
    if _number(sizaxis) and sizaxis > naxis:
        return int(sizaxis)  # the pixels were cut away: the image's true size
    return naxis


def _sip_matrix(header: Mapping[str, Any], name: str, order: int) -> np.ndarray:
    matrix = np.zeros((order + 1, order + 1))
    for i in range(order + 1):
        for j in range(order + 1 - i):
            value = header.get(f"{name}_{i}_{j}")
            if _number(value):
                matrix[i, j] = value
    return matrix


def _linear(wcsprm, header: Mapping[str, Any]) -> None:
    """Set the linear transformation: CD, else PC and CDELT, else CROTA2 and CDELT."""
    keys = [f"{m}{i}_{j}" for m in ("CD", "PC") for i in (1, 2) for j in (1, 2)]
    values = {key: header.get(key) for key in keys}
    cdelt = [header.get("CDELT1"), header.get("CDELT2")]
    if any(_number(values[k]) for k in keys[:4]):
        # Some CD present: the others are 0 (WCS paper I, 2.1.2).
        wcsprm.cd = [[values[f"CD{i}_{j}"] if _number(values[f"CD{i}_{j}"]) else 0.0
                      for j in (1, 2)] for i in (1, 2)]
        return
    wcsprm.cdelt = [c if _number(c) else 1.0 for c in cdelt]
    if any(_number(values[k]) for k in keys[4:]):
        wcsprm.pc = [[values[f"PC{i}_{j}"] if _number(values[f"PC{i}_{j}"]) else float(i == j)
                      for j in (1, 2)] for i in (1, 2)]
    elif _number(header.get("CROTA2")):
        wcsprm.crota = [0.0, header["CROTA2"]]


def _lookup_table(header: Mapping[str, Any], file_headers: Mapping[str, Mapping[str, Any]],
                  arrays: Arrays, axis: int, kind: tuple[str, str, str]):
    """The :class:`~astropy.wcs.DistortionLookupTable` of one axis, or None.

    Raises
    ------
    LookupTableMissing
        If the header names a lookup table whose pixels are not in ``arrays``.
    """
    from astropy.wcs import DistortionLookupTable

    keyword, record, extname = kind
    if str(header.get(f"{keyword}{axis}", "")).strip().lower() != "lookup":
        return None
    extver = header.get(f"{record}{axis}{_DOT}EXTVER", 1)
    ext = _find_extension(file_headers, extname, extver)
    if ext is None or ext not in arrays:
        raise LookupTableMissing(f"{extname},{extver:g}" if _number(extver) else extname)
    table = np.asarray(arrays[ext], dtype=np.float32)
    if table.ndim == 1:
        table = table[None, :]
    if header.get(f"{record}{axis}{_DOT}AXIS{_DOT}{axis}", axis) != axis:
        table = table.T  # the table applies along the other axis
    meta = file_headers[ext]

    def pair(key: str, default: float) -> tuple[float, float]:
        return tuple(float(meta[k]) if _number(meta.get(k)) else default
                     for k in (f"{key}1", f"{key}2"))

    return DistortionLookupTable(np.ascontiguousarray(table), pair("CRPIX", 0.0),
                                 pair("CRVAL", 0.0), pair("CDELT", 1.0))


def _find_extension(file_headers: Mapping[str, Mapping[str, Any]], extname: str,
                    extver: Any) -> str | None:
    for ext, h in file_headers.items():
        if str(h.get("EXTNAME", "")).strip().upper() == extname and h.get("EXTVER", 1) == extver:
            return ext
    return None


def lookup_extensions(file_headers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The HDUs (by index) whose pixels the footprint of a file needs: its lookup tables.

    Parameters
    ----------
    file_headers : mapping
        ``{"<ext>": {KEY: value}}`` of one file.

    Returns
    -------
    extensions : list of str
        The ``D2IMARR`` and ``WCSDVARR`` extensions that a ``SCI`` header names
        (``D2IMDISn``/``CPDISn = 'Lookup'``); empty for most files.
    """
    wanted: set[str] = set()
    for h in file_headers.values():
        if str(h.get("EXTNAME", "")).strip().upper() != "SCI":
            continue
        for keyword, record, extname in _LOOKUPS:
            for axis in (1, 2):
                if str(h.get(f"{keyword}{axis}", "")).strip().lower() == "lookup":
                    ext = _find_extension(file_headers, extname,
                                          h.get(f"{record}{axis}{_DOT}EXTVER", 1))
                    if ext is not None:
                        wanted.add(ext)
    return sorted(wanted, key=lambda ext: (not ext.isdigit(), ext.zfill(4)))


def chip_wcs(header: Mapping[str, Any],
             file_headers: Mapping[str, Mapping[str, Any]] | None = None,
             arrays: Arrays | None = None):
    """The celestial WCS of one image extension, from the keywords it needs alone.

    ``CTYPE``, ``CUNIT``, ``CRVAL``, ``CRPIX``, the linear part (``CD``, else ``PC`` and
    ``CDELT``, else ``CROTA2``), ``LONPOLE``/``LATPOLE``, ``PV`` and the SIP
    ``A``/``B`` terms (where ``CTYPE`` ends in ``-SIP``), as astropy reads them
    from a header; and the lookup tables the header names, where their pixels
    are given.

    Parameters
    ----------
    header : mapping
        ``{KEY: value}`` of the extension, as the header reader gives it.
    file_headers : mapping, optional
        All headers of the file, ``{"<ext>": {KEY: value}}``: where the lookup
        tables' own keywords (``CRPIX``, ``CRVAL``, ``CDELT``) are.
    arrays : mapping, optional
        ``{"<ext>": array}``: the pixels of the lookup-table extensions
        (:func:`lookup_extensions`).

    Returns
    -------
    wcs : astropy.wcs.WCS
        With ``pixel_shape`` set to the image's size.

    Raises
    ------
    WCSUnusable
        If the WCS is missing or incomplete, or astropy cannot use it.
    """
    from astropy.wcs import WCS, Sip

    n1, n2 = _size(header, 1), _size(header, 2)
    if n1 <= 0 or n2 <= 0:
        raise WCSUnusable("no image size (NAXIS1/2 or SIZAXIS1/2)")
    ctype = header.get("CTYPE1"), header.get("CTYPE2")
    if not isinstance(ctype[0], str) or not ctype[0].startswith("RA--") \
            or not isinstance(ctype[1], str):
        raise WCSUnusable(f"no celestial WCS (CTYPE1 = {ctype[0]!r})")
    missing = [k for k in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2") if not _number(header.get(k))]
    if missing:
        raise WCSUnusable("missing or null " + ", ".join(missing))
    try:
        wcs = WCS(naxis=2)
        p = wcs.wcs
        p.ctype = [c.strip() for c in ctype]
        p.crval = [header["CRVAL1"], header["CRVAL2"]]
        p.crpix = [header["CRPIX1"], header["CRPIX2"]]
        _linear(p, header)
        cunit = header.get("CUNIT1"), header.get("CUNIT2")
        if all(isinstance(u, str) and u.strip() for u in cunit):
            p.cunit = [u.strip() for u in cunit]
        for key in ("LONPOLE", "LATPOLE"):
            if _number(header.get(key)):
                setattr(p, key.lower(), header[key])
        pv = [(int(k[2]), int(k[4:]), header[k]) for k in _PV_KEYS.intersection(header)
              if _number(header[k])]
        if pv:
            p.set_pv(pv)
        orders = header.get("A_ORDER"), header.get("B_ORDER")
        if ctype[0].endswith("-SIP") and all(_number(o) and o > 1 for o in orders):
            wcs.sip = Sip(_sip_matrix(header, "A", int(orders[0])),
                          _sip_matrix(header, "B", int(orders[1])), None, None, p.crpix)
        for kind in _LOOKUPS:
            tables = [_lookup_table(header, file_headers or {}, arrays or {}, axis, kind)
                      for axis in (1, 2)]
            if kind[0] == "CPDIS":
                wcs.cpdis1, wcs.cpdis2 = tables
            else:
                wcs.det2im1, wcs.det2im2 = tables
        p.set()
    except LookupTableMissing:
        raise
    except Exception as exc:  # astropy raises many kinds; each is a broken WCS here
        raise WCSUnusable(f"astropy.wcs: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    wcs.pixel_shape = (n1, n2)
    return wcs


def chip_ring(header: Mapping[str, Any],
              file_headers: Mapping[str, Mapping[str, Any]] | None = None,
              arrays: Arrays | None = None) -> list[list[float]]:
    """The footprint ring of one image extension, from its header values.

    Parameters
    ----------
    header, file_headers, arrays
        As for :func:`chip_wcs`.

    Returns
    -------
    ring : list of [ra, dec]
        The four outer pixel corners in degrees, RA in [0, 360), counter-clockwise
        in pixel coordinates from ``(0.5, 0.5)``.

    Raises
    ------
    WCSUnusable
        If the WCS is missing or incomplete, astropy cannot use it, or it gives
        no proper polygon.
    LookupTableMissing
        If the header names a lookup table whose pixels ``arrays`` lacks.
    """
    wcs = chip_wcs(header, file_headers, arrays)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            corners = wcs.calc_footprint(center=False)
    except Exception as exc:  # as in chip_wcs
        raise WCSUnusable(f"astropy.wcs: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    # calc_footprint goes clockwise in pixels from (0.5, 0.5); the ring goes the other way.
    ring = [[float(corners[k, 0]) % 360.0, float(corners[k, 1])] for k in (0, 3, 2, 1)]
    try:
        check_ring(ring)
    except ValueError as exc:
        raise WCSUnusable(str(exc)) from None
    return ring


def _sci_extensions(file_headers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    exts = [ext for ext, h in file_headers.items()
            if ext != "0" and str(h.get("EXTNAME", "")).strip().upper() == "SCI"]
    return sorted(exts, key=int)


def compute_footprints(headers: Mapping[str, Mapping[str, Mapping[str, Any]]],
                       arrays: Mapping[str, Arrays] | None = None) -> Footprints:
    """Compute the footprints of a rootname from the headers of its files.

    Parameters
    ----------
    headers : mapping
        ``{file key: {"<ext>": {KEY: value}}}``: every file key of a footprint filetype
        counts, ``flt`` and ``j94f05bgr_flt`` alike.
    arrays : mapping, optional
        ``{file key: {"<ext>": array}}``: the pixels of the lookup-table
        extensions of each file (:func:`lookup_extensions`). A chip whose
        header names a lookup table that is not given gets its footprint
        without it, and a warning.

    Returns
    -------
    footprints : Footprints
        Rings of every filetype that has a usable WCS, and a warning for each
        ``SCI`` extension that has none (a filetype with a broken chip keeps no
        footprint: half of an exposure would claim less sky than it saw).
    """
    out = Footprints()
    arrays = arrays or {}
    for filetype in file_keys(headers, FOOTPRINT_FILETYPES):  # a file key: flt, j94f05bgr_flt
        if key_filetype(filetype) == "raw":
            continue
        file_headers = headers[filetype]
        exts = _sci_extensions(file_headers)
        if key_filetype(filetype) in ("drz", "drc"):
            exts = exts[:1]
        if not exts:
            out.warnings.append(f"{filetype}: no SCI extension; no footprint")
            continue
        rings = []
        for ext in exts:
            header = file_headers[ext]
            try:
                try:
                    rings.append(chip_ring(header, file_headers, arrays.get(filetype, {})))
                except LookupTableMissing as exc:
                    out.warnings.append(f"{filetype}[{ext}]: lookup table {exc.args[0]} not "
                                        "read; footprint without it")
                    rings.append(chip_ring(_without_lookups(header)))
            except WCSUnusable as exc:
                out.warnings.append(f"{filetype}[{ext}]: WCS unusable ({exc}); no footprint")
                rings = []
                break
        if rings:
            out.rings[filetype] = rings
    for raw in file_keys(headers, ("raw",)):  # raw takes its flt's: j94f05bgr_raw ...r_flt's
        if raw[:-3] + "flt" in out.rings:
            out.rings[raw] = [list(map(list, ring)) for ring in out.rings[raw[:-3] + "flt"]]
    return out


def _without_lookups(header: Mapping[str, Any]) -> dict[str, Any]:
    names = tuple(f"{keyword}{axis}" for keyword, _, _ in _LOOKUPS for axis in (1, 2))
    return {k: v for k, v in header.items() if k not in names}
