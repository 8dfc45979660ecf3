"""A .fits and a .fits.gz of one rootname and filetype: given a folder holding both, when
ingested on the real server, the first is stored and the second reported as an error of stage
``duplicate`` with its reason, once, until it goes away (issue 22, "nothing lost")."""

from __future__ import annotations

import gzip
import os

from acsq_mongo.db.collections import INGEST_ERRORS, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.consistency import check_consistency
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive


def test_a_fits_and_a_fits_gz_of_one_file_are_one_stored_one_reported(tmp_path, real_settings):
    root = tmp_path / "archive"
    sample = make_sample_archive(root, 3, seed=5)
    r = next(r for r in sample.rootnames if "flt" in r.filetypes and "raw" in r.filetypes)
    flt = root / r.path / f"{r.rootname}_flt.fits"
    twice = flt.with_name(flt.name + ".gz")
    twice.write_bytes(gzip.compress(flt.read_bytes()))
    relpath = f"{r.path}/{twice.name}"
    settings = real_settings.replace(archive=root)
    db = connect(settings)

    first = run_ingest(settings, root, quicklook=False)
    assert first.failed == 1 and first.errors == 1 and first.ok is False
    doc = db[ROOTNAMES].find_one({"_id": r.rootname[:8]})
    assert doc["files"]["flt"]["name"] == flt.name and doc["file_paths"]["flt"].endswith(".fits")
    [error] = [e for e in doc["errors"] if e["stage"] == "duplicate"]
    assert error["path"] == relpath and error["filetype"] == "flt"
    assert f"{flt.name} is" in error["error"] and doc["n_errors"] == 1
    assert [e["path"] for e in db[INGEST_ERRORS].find()] == [relpath]

    # Unchanged: not reported again, still in the document.
    again = run_ingest(settings, root, quicklook=False)
    assert again.unchanged == len(sample.rootnames) and again.errors == 0
    assert db[INGEST_ERRORS].count_documents({}) == 1

    # Another file of the folder changes: the document is rewritten, the duplicate kept in it
    # and not reported twice.
    raw = root / r.path / f"{r.rootname}_raw.fits"
    stat = raw.stat()
    os.utime(raw, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = run_ingest(settings, root, quicklook=False)
    assert changed.files_read == 1 and changed.errors == 0
    doc = db[ROOTNAMES].find_one({"_id": r.rootname[:8]})
    assert [e["path"] for e in doc["errors"]] == [relpath]
    assert db[INGEST_ERRORS].count_documents({}) == 1

    # The duplicate removed: the observation has no error left.
    twice.unlink()
    gone = run_ingest(settings, root, quicklook=False)
    assert gone.ok and gone.ingested == 1
    doc = db[ROOTNAMES].find_one({"_id": r.rootname[:8]})
    assert doc["errors"] == [] and doc["n_errors"] == 0
    assert check_consistency(db, settings.data) == []
    db.client.close()
