"""Hand-made rootname documents for the query tests (shaped as docs/data-model.md says).

A small, varied archive: three detectors, several proposals and targets
(some near RA 0/360 and near both poles), missing values, header keywords of
every type (including a record-valued one stored escaped, and one whose type
varies from file to file), and a formula-looking target name.
"""

from __future__ import annotations

import datetime
import random

from acsq_mongo.fields import PROMOTED_FIELDS

# proposid, rootname prefix, PI last, PI first, proposal type
PROPOSALS = [
    (10368, "j94f", "Anderson", "Jay", "GO"),
    (9575, "j8c1", "Riess", "Adam", "GO"),
    (11677, "jb1a", "Sirianni", "Marco", "CAL/ACS"),
    (12345, "jbx2", None, None, None),
]
# target name, RA, Dec (degrees)
TARGETS = [
    ("NGC104", 6.0236, -72.0813),
    ("M31", 10.6847, 41.2690),
    ("M87", 187.7059, 12.3911),
    ("WRAP-EAST", 359.98, 1.0),
    ("WRAP-WEST", 0.03, 1.01),
    ("POLARIS", 37.95, 89.264),
    ("NEAR-NCP", 215.0, 89.95),
    ("SOUTH-POLE", 120.0, -89.8),
    ("=HYPERLINK(\"HTTP://X\")", 150.0, 2.2),
    ("NGC4536", 188.6131, 2.1883),
]
DETECTOR_SETUP = {
    "WFC": (["WFC", "WFC1", "WFC1-2K"], ["F606W", "F814W", "CLEAR1L"], ["CLEAR2L", "F814W", None]),
    "HRC": (["HRC", "HRC-512"], ["F555W", "CLEAR1S"], ["F330W", "CLEAR2S"]),
    "SBC": (["SBC"], ["F115LP", "F122M"], ["N/A", None]),
}


def make_document(i: int, rng: random.Random) -> dict:
    """Return the whole document of the ``i``-th rootname."""
    proposid, prefix, pi_l, pi_f, ptype = PROPOSALS[i % len(PROPOSALS)]
    detector = ("WFC", "WFC", "HRC", "SBC")[i % 4]
    apertures, filters1, filters2 = DETECTOR_SETUP[detector]
    target, ra0, dec0 = TARGETS[(i * 7) % len(TARGETS)]
    ra = (ra0 + rng.uniform(-0.05, 0.05)) % 360.0
    dec = max(-90.0, min(90.0, dec0 + rng.uniform(-0.05, 0.05)))
    letter = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]
    rootname = f"{prefix}{i // 36:02d}{letter}{'q' if i % 3 else 'r'}q"
    date_obs = datetime.datetime(2002, 3, 1) + datetime.timedelta(
        days=rng.randint(0, 365 * 8), seconds=rng.randint(0, 86399)
    )
    exptime = rng.choice([0.5, 30.0, 400.0, 1000.5, 2200.0])
    doc = {f.name: None for f in PROMOTED_FIELDS}
    doc.update(
        _id=rootname[:8], rootname=rootname, detector=detector, proposid=proposid,
        proposal_type=ptype, pr_inv_l=pi_l, pr_inv_f=pi_f, targname=target,
        ra_targ=ra, dec_targ=dec, aperture=rng.choice(apertures),
        filter1=rng.choice(filters1), filter2=rng.choice(filters2),
        obstype=rng.choice(["IMAGING", "IMAGING", "SPECTROSCOPIC", "CORONAGRAPHIC"]),
        obsmode="ACCUM", imagetyp=rng.choice(["EXT", "EXT", "DARK"]),
        subarray=rng.random() < 0.3, asn_id=f"{prefix.upper()}{i:05d}",
        exptime=exptime, expflag="NORMAL", expstart=52334.0 + (date_obs - datetime.datetime(
            2002, 3, 1)).total_seconds() / 86400.0,
        date_obs=date_obs, year=date_obs.year,
        path=f"{rootname[:4]}/{rootname}",
        n_errors=0, files_sig=f"sig{i}",
        first_ingest_date=datetime.datetime(2024, 1, 1),
        last_ingest_date=datetime.datetime(2024, 1, 2),
    )
    filetypes = ["raw", "flt"]
    if detector == "WFC" and i % 2 == 0:
        filetypes.append("flc")
    if i % 5 == 0:
        filetypes.append("spt")
    doc["filetypes"] = filetypes
    if i % 6 == 0:
        doc["quicklook"] = {"flt": f"jpegs/{proposid}/{rootname}_flt.jpg"}
    gain = rng.choice([1.0, 2.0, 4.0])
    mykey = rng.choice([2, "2", "abc", 7.5])
    flt1 = {
        "EXTNAME": "SCI", "EXTVER": 1, "BUNIT": rng.choice(["ELECTRONS", "COUNTS"]),
        "D2IM1%2EEXTVER": rng.choice([1.0, 2.0]),
        "MDRIZSKY": rng.choice([12.5, 40.0, None]), "MYKEY": mykey,
        "CCDGAIN": gain,
    }
    if i % 7 == 3:
        del flt1["MYKEY"]
    doc["headers"] = {
        "raw": {"0": {"DETECTOR": detector, "CCDAMP": rng.choice(["ABCD", "C", "-AB"])}},
        "flt": {
            "0": {"DETECTOR": detector, "CCDGAIN": gain, "EXPTIME": exptime,
                  "SUBARRAY": doc["subarray"], "CRSPLIT": rng.choice([1, 2, 4]),
                  "FLSHCORR": rng.choice(["PERFORM", "OMIT", "COMPLETE"]),
                  "DATE-OBS": date_obs.strftime("%Y-%m-%d"),
                  "STATFLAG": rng.random() < 0.5},
            "1": flt1,
        },
    }
    if flt1["MDRIZSKY"] is None:
        doc["header_nulls"] = {"flt": {"1": {"MDRIZSKY": "undefined"}}}
    doc["files"] = {ft: {"name": f"{rootname}_{ft}.fits", "size": 1000, "n_hdus": 2}
                    for ft in filetypes}
    return doc


def make_documents(n: int = 60, seed: int = 1) -> list[dict]:
    """Return ``n`` documents with a few missing values sprinkled in."""
    rng = random.Random(seed)
    docs = [make_document(i, rng) for i in range(n)]
    for i, doc in enumerate(docs):
        if i % 11 == 4:
            doc["exptime"] = None
        if i % 13 == 5:
            doc["date_obs"] = None
            doc["year"] = None
        if i % 17 == 6:
            doc["proposid"] = None
        if i % 19 == 7:
            doc["targname"] = None
            doc["ra_targ"] = None
            doc["dec_targ"] = None
    return docs


def load(db, docs: list[dict]) -> None:
    """Store documents the way ingest does, through the store."""
    from acsq_mongo.db.indexes import ensure_indexes
    from acsq_mongo.ingest.store import upsert_rootname

    ensure_indexes(db)
    for doc in docs:
        upsert_rootname(db, doc)
