"""``acsq query``: the analyst's command line over the query core."""

from __future__ import annotations

import csv
import io
import json

import pytest
from query_documents import load, make_documents

from acsq_mongo.cli import main
from acsq_mongo.query.spec import DEFAULT_COLUMNS

DOCS = make_documents(40)


@pytest.fixture
def cli_env(db, settings, monkeypatch, tmp_path):
    load(db, DOCS)
    archive = tmp_path / "archive"
    archive.mkdir()
    monkeypatch.setenv("ACSQ_MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("ACSQ_DB", settings.db)
    monkeypatch.setenv("ACSQ_DATA", str(settings.data))
    monkeypatch.setenv("ACSQ_ARCHIVE", str(archive))
    monkeypatch.setenv("ACSQ_PAGE_SIZE", "5")
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    return archive


def _wfc(docs):
    return sorted((d for d in docs if d["detector"] == "WFC"),
                  key=lambda d: (d["exptime"] is not None, d["exptime"] or 0, d["_id"]))


def test_table_shows_a_page_and_where_the_next_one_starts(cli_env, capsys):
    assert main(["query", "detector=WFC", "--sort", "exptime", "--columns",
                 "rootname,exptime,headers.flt.0.CCDGAIN"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["rootname", "exptime", "headers.flt.0.CCDGAIN"]
    wfc = _wfc(DOCS)
    assert [line.split()[0] for line in lines[2:7]] == [d["rootname"] for d in wfc[:5]]
    assert lines[7] == f"rows 1-5 of {len(wfc)}; next page: --offset 5"


def test_csv_streams_every_row_not_just_a_page(cli_env, capsys):
    assert main(["query", "detector=WFC", "--format", "csv", "--sort", "exptime",
                 "--columns", "rootname,exptime,date_obs"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert [r["rootname"] for r in rows] == [d["rootname"] for d in _wfc(DOCS)]
    assert len(rows) > 5


def test_json_has_the_page_count_and_facets(cli_env, capsys):
    assert main(["query", "proposid=10368", "exptime__gte=400", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = [d for d in DOCS if d["proposid"] == 10368 and (d["exptime"] or 0) >= 400]
    assert data["count"] == len(expected) and data["limit"] == 5
    assert data["columns"] == list(DEFAULT_COLUMNS)
    assert dict((f["value"], f["count"]) for f in data["facets"]["proposid"]) == {
        10368: len(expected)}


def test_paths_of_a_cone_for_analysis(cli_env, capsys):
    assert main(["query", "ra=0", "dec=1", "radius=0.5", "--format", "paths",
                 "--filetype", "flt"]) == 0
    printed = capsys.readouterr().out.splitlines()
    near = [d for d in DOCS if d["targname"] in ("WRAP-EAST", "WRAP-WEST")]
    near.sort(key=lambda d: (d["date_obs"] is not None, d["date_obs"] or 0, d["_id"]))
    assert printed == [str(cli_env / d["path"] / f"{d['rootname']}_flt.fits") for d in near]
    assert printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "exptime__gte=soon"], "exptime__gte takes a number, got 'soon'"),
        (["query", "detector"], "expected FIELD=VALUE or FIELD__OP=VALUE, got 'detector'"),
        (["query", "detectr=WFC"], "unknown field 'detectr'; valid fields: rootname"),
        (["query", "--sort", "flavour"], "cannot sort by 'flavour'; valid sort fields"),
    ],
)
def test_bad_input_is_a_one_line_error_and_status_2(cli_env, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("acsq query: error:")


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "paths"])
def test_a_header_keyword_that_cannot_exist_is_a_warning_on_stderr(cli_env, capsys, fmt):
    assert main(["query", "headers.flt.0.CCDGAN=2", "--format", fmt]) == 0
    captured = capsys.readouterr()
    assert "warning: headers.flt.0.CCDGAN: no flt[0] header has CCDGAN; did you mean CCDGAIN?" \
        in captured.err
    if fmt == "json":
        assert json.loads(captured.out)["warnings"] == [
            "headers.flt.0.CCDGAN: no flt[0] header has CCDGAN; did you mean CCDGAIN?"]
    else:
        assert "warning" not in captured.out


def test_the_help_speaks_of_the_standard_columns(capsys):
    with pytest.raises(SystemExit):
        main(["query", "--help"])
    out = capsys.readouterr().out
    assert "the standard columns" in " ".join(out.split()) and "seed" not in out
