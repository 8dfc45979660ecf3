"""ObsCore rows: one per image product (a rootname's raw, flt, flc, crj, crc, drz or drc file).

The columns SIA v2 answers with (IVOA ObsCore 1.1 names, units and UCDs):

- ``obs_id``: the rootname; ``filetype``: which product;
- ``obs_collection`` and ``facility_name``: ``HST``; ``dataproduct_type``: ``image``;
- ``instrument_name``: ``ACS/WFC``, ``ACS/HRC`` or ``ACS/SBC``;
- ``calib_level``: raw 1; flt, flc, crj, crc 2; drz, drc 3;
- ``target_name``: TARGNAME;
- ``s_ra``, ``s_dec``: the target position, RA_TARG and DEC_TARG (deg);
- ``s_fov``: the diagonal of the detector's full field (deg): WFC 202x202, HRC 29x26,
  SBC 34.6x30.5 arcsec (ACS Instrument Handbook);
- ``s_region``: the footprint as STC-S, where the catalog has one;
- ``t_min``, ``t_max``: EXPSTART and EXPSTART + EXPTIME (MJD, d); ``t_exptime``: EXPTIME (s);
- ``em_min``, ``em_max``: the spectral filter's band (m, :mod:`.passbands`);
- ``access_url``: the file's download URL; ``access_format``: ``application/fits``;
- ``preview``: the quicklook JPEG's URL (its ~1024-px preview), where there is one.

Each ObsCore column carries its ObsCore utype (``obscore:Access.Reference``
for ``access_url``, ...: :data:`OBSCORE_UTYPES`), by which pyvo's
``getdataurl()`` and ``getdataset()`` find the file; ``preview`` and
``filetype`` are this service's own columns and have none.

The URLs are the web app's: the caller passes the functions that make them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import astropy.units as u
from astropy.table import Table

from acsq_mongo.formats.table import typed_column
from acsq_mongo.query.passbands import image_passband

__all__ = ["CALIB_LEVELS", "SOURCE_COLUMNS", "ACCESS_FORMAT", "COLLECTION", "FACILITY",
           "instrument_name", "product_rows", "obscore_table", "OBSCORE_COLUMNS",
           "OBSCORE_UTYPES"]

#: Calibration level of each image filetype (ObsCore ``calib_level``).
CALIB_LEVELS: dict[str, int] = {"raw": 1, "flt": 2, "flc": 2, "crj": 2, "crc": 2,
                                "drz": 3, "drc": 3}
#: The catalog columns the rows are made from.
SOURCE_COLUMNS: tuple[str, ...] = (
    "rootname", "ra_targ", "dec_targ", "detector", "filter1", "filter2", "expstart",
    "exptime", "targname", "filetypes", "quicklook", "date_obs", "footprint", "s_region",
)
ACCESS_FORMAT = "application/fits"
COLLECTION = "HST"
FACILITY = "HST"

# Full-field diagonals in degrees, from the field sizes in arcsec.
_FOV = {det: math.hypot(w, h) / 3600.0
        for det, (w, h) in {"WFC": (202.0, 202.0), "HRC": (29.0, 26.0),
                            "SBC": (34.6, 30.5)}.items()}

#: name -> (type, unit, UCD, description), in output order.
OBSCORE_COLUMNS: dict[str, tuple[str, Any, str, str]] = {
    "obs_id": ("str", None, "meta.id", "Rootname"),
    "obs_collection": ("str", None, "meta.id", "Collection"),
    "facility_name": ("str", None, "meta.id;instr.tel", "Facility"),
    "instrument_name": ("str", None, "meta.id;instr", "Instrument and detector"),
    "dataproduct_type": ("str", None, "meta.code.class", "Data product type"),
    "calib_level": ("int", None, "meta.code;obs.calib",
                    "Calibration level: 1 raw, 2 calibrated, 3 drizzled"),
    "target_name": ("str", None, "meta.id;src", "Target name (TARGNAME)"),
    "s_ra": ("float", u.deg, "pos.eq.ra", "Target RA (RA_TARG), ICRS"),
    "s_dec": ("float", u.deg, "pos.eq.dec", "Target Dec (DEC_TARG), ICRS"),
    "s_fov": ("float", u.deg, "phys.angSize;instr.fov", "Diagonal of the detector's field"),
    "s_region": ("str", None, "pos.outline;obs.field", "Footprint (STC-S)"),
    "t_min": ("float", u.d, "time.start;obs.exposure", "Exposure start (MJD)"),
    "t_max": ("float", u.d, "time.end;obs.exposure", "Exposure end (MJD)"),
    "t_exptime": ("float", u.s, "time.duration;obs.exposure", "Exposure time"),
    "em_min": ("float", u.m, "em.wl;stat.min", "Shortest wavelength of the filter's band"),
    "em_max": ("float", u.m, "em.wl;stat.max", "Longest wavelength of the filter's band"),
    "access_url": ("str", None, "meta.ref.url", "Download URL of the file"),
    "access_format": ("str", None, "meta.code.mime", "Format of the file"),
    "preview": ("str", None, "meta.ref.url;meta.preview", "Quicklook JPEG"),
    "filetype": ("str", None, "meta.code", "ACS filetype (raw, flt, drz, ...)"),
}


_SPATIAL = "obscore:Char.SpatialAxis.Coverage."
#: The utype of each ObsCore column (ObsCore 1.1, the ObsTAP table of its columns).
OBSCORE_UTYPES: dict[str, str] = {
    "obs_id": "obscore:DataID.observationID",
    "obs_collection": "obscore:DataID.Collection",
    "facility_name": "obscore:Provenance.ObsConfig.Facility.name",
    "instrument_name": "obscore:Provenance.ObsConfig.Instrument.name",
    "dataproduct_type": "obscore:ObsDataset.dataProductType",
    "calib_level": "obscore:ObsDataset.calibLevel",
    "target_name": "obscore:Target.Name",
    "s_ra": _SPATIAL + "Location.Coord.Position2D.Value2.C1",
    "s_dec": _SPATIAL + "Location.Coord.Position2D.Value2.C2",
    "s_fov": _SPATIAL + "Bounds.Extent.diameter",
    "s_region": _SPATIAL + "Support.Area",
    "t_min": "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
    "t_max": "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
    "t_exptime": "obscore:Char.TimeAxis.Coverage.Support.Extent",
    "em_min": "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
    "em_max": "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
    "access_url": "obscore:Access.Reference",
    "access_format": "obscore:Access.Format",
}


def instrument_name(detector: str | None) -> str:
    """Return ObsCore's ``instrument_name``: ``ACS/WFC``, or ``ACS`` if the detector is unknown."""
    return f"ACS/{detector}" if detector else "ACS"


def product_rows(
    row: Mapping[str, Any],
    file_url: Callable[[str, str], str],
    preview_url: Callable[[str], str],
) -> list[dict[str, Any]]:
    """Return the ObsCore rows of one rootname: one per image filetype it has.

    Parameters
    ----------
    row : mapping
        The rootname's :data:`SOURCE_COLUMNS` (and ``s_region`` where known).
    file_url : callable
        ``(rootname, filetype) -> URL`` of the file's download.
    preview_url : callable
        ``(quicklook path) -> URL`` of a quicklook JPEG.
    """
    rootname = row["rootname"]
    band = image_passband(row.get("detector"), row.get("filter1"), row.get("filter2"))
    expstart, exptime = row.get("expstart"), row.get("exptime")
    t_max = expstart + exptime / 86400.0 if expstart is not None and exptime is not None else None
    quicklook = row.get("quicklook") or {}
    shared = {
        "obs_id": rootname, "obs_collection": COLLECTION, "facility_name": FACILITY,
        "instrument_name": instrument_name(row.get("detector")), "dataproduct_type": "image",
        "target_name": row.get("targname"), "s_ra": row.get("ra_targ"),
        "s_dec": row.get("dec_targ"), "s_fov": _FOV.get(row.get("detector")),
        "s_region": row.get("s_region"), "t_min": expstart, "t_max": t_max,
        "t_exptime": exptime, "em_min": band.low if band else None,
        "em_max": band.high if band else None, "access_format": ACCESS_FORMAT,
    }
    out = []
    for filetype in row.get("filetypes") or ():
        if filetype not in CALIB_LEVELS:
            continue
        jpeg = _quicklook_path(quicklook, filetype)
        out.append({**shared, "calib_level": CALIB_LEVELS[filetype], "filetype": filetype,
                    "access_url": file_url(rootname, filetype),
                    "preview": preview_url(jpeg) if jpeg else None})
    return out


def _quicklook_path(quicklook: Any, filetype: str) -> str | None:
    """The ~1024-px preview JPEG of a filetype, else its full quicklook JPEG, else None."""
    if not isinstance(quicklook, Mapping):
        return None
    previews = quicklook.get("preview")
    if isinstance(previews, Mapping) and isinstance(previews.get(filetype), str):
        return previews[filetype]
    jpeg = quicklook.get(filetype)
    return jpeg if isinstance(jpeg, str) else None


def obscore_table(rows: Iterable[Mapping[str, Any]]) -> Table:
    """Return ObsCore rows as a table with units, UCDs, utypes and descriptions."""
    rows = list(rows)
    table = Table()
    for name, (kind, unit, ucd, description) in OBSCORE_COLUMNS.items():
        table[name] = typed_column(name, kind, [r.get(name) for r in rows])
        column = table[name]
        column.info.description = description
        column.info.meta = {"ucd": ucd, **({"xtype": "adql:REGION"} if name == "s_region"
                                           else {})}
        if name in OBSCORE_UTYPES:
            column.info.meta["utype"] = OBSCORE_UTYPES[name]
        if unit is not None:
            column.unit = unit
    return table
