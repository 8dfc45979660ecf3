"""Injection: user input never reaches MongoDB as an operator or raw JSON.

Values smuggling ``{"$where": ...}`` are plain text compared as text; field
names with ``$`` or unexpected dots are refused with a clear error; the
filter documents the core builds contain only the operators of its fixed
table.
"""

from __future__ import annotations

import pytest
from query_documents import load, make_documents

from acsq_mongo.query import QueryError, QuerySpec, iter_rows, run
from acsq_mongo.query.filters import combine

DOCS = make_documents(20)

ALLOWED_OPERATORS = {"$and", "$or", "$nor", "$in", "$nin", "$ne", "$gt", "$gte", "$lt", "$lte",
                     "$regex", "$options", "$exists"}


def _operators(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("$"):
                yield key
            yield from _operators(value)
    elif isinstance(node, list):
        for item in node:
            yield from _operators(item)


SMUGGLED = [
    '{"$where": "sleep(1000) || true"}',
    '{"$gt": ""}',
    "'; return true; var x='",
    '{"$ne": null}',
    "[$ne]=1",
]


@pytest.mark.parametrize("value", SMUGGLED)
@pytest.mark.parametrize("field", ["targname", "headers.flt.0.FLSHCORR", "targname__in",
                                   "detector__not"])
def test_smuggled_operators_in_values_are_plain_text(db, field, value):
    load(db, DOCS)
    spec = QuerySpec.parse([(field, value), ("columns", "rootname")])
    mongo = combine(spec.filters)
    assert set(_operators(mongo)) <= ALLOWED_OPERATORS
    assert "$where" not in str(list(_operators(mongo)))
    found = [r["rootname"] for r in iter_rows(db, spec)]
    if field == "detector__not":
        assert len(found) == len(DOCS)  # nothing is equal to that text
    else:
        assert found == []  # no target is named like that


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("$where", "unknown field '$where'"),
        ("targname.$where", "unknown field 'targname.$where'"),
        ("detector.x", "unknown field 'detector.x'"),
        ("headers.flt.0.$where", "bad header keyword '$where'"),
        ("headers.flt.0.A..B", "bad header keyword 'A..B'"),
        ("headers.flt.0.KEY.", "bad header keyword 'KEY.'"),
        ("headers.flt.0..KEY", "bad header keyword '.KEY'"),
        ("headers.flt.0.KEY$gt", "bad header keyword 'KEY$gt'"),
        ("headers.flt.$0.KEY", "bad header path"),
        ("headers.$flt.0.KEY", "bad header path"),
        ("headers", "unknown field 'headers'; valid fields"),
        ("exptime__$gt", "unknown op '$gt'"),
        ("_id", "unknown field '_id'"),
    ],
)
def test_field_names_with_dollar_or_unexpected_dots_are_refused(name, message):
    with pytest.raises(QueryError) as info:
        QuerySpec.parse({name: "1"})
    assert message in str(info.value)


@pytest.mark.parametrize("value", [{"$where": "1"}, {"$gt": 0}, [{"$ne": 1}], object()])
def test_python_values_that_are_not_scalars_are_refused(value):
    with pytest.raises(QueryError):
        QuerySpec.parse([("exptime__in" if isinstance(value, list) else "exptime", value)])


@pytest.mark.parametrize("param", ["columns", "sort"])
def test_columns_and_sort_are_allow_listed_too(param):
    with pytest.raises(QueryError, match="unknown field|cannot sort by"):
        QuerySpec.parse({param: "rootname,$where"})
    with pytest.raises(QueryError):
        QuerySpec.parse({param: "headers.flt.0"})


def test_unknown_parameters_and_formats_are_errors_not_ignored():
    with pytest.raises(QueryError, match="unknown format 'xml'; valid formats: table, csv"):
        QuerySpec.parse({"format": "xml"})
    with pytest.raises(QueryError, match="limit takes a whole number"):
        QuerySpec.parse({"limit": "10; drop"})
    with pytest.raises(QueryError, match="offset cannot be negative"):
        QuerySpec.parse({"offset": "-5"})
    with pytest.raises(QueryError, match="sort is given more than once"):
        QuerySpec.parse([("sort", "exptime"), ("sort", "date_obs")])
    spec = QuerySpec.parse([("page", "3"), ("detector", "WFC")], ignore=("page",))
    assert [f.param for f in spec.filters] == ["detector"]


def test_a_regex_runs_as_a_regex_but_cannot_escape_its_field(db, settings):
    load(db, DOCS)
    spec = QuerySpec.parse({"targname__regex": ".*", "columns": "rootname"})
    # (targname is matched without regard to case: the one option is "i")
    assert combine(spec.filters) == {"targname": {"$regex": ".*", "$options": "i"}}
    result = run(db, spec, settings)
    assert result.count == sum(d["targname"] is not None for d in DOCS)
