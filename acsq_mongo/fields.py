"""The promoted key metadata: typed, indexed fields of every rootname.

These are the fields an analyst filters and sorts on (the seed's query form
and its 20 output columns). Ingest fills them from the primary header of the
best available file; the query core converts user input to their types; the
store indexes them. Every other header keyword stays reachable by its path,
``headers.<filetype>.<ext>.<KEY>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Field",
    "PROMOTED_FIELDS",
    "CATALOG_EXTRA_FIELDS",
    "TAG_FIELDS",
    "FIELDS",
    "FILETYPES",
    "key_filetype",
    "file_keys",
    "IMAGE_FILETYPES",
    "THUMBNAIL_FILETYPES",
    "DETECTORS",
    "SEED_OUTPUT_COLUMNS",
    "STANDARD_COLUMNS",
    "FACET_FIELDS",
    "CASE_FOLDED_FIELDS",
    "LIST_FACET_FIELDS",
    "COMBINED_FIELDS",
    "COMBINED_PARTS",
    "ANOMALY_SLUG",
    "anomaly_slug",
    "STATS_PREFIX",
    "STATS_FILETYPES",
    "STATS_REGIONS",
    "STATISTICS",
    "PIXEL_UNITS",
    "stats_field",
    "describe_field",
]


@dataclass(frozen=True)
class Field:
    """One field of the rootname document.

    Attributes
    ----------
    name : str
        Name in the document, lower case as in the seed (``date_obs``).
    type : str
        One of ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``list``, ``dict``.
    keyword : str or None
        The FITS keyword it comes from, if any.
    label : str
        Column heading for people.
    unit : str
        Unit, where it has one.
    """

    name: str
    type: str
    keyword: str | None
    label: str
    unit: str = ""


#: Typed fields taken from the primary header (or derived from it).
PROMOTED_FIELDS: tuple[Field, ...] = (
    Field("rootname", "str", "ROOTNAME", "Rootname"),
    Field("detector", "str", "DETECTOR", "Detector"),
    Field("proposid", "int", "PROPOSID", "Proposal ID"),
    Field("proposal_type", "str", None, "Proposal type"),
    Field("pr_inv_l", "str", "PR_INV_L", "PI last name"),
    Field("pr_inv_f", "str", "PR_INV_F", "PI first name"),
    Field("targname", "str", "TARGNAME", "Target"),
    Field("ra_targ", "float", "RA_TARG", "RA", "deg"),
    Field("dec_targ", "float", "DEC_TARG", "Dec", "deg"),
    Field("aperture", "str", "APERTURE", "Aperture"),
    Field("filter1", "str", "FILTER1", "Filter 1"),
    Field("filter2", "str", "FILTER2", "Filter 2"),
    Field("obstype", "str", "OBSTYPE", "Obs. type"),
    Field("obsmode", "str", "OBSMODE", "Obs. mode"),
    Field("imagetyp", "str", "IMAGETYP", "Image type"),
    Field("subarray", "bool", "SUBARRAY", "Subarray"),
    Field("asn_id", "str", "ASN_ID", "Association ID"),
    Field("exptime", "float", "EXPTIME", "Exposure time", "s"),
    Field("expflag", "str", "EXPFLAG", "Exposure flag"),
    Field("expstart", "float", "EXPSTART", "Exposure start", "MJD"),
    Field("date_obs", "datetime", "DATE-OBS", "Date and time of observation", "UTC"),
)

#: Bookkeeping fields that the catalog (the slim copy the views read) carries too.
CATALOG_EXTRA_FIELDS: tuple[Field, ...] = (
    Field("path", "str", None, "Path in the archive"),
    Field("year", "int", None, "Year of observation"),
    Field("filetypes", "list", None, "Filetypes present"),
    Field("quicklook", "dict", None, "Quicklook image paths"),
    Field("n_errors", "int", None, "Ingest errors"),
    Field("first_ingest_date", "datetime", None, "First ingested", "UTC"),
    Field("last_ingest_date", "datetime", None, "Last ingested", "UTC"),
    # The sky the image covers (acsq_mongo.sky.footprints), absent without a usable WCS.
    Field("footprint", "dict", None, "Footprint (GeoJSON)", "deg"),
    Field("s_region", "str", None, "Footprint (STC-S)", "deg"),
    # Identity (docs/data-model.md): every 9-character rootname merged under the 8-character
    # _id, and each file's place by file key (the filetype, or <rootname>_<filetype> for a
    # further file of that filetype).
    Field("rootnames", "list", None, "Rootnames (9 characters)"),
    Field("file_paths", "dict", None, "Files, relative to the archive"),
    # An association product's members and products, from its asn table.
    Field("asn_members", "list", None, "Association members (asn table)"),
    # Image statistics, made with the quicklooks (acsq_mongo.images.statistics): queried
    # one number at a time as stats.<filetype>.<region>.<statistic> (STATISTICS below).
    Field("stats", "dict", None, "Image statistics"),
)

#: Fields of the catalog that no ingest writes: the current anomaly flags (vocabulary slugs),
#: derived from the ``anomaly_events`` history by :mod:`acsq_mongo.tags`. Absent when none.
TAG_FIELDS: tuple[Field, ...] = (
    Field("anomalies", "list", None, "Anomaly flags"),
    # Flags a detector or a rule proposed that no tagger has confirmed or rejected yet
    # (acsq_mongo.tags.proposals). Absent when none.
    Field("proposed", "list", None, "Proposed anomaly flags"),
)

#: Every top-level field a query may name, by name.
FIELDS: dict[str, Field] = {
    f.name: f for f in PROMOTED_FIELDS + CATALOG_EXTRA_FIELDS + TAG_FIELDS
}

#: The ACS filetypes, in the order ingest prefers them for the promoted fields.
FILETYPES: tuple[str, ...] = (
    "raw", "flt", "flc", "crj", "crc", "drz", "drc", "spt", "jif", "jit", "asn",
)


#: The key of a further file of a filetype: ``<rootname>_<filetype>``.
_FURTHER_KEY = re.compile(r"[a-z0-9]{9}_[a-z]{3}")


def key_filetype(key: str) -> str:
    """The filetype of a file key (docs/data-model.md, "Identity"): ``crj`` of ``crj`` and
    of ``j8cw03012_crj``, a further file of the filetype under the same 8-character ``_id``."""
    return key.rpartition("_")[2]


def file_keys(keys: Iterable[str], filetypes: Iterable[str] = FILETYPES) -> list[str]:
    """The file keys among ``keys`` whose filetype is one of ``filetypes``: each filetype's
    first file (keyed by the filetype) in ``filetypes`` order, then the further files
    (``<rootname>_<filetype>``) in the same order, by name."""
    order = {ft: i for i, ft in enumerate(filetypes)}
    keys = list(keys)
    return [ft for ft in order if ft in keys] + sorted(
        (k for k in keys if _FURTHER_KEY.fullmatch(k) and key_filetype(k) in order),
        key=lambda k: (order[key_filetype(k)], k))

#: Filetypes with image data that get quicklook JPEGs, in the order the image view's tabs
#: show them: the exposure as read out, calibrated, CTE-corrected; then the products,
#: cosmic rays rejected (crj, crc) and drizzled (drz, drc).
IMAGE_FILETYPES: tuple[str, ...] = ("raw", "flt", "flc", "crj", "crc", "drz", "drc")

#: The filetype a rootname's gallery thumbnail (and first image view) is made from: the
#: first of these it has. An exposure shows its flt; an association product, which has
#: no flt, its drizzled image.
THUMBNAIL_FILETYPES: tuple[str, ...] = ("flt", "drz", "drc")

DETECTORS: tuple[str, ...] = ("WFC", "HRC", "SBC")

#: The seed's output columns, in the seed's order.
SEED_OUTPUT_COLUMNS: tuple[str, ...] = (
    "rootname", "detector", "proposal_type", "pr_inv_l", "pr_inv_f", "proposid",
    "filter1", "filter2", "aperture", "expstart", "date_obs", "exptime", "targname",
    "ra_targ", "dec_targ", "obstype", "obsmode", "subarray", "imagetyp", "asn_id",
)

#: The standard output columns, in the order an analyst reads a row: what and when, the
#: setup, the exposure, the target and where, then whose. They fit a 1400-px-wide window
#: beside the facets; every other field is a column away (``columns=...``).
STANDARD_COLUMNS: tuple[str, ...] = (
    "rootname", "date_obs", "detector", "filter1", "filter2", "aperture", "exptime",
    "targname", "ra_targ", "dec_targ", "proposid", "pr_inv_l",
)

#: The fields the query core counts per value (facets), and the query form suggests.
FACET_FIELDS: tuple[str, ...] = (
    "detector", "filter1", "filter2", "aperture", "proposid", "obstype", "anomalies",
)
#: Facet fields that hold lists: each element counts once (a rootname without one: None).
LIST_FACET_FIELDS: frozenset[str] = frozenset({"anomalies"})

#: What an anomaly flag is stored and queried as: a slug of its label.
ANOMALY_SLUG = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*", re.ASCII)


def anomaly_slug(label: str) -> str:
    """Return the slug of an anomaly label: ``"dragon's breath"`` -> ``dragons_breath``."""
    text = label.strip().lower().replace("'", "").replace("’", "")
    return "_".join(re.findall(r"[a-z0-9]+", text, re.ASCII))

#: Names a query filters on that stand for several stored fields at once: ``filter=F814W``
#: matches either filter wheel (WFC's F814W is in FILTER2, HRC's F606W in FILTER1). A
#: positive filter matches where any of them does; ``not``/``notin`` where none does.
COMBINED_FIELDS: dict[str, Field] = {
    "filter": Field("filter", "str", None, "Filter (either wheel)"),
}
#: The stored fields each combined name stands for.
COMBINED_PARTS: dict[str, tuple[str, ...]] = {"filter": ("filter1", "filter2")}

#: Text fields stored upper case (as FITS writes them) and matched without regard to case:
#: the query core upper-cases what is typed, so ``detector=wfc`` finds WFC and the match
#: stays an indexed equality (or an anchored, case-sensitive prefix for ``NGC*``).
CASE_FOLDED_FIELDS: frozenset[str] = frozenset({
    "detector", "filter1", "filter2", "aperture", "obstype", "obsmode", "imagetyp",
    "expflag", "proposal_type", "asn_id", "targname", "filter",
})


#: Where the image statistics are stored and named: ``stats.<filetype>.<region>.<statistic>``.
STATS_PREFIX = "stats"
#: The filetypes that have statistics: every image filetype.
STATS_FILETYPES: tuple[str, ...] = IMAGE_FILETYPES
#: The regions of an image: its chips (by CCDCHIP), a drizzled product's one image, and
#: the CCD amplifiers' quadrants (WFC1 is read by A and B, WFC2 by C and D; HRC by one).
STATS_REGIONS: tuple[str, ...] = ("chip1", "chip2", "image", "ampA", "ampB", "ampC", "ampD")
#: The unit of a file's pixels, by filetype (SBC files count photons: their unit is counts).
PIXEL_UNITS: dict[str, str] = {
    "raw": "DN", "flt": "electron", "flc": "electron", "crj": "electron", "crc": "electron",
    "drz": "electron/s", "drc": "electron/s",
}
#: Each statistic: (label, unit); unit ``pixel`` is the file's pixel unit (PIXEL_UNITS).
STATISTICS: dict[str, tuple[str, str]] = {
    "median": ("median of the pixels", "pixel"),
    "clipped_mean": ("3-sigma-clipped mean", "pixel"),
    "clipped_std": ("3-sigma-clipped standard deviation", "pixel"),
    "percentile_1": ("1st percentile", "pixel"),
    "percentile_99": ("99th percentile", "pixel"),
    "saturated_fraction": ("fraction of pixels flagged saturated (DQ 256)", ""),
    "hot_fraction": ("fraction of pixels flagged hot (DQ 16)", ""),
    "warm_fraction": ("fraction of pixels flagged warm (DQ 64)", ""),
    "bad_column_fraction": ("fraction of pixels flagged bias structure, bad columns (DQ 128)",
                            ""),
    "cosmic_ray_fraction": ("fraction of pixels flagged cosmic ray (DQ 4096 or 8192)", ""),
    "bias_level": ("bias level: clipped median of the amplifier's overscan", "DN"),
    "bias_noise": ("bias noise: clipped standard deviation of the amplifier's overscan", "DN"),
    "background": ("sky background: clipped median, sources masked", "pixel"),
    "cosmic_rays_per_s": ("pixels flagged cosmic ray per second of exposure", "1/s"),
}


def stats_field(name: str) -> Field | None:
    """Return the field of one statistic, ``stats.flt.chip1.median``, or None if it is not one.

    The name is matched exactly (filetype lower case, region as in :data:`STATS_REGIONS`);
    the filetype may be a further file's key, ``stats.j8cw03012_crj.chip1.median``.
    """
    parts = name.split(".")
    if len(parts) != 4 or parts[0] != STATS_PREFIX:
        return None
    _, key, region, statistic = parts
    filetype = key_filetype(key)   # a further file of a filetype: stats.j8cw03012_crj....
    if not file_keys([key], STATS_FILETYPES) or region not in STATS_REGIONS \
            or statistic not in STATISTICS:
        return None
    label, unit = STATISTICS[statistic]
    unit = PIXEL_UNITS[filetype] if unit == "pixel" else unit
    return Field(name, "float", None, f"{key} {region}: {label}", unit)


def describe_field(name: str) -> Field | None:
    """Return the :class:`Field` of a top-level field or a statistic, or None."""
    return FIELDS.get(name) or stats_field(name)
