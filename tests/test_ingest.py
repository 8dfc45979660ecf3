"""Ingest: given an archive like this, when ingested, the analyst finds this."""

from __future__ import annotations

import datetime
import logging
import os
import shutil
from pathlib import Path

import astropy
import numpy as np
import pytest
from astropy.io import fits

from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, META, PROPOSALS, ROOTNAMES
from acsq_mongo.db.keys import unescape_key
from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import FILETYPES, IMAGE_FILETYPES
from acsq_mongo.ingest.rootname import ingest_rootname
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.store import MAX_DOCUMENT_BYTES, catalog_entry
from acsq_mongo.ingest.summaries import refresh_summaries
from acsq_mongo.sample import plan_rootname, write_rootname

ASTROPY = Path(astropy.__file__).parent
REAL_FLT = ASTROPY / "wcs" / "tests" / "data" / "j94f05bgq_flt.fits"
REAL_STIS = ASTROPY / "io" / "fits" / "tests" / "data" / "o4sp040b0_raw.fits"


def _astropy_headers(path: Path) -> list[dict]:
    """What astropy reads: the first value of each keyword, per HDU."""
    out = []
    with fits.open(path) as hdul:
        for hdu in hdul:
            values = {}
            for card in hdu.header.cards:
                if card.keyword not in ("COMMENT", "HISTORY", "") and card.keyword not in values:
                    values[card.keyword] = card.value
            values["HISTORY"] = [str(h) for h in hdu.header.get("HISTORY", [])]
            out.append(values)
    return out


def _doc(db, rootname: str) -> dict:
    return db[ROOTNAMES].find_one({"_id": rootname[:8]})


def _file(archive, r, filetype: str) -> Path:
    return Path(archive.root) / r.path / f"{r.rootname}_{filetype}.fits"


def test_ingest_a_sample_archive_and_find_what_the_generator_wrote(settings, db, sample_archive,
                                                                   tmp_path):
    types = tmp_path / "proposal_types.csv"
    pairs = {(r.promoted["proposid"], r.promoted["proposal_type"])
             for r in sample_archive.rootnames}
    types.write_text("proposid,proposal_type\n" + "".join(f"{p},{t}\n" for p, t in pairs))
    summary = run_ingest(settings.replace(proposal_types=types), sample_archive.root,
                         quicklook=False)
    assert summary.ok and summary.failed == 0 and summary.errors == 0
    assert summary.ingested == len(sample_archive.rootnames) == 32
    assert summary.files == summary.files_read == sample_archive.n_files
    assert summary.skipped == 3  # README.txt, sample_manifest.json, proposal_types.csv: logged
    assert db[ROOTNAMES].count_documents({}) == db[CATALOG].count_documents({}) == 32

    for r in sample_archive.rootnames:
        doc = _doc(db, r.rootname)
        for name, value in r.promoted.items():
            if name == "date_obs":
                value = datetime.datetime.fromisoformat(value)
            if name in ("ra_targ", "dec_targ") and r.promoted["obstype"] == "INTERNAL":
                value = None  # an internal frame points nowhere on the sky (RA_TARG 0 in FITS)
            assert doc[name] == value, (r.rootname, name)
            assert type(doc[name]) is type(value), (r.rootname, name)
        assert doc["path"] == r.path and doc["year"] == doc["date_obs"].year
        assert doc["filetypes"] == r.filetypes
        assert {ft: f["n_hdus"] for ft, f in doc["files"].items()} == r.n_hdus
        assert doc["errors"] == [] and doc["n_errors"] == 0 and doc["header_nulls"] == {}
        for filetype in r.filetypes:
            expected = _astropy_headers(_file(sample_archive, r, filetype))
            stored = doc["headers"][filetype]
            assert len(stored) == len(expected)
            for ext, values in enumerate(expected):
                mine = {unescape_key(k): v for k, v in stored[str(ext)].items()}
                for keyword, value in values.items():
                    if keyword == "HISTORY" and not value:
                        continue
                    assert mine[keyword] == value, (r.rootname, filetype, ext, keyword)
                    assert type(mine[keyword]) is type(value), (r.rootname, filetype, keyword)
        slim = db[CATALOG].find_one({"_id": doc["_id"]})
        assert slim == catalog_entry(doc)

    # The analyst's questions are single queries now.
    with_flc = {r.rootname for r in sample_archive.rootnames if "flc" in r.filetypes}
    assert {d["rootname"] for d in db[CATALOG].find({"filetypes": "flc"})} == with_flc
    proposals = {r.promoted["proposid"] for r in sample_archive.rootnames}
    assert {p["proposid"] for p in db[PROPOSALS].find()} == proposals
    assert all(p["_id"] == str(p["proposid"]) for p in db[PROPOSALS].find())
    assert sum(p["n_rootnames"] for p in db[PROPOSALS].find()) == 32
    last = db[META].find_one({"_id": "last_ingest"})
    assert last["ingested"] == 32 and last["archive"] == str(sample_archive.root)


def test_a_real_acs_wfc_flt_ingests_with_its_real_values(settings, db, tmp_path):
    archive = tmp_path / "archive"
    (archive / "j94f" / "j94f05bgq").mkdir(parents=True)
    shutil.copy2(REAL_FLT, archive / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits")
    summary = run_ingest(settings, archive, quicklook=False)
    assert summary.ok and summary.ingested == 1
    doc = _doc(db, "j94f05bgq")
    assert doc["detector"] == "WFC" and doc["proposid"] == 10368
    assert doc["targname"] == "NGC104" and doc["filter1"] == "F606W"
    assert doc["exptime"] == 400.0 and doc["subarray"] is False
    assert doc["date_obs"] == datetime.datetime(2005, 3, 7, 6, 51, 26)
    assert doc["pr_inv_l"] == "Riess" and doc["ra_targ"] == pytest.approx(5.655)
    assert doc["files"]["flt"]["n_hdus"] == 7 and len(doc["headers"]["flt"]) == 7
    assert doc["headers"]["flt"]["4"]["EXTNAME"] == "SCI"
    assert len(doc["headers"]["flt"]["0"]["HISTORY"]) > 10


def test_a_stis_file_is_refused_with_a_clear_error(settings, db, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="acsq_mongo")
    archive = tmp_path / "archive"
    for source, folder in ((REAL_STIS, "o4sp/o4sp040b0"), (REAL_FLT, "j94f/j94f05bgq")):
        (archive / folder).mkdir(parents=True)
        shutil.copy2(source, archive / folder / f"{Path(folder).name}_{source.stem[-3:]}.fits")
    summary = run_ingest(settings, archive, quicklook=False)
    assert not summary.ok and summary.failed == 1 and summary.ingested == 1
    assert [d["_id"] for d in db[ROOTNAMES].find()] == ["j94f05bg"]
    error = db[INGEST_ERRORS].find_one({"rootname": "o4sp040b0"})
    assert error["stage"] == "instrument" and "not an ACS file" in error["error"]
    assert "STIS" in error["error"] and error["path"] == "o4sp/o4sp040b0/o4sp040b0_raw.fits"
    assert isinstance(error["time"], datetime.datetime)
    assert any("not an ACS file" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)


def test_reingest_changes_nothing_but_last_ingest_date(settings, db, sample_archive):
    first = run_ingest(settings, sample_archive.root, quicklook=False)
    before = {d["_id"]: d for d in db[ROOTNAMES].find()}
    catalog_before = {d["_id"]: d for d in db[CATALOG].find()}
    second = run_ingest(settings, sample_archive.root, quicklook=False)
    assert first.ingested == 32 and second.unchanged == 32 and second.ok
    assert second.files_read == 0 and second.files == first.files
    for _id, doc in ((d["_id"], d) for d in db[ROOTNAMES].find()):
        old = before[_id]
        assert doc["last_ingest_date"] >= old["last_ingest_date"]
        assert {k: v for k, v in doc.items() if k != "last_ingest_date"} == {
            k: v for k, v in old.items() if k != "last_ingest_date"}
    for doc in db[CATALOG].find():
        old = catalog_before[doc["_id"]]
        assert {k: v for k, v in doc.items() if k != "last_ingest_date"} == {
            k: v for k, v in old.items() if k != "last_ingest_date"}
    assert db[INGEST_ERRORS].count_documents({}) == 0


def test_a_rootname_whose_write_the_server_refuses_fails_alone(settings, db, sample_archive):
    # The writes go in bulk; a unique index makes the server refuse one rootname's.
    first = sample_archive.rootnames[0]
    db[ROOTNAMES].create_index("path", unique=True, name="test_unique_path")
    db[ROOTNAMES].insert_one({"_id": "zzzz0000", "path": first.path})
    summary = run_ingest(settings, sample_archive.root, quicklook=False)
    assert summary.failed == 1 and summary.ingested == 31
    assert db[CATALOG].find_one({"_id": first.rootname[:8]}) is None
    assert db[CATALOG].count_documents({}) == 31
    error = db[INGEST_ERRORS].find_one({"rootname": first.rootname})
    assert error["stage"] == "ingest" and "duplicate key" in error["error"].lower()


def _overwrite_string_in_place(path: Path, keyword: str, letter: bytes) -> None:
    """Overwrite a string value's letters without changing the file's size or mtime."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    start = data.index(keyword.ljust(8).encode() + b"= '") + 11
    end = data.index(b"'", start)
    data[start:end] = letter * (end - start)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_only_changed_files_are_read_again_and_force_reads_all(settings, db, sample_archive_copy):
    archive = sample_archive_copy
    settings = settings.replace(archive=archive.root)
    r = next(r for r in archive.rootnames if {"raw", "flt", "spt"} <= set(r.filetypes)
             and r.promoted["obstype"] != "INTERNAL")
    folder = archive.root / r.path
    first = ingest_rootname(db, settings, folder, quicklook=False)
    assert first.status == "ingested" and first.files_read == len(r.filetypes)
    created = _doc(db, r.rootname)["first_ingest_date"]

    # A changed file (new mtime and a new keyword) ...
    fits.setval(_file(archive, r, "flt"), "ACSQTEST", value=42, ext=1)
    # ... and a file changed behind our back (same size and mtime).
    _overwrite_string_in_place(_file(archive, r, "raw"), "TARGNAME", b"X")

    again = ingest_rootname(db, settings, folder, quicklook=False)
    assert again.status == "ingested" and again.files_read == 1
    assert again.files_kept == len(r.filetypes) - 1
    doc = _doc(db, r.rootname)
    assert doc["headers"]["flt"]["1"]["ACSQTEST"] == 42
    assert doc["headers"]["raw"]["0"]["TARGNAME"] == r.promoted["targname"]  # not re-read
    assert doc["first_ingest_date"] == created

    forced = ingest_rootname(db, settings, folder, force=True, quicklook=False)
    assert forced.files_read == len(r.filetypes) and forced.files_kept == 0
    doc = _doc(db, r.rootname)
    assert doc["headers"]["raw"]["0"]["TARGNAME"].startswith("XXX")
    assert doc["targname"].startswith("XXX") and doc["first_ingest_date"] == created
    assert ingest_rootname(db, settings, folder, quicklook=False).status == "unchanged"


def test_truncated_garbage_empty_and_unreadable_files_are_reported_and_nothing_else_lost(
        settings, db, sample_archive_copy, caplog):
    caplog.set_level(logging.INFO, logger="acsq_mongo")
    archive = sample_archive_copy
    r = next(r for r in archive.rootnames
             if {"raw", "flt", "flc", "spt", "drz"} <= set(r.filetypes))
    flt = _file(archive, r, "flt")
    flt.write_bytes(flt.read_bytes()[:-20000])                        # truncated
    _file(archive, r, "spt").write_bytes(b"<html>Gateway Timeout</html>" * 200)  # not FITS
    _file(archive, r, "raw").write_bytes(b"")                         # empty
    drz = _file(archive, r, "drz")
    drz.unlink()
    drz.symlink_to(archive.root / "gone" / "drz.fits")                # unreadable

    summary = run_ingest(settings, archive.root, quicklook=False)
    assert not summary.ok and summary.failed == 1 and summary.errors == 4
    assert summary.ingested == len(archive.rootnames) - 1

    doc = _doc(db, r.rootname)
    by_type = {e["filetype"]: e for e in doc["errors"]}
    assert set(by_type) == {"raw", "flt", "spt", "drz"} and doc["n_errors"] == 4
    assert "empty file" in by_type["raw"]["error"]
    assert "truncated" in by_type["flt"]["error"]
    assert "not a FITS file" in by_type["spt"]["error"]
    assert "cannot stat" in by_type["drz"]["error"]
    for filetype, error in by_type.items():
        assert error["path"] == f"{r.path}/{r.rootname}_{filetype}.fits"
        assert error["stage"] == "header" and isinstance(error["time"], datetime.datetime)
    # The rest of the rootname is there: the good flc, and the flt headers before the damage.
    assert len(doc["headers"]["flc"]) == r.n_hdus["flc"]
    assert "0" in doc["headers"]["flt"] and doc["detector"] == r.promoted["detector"]
    assert doc["proposid"] == r.promoted["proposid"]   # from flt: raw is empty
    assert set(doc["filetypes"]) == set(r.filetypes)
    rows = list(db[INGEST_ERRORS].find({"rootname": r.rootname}))
    assert len(rows) == 4 and all(isinstance(row["time"], datetime.datetime) for row in rows)
    # ... and the rest of the run.
    assert db[CATALOG].count_documents({"n_errors": 0}) == len(archive.rootnames) - 1
    errors_logged = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.ERROR]
    for filetype in by_type:
        assert any(f"{r.rootname}_{filetype}.fits" in m for m in errors_logged)

    # Unchanged bad files are not reported again on the next run.
    again = run_ingest(settings, archive.root, quicklook=False)
    assert again.unchanged == len(archive.rootnames) and again.errors == 0
    assert db[INGEST_ERRORS].count_documents({}) == 4
    assert _doc(db, r.rootname)["n_errors"] == 4


def test_a_file_that_goes_bad_keeps_its_stored_headers(settings, db, sample_archive_copy):
    archive = sample_archive_copy
    r = next(r for r in archive.rootnames if "raw" in r.filetypes)
    run_ingest(settings, archive.root, rootnames=[r.rootname], quicklook=False)
    stored = _doc(db, r.rootname)["headers"]["raw"]
    _file(archive, r, "raw").write_bytes(b"\0" * 1000)
    summary = run_ingest(settings, archive.root, rootnames=[r.rootname], quicklook=False)
    assert summary.failed == 1
    doc = _doc(db, r.rootname)
    assert doc["headers"]["raw"] == stored
    assert doc["targname"] == r.promoted["targname"]
    assert "previous ingest kept" in doc["errors"][0]["error"]


def _big_header_file(path: Path, n_history: int) -> None:
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8",
             "NAXIS   =                    0", "INSTRUME= 'ACS     '",
             "DETECTOR= 'WFC     '", "PROPOSID=                10368"]
    cards += [f"HISTORY step {i:07d} " + "x" * 50 for i in range(n_history)]
    cards.append("END")
    raw = "".join(c.ljust(80) for c in cards).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw + b" " * (-len(raw) % 2880))


def test_a_document_over_16_mb_is_an_error_never_silent(settings, db, tmp_path):
    archive = tmp_path / "archive"
    flt = archive / "jbig" / "jbig01aaq" / "jbig01aaq_flt.fits"
    _big_header_file(flt, 10)
    assert run_ingest(settings, archive, quicklook=False).ok
    _big_header_file(flt, 230_000)  # 18 MB of HISTORY
    summary = run_ingest(settings, archive, quicklook=False)
    assert not summary.ok and summary.failed == 1
    error = db[INGEST_ERRORS].find_one({"stage": "store"})
    assert "16 MB" in error["error"] and error["rootname"] == "jbig01aaq"
    doc = _doc(db, "jbig01aaq")   # the stored version is kept
    assert len(doc["headers"]["flt"]["0"]["HISTORY"]) == 10


def test_a_wfc_rootname_with_every_filetype(real_settings, real_db, tmp_path):
    archive = tmp_path / "archive"
    r = write_rootname(archive, plan_rootname("jall01aaq", "WFC", FILETYPES, seed=1))
    summary = run_ingest(real_settings, archive, quicklook=False)
    assert summary.ok and summary.files == 11
    doc = _doc(real_db, r.rootname)
    assert doc["filetypes"] == list(FILETYPES)
    assert 100_000 < doc["doc_bytes"] < MAX_DOCUMENT_BYTES / 10
    print(f"WFC rootname with every filetype: {doc['doc_bytes'] / 1000:.0f} kB")
    # ~960 keywords in the drz primary header just work, and every one is queryable.
    assert len(doc["headers"]["drz"]["0"]) > 900
    assert real_db[ROOTNAMES].count_documents({"headers.drz.0.D001KERN": {"$exists": True}}) == 1
    # Record-valued keywords, escaped: D2IM1.EXTVER is stored as D2IM1%2EEXTVER.
    assert "DP1%2EEXTVER" in doc["headers"]["flt"]["1"]
    value = doc["headers"]["flt"]["1"]["DP1%2EEXTVER"]
    assert real_db[ROOTNAMES].count_documents({"headers.flt.1.DP1%2EEXTVER": value}) == 1


def test_odd_headers_are_read_leniently_and_stored(settings, db, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="acsq_mongo")
    archive = tmp_path / "archive"
    path = archive / "jodd" / "jodd01aaq" / "jodd01aaq_raw.fits"
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8",
             "NAXIS   =                    0", "INSTRUME= 'ACS     '", "DETECTOR= 'HRC     '",
             "TARGNAME= 'CAF\xc9-FIELD'", "EXPTIME =                  NaN",
             "PHOTFLAM=", "BADCARD =  not a value", "$WEIRD  = 1", "END"]
    raw = "".join(c.ljust(80) for c in cards).encode("latin-1")
    path.parent.mkdir(parents=True)
    path.write_bytes(raw + b" " * (-len(raw) % 2880))
    summary = run_ingest(settings, archive, quicklook=False)
    assert summary.ok
    doc = _doc(db, "jodd01aaq")
    primary = doc["headers"]["raw"]["0"]
    assert doc["targname"] == "CAF\xc9-FIELD" and doc["exptime"] is None
    assert primary["BADCARD"] == "not a value" and primary["PHOTFLAM"] is None
    assert doc["header_nulls"] == {"raw": {"0": {"EXPTIME": "nan", "PHOTFLAM": "undefined"}}}
    assert "%24WEIRD" in primary
    warnings = [r.getMessage() for r in caplog.records]
    assert any("non-ASCII" in w for w in warnings) and any("BADCARD" in w for w in warnings)


def test_the_run_log_tells_the_story(mock_settings, sample_archive):
    summary = run_ingest(mock_settings, sample_archive.root, quicklook=False)
    text = summary.log_path.read_text()
    assert summary.log_path.parent == mock_settings.data / "logs"
    lines = text.splitlines()
    assert " INFO: User: " in lines[0]
    assert "astropy Version" in text and "pymongo Version" in text
    first = sample_archive.rootnames[0].rootname
    for expected in ("Gathering files to ingest", f"{first}: Begin ingestion",
                     f"{first}: Updated rootnames and catalog", f"{first}: End ingestion",
                     "sample_manifest.json", "Updated proposals", "Summary: 32 rootnames"):
        assert expected in text, expected
    assert all(line[:2].isdigit() and line[2] == "/" for line in lines)


def test_selected_rootnames_only(settings, db, sample_archive):
    wanted = [r.rootname for r in sample_archive.rootnames[:2]]
    summary = run_ingest(settings, sample_archive.root, rootnames=[wanted[0], wanted[1][:8]],
                         quicklook=False)
    assert summary.ok and summary.ingested == 2
    assert sorted(d["rootname"] for d in db[CATALOG].find()) == sorted(wanted)
    missing = run_ingest(settings, sample_archive.root, rootnames=["jzzz01aaq"],
                         quicklook=False)
    assert not missing.ok and "jzzz01aaq is not in the archive" in missing.problems[0]


def test_no_archive_is_a_clear_error(mock_settings, tmp_path):
    with pytest.raises(AcsqError, match="no archive"):
        run_ingest(mock_settings)
    with pytest.raises(AcsqError, match="is not a folder"):
        run_ingest(mock_settings, tmp_path / "missing")


def test_ingest_rootname_takes_a_folder_path(mock_settings, sample_archive):
    r = sample_archive.rootnames[0]
    from acsq_mongo.db.connection import connect

    db = connect(mock_settings)
    settings = mock_settings.replace(archive=sample_archive.root)
    result = ingest_rootname(db, settings, str(sample_archive.root / r.path), quicklook=False)
    assert result.status == "ingested" and result.stored
    assert _doc(db, r.rootname)["path"] == r.path


def test_cli(monkeypatch, tmp_path, sample_archive_copy, capsys):
    archive = sample_archive_copy.root
    monkeypatch.setenv("ACSQ_MONGO_URI", f"mongomock://cli-{tmp_path.name}")
    monkeypatch.setenv("ACSQ_DATA", str(tmp_path / "var"))
    monkeypatch.setenv("ACSQ_ARCHIVE", str(archive))
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    assert main(["ingest", "--no-quicklook"]) == 0     # ARCHIVE from ACSQ_ARCHIVE
    out = capsys.readouterr().out
    assert "32 rootnames" in out and "32 ingested" in out and "log:" in out
    r = sample_archive_copy.rootnames[0]
    first = sorted(r.filetypes)[0]
    _file(sample_archive_copy, r, first).write_bytes(b"garbage")
    assert main(["ingest", str(archive), "--no-quicklook"]) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and f"failed: {r.path}/" in captured.err
    assert main(["ingest", str(archive), "--no-quicklook", "--rootnames", "jzzz01aaq"]) == 1
    assert "not in the archive" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path / "nowhere")]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_quicklooks_are_made_and_recorded(real_settings, real_db, sample_archive):
    settings = real_settings
    first = run_ingest(settings, sample_archive.root, quicklook=False)
    assert first.quicklooks_made == 0
    assert "quicklook" not in _doc(real_db, sample_archive.rootnames[0].rootname)
    # An unchanged archive, ingested again with quicklooks: the images are made and recorded.
    second = run_ingest(settings, sample_archive.root)
    assert second.unchanged == 32 and second.ok
    images = {r.rootname: [ft for ft in IMAGE_FILETYPES if ft in r.filetypes]
              for r in sample_archive.rootnames}
    assert second.quicklooks_made == sum(len(v) for v in images.values())
    for r in sample_archive.rootnames:
        doc = _doc(real_db, r.rootname)
        slim = real_db[CATALOG].find_one({"_id": r.rootname[:8]})
        assert slim.get("quicklook") == doc.get("quicklook")
        assert ("quicklook" in doc) == bool(images[r.rootname])
        for filetype in images[r.rootname]:
            jpeg = settings.data / doc["quicklook"][filetype]
            assert jpeg.is_file() and jpeg.read_bytes()[:2] == b"\xff\xd8"
            assert doc["quicklook"][filetype] == (
                f"jpegs/{r.promoted['proposid']}/{r.rootname}_{filetype}.jpg")
        if {"flt", "drz", "drc"} & set(r.filetypes):
            assert (settings.data / doc["quicklook"]["thumbnail"]).is_file()
    # Fresh images are left alone; a deleted one is made again.
    r = next(r for r in sample_archive.rootnames if "flt" in r.filetypes)
    (settings.data / _doc(real_db, r.rootname)["quicklook"]["flt"]).unlink()
    third = run_ingest(settings, sample_archive.root)
    assert third.quicklooks_made == 1 and third.unchanged == 32
    assert (settings.data / _doc(real_db, r.rootname)["quicklook"]["flt"]).is_file()


def test_a_new_ingest_with_quicklook_records_paths_in_the_same_write(settings, db,
                                                                   sample_archive):
    r = next(r for r in sample_archive.rootnames if "flt" in r.filetypes)
    summary = run_ingest(settings, sample_archive.root, rootnames=[r.rootname])
    assert summary.ok and summary.quicklooks_made >= 1
    doc = _doc(db, r.rootname)
    assert (settings.data / doc["quicklook"]["flt"]).is_file()
    assert db[CATALOG].find_one({"_id": doc["_id"]})["quicklook"] == doc["quicklook"]


def _flt_without_sci(tmp_path, proposid=None):
    """An archive of one ACS flt (jbad01aaq) whose headers are fine but which has no
    SCI extension to draw; return its root."""
    archive = tmp_path / "archive"
    path = archive / "jbad" / "jbad01aaq" / "jbad01aaq_flt.fits"
    path.parent.mkdir(parents=True)
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((8, 8), np.float32),
                                                          name="ERR")])
    hdul[0].header["INSTRUME"] = "ACS"
    if proposid is not None:
        hdul[0].header["PROPOSID"] = proposid
    hdul.writeto(path)
    return archive


def test_a_bad_image_is_a_quicklook_error_and_not_retried_while_unchanged(settings, db,
                                                                         tmp_path):
    archive = _flt_without_sci(tmp_path, proposid=12345)
    first = run_ingest(settings, archive)
    assert first.failed == 1
    doc = _doc(db, "jbad01aaq")
    assert [e["stage"] for e in doc["errors"]] == ["quicklook"] and doc["headers"]["flt"]
    again = run_ingest(settings, archive)
    assert again.unchanged == 1 and again.errors == 0
    assert db[INGEST_ERRORS].count_documents({}) == 1


def test_a_bad_image_found_on_an_unchanged_rootname_is_recorded(settings, db, tmp_path):
    archive = _flt_without_sci(tmp_path)
    assert run_ingest(settings, archive, quicklook=False).ok
    second = run_ingest(settings, archive)     # files unchanged, images tried now
    assert second.failed == 1 and second.errors == 1
    doc = _doc(db, "jbad01aaq")
    assert [e["stage"] for e in doc["errors"]] == ["quicklook"] and doc["n_errors"] == 1
    assert db[CATALOG].find_one({"_id": "jbad01aa"})["n_errors"] == 1
    assert db[INGEST_ERRORS].count_documents({"stage": "quicklook"}) == 1
    third = run_ingest(settings, archive)
    assert third.unchanged == 1 and third.errors == 0 and third.ok


def test_proposals_follow_the_catalog(settings, db, sample_archive):
    run_ingest(settings, sample_archive.root, quicklook=False)
    by_proposal: dict[int, list] = {}
    for r in sample_archive.rootnames:
        by_proposal.setdefault(r.promoted["proposid"], []).append(r)
    for pid, members in by_proposal.items():
        p = db[PROPOSALS].find_one({"_id": str(pid)})
        dates = [datetime.datetime.fromisoformat(m.promoted["date_obs"]) for m in members]
        assert p["n_rootnames"] == len(members)
        assert p["detectors"] == sorted({m.promoted["detector"] for m in members})
        assert p["date_min"] == min(dates) and p["date_max"] == max(dates)
        assert set(p["targnames"]) == {m.promoted["targname"] for m in members}
        assert p["pr_inv_l"] == members[0].promoted["pr_inv_l"]
    assert refresh_summaries(db)["written"] == 0        # nothing changed: nothing written
    pid, members = next(iter(by_proposal.items()))
    db[CATALOG].delete_many({"proposid": pid})
    counts = refresh_summaries(db)
    assert counts["removed"] == 1 and db[PROPOSALS].find_one({"_id": str(pid)}) is None


def test_a_changed_file_gets_new_images_even_if_its_mtime_went_back(settings, db,
                                                                    sample_archive_copy):
    """A file replaced by a copy that keeps an old mtime (rsync -a) is still read
    again, and its images made again, because its size changed."""
    r = next(r for r in sample_archive_copy.rootnames if "flt" in r.filetypes)
    assert run_ingest(settings, sample_archive_copy.root, rootnames=[r.rootname]).ok
    jpeg = settings.data / _doc(db, r.rootname)["quicklook"]["flt"]
    before = jpeg.read_bytes()
    flt = _file(sample_archive_copy, r, "flt")
    with fits.open(flt) as hdul:
        hdul[1].data = hdul[1].data[::-1, ::-1] * 3.0 + 100.0   # new pixels
        hdul[0].header["HISTORY"] = "reprocessed"                 # and a bigger header
        hdul.writeto(flt.with_suffix(".new"))
    flt.with_suffix(".new").replace(flt)
    old = jpeg.stat().st_mtime - 3600
    os.utime(flt, (old, old))   # older than the JPEG
    again = run_ingest(settings, sample_archive_copy.root, rootnames=[r.rootname])
    assert again.ok and again.ingested == 1
    assert jpeg.read_bytes() != before


def test_a_forced_rerun_over_unchanged_bad_files_writes_what_a_first_ingest_writes(
        settings, db, sample_archive_copy):
    """A --force rerun killed half-way leaves some rootnames forced and some not: both the same.

    The chaos script found them different: the forced read of an unchanged truncated file
    said "headers from the previous ingest kept", the first one did not.
    """
    archive = sample_archive_copy
    r = next(r for r in archive.rootnames if "flt" in r.filetypes)
    flt = _file(archive, r, "flt")
    flt.write_bytes(flt.read_bytes()[:-20000])
    run_ingest(settings, archive.root, rootnames=[r.rootname], quicklook=False)
    first = _doc(db, r.rootname)
    run_ingest(settings, archive.root, rootnames=[r.rootname], quicklook=False, force=True)
    forced = _doc(db, r.rootname)
    assert "truncated" in forced["errors"][0]["error"]
    for doc in (first, forced):
        del doc["last_ingest_date"]
        for error in doc["errors"]:
            del error["time"]
    assert forced == first
