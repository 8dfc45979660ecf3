"""The real archive: given an archive with every structure the real ACS archive serves, when
ingested on the real server, nothing is lost or misplaced and every face finds it (issue 22).

The archive is a small plain sample plus one rootname (or group) of each structure
(:mod:`acsq_mongo.sample.structures`): an association whose CR-split sub-products sit in
folders of their own, a retransmission, a ``.fits.gz`` flt, a tile-compressed flt, modern
flt and flc files (D2IMARR, WCSDVARR, WCSCORR, HDRLET), HRC, SBC, a WFC subarray,
internal frames, and WFC exposures before and after the repair in SM4 (2009); one
unreadable file, and one flt twice, as ``.fits`` and ``.fits.gz``.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from acsq_mongo.api import Archive
from acsq_mongo.archive.discover import discover_archive
from acsq_mongo.browse.rootname import catalog_document
from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.keys import escape_key
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query.core import iter_files
from acsq_mongo.query.spec import QuerySpec
from acsq_mongo.sample import make_sample_archive
from acsq_mongo.sample.structures import write_structures
from acsq_mongo.settings import load_settings
from acsq_mongo.trends.sky_points import sky_points

#: An unreadable file: reported, with its reason, never silently skipped.
BAD = "js22/js2209aaq/js2209aaq_flt.fits"


def _by_kind(structures):
    return {s.kind: s for s in structures}


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory, real_server_uri):
    """(settings, db, structures, summary): the archive written and ingested once."""
    base = tmp_path_factory.mktemp("real_archive")
    root = base / "archive"
    sample = make_sample_archive(root, 12, seed=22)
    structures = write_structures(root, seed=22)
    bad = root / BAD
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"SIMPLE  =                    T" + b" " * 50)  # truncated in its header
    # One flt twice, as .fits and .fits.gz: the .gz is reported (stage duplicate), not stored.
    twice = next(r for r in sample.rootnames if "flt" in r.filetypes)
    flt = root / twice.path / f"{twice.rootname}_flt.fits"
    flt.with_name(flt.name + ".gz").write_bytes(gzip.compress(flt.read_bytes()))
    settings = load_settings(environ={}, mongo_uri=real_server_uri, db=f"acsq_real_{os.getpid()}",
                             data=base / "var", archive=root, count_time_limit_ms=0,
                             proposal_types=root / "proposal_types.csv")
    summary = run_ingest(settings, root)
    db = connect(settings)
    yield settings, db, _by_kind(structures), summary
    db.client.drop_database(settings.db)
    db.client.close()


def _disk_files(root: Path) -> set[str]:
    """Every FITS file inside a rootname folder, relative to the archive root."""
    return {p.relative_to(root).as_posix() for p in root.glob("*/*/*")
            if p.name.lower().endswith((".fits", ".fits.gz"))}


def test_nothing_is_lost(real_archive):
    settings, db, structures, summary = real_archive
    root = settings.archive
    on_disk = _disk_files(root)
    stored = {path for doc in db[ROOTNAMES].find({}, {"file_paths": 1})
              for path in doc["file_paths"].values()}
    headers = {path for doc in db[ROOTNAMES].find({}, {"file_paths": 1, "headers": 1})
               for key, path in doc["file_paths"].items() if doc["headers"].get(key)}
    bad = {e["path"]: e["error"] for e in db[INGEST_ERRORS].find({"stage": "header"})}
    twice = {e["path"]: e for e in db[INGEST_ERRORS].find({"stage": "duplicate"})}
    # Every file on disk is stored, or reported as a duplicate; every stored one has its
    # headers, or is reported with a reason.
    assert stored | set(twice) == on_disk and not stored & set(twice)
    assert headers | set(bad) == stored and not headers & set(bad)
    assert set(bad) == {BAD} and "truncated" in bad[BAD]
    [(path, error)] = twice.items()
    assert path.endswith("_flt.fits.gz") and path[:-3] in stored and error["filetype"] == "flt"
    assert "not ingested" in error["error"] and Path(path[:-3]).name in error["error"]
    doc = db[ROOTNAMES].find_one({"_id": error["rootname"][:8]})
    assert [e["path"] for e in doc["errors"] if e["stage"] == "duplicate"] == [path]
    # Zero readable files skipped: what discovery skipped lies outside rootname folders.
    skipped = discover_archive(root).skipped
    assert summary.ok is False and summary.skipped == len(skipped)   # the bad file failed
    assert all(Path(p).parent == Path(root) for p, _ in skipped), skipped
    for st in structures.values():
        assert set(st.files) <= stored, st.kind


def test_an_association_answers_by_its_8_and_9_character_names_and_asn(real_archive):
    settings, db, structures, _ = real_archive
    st = structures["association"]
    product, subs = "js2201010", ("js2201011", "js2201012")
    for name in ("js220101", product, *subs, "JS2201012"):
        doc = catalog_document(db, name)
        assert doc["_id"] == "js220101" and doc["rootname"] == product, name
    doc = db[ROOTNAMES].find_one({"_id": "js220101"})
    assert doc["rootnames"] == [product, *subs]
    assert sorted(doc["filetypes"]) == sorted(["asn", "crj", "crc", "drz", "drc"])
    # Two crj files under one _id: the first under crj, the other under its own name.
    assert doc["headers"]["crj"]["0"]["ROOTNAME"] == "js2201011"
    assert doc["headers"]["js2201012_crj"]["0"]["ROOTNAME"] == "js2201012"
    assert doc["files"]["js2201012_crc"]["path"] == "js22/js2201012"
    archive = Archive(settings, db)
    for name in subs:
        assert [r["rootname"] for r in archive.query(rootname=name).rows()] == [product]
    second = archive.query({"headers.js2201012_crj.0.ROOTNAME": "js2201012"}).rows()
    assert [r["rootname"] for r in second] == [product]
    members = {r.rootname for r in st.rootnames if r.kind == "member"}
    expected = members | {product}
    for asn in (product, "JS2201010", "js220101*"):
        assert {r["rootname"] for r in archive.query(asn=asn).rows()} == expected, asn
    # Paths: every crj of the association, each its own file.
    paths = {p.name for p in Path(settings.archive).rglob("js220101*_cr?.fits")}
    found = {p.name for _, _, p in iter_files(db, QuerySpec.parse([("asn", product)]),
                                                settings, ["crj", "crc"])}
    assert found == paths and len(paths) == 4
    # The asn table, read at ingest: every member and product, the absent one marked.
    table = {row["memname"]: row for row in doc["asn_members"]}
    assert set(table) == members | set(st.absent) | {product, *subs}
    assert table[st.absent[0]]["memprsnt"] is False


def test_the_web_app_links_members_and_products(real_archive):
    from webapp import create_app

    settings, db, structures, _ = real_archive
    client = create_app(settings, db=db).test_client()
    product = client.get("/rootname/js2201012", follow_redirects=True)
    assert product.status_code == 200
    page = product.get_data(as_text=True)
    assert "PROD-CR2" in page and "EXP-CR3" in page and "missing" in page
    for member in ("js2201a1q", "js2201a4q"):
        assert f"/rootname/{member}" in page
    member = client.get("/rootname/js2201a1q", follow_redirects=True).get_data(as_text=True)
    assert "/rootname/js2201010" in member and "PROD-DTH" in member
    # Every file of the observation is a download of its own name.
    assert "js22/js2201012/js2201012_crj.fits" in page
    crj = client.get("/files/js2201012/crj")
    assert crj.status_code == 200
    assert "js2201012_crj.fits" in crj.headers["Content-Disposition"]
    assert crj.data == (Path(settings.archive) / "js22/js2201012/js2201012_crj.fits").read_bytes()
    assert client.get("/query.json?asn=js2201010&columns=rootname").json["rows"]
    # The second crj sub-product's quicklook has a tab of its own, named by its file key.
    assert 'href="/archive/12022/js2201010/js2201012_crj/"' in page
    second = client.get("/archive/12022/js2201010/js2201012_crj/").get_data(as_text=True)
    assert "js2201012_crj_preview.jpg" in second


def test_a_retransmission_keeps_both_transmissions(real_archive):
    settings, db, structures, _ = real_archive
    doc = db[ROOTNAMES].find_one({"_id": "js2202aa"})
    assert doc["rootnames"] == ["js2202aaq", "js2202aar"]
    assert doc["headers"]["flt"]["0"]["ROOTNAME"] == "js2202aaq"
    assert doc["headers"]["js2202aar_flt"]["0"]["ROOTNAME"] == "js2202aar"
    assert catalog_document(db, "js2202aar")["_id"] == "js2202aa"
    names = [p.name for _, _, p in iter_files(db, QuerySpec.parse([("rootname", "js2202aa*")]),
                                              settings, ["flt"])]
    assert names == ["js2202aaq_flt.fits", "js2202aar_flt.fits"]
    # The image view lists both, filetype by filetype, the first transmission's file first.
    from webapp import create_app

    page = create_app(settings, db=db).test_client().get(
        "/rootname/js2202aar", follow_redirects=True).get_data(as_text=True)
    listed = list(dict.fromkeys(re.findall(r"js2202aa[qr]_(?:raw|flt|spt)\.fits",
                                           page.split("<h2>Files")[1])))
    assert listed == [f"js2202aa{t}_{ft}.fits" for ft in ("raw", "flt", "spt") for t in "qr"]


def test_a_second_file_of_a_filetype_gets_its_own_statistics_and_footprint(real_archive):
    """A second crj sub-product and a retransmitted flt (file keys ``js2201012_crj``,
    ``js2202aar_flt``) are measured from their own files, beside the first file's."""
    settings, db, _, _ = real_archive
    root = Path(settings.archive)
    for _id, first, second, filetype in (("js220101", "js2201011", "js2201012", "crj"),
                                         ("js2202aa", "js2202aaq", "js2202aar", "flt")):
        doc = db[ROOTNAMES].find_one({"_id": _id})
        key = f"{second}_{filetype}"
        for name, stored in ((first, doc["stats"][filetype]), (second, doc["stats"][key])):
            path = root / "js22" / name / f"{name}_{filetype}.fits"
            with fits.open(path) as hdul:   # numpy's median of each chip, by CCDCHIP
                medians = {f"chip{h.header['CCDCHIP']}": float(np.median(h.data))
                           for h in hdul if h.name == "SCI"}
            for chip, median in medians.items():
                assert stored[chip]["median"] == pytest.approx(median, rel=1e-6), (name, chip)
        assert doc["stats"][filetype] != doc["stats"][key]        # the first not overwritten
        assert db[CATALOG].find_one({"_id": _id})["stats"][key] == doc["stats"][key]
        # ... and queried by its key, as headers.<file key> is.
        median = doc["stats"][key]["chip1"]["median"]
        found = Archive(settings, db).query({f"stats.{key}.chip1.median": median}).rows()
        assert [r["rootname"] for r in found] == [doc["rootname"]]
    doc = db[ROOTNAMES].find_one({"_id": "js2202aa"})
    for name in ("js2202aaq", "js2202aar"):    # each flt's own chips, and its raw's copy
        key = "flt" if name.endswith("q") else f"{name}_flt"
        with fits.open(root / "js22" / name / f"{name}_flt.fits") as hdul:
            crval = [(h.header["CRVAL1"], h.header["CRVAL2"]) for h in hdul if h.name == "SCI"]
        assert len(doc["footprints"][key]) == len(crval) >= 1
        for ring, (ra, dec) in zip(doc["footprints"][key], crval, strict=True):
            assert min(r[0] for r in ring) < ra < max(r[0] for r in ring), name
            assert min(r[1] for r in ring) < dec < max(r[1] for r in ring), name
        assert doc["footprints"][key.replace("flt", "raw")] == doc["footprints"][key]


def _astropy_values(path: Path, ext: int) -> dict:
    header = fits.getheader(path, ext)
    values = {}
    for card in header.cards:
        if card.keyword not in ("COMMENT", "HISTORY", "") and card.keyword not in values:
            values[escape_key(card.keyword)] = card.value
    return values


def test_tile_compressed_headers_equal_astropy_getheader_of_the_image(real_archive):
    settings, db, structures, _ = real_archive
    st = structures["tile_compressed"]
    path = Path(settings.archive) / st.files[1]
    doc = db[ROOTNAMES].find_one({"_id": "js2203ab"})
    with fits.open(path) as hdul:
        assert isinstance(hdul[1], fits.CompImageHDU)
        n = len(hdul)
    for ext in range(1, n):
        stored = {k: v for k, v in doc["headers"]["flt"][str(ext)].items()
                  if k not in ("COMMENT", "HISTORY", "")}
        assert stored == _astropy_values(path, ext), ext
    assert doc["headers"]["flt"]["1"]["XTENSION"] == "IMAGE"
    assert doc["headers"]["flt"]["1"]["NAXIS1"] == fits.getheader(path, 1)["NAXIS1"]
    assert doc["quicklook"].get("flt") and doc.get("footprints", {}).get("flt")


def test_a_gzip_file_is_read_served_and_imaged_under_its_own_name(real_archive):
    from webapp import create_app

    settings, db, structures, _ = real_archive
    st = structures["gzip"]
    path = Path(settings.archive) / st.files[1]
    assert path.name.endswith("_flt.fits.gz")
    doc = db[ROOTNAMES].find_one({"_id": "js2203aa"})
    assert doc["files"]["flt"]["name"] == path.name
    for ext in range(len(fits.open(path))):
        stored = {k: v for k, v in doc["headers"]["flt"][str(ext)].items()
                  if k not in ("COMMENT", "HISTORY", "")}
        assert stored == _astropy_values(path, ext), ext
    assert doc["quicklook"].get("flt")
    response = create_app(settings, db=db).test_client().get("/files/js2203aaq/flt")
    assert response.status_code == 200 and response.data == path.read_bytes()
    assert "js2203aaq_flt.fits.gz" in response.headers["Content-Disposition"]


_LOOKUP_KEYS = ("CPDIS", "D2IMDIS", "DP1", "DP2", "D2IM1", "D2IM2")


def _corners(wcs, size):
    """astropy's four outer pixel corners, counter-clockwise from (0.5, 0.5), RA in [0, 360)."""
    n1, n2 = size
    world = wcs.all_pix2world([[0.5, 0.5], [n1 + 0.5, 0.5], [n1 + 0.5, n2 + 0.5],
                               [0.5, n2 + 0.5]], 1)
    world[:, 0] %= 360.0
    return world


def test_modern_extensions_are_stored_by_extname_and_the_numbering_does_not_shift(real_archive):
    settings, db, structures, _ = real_archive
    st = structures["modern"]
    doc = db[ROOTNAMES].find_one({"_id": "js2203ac"})
    for filetype in ("flt", "flc"):
        headers = doc["headers"][filetype]
        assert [headers[str(k)]["EXTNAME"] for k in range(1, 7)] == [
            "SCI", "ERR", "DQ", "SCI", "ERR", "DQ"]
        with fits.open(Path(settings.archive) / st.files[1 if filetype == "flt" else 2]) as hdul:
            named = {f"{h.header['EXTNAME']}_{h.header.get('EXTVER', 1)}" for h in hdul[7:]}
        assert named == {"D2IMARR_1", "D2IMARR_2", "WCSDVARR_1", "WCSDVARR_2", "WCSDVARR_3",
                         "WCSDVARR_4", "WCSCORR_1", "HDRLET_1"}
        assert named <= set(headers) and len(headers) == 15
        assert headers["WCSCORR_1"]["XTENSION"] == "BINTABLE"
    found = Archive(settings, db).query({"headers.flt.WCSDVARR_2.NAXIS1": 65}).rows()
    assert [r["rootname"] for r in found] == ["js2203acq"]
    # Their SCI headers name the tables ("Lookup"), and the footprints use them: each
    # chip's corners are astropy's WCS(header, fobj) ones, which the tables move.
    for filetype, name in (("flt", st.files[1]), ("flc", st.files[2])):
        rings = doc["footprints"][filetype]
        with fits.open(Path(settings.archive) / name) as hdul:
            for ring, ext in zip(rings, (1, 4), strict=True):
                header = hdul[ext].header
                assert header["CPDIS1"] == header["D2IMDIS2"] == "Lookup"
                # The chip's true size: the sample's small images keep it in SIZAXISn.
                size = tuple(max(header[f"NAXIS{k}"], header.get(f"SIZAXIS{k}", 0))
                             for k in (1, 2))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with_tables = WCS(header, hdul)
                    assert with_tables.cpdis1 is not None and with_tables.det2im2 is not None
                    bare = header.copy()
                    for key in [k for k in bare if k.startswith(_LOOKUP_KEYS)]:
                        del bare[key]
                    without = WCS(bare)
                corners = _corners(with_tables, size)
                assert np.abs(np.array(ring)[:4] - corners).max() < 1e-9
                assert np.abs(_corners(without, size) - corners).max() > 1e-7  # they count
    assert Archive(settings, db).query({"headers.flt.1.EXTNAME": "SCI",
                                        "rootname": "js2203acq"}).count() == 1


def test_every_detector_and_shape(real_archive):
    settings, db, structures, _ = real_archive
    for kind, detector in (("hrc", "HRC"), ("sbc", "SBC"), ("subarray", "WFC")):
        r = structures[kind].rootnames[0]
        doc = db[ROOTNAMES].find_one({"_id": r.rootname[:8]})
        assert doc["detector"] == detector
        assert doc["files"]["flt"]["n_hdus"] == doc["files"]["raw"]["n_hdus"] == 4, kind
        assert doc["headers"]["jit"]["1"]["XTENSION"] == "BINTABLE"
    assert db[ROOTNAMES].find_one({"_id": "js2206aa"})["subarray"] is True


#: hstcal's SM4MJD (2009-05-14): CALACS treats WFC data from this MJD on as post-SM4.
SM4_MJD = 54967


def test_wfc_before_and_after_the_repair_carry_their_eras_keywords(real_archive):
    """A WFC exposure of 2004 and one of 2016 (and every WFC rootname of the plain sample):
    JWROTYPE, the readout mode of the electronics installed in SM4, is in the post-SM4
    headers only; a query on it matches the post-SM4 files, a missing keyword never."""
    settings, db, structures, _ = real_archive
    before, after = (r.rootname for r in structures["eras"].rootnames)
    docs = {d["rootname"]: d for d in db[ROOTNAMES].find({"detector": "WFC"})}
    assert docs[before]["expstart"] < SM4_MJD <= docs[after]["expstart"]
    for filetype in ("raw", "flt", "flc"):
        assert "JWROTYPE" not in docs[before]["headers"][filetype]["0"], filetype
        assert docs[after]["headers"][filetype]["0"]["JWROTYPE"] == "DS_int", filetype
    # Brute force over every WFC document: the keyword is there exactly after SM4.
    with_flt = {r: d for r, d in docs.items() if "0" in d["headers"].get("flt", {})}
    carrying = {r for r, d in with_flt.items() if "JWROTYPE" in d["headers"]["flt"]["0"]}
    assert carrying == {r for r, d in with_flt.items() if d["expstart"] >= SM4_MJD}
    assert after in carrying and before not in carrying and len(carrying) < len(with_flt)
    archive = Archive(settings, db)
    found = {r["rootname"] for r in archive.query({"headers.flt.0.JWROTYPE": "DS_int"}).rows()}
    assert found == carrying
    assert {r["rootname"] for r in archive.query(
        {"headers.flt.0.JWROTYPE__contains": "ds_"}).rows()} == carrying
    absent = {r["rootname"] for r in archive.query(
        {"headers.flt.0.JWROTYPE__exists": False, "detector": "WFC"}).rows()}
    assert before in absent and not absent & carrying
    assert archive.query({"headers.flt.0.JWROTYPE": "DS_int", "rootname": before}).count() == 0


def test_no_internal_frame_is_on_the_sky(real_archive):
    from webapp import create_app

    settings, db, structures, _ = real_archive
    internal = {d["rootname"] for d in db[CATALOG].find({"obstype": "INTERNAL"}, {"rootname": 1})}
    assert {r.rootname for r in structures["internal"].rootnames} <= internal
    for doc in db[CATALOG].find({"obstype": "INTERNAL"}):
        assert doc["ra_targ"] is None and doc["dec_targ"] is None
        assert "footprint" not in doc and "s_region" not in doc
    client = create_app(settings, db=db).test_client()
    scs = client.get("/vo/scs?RA=0&DEC=0&SR=1").get_data(as_text=True)
    everywhere = client.get("/vo/scs?RA=0&DEC=0&SR=180&VERB=1").get_data(as_text=True)
    sia = client.get("/vo/sia?POS=CIRCLE+0+0+180&MAXREC=1000").get_data(as_text=True)
    cone = Archive(settings, db).query(ra=0, dec=0, radius=180).rows()
    for name in internal:
        assert name not in scs and name not in everywhere and name not in sia
    assert not internal & {r["rootname"] for r in cone}
    assert "<TR>" in everywhere or "<TR" in everywhere         # the sky ones are there
    points = sky_points(db, QuerySpec.parse([("obstype", "INTERNAL")]), settings)
    assert points.n_footprints == 0 and len(points.ra) == 0
    page = client.get("/query?obstype=INTERNAL&columns=rootname,ra_targ,dec_targ")
    assert "<td>—</td>" in page.get_data(as_text=True)


def test_an_archive_ingested_before_is_converted_by_ingest_force(tmp_path, real_settings,
                                                                  real_db, monkeypatch, capsys):
    """Before this change a second folder of an _id was refused: its document held the first
    folder alone, without rootnames or file_paths. ``acsq ingest --force`` converts it with
    nothing lost: the anomaly flags and their history stay, the missing files come in."""
    from acsq_mongo.accounts.users import User
    from acsq_mongo.tags import Vocabulary, change_flags
    from acsq_mongo.tags.history import rootname_history

    root = tmp_path / "archive"
    write_structures(root, seed=3)
    held = tmp_path / "held"
    shutil.move(root / "js22" / "js2201012", held)     # what the old ingest refused
    settings = real_settings.replace(archive=root)
    assert run_ingest(settings, root, quicklook=False).ok
    for collection in (ROOTNAMES, CATALOG):             # the old document shape
        real_db[collection].update_many({}, {"$unset": {"rootnames": "", "file_paths": ""}})
    vocabulary = Vocabulary.from_settings(settings)
    ada = User("ada", "tagger")
    change_flags(real_db, "js2201010", ada, vocabulary, add=["ghost"], comment="before")
    change_flags(real_db, "js2202aaq", ada, vocabulary, add=["crosstalk", "ghost"])
    change_flags(real_db, "js2202aaq", ada, vocabulary, remove=["ghost"])
    before = {i: rootname_history(real_db, i) for i in ("js220101", "js2202aa")}

    shutil.move(held, root / "js22" / "js2201012")
    monkeypatch.setenv("ACSQ_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", settings.db)
    monkeypatch.setenv("ACSQ_DATA", str(settings.data))
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    assert main(["ingest", str(root), "--force", "--no-quicklook", "--workers", "0"]) == 0
    capsys.readouterr()
    doc = real_db[ROOTNAMES].find_one({"_id": "js220101"})
    assert doc["rootnames"] == ["js2201010", "js2201011", "js2201012"]
    assert "js2201012_crj" in doc["headers"]
    assert real_db[CATALOG].find_one({"_id": "js220101"})["anomalies"] == ["ghost"]
    assert real_db[CATALOG].find_one({"_id": "js2202aa"})["anomalies"] == ["crosstalk"]
    for _id, history in before.items():
        assert rootname_history(real_db, _id) == history
    assert _disk_files(root) == {p for d in real_db[ROOTNAMES].find({}, {"file_paths": 1})
                                 for p in d["file_paths"].values()}
