"""The sample archive: realistic, self-consistent, every filetype, deterministic."""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from acsq_mongo.cli import main
from acsq_mongo.errors import AcsqError
from acsq_mongo.fields import DETECTORS, FILETYPES
from acsq_mongo.sample import (
    MANIFEST_NAME,
    PROPOSAL_TYPES_NAME,
    load_reference,
    make_sample_archive,
    mjd,
    plan_rootname,
    read_manifest,
    write_rootname,
)
from acsq_mongo.sample.eras import POST_SM4_KEYWORDS, post_sm4

REPO = Path(__file__).resolve().parent.parent
_STRUCTURAL_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDISP", "TDIM", "TNULL")


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    """Content of every file, and the modification time of every FITS file."""
    return {
        p.relative_to(root).as_posix(): (hashlib.sha1(p.read_bytes()).hexdigest(),
                                         p.stat().st_mtime_ns if p.suffix == ".fits" else 0)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    a = make_sample_archive(tmp_path / "a", 6, seed=3)
    b = make_sample_archive(tmp_path / "b", 6, seed=3)
    c = make_sample_archive(tmp_path / "c", 6, seed=4)
    assert _digest(a.root) == _digest(b.root)
    assert _digest(a.root) != _digest(c.root)


def test_several_processes_write_the_same_bytes_as_one(tmp_path):
    one = make_sample_archive(tmp_path / "one", 20, seed=3, workers=1)
    two = make_sample_archive(tmp_path / "two", 20, seed=3, workers=2)
    assert _digest(one.root) == _digest(two.root)
    assert [r.n_hdus for r in one.rootnames] == [r.n_hdus for r in two.rootnames]
    assert all(r.n_hdus for r in two.rootnames)  # filled in by the processes, sent back


def test_manifest_reads_back(sample_archive):
    again = read_manifest(sample_archive.root)
    assert [r.rootname for r in again.rootnames] == [r.rootname for r in sample_archive.rootnames]
    assert again.rootnames[0].promoted == sample_archive.rootnames[0].promoted
    assert (sample_archive.root / MANIFEST_NAME).is_file()


def test_proposal_types_table_matches_the_headers_plan(sample_archive):
    from acsq_mongo.ingest.proposal_types import load_proposal_types

    table = load_proposal_types(sample_archive.root / PROPOSAL_TYPES_NAME)
    planned = {r.promoted["proposid"]: r.promoted["proposal_type"]
               for r in sample_archive.rootnames}
    assert table == planned
    assert set(table.values()) <= {"GO", "SNAP", "GTO/ACS", "GO/DD", "GO/PAR", "CAL/ACS"}


def test_all_detectors_and_filetypes_with_their_hdu_counts(sample_archive):
    reference = load_reference()
    detectors, filetypes = set(), set()
    for r in sample_archive.rootnames:
        detector = r.promoted["detector"]
        detectors.add(detector)
        for filetype in r.filetypes:
            filetypes.add(filetype)
            assert filetype in reference["hdu_count"][detector], (r.rootname, filetype)
            path = sample_archive.root / r.path / f"{r.rootname}_{filetype}.fits"
            with fits.open(path) as hdul:
                n = len(hdul)
            assert n == r.n_hdus[filetype]
            expected = reference["hdu_count"][detector][filetype]
            if r.n_chips == 1 and detector == "WFC" and filetype in (
                    "raw", "flt", "flc", "crj", "crc"):
                expected = 4  # a WFC subarray has one chip, as real ones do
            assert n == expected, (r.rootname, filetype)
    assert detectors == set(DETECTORS)
    assert filetypes == set(FILETYPES)


def test_every_inventory_keyword_is_written(sample_archive):
    reference = load_reference()["keywords"]
    checked = 0
    for r in sample_archive.rootnames[:12]:
        for filetype in r.filetypes:
            path = sample_archive.root / r.path / f"{r.rootname}_{filetype}.fits"
            with fits.open(path) as hdul:
                for ext, hdu in enumerate(hdul):
                    combo = f"{r.promoted['detector'].lower()}_{filetype}_{ext}"
                    present = set(hdu.header.keys())
                    for key, kind in reference.get(combo, []):
                        if key.startswith(_STRUCTURAL_PREFIXES) or key in (
                                "TFIELDS", "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "EXTEND"):
                            continue
                        if ext == 0 and key in POST_SM4_KEYWORDS and post_sm4(r) is False:
                            # A WFC file from before SM4 (2009-05-14, hstcal's SM4MJD)
                            # lacks the keywords of the electronics installed then.
                            assert r.promoted["expstart"] < 54967 and key not in present
                            continue
                        assert key in present, (path.name, ext, key)
                        value = hdu.header[key]
                        expected = {"Integer": int, "Float": (int, float), "String": str,
                                    "Bool": bool}[kind]
                        # Structural keywords are astropy's (the inventory even types one
                        # BITPIX as a string); every other value has the inventory's type.
                        # Record-valued keywords (DP2.AXIS.2) always hold numbers.
                        if key not in ("EXTVER", "NEXTEND", "BITPIX", "SIMPLE", "XTENSION",
                                       "GROUPS", "EXTNAME") and "." not in key:
                            assert isinstance(value, expected), (path.name, ext, key, value)
                        checked += 1
    assert checked > 10000


def test_drizzled_primary_headers_carry_about_960_keywords(sample_archive):
    sizes = []
    for r in sample_archive.rootnames:
        if "drz" in r.filetypes:
            with fits.open(sample_archive.root / r.path / f"{r.rootname}_drz.fits") as hdul:
                sizes.append(len(hdul[0].header))
    assert sizes and min(sizes) > 900


def test_key_metadata_agrees_with_itself(sample_archive):
    reference = load_reference()
    prefixes = defaultdict(set)
    for r in sample_archive.rootnames:
        p = r.promoted
        prefixes[p["proposid"]].add(r.rootname[:4])
        assert r.rootname[:4] == r.path.split("/")[0] and r.path.endswith(r.rootname)
        apertures = reference["key_values"]["APERTURE"]
        assert p["aperture"] in apertures and p["aperture"].startswith(p["detector"])
        assert p["subarray"] == p["aperture"].endswith(("-512", "-1K", "-2K"))
        when = datetime.datetime.fromisoformat(p["date_obs"])
        if p["detector"] == "HRC":
            assert datetime.datetime(2002, 3, 1) < when < datetime.datetime(2007, 1, 1)
        if p["detector"] == "WFC":
            assert not datetime.datetime(2007, 1, 1) <= when < datetime.datetime(2009, 6, 1)
        best = next(ft for ft in FILETYPES if ft in r.filetypes)
        with fits.open(sample_archive.root / r.path / f"{r.rootname}_{best}.fits") as hdul:
            h = hdul[0].header
        assert h["PROPOSID"] == p["proposid"] and h["DETECTOR"] == p["detector"]
        assert h["APERTURE"] == p["aperture"] and h["SUBARRAY"] == p["subarray"]
        start = datetime.datetime.fromisoformat(f"{h['DATE-OBS']}T{h['TIME-OBS']}")
        assert start == when
        assert h["EXPSTART"] == pytest.approx(mjd(start), abs=1e-7)
        assert h["EXPEND"] == pytest.approx(h["EXPSTART"] + h["EXPTIME"] / 86400, abs=1e-7)
        if p["obstype"] == "INTERNAL":
            assert p["targname"] in ("BIAS", "DARK") and p["ra_targ"] == 0.0
        if "flc" in r.filetypes or "drc" in r.filetypes or "crc" in r.filetypes:
            assert p["detector"] == "WFC"
    # One prefix per proposal, and no two proposals share one.
    assert all(len(v) == 1 for v in prefixes.values())
    assert len({next(iter(v)) for v in prefixes.values()}) == len(prefixes)


def test_targets_near_the_ra_wrap_and_the_poles(sample_archive):
    positions = [(r.promoted["ra_targ"], r.promoted["dec_targ"]) for r in sample_archive.rootnames]
    assert any(ra > 359 for ra, _ in positions) and any(0 < ra < 1 for ra, _ in positions)
    assert any(dec > 89 for _, dec in positions) and any(dec < -89 for _, dec in positions)


def test_images_have_stars_hot_pixels_and_cosmic_rays(sample_archive):
    r = next(r for r in sample_archive.rootnames
             if r.n_chips == 2 and {"raw", "flt"} <= set(r.filetypes)
             and r.promoted["obstype"] != "INTERNAL")
    with fits.open(sample_archive.root / r.path / f"{r.rootname}_flt.fits") as hdul:
        chips = [hdul["SCI", 1].data, hdul["SCI", 2].data]
        assert hdul[1].data.shape == (128, 256) and hdul[1].data.dtype == np.dtype(">f4")
    for sci in chips:
        median = np.median(sci)
        assert np.count_nonzero(sci > median + 500) > 20  # stars, hot pixels, cosmic rays
    assert not np.array_equal(chips[0], chips[1])
    with fits.open(sample_archive.root / r.path / f"{r.rootname}_raw.fits") as hdul:
        assert hdul[1].header["BITPIX"] == 16 and hdul[1].header["BZERO"] == 32768
        assert hdul[1].data.dtype == np.uint16
        assert hdul[2].header["NAXIS"] == 0  # raw ERR is empty, as in real raw files


def test_full_size_has_real_dimensions(tmp_path):
    plan = plan_rootname("jfull01aq", "WFC", ["flt"], full_size=True)
    assert plan.shape == (2048, 4096) and plan.n_chips == 2
    hrc = write_rootname(tmp_path, plan_rootname("jfull02aq", "HRC", ["raw"], full_size=True))
    with fits.open(tmp_path / hrc.path / "jfull02aq_raw.fits") as hdul:
        # The 1024 science columns after 19 physical overscan columns (sample.injections).
        assert hdul[1].data.shape == (1024, 1024 + 19) and hdul[1].header["LTV1"] == 19


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(AcsqError, match="not an empty folder"):
        make_sample_archive(tmp_path, 3)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_cli_and_script(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "cli"), "--rootnames", "3", "--seed", "2"]) == 0
    assert "wrote 3 rootnames" in capsys.readouterr().out
    assert main(["sample", str(tmp_path / "cli")]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_sample_archive.py"),
         str(tmp_path / "script"), "--rootnames", "3", "--seed", "2"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert _digest(tmp_path / "cli") == _digest(tmp_path / "script")
