"""The sample generator writes FITS bytes directly: the same bytes as astropy's writer.

astropy is the oracle twice over: each encoder of ``sample/fits_bytes.py`` against
astropy's HDU classes on arrays and tables of every type it takes, and whole sample
archives (every detector and filetype, the ``--structures`` files) against the
generator's own astropy writer (``writer="astropy"``), byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from acsq_mongo.errors import AcsqError
from acsq_mongo.sample import load_reference, make_sample_archive, plan_rootname, write_rootname
from acsq_mongo.sample.fits_bytes import BLOCK, bintable_hdu, card_image, image_hdu, primary_hdu
from acsq_mongo.sample.structures import write_structures


def _astropy_bytes(hdus) -> bytes:
    out = io.BytesIO()
    fits.HDUList(hdus).writeto(out)
    return out.getvalue()


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha1(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns if p.suffix in (".fits", ".gz") else 0)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


# Arrays of every type the image encoder takes (callables: conftest reads the parameters).
_ARRAYS = {
    "uint8": lambda: np.arange(12, dtype=np.uint8).reshape(3, 4),
    "int16": lambda: np.arange(-6, 6, dtype=np.int16).reshape(4, 3),
    "uint16": lambda: np.array([[0, 1, 32767], [32768, 65534, 65535]], np.uint16),  # BZERO
    "int32-3d": lambda: np.arange(-30, 30, dtype=np.int32).reshape(3, 4, 5),
    "int64-1d": lambda: np.arange(7, dtype=np.int64) * -(2 ** 40),
    "float32": lambda: np.array([[1.5, -0.0, np.nan], [np.inf, -1e-30, 3e38]], np.float32),
    "float64": lambda: np.linspace(-1, 1, 2000).reshape(40, 50),  # over a block of data
    "none": lambda: None,  # no data: NAXIS = 0
}


@pytest.mark.parametrize("kind", list(_ARRAYS))
def test_image_hdus_are_astropys_bytes(kind):
    data = _ARRAYS[kind]()
    cards = [card_image("EXTNAME", "SCI", "extension name"), card_image("EXTVER", 1)]
    mine = primary_hdu([]) + image_hdu(cards, data)
    hdu = fits.ImageHDU(data=data)
    hdu.header.extend([("EXTNAME", "SCI", "extension name"), ("EXTVER", 1)], end=True)
    assert mine == _astropy_bytes([fits.PrimaryHDU(), hdu])
    assert len(mine) % BLOCK == 0
    with fits.open(io.BytesIO(mine)) as hdul:  # and it reads back as the same array
        if data is None:
            assert hdul[1].data is None
        else:
            np.testing.assert_array_equal(hdul[1].data, data)
            assert hdul[1].data.dtype.str[1:] == data.dtype.str[1:]  # big-endian


def test_a_binary_table_is_astropys_bytes():
    columns = [("NAME", "14A", np.array(["J8CW01010", "J8CW01A1Q", ""])),
               ("FLAG", "L", np.array([True, False, True])),
               ("B", "B", np.array([0, 7, 255], np.uint8)),
               ("I", "I", np.array([-1, 2, 3], np.int16)),
               ("J", "J", np.array([-70000, 2, 3], np.int32)),
               ("K", "K", np.array([2 ** 40, 2, 3])),
               ("E", "E", np.array([1.5, np.nan, -2], np.float32)),
               ("D", "D", np.array([1e300, -0.0, 2]))]
    cards = [card_image("EXTNAME", "ASN", "extension name"), card_image("EXTVER", 1)]
    mine = primary_hdu([], groups=True) + bintable_hdu(columns, cards)
    primary = fits.PrimaryHDU()
    primary.header.insert("NAXIS", ("GROUPS", False), after=True)
    table = fits.BinTableHDU.from_columns([fits.Column(n, f, array=a) for n, f, a in columns])
    table.header.extend([("EXTNAME", "ASN", "extension name"), ("EXTVER", 1)], unique=True)
    assert mine == _astropy_bytes([primary, table])


def test_long_hierarch_and_record_valued_cards_are_astropys():
    long = "a long value, " * 9 + "end"
    items = [("HISTORY", "x" * 150), ("LONGSTR", long, "c"), ("DP1.EXTVER", 2.0),
             ("HIERARCH A_VERY_LONG_KEYWORD", 1.25)]
    primary = fits.PrimaryHDU()
    primary.header.extend(fits.Header(items), end=True)
    mine = primary_hdu([card_image(*item) for item in items])
    assert mine == _astropy_bytes([primary])
    with fits.open(io.BytesIO(mine)) as hdul:
        assert hdul[0].header["LONGSTR"] == long
        assert hdul[0].header["DP1.EXTVER"] == 2.0
        assert hdul[0].header["A_VERY_LONG_KEYWORD"] == 1.25


def test_sample_archive_is_the_astropy_writers_bytes(sample_archive, tmp_path):
    """Every file of the session's sample, and its mtime."""
    again = make_sample_archive(tmp_path / "astropy", len(sample_archive.rootnames),
                                seed=sample_archive.seed, writer="astropy")
    assert _digest(sample_archive.root) == _digest(again.root)
    assert len(_digest(again.root)) > 100
    assert [r.n_hdus for r in sample_archive.rootnames] == [r.n_hdus for r in again.rootnames]


def test_every_detector_and_filetype_is_the_astropy_writers_bytes(tmp_path):
    """A rootname of each detector with every filetype the inventory gives it."""
    reference = load_reference()
    for writer in ("bytes", "astropy"):
        for k, (detector, filetypes) in enumerate(reference["hdu_count"].items()):
            r = plan_rootname(f"j8aa0{k}abq", detector=detector, filetypes=tuple(filetypes),
                              seed=k)
            write_rootname(tmp_path / writer, r, seed=5, writer=writer)
    mine, theirs = _digest(tmp_path / "bytes"), _digest(tmp_path / "astropy")
    assert mine == theirs
    assert len(mine) == sum(len(fts) for fts in reference["hdu_count"].values()) == 26


def test_files_are_valid_fits(sample_archive):
    """Each file opens without a warning, passes astropy's verify, in whole blocks."""
    seen = set()
    for path in sorted(sample_archive.root.rglob("*.fits")):
        assert path.stat().st_size % BLOCK == 0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(path) as hdul:
                hdul.verify("exception")
                for hdu in hdul[1:]:
                    seen.add((type(hdu).__name__, hdu.header["BITPIX"],
                              hdu.header.get("BZERO"), hdu.data is None))
                    assert list(hdu.header)[:2] == ["XTENSION", "BITPIX"]
                assert list(hdul[0].header)[:4] == ["SIMPLE", "BITPIX", "NAXIS", "EXTEND"]
    assert {("ImageHDU", 16, 32768, False), ("ImageHDU", 8, None, True),
            ("ImageHDU", -32, None, False), ("ImageHDU", 32, None, False),
            ("BinTableHDU", 8, None, False)} <= seen


def test_structures_are_the_astropy_writers_bytes(tmp_path):
    mine = write_structures(tmp_path / "bytes", seed=4)
    theirs = write_structures(tmp_path / "astropy", seed=4, writer="astropy")
    assert [s.files for s in mine] == [s.files for s in theirs]
    # Every file, the tile-compressed flt (a fixed dither seed) and the files rewritten
    # after writing included: the same bytes and the same dates.
    a, b = _digest(tmp_path / "bytes"), _digest(tmp_path / "astropy")
    assert a.keys() == b.keys() and len(a) > 40
    assert a == b


def test_an_unknown_writer_is_refused(tmp_path):
    with pytest.raises(AcsqError, match="unknown writer"):
        make_sample_archive(tmp_path / "a", 1, writer="pyfits")
