"""acsq quicklook: images for catalog rootnames, paths and errors recorded, on both backends."""

import datetime

import numpy as np
import pytest
from synthetic_images import truncate, write_single, write_wfc

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.generation import bump_generation, generation
from acsq_mongo.errors import AcsqError, ConfigError
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.ingest.quicklook_batch import locate_files, normalize_rootnames, run_quicklooks
from acsq_mongo.ingest.store import upsert_rootname


def _document(rootname, proposid, filetypes, quicklook=None):
    doc = {f.name: None for f in PROMOTED_FIELDS}
    doc.update(
        _id=rootname[:8], rootname=rootname, proposid=proposid, detector="WFC",
        date_obs=datetime.datetime(2005, 5, 1), year=2005,
        path=f"{rootname[:4]}/{rootname}", filetypes=filetypes, files_sig="x", n_errors=0,
        files={}, headers={},
    )
    if quicklook is not None:
        doc["quicklook"] = quicklook
    return doc


@pytest.fixture
def archive(settings, tmp_path):
    """Three rootnames: a good WFC one (upper-case file names), a broken one, a non-image one."""
    root = tmp_path / "archive"
    chip = np.add.outer(np.arange(30), np.arange(50)).astype(np.float32)
    good = root / "j94f" / "j94f05bgq"
    write_wfc(good / "J94F05BGQ_FLT.FITS", chip, chip)
    write_wfc(good / "j94f05bgq_raw.fits", chip, chip)
    (good / "j94f05bgq_spt.fits").write_bytes(b"")
    broken = root / "j8zh" / "j8zh21xvq"
    truncate(write_single(broken / "j8zh21xvq_flt.fits", chip), 0.3)
    write_single(broken / "j8zh21xvq_raw.fits", chip)
    # Listed with an flc that is not on disk.
    db = connect(settings)
    upsert_rootname(db, _document("j94f05bgq", 10368, ["raw", "flt", "spt"], quicklook={}))
    upsert_rootname(db, _document("j8zh21xvq", 9592, ["raw", "flt", "flc"]))
    upsert_rootname(db, _document("jcsp01010", None, ["asn"]))
    return root


def test_paths_and_errors_are_recorded_in_both_collections(settings, archive):
    db = connect(settings)
    settings = settings.replace(archive=archive)

    run = run_quicklooks(db, settings)

    assert run.rootnames == 2 and run.made == 3 and run.skipped == 0
    good = {
        "raw": "jpegs/10368/j94f05bgq_raw.jpg",
        "flt": "jpegs/10368/j94f05bgq_flt.jpg",
        "preview": {"raw": "jpegs/10368/j94f05bgq_raw_preview.jpg",
                    "flt": "jpegs/10368/j94f05bgq_flt_preview.jpg"},
        "thumbnail": "thumbnails/10368/j94f05bgq_flt.thumb",
    }
    for collection in (ROOTNAMES, CATALOG):
        assert db[collection].find_one({"_id": "j94f05bg"})["quicklook"] == good
        assert db[collection].find_one({"_id": "j8zh21xv"})["quicklook"] == {
            "raw": "jpegs/9592/j8zh21xvq_raw.jpg",
            "preview": {"raw": "jpegs/9592/j8zh21xvq_raw_preview.jpg"},
        }
        assert "quicklook" not in db[collection].find_one({"_id": "jcsp0101"})
    for relative in ("jpegs/10368/j94f05bgq_flt.jpg", "thumbnails/10368/j94f05bgq_flt.thumb"):
        assert (settings.data / relative).stat().st_size > 0

    errors = {e["filetype"]: e for e in db[INGEST_ERRORS].find({}, {"_id": 0})}
    assert set(errors) == {"flt", "flc"}
    assert errors["flt"]["rootname"] == "j8zh21xvq" and errors["flt"]["stage"] == "quicklook"
    assert errors["flt"]["path"] == "j8zh/j8zh21xvq/j8zh21xvq_flt.fits"
    assert errors["flt"]["error"].startswith("truncated file")
    assert errors["flc"]["path"] == "j8zh/j8zh21xvq/j8zh21xvq_flc.fits"
    assert "No such file" in errors["flc"]["error"]
    assert isinstance(errors["flc"]["time"], datetime.datetime)
    assert len(run.failures) == 2 and run.failures[0].startswith("j8zh21xvq ")

    # A second run finds everything fresh and writes nothing to the store.
    stamp = generation(db)
    again = run_quicklooks(db, settings, rootnames=["j94f05bgq"])
    assert (again.rootnames, again.made, again.skipped, again.failures) == (1, 0, 2, [])
    assert generation(db) == stamp


def test_the_command_runs_over_named_rootnames_and_exits_non_zero_on_failure(
    settings, archive, monkeypatch, capsys
):
    for name, value in (("MONGO_URI", settings.mongo_uri), ("DB", settings.db),
                        ("DATA", str(settings.data)), ("ARCHIVE", str(archive))):
        monkeypatch.setenv(f"ACSQ_{name}", value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)

    assert main(["quicklook", "--rootnames", "j94f05bgq"]) == 0
    out = capsys.readouterr().out
    assert "1 rootname: 2 quicklooks made, 0 fresh (skipped), 0 failed" in out

    status = main(["quicklook", "--rootnames", "J8ZH21XVQ,j94f05bgq", "nothere1q", "--force"])
    captured = capsys.readouterr()
    assert status == 1
    assert "2 rootnames: 3 quicklooks made" in captured.out and "3 failed" in captured.out
    assert "failed: nothere1q: not in the catalog" in captured.err
    assert "failed: j8zh21xvq flt: truncated file" in captured.err

    db = connect(settings)
    assert db[CATALOG].find_one({"_id": "j94f05bg"})["quicklook"]["thumbnail"] == (
        "thumbnails/10368/j94f05bgq_flt.thumb"
    )
    logs = sorted((settings.data / "logs").glob("quicklook_*.log"))
    assert logs
    text = logs[-1].read_text()
    assert "INFO: j94f05bgq: made flt quicklook" in text
    assert "WARNING: j8zh21xvq: quicklook flt failed: truncated file" in text


def test_the_archive_setting_is_required(settings):
    with pytest.raises(ConfigError, match="archive"):
        run_quicklooks(connect(settings), settings.replace(archive=None))


def test_rootnames_given_by_people_are_checked():
    assert normalize_rootnames(["J94F05BGQ, j8zh21xvq", "j94f05bgq"]) == ["j94f05bgq", "j8zh21xvq"]
    with pytest.raises(AcsqError, match="not a rootname: 'j94f/05bgq'"):
        normalize_rootnames(["j94f/05bgq"])


def test_files_are_located_without_regard_to_case(tmp_path):
    folder = tmp_path / "j94f" / "j94f05bgq"
    folder.mkdir(parents=True)
    (folder / "J94F05BGQ_FLT.FITS").write_bytes(b"")
    files = locate_files(folder, "j94f05bgq", ["flt", "raw"])
    assert files == {"flt": folder / "J94F05BGQ_FLT.FITS", "raw": folder / "j94f05bgq_raw.fits"}
    assert locate_files(tmp_path / "nowhere", "j94f05bgq", ["flt"]) == {
        "flt": tmp_path / "nowhere" / "j94f05bgq_flt.fits"
    }


def test_a_run_bumps_the_data_generation_once_per_batch_not_per_rootname(
        settings, archive, monkeypatch):
    from acsq_mongo.ingest import quicklook_batch, store

    db = connect(settings)
    settings = settings.replace(archive=archive)
    bumps = []

    def counted(where):
        def bump(database):
            bumps.append(where)
            return bump_generation(database)
        return bump

    monkeypatch.setattr(quicklook_batch, "bump_generation", counted("batch"))
    monkeypatch.setattr(store, "bump_generation", counted("store"))
    monkeypatch.setattr(quicklook_batch, "BUMP_EVERY", 1)
    before = generation(db)
    run = run_quicklooks(db, settings)
    assert run.recorded == 2 and bumps == ["batch", "batch"]  # one per batch of one
    assert generation(db) != before  # readers see the new images

    bumps.clear()
    monkeypatch.setattr(quicklook_batch, "BUMP_EVERY", 100)
    again = run_quicklooks(db, settings, force=True)
    assert again.recorded == 0 and bumps == []  # same paths: nothing recorded, no bump
    db[store.CATALOG].update_many({}, {"$unset": {"quicklook": ""}})
    third = run_quicklooks(db, settings)
    assert third.recorded == 2 and bumps == ["batch"]  # both in one batch


@pytest.mark.realdb
def test_every_file_of_an_observation_and_a_gzip_file_are_imaged_and_measured(real_settings,
                                                                            tmp_path):
    """Given the real archive's structures ingested without quicklooks, ``acsq quicklook``
    and ``acsq stats`` find every file the catalog names: an association's second crj
    sub-product (its own folder), a retransmission, a ``.fits.gz``; and a later forced run
    keeps every file's quicklook (issue 22)."""
    from acsq_mongo.images.statistics import file_statistics
    from acsq_mongo.ingest.run import run_ingest
    from acsq_mongo.ingest.stats_run import pending_stats, run_stats
    from acsq_mongo.sample.structures import write_structures

    root = tmp_path / "archive"
    write_structures(root, seed=4)
    settings = real_settings.replace(archive=root, workers=0)
    db = connect(settings)
    assert run_ingest(settings, root, quicklook=False).ok
    catalog = {d["_id"]: d for d in db[CATALOG].find()}
    image_keys = {_id: {k for k in d["file_paths"] if k.rpartition("_")[2] in (
        "raw", "flt", "flc", "crj", "crc", "drz", "drc")} for _id, d in catalog.items()}
    assert "js2201012_crj" in image_keys["js220101"] and "js2202aar_flt" in image_keys["js2202aa"]

    # acsq stats: every image file, by its file key, measured from its own file.
    assert {k for e in pending_stats(db) for k in e["todo"]} >= {"js2201012_crj", "crj"}
    stats_run = run_stats(db, settings)
    assert not stats_run.failures and pending_stats(db) == []
    for _id, path in (("js220101", "js22/js2201012/js2201012_crj.fits"),
                      ("js2202aa", "js22/js2202aar/js2202aar_flt.fits"),
                      ("js2203aa", "js22/js2203aaq/js2203aaq_flt.fits.gz")):
        key = next(k for k, p in catalog[_id]["file_paths"].items() if p == path)
        stored = db[CATALOG].find_one({"_id": _id})["stats"][key]
        assert stored == file_statistics(root / path, key.rpartition("_")[2]), path

    # acsq quicklook: an image per image file, named by its own rootname; no failure.
    run = run_quicklooks(db, settings)
    assert run.failures == []
    for _id, keys in image_keys.items():
        quicklook = db[CATALOG].find_one({"_id": _id}).get("quicklook") or {}
        assert keys <= set(quicklook), _id
        assert keys <= set(quicklook["preview"]), _id
    second = db[CATALOG].find_one({"_id": "js220101"})["quicklook"]["js2201012_crj"]
    assert second.endswith("js2201012_crj.jpg") and (settings.data / second).is_file()
    # A forced run keeps them all (it used to replace quicklook with the principal's alone).
    before = db[CATALOG].find_one({"_id": "js220101"})["quicklook"]
    assert run_quicklooks(db, settings, force=True).failures == []
    assert db[CATALOG].find_one({"_id": "js220101"})["quicklook"] == before
    db.client.close()
