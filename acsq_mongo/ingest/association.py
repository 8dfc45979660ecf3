"""An association's table: its members and products, read from the asn file.

An ACS association product (rootname ending in ``0``) has an asn file whose
first extension is a table of every exposure and product of the association
(``MEMNAME``, ``MEMTYPE``, ``MEMPRSNT``; see ``reference/associations.md``):

- ``EXP-DTH``, ``EXP-CR1``, ``EXP-CR2``, ..., ``EXP-CRJ``: exposures;
- ``PROD-DTH``: the dither-combined product (drz, drc);
- ``PROD-CR1``, ``PROD-CR2``, ..., ``PROD-CRJ``: CR-split products (crj, crc).

``MEMPRSNT`` says whether the member was present when the pipeline ran.
:func:`read_asn_table` reads the rows as plain values for the document's
``asn_members``.
"""

from __future__ import annotations

import os
from typing import Any

from acsq_mongo.errors import AcsqError

__all__ = ["AsnTableError", "read_asn_table"]


class AsnTableError(AcsqError):
    """An asn file whose table cannot be read."""


def read_asn_table(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Return the rows of an asn file's table.

    Parameters
    ----------
    path : path-like
        ``<rootname>_asn.fits`` (or ``.fits.gz``).

    Returns
    -------
    rows : list of dict
        ``{"memname": "j8cw03a1q", "memtype": "EXP-CRJ", "memprsnt": True}`` in table
        order; names lower case, types upper case.

    Raises
    ------
    AsnTableError
        If the file has no table with MEMNAME and MEMTYPE columns.
    """
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            table = next((hdu for hdu in hdul[1:] if isinstance(hdu, fits.BinTableHDU)
                          and "MEMNAME" in hdu.columns.names), None)
            if table is None:
                raise AsnTableError("asn file without a table of MEMNAME and MEMTYPE")
            names = [n.upper() for n in table.columns.names]
            data = table.data
            rows = []
            for row in data:
                present = row["MEMPRSNT"] if "MEMPRSNT" in names else True
                rows.append({
                    "memname": str(row["MEMNAME"]).strip().lower(),
                    "memtype": str(row["MEMTYPE"]).strip().upper(),
                    "memprsnt": bool(present),
                })
    except AsnTableError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AsnTableError(f"cannot read the asn table: {exc}") from None
    return rows
