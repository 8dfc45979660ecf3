"""End to end: a sample archive, ingested, then found and opened the way an analyst would.

Given an archive written by the sample generator and ingested into the real
server, the analyst's queries find what the generator wrote, the file paths
point at the files on disk, and astropy reads from those files the same
header values the query matched on.
"""

from __future__ import annotations

import datetime

import pytest
from astropy.io import fits

from acsq_mongo import Archive
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.sample import make_sample_archive


@pytest.fixture
def ingested(real_db, real_settings, tmp_path):
    archive_dir = tmp_path / "archive"
    sample = make_sample_archive(archive_dir, 16, seed=11)
    settings = real_settings.replace(archive=archive_dir)
    ensure_indexes(real_db)
    summary = run_ingest(settings, archive_dir, quicklook=False)
    assert summary.ok
    return Archive(settings, db=real_db), sample


def test_an_analyst_finds_the_sample_and_opens_its_files(ingested):
    archive, sample = ingested
    planned = {r.rootname: r for r in sample.rootnames}
    for detector in ("WFC", "HRC", "SBC"):
        expected = sorted(n for n, r in planned.items() if r.promoted["detector"] == detector)
        q = archive.query(detector=detector, sort="rootname")
        assert [row["rootname"] for row in q.select("rootname").rows()] == expected
        assert q.count() == len(expected)
        paths = q.paths("flt")
        with_flt = [n for n in expected if "flt" in planned[n].filetypes]
        assert len(paths) == len(with_flt)
        for path, rootname in zip(paths, with_flt, strict=True):
            with fits.open(path) as hdul:
                assert hdul[0].header["ROOTNAME"].strip().lower() == rootname
                assert hdul[0].header["DETECTOR"] == detector


def test_a_header_value_read_from_a_file_finds_its_rootname(ingested):
    archive, sample = ingested
    with_flt = [r for r in sample.rootnames if "flt" in r.filetypes]
    target = with_flt[0]
    path = archive.query(rootname=target.rootname).paths("flt")[0]
    header = fits.getheader(path, 0)
    ccdgain, date_obs = header["CCDGAIN"], header["DATE-OBS"]
    q = archive.query({"headers.flt.0.CCDGAIN": str(ccdgain), "headers.flt.0.DATE-OBS": date_obs})
    rows = q.select("rootname", "date_obs", "headers.flt.0.CCDGAIN").rows()
    assert target.rootname in [r["rootname"] for r in rows]
    for row in rows:
        assert row["headers.flt.0.CCDGAIN"] == ccdgain
        assert row["date_obs"].date() == datetime.date.fromisoformat(date_obs)


def test_a_cone_around_a_target_finds_it(ingested):
    archive, sample = ingested
    target = next(r for r in sample.rootnames if r.promoted.get("ra_targ") is not None)
    ra, dec = target.promoted["ra_targ"], target.promoted["dec_targ"]
    found = archive.query(ra=ra, dec=dec, radius=0.001).select("rootname").rows()
    assert target.rootname in [r["rootname"] for r in found]
    page = archive.query(ra=ra, dec=dec, radius=0.001).page()
    assert page.count == len(found) and sum(n for _, n in page.facets["detector"]) == len(found)


def test_sorting_by_a_header_keyword_shows_it_as_a_column(ingested):
    archive, sample = ingested
    q = archive.query({"headers.flt.0.CCDGAIN__gte": 0}).order_by("-headers.flt.0.CCDGAIN",
                                                                   "rootname")
    assert q.spec.column_names[-1] == "headers.flt.0.CCDGAIN"
    rows = q.rows()
    with_gain = [r for r in sample.rootnames if "flt" in r.filetypes
                 and r.promoted["detector"] != "SBC"]  # (SBC, a MAMA, has no CCDGAIN)
    assert len(rows) == len(with_gain) and len(rows) >= 4
    gains = [row["headers.flt.0.CCDGAIN"] for row in rows]
    assert gains == sorted(gains, reverse=True) and len(set(gains)) >= 1
    expected = sorted(((-g, n) for g, n in zip(gains, (r["rootname"] for r in rows),
                                                  strict=True)))
    assert [n for _, n in expected] == [r["rootname"] for r in rows]
    page = q.page(limit=3, offset=1)
    assert [r["rootname"] for r in page.rows] == [r["rootname"] for r in rows[1:4]]
    assert page.count == len(rows)
    text = q.text_table(limit=3)
    assert isinstance(text, str) and text.splitlines()[0].split()[-1] == "headers.flt.0.CCDGAIN"
    assert not hasattr(q, "table")
