"""Image statistics: what the pixels say, measured with the quicklooks and queried as metadata.

Given the sample archive, whose generator injects known bias levels per amplifier,
known numbers of flagged pixels and a known sky (acsq_mongo.sample.injections), every
statistic equals an independent numpy/astropy computation on the file and the injected
value; once ingested on the real server they are queried, sorted, trended and exported
with their units, and ``acsq stats`` fills them in for an archive ingested without them.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from astropy.io import fits, votable
from astropy.stats import sigma_clipped_stats
from astropy.table import Table

from acsq_mongo import Archive
from acsq_mongo.db.collections import CATALOG, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.images.statistics import file_statistics
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.ingest.stats_run import pending_stats, run_stats
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.names import resolve
from acsq_mongo.settings import load_settings

#: WFC1 is read by amplifiers A (left) and B (right), WFC2 by C and D (ACS Instrument Handbook).
AMPS = {1: "AB", 2: "CD"}
FLAGS = {"saturated": 256, "hot": 16, "warm": 64, "bad_column": 128, "cosmic_ray": 4096 | 8192}


def _file(archive, r, filetype):
    return archive.root / r.path / f"{r.rootname}_{filetype}.fits"


def _chips(path):
    """(region, CCDCHIP, SCI, DQ or None, LTV1, primary header) of each chip, read plainly."""
    with fits.open(path) as hdul:
        primary = hdul[0].header.copy()
        for hdu in hdul:
            if hdu.name == "SCI" and hdu.data is not None:
                extver = hdu.header["EXTVER"]
                dq = next((h.data for h in hdul if h.name == "DQ" and h.header["EXTVER"] == extver
                           and h.data is not None), None)
                ccdchip = hdu.header.get("CCDCHIP", extver)
                yield (f"chip{ccdchip}", ccdchip,
                       np.asarray(hdu.data, dtype=np.float64),
                       None if dq is None else np.asarray(dq), int(hdu.header.get("LTV1", 0)),
                       primary)


def _amp_parts(primary, ccdchip, science):
    """The amplifiers of a chip and their pixels: halves for two, all of it for one."""
    if primary["DETECTOR"] == "SBC":
        return {}
    amps = primary["CCDAMP"]
    if primary["DETECTOR"] == "WFC" and len(amps) == 4:
        left, right = AMPS[ccdchip]
        half = science.shape[1] // 2
        return {left: science[:, :half], right: science[:, half:]}
    return {amps: science}


def _expect_levels(measured, pixels):
    mean, _, std = sigma_clipped_stats(pixels, sigma=3, maxiters=5)
    assert measured["median"] == pytest.approx(np.median(pixels), rel=1e-5, abs=1e-4)
    assert measured["clipped_mean"] == pytest.approx(mean, rel=1e-4, abs=1e-3)
    assert measured["clipped_std"] == pytest.approx(std, rel=1e-3, abs=1e-3)
    assert measured["percentile_1"] == pytest.approx(np.percentile(pixels, 1), rel=1e-5,
                                                     abs=1e-3)
    assert measured["percentile_99"] == pytest.approx(np.percentile(pixels, 99), rel=1e-5,
                                                      abs=1e-3)


def test_raw_statistics_and_bias_levels_are_the_injected_ones(sample_archive):
    checked = 0
    for r in sample_archive.rootnames:
        if "raw" not in r.filetypes:
            continue
        stats = file_statistics(_file(sample_archive, r, "raw"), "raw")
        for region, ccdchip, sci, _, lead, primary in _chips(_file(sample_archive, r, "raw")):
            amps = _amp_parts(primary, ccdchip, sci)
            two = sum(len(a) for a in amps) == 2
            trail = lead if two else 0
            science = sci[:, lead:sci.shape[1] - trail]
            _expect_levels(stats[region], science)
            overscans = [sci[:, :lead], sci[:, sci.shape[1] - trail:]]
            for k, (amp_letters, pixels) in enumerate(_amp_parts(primary, ccdchip,
                                                                 science).items()):
                amp = stats[f"amp{amp_letters}"]
                _expect_levels(amp, pixels)
                overscan = overscans[k]
                _, median, std = sigma_clipped_stats(overscan, sigma=3, maxiters=5)
                assert amp["bias_level"] == pytest.approx(median, abs=1e-3)
                assert amp["bias_noise"] == pytest.approx(std, rel=1e-3)
                # The injected level, within the rounding to whole DN of the raw counts.
                assert abs(amp["bias_level"] - r.injected["bias"][amp_letters]) <= 0.5
                assert amp["bias_noise"] == pytest.approx(r.injected["bias_noise"][amp_letters],
                                                          rel=0.15)
                checked += 1
    assert checked >= 10  # WFC (four amplifiers) and HRC (one) raw files were measured


@pytest.mark.parametrize("filetype", ["flt", "flc", "crj"])
def test_flagged_fractions_levels_and_sky_are_numpys_and_the_injected(sample_archive,
                                                                      filetype):
    checked = 0
    for r in sample_archive.rootnames:
        if filetype not in r.filetypes:
            continue
        path = _file(sample_archive, r, filetype)
        stats = file_statistics(path, filetype)
        for region, ccdchip, sci, dq, _, primary in _chips(path):
            _expect_levels(stats[region], sci)
            for name, bits in FLAGS.items():
                count = np.count_nonzero(dq & bits)
                assert stats[region][f"{name}_fraction"] * dq.size == pytest.approx(count)
                assert count == r.injected["dq"][region][name]  # what the generator set
                for amp, part in _amp_parts(primary, ccdchip, dq).items():
                    assert stats[f"amp{amp}"][f"{name}_fraction"] * part.size == \
                        pytest.approx(np.count_nonzero(part & bits))
            for amp, part in _amp_parts(primary, ccdchip, sci).items():
                _expect_levels(stats[f"amp{amp}"], part)
            if filetype in ("flt", "flc"):
                crs = np.count_nonzero(dq & FLAGS["cosmic_ray"])
                if primary["EXPTIME"] > 0:
                    assert stats[region]["cosmic_rays_per_s"] == pytest.approx(
                        crs / primary["EXPTIME"])
                else:  # a bias frame: no rate
                    assert "cosmic_rays_per_s" not in stats[region]
                sky = r.injected["sky"].get(region)
                if sky is not None and filetype == "flt" and sky > 20:
                    # Stars, hot pixels and cosmic rays masked: the sky within 2 %.
                    assert stats[region]["background"] == pytest.approx(sky, rel=0.02)
                    checked += 1
            else:
                assert "background" not in stats[region]
    if filetype == "flt":
        assert checked >= 5


def test_a_full_size_chip_is_measured_from_a_sample_within_its_noise(tmp_path):
    rng = np.random.default_rng(5)
    primary = fits.PrimaryHDU()
    primary.header.update(DETECTOR="WFC", CCDAMP="ABCD", EXPTIME=400.0)
    hdus = [primary]
    truth = {}
    for extver, ccdchip in ((1, 2), (2, 1)):
        level = 1000.0 + 100 * extver
        sci = rng.normal(level, 20.0, (2048, 4096)).astype(np.float32)
        dq = np.zeros(sci.shape, np.int16)
        dq.flat[rng.choice(dq.size, 40_000, replace=False)] = 8192
        truth[f"chip{ccdchip}"] = (level, np.count_nonzero(dq))
        header = fits.Header([("CCDCHIP", ccdchip)])
        hdus += [fits.ImageHDU(sci, header, name="SCI", ver=extver),
                 fits.ImageHDU(dq, name="DQ", ver=extver)]
    path = tmp_path / "big_flt.fits"
    fits.HDUList(hdus).writeto(path)
    stats = file_statistics(path, "flt")
    for region, (level, n_cr) in truth.items():
        # ~16,000 sampled pixels: the median within 0.05 sigma, the flags counted on a quarter.
        assert stats[region]["median"] == pytest.approx(level, abs=1.0)
        assert stats[region]["clipped_std"] == pytest.approx(20.0, rel=0.03)
        assert stats[region]["cosmic_ray_fraction"] == pytest.approx(n_cr / (2048 * 4096),
                                                                     rel=0.05)
        assert stats[region]["cosmic_rays_per_s"] == pytest.approx(n_cr / 400.0, rel=0.05)
    assert set(stats) == {"chip1", "chip2", "ampA", "ampB", "ampC", "ampD"}


def test_a_statistic_is_named_from_three_tables_and_nothing_else():
    ref = resolve("stats.FLT.CHIP1.Median")
    assert (ref.name, ref.type, ref.is_header) == ("stats.flt.chip1.median", "float", False)
    assert resolve("stats.raw.ampc.bias_level").name == "stats.raw.ampC.bias_level"
    for bad, word in [("stats.spt.chip1.median", "filetype"), ("stats.flt.chip9.median",
                      "region"), ("stats.flt.chip1.mode", "statistic"),
                      ("stats.flt.chip1", "write stats"), ("stats.flt.chip1.$gt.x", "write")]:
        with pytest.raises(QueryError, match=word):
            resolve(bad)


# ----------------------------------------------------------------------------
# On the real server: ingested with the quicklooks, then queried, trended and exported.


@pytest.fixture(scope="module")
def ingested(real_server_uri, sample_archive, tmp_path_factory):
    work = tmp_path_factory.mktemp("stats")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_stats_{os.getpid()}", data=work / "var", workers=0)
    assert run_ingest(settings, sample_archive.root, quicklook=True).ok
    db = connect(settings)
    yield settings, db
    db.client.drop_database(settings.db)
    db.client.close()


def _injected_bias(sample_archive, amp):
    return {r.rootname: r.injected["bias"][amp] for r in sample_archive.rootnames
            if "raw" in r.filetypes and amp in r.injected.get("bias", {})}


@pytest.mark.realdb
def test_the_ingest_stores_what_the_files_measure(ingested, sample_archive):
    settings, db = ingested
    catalog = {d["rootname"]: d for d in db[CATALOG].find({}, {"rootname": 1, "stats": 1})}
    whole = {d["rootname"]: d for d in db[ROOTNAMES].find({}, {"rootname": 1, "stats": 1})}
    measured = 0
    for r in sample_archive.rootnames:
        for filetype in ("raw", "flt", "flc", "crj", "crc", "drz", "drc"):
            if filetype in r.filetypes:
                expected = file_statistics(_file(sample_archive, r, filetype), filetype)
                assert catalog[r.rootname]["stats"][filetype] == expected
                assert whole[r.rootname]["stats"][filetype] == catalog[r.rootname]["stats"][
                    filetype]
                measured += 1
    assert measured > 40


@pytest.mark.realdb
def test_bias_levels_are_queried_sorted_and_trended(ingested, sample_archive):
    settings, db = ingested
    archive = Archive(settings, db=db)
    bias = _injected_bias(sample_archive, "C")
    threshold = float(np.median(list(bias.values())))
    found = archive.query(**{"stats.raw.ampC.bias_level__gt": threshold}).select(
        "rootname", "stats.raw.ampC.bias_level").rows()
    assert {row["rootname"] for row in found} == {n for n, b in bias.items() if b > threshold}
    ordered = archive.query(**{"stats.raw.ampC.bias_level__gte": 0}).order_by(
        "-stats.raw.ampC.bias_level").select("rootname").rows()
    measured = {r.rootname: file_statistics(_file(sample_archive, r, "raw"), "raw")["ampC"][
        "bias_level"] for r in sample_archive.rootnames if r.rootname in bias}
    names = [row["rootname"] for row in ordered]
    assert sorted(names) == sorted(bias)
    assert [measured[n] for n in names] == sorted(measured.values(), reverse=True)
    points = archive.query().trend("stats.raw.ampC.bias_level", by=None).rows()
    assert {p["rootname"]: p["stats.raw.ampC.bias_level"] for p in points} == pytest.approx(
        bias, abs=0.5)


@pytest.mark.realdb
def test_statistics_are_exported_with_their_units(ingested, sample_archive):
    settings, db = ingested
    archive = Archive(settings, db=db)
    columns = ("rootname", "stats.flt.chip1.background", "stats.raw.ampA.bias_level",
               "stats.flt.chip1.cosmic_rays_per_s", "stats.flt.chip1.hot_fraction")
    query = archive.query(detector="WFC", filetype="flt").select(*columns)
    table = query.to_table()
    assert str(table["stats.flt.chip1.background"].unit) == "electron"
    assert str(table["stats.raw.ampA.bias_level"].unit) == "DN"
    assert str(table["stats.flt.chip1.cosmic_rays_per_s"].unit) == "1 / s"
    assert table["stats.flt.chip1.hot_fraction"].unit is None
    ecsv = Table.read(query.ecsv(), format="ascii.ecsv")
    assert str(ecsv["stats.raw.ampA.bias_level"].unit) == "DN"
    vot = votable.parse_single_table(io.BytesIO(query.votable())).to_table()
    bias = _injected_bias(sample_archive, "A")
    for row in vot:
        if row["rootname"] in bias:
            assert abs(row["stats.raw.ampA.bias_level"] - bias[row["rootname"]]) <= 0.5
    assert str(vot["stats.flt.chip1.background"].unit) == "electron"


@pytest.mark.realdb
def test_acsq_stats_fills_in_an_archive_ingested_without_quicklooks(real_server_uri,
                                                                    sample_archive, tmp_path):
    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_stats_late_{os.getpid()}", data=tmp_path / "var",
                             workers=0, batch_size=4)
    db = connect(settings)
    try:
        assert run_ingest(settings, sample_archive.root, quicklook=False).ok
        assert db[CATALOG].count_documents({"stats": {"$exists": True}}) == 0
        todo = pending_stats(db)
        # Interrupted after some rootnames: the rerun measures only the rest.
        first = run_stats(db, settings, rootnames=[e["rootname"] for e in todo[:5]])
        assert first.rootnames == 5
        assert len(pending_stats(db)) == len(todo) - 5
        rest = run_stats(db, settings)
        assert rest.rootnames == len(todo) - 5 and not rest.failures
        assert pending_stats(db) == []
        assert run_stats(db, settings).rootnames == 0
        r = next(r for r in sample_archive.rootnames if "flt" in r.filetypes)
        doc = db[CATALOG].find_one({"rootname": r.rootname})
        assert doc["stats"]["flt"] == (
            file_statistics(_file(sample_archive, r, "flt"), "flt"))
    finally:
        db.client.drop_database(settings.db)
        db.client.close()


@pytest.mark.realdb
def test_acsq_stats_runs_on_a_dask_cluster(real_server_uri, sample_archive, tmp_path, capsys):
    from acsq_mongo.cli import main

    settings = load_settings(environ={}, mongo_uri=real_server_uri, archive=sample_archive.root,
                             db=f"acsq_stats_dask_{os.getpid()}", data=tmp_path / "var",
                             workers=0)
    db = connect(settings)
    try:
        assert run_ingest(settings, sample_archive.root, quicklook=False).ok
        expected = len(pending_stats(db))
        os.environ.update(ACSQ_MONGO_URI=real_server_uri, ACSQ_DB=settings.db,
                          ACSQ_ARCHIVE=str(sample_archive.root), ACSQ_DATA=str(tmp_path / "var"))
        try:
            assert main(["stats", "--workers", "1", "--batch-size", "8"]) == 0
        finally:
            for name in ("ACSQ_MONGO_URI", "ACSQ_DB", "ACSQ_ARCHIVE", "ACSQ_DATA"):
                os.environ.pop(name, None)
        out = capsys.readouterr().out
        assert f"{expected} rootnames measured, 0 failed (Dask (tcp://" in out
        assert pending_stats(db) == []
    finally:
        db.client.drop_database(settings.db)
        db.client.close()


@pytest.mark.realdb
def test_the_web_app_queries_and_trends_a_statistic(ingested, sample_archive):
    import csv

    from webapp import create_app

    settings, db = ingested
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    bias = _injected_bias(sample_archive, "C")
    response = client.get("/trend.csv?y=stats.raw.ampC.bias_level&by=detector")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["rootname"]: float(r["stats.raw.ampC.bias_level"]) for r in rows} == \
        pytest.approx(bias, abs=0.5)
    page = client.get("/trend?y=stats.raw.ampC.bias_level")
    assert page.status_code == 200 and b"y=stats.raw.ampC.bias_level" in page.data
    picture = client.get("/trend.png?y=stats.raw.ampC.bias_level")
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    if os.environ.get("ACSQ_SCREENSHOTS"):  # to look at
        with open(os.path.join(os.environ["ACSQ_SCREENSHOTS"], "trend_bias_ampC.png"), "wb") as f:
            f.write(picture.data)
    threshold = float(np.median(list(bias.values())))
    found = client.get(f"/query.json?stats.raw.ampC.bias_level__gt={threshold}"
                       "&columns=rootname,stats.raw.ampC.bias_level").get_json()
    assert {r["rootname"] for r in found["rows"]} == {n for n, b in bias.items() if b > threshold}
    bad = client.get("/query?stats.flt.chip7.median__gt=1")
    assert bad.status_code == 400 and b"unknown region" in bad.data
