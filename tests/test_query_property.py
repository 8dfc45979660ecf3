"""Any input at all: a result or a clean one-line error, never a crash (hypothesis).

Arbitrary parameter names and values (text of any alphabet, NUL, ``$``, dots,
huge and negative numbers, long lists, long text) go through
:meth:`QuerySpec.parse` and :func:`run` on the real server, and through the
web app's ``/query``, ``/query.json`` and ``/query.csv``. Every answer is a
result or a :class:`QueryError` (a 400 on the web), never another exception,
never a 500, and the app logs no traceback.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_documents import load, make_documents

from acsq_mongo.fields import FIELDS
from acsq_mongo.query import QueryError, QuerySpec, run
from acsq_mongo.query.filters import OPS
from webapp import create_app

DOCS = make_documents(20)
_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

_FIELD = st.sampled_from(sorted(FIELDS) + [
    "headers.flt.0.CCDGAIN", "headers.flt.1.CCDGAIN", "headers.raw.0.FLSHCORR",
    "headers.flt.1.D2IM1.EXTVER", "headers.spt.0.X", "headers.flt.99.Y",
])
_RESERVED = st.sampled_from(["ra", "dec", "radius", "sort", "columns", "limit", "offset",
                             "format", "filetype"])
_FILTER = st.builds(lambda f, op: f if op == "exact" else f"{f}__{op}", _FIELD,
                    st.sampled_from(OPS))
_NAME = st.one_of(
    _FILTER,
    _RESERVED,
    st.text(alphabet=st.sampled_from("abz$._\x00/%é_-ABC019"), max_size=20),
    st.text(max_size=12),
)
_NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**63, -(2**63) - 1, 2**63 - 1, 10**23, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_TEXT_VALUE = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("$.,*()[]{}\\^?+|\x00 0123456789eE-WFCf"), max_size=40),
    _NUMBER.map(str),
    st.sampled_from(["((((((((((a*)*)*)*)*)*)*)*)*)", "x" * 100_000, ",".join(["WFC"] * 5000),
                     "../../etc/passwd", "2005-13-45", "9999", "0000-01-01", "-" * 10,
                     '{"$gt": ""}', "T", "nan", "inf", "1e400"]),
)
_PAIR = st.one_of(
    st.tuples(_NAME, _TEXT_VALUE),
    st.tuples(st.one_of(_RESERVED, _FILTER), _NUMBER.map(str)),  # numbers where numbers go
)
_PAIRS = st.lists(_PAIR, min_size=1, max_size=4)


def _run_core(db, settings_, pairs):
    try:
        spec = QuerySpec.parse(pairs)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    try:
        result = run(db, spec, settings_)
    except QueryError as exc:  # e.g. a regex the server refuses
        assert str(exc)
        return
    assert result.count >= len(result.rows)


@pytest.mark.parametrize("typed", [False, True], ids=["text", "python-values"])
def test_any_parameters_through_the_query_core_on_the_real_server(real_db, real_settings, typed):
    load(real_db, DOCS)
    pairs = (st.lists(st.tuples(st.one_of(_RESERVED, _FILTER), _NUMBER), min_size=1, max_size=4)
             if typed else _PAIRS)

    @settings(max_examples=150, deadline=None, suppress_health_check=_FIXTURES)
    @given(pairs)
    def check(pairs):
        _run_core(real_db, real_settings, pairs)

    check()


def test_any_parameters_through_the_web_app_are_a_result_or_a_400(real_db, real_settings,
                                                                    caplog):
    load(real_db, DOCS)
    app = create_app(real_settings, db=real_db, config={"TESTING": True})
    client = app.test_client()

    @settings(max_examples=150, deadline=None, suppress_health_check=_FIXTURES)
    @given(_PAIRS, st.sampled_from(["/query", "/query.json", "/query.csv"]))
    def check(pairs, path):
        response = client.get(path, query_string=pairs)
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 400), (pairs, path, response.status_code, body[:300])
        assert "Traceback" not in body
        if path.endswith(".csv"):
            assert response.mimetype == ("text/csv" if response.status_code == 200
                                         else "text/plain")
        if path.endswith(".json"):
            assert response.mimetype == "application/json"

    with caplog.at_level(logging.ERROR):
        check()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
