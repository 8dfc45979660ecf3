"""Writers that do not race: the ingest lock and lease, a header index made during an ingest,
and a tag set while the summaries are refreshed. On the real server.

Each race is struck at a known point: an ingest held mid-batch, or a refresh
held between its read of the catalog and its replacing of the galleries
(:mod:`acsq_mongo.ingest.hold`), never by waiting for "some progress".
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from held_run import wait_until_held

from acsq_mongo.accounts.users import add_user
from acsq_mongo.cli import main
from acsq_mongo.db.collections import CATALOG, GALLERIES, META, ROOTNAMES
from acsq_mongo.db.generation import utcnow
from acsq_mongo.db.header_indexes import MAX_HEADER_INDEXES, copied_paths, header_value
from acsq_mongo.db.lease import LEASE_ID
from acsq_mongo.db.summary_shapes import gallery_id
from acsq_mongo.ingest.keyword_indexes import create_header_index
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.run_lock import LOCKED_EXIT_STATUS, IngestLocked, ingest_lock
from acsq_mongo.ingest.summaries import refresh_summaries
from acsq_mongo.query import QuerySpec, core
from acsq_mongo.query.selection import select
from acsq_mongo.tags.flags import change_flags
from acsq_mongo.tags.vocabulary import Vocabulary

PATH = "headers.flt.0.CCDGAIN"


def _env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSQ_")}
    env.update(ACSQ_MONGO_URI=settings.mongo_uri, ACSQ_DB=settings.db,
               ACSQ_DATA=str(settings.data), **extra)
    return env


# -- the lock: quicklook takes it; two hosts share a lease ---------------------------------


def test_quicklook_waits_for_no_ingest_it_stops_at_once(real_settings, real_db, monkeypatch,
                                                      capsys, tmp_path):
    for name, value in _env(real_settings, ACSQ_ARCHIVE=str(tmp_path)).items():
        if name.startswith("ACSQ_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    with ingest_lock(real_settings, command="acsq ingest (the long one)"):
        assert main(["quicklook"]) == LOCKED_EXIT_STATUS
    assert "the long one" in capsys.readouterr().err
    assert main(["quicklook"]) == 0   # free again: nothing to do in an empty catalog


_HOLDER = """\
import sys, time
from acsq_mongo.settings import load_settings
from acsq_mongo.ingest.run_lock import ingest_lock
settings = load_settings(environ={{}}, mongo_uri={uri!r}, db={db!r}, data={data!r},
                         ingest_lease_s={lease})
with ingest_lock(settings, command="host A's ingest"):
    print("locked", flush=True)
    time.sleep(600)
"""


def _plant_lease(db, owner: str, what: str, seconds: float) -> None:
    now = utcnow()
    db[META].replace_one({"_id": LEASE_ID}, {
        "owner": owner, "what": what, "since": now, "heartbeat": now,
        "expires": now + datetime.timedelta(seconds=seconds)}, upsert=True)


def test_another_hosts_lease_holds_until_it_expires_and_a_dead_local_holders_does_not(
        real_settings, real_db, tmp_path):
    settings = real_settings.replace(data=tmp_path / "here", ingest_lease_s=60)
    try:
        # Another host's holder: nothing here can tell whether it lives, so its lease holds.
        _plant_lease(real_db, "elsewhere.example:4242:abcd1234", "the other host's ingest", 600)
        with pytest.raises(IngestLocked, match="the other host's ingest"):
            with ingest_lock(settings):
                pass
        # ... until it expires.
        _plant_lease(real_db, "elsewhere.example:4242:abcd1234", "the other host's ingest", -1)
        with ingest_lock(settings):
            assert f":{os.getpid()}:" in real_db[META].find_one({"_id": LEASE_ID})["owner"]
        # A process of this host that has ended: its unexpired lease is taken over at once.
        ended = subprocess.Popen([sys.executable, "-c", "pass"])
        ended.wait(30)
        _plant_lease(real_db, f"{socket.gethostname()}:{ended.pid}:abcd1234", "a killed run",
                     600)
        with ingest_lock(settings):
            assert f":{os.getpid()}:" in real_db[META].find_one({"_id": LEASE_ID})["owner"]
        # A live process of this host (this one, under another owner name) is respected.
        _plant_lease(real_db, f"{socket.gethostname()}:{os.getppid()}:abcd1234", "a live run",
                     600)
        with pytest.raises(IngestLocked, match="a live run"):
            with ingest_lock(settings):
                pass
    finally:
        real_db[META].delete_one({"_id": LEASE_ID})


def test_two_lock_folders_exclude_each_other_and_a_crashed_holders_lease_is_taken(real_settings,
                                                                                   real_db,
                                                                                   tmp_path):
    lease = 6   # renewed every 2 s
    # Two "hosts": each its own lock folder (no flock in common), one database.
    host_a = real_settings.replace(data=tmp_path / "host_a", ingest_lease_s=lease)
    host_b = real_settings.replace(data=tmp_path / "host_b", ingest_lease_s=lease)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(uri=host_a.mongo_uri, db=host_a.db,
                                              data=str(host_a.data), lease=lease)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        held = real_db[META].find_one({"_id": LEASE_ID})
        assert f":{holder.pid}:" in held["owner"] and "host A's ingest" in held["what"]
        with pytest.raises(IngestLocked, match="host A's ingest"):
            with ingest_lock(host_b):
                pass
        # The holder renews its lease while it runs (a heartbeat pushes the expiry on).
        deadline = time.monotonic() + 60
        while real_db[META].find_one({"_id": LEASE_ID})["expires"] <= held["expires"]:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.2)
        holder.kill()                                   # kill -9: no clean-up ran
        holder.wait(10)
        assert real_db[META].find_one({"_id": LEASE_ID}) is not None   # left behind
        # Both "hosts" are this machine, which sees that the holder has died: its lease is
        # taken over at once (another host's waits for the expiry: the test below).
        deadline = time.monotonic() + 120   # a bound, not a timing: at most one lease
        while True:
            try:
                with ingest_lock(host_b):
                    taken = real_db[META].find_one({"_id": LEASE_ID})
                break
            except IngestLocked:
                assert time.monotonic() < deadline, "the crashed holder's lease never expired"
                time.sleep(0.5)
        assert f":{os.getpid()}:" in taken["owner"]
        assert real_db[META].find_one({"_id": LEASE_ID}) is None   # released at the end
    finally:
        if holder.poll() is None:
            holder.kill()


# -- a header index made while an ingest is held mid-batch ---------------------------------


def _brute(db) -> dict[int, set[str]]:
    """The rootnames of each CCDGAIN value, from the whole documents, of those in the catalog.

    (A batch writes ``rootnames``, then ``catalog``: a query answers from the catalog.)
    """
    out: dict[int, set[str]] = {}
    for doc in db[ROOTNAMES].find({PATH: {"$exists": True}}, {PATH: 1}):
        out.setdefault(header_value(doc, PATH), set()).add(doc["_id"])
    in_catalog = {doc["_id"] for doc in db[CATALOG].find({}, {"_id": 1})}
    return {gain: ids & in_catalog for gain, ids in out.items()}


def _answer(db, settings, gain) -> set[str]:
    spec = QuerySpec.parse({f"{PATH}": gain, "columns": "rootname"})
    return {row["rootname"][:8] for row in core.iter_rows(db, spec)}


def test_an_index_made_during_a_held_ingest_keeps_every_answer_right(
        real_settings, real_db, sample_archive, tmp_path):
    with_flt = [r.rootname for r in sample_archive.rootnames  # CCDs: CCDGAIN in the flt
                if "flt" in r.filetypes and r.promoted.get("detector") in ("WFC", "HRC")]
    victim = with_flt[len(with_flt) // 2]
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / f"stored.{victim}").touch()
    env = _env(real_settings, ACSQ_ARCHIVE=str(sample_archive.root), ACSQ_TEST_HOLD=str(hold))
    proc = subprocess.Popen([sys.executable, "-m", "acsq_mongo.cli", "ingest", "--workers", "0",
                             "--no-quicklook"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until_held(hold, "stored", victim, proc)
        # The victim's catalog entry is computed (without the copy) and not written yet.
        assert create_header_index(real_db, PATH)
        state = real_db[META].find_one({"_id": f"header_index:{PATH}"})
        assert state["state"] == "waiting" and state["waiting_for"]
        assert PATH not in copied_paths(real_db)
        spec = QuerySpec.parse({PATH: 2})
        assert select(real_db, spec).ids is not None   # found in rootnames, not the copies
        gains = {2, 1, 4}
        for gain in gains:  # right while held: the ids come from rootnames
            assert _answer(real_db, real_settings, gain) == _brute(real_db).get(gain, set())
        (hold / f"stored.{victim}").unlink()
        while proc.poll() is None:   # right throughout the rest of the run
            for gain in gains:
                before = _brute(real_db).get(gain, set())
                answer = _answer(real_db, real_settings, gain)
                after = _brute(real_db).get(gain, set())
                assert before <= answer <= after
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # The run completed the copies before it gave up its lease.
    assert real_db[META].find_one({"_id": f"header_index:{PATH}"})["state"] == "complete"
    assert PATH in copied_paths(real_db)
    stored = {d["_id"]: header_value(d, PATH) for d in real_db[ROOTNAMES].find(
        {PATH: {"$exists": True}}, {PATH: 1})}
    copies = {d["_id"]: header_value(d, PATH) for d in real_db[CATALOG].find(
        {PATH: {"$exists": True}}, {PATH: 1})}
    assert victim[:8] in stored and copies == stored
    spec = QuerySpec.parse({PATH: 2})
    assert select(real_db, spec).ids is None   # now on the catalog's copies alone
    for gain in (2, 1, 4):
        assert _answer(real_db, real_settings, gain) == _brute(real_db).get(gain, set())


def test_header_indexes_are_capped_with_a_message_that_lists_them(real_settings, real_db,
                                                                 sample_archive):
    run_ingest(real_settings, sample_archive.root, quicklook=False)
    keywords = [f"headers.flt.0.K{i:04d}" for i in range(MAX_HEADER_INDEXES)]
    for path in keywords:
        assert create_header_index(real_db, path)
    with pytest.raises(Exception, match=f"at most {MAX_HEADER_INDEXES} header keywords") as exc:
        create_header_index(real_db, PATH)
    message = str(exc.value)
    assert all(path in message for path in keywords) and "--drop" in message
    assert "\n" not in message
    assert len(real_db[CATALOG].index_information()) < 64


# -- a tag set while the summaries are refreshed --------------------------------------------


def test_a_tag_set_during_a_held_refresh_stays_in_the_gallery(real_settings, real_db,
                                                             sample_archive, tmp_path):
    run_ingest(real_settings, sample_archive.root, quicklook=False)
    row = real_db[CATALOG].find_one({"proposid": {"$type": "int"}},
                                    {"rootname": 1, "proposid": 1})
    user = add_user(real_db, "ada", "tagger", "correct horse battery staple")
    vocabulary = Vocabulary.from_settings(real_settings)
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / "galleries").touch()
    refresh = threading.Thread(
        target=refresh_summaries, args=(real_db, real_settings.replace(test_hold=hold)))
    refresh.start()
    try:
        deadline = time.monotonic() + 120
        while not (hold / "galleries.reached").exists():
            assert time.monotonic() < deadline and refresh.is_alive()
            time.sleep(0.02)
        # The refresh has read the catalog: the tag comes after its read, before its write.
        change_flags(real_db, row["rootname"], user, vocabulary, add=["ghost"])
    finally:
        (hold / "galleries").unlink()
        refresh.join(120)
    gallery = real_db[GALLERIES].find_one({"_id": gallery_id(row["proposid"])})
    flags = {r["rootname"]: r.get("anomalies") for r in gallery["rows"]}
    assert flags[row["rootname"]] == ["ghost"]
    assert real_db[CATALOG].find_one({"_id": row["_id"]})["anomalies"] == ["ghost"]
