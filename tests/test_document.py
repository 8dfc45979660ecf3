"""document: the promoted typed fields, the files and the whole rootname document."""

from __future__ import annotations

import datetime
from pathlib import Path

import bson
import pytest

from acsq_mongo.archive.discover import FileInfo, RootnameFolder
from acsq_mongo.errors import ConfigError
from acsq_mongo.fields import PROMOTED_FIELDS
from acsq_mongo.ingest.document import (
    DocumentParts,
    build_document,
    build_document_bson,
    encode_document,
    parse_date_obs,
    promoted_fields,
    to_type,
)
from acsq_mongo.ingest.proposal_types import load_proposal_types

RAW = {"DETECTOR": "WFC", "PROPOSID": 10368, "TARGNAME": "NGC104", "FILTER1": "F606W",
       "EXPTIME": 400.0, "DATE-OBS": "2005-03-07", "TIME-OBS": "06:51:26",
       "EXPSTART": 53436.28571938, "SUBARRAY": False, "APERTURE": "WFC"}


def test_promoted_fields_come_from_the_best_file_first():
    headers = {
        "flt": {"0": {**RAW, "TARGNAME": "FROM-FLT", "EXPFLAG": "NORMAL"}},
        "raw": {"0": dict(RAW)},
        "jit": {"0": {"PROPOSID": 1}},
    }
    fields = promoted_fields(headers, "j94f05bgq")
    assert fields["targname"] == "NGC104"         # raw before flt
    assert fields["expflag"] == "NORMAL"          # missing in raw: the next file's
    assert fields["proposid"] == 10368 and fields["rootname"] == "j94f05bgq"
    assert fields["date_obs"] == datetime.datetime(2005, 3, 7, 6, 51, 26)
    assert fields["year"] == 2005
    assert fields["filter2"] is None and fields["proposal_type"] is None
    assert set(fields) == {f.name for f in PROMOTED_FIELDS} | {"year"}


def test_promoted_fields_are_typed():
    headers = {"raw": {"0": {"PROPOSID": "10368", "EXPTIME": 400, "SUBARRAY": "T",
                             "RA_TARG": "5.655", "DEC_TARG": "not a number",
                             "TARGNAME": "  NGC104  ", "ASN_ID": "", "DETECTOR": 5}}}
    fields = promoted_fields(headers, "j94f05bgq")
    assert fields["proposid"] == 10368 and type(fields["proposid"]) is int
    assert fields["exptime"] == 400.0 and type(fields["exptime"]) is float
    assert fields["subarray"] is True
    assert fields["ra_targ"] == 5.655 and fields["dec_targ"] is None
    assert fields["targname"] == "NGC104" and fields["asn_id"] is None
    assert fields["detector"] == "5"


@pytest.mark.parametrize("value, kind, expected", [
    (True, "bool", True), ("F", "bool", False), ("maybe", "bool", None),
    (3.0, "int", 3), (3.5, "int", None), (True, "int", None), ("7", "int", 7),
    (2, "float", 2.0), ("x", "float", None), (None, "str", None), (1.5, "str", "1.5"),
])
def test_to_type(value, kind, expected):
    result = to_type(value, kind)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("date_obs, time_obs, expstart, expected", [
    ("2005-03-07", "06:51:26", None, datetime.datetime(2005, 3, 7, 6, 51, 26)),
    ("2005-03-07T06:51:26.123456", None, None,
     datetime.datetime(2005, 3, 7, 6, 51, 26, 123000)),
    ("07/03/05", "06:51:26", None, datetime.datetime(2005, 3, 7, 6, 51, 26)),
    ("2005-03-07", None, None, datetime.datetime(2005, 3, 7)),
    (None, None, 53436.28571938, datetime.datetime(2005, 3, 7, 6, 51, 26, 154000)),
    ("garbage", "06:51:26", None, None),
])
def test_date_obs(date_obs, time_obs, expstart, expected):
    assert parse_date_obs(date_obs, time_obs, expstart) == expected


def _folder(tmp_path: Path) -> RootnameFolder:
    files = {
        "raw": FileInfo("raw", "j94f05bgq_raw.fits", tmp_path / "j94f05bgq_raw.fits", 100,
                        1_700_000_000_000_000_000),
        "flt": FileInfo("flt", "j94f05bgq_flt.fits", tmp_path / "j94f05bgq_flt.fits", 200,
                        1_700_000_001_500_000_000),
    }
    return RootnameFolder("j94f05bgq", tmp_path, "j94f/j94f05bgq", files)


def test_the_whole_document(tmp_path):
    folder = _folder(tmp_path)
    now = datetime.datetime(2025, 1, 2, 3, 4, 5)
    first = datetime.datetime(2024, 1, 1)
    error = {"rootname": "j94f05bgq", "path": "j94f/j94f05bgq/j94f05bgq_flt.fits",
             "filetype": "flt", "stage": "header", "error": "truncated file", "time": now}
    doc = build_document(DocumentParts(
        folder, {"raw": {"0": dict(RAW), "1": {"EXTNAME": "SCI", "PHOTFLAM": None}}},
        {"raw": {"1": {"PHOTFLAM": "undefined"}}}, {"raw": 2, "flt": 0}, [error], now,
        first_ingest_date=first, quicklook={"raw": "jpegs/10368/j94f05bgq_raw.jpg"},
        proposal_types={10368: "GO"},
    ))
    assert doc["_id"] == "j94f05bg" and doc["rootname"] == "j94f05bgq"
    assert doc["path"] == "j94f/j94f05bgq" and doc["proposal_type"] == "GO"
    assert doc["filetypes"] == ["raw", "flt"]
    assert doc["files"]["flt"] == {"name": "j94f05bgq_flt.fits", "size": 200,
                                   "mtime": datetime.datetime(2023, 11, 14, 22, 13, 21, 500000),
                                   "mtime_ns": 1_700_000_001_500_000_000, "n_hdus": 0,
                                   "rootname": "j94f05bgq", "path": "j94f/j94f05bgq"}
    assert doc["rootnames"] == ["j94f05bgq"]
    assert doc["file_paths"]["flt"] == "j94f/j94f05bgq/j94f05bgq_flt.fits"
    assert doc["files_sig"] == folder.files_sig
    assert doc["headers"]["raw"]["1"]["EXTNAME"] == "SCI"
    assert doc["header_nulls"] == {"raw": {"1": {"PHOTFLAM": "undefined"}}}
    assert doc["errors"] == [{k: v for k, v in error.items() if k != "rootname"}]
    assert doc["n_errors"] == 1
    assert doc["first_ingest_date"] == first and doc["last_ingest_date"] == now
    assert doc["quicklook"]["raw"].endswith("_raw.jpg")
    assert doc["doc_bytes"] == len(bson.encode(doc))


def test_the_bson_sent_as_it_is_is_the_document_encoded(tmp_path):
    now = datetime.datetime(2025, 1, 2, 3, 4, 5)
    doc, raw = build_document_bson(DocumentParts(_folder(tmp_path), {"raw": {"0": dict(RAW)}},
                                                 {}, {"raw": 1}, [], now))
    assert raw == bson.encode(doc) and bson.decode(raw)["doc_bytes"] == len(raw)
    # A stored document (doc_bytes in the middle) encoded again: its new size, still exact.
    stored = {"doc_bytes": 1, **{k: v for k, v in doc.items() if k != "doc_bytes"}}
    stored["errors"] = [{"stage": "quicklook", "error": "x" * 1000}]
    raw = encode_document(stored)
    assert raw == bson.encode(stored) and stored["doc_bytes"] == len(raw) > len(bson.encode(doc))


def test_first_ingest_date_defaults_to_now_and_quicklook_is_absent_until_made(tmp_path):
    now = datetime.datetime(2025, 1, 2)
    doc = build_document(DocumentParts(_folder(tmp_path), {}, {}, {}, [], now))
    assert doc["first_ingest_date"] == now and "quicklook" not in doc
    assert doc["detector"] is None and doc["date_obs"] is None and doc["year"] is None


def test_proposal_types_from_csv_and_yaml(tmp_path):
    csv_path = tmp_path / "types.csv"
    csv_path.write_text("proposid,proposal_type\n10368,GO\n# a comment\n\n10375, CAL/ACS\n")
    assert load_proposal_types(csv_path) == {10368: "GO", 10375: "CAL/ACS"}
    bare = tmp_path / "bare.csv"
    bare.write_text("9000,SNAP\n")
    assert load_proposal_types(bare) == {9000: "SNAP"}
    yaml_path = tmp_path / "types.yaml"
    yaml_path.write_text("10368: GO\n'10375': CAL/ACS\n")
    assert load_proposal_types(yaml_path) == {10368: "GO", 10375: "CAL/ACS"}
    listed = tmp_path / "types.yml"
    listed.write_text("- {proposid: 10368, proposal_type: GO}\n")
    assert load_proposal_types(listed) == {10368: "GO"}
    assert load_proposal_types(None) == {}


def test_a_bad_proposal_types_table_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("proposid,type\n10368,GO\nabc,GO\n")
    with pytest.raises(ConfigError, match=r"bad.csv line 3: proposal ID 'abc'"):
        load_proposal_types(bad)
    with pytest.raises(ConfigError, match="cannot read proposal types"):
        load_proposal_types(tmp_path / "missing.csv")
    empty_type = tmp_path / "e.yaml"
    empty_type.write_text("10368: ''\n")
    with pytest.raises(ConfigError, match="empty proposal type"):
        load_proposal_types(empty_type)
