"""StoreBatch: the writes of many rootnames sent in bulk, the same documents as one at a time."""

import datetime

import bson
import pytest
from test_store import _document

from acsq_mongo.browse.rootname import whole_document
from acsq_mongo.db.collections import CATALOG, INGEST_ERRORS, META, ROOTNAMES
from acsq_mongo.db.generation import generation
from acsq_mongo.ingest.store import (
    INGEST_STATE_FIELDS,
    DocumentTooLarge,
    touch_rootname,
    upsert_rootname,
)
from acsq_mongo.ingest.store_batch import StoreBatch

WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000)


def _docs(n: int) -> list[dict]:
    return [_document(_id=f"j94f{i:04d}", rootname=f"j94f{i:04d}q", path=f"j94f/j94f{i:04d}q")
            for i in range(n)]


def _contents(db) -> tuple[list, list]:
    return (list(db[ROOTNAMES].find(sort=[("_id", 1)])),
            list(db[CATALOG].find(sort=[("_id", 1)])))


def test_a_batch_writes_what_one_at_a_time_writes(db):
    docs = _docs(5)
    for doc in docs:
        upsert_rootname(db, doc)
    for doc in docs[:3]:
        touch_rootname(db, doc["_id"], WHEN)
    touch_rootname(db, docs[3]["_id"], WHEN, quicklook={"flt": "jpegs/a.jpg"})
    expected = _contents(db)
    for name in (ROOTNAMES, CATALOG):
        db[name].delete_many({})

    batch = StoreBatch(db)
    keys = [object() for _ in docs]
    for i, (key, doc) in enumerate(zip(keys, docs, strict=True)):
        batch.upsert(key, doc, raw=bson.encode(doc) if i % 2 else None)  # sent as it is
    assert db[ROOTNAMES].count_documents({}) == 0          # held until flushed
    assert batch.flush() == []
    for key, doc in zip(keys[:3], docs[:3], strict=True):
        batch.touch(key, doc["_id"], WHEN)
    batch.touch(keys[3], docs[3]["_id"], WHEN, quicklook={"flt": "jpegs/a.jpg"})
    assert batch.flush() == []
    assert _contents(db) == expected


def test_one_generation_bump_and_one_date_per_batch_of_unchanged_rootnames(db):
    docs = _docs(4)
    for doc in docs:
        upsert_rootname(db, doc)
    before = generation(db)
    whole_before = list(db[ROOTNAMES].find(sort=[("_id", 1)]))
    batch = StoreBatch(db)
    for i, doc in enumerate(docs):
        batch.touch(doc, doc["_id"], WHEN + datetime.timedelta(seconds=i))
    batch.flush()
    assert generation(db) != before
    dates = {d["last_ingest_date"] for d in db[CATALOG].find({}, {"last_ingest_date": 1})}
    assert dates == {WHEN + datetime.timedelta(seconds=3)}  # the latest, for all
    # The whole documents are not rewritten for a date; their readers show the catalog's.
    assert list(db[ROOTNAMES].find(sort=[("_id", 1)])) == whole_before
    assert {whole_document(db, d["_id"])["last_ingest_date"] for d in docs} == dates
    # Nothing held: nothing written, the generation stays.
    after = generation(db)
    assert StoreBatch(db).flush() == [] and generation(db) == after
    assert db[META].count_documents({}) == 1


def test_states_are_read_in_one_query_and_a_held_write_is_sent_before_its_state(db):
    docs = _docs(3)
    upsert_rootname(db, docs[0])
    batch = StoreBatch(db)
    batch.prefetch([d["_id"] for d in docs])
    db[CATALOG].delete_many({})  # the states were read before: the batch hands those out
    state = batch.state(docs[0]["_id"])
    assert state == {k: v for k, v in docs[0].items() if k in INGEST_STATE_FIELDS or k == "_id"}
    assert batch.state(docs[1]["_id"]) is None
    batch.upsert("key", docs[2])
    assert batch.state(docs[2]["_id"])["files_sig"] == "abc"  # sent first, then read


def test_a_document_over_16_mb_is_refused_before_it_is_held(db):
    batch = StoreBatch(db)
    huge = _document(headers={"flt": {"0": {f"K{i}": "x" * 60 for i in range(300_000)}}})
    with pytest.raises(DocumentTooLarge, match="16 MB"):
        batch.upsert("key", huge)
    assert batch.flush() == [] and db[ROOTNAMES].count_documents({}) == 0


def test_a_refused_write_fails_its_rootname_only(db):
    # A unique index on the path: the second document of a path is refused by the server.
    db[ROOTNAMES].create_index("path", unique=True, name="test_unique_path")
    docs = _docs(3)
    docs[1]["path"] = docs[0]["path"]
    batch = StoreBatch(db)
    for doc in docs:
        batch.upsert(doc["_id"], doc)
        batch.add_errors(doc["_id"], [{"rootname": doc["rootname"], "path": doc["path"],
                                       "stage": "header", "error": "e"}])
    failures = batch.flush()
    assert [key for key, _ in failures] == [docs[1]["_id"]]
    assert "duplicate key" in str(failures[0][1]).lower()
    assert sorted(d["_id"] for d in db[CATALOG].find()) == [docs[0]["_id"], docs[2]["_id"]]
    # Errors go in before the documents (so that a kill between the two leaves the
    # rootname to be ingested again): the refused rootname's file errors are in too.
    assert sorted(d["rootname"] for d in db[INGEST_ERRORS].find()) == sorted(
        d["rootname"] for d in docs)


def test_errors_are_recorded_before_the_documents(db, monkeypatch):
    """Killed between the writes of a batch, the errors are in and the document is not."""
    docs = _docs(2)
    batch = StoreBatch(db)
    for doc in docs:
        batch.upsert(doc["_id"], doc)
        batch.add_errors(doc["_id"], [{"rootname": doc["rootname"], "path": doc["path"],
                                       "stage": "header", "error": "e"}])

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(batch, "_write", killed)
    with pytest.raises(Killed):
        batch.flush()
    assert db[INGEST_ERRORS].count_documents({}) == 2
    assert db[ROOTNAMES].count_documents({}) == 0 and db[CATALOG].count_documents({}) == 0


def test_writes_are_sent_when_the_batch_is_full(db):
    batch = StoreBatch(db, max_rootnames=2)
    docs = _docs(3)
    for doc in docs:
        batch.upsert(doc["_id"], doc)
    assert db[ROOTNAMES].count_documents({}) == 2
    batch.flush()
    assert db[ROOTNAMES].count_documents({}) == 3


def test_sends_in_the_background_and_pending_says_whose_are_not_sent(db):
    batch = StoreBatch(db, max_rootnames=2, background=True)
    docs = _docs(5)
    for doc in docs:
        batch.upsert(doc["_id"], doc)
    assert batch.pending(docs[4]["_id"])                       # held: the batch is not full
    assert batch.state(docs[0]["_id"])["files_sig"] == "abc"   # sent, or waited for
    assert batch.flush() == []
    assert not any(batch.pending(doc["_id"]) for doc in docs)
    assert db[ROOTNAMES].count_documents({}) == 5
    batch.close()
