"""Header values of a sample file: every keyword of the inventory, consistent with the plan."""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from acsq_mongo.sample.acs import load_reference
from acsq_mongo.sample.fits_bytes import card_image, verified_card
from acsq_mongo.sample.injections import raw_sci_values
from acsq_mongo.sample.plan import SampleRootname
from acsq_mongo.sample.wcs_values import wcs_values

__all__ = [
]


# Keywords the FITS structure owns: astropy writes them from the data.
_STRUCTURAL = {
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "TFIELDS",
    "BZERO", "BSCALE", "BLANK", "THEAP", "CHECKSUM", "DATASUM", "END", "CONTINUE",
    "EXTNAME", "EXTVER", "GROUPS",
}
_STRUCTURAL_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDISP", "TDIM", "TNULL",
                        "TSCAL", "TZERO")




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


def primary_header_values(r: SampleRootname, filetype: str, n_hdus: int, written: datetime.datetime
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


def extension_header_values(r: SampleRootname, filetype: str, extname: str, extver: int
                      ) -> dict[str, Any]:
    p = r.promoted
    bunit = {"raw": "COUNTS", "drz": "ELECTRONS/S", "drc": "ELECTRONS/S"}.get(filetype,
                                                                             "ELECTRONS")
    values = {
        **wcs_values(r, filetype, extver),
        "EXTNAME": extname, "EXTVER": extver, "EXPNAME": r.rootname, "BUNIT": bunit,
        "CCDCHIP": 2 if extver == 1 and r.n_chips == 2 else 1,
        "PHOTFLAM": 1.5e-19 if p["filter1"].startswith("F6") else 7.0e-20,
    }
    # A raw chip has its overscan columns (acsq_mongo.sample.injections).
    return raw_sci_values(r, extver, values) if filetype == "raw" else values


HISTORY = {
    "flt": ("CCD parameters table:", "  reference table jref$72m1525rj_ccd.fits",
            "DQICORR complete ...", "BLEVCORR complete; bias level from overscan was subtracted.",
            "BIASCORR complete ...", "DARKCORR complete ...", "FLATCORR complete ...",
            "PHOTCORR complete ..."),
    "drz": ("AstroDrizzle processing performed using:", "    AstroDrizzle Version 3.5.1",
            "    Numpy Version 1.22.4", "    PyFITS Version 5.0.4"),
}


# Card comments as ACS headers write them, for the keywords an analyst reads most.
_COMMENTS = {
    "ROOTNAME": "rootname of the observation set", "FILENAME": "name of file",
    "DETECTOR": "detector in use: WFC, HRC, or SBC", "PROPOSID": "PEP proposal identifier",
    "TARGNAME": "proposer's target name", "RA_TARG": "right ascension of the target (deg) (J2000)",
    "DEC_TARG": "declination of the target (deg) (J2000)", "APERTURE": "aperture name",
    "FILTER1": "element selected from filter wheel 1",
    "FILTER2": "element selected from filter wheel 2", "OBSTYPE": "observation type",
    "EXPTIME": "exposure duration (seconds)--calculated",
    "EXPSTART": "exposure start time (Modified Julian Date)",
    "DATE-OBS": "UT date of start of observation (yyyy-mm-dd)",
    "TIME-OBS": "UT time of start of observation (hh:mm:ss)",
    "CCDGAIN": "commanded gain of CCD", "CCDAMP": "CCD amplifier read out configuration",
    "EXPFLAG": "Exposure interruption indicator", "PA_V3": "position angle of V3-axis of HST (deg)",
    "ORIENTAT": "position angle of image y axis (deg. e of n)",
    "EXTNAME": "extension name", "EXTVER": "extension version number",
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


def _card(key: str, value: Any, comment: str):
    """An astropy ``Card``, verified as ``output_verify="silentfix"`` would; a fresh copy."""
    from astropy.io.fits import Card

    card = verified_card(key, value, comment)
    clone = object.__new__(Card)  # a shallow copy (its attributes are immutable), cheaply
    clone.__dict__.update(card.__dict__)
    return clone


def make_header(combo: str, seed: int, overrides: dict[str, Any], history: tuple[str, ...] = (),
                omitted: Collection[str] = ()):
    from astropy.io import fits

    template = _template(combo, seed)
    keys = {k for k, _ in template}
    # Identity first, as in real headers; then the inventory's keywords.
    cards = [_card(key, overrides[key], _COMMENTS.get(key, ""))
             for key in ("EXTNAME", "EXTVER", "ROOTNAME", "FILENAME")
             if key in overrides and key not in keys]
    cards += [_card(key, _like(overrides[key], value) if key in overrides else value,
                    _COMMENTS.get(key, "")) for key, value in template if key not in omitted]
    header = fits.Header(cards)
    for line in history:
        header.add_history(line)
    return header


_IDENTITY = ("EXTNAME", "EXTVER", "ROOTNAME", "FILENAME")


@lru_cache(maxsize=256)
def _template_cards(combo: str, seed: int) -> tuple[dict[str, int], tuple[str, ...]]:
    """Where each template keyword sits, and the template's card images, of one combo."""
    template = _template(combo, seed)
    index = {key: k for k, (key, _) in enumerate(template)}
    return index, tuple(card_image(key, value, _COMMENTS.get(key, "")) for key, value in template)


def prepare_templates(seed: int) -> None:
    """Format every combo's template cards now: forked writers then share them (~1 s each)."""
    for combo in load_reference()["keywords"]:
        _template_cards(combo, seed)


def template_value(combo: str, seed: int, key: str) -> Any:
    """The template's value of ``key`` in ``combo`` (None if it has none)."""
    k = _template_cards(combo, seed)[0].get(key)
    return None if k is None else _template(combo, seed)[k][1]


def header_cards(combo: str, seed: int, overrides: dict[str, Any],
                 history: tuple[str, ...] = (), assigned: dict[str, Any] | None = None,
                 omitted: Collection[str] = ()) -> list[str]:
    """The card images of :func:`make_header`'s header, for ``fits_bytes``.

    Parameters
    ----------
    combo : str
        ``<detector>_<filetype>_<ext>``.
    seed : int
    overrides : dict
        Values that replace the template's (as the template's type) or, for the
        identity keywords (EXTNAME, EXTVER, ROOTNAME, FILENAME), come first.
        Other keywords are left out, as in :func:`make_header`.
    history : tuple of str
        ``HISTORY`` lines, last.
    assigned : dict, optional
        Values then set as ``header[key] = value`` does: in place, keeping the
        card's comment, or appended at the end (templates have no commentary
        cards, so nothing follows).
    omitted : collection of str
        Template keywords left out (a pre-SM4 WFC header's, :mod:`.eras`).
    """
    template = _template(combo, seed)
    index, images = _template_cards(combo, seed)
    cards = [card_image(key, overrides[key], _COMMENTS.get(key, ""))
             for key in _IDENTITY if key in overrides and key not in index]
    body = list(images)
    for key, value in overrides.items():
        k = index.get(key)
        if k is not None:
            body[k] = card_image(key, _like(value, template[k][1]), _COMMENTS.get(key, ""))
    for key, value in (assigned or {}).items():
        k = index.get(key)
        if k is None:
            body.append(card_image(key, value))
        else:
            body[k] = card_image(key, value, _COMMENTS.get(key, ""))
    if omitted:
        left_out = {index[key] for key in omitted if key in index}
        body = [card for k, card in enumerate(body) if k not in left_out]
    cards += body
    cards += [card_image("HISTORY", line) for line in history]
    return cards
