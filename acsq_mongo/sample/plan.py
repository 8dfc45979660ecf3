"""A realistic sample ACS archive, for demos, tests and benchmarks (``acsq sample``).

The archive is laid out as the real one, ``<root4>/<rootname>/<rootname>_<filetype>.fits``,
and its headers come from the ACS keyword inventory
(``acsq_mongo/data/acs_header_keywords.json``, a copy of
``../shared/reference/acs_header_keywords.json``): every file of a detector
and filetype has that combination's HDU count and, in each HDU, every keyword
the inventory lists, with a value of the listed type.

What makes it realistic
-----------------------
- **Proposals.** A few proposals, each with a proposal ID, a PI, a proposal
  type and one or two targets. Every rootname of a proposal starts with the
  same 4 characters (``j`` + a 3-character program code derived from the
  proposal ID), as in the real archive.
- **Detectors and dates** follow ACS history: HRC 2002-2006, SBC 2002-2024,
  WFC 2002-2006 and from mid 2009 (none while ACS was off, 2007 to May 2009).
- **Key metadata agrees with itself**: the aperture belongs to the detector,
  ``SUBARRAY`` follows the aperture, ``EXPSTART`` is the MJD of
  ``DATE-OBS`` + ``TIME-OBS`` and ``EXPEND`` = ``EXPSTART`` + ``EXPTIME``;
  filters suit the detector; internal calibrations (BIAS, DARK) have
  ``OBSTYPE`` INTERNAL and RA/Dec 0.
- **Not every rootname has every filetype**: single exposures have raw, flt,
  spt and mostly drz (plus flc and drc on WFC) and sometimes jif/jit;
  members of an association have raw, flt, spt (flc on WFC); association
  products (rootnames ending in ``0``) have asn, drz, jif, jit and, for
  CR-split associations, crj (crc on WFC).
- **Targets** spread over the sky, including some near RA 0/360 and near both
  poles, with dithers of a few arcseconds.
- **Images**: small by default (WFC chips 256 x 128, HRC/SBC 128 x 128), with
  a sky gradient, stars, hot pixels and cosmic rays; ``full_size`` gives the
  real dimensions (WFC: two 4096 x 2048 float32 chips per file; raw files as
  unsigned 16-bit integers stored with BZERO = 32768; HRC/SBC 1024 x 1024).
  WFC subarrays have one chip (4 HDUs), as real ones do.

The same seed gives the same bytes. Beside the FITS files, the archive root
holds ``sample_manifest.json`` (what was written, for tests) and a
``README.txt``; ingest skips both with a log line, as it skips any stray file.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import random
import string
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import FILETYPES

__all__ = [
    "MANIFEST_NAME",
    "PROPOSAL_TYPES_NAME",
    "REFERENCE_PATH",
    "SampleRootname",
    "SampleArchive",
    "load_reference",
    "make_sample_archive",
    "read_manifest",
    "write_rootname",
    "plan_rootname",
    "mjd",
]

#: The keyword inventory shipped with the package.
REFERENCE_PATH = Path(__file__).parent.parent / "data" / "acs_header_keywords.json"
#: What the generator wrote, at the archive root.
MANIFEST_NAME = "sample_manifest.json"

#: The proposal-type table of a sample archive, for the ``proposal_types`` setting.
PROPOSAL_TYPES_NAME = "proposal_types.csv"

_MJD_EPOCH = datetime.datetime(1858, 11, 17)

# Keywords the FITS structure owns: astropy writes them from the data.
_STRUCTURAL = {
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "TFIELDS",
    "BZERO", "BSCALE", "BLANK", "THEAP", "CHECKSUM", "DATASUM", "END", "CONTINUE",
    "EXTNAME", "EXTVER", "GROUPS",
}
_STRUCTURAL_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDISP", "TDIM", "TNULL",
                        "TSCAL", "TZERO")

# Sky positions in degrees (J2000). Near RA 0/360 and near the poles on purpose.
TARGETS: tuple[tuple[str, float, float], ...] = (
    ("NGC7793", 359.4576, -32.5911),
    ("POLARIS", 37.9546, 89.2641),
    ("WLM", 0.4923, -15.4611),
    ("SCP-FIELD", 75.0000, -89.6500),
    ("NGC104", 6.0236, -72.0813),
    ("M31-HALO", 10.6847, 41.2690),
    ("HUDF", 53.1625, -27.7914),
    ("NGC6543", 269.6392, 66.6331),
    ("M87", 187.7059, 12.3911),
    ("OMEGACEN", 201.6970, -47.4794),
    ("ABELL1689", 197.8730, -1.3381),
    ("NGC346", 14.7708, -72.1750),
    ("ORION-TRAP", 83.8187, -5.3872),
    ("NCP-FIELD", 210.0000, 89.8500),
    ("M16", 274.7000, -13.8070),
    ("NGC4038", 180.4710, -18.8675),
)
_INTERNAL_TARGETS = (("BIAS", "BIAS"), ("DARK", "DARK"))

_PIS = (
    ("Anderson", "Jay"), ("Riess", "Adam"), ("Sirianni", "Marco"), ("Bourque", "Matthew"),
    ("Grogin", "Norman"), ("Lucas", "Ray"), ("Avila", "Roberto"), ("Bohlin", "Ralph"),
    ("Chiaberge", "Marco"), ("Gilliland", "Ron"), ("Ford", "Holland"), ("Illingworth", "Garth"),
)
_PROPOSAL_TYPES = (("GO", 60), ("SNAP", 8), ("GTO/ACS", 6), ("GO/DD", 4), ("GO/PAR", 4),
                   ("CAL/ACS", 18))

_APERTURES = {
    "WFC": (("WFC", 40), ("WFC1", 15), ("WFC2", 5), ("WFCENTER", 10), ("WFC1-2K", 5),
            ("WFC1-1K", 3), ("WFC1-512", 4), ("WFC1B-512", 2)),
    "HRC": (("HRC", 50), ("HRC-FIX", 15), ("HRC-512", 8), ("HRC-CORON1.8", 3),
            ("HRC-ACQ", 2)),
    "SBC": (("SBC", 70), ("SBC-FIX", 30)),
}
_FILTERS = {
    # (FILTER1, FILTER2) pairs in use; one wheel is CLEAR for most imaging.
    "WFC": (("F606W", "CLEAR2L"), ("F555W", "CLEAR2L"), ("F775W", "CLEAR2L"),
            ("F850LP", "CLEAR2L"), ("F475W", "CLEAR2L"), ("F625W", "CLEAR2L"),
            ("F658N", "CLEAR2L"), ("CLEAR1L", "F814W"), ("CLEAR1L", "F435W"),
            ("CLEAR1L", "F660N"), ("G800L", "CLEAR2L"), ("F606W", "POL0V")),
    "HRC": (("F606W", "CLEAR2S"), ("F555W", "CLEAR2S"), ("CLEAR1S", "F220W"),
            ("CLEAR1S", "F250W"), ("CLEAR1S", "F330W"), ("CLEAR1S", "F435W"),
            ("CLEAR1S", "F814W"), ("F502N", "CLEAR2S"), ("PR200L", "CLEAR2S")),
    "SBC": (("F115LP", "N/A"), ("F122M", "N/A"), ("F125LP", "N/A"), ("F140LP", "N/A"),
            ("F150LP", "N/A"), ("F165LP", "N/A"), ("PR110L", "N/A"), ("PR130L", "N/A")),
}
_PIXEL_SCALE = {"WFC": 0.05, "HRC": 0.025, "SBC": 0.032}  # arcsec per pixel


def load_reference(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Load the ACS keyword inventory.

    Parameters
    ----------
    path : path-like, optional
        Default: the copy shipped in the package.
    """
    return _load_reference(str(path or REFERENCE_PATH))


@lru_cache(maxsize=2)
def _load_reference(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def mjd(when: datetime.datetime) -> float:
    """Modified Julian Date of a naive UTC datetime."""
    return (when - _MJD_EPOCH).total_seconds() / 86400.0


# ----------------------------------------------------------------------------
# The plan: what each rootname is, before any file is written.


@dataclass
class SampleRootname:
    """One rootname of a sample archive, as the generator planned and wrote it.

    Attributes
    ----------
    rootname : str
        9 characters, lower case.
    path : str
        Folder relative to the archive root, ``<root4>/<rootname>``.
    kind : str
        ``single`` (an exposure on its own), ``member`` (an exposure of an
        association) or ``product`` (an association's products).
    filetypes : list of str
        The filetypes written, in ``FILETYPES`` order.
    n_hdus : dict
        HDUs per filetype.
    promoted : dict
        The key metadata written into the primary headers, by promoted field
        name (``date_obs`` as an ISO string).
    """

    rootname: str
    path: str
    kind: str
    filetypes: list[str]
    n_hdus: dict[str, int]
    promoted: dict[str, Any]
    shape: tuple[int, int] = (0, 0)
    n_chips: int = 1
    members: list[str] = field(default_factory=list)


@dataclass
class SampleArchive:
    """What :func:`make_sample_archive` wrote."""

    root: Path
    seed: int
    full_size: bool
    rootnames: list[SampleRootname]

    @property
    def n_files(self) -> int:
        return sum(len(r.filetypes) for r in self.rootnames)

    def by_rootname(self) -> dict[str, SampleRootname]:
        return {r.rootname: r for r in self.rootnames}


def _weighted(rng: random.Random, choices: Iterable[tuple[Any, int]]) -> Any:
    items = list(choices)
    return rng.choices([c for c, _ in items], weights=[w for _, w in items])[0]


def _program_code(proposid: int) -> str:
    """3-character program code of a proposal (base 36, as archive rootnames)."""
    digits = string.digits + string.ascii_lowercase
    n = (proposid * 7919) % (36**3)
    code = ""
    for _ in range(3):
        n, r = divmod(n, 36)
        code = digits[r] + code
    return code


def _in_service(detector: str, when: datetime.datetime) -> bool:
    """Whether a detector took data then: ACS from March 2002; HRC until 2006;
    WFC not from 2007 until its repair in May 2009 (we start it in June)."""
    if not datetime.datetime(2002, 3, 20) <= when < datetime.datetime(2024, 12, 31):
        return False
    if detector == "HRC":
        return when < datetime.datetime(2007, 1, 1)
    if detector == "WFC":
        return not datetime.datetime(2007, 1, 1) <= when < datetime.datetime(2009, 6, 1)
    return True


def _observation_date(rng: random.Random, detector: str) -> datetime.datetime:
    """A date in the detector's working life, to the second."""
    while True:
        start = datetime.datetime(rng.randint(2002, 2024), 1, 1)
        when = start + datetime.timedelta(seconds=rng.randint(0, 365 * 86400))
        if _in_service(detector, when):
            return when


def _proposal_id(rng: random.Random, when: datetime.datetime, used: set[int]) -> int:
    """A proposal ID of the cycle of ``when`` (cycle 11 in 2002: ~9000; ~17000 by 2024)."""
    while True:
        proposid = 9000 + (when.year - 2002) * 360 + rng.randint(0, 340)
        if proposid not in used:
            used.add(proposid)
            return proposid


def _filetypes(kind: str, detector: str, rng: random.Random, cr_split: bool,
               internal: bool) -> list[str]:
    wfc = detector == "WFC"
    if kind == "member":
        wanted = ["raw", "flt", "spt"] + (["flc"] if wfc else [])
    elif kind == "product":
        wanted = ["asn", "drz", "jif", "jit"] + (["drc"] if wfc else [])
        if cr_split and detector != "SBC":
            wanted += ["crj"] + (["crc"] if wfc else [])
    else:
        wanted = ["raw", "flt", "spt"] + (["flc"] if wfc else [])
        if not internal and rng.random() < 0.8:
            wanted += ["drz"] + (["drc"] if wfc else [])
        if rng.random() < 0.4:
            wanted += ["jif", "jit"]
    return [ft for ft in FILETYPES if ft in wanted]


def _is_subarray(aperture: str) -> bool:
    return aperture.endswith(("-512", "-1K", "-2K")) or aperture.startswith(
        ("HRC-CORON", "HRC-ACQ"))


def _shape(detector: str, aperture: str, full_size: bool) -> tuple[tuple[int, int], int]:
    """(NAXIS2, NAXIS1) of one chip, and the number of chips."""
    sub = {"-512": 512, "-1K": 1024, "-2K": 2048}
    for suffix, side in sub.items():
        if aperture.endswith(suffix):
            # Small images are WFC's scaled by 1/16 (a chip: 128 x 256).
            return ((side, side) if full_size else (max(32, side // 16),) * 2), 1
    if aperture == "HRC-ACQ":
        return ((200, 200) if full_size else (32, 32)), 1
    if detector == "WFC":
        return ((2048, 4096) if full_size else (128, 256)), 2
    return ((1024, 1024) if full_size else (128, 128)), 1


def _plan(n_rootnames: int, seed: int, full_size: bool) -> list[SampleRootname]:
    rng = random.Random(seed)
    n_proposals = max(3, round(n_rootnames / 8))
    used_ids: set[int] = set()
    quotas = [n_rootnames // n_proposals] * n_proposals
    for i in range(n_rootnames - sum(quotas)):
        quotas[i] += 1
    plan: list[SampleRootname] = []
    n_sky = 0
    for p, quota in enumerate(quotas):
        if quota == 0:
            continue
        # The first three proposals cover the three detectors; the fourth is
        # an internal calibration program (BIAS and DARK frames; the SBC
        # takes none); the rest are drawn.
        if p < 3:
            detector = ("WFC", "HRC", "SBC")[p]
        elif p == 3:
            detector = rng.choice(("WFC", "HRC"))
        else:
            detector = _weighted(rng, (("WFC", 6), ("HRC", 2), ("SBC", 2)))
        when = _observation_date(rng, detector)
        proposid = _proposal_id(rng, when, used_ids)
        ptype = "CAL/ACS" if p == 3 else _weighted(rng, _PROPOSAL_TYPES)
        internal = detector != "SBC" and (p == 3 or (ptype == "CAL/ACS" and rng.random() < 0.5))
        pi_last, pi_first = rng.choice(_PIS)
        # Two targets per proposal, taken in turn, so that even a small sample
        # has the ones near RA 0/360 and near the poles; visits alternate.
        targets = [TARGETS[(2 * n_sky) % len(TARGETS)], TARGETS[(2 * n_sky + 1) % len(TARGETS)]]
        n_sky += 0 if internal else 1
        prefix = "j" + _program_code(proposid)
        proposal = {
            "proposid": proposid, "proposal_type": ptype, "pr_inv_l": pi_last,
            "pr_inv_f": pi_first, "detector": detector,
        }
        plan += _plan_proposal(rng, proposal, prefix, when, targets, internal, quota,
                               full_size)
    return plan


def _exposure_codes(rng: random.Random) -> list[str]:
    letters = string.ascii_lowercase
    codes = [a + b for a in letters for b in letters + string.digits]
    rng.shuffle(codes)
    return codes


def _plan_proposal(rng, proposal, prefix, when, targets, internal, quota, full_size):
    detector = proposal["detector"]
    codes = _exposure_codes(rng)
    out: list[SampleRootname] = []
    visit = 0
    while len(out) < quota:
        visit += 1
        visit_code = f"{visit:02d}"
        name, ra, dec = targets[(visit - 1) % len(targets)]
        # A proposal's first visit uses the whole detector; later ones vary.
        aperture = detector if visit == 1 or internal else _weighted(rng, _APERTURES[detector])
        filters = rng.choice(_FILTERS[detector])
        visit_start = when
        if visit > 1:
            visit_start += datetime.timedelta(seconds=rng.randint(0, 120 * 86400))
            if not _in_service(detector, visit_start + datetime.timedelta(days=1)):
                visit_start = when + datetime.timedelta(hours=6 * visit)
        left = quota - len(out)
        association = not internal and left >= 3 and rng.random() < 0.5
        n_members = min(left - 1, rng.randint(2, 4)) if association else min(left,
                                                                              rng.randint(1, 3))
        cr_split = association and rng.random() < 0.6
        members = []
        t = visit_start
        for _ in range(n_members):
            code = codes.pop()
            rootname = f"{prefix}{visit_code}{code}q"
            if internal:
                target_name, imagetyp = rng.choice(_INTERNAL_TARGETS)
                exptime = 0.0 if imagetyp == "BIAS" else float(rng.choice((500, 1000)))
                obstype, ra_t, dec_t = "INTERNAL", 0.0, 0.0
            else:
                target_name, imagetyp = name, "EXT"
                exptime = float(rng.choice((30, 100, 339, 400, 500, 680, 1200, 2200)))
                if detector == "SBC":
                    exptime = float(rng.choice((300, 600, 1200, 1800)))
                obstype = ("SPECTROSCOPIC" if filters[0].startswith(("G", "PR"))
                           or filters[1].startswith("PR") else
                           "CORONAGRAPHIC" if "CORON" in aperture else "IMAGING")
                # Dither by a few arcseconds; RA offsets grow towards the poles.
                dx, dy = rng.uniform(-5, 5) / 3600, rng.uniform(-5, 5) / 3600
                dec_t = max(-90.0, min(90.0, dec + dy))
                ra_t = (ra + dx / max(math.cos(math.radians(dec_t)), 1e-3)) % 360.0
            date_obs = t
            promoted = {
                "rootname": rootname, "detector": detector, "proposid": proposal["proposid"],
                "proposal_type": proposal["proposal_type"], "pr_inv_l": proposal["pr_inv_l"],
                "pr_inv_f": proposal["pr_inv_f"], "targname": target_name,
                "ra_targ": round(ra_t, 8), "dec_targ": round(dec_t, 8),
                "aperture": aperture, "filter1": filters[0], "filter2": filters[1],
                "obstype": obstype, "obsmode": "ACQ" if aperture == "HRC-ACQ" else "ACCUM",
                "imagetyp": imagetyp, "subarray": _is_subarray(aperture),
                "asn_id": "NONE", "exptime": exptime,
                "expflag": "INTERRUPTED" if rng.random() < 0.04 else "NORMAL",
                "expstart": round(mjd(date_obs), 8), "date_obs": date_obs.isoformat(),
            }
            kind = "member" if association else "single"
            members.append(SampleRootname(
                rootname=rootname, path=f"{rootname[:4]}/{rootname}", kind=kind,
                filetypes=_filetypes(kind, detector, rng, cr_split, internal),
                n_hdus={}, promoted=promoted,
            ))
            t += datetime.timedelta(seconds=int(exptime) + rng.randint(60, 600))
        if association:
            asn_rootname = f"{prefix}{visit_code}010"
            for m in members:
                m.promoted["asn_id"] = asn_rootname.upper()
            first = members[0].promoted
            product = dict(first)
            product.update(rootname=asn_rootname, asn_id=asn_rootname.upper(),
                           exptime=float(sum(m.promoted["exptime"] for m in members)))
            if any(m.promoted["expflag"] != "NORMAL" for m in members):
                product["expflag"] = "INTERRUPTED"
            members.append(SampleRootname(
                rootname=asn_rootname, path=f"{asn_rootname[:4]}/{asn_rootname}",
                kind="product", filetypes=_filetypes("product", detector, rng, cr_split, False),
                n_hdus={}, promoted=product, members=[m.rootname for m in members],
            ))
        out += members
    for r in out:
        r.shape, r.n_chips = _shape(detector, r.promoted["aperture"], full_size)
    return out


def plan_rootname(
    rootname: str,
    detector: str = "WFC",
    filetypes: Iterable[str] = FILETYPES,
    full_size: bool = False,
    seed: int = 0,
) -> SampleRootname:
    """Plan one rootname with the given filetypes (e.g. a WFC rootname with all 11).

    The key metadata is drawn from ``seed``; write it with :func:`write_rootname`.
    """
    rng = random.Random(seed)
    when = _observation_date(rng, detector)
    name, ra, dec = rng.choice(TARGETS)
    aperture = detector
    filters = _FILTERS[detector][0]
    shape, n_chips = _shape(detector, aperture, full_size)
    promoted = {
        "rootname": rootname, "detector": detector, "proposid": 10000 + seed,
        "proposal_type": "GO", "pr_inv_l": _PIS[0][0], "pr_inv_f": _PIS[0][1],
        "targname": name, "ra_targ": ra, "dec_targ": dec, "aperture": aperture,
        "filter1": filters[0], "filter2": filters[1], "obstype": "IMAGING",
        "obsmode": "ACCUM", "imagetyp": "EXT", "subarray": False,
        "asn_id": rootname[:6].upper() + "010", "exptime": 400.0, "expflag": "NORMAL",
        "expstart": round(mjd(when), 8), "date_obs": when.isoformat(),
    }
    wanted = set(filetypes)
    return SampleRootname(
        rootname=rootname, path=f"{rootname[:4]}/{rootname}", kind="single",
        filetypes=[ft for ft in FILETYPES if ft in wanted], n_hdus={}, promoted=promoted,
        shape=shape, n_chips=n_chips,
    )


# ----------------------------------------------------------------------------
# Header values


def _string_value(key: str, rng: random.Random) -> str:
    if key.endswith("CORR"):
        return rng.choice(("COMPLETE", "OMIT", "PERFORM"))
    if key.endswith(("FILE", "TAB")) or key in ("D2IMFILE", "NPOLFILE"):
        stem = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        return f"jref${stem}j_{key[:3].lower()}.fits"
    if key.startswith("CTYPE"):
        return "RA---TAN" if key.startswith("CTYPE1") else "DEC--TAN"
    if key.startswith("CUNIT"):
        return "deg"
    if key.endswith("_VER"):
        return f"{rng.randint(1, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
    if key.startswith("WCSNAME"):
        return rng.choice(("OPUS", "IDC_0461802ej", "FIT_REL_GAIADR3"))
    return rng.choice(("NONE", "N/A", "YES", "NO", "DEFAULT", "NOMINAL")) if rng.random() < 0.5 \
        else "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 10)))


def _template_value(kind: str, key: str, rng: random.Random) -> Any:
    if kind == "Integer":
        return rng.randint(0, 200)
    if kind == "Float":
        return round(rng.uniform(-100, 1000), 6)
    if kind == "Bool":
        return rng.random() < 0.5
    return _string_value(key, rng)


def _is_structural(key: str) -> bool:
    return key in _STRUCTURAL or key.startswith(_STRUCTURAL_PREFIXES)


@lru_cache(maxsize=256)
def _template(combo: str, seed: int) -> tuple[tuple[str, Any], ...]:
    """Keyword/value pairs of one detector_filetype_ext, structural keywords left out."""
    rng = random.Random(f"{seed}:{combo}")
    keywords = load_reference()["keywords"].get(combo, [])
    # The inventory is a set: give it a stable, FITS-like order.
    pairs = []
    for key, kind in sorted(keywords, key=lambda kv: kv[0]):
        if _is_structural(key):
            continue
        value = _template_value(kind, key, rng)
        if "." in key:
            value = float(rng.randint(1, 4))  # record-valued keywords hold numbers
        pairs.append((key, value))
    return tuple(pairs)


def _primary_values(r: SampleRootname, filetype: str, n_hdus: int, written: datetime.datetime
                    ) -> dict[str, Any]:
    p = r.promoted
    date_obs = datetime.datetime.fromisoformat(p["date_obs"])
    values = {
        "ROOTNAME": r.rootname, "FILENAME": f"{r.rootname}_{filetype}.fits",
        "TELESCOP": "HST", "INSTRUME": "ACS", "DETECTOR": p["detector"],
        "PROPOSID": p["proposid"], "PR_INV_L": p["pr_inv_l"], "PR_INV_F": p["pr_inv_f"],
        "TARGNAME": p["targname"], "RA_TARG": p["ra_targ"], "DEC_TARG": p["dec_targ"],
        "APERTURE": p["aperture"], "FILTER1": p["filter1"], "FILTER2": p["filter2"],
        "OBSTYPE": p["obstype"], "OBSMODE": p["obsmode"], "IMAGETYP": p["imagetyp"],
        "SUBARRAY": p["subarray"], "ASN_ID": p["asn_id"], "EXPTIME": p["exptime"],
        "EXPFLAG": p["expflag"], "EXPSTART": p["expstart"],
        "EXPEND": round(p["expstart"] + p["exptime"] / 86400.0, 8),
        "DATE-OBS": date_obs.strftime("%Y-%m-%d"), "TIME-OBS": date_obs.strftime("%H:%M:%S"),
        "DATE": written.strftime("%Y-%m-%dT%H:%M:%S"),
        "IRAF-TLM": written.strftime("%H:%M:%S (%d/%m/%Y)"),
        "NEXTEND": n_hdus - 1, "EQUINOX": 2000.0,
        "FILETYPE": {"asn": "ASN_TABLE", "spt": "SPT", "jit": "JIT", "jif": "JIF"}.get(
            filetype, "SCI"),
        "ASN_TAB": f"{p['asn_id'].lower()}_asn.fits" if p["asn_id"] != "NONE" else "NONE",
        "ASN_MTYP": {"member": "EXP-CRJ", "product": "PROD-CRJ"}.get(r.kind, "NONE"),
        "PRIMESI": "ACS", "LINENUM": f"{r.rootname[4:6]}.001",
        "CCDGAIN": 2.0 if p["detector"] == "WFC" and date_obs.year >= 2009 else 1.0,
        "CCDAMP": "ABCD" if p["detector"] == "WFC" and not p["subarray"] else "C",
        "CRSPLIT": 2 if "crj" in r.filetypes or r.kind == "member" else 1,
        "NRPTEXP": 1, "PA_V3": round((p["expstart"] * 0.9856) % 360.0, 6),
    }
    return values


def _extension_values(r: SampleRootname, filetype: str, extname: str, extver: int
                      ) -> dict[str, Any]:
    p = r.promoted
    bunit = {"raw": "COUNTS", "drz": "ELECTRONS/S", "drc": "ELECTRONS/S"}.get(filetype,
                                                                             "ELECTRONS")
    return {
        "EXTNAME": extname, "EXTVER": extver, "EXPNAME": r.rootname, "BUNIT": bunit,
        "CRVAL1": p["ra_targ"], "CRVAL2": p["dec_targ"],
        "ORIENTAT": round((p["expstart"] * 0.9856 + 45.0) % 360.0 - 180.0, 6),
        "CCDCHIP": 2 if extver == 1 and r.n_chips == 2 else 1,
        "PHOTFLAM": 1.5e-19 if p["filter1"].startswith("F6") else 7.0e-20,
    }


_HISTORY = {
    "flt": ("CCD parameters table:", "  reference table jref$72m1525rj_ccd.fits",
            "DQICORR complete ...", "BLEVCORR complete; bias level from overscan was subtracted.",
            "BIASCORR complete ...", "DARKCORR complete ...", "FLATCORR complete ...",
            "PHOTCORR complete ..."),
    "drz": ("AstroDrizzle processing performed using:", "    AstroDrizzle Version 3.5.1",
            "    Numpy Version 1.22.4", "    PyFITS Version 5.0.4"),
}


def _like(value: Any, template: Any) -> Any:
    """``value`` as the type the inventory gives the keyword (the template's)."""
    if isinstance(template, bool) or value is None:
        return value
    if isinstance(template, str):
        return value if isinstance(value, str) else str(value)
    if isinstance(template, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(template, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _header(combo: str, seed: int, overrides: dict[str, Any], history: tuple[str, ...] = ()):
    from astropy.io import fits

    template = _template(combo, seed)
    keys = {k for k, _ in template}
    # Identity first, as in real headers; then the inventory's keywords.
    cards = [(key, overrides[key]) for key in ("EXTNAME", "EXTVER", "ROOTNAME", "FILENAME")
             if key in overrides and key not in keys]
    cards += [(key, _like(overrides[key], value) if key in overrides else value)
              for key, value in template]
    header = fits.Header(cards)
    for line in history:
        header.add_history(line)
    return header


# ----------------------------------------------------------------------------
# Pixels


class _Scene:
    """The sky of one rootname: a gradient, stars, hot pixels; cosmic rays per file."""

    def __init__(self, r: SampleRootname, seed: int):
        digest = hashlib.sha256(f"{seed}:{r.rootname}".encode()).digest()
        self.rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        self.r = r
        self.internal = r.promoted["obstype"] == "INTERNAL"
        self.exptime = max(r.promoted["exptime"], 1.0)
        self.sky = 0.0 if self.internal else float(self.rng.uniform(0.02, 0.3)) * self.exptime
        h, w = r.shape
        # Stars over the whole field of view (both WFC chips).
        n_stars = 0 if self.internal else int(self.rng.integers(15, 60)) * r.n_chips
        self.stars = [
            (self.rng.uniform(0, h * r.n_chips), self.rng.uniform(0, w),
             10 ** self.rng.uniform(2.0, 4.5) * self.exptime / 100.0)
            for _ in range(n_stars)
        ]

    def chip(self, chip: int, cosmic_rays: bool = True, noise: bool = True) -> np.ndarray:
        """A chip in electrons, float32."""
        h, w = self.r.shape
        rng = self.rng
        y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
        image = np.full((h, w), self.sky, np.float32) * (1.0 + 0.3 * x + 0.15 * y * chip)
        if self.r.promoted["imagetyp"] == "DARK":
            image += 0.01 * self.exptime
        offset = (chip - 1) * h
        for sy, sx, flux in self.stars:
            sy -= offset
            if not -5 < sy < h + 5:
                continue  # on the other chip
            y0, x0 = int(sy), int(sx)
            ys, xs = slice(max(0, y0 - 4), min(h, y0 + 5)), slice(max(0, x0 - 4), min(w, x0 + 5))
            yy, xx = np.mgrid[ys, xs]
            r2 = (yy - sy) ** 2 + (xx - sx) ** 2
            image[ys, xs] += (flux / (2 * np.pi * 1.44) * np.exp(-r2 / (2 * 1.44))).astype(
                np.float32)
        if noise:
            image += rng.normal(0.0, 1.0, (h, w)).astype(np.float32) * np.sqrt(
                np.abs(image) + 16.0)
        n_hot = max(1, h * w // 1000)
        image[rng.integers(0, h, n_hot), rng.integers(0, w, n_hot)] += rng.uniform(
            500, 20000, n_hot).astype(np.float32)
        if cosmic_rays:
            for _ in range(max(1, int(h * w * self.exptime / 2.0e7))):
                cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
                length = int(rng.integers(1, 8))
                dy, dx = rng.choice((-1, 0, 1)), rng.choice((0, 1))
                for k in range(length):
                    py, px = cy + k * dy, cx + k * dx
                    if 0 <= py < h and 0 <= px < w:
                        image[py, px] += float(rng.uniform(800, 6000))
        return image


def _raw_counts(electrons: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
    dn = electrons / gain + 2100.0 + rng.normal(0, 0.5, electrons.shape)
    return np.clip(np.rint(dn), 0, 65535).astype(np.uint16)


# ----------------------------------------------------------------------------
# Files


_EXTNAMES = {"drz": ("SCI", "WHT", "CTX"), "drc": ("SCI", "WHT", "CTX"), "spt": ("UDL",),
             "asn": ("ASN",), "jit": ("JIT",), "jif": ("JIF",)}


def _hdu_layout(r: SampleRootname, filetype: str, reference: dict) -> list[tuple[str, int]]:
    """(EXTNAME, EXTVER) of every extension of a file."""
    n_hdus = reference["hdu_count"][r.promoted["detector"]][filetype]
    if filetype in ("raw", "flt", "flc", "crj", "crc"):
        if r.n_chips == 1:
            return [("SCI", 1), ("ERR", 1), ("DQ", 1)]
        return [(name, chip) for chip in (1, 2) for name in ("SCI", "ERR", "DQ")]
    names = _EXTNAMES[filetype]
    if len(names) == 1:
        return [(names[0], k) for k in range(1, n_hdus)]
    return [(names[k], 1) for k in range(n_hdus - 1)]


def _image_data(scene: _Scene, r: SampleRootname, filetype: str, extname: str, extver: int,
                gain: float, cache: dict) -> np.ndarray | None:
    h, w = r.shape
    chip = extver if r.n_chips == 2 else 1
    if filetype in ("raw", "flt", "flc", "crj", "crc"):
        if (chip, "e") not in cache:
            cache[(chip, "e")] = scene.chip(chip)
        electrons = cache[(chip, "e")]
        if extname == "SCI":
            if filetype == "raw":
                return _raw_counts(electrons, gain, scene.rng)
            if filetype in ("crj", "crc"):
                return scene.chip(chip, cosmic_rays=False)
            if filetype == "flc":
                return electrons * np.float32(1.01)
            return electrons
        if filetype == "raw":
            return None  # raw ERR and DQ are empty (NAXIS = 0), as in real raw files
        if extname == "ERR":
            return np.sqrt(np.abs(electrons) + 16.0).astype(np.float32)
        dq = np.zeros((h, w), np.int16)
        dq[electrons > 15000] = 256
        return dq
    if filetype in ("drz", "drc"):
        if extname == "SCI":
            return scene.chip(1, cosmic_rays=False) / np.float32(scene.exptime)
        if extname == "WHT":
            return np.full((h, w), scene.exptime, np.float32)
        return np.ones((h, w), np.int32)
    if filetype == "spt":
        return (np.arange(160) % 97).astype(np.int16)
    if filetype == "jif":
        return (scene.rng.normal(100, 5, (16, 16))).astype(np.int16)
    return None


def _table_hdu(r: SampleRootname, filetype: str, combo: str, seed: int, reference: dict):
    from astropy.io import fits

    if filetype == "asn":
        members = r.members or [r.rootname]
        names = [m.upper() for m in members if m != r.rootname]
        types = ["EXP-CRJ"] * len(names)
        names.append(r.rootname.upper())
        types.append("PROD-CRJ")
        return fits.BinTableHDU.from_columns([
            fits.Column("MEMNAME", "14A", array=np.array(names)),
            fits.Column("MEMTYPE", "14A", array=np.array(types)),
            fits.Column("MEMPRSNT", "L", array=np.ones(len(names), bool)),
        ])
    keys = dict(reference["keywords"].get(combo, []))
    n_cols = sum(1 for k in keys if k.startswith("TTYPE")) or 4
    digest = hashlib.sha256(f"{seed}:{r.rootname}:{combo}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    columns = ["SECONDS", "V2_DOM", "V3_DOM", "V2_ROLL", "V3_ROLL", "SI_V2_AVG", "SI_V3_AVG",
               "RA", "DEC", "ROLL", "LIMBANG", "BRIGHT"]
    cols = [fits.Column(columns[k] if k < len(columns) else f"COL{k + 1}", "E",
                        array=rng.normal(0, 1, 8).astype(np.float32)) for k in range(n_cols)]
    return fits.BinTableHDU.from_columns(cols)


def _write_file(path: Path, r: SampleRootname, filetype: str, seed: int, scene: _Scene,
                reference: dict, written: datetime.datetime, cache: dict) -> int:
    from astropy.io import fits

    detector = r.promoted["detector"].lower()
    layout = _hdu_layout(r, filetype, reference)
    n_hdus = len(layout) + 1
    primary_values = _primary_values(r, filetype, n_hdus, written)
    history = _HISTORY.get("drz" if filetype in ("drz", "drc") else filetype, ())
    if filetype in ("flc", "crj", "crc"):
        history = _HISTORY["flt"]
    combo = f"{detector}_{filetype}_0"
    primary = fits.PrimaryHDU(header=_header(combo, seed, primary_values, history))
    if "GROUPS" in dict(reference["keywords"].get(combo, [])):
        primary.header.insert("NAXIS", ("GROUPS", False), after=True)
    hdus = [primary]
    gain = primary_values["CCDGAIN"]
    for ext, (extname, extver) in enumerate(layout, start=1):
        combo = f"{detector}_{filetype}_{ext}"
        values = _extension_values(r, filetype, extname, extver)
        header = _header(combo, seed, values)
        if filetype in ("asn", "jit"):
            hdu = _table_hdu(r, filetype, combo, seed, reference)
            hdu.header.extend(header, unique=True)
        else:
            data = _image_data(scene, r, filetype, extname, extver, gain, cache)
            hdu = fits.ImageHDU(data=data, header=header)
            if data is None:
                h, w = r.shape
                hdu.header["NPIX1"] = w
                hdu.header["NPIX2"] = h
                # The constant value of the empty array, of the inventory's type.
                hdu.header["PIXVALUE"] = 0 if isinstance(hdu.header.get("PIXVALUE"), int) \
                    else 0.0
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, output_verify="silentfix", overwrite=True)
    stamp = (written - datetime.datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (stamp, stamp))
    return n_hdus


def write_rootname(
    archive: str | os.PathLike, r: SampleRootname, seed: int = 0,
    reference: dict | None = None,
) -> SampleRootname:
    """Write the files of one planned rootname into ``archive``.

    Returns
    -------
    r : SampleRootname
        The same, with ``n_hdus`` filled in.
    """
    reference = reference or load_reference()
    folder = Path(archive) / r.path
    folder.mkdir(parents=True, exist_ok=True)
    scene = _Scene(r, seed)
    date_obs = datetime.datetime.fromisoformat(r.promoted["date_obs"])
    written = date_obs + datetime.timedelta(days=1, hours=3)
    cache: dict = {}
    for filetype in r.filetypes:
        path = folder / f"{r.rootname}_{filetype}.fits"
        r.n_hdus[filetype] = _write_file(path, r, filetype, seed, scene, reference, written,
                                         cache)
    return r


def make_sample_archive(
    out: str | os.PathLike,
    n_rootnames: int = 50,
    seed: int = 0,
    full_size: bool = False,
    progress: Callable[[int, int, SampleRootname], None] | None = None,
) -> SampleArchive:
    """Write a realistic sample archive.

    Parameters
    ----------
    out : path-like
        The archive root. It must not exist, or be empty.
    n_rootnames : int
        How many rootnames to write (association products count as rootnames).
    seed : int
        The same seed gives the same bytes.
    full_size : bool
        Real image dimensions instead of small ones.
    progress : callable, optional
        Called as ``progress(done, total, rootname)`` after each rootname.

    Returns
    -------
    archive : SampleArchive
        What was written; also saved as ``sample_manifest.json`` in ``out``, with
        ``proposal_types.csv``, the proposal types for the ``proposal_types`` setting
        (FITS headers do not hold them).

    Raises
    ------
    AcsqError
        If ``out`` is a non-empty folder or a file, or ``n_rootnames`` < 1.
    """
    root = Path(out)
    if n_rootnames < 1:
        raise AcsqError("--rootnames must be at least 1")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise AcsqError(f"{root} exists and is not an empty folder; choose a new one")
    root.mkdir(parents=True, exist_ok=True)
    reference = load_reference()
    plan = _plan(n_rootnames, seed, full_size)
    for done, r in enumerate(plan, start=1):
        write_rootname(root, r, seed, reference)
        if progress is not None:
            progress(done, len(plan), r)
    archive = SampleArchive(root=root, seed=seed, full_size=full_size, rootnames=plan)
    manifest = {
        "seed": seed, "full_size": full_size, "n_rootnames": len(plan),
        "n_files": archive.n_files, "rootnames": [asdict(r) for r in plan],
    }
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    types = sorted({(r.promoted["proposid"], r.promoted["proposal_type"]) for r in plan
                    if r.promoted.get("proposal_type")})
    (root / PROPOSAL_TYPES_NAME).write_text(
        "proposid,proposal_type\n" + "".join(f"{pid},{kind}\n" for pid, kind in types))
    (root / "README.txt").write_text(
        f"Sample ACS archive written by `acsq sample` (seed {seed}, {len(plan)} rootnames, "
        f"{'full-size' if full_size else 'small'} images).\n"
        f"{MANIFEST_NAME} lists what was written; {PROPOSAL_TYPES_NAME} is the table of "
        "proposal types for ACSQ_PROPOSAL_TYPES. Not real data.\n"
    )
    return archive


def read_manifest(root: str | os.PathLike) -> SampleArchive:
    """Read back what :func:`make_sample_archive` wrote into ``root``."""
    root = Path(root)
    data = json.loads((root / MANIFEST_NAME).read_text())
    rootnames = []
    for item in data["rootnames"]:
        item["shape"] = tuple(item["shape"])
        rootnames.append(SampleRootname(**item))
    return SampleArchive(root=root, seed=data["seed"], full_size=data["full_size"],
                         rootnames=rootnames)
