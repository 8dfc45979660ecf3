"""The database layer, round-tripped on mongomock and on the real server."""

import datetime

import pytest

from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import connect, redact_uri, server_description
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.db.localserver import free_port
from acsq_mongo.errors import ConfigError, DatabaseUnavailable
from acsq_mongo.settings import load_settings


def _doc(rootname, detector, gain, date):
    return {
        "_id": rootname[:8],
        "rootname": rootname,
        "detector": detector,
        "date_obs": date,
        "headers": {
            "flt": {
                "0": {"DATE-OBS": date.strftime("%Y-%m-%d"), "DETECTOR": detector},
                "1": {"CCDGAIN": gain, "EXTNAME": "SCI", "EXTVER": 1},
            }
        },
    }


def test_upsert_and_find_by_dotted_header_path(db):
    d1 = _doc("j94f05bgq", "WFC", 2, datetime.datetime(2005, 3, 1, 12, 0))
    d2 = _doc("j8zh21xvq", "HRC", 4, datetime.datetime(2003, 1, 27, 15, 20, 1))
    for doc in (d1, d2):
        db[ROOTNAMES].replace_one({"_id": doc["_id"]}, doc, upsert=True)
    # Upserting again replaces, never duplicates.
    d1["headers"]["flt"]["1"]["CCDGAIN"] = 1
    db[ROOTNAMES].replace_one({"_id": d1["_id"]}, d1, upsert=True)
    assert db[ROOTNAMES].count_documents({}) == 2

    found = db[ROOTNAMES].find_one({"headers.flt.0.DATE-OBS": "2003-01-27"})
    assert found["_id"] == "j8zh21xv"
    assert found["date_obs"] == datetime.datetime(2003, 1, 27, 15, 20, 1)
    gains = [d["_id"] for d in db[ROOTNAMES].find({"headers.flt.1.CCDGAIN": {"$gte": 2}})]
    assert gains == ["j8zh21xv"]
    assert db[ROOTNAMES].count_documents({"headers.flt.1.CCDGAIN": 1}) == 1
    assert sorted(db[ROOTNAMES].distinct("detector")) == ["HRC", "WFC"]
    assert sorted(db[ROOTNAMES].distinct("headers.flt.1.CCDGAIN")) == [1, 4]
    assert db[ROOTNAMES].count_documents({"headers.flt.1.MISSING": {"$exists": True}}) == 0


def test_group_with_sum_is_portable(db):
    for i, det in enumerate(["WFC", "WFC", "HRC"]):
        db[CATALOG].insert_one({"_id": f"j000000{i}", "detector": det, "year": 2005})
    rows = db[CATALOG].aggregate(
        [{"$match": {"year": 2005}}, {"$group": {"_id": "$detector", "n": {"$sum": 1}}}]
    )
    assert {r["_id"]: r["n"] for r in rows} == {"WFC": 2, "HRC": 1}


def test_ensure_indexes_is_idempotent(db):
    first = ensure_indexes(db)
    second = ensure_indexes(db)
    assert first == second
    names = set(db[CATALOG].index_information())
    assert {"detector_1__id_1", "date_obs_1__id_1", "dec_targ_1_ra_targ_1", "_id_"} <= names
    assert "detector_1" in db[ROOTNAMES].index_information()


def test_ensure_indexes_drops_the_retired_ones_and_keeps_others(db):
    db[CATALOG].create_index("year", name="year_1")
    db[CATALOG].create_index("headers_like", name="someone_elses")
    ensure_indexes(db)
    names = set(db[CATALOG].index_information())
    assert "year_1" not in names
    assert "someone_elses" in names


def test_server_description_names_the_backend(db, backend):
    text = server_description(db)
    assert ("mongomock" in text) == (backend == "mongomock")


def test_mongomock_uri_gives_the_same_store_on_each_connect(mock_settings):
    connect(mock_settings)[CATALOG].insert_one({"_id": "x"})
    assert connect(mock_settings)[CATALOG].count_documents({}) == 1


def test_unreachable_server_gives_one_clear_message(tmp_path):
    port = free_port()  # nothing listens here
    settings = load_settings(
        environ={}, mongo_uri=f"mongodb://127.0.0.1:{port}", server_timeout=1, data=tmp_path
    )
    with pytest.raises(DatabaseUnavailable) as info:
        connect(settings)
    message = str(info.value)
    assert message.startswith(f"cannot reach MongoDB at mongodb://127.0.0.1:{port}: ")
    assert "acsq db start" in message and "ACSQ_MONGO_URI" in message
    assert "Topology" not in message and "\n" not in message


def test_bad_uri_is_a_config_error(tmp_path):
    settings = load_settings(environ={}, mongo_uri="mongodb://:::bad", data=tmp_path)
    with pytest.raises(ConfigError, match="bad ACSQ_MONGO_URI"):
        connect(settings)


def test_redact_uri():
    assert redact_uri("mongodb://u:p@h:1/db") == "mongodb://u:***@h:1/db"
    assert redact_uri("mongodb://h:1") == "mongodb://h:1"
