"""store: one rootname written whole into `rootnames` and slim into `catalog`."""

import datetime

import pytest

from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, ROOTNAMES
from acsq_mongo.db.generation import generation
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.ingest.store import (
    DocumentTooLarge,
    catalog_entry,
    record_errors,
    set_quicklook,
    upsert_rootname,
)


def _document(**extra):
    doc = {f.name: None for f in PROMOTED_FIELDS}
    doc.update(
        _id="j94f05bg", rootname="j94f05bgq", detector="WFC", proposid=10368,
        date_obs=datetime.datetime(2005, 5, 1, 2, 53, 22), year=2005,
        path="j94f/j94f05bgq", filetypes=["flt"], files_sig="abc", n_errors=0,
        files={"flt": {"name": "j94f05bgq_flt.fits", "size": 10, "n_hdus": 7}},
        headers={"flt": {"0": {"DETECTOR": "WFC"}, "1": {"CCDGAIN": 2.0}}},
        quicklook={},
    )
    doc.update(extra)
    return doc


def test_upsert_writes_whole_and_slim_under_one_id(db):
    size = upsert_rootname(db, _document())
    assert size > 0
    whole = db[ROOTNAMES].find_one({"_id": "j94f05bg"})
    slim = db[CATALOG].find_one({"_id": "j94f05bg"})
    assert whole["headers"]["flt"]["1"]["CCDGAIN"] == 2.0
    assert "headers" not in slim and "files" not in slim
    assert slim["detector"] == "WFC" and slim["proposid"] == 10368
    assert slim["date_obs"] == datetime.datetime(2005, 5, 1, 2, 53, 22)
    assert set(slim) == set(catalog_entry(_document()))
    # A second upsert replaces, in both collections.
    upsert_rootname(db, _document(detector="HRC"))
    assert db[CATALOG].count_documents({}) == 1
    assert db[ROOTNAMES].find_one({"_id": "j94f05bg"})["detector"] == "HRC"
    assert db[CATALOG].find_one({"_id": "j94f05bg"})["detector"] == "HRC"


def test_a_document_over_16_mb_is_refused_and_the_stored_one_kept(db):
    upsert_rootname(db, _document())
    huge = _document(headers={"flt": {"0": {f"K{i}": "x" * 60 for i in range(300_000)}}})
    with pytest.raises(DocumentTooLarge, match="16 MB"):
        upsert_rootname(db, huge)
    assert db[ROOTNAMES].find_one({"_id": "j94f05bg"})["headers"]["flt"]["1"]["CCDGAIN"] == 2.0


def test_quicklook_paths_land_in_both_collections(db):
    upsert_rootname(db, _document())
    paths = {"flt": "jpegs/10368/j94f05bgq_flt.jpg", "thumbnail": "thumbnails/10368/x.thumb"}
    set_quicklook(db, "j94f05bg", paths)
    assert db[ROOTNAMES].find_one({"_id": "j94f05bg"})["quicklook"] == paths
    assert db[CATALOG].find_one({"_id": "j94f05bg"})["quicklook"] == paths


def test_generation_changes_on_every_write(db):
    assert generation(db) is None
    upsert_rootname(db, _document())
    first = generation(db)
    set_quicklook(db, "j94f05bg", {})
    assert generation(db) not in (None, first)


def test_errors_are_recorded_with_a_time(db):
    n = record_errors(db, [{"rootname": "j94f05bgq", "path": "p", "stage": "header", "error": "e"}])
    assert n == 1
    row = db[INGEST_ERRORS].find_one()
    assert row["error"] == "e" and isinstance(row["time"], datetime.datetime)
    assert record_errors(db, []) == 0
