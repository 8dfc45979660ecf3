"""MongoDB's limits and the machine's, respected: header indexes (tests/test_writer_races.py),
what one command carries, the result cache's memory, and sign-in throttling behind a proxy.
On the real server.
"""

from __future__ import annotations

import pickle
import urllib.parse

import pytest

from acsq_mongo.accounts import throttle
from acsq_mongo.accounts.users import add_user
from acsq_mongo.db.collections import SIGN_IN_FAILURES
from acsq_mongo.query import QuerySpec, core
from acsq_mongo.query.cache import ResultCache
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.filters import MAX_LIST_VALUES
from acsq_mongo.query.selection import MAX_FILTER_BYTES, MAX_IDS
from webapp import create_app
from webapp.state import WebState

# -- what one command carries --------------------------------------------------------------


def _many_lists(n_lists: int) -> list[tuple[str, str]]:
    """``n_lists`` lists of MAX_LIST_VALUES target names, 20 characters each."""
    names = ",".join(f"TARGET-NUMBER{i:07d}" for i in range(MAX_LIST_VALUES))
    return [("targname__in", names)] * n_lists


def test_no_url_reaches_the_16_mb_a_command_may_carry(real_settings, real_db):
    # 20 characters each, and BSON's array keys: ~6 MB in 20 lists, past the bound.
    import bson

    pairs = _many_lists(20)
    values = [v for _, text in pairs for v in text.split(",")]
    assert len(bson.encode({"targname": {"$in": values}})) > MAX_FILTER_BYTES
    with pytest.raises(QueryError, match=f"over the {MAX_FILTER_BYTES // 2**20} MB one "
                                         "database command may carry"):
        core.run(real_db, QuerySpec.parse(pairs), real_settings)
    client = create_app(real_settings, db=real_db, config={"TESTING": True}).test_client()
    response = client.get("/query.json?" + urllib.parse.urlencode(pairs))
    assert response.status_code == 400 and "list fewer values" in response.get_json()["error"]
    # Under the bound, the same kind of query runs (and finds nothing in an empty store).
    assert core.run(real_db, QuerySpec.parse(_many_lists(2)), real_settings).count == 0


def test_an_id_list_stays_far_below_the_command_limit():
    import bson

    ids = [f"j{i:07x}" for i in range(MAX_IDS)]   # rootname _ids: 8 characters
    assert len(bson.encode({"_id": {"$in": ids}})) < MAX_FILTER_BYTES < 16 * 2**20


# -- the result cache, bounded by memory ----------------------------------------------------


def test_the_result_cache_is_bounded_by_bytes_and_drops_the_least_recent():
    megabyte = b"x" * 2**20
    size = len(pickle.dumps(megabyte, protocol=pickle.HIGHEST_PROTOCOL))
    cache = ResultCache(max_bytes=int(3.5 * size))
    for key in "abcde":
        cache.put(key, megabyte)
        assert cache.size <= cache.max_bytes
    assert len(cache) == 3 and "a" not in cache and "b" not in cache
    assert cache.get("c") == megabyte              # c is now the most recent
    cache.put("f", megabyte)
    assert "d" not in cache and {"c", "e", "f"} == {k for k in "cdef" if k in cache}
    cache.put("huge", megabyte * 4)                # larger than the whole cache: not kept
    assert "huge" not in cache and len(cache) == 3
    many_small = ResultCache(max_bytes=10 * size)
    for i in range(5_000):                         # an entry count does not bound it
        many_small.put(i, (i, "row"))
    assert len(many_small) == 5_000


def test_the_web_and_python_caches_take_their_size_from_the_setting(real_settings):
    from acsq_mongo import Archive

    settings = real_settings.replace(result_cache_mb=3)
    assert WebState(settings).cache.max_bytes == 3 * 2**20
    assert Archive(settings).cache.max_bytes == 3 * 2**20


# -- sign-in throttling behind a proxy ------------------------------------------------------


def _fail_from(client, forwarded_for: str, n: int) -> list[int]:
    statuses = []
    for i in range(n):
        response = client.post("/login", data={"name": f"guess{i}", "password": "wrong"},
                               headers={"X-Forwarded-For": forwarded_for})
        statuses.append(response.status_code)
    return statuses


def _client(settings, db, hops: int):
    app = create_app(settings.replace(secret_key="k" * 40, proxy_hops=hops), db=db,
                     config={"TESTING": True, "WTF_CSRF_ENABLED": False})
    # Every request comes from the proxy on this host, as behind nginx.
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    return client


def test_behind_one_proxy_each_client_has_its_own_sign_in_bucket(real_settings, real_db):
    add_user(real_db, "ada", "tagger", "correct horse battery staple")
    client = _client(real_settings, real_db, hops=1)
    assert _fail_from(client, "203.0.113.5", throttle.MAX_PER_ADDRESS) == [401] * 20
    # That client is throttled, even with the right password...
    response = client.post("/login", data={"name": "ada",
                                           "password": "correct horse battery staple"},
                           headers={"X-Forwarded-For": "203.0.113.5"})
    assert response.status_code == 429
    # ... and cannot escape by putting an address of its own in front (the proxy appends
    # the real one; one trusted hop reads the last).
    spoofed = client.post("/login", data={"name": "ada", "password": "x"},
                          headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.5"})
    assert spoofed.status_code == 429
    # Another client behind the same proxy signs in.
    other = client.post("/login", data={"name": "ada",
                                        "password": "correct horse battery staple"},
                        headers={"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code == 302
    keys = set(real_db[SIGN_IN_FAILURES].distinct("key"))
    assert "addr:203.0.113.5" in keys and not any(k.startswith("addr:127.") for k in keys)


def test_without_the_setting_the_forwarded_address_is_not_trusted(real_settings, real_db):
    add_user(real_db, "ada", "tagger", "correct horse battery staple")
    client = _client(real_settings, real_db, hops=0)
    assert _fail_from(client, "203.0.113.5", throttle.MAX_PER_ADDRESS) == [401] * 20
    # Every client shares the proxy's address: all of them are throttled now.
    other = client.post("/login", data={"name": "ada",
                                        "password": "correct horse battery staple"},
                        headers={"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code == 429
    assert set(real_db[SIGN_IN_FAILURES].distinct("key")) >= {"addr:127.0.0.1"}
