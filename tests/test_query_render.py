"""Rendering: CSV (streamed, RFC 4180, formulas neutralised), JSON and the terminal table."""

from __future__ import annotations

import csv
import datetime
import io
import json
import types

import pytest
from query_documents import load, make_documents

from acsq_mongo.formats.render import csv_lines, result_dict, result_json, table_lines
from acsq_mongo.query import QuerySpec, iter_rows, run

ROWS = [
    {"rootname": "j94f05bgq", "targname": "=HYPERLINK(\"http://evil\")", "dec_targ": -72.0813,
     "exptime": 400.0, "subarray": False, "date_obs": datetime.datetime(2005, 5, 1, 2, 53, 22),
     "pr_inv_l": "O'Neil, \"Jr\"", "filter2": None, "filetypes": ["raw", "flt"]},
    {"rootname": "j8c105xyq", "targname": "+SUM(A1)", "dec_targ": 12.5, "exptime": -1,
     "subarray": True, "date_obs": None, "pr_inv_l": "@cmd", "filter2": "-F814W",
     "filetypes": []},
    {"rootname": "jb1a01abq", "targname": "\tTAB", "dec_targ": 0.0, "exptime": 1.0,
     "subarray": None, "date_obs": None, "pr_inv_l": "\rCR", "filter2": "line1\nline2",
     "filetypes": ["flt"]},
]
COLUMNS = list(ROWS[0])


def test_csv_is_streamed_line_by_line():
    lines = csv_lines(COLUMNS, iter(ROWS))
    assert isinstance(lines, types.GeneratorType)
    assert next(lines) == ",".join(COLUMNS) + "\r\n"


def test_csv_quotes_per_rfc_4180_and_round_trips():
    text = "".join(csv_lines(COLUMNS, ROWS))
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == COLUMNS
    first = dict(zip(COLUMNS, parsed[1], strict=True))
    assert first["pr_inv_l"] == "O'Neil, \"Jr\""
    assert '"O\'Neil, ""Jr"""' in text  # quotes doubled inside a quoted field
    assert first["date_obs"] == "2005-05-01T02:53:22Z"  # as in JSON (issue 25)
    assert first["subarray"] == "false" and first["filter2"] == ""
    assert first["filetypes"] == "raw;flt"
    third = dict(zip(COLUMNS, parsed[3], strict=True))
    assert third["filter2"] == "line1\nline2"  # a newline stays inside its quoted cell


def test_csv_neutralises_formulas_in_text_but_not_numbers():
    parsed = list(csv.reader(io.StringIO("".join(csv_lines(COLUMNS, ROWS)), newline="")))
    cells = [dict(zip(COLUMNS, row, strict=True)) for row in parsed[1:]]
    assert cells[0]["targname"] == "'=HYPERLINK(\"http://evil\")"
    assert cells[1]["targname"] == "'+SUM(A1)"
    assert cells[1]["pr_inv_l"] == "'@cmd"
    assert cells[1]["filter2"] == "'-F814W"
    assert cells[2]["targname"] == "'\tTAB"
    assert cells[2]["pr_inv_l"] == "'\rCR"
    # Numbers stay numbers, negative ones included.
    assert cells[0]["dec_targ"] == "-72.0813" and cells[1]["exptime"] == "-1"
    for row in cells:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")) or value.startswith("'")


def test_a_formula_in_the_database_is_neutralised_in_a_download(db):
    docs = make_documents(12)
    load(db, docs)
    spec = QuerySpec.parse({"targname__startswith": "=", "columns": "rootname,targname,dec_targ"})
    text = "".join(csv_lines(spec.column_names, iter_rows(db, spec)))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows and all(r["targname"].startswith("'=HYPERLINK") for r in rows)
    assert all(float(r["dec_targ"]) == pytest.approx(2.2, abs=0.06) for r in rows)


def test_json_has_rows_count_paging_and_facets(db, settings):
    docs = make_documents(20)
    load(db, docs)
    spec = QuerySpec.parse({"detector": "WFC", "limit": "4", "columns": "rootname,date_obs"})
    result = run(db, spec, settings)
    data = json.loads(result_json(result))
    n_wfc = sum(d["detector"] == "WFC" for d in docs)
    assert data["count"] == n_wfc and data["limit"] == 4 and data["next_offset"] == 4
    assert data["columns"] == ["rootname", "date_obs"] and len(data["rows"]) == 4
    for row in data["rows"]:
        if row["date_obs"] is not None:
            assert datetime.datetime.fromisoformat(row["date_obs"])
    assert data["facets"]["detector"] == [{"value": "WFC", "count": n_wfc}]
    assert ["detector", "WFC"] in data["query"]
    assert result_dict(result)["rows"][0]["rootname"] == result.rows[0]["rootname"]


def test_table_is_aligned_for_a_terminal():
    lines = list(table_lines(["rootname", "exptime", "targname"], ROWS))
    assert lines[0].split() == ["rootname", "exptime", "targname"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    starts = [line.index(ROWS[i]["rootname"]) for i, line in enumerate(lines[2:])]
    assert starts == [0, 0, 0]
    # Numbers are right-aligned: their last digit sits under the end of the heading.
    end = lines[0].index("exptime") + len("exptime")
    for line, row in zip(lines[2:], ROWS, strict=True):
        assert line[:end].endswith(str(row["exptime"]))
