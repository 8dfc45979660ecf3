"""Target names of this archive, resolved to sky positions: the one position lookup
that reads the database.

A spec is parsed from text alone (:mod:`acsq_mongo.query.positions`): a position that
is a name stays a name. The selection resolves it, the one step between parsing and
selecting that every face goes through
(``spec.with_targets(TargetNames(db).resolve)``, :mod:`acsq_mongo.query.selection`).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import numpy as np

from acsq_mongo.db.collections import CATALOG
from acsq_mongo.query.errors import QueryError, server_errors
from acsq_mongo.query.positions import POSITION_HELP
from acsq_mongo.sky.geometry import to_radec, unit_vectors

if TYPE_CHECKING:
    from astropy.coordinates import SkyCoord
    from pymongo.database import Database

__all__ = ["TargetNames"]


class TargetNames:
    """Target names of this archive, resolved to the mean position of their pointings.

    The mean is the direction of the summed unit vectors of every rootname's
    ``ra_targ``/``dec_targ`` with that ``targname`` (correct across RA 0 and near
    the poles). Names are matched without regard to case, as ``targname`` is
    stored upper case. Internal targets (no position) do not resolve.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def resolve(self, name: str) -> SkyCoord:
        """The ICRS position of a target name.

        Raises
        ------
        QueryError
            If no rootname has that target with a position; the message lists close names.
        """
        import astropy.units as u
        from astropy.coordinates import SkyCoord

        key = name.strip().upper()
        with server_errors():
            docs = list(self.db[CATALOG].find(
                {"targname": key, "ra_targ": {"$ne": None}}, {"ra_targ": 1, "dec_targ": 1}))
        points = [(d["ra_targ"], d["dec_targ"]) for d in docs
                  if isinstance(d.get("ra_targ"), (int, float))
                  and isinstance(d.get("dec_targ"), (int, float))]
        if not points:
            close = difflib.get_close_matches(key, self.names(), n=5, cutoff=0.5)
            hint = ("; close names: " + ", ".join(close)) if close else ""
            raise QueryError(f"{name!r} is neither a position nor a target name of this archive "
                             f"(there is no network name resolver){hint}; a position is "
                             + POSITION_HELP)
        ra, dec = to_radec(unit_vectors(*np.array(points).T).sum(axis=0))
        return SkyCoord(float(ra) * u.deg, float(dec) * u.deg, frame="icrs")

    def names(self) -> list[str]:
        """Every target name of the archive."""
        with server_errors():
            rows = self.db[CATALOG].aggregate([{"$group": {"_id": "$targname"}}])
            return sorted(r["_id"] for r in rows if isinstance(r.get("_id"), str))
