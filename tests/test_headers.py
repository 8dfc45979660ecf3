"""headers: every HDU header of a FITS file, typed and lenient, without pixel data."""

from __future__ import annotations

from pathlib import Path

import astropy
import numpy as np
import pytest
from astropy.io import fits

from acsq_mongo.db.keys import escape_key, unescape_key
from acsq_mongo.ingest.cards import parse_cards
from acsq_mongo.ingest.headers import HeaderReadError, read_headers

REAL_FLT = Path(astropy.__file__).parent / "wcs" / "tests" / "data" / "j94f05bgq_flt.fits"
REAL_STIS = Path(astropy.__file__).parent / "io" / "fits" / "tests" / "data" / "o4sp040b0_raw.fits"


def _cards(*lines: str) -> list[str]:
    return [line.ljust(80)[:80] for line in lines]


def _fits_bytes(primary: list[str], *extensions: tuple[list[str], bytes]) -> bytes:
    """A FITS file from raw card lines, so that tests can write what astropy won't."""

    def header(cards: list[str]) -> bytes:
        raw = "".join(_cards(*cards, "END")).encode("latin-1")
        return raw + b" " * (-len(raw) % 2880)

    out = header(primary)
    for cards, data in extensions:
        out += header(cards) + data + b"\0" * (-len(data) % 2880)
    return out


_PRIMARY = ["SIMPLE  =                    T", "BITPIX  =                    8",
            "NAXIS   =                    0", "EXTEND  =                    T"]


def _astropy_values(hdu_header: fits.Header) -> dict:
    """What astropy reads: first value of each non-commentary keyword."""
    out = {}
    for card in hdu_header.cards:
        if card.keyword in ("COMMENT", "HISTORY", "") or card.keyword in out:
            continue
        out[card.keyword] = card.value
    return out


def test_a_real_acs_flt_reads_like_astropy_reads_it():
    result = read_headers(REAL_FLT)
    assert result.n_hdus == 7 and result.error is None
    with fits.open(REAL_FLT) as hdul:
        for i, hdu in enumerate(hdul):
            mine = {unescape_key(k): v for k, v in result.headers[str(i)].items()}
            for keyword, value in _astropy_values(hdu.header).items():
                assert mine[keyword] == value, (i, keyword)
                assert type(mine[keyword]) is type(value), (i, keyword)
            assert mine.get("HISTORY", []) == [str(v) for v in hdu.header.get("HISTORY", [])]
    primary = result.headers["0"]
    assert primary["DETECTOR"] == "WFC" and primary["PROPOSID"] == 10368
    assert primary["EXPTIME"] == 400.0 and primary["SUBARRAY"] is False
    assert result.headers["4"]["EXTNAME"] == "SCI" and result.headers["4"]["EXTVER"] == 2


def test_headers_of_a_big_file_are_read_without_its_data(tmp_path):
    path = tmp_path / "big_flt.fits"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2048, 1024), np.float32),
                                                           name="SCI")])
    hdul[1].header["CCDGAIN"] = 2.0
    hdul.writeto(path)
    result = read_headers(path)
    assert result.headers["1"]["NAXIS1"] == 1024 and result.headers["1"]["CCDGAIN"] == 2.0
    assert result.n_hdus == 2 and result.error is None and result.problems == []


def test_typed_values_nulls_and_commentary():
    cards = _cards(
        "SIMPLE  =                    T / standard",
        "INTKEY  =                  -42 / an int",
        "FLTKEY  =              1.5E+02 / a float",
        "DFLT    =              2.5D-01",
        "STRKEY  = 'O''Hara  '           / quotes doubled, trailing blanks dropped",
        "LEADING = '  lead'",
        "UNDEF   =                      / no value",
        "BADNAN  =                  NaN / not FITS, but seen",
        "BADINF  =                 -Inf",
        "GARBAGE =  this is not a value",
        "COMMENT first comment",
        "HISTORY step one",
        "COMMENT second comment",
        "",
        "              / SECTION TITLE",
        "HUGE    = 123456789012345678901234",
        "INTKEY  =                    7 / a duplicate",
    )
    values, nulls, problems = parse_cards(cards, "HDU 0")
    assert values["INTKEY"] == -42 and type(values["INTKEY"]) is int
    assert values["FLTKEY"] == 150.0 and type(values["FLTKEY"]) is float
    assert values["DFLT"] == 0.25
    assert values["STRKEY"] == "O'Hara" and values["LEADING"] == "  lead"
    assert values["UNDEF"] is None and nulls["UNDEF"] == "undefined"
    assert values["BADNAN"] is None and nulls["BADNAN"] == "nan"
    assert values["BADINF"] is None and nulls["BADINF"] == "-inf"
    assert values["GARBAGE"] == "this is not a value"
    assert values["COMMENT"] == ["first comment", "second comment"]
    assert values["HISTORY"] == ["step one"]
    assert values["%"] == ["      / SECTION TITLE"]  # blank keyword, blank card skipped
    assert values["HUGE"] == "123456789012345678901234"
    assert any("GARBAGE" in p for p in problems)
    assert any("duplicate" in p and "INTKEY" in p for p in problems)
    assert any("64 bits" in p for p in problems)
    # Everything is plain Python: nothing astropy-specific leaks out.
    for value in values.values():
        assert value is None or type(value) in (bool, int, float, str, list)


def test_astropy_conventions_record_valued_continue_hierarch_complex():
    long_value = "x" * 100 + "END"
    header = fits.Header()
    header["DP1.EXTVER"] = 1
    header["DP1.AXIS.1"] = 1
    header["LONGSTR"] = long_value
    header["HIERARCH ESO LONG KEYWORD"] = 3
    header["CPLX"] = complex(1, 2)
    with pytest.warns(fits.verify.VerifyWarning, match="HIERARCH"):
        header["$DOLLAR"] = "d"
    cards = [header.tostring()[i: i + 80] for i in range(0, len(header.tostring()), 80)]
    cards = [c for c in cards if c.strip() and not c.startswith("END ")]
    values, nulls, problems = parse_cards(cards)
    assert values[escape_key("DP1.EXTVER")] == 1.0
    assert values["DP1%2EAXIS%2E1"] == 1.0
    assert values["LONGSTR"] == long_value
    assert values["ESO LONG KEYWORD"] == 3
    assert values["CPLX"] == "(1+2j)"
    assert values["%24DOLLAR"] == "d"
    assert nulls == {}


@pytest.mark.parametrize(
    "keyword",
    ["D2IM1.EXTVER", "DP2.AXIS.1", "$OPEN", "50%", "%2E", "", "NUL\x00KEY", "A.$B", "%", "%%.$"],
)
def test_escaping_is_reversible_and_mongo_safe(keyword):
    key = escape_key(keyword)
    assert unescape_key(key) == keyword
    assert "." not in key and "\x00" not in key and not key.startswith("$") and key != ""


def test_escaping_is_documented_exactly():
    assert escape_key("D2IM1.EXTVER") == "D2IM1%2EEXTVER"
    assert escape_key("$X") == "%24X" and escape_key("A$") == "A$"
    assert escape_key("") == "%" and escape_key("%") == "%25"
    assert escape_key("DATE-OBS") == "DATE-OBS"


def test_non_ascii_bytes_are_read_not_dropped(tmp_path):
    raw = _fits_bytes(_PRIMARY + ["TARGNAME= 'CAF\xc9-FIELD'", "OBSERVER= 'x'"])
    path = tmp_path / "latin_raw.fits"
    path.write_bytes(raw)
    result = read_headers(path)
    assert result.headers["0"]["TARGNAME"] == "CAF\xc9-FIELD"
    assert result.headers["0"]["OBSERVER"] == "x"
    assert any("non-ASCII" in p and "TARGNAME" in p for p in result.problems)


def test_utf8_bytes_are_decoded_as_utf8(tmp_path):
    card = b"PR_INV_L= '" + "Müller".encode() + b"'"
    raw = _fits_bytes(_PRIMARY)
    # Put the card right after the primary's structural cards.
    raw = raw[:320] + card.ljust(80) + raw[320:-80]
    path = tmp_path / "utf8_raw.fits"
    path.write_bytes(raw)
    assert read_headers(path).headers["0"]["PR_INV_L"] == "Müller"


def test_an_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty_raw.fits"
    path.write_bytes(b"")
    with pytest.raises(HeaderReadError, match="empty file"):
        read_headers(path)


def test_a_file_that_is_not_fits_is_an_error(tmp_path):
    path = tmp_path / "garbage_raw.fits"
    path.write_bytes(b"<html>this is an error page from a web server</html>\n" * 100)
    with pytest.raises(HeaderReadError, match="not a FITS file"):
        read_headers(path)


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(HeaderReadError, match="cannot read file"):
        read_headers(tmp_path / "missing_raw.fits")


def test_truncated_inside_the_primary_header_is_an_error(tmp_path):
    path = tmp_path / "cut_raw.fits"
    path.write_bytes(REAL_FLT.read_bytes()[:5000])
    with pytest.raises(HeaderReadError, match="truncated"):
        read_headers(path)


def test_truncated_data_keeps_the_headers_before_the_damage(tmp_path):
    path = tmp_path / "cut_flt.fits"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((64, 64), np.float32)),
                         fits.ImageHDU(np.ones((64, 64), np.float32))])
    hdul[0].header["DETECTOR"] = "HRC"
    hdul.writeto(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10000])
    result = read_headers(path)
    assert "truncated" in result.error
    assert result.headers["0"]["DETECTOR"] == "HRC"
    assert "1" in result.headers


def test_trailing_junk_after_the_last_hdu_is_reported_not_fatal(tmp_path):
    path = tmp_path / "junk_flt.fits"
    path.write_bytes(_fits_bytes(_PRIMARY) + b"JUNK" * 100)
    result = read_headers(path)
    assert result.error is None and result.n_hdus == 1
    assert any("not a FITS extension" in p for p in result.problems)


def test_a_non_acs_file_reads_too():
    result = read_headers(REAL_STIS)
    assert result.headers["0"]["INSTRUME"].strip() == "STIS"
    assert result.error is None


def test_float_nan_and_inf_become_null(tmp_path):
    values, nulls, _ = parse_cards(_cards("BIGF    =              1.0E+999"))
    assert values["BIGF"] is None and nulls["BIGF"] == "inf"


def test_card_comments_are_read_apart_from_values_as_astropy_reads_them():
    result = read_headers(REAL_FLT)
    n_compared = 0
    with fits.open(REAL_FLT) as hdul:
        for i, hdu in enumerate(hdul):
            mine = {unescape_key(k): c for k, c in result.comments.get(str(i), {}).items()}
            seen = set()
            for card in hdu.header.cards:
                if card.keyword in ("COMMENT", "HISTORY", "") or card.keyword in seen:
                    continue
                seen.add(card.keyword)
                assert mine.get(card.keyword, "") == card.comment.rstrip(), (i, card.keyword)
                n_compared += bool(card.comment)
    assert n_compared > 100
    assert result.comments["0"]["SIMPLE"] == "Fits standard"  # as this file writes it
    assert result.headers["0"]["SIMPLE"] is True  # the value is not touched


def test_comments_of_odd_cards():
    comments: dict[str, str] = {}
    cards = _cards("SIMPLE  =                    T / standard",
                   "STRKEY  = 'a / b'              / slash inside the string",
                   "NOCOMM  =                    3",
                   "D2IM1   = 'EXTVER: 1' / record-valued",
                   "INTKEY  =                    1 / first",
                   "INTKEY  =                    2 / a duplicate")
    values, _, _ = parse_cards(cards, "HDU 0", comments)
    assert values["STRKEY"] == "a / b" and comments["STRKEY"] == "slash inside the string"
    assert "NOCOMM" not in comments and comments["D2IM1%2EEXTVER"] == "record-valued"
    assert comments["INTKEY"] == "first" and values["INTKEY"] == 1
