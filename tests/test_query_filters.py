"""Filters: every op on every field type, checked against a brute-force scan in Python.

Given a small archive with missing values, header keywords of every type and
a keyword whose type varies between files, each ``field__op=value`` must find
exactly the rootnames a plain Python predicate finds, on mongomock and on the
real server.
"""

from __future__ import annotations

import datetime
import fnmatch
import re

import pytest
from query_documents import load, make_documents

from acsq_mongo.fields import CASE_FOLDED_FIELDS
from acsq_mongo.query import QueryError, QuerySpec, iter_rows
from acsq_mongo.query.filters import OPS, OPS_BY_TYPE, combine, parse_filter, regex_escape
from acsq_mongo.query.names import resolve

DOCS = make_documents(60)
D = datetime.datetime
MONTH = DOCS[1]["date_obs"]


def h(doc, filetype, ext, key):
    """A header value of a document, or a marker when the keyword is absent."""
    return doc.get("headers", {}).get(filetype, {}).get(ext, {}).get(key, MISSING)


MISSING = object()


def wild(pattern):
    return lambda v: isinstance(v, str) and fnmatch.fnmatchcase(v.lower(), pattern.lower())


def some(v):
    return v is not None


# (parameter, value, predicate on the document)
CASES = {
    "str": [
        ("detector", "WFC", lambda d: d["detector"] == "WFC"),
        ("detector__not", "WFC", lambda d: d["detector"] != "WFC"),
        ("detector__in", "WFC,SBC", lambda d: d["detector"] in ("WFC", "SBC")),
        ("detector__notin", "WFC, SBC", lambda d: d["detector"] not in ("WFC", "SBC")),
        ("targname__gt", "M31", lambda d: some(d["targname"]) and d["targname"] > "M31"),
        ("targname__gte", "M31", lambda d: some(d["targname"]) and d["targname"] >= "M31"),
        ("targname__lt", "NGC", lambda d: some(d["targname"]) and d["targname"] < "NGC"),
        ("targname__lte", "M87", lambda d: some(d["targname"]) and d["targname"] <= "M87"),
        ("targname__contains", "gc", lambda d: "gc" in (d["targname"] or "").lower()),
        ("targname__contains", "(\"", lambda d: '("' in (d["targname"] or "")),
        ("targname__startswith", "wrap-", lambda d: (d["targname"] or "").lower()
         .startswith("wrap-")),
        ("targname__regex", "^M[0-9]+$", lambda d: re.search("^M[0-9]+$", d["targname"] or "")
         is not None),
        ("targname__exists", "true", lambda d: d["targname"] is not None),
        ("targname__exists", "no", lambda d: d["targname"] is None),
        ("targname", "ngc*", lambda d: wild("ngc*")(d["targname"])),
        ("targname", "*-*", lambda d: wild("*-*")(d["targname"])),
        ("targname__not", "*POLE*", lambda d: not wild("*pole*")(d["targname"])),
        ("targname__in", "M3*,NGC104", lambda d: wild("m3*")(d["targname"])
         or d["targname"] == "NGC104"),
        ("targname__notin", "WRAP*,M87", lambda d: not wild("wrap*")(d["targname"])
         and d["targname"] != "M87"),
        ("rootname", "J94F*", lambda d: d["rootname"].startswith("j94f")),
        ("rootname", DOCS[3]["rootname"].upper(), lambda d: d["rootname"] == DOCS[3]["rootname"]),
        ("filter2", "N/A", lambda d: d["filter2"] == "N/A"),
        ("pr_inv_l__exists", "false", lambda d: d["pr_inv_l"] is None),
    ],
    "int": [
        ("proposid", "10368", lambda d: d["proposid"] == 10368),
        ("proposid__not", "10368", lambda d: d["proposid"] != 10368),
        ("proposid__in", "10368, 9575", lambda d: d["proposid"] in (10368, 9575)),
        ("proposid__notin", "10368", lambda d: d["proposid"] != 10368),
        ("proposid__gt", "10368", lambda d: some(d["proposid"]) and d["proposid"] > 10368),
        ("proposid__gte", "10368", lambda d: some(d["proposid"]) and d["proposid"] >= 10368),
        ("proposid__lt", "10368", lambda d: some(d["proposid"]) and d["proposid"] < 10368),
        ("proposid__lte", "1.1677e4", lambda d: some(d["proposid"]) and d["proposid"] <= 11677),
        ("proposid__exists", "false", lambda d: d["proposid"] is None),
        ("year__gte", "2006", lambda d: some(d["year"]) and d["year"] >= 2006),
    ],
    "float": [
        ("exptime", "400", lambda d: d["exptime"] == 400.0),
        ("exptime__not", "400", lambda d: d["exptime"] != 400.0),
        ("exptime__in", "400,1000.5", lambda d: d["exptime"] in (400.0, 1000.5)),
        ("exptime__notin", "0.5,2200", lambda d: d["exptime"] not in (0.5, 2200.0)),
        ("exptime__gt", "400", lambda d: some(d["exptime"]) and d["exptime"] > 400),
        ("exptime__gte", "1000.5", lambda d: some(d["exptime"]) and d["exptime"] >= 1000.5),
        ("exptime__lt", "30", lambda d: some(d["exptime"]) and d["exptime"] < 30),
        ("exptime__lte", "3e1", lambda d: some(d["exptime"]) and d["exptime"] <= 30),
        ("exptime__exists", "false", lambda d: d["exptime"] is None),
        ("dec_targ__lt", "-45.5", lambda d: some(d["dec_targ"]) and d["dec_targ"] < -45.5),
    ],
    "bool": [
        ("subarray", "true", lambda d: d["subarray"] is True),
        ("subarray", "0", lambda d: d["subarray"] is False),
        ("subarray__not", "yes", lambda d: d["subarray"] is not True),
        ("subarray__in", "true,false", lambda d: d["subarray"] in (True, False)),
        ("subarray__notin", "f", lambda d: d["subarray"] is not False),
        ("subarray__exists", "true", lambda d: d["subarray"] is not None),
    ],
    "datetime": [
        ("date_obs", DOCS[0]["date_obs"].strftime("%Y-%m-%d"),
         lambda d: some(d["date_obs"]) and d["date_obs"].date() == DOCS[0]["date_obs"].date()),
        ("date_obs", DOCS[0]["date_obs"].isoformat(),
         lambda d: d["date_obs"] == DOCS[0]["date_obs"]),
        ("date_obs", "2005", lambda d: some(d["date_obs"]) and d["date_obs"].year == 2005),
        (
            "date_obs", f"{MONTH:%Y-%m}",
            lambda d: some(d["date_obs"]) and d["date_obs"].strftime("%Y%m") == f"{MONTH:%Y%m}",
        ),
        ("date_obs__not", "2005", lambda d: d["date_obs"] is None or d["date_obs"].year != 2005),
        ("date_obs__in", f"2003,{MONTH:%Y-%m}", lambda d: some(d["date_obs"]) and (
            d["date_obs"].year == 2003 or d["date_obs"].strftime("%Y%m") == f"{MONTH:%Y%m}")),
        ("date_obs__notin", "2003,2004", lambda d: d["date_obs"] is None
         or d["date_obs"].year not in (2003, 2004)),
        ("date_obs__gt", "2005-03-01", lambda d: some(d["date_obs"])
         and d["date_obs"] >= D(2005, 3, 2)),
        ("date_obs__gte", "2005-03-01", lambda d: some(d["date_obs"])
         and d["date_obs"] >= D(2005, 3, 1)),
        ("date_obs__lt", "2005-03-01", lambda d: some(d["date_obs"])
         and d["date_obs"] < D(2005, 3, 1)),
        ("date_obs__lte", "2005-03-01", lambda d: some(d["date_obs"])
         and d["date_obs"] < D(2005, 3, 2)),
        ("date_obs__lte", "2005-03-01T12:30", lambda d: some(d["date_obs"])
         and d["date_obs"] < D(2005, 3, 1, 12, 31)),
        ("date_obs__gte", "2005-03-01 12:30:15Z", lambda d: some(d["date_obs"])
         and d["date_obs"] >= D(2005, 3, 1, 12, 30, 15)),
        ("date_obs__exists", "false", lambda d: d["date_obs"] is None),
        ("last_ingest_date__gt", "2024-01-01", lambda d: d["last_ingest_date"] >= D(2024, 1, 2)),
    ],
    "list": [
        ("filetypes", "flc", lambda d: "flc" in d["filetypes"]),
        ("filetypes__not", "flc", lambda d: "flc" not in d["filetypes"]),
        ("filetypes__in", "flc,spt", lambda d: bool({"flc", "spt"} & set(d["filetypes"]))),
        ("filetypes__notin", "FLC,spt", lambda d: not {"flc", "spt"} & set(d["filetypes"])),
        ("filetypes__exists", "true", lambda d: True),
    ],
    "dict": [
        ("quicklook__exists", "true", lambda d: "quicklook" in d),
        ("quicklook__exists", "false", lambda d: "quicklook" not in d),
    ],
    "header": [
        ("headers.flt.0.CCDGAIN", "2", lambda d: h(d, "flt", "0", "CCDGAIN") == 2.0),
        ("headers.flt.0.CCDGAIN__not", "2", lambda d: h(d, "flt", "0", "CCDGAIN") != 2.0),
        ("headers.flt.0.ccdgain__in", "1,4", lambda d: h(d, "flt", "0", "CCDGAIN") in (1.0, 4.0)),
        ("headers.flt.0.CCDGAIN__notin", "1", lambda d: h(d, "flt", "0", "CCDGAIN") != 1.0),
        ("headers.flt.0.CCDGAIN__gt", "1", lambda d: h(d, "flt", "0", "CCDGAIN") > 1.0),
        ("headers.flt.1.CCDGAIN__gte", "2", lambda d: h(d, "flt", "1", "CCDGAIN") >= 2.0),
        ("headers.flt.0.CRSPLIT__lt", "2", lambda d: h(d, "flt", "0", "CRSPLIT") < 2),
        ("headers.flt.0.CRSPLIT__lte", "2", lambda d: h(d, "flt", "0", "CRSPLIT") <= 2),
        ("headers.flt.0.SUBARRAY", "T", lambda d: h(d, "flt", "0", "SUBARRAY") is True),
        ("headers.flt.0.STATFLAG__not", "true", lambda d: h(d, "flt", "0", "STATFLAG") is not True),
        ("headers.flt.0.FLSHCORR", "OMIT", lambda d: h(d, "flt", "0", "FLSHCORR") == "OMIT"),
        ("headers.flt.0.FLSHCORR", "*O*", lambda d: wild("*o*")(h(d, "flt", "0", "FLSHCORR"))),
        ("headers.flt.0.FLSHCORR__contains", "form",
         lambda d: "FORM" in h(d, "flt", "0", "FLSHCORR")),
        ("headers.flt.0.FLSHCORR__startswith", "co",
         lambda d: h(d, "flt", "0", "FLSHCORR").startswith("CO")),
        ("headers.flt.0.FLSHCORR__regex", "^(OMIT|PERFORM)$",
         lambda d: h(d, "flt", "0", "FLSHCORR") in ("OMIT", "PERFORM")),
        ("headers.flt.0.DATE-OBS__startswith", "2005-",
         lambda d: h(d, "flt", "0", "DATE-OBS").startswith("2005-")),
        ("headers.flt.1.D2IM1.EXTVER", "2", lambda d: h(d, "flt", "1", "D2IM1%2EEXTVER") == 2.0),
        ("headers.flt.1.MDRIZSKY__exists", "true",
         lambda d: h(d, "flt", "1", "MDRIZSKY") is not MISSING),
        ("headers.flt.1.MDRIZSKY", "12.5", lambda d: h(d, "flt", "1", "MDRIZSKY") == 12.5),
        # MYKEY is not in the inventory and is stored as 2, "2", "abc" or 7.5.
        ("headers.flt.1.MYKEY", "2", lambda d: h(d, "flt", "1", "MYKEY") in (2, "2")),
        ("headers.flt.1.MYKEY__gte", "3", lambda d: isinstance(h(d, "flt", "1", "MYKEY"), float)),
        ("headers.flt.1.MYKEY__exists", "false", lambda d: h(d, "flt", "1", "MYKEY") is MISSING),
        ("headers.flt.1.MYKEY__in", "abc,7.5", lambda d: h(d, "flt", "1", "MYKEY") in ("abc", 7.5)),
        ("headers.flt.1.MYKEY__notin", "2", lambda d: h(d, "flt", "1", "MYKEY") not in (2, "2")),
        ("headers.raw.0.CCDAMP", "C", lambda d: h(d, "raw", "0", "CCDAMP") == "C"),
    ],
}


def _found(db, param, value):
    spec = QuerySpec.parse([(param, value), ("columns", "rootname")])
    return {row["rootname"] for row in iter_rows(db, spec)}


def test_every_op_of_every_type_is_covered():
    field_types = {"str", "int", "float", "bool", "datetime", "list", "dict", "header"}
    assert set(CASES) == field_types
    for kind, cases in CASES.items():
        used = {param.rpartition("__")[2] if "__" in param else "exact" for param, _, _ in cases}
        used = {op if op in OPS else "exact" for op in used}
        assert set(OPS_BY_TYPE[kind]) <= used, (kind, set(OPS_BY_TYPE[kind]) - used)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_filter_finds_what_a_brute_force_scan_finds(db, kind):
    load(db, DOCS)
    wrong = []
    for param, value, predicate in CASES[kind]:
        expected = {d["rootname"] for d in DOCS if predicate(d)}
        found = _found(db, param, value)
        if found != expected:
            wrong.append((param, value, sorted(found ^ expected)))
        # Each case must select something, or it tests little.
        assert expected or param.endswith("__exists"), (param, value)
    assert not wrong


def test_filters_are_anded_and_repeatable(db):
    load(db, DOCS)
    found = _found_pairs(db, [("detector", "WFC"), ("exptime__gte", "400"),
                              ("exptime__lt", "2000"), ("date_obs__gte", "2004")])
    expected = {d["rootname"] for d in DOCS if d["detector"] == "WFC" and d["exptime"]
                and 400 <= d["exptime"] < 2000 and d["date_obs"] and d["date_obs"].year >= 2004}
    assert found == expected and expected


def _found_pairs(db, pairs):
    spec = QuerySpec.parse(pairs + [("columns", "rootname")])
    return {row["rootname"] for row in iter_rows(db, spec)}


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("exposure", "1", "unknown field 'exposure'; valid fields: rootname, detector"),
        ("exptime__gtee", "1", "unknown op 'gtee' in 'exptime__gtee'; valid ops for exptime: ex"),
        ("exptime__contains", "1", "op 'contains' does not apply to exptime (float); valid ops"),
        ("exptime", "fast", "exptime takes a number, got 'fast'"),
        ("exptime", "nan", "exptime takes a number"),
        ("proposid", "10368.5", "proposid takes a whole number"),
        ("subarray", "maybe", "subarray takes true or false"),
        ("date_obs__gte", "March 2005", "date_obs__gte takes a date such as 2005-03-01"),
        ("date_obs", "2005-02-30", "not a valid date"),
        ("filetypes", "fits", "unknown filetype 'fits'; valid filetypes: raw, flt"),
        ("targname__regex", "([", "not a valid regular expression"),
        ("targname", "x" * 201, "at most 200"),
        ("detector__in", " , ", "needs at least one value"),
        ("headers.flt.0.CCDGAIN", "high", "takes a number (headers.flt.0.CCDGAIN is numeric)"),
        ("headers.flt.0.SUBARRAY", "maybe", "takes T or F"),
        ("headers.xyz.0.KEY", "1",
         "unknown filetype 'xyz' in 'headers.xyz.0.KEY'; valid filetypes: raw"),
        ("headers.flt.01.KEY", "1", "bad extension '01'"),
        ("headers.flt.1", "1", "bad header path 'headers.flt.1'; write headers.<filetype>"),
        ("quicklook", "x", "op 'exact' does not apply to quicklook (dict); valid ops: exists"),
    ],
)
def test_a_bad_filter_is_a_clear_error_listing_the_choices(param, value, message):
    with pytest.raises(QueryError) as info:
        QuerySpec.parse({param: value})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_empty_value_is_no_filter_as_from_an_empty_form_field():
    spec = QuerySpec.parse([("detector", ""), ("exptime__gte", "  "), ("sort", "")])
    assert spec.filters == () and spec.sort == (("date_obs", 1),)


def test_python_values_are_taken_as_they_are_and_checked():
    assert parse_filter("proposid__in", [10368, "9575"]).to_mongo() == {
        "proposid": {"$in": [10368, 9575]}}
    day = parse_filter("date_obs", datetime.date(2005, 3, 1)).to_mongo()
    assert day == {"date_obs": {"$gte": D(2005, 3, 1), "$lt": D(2005, 3, 2)}}
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    aware = parse_filter("date_obs__gte", datetime.datetime(2005, 3, 1, 12, tzinfo=plus2))
    assert aware.to_mongo() == {"date_obs": {"$gte": D(2005, 3, 1, 10)}}
    with pytest.raises(QueryError, match="takes one value; use detector__in"):
        parse_filter("detector", ["WFC", "HRC"])
    with pytest.raises(QueryError, match="takes a number"):
        parse_filter("exptime", True)


def test_record_valued_keywords_are_escaped_like_the_store_does():
    ref = resolve("headers.flt.1.d2im1.extver")
    assert ref.name == "headers.flt.1.D2IM1.EXTVER"
    assert ref.path == "headers.flt.1.D2IM1%2EEXTVER"
    assert resolve("headers.FLT.0.DATE-OBS").path == "headers.flt.0.DATE-OBS"


def test_escaped_text_is_a_literal_in_every_regex_dialect():
    text = "a.b*c(d)[e]{f}+g?h|i^j$k\\l m#n"
    pattern = regex_escape(text)
    assert re.fullmatch(pattern, text)
    assert " " in pattern and "\\ " not in pattern and "\\#" not in pattern


@pytest.mark.parametrize("name", sorted(CASE_FOLDED_FIELDS))
@pytest.mark.parametrize(("op", "value"), [
    ("exact", "abc"), ("exact", "ab*"), ("in", "abc,d*"), ("not", "ab*"), ("notin", "x,y*"),
    ("contains", "b"), ("startswith", "ab"), ("gte", "abc"),
])
def test_case_folded_fields_are_matched_upper_case_without_a_case_insensitive_regex(
        name, op, value):
    spec = QuerySpec.parse({name if op == "exact" else f"{name}__{op}": value})
    mongo = combine(spec.filters)
    assert "$options" not in str(mongo)
    assert "ABC" in str(mongo) or "AB" in str(mongo) or "X" in str(mongo) or "B" in str(mongo)
    assert "abc" not in str(mongo) and "'ab" not in str(mongo)


@pytest.mark.parametrize("params", [
    {"detector": "wfc"}, {"filter1": "f606w"}, {"targname": "ngc*"},
    {"detector__in": "wfc,hrc"}, {"aperture__startswith": "wfc1"},
])
def test_case_free_matching_reads_the_index_on_the_real_server(real_db, params):
    from acsq_mongo.db.collections import CATALOG
    from acsq_mongo.db.indexes import ensure_indexes

    load(real_db, DOCS)
    ensure_indexes(real_db)
    query = combine(QuerySpec.parse(params).filters)
    found = list(real_db[CATALOG].find(query, {"_id": 1}))
    assert found, params  # the lower-case text found upper-case values
    plan = str(real_db[CATALOG].find(query, {"_id": 1}).explain()["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan and "COLLSCAN" not in plan, (params, plan)
    # Tight bounds: not the scan of every string in the index that a /i regex needs.
    assert "indexBounds" in plan and """'["", {})'""" not in plan, (params, plan)
