"""The pixels a footprint needs beyond the headers: a file's distortion lookup tables.

Since 2019 the ``flt`` and ``flc`` files of ACS carry their detector-to-image
(``D2IMARR``) and non-polynomial (``WCSDVARR``) distortion tables as small image
extensions, named from the ``SCI`` headers (``D2IMDISn``/``CPDISn = 'Lookup'``).
:func:`read_lookup_arrays` reads those extensions' pixels, and nothing else, for
:func:`acsq_mongo.sky.footprints.compute_footprints`. For a file just read it
seeks straight to them (the header reader's
:attr:`~acsq_mongo.ingest.headers.FileHeaders.data_offsets`); for a file whose
stored headers were kept, astropy finds them. A table that cannot be read is
left out: the footprint is then computed without it, with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from acsq_mongo.fields import file_keys
from acsq_mongo.ingest.headers import open_fits_bytes
from acsq_mongo.sky.footprints import FOOTPRINT_FILETYPES, lookup_extensions

__all__ = ["footprint_arrays", "read_lookup_arrays"]

log = logging.getLogger(__name__)

_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def footprint_arrays(files: Mapping[str, Any], headers: Mapping[str, Mapping[str, Any]],
                     data_offsets: Mapping[str, Mapping[str, int]]
                     ) -> dict[str, dict[str, np.ndarray]]:
    """The lookup tables of every file of an observation that has a footprint.

    Every file key of a footprint filetype counts: the first flt (``flt``) and a further one
    (``j94f05bgr_flt``, docs/data-model.md "Identity") alike, each from its own file.

    Parameters
    ----------
    files : mapping
        ``{file key: FileInfo}`` (:class:`~acsq_mongo.archive.discover.FileInfo`).
    headers : mapping
        ``{file key: {"<ext>": {KEY: value}}}``, read now or kept.
    data_offsets : mapping
        ``{file key: {"<ext>": offset}}`` of the files read now.

    Returns
    -------
    arrays : dict
        ``{file key: {"<ext>": array}}``, for
        :func:`~acsq_mongo.sky.footprints.compute_footprints`.
    """
    return {key: arrays for key in file_keys(headers, FOOTPRINT_FILETYPES) if key in files
            if (arrays := read_lookup_arrays(files[key].path, headers[key],
                                             data_offsets.get(key)))}


def read_lookup_arrays(path: str | os.PathLike, headers: Mapping[str, Mapping[str, Any]],
                       data_offsets: Mapping[str, int] | None = None
                       ) -> dict[str, np.ndarray]:
    """Read the lookup-table extensions a file's footprint needs.

    Parameters
    ----------
    path : path-like
        The FITS file.
    headers : mapping
        ``{"<ext>": {KEY: value}}``: the file's headers.
    data_offsets : mapping, optional
        ``{"<ext>": byte offset of the data}``, as the header reader found them;
        without it, astropy opens the file.

    Returns
    -------
    arrays : dict
        ``{"<ext>": array}``; empty when the file names no lookup table (most
        files), and without the tables that could not be read.
    """
    wanted = lookup_extensions(headers)
    if not wanted:
        return {}
    try:
        if data_offsets is None:
            return _read_with_astropy(path, wanted)
        f, _ = open_fits_bytes(path)  # through gzip for a .fits.gz: the offsets are its stream's
        with f:
            return {ext: array for ext in wanted
                    if (array := _read_image(f, headers[ext], data_offsets.get(ext)))
                    is not None}
    except Exception as exc:  # noqa: BLE001 - a broken file: the footprint goes without them
        log.debug("%s: lookup tables not read: %s", path, exc)
        return {}


def _read_image(f, header: Mapping[str, Any], offset: int | None) -> np.ndarray | None:
    """An image extension's pixels (scaled by BSCALE/BZERO), or None if it is not one."""
    dtype = _DTYPES.get(header.get("BITPIX"))
    naxis = header.get("NAXIS")
    if offset is None or dtype is None or naxis not in (1, 2):
        return None
    shape = tuple(header.get(f"NAXIS{k}") for k in range(naxis, 0, -1))
    if not all(type(n) is int and n > 0 for n in shape):
        return None
    count = int(np.prod(shape))
    f.seek(offset)
    raw = f.read(count * np.dtype(dtype).itemsize)
    if len(raw) < count * np.dtype(dtype).itemsize:
        return None  # truncated
    data = np.frombuffer(raw, dtype).reshape(shape).astype(np.float64)
    scale, zero = header.get("BSCALE", 1), header.get("BZERO", 0)
    if type(scale) in (int, float) and type(zero) in (int, float) and (scale, zero) != (1, 0):
        data = data * scale + zero
    return data


def _read_with_astropy(path: str | os.PathLike, wanted: list[str]) -> dict[str, np.ndarray]:
    from astropy.io import fits

    out = {}
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
        for ext in wanted:
            # "3", or a named extension's key, "WCSDVARR_2" (ingest.headers.header_key)
            name, _, extver = ext.rpartition("_")
            data = hdul[int(ext)].data if ext.isdigit() else hdul[name, int(extver)].data
            if data is not None:
                out[ext] = np.array(data, dtype=np.float64)
    return out
