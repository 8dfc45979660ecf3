"""discover: rootname folders and files of an archive; strays skipped, never errors."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from acsq_mongo.archive.discover import discover_archive, files_sig, scan_rootname_folder
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.ingest.changes import compare_with_catalog


def _touch(path: Path, content: bytes = b"x" * 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def messy_archive(tmp_path) -> Path:
    """An archive with the real layout and every kind of stray entry."""
    root = tmp_path / "archive"
    _touch(root / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits")
    _touch(root / "j94f" / "j94f05bgq" / "j94f05bgq_raw.fits")
    _touch(root / "j94f" / "j94f05bgq" / "README")                     # not .fits
    _touch(root / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits.gz")      # a duplicate flt
    _touch(root / "j94f" / "j94f05bgq" / "j94f05bgq_xyz.fits")         # unknown filetype
    _touch(root / "j94f" / "j94f05bgq" / "notes.fits")                 # wrong name
    _touch(root / "j94f" / "j94f05bgq" / "j94f05chq_flt.fits")         # other rootname
    _touch(root / "J8ZH" / "J8ZH21XVQ" / "J8ZH21XVQ_FLT.FITS")          # upper case counts
    _touch(root / "J8ZH" / "J8ZH21XVQ" / "j8zh21xvq_spt.fits")
    (root / "j8zh" / "j8zh99aaq").mkdir(parents=True)                   # empty folder
    _touch(root / "j8zh" / "jabc01abq" / "jabc01abq_flt.fits")          # wrong root4
    _touch(root / "j8zh" / "toolong123" / "toolong123_flt.fits")        # not 9 characters
    _touch(root / "README.txt")
    _touch(root / "j94f" / "stray.txt")
    return root


def test_layout_is_walked_and_strays_are_skipped_with_a_log_line(messy_archive, caplog):
    caplog.set_level(logging.INFO, logger="acsq_mongo")
    found = discover_archive(messy_archive)
    names = {f.rootname: sorted(f.files) for f in found.folders}
    assert names == {"j94f05bgq": ["flt", "raw"], "j8zh21xvq": ["flt", "spt"]}
    upper = next(f for f in found.folders if f.rootname == "j8zh21xvq")
    assert upper.files["flt"].name == "J8ZH21XVQ_FLT.FITS"
    assert upper.relpath == "J8ZH/J8ZH21XVQ" and upper.id == "j8zh21xv"
    skipped = {Path(p).name for p, _ in found.skipped}
    assert {"README", "j94f05bgq_xyz.fits", "notes.fits",
            "j94f05chq_flt.fits", "j8zh99aaq", "jabc01abq", "toolong123", "README.txt",
            "stray.txt"} <= skipped
    assert found.problems == []
    # A second flt (.fits and .fits.gz) is no stray: it is listed for the ingest to report.
    folder = next(f for f in found.folders if f.rootname == "j94f05bgq")
    assert [d.name for d in folder.duplicates] == ["j94f05bgq_flt.fits.gz"]
    assert folder.files["flt"].name == "j94f05bgq_flt.fits"
    assert "j94f05bgq_flt.fits.gz" not in skipped
    # Every skip is a log line, at INFO: never an error.
    for name in ("README.txt", "notes.fits", "jabc01abq"):
        assert any(name in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_files_keep_size_and_mtime(messy_archive):
    path = messy_archive / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits"
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    folder = scan_rootname_folder(path.parent, messy_archive)
    info = folder.files["flt"]
    assert info.size == 10 and info.mtime_ns == 1_700_000_000_123_456_789
    assert info.mtime.isoformat() == "2023-11-14T22:13:20.123000"
    assert list(folder.files) == ["raw", "flt"]  # FILETYPES order


def test_files_sig_changes_with_any_file(messy_archive):
    folder = messy_archive / "j94f" / "j94f05bgq"
    before = scan_rootname_folder(folder, messy_archive).files_sig
    assert scan_rootname_folder(folder, messy_archive).files_sig == before
    path = folder / "j94f05bgq_flt.fits"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    touched = scan_rootname_folder(folder, messy_archive).files_sig
    assert touched != before
    _touch(folder / "j94f05bgq_spt.fits")
    assert scan_rootname_folder(folder, messy_archive).files_sig not in (before, touched)
    assert files_sig([]) == files_sig([])


def test_a_dangling_symlink_is_listed_with_its_stat_error(messy_archive):
    link = messy_archive / "j94f" / "j94f05bgq" / "j94f05bgq_spt.fits"
    link.symlink_to(messy_archive / "nowhere.fits")
    folder = scan_rootname_folder(link.parent, messy_archive)
    assert "cannot stat" in folder.files["spt"].stat_error


def test_selection_by_rootname_or_id_and_missing_ones(messy_archive):
    found = discover_archive(messy_archive, ["J94F05BGQ", "j8zh21xv", "jzzz01aaq"])
    assert [f.rootname for f in found.folders] == ["j8zh21xvq", "j94f05bgq"]
    assert len(found.problems) == 1 and "jzzz01aaq is not in the archive" in found.problems[0][1]


def test_a_retransmission_is_merged_into_its_observation_with_nothing_dropped(messy_archive):
    # A retransmitted exposure (...q, then ...r) shares the first 8 characters: both files
    # are kept, the first under its filetype, the second under its own name.
    _touch(messy_archive / "j94f" / "j94f05bgr" / "j94f05bgr_flt.fits")
    _touch(messy_archive / "j94f" / "j94f05bgr" / "j94f05bgr_spt.fits")
    found = discover_archive(messy_archive)
    assert found.problems == []
    folder = next(f for f in found.folders if f.id == "j94f05bg")
    assert folder.rootname == "j94f05bgq" and folder.rootnames == ["j94f05bgq", "j94f05bgr"]
    assert set(folder.files) == {"raw", "flt", "spt", "j94f05bgr_flt"}
    assert folder.files["flt"].rootname == "j94f05bgq"
    assert folder.files["j94f05bgr_flt"].relpath == "j94f/j94f05bgr"
    assert folder.files["spt"].rootname == "j94f05bgr"     # the only spt: its filetype key
    # Asking for one rootname brings its whole observation.
    asked = discover_archive(messy_archive, ["j94f05bgr"])
    assert asked.problems == [] and asked.folders[0].rootnames == ["j94f05bgq", "j94f05bgr"]


def test_a_duplicate_is_kept_through_a_merge_and_changes_files_sig(tmp_path):
    first = _touch(tmp_path / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits")
    second = _touch(tmp_path / "j94f" / "j94f05bgr" / "j94f05bgr_flt.fits")
    before = discover_archive(tmp_path).folders[0].files_sig
    _touch(second.with_name("j94f05bgr_flt.fits.gz"))           # the retransmission's, twice
    [folder] = discover_archive(tmp_path).folders
    assert set(folder.files) == {"flt", "j94f05bgr_flt"} and first.name == "j94f05bgq_flt.fits"
    [twice] = folder.duplicates
    assert twice.name == "j94f05bgr_flt.fits.gz" and twice.relpath == "j94f/j94f05bgr"
    assert folder.key_of(twice) == "j94f05bgr_flt"
    assert folder.files_sig != before      # a duplicate added (or gone) is a change


def test_a_gzip_file_is_found_under_its_own_name(tmp_path):
    _touch(tmp_path / "j8cw" / "j8cw03abq" / "j8cw03abq_flt.fits.gz")
    folder = discover_archive(tmp_path).folders[0]
    assert folder.files["flt"].name == "j8cw03abq_flt.fits.gz" and folder.files["flt"].compressed


def test_an_archive_of_nothing(tmp_path):
    found = discover_archive(tmp_path)
    assert found.folders == [] and found.problems == []


def test_new_changed_and_unchanged_against_the_catalog(db, messy_archive):
    found = discover_archive(messy_archive)
    a, b = found.folders
    db[CATALOG].insert_many([
        {"_id": a.id, "files_sig": a.files_sig},
        {"_id": "jold01abq"[:8], "files_sig": "x"},
    ])
    changes = compare_with_catalog(found.folders, db)
    assert [f.rootname for f in changes.unchanged] == [a.rootname]
    assert [f.rootname for f in changes.new] == [b.rootname]
    db[CATALOG].update_one({"_id": a.id}, {"$set": {"files_sig": "other"}})
    changes = compare_with_catalog(found.folders, db)
    assert [f.rootname for f in changes.changed] == [a.rootname]
