"""The plan of a sample archive: what each rootname is, before any file is written.

Proposals, their rootnames (with ACS-like names), detectors and dates from ACS
history, apertures, filters, targets and which filetypes each rootname has.
"""

from __future__ import annotations

import datetime
import math
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import FILETYPES
from acsq_mongo.sample.acs import (
    APERTURES,
    FILTERS,
    INTERNAL_TARGETS,
    PIS,
    PROPOSAL_TYPES,
    TARGETS,
    mjd,
)

__all__ = [
    "SampleRootname",
    "SampleArchive",
    "plan_rootname",
]

#: Most proposals in a plan. Proposal IDs are drawn per cycle (341 a year), so a plan
#: of the real archive's size (~200,000 rootnames) has more rootnames per proposal
#: rather than more proposals than there are IDs; up to 24,000 rootnames, 8 each.
MAX_PROPOSALS = 3000


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
    #: What :mod:`acsq_mongo.sample.injections` put into the images (filled as they are written).
    injected: dict[str, Any] = field(default_factory=dict)


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
    first = 9000 + (when.year - 2002) * 360
    if all(first + k in used for k in range(341)):
        raise AcsqError(f"no proposal ID left in the cycle of {when.year}; plan fewer proposals")
    while True:
        proposid = first + rng.randint(0, 340)
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


def plan_rootnames(n_rootnames: int, seed: int, full_size: bool) -> list[SampleRootname]:
    rng = random.Random(seed)
    n_proposals = max(3, min(round(n_rootnames / 8), MAX_PROPOSALS))
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
        ptype = "CAL/ACS" if p == 3 else _weighted(rng, PROPOSAL_TYPES)
        internal = detector != "SBC" and (p == 3 or (ptype == "CAL/ACS" and rng.random() < 0.5))
        pi_last, pi_first = rng.choice(PIS)
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
        aperture = detector if visit == 1 or internal else _weighted(rng, APERTURES[detector])
        filters = rng.choice(FILTERS[detector])
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
                target_name, imagetyp = rng.choice(INTERNAL_TARGETS)
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
    filters = FILTERS[detector][0]
    shape, n_chips = _shape(detector, aperture, full_size)
    promoted = {
        "rootname": rootname, "detector": detector, "proposid": 10000 + seed,
        "proposal_type": "GO", "pr_inv_l": PIS[0][0], "pr_inv_f": PIS[0][1],
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
