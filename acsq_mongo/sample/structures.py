"""The structures of the real archive that a plain sample leaves out (``acsq sample --structures``).

:func:`write_structures` adds to a sample archive one proposal whose rootnames
hold, each, one structure the real ACS archive serves:

- **an association with sub-products in folders of their own**: the product
  ``<p>01010`` (asn, drz, drc), its CR-split sub-products ``<p>01011`` and
  ``<p>01012`` (crj, crc), and four member exposures; the asn table lists a
  fifth exposure that is not in the archive (``MEMPRSNT = F``);
- **a retransmission**: ``<p>02aaq`` and ``<p>02aar``, the same exposure twice;
- **a gzip-compressed file**: an flt as ``_flt.fits.gz``;
- **a tile-compressed flt** (``CompImageHDU``, RICE);
- **modern flt and flc files** with ``D2IMARR``, ``WCSDVARR``, ``WCSCORR`` (a
  binary table) and ``HDRLET`` extensions after SCI/ERR/DQ, and the SCI
  keywords that point at them (``D2IMEXT``, ``NPOLEXT``, record-valued ``DP1``);
- **HRC and SBC** exposures (4 HDUs), a **WFC subarray** (4 HDUs);
- **internal frames**: a DARK and a BIAS (``OBSTYPE`` INTERNAL, ``RA_TARG`` 0);
- **both WFC eras**: a WFC exposure of 2004 and one of 2016, before and after the repair in
  SM4 (May 2009), each with its era's keywords (:mod:`acsq_mongo.sample.eras`).

Every file keeps the inventory's keywords (:mod:`acsq_mongo.sample.acs`),
since each starts as a plain sample file (:func:`~acsq_mongo.sample.files.write_rootname`)
and is then changed the way the archive changes it. :class:`Structure` records
what each rootname is, for tests.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acsq_mongo.sample.acs import mjd
from acsq_mongo.sample.plan import SampleRootname, _is_subarray, _shape, plan_rootname

__all__ = ["Structure", "STRUCTURES_NAME", "STRUCTURES_PROGRAM", "write_structures"]

#: What :func:`write_structures` wrote, at the archive root.
STRUCTURES_NAME = "sample_structures.json"

#: The 4 characters every structure's rootname starts with (program ``s22``).
STRUCTURES_PROGRAM = "js22"

#: The extensions a modern flt or flc carries after SCI/ERR/DQ: (EXTNAME, EXTVER).
MODERN_EXTENSIONS = (("D2IMARR", 1), ("D2IMARR", 2), ("WCSDVARR", 1), ("WCSDVARR", 2),
                     ("WCSDVARR", 3), ("WCSDVARR", 4), ("WCSCORR", 1), ("HDRLET", 1))


@dataclass
class Structure:
    """One structure written: its kind, its rootnames and what a test may rely on.

    Attributes
    ----------
    kind : str
        ``association``, ``retransmission``, ``gzip``, ``tile_compressed``, ``modern``,
        ``hrc``, ``sbc``, ``subarray``, ``internal``, ``eras`` (pre-SM4 first).
    rootnames : list of SampleRootname
        What was planned and written (``n_hdus`` filled in).
    files : list of str
        Every file written, relative to the archive root.
    asn_id : str or None
        The association's ID (lower case) for ``association``.
    absent : list of str
        Rootnames the asn table lists that are not in the archive.
    """

    kind: str
    rootnames: list[SampleRootname]
    files: list[str] = field(default_factory=list)
    asn_id: str | None = None
    absent: list[str] = field(default_factory=list)


def _plan(rootname: str, detector: str, filetypes, seed: int, **promoted) -> SampleRootname:
    r = plan_rootname(rootname, detector=detector, filetypes=filetypes, seed=seed)
    r.promoted.update(proposid=12022, proposal_type="CAL/ACS", **promoted)
    r.promoted["subarray"] = _is_subarray(r.promoted["aperture"])
    r.shape, r.n_chips = _shape(detector, r.promoted["aperture"], False)
    return r


def _write(root: Path, r: SampleRootname, seed: int, reference, writer: str) -> list[str]:
    from acsq_mongo.sample.files import write_rootname

    write_rootname(root, r, seed, reference, writer)
    return [f"{r.path}/{r.rootname}_{ft}.fits" for ft in r.filetypes]


def _association(root: Path, seed: int, reference, writer: str) -> Structure:
    asn = f"{STRUCTURES_PROGRAM}01010"
    common = {"asn_id": asn.upper(), "targname": "NGC104", "ra_targ": 6.0236,
              "dec_targ": -72.0813}
    members = [_plan(f"{STRUCTURES_PROGRAM}01{code}q", "WFC", ("raw", "flt", "flc", "spt"),
                     seed + k, **common) for k, code in enumerate(("a1", "a2", "a3", "a4"))]
    subs = [_plan(f"{STRUCTURES_PROGRAM}0101{k}", "WFC", ("crj", "crc"), seed + 10 + k,
                  **common) for k in (1, 2)]
    product = _plan(asn, "WFC", ("asn", "drz", "drc"), seed + 20, **common)
    absent = f"{STRUCTURES_PROGRAM}01a5q"
    rows = [(m.rootname, f"EXP-CR{1 + k // 2}", True) for k, m in enumerate(members)]
    rows += [(absent, "EXP-CR3", False)]
    rows += [(s.rootname, f"PROD-CR{k + 1}", True) for k, s in enumerate(subs)]
    rows += [(asn, "PROD-DTH", True)]
    product.members = [m.rootname for m in members]
    for r in [*members, *subs]:
        r.kind = "member" if r in members else "product"
    product.kind = "product"
    files: list[str] = []
    for r in [*members, *subs, product]:
        files += _write(root, r, seed, reference, writer)
    _asn_table(root / product.path / f"{asn}_asn.fits", rows)
    return Structure("association", [*members, *subs, product], files, asn_id=asn,
                     absent=[absent])


def _asn_table(path: Path, rows: list[tuple[str, str, bool]]) -> None:
    """Rewrite an asn file's table with ``rows`` (MEMNAME, MEMTYPE, MEMPRSNT)."""
    from astropy.io import fits

    stamp = path.stat().st_mtime
    with fits.open(path) as hdul:
        header = hdul[1].header.copy()
        primary = hdul[0].copy()
    table = fits.BinTableHDU.from_columns([
        fits.Column("MEMNAME", "14A", array=np.array([n.upper() for n, _, _ in rows])),
        fits.Column("MEMTYPE", "14A", array=np.array([t for _, t, _ in rows])),
        fits.Column("MEMPRSNT", "L", array=np.array([p for _, _, p in rows])),
    ])
    for card in header.cards:
        if card.keyword not in table.header and not card.keyword.startswith(
                ("TTYPE", "TFORM", "NAXIS", "TFIELDS")):
            table.header.append(card)
    fits.HDUList([primary, table]).writeto(path, overwrite=True)
    os.utime(path, (stamp, stamp))


def _gzip(path: Path) -> Path:
    """Replace a file by its gzip-compressed copy, ``<name>.gz``."""
    target = path.with_name(path.name + ".gz")
    stamp = path.stat().st_mtime
    with open(path, "rb") as src, open(target, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as dst:  # same seed, same bytes
        shutil.copyfileobj(src, dst)
    path.unlink()
    os.utime(target, (stamp, stamp))
    return target


def _tile_compress(path: Path) -> None:
    """Rewrite an flt with every image extension tile-compressed (RICE), keeping its date.

    Float images are quantized with a fixed dither seed (astropy's default seeds
    from the clock), so that the same seed writes the same bytes.
    """
    from astropy.io import fits

    stamp = path.stat().st_mtime
    with fits.open(path) as hdul:
        hdus = [hdul[0].copy()]
        for hdu in hdul[1:]:
            data = hdu.data if hdu.data is not None else np.zeros((4, 4), np.float32)
            # RICE for every image, as the archive's tile-compressed files have it (floats
            # quantized first); a gzip tile would carry the clock in its stream header.
            hdus.append(fits.CompImageHDU(data=data, header=hdu.header,
                                          compression_type="RICE_1", dither_seed=1))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    os.utime(path, (stamp, stamp))


def _modernise(path: Path) -> None:
    """Add the extensions of a file reprocessed since 2019, and the SCI keywords naming them."""
    from astropy.io import fits

    stamp = path.stat().st_mtime
    with fits.open(path) as hdul:
        hdus = [hdu.copy() for hdu in hdul]
    for hdu in hdus[1:]:
        if hdu.header.get("EXTNAME") != "SCI":
            continue
        chip = hdu.header.get("EXTVER", 1)
        hdu.header["D2IMEXT"] = ("jref$02c1450rj_d2i.fits", "distortion correction reference")
        hdu.header["NPOLEXT"] = ("jref$02c1450oj_npl.fits", "non-polynomial reference")
        hdu.header["WCSNAME"] = "IDC_2731450pj"
        for axis in (1, 2):
            # The lookup tables this chip's WCS uses (the distortion paper's records): its
            # D2IMARR for both axes, and a WCSDVARR for each.
            hdu.header[f"D2IMDIS{axis}"] = "Lookup"
            hdu.header[f"CPDIS{axis}"] = "Lookup"
            # The tables' largest corrections, in pixels (the template's are random, and a
            # negative one makes astropy refuse the WCS).
            hdu.header[f"D2IMERR{axis}"] = 0.03
            hdu.header[f"CPERR{axis}"] = 0.04
            for record, extver in (("D2IM", chip), ("DP", 2 * (chip - 1) + axis)):
                # In the paper's order (NAXES before the AXIS records, which wcslib needs),
                # not the template's alphabetical one.
                for key in [k for k in hdu.header if k.startswith(f"{record}{axis}.")]:
                    del hdu.header[key]
                hdu.header[f"{record}{axis}.EXTVER"] = float(extver)
                hdu.header[f"{record}{axis}.NAXES"] = 2.0
                hdu.header[f"{record}{axis}.AXIS.1"] = 1.0
                hdu.header[f"{record}{axis}.AXIS.2"] = 2.0
    yy, xx = np.mgrid[0:33, 0:65].astype(np.float32)
    for extname, extver in MODERN_EXTENSIONS:
        header = fits.Header([("EXTNAME", extname), ("EXTVER", extver)])
        if extname in ("D2IMARR", "WCSDVARR"):
            header.update(CRPIX1=0.0, CRPIX2=0.0, CRVAL1=0.0, CRVAL2=0.0, CDELT1=64.0,
                          CDELT2=64.0)
            # Smooth corrections of a few hundredths of a pixel, as real tables have.
            table = 0.04 * np.sin(xx / (7 + extver)) * np.cos(yy / 5)
            if extname == "D2IMARR":
                table = 0.03 * np.cos(xx / (4 + extver))  # along x only
            hdus.append(fits.ImageHDU(table.astype(np.float32), header=header))
        elif extname == "WCSCORR":
            table = fits.BinTableHDU.from_columns([
                fits.Column("WCS_ID", "40A", array=np.array(["OPUS", "IDC_2731450pj"])),
                fits.Column("EXTVER", "I", array=np.array([1, 1])),
                fits.Column("CRVAL1", "D", array=np.array([6.0236, 6.0236])),
            ], header=header)
            hdus.append(table)
        else:
            # A headerlet: a whole FITS file in an extension, as STWCS writes it.
            inner = fits.HDUList([fits.PrimaryHDU(header=fits.Header([("HDRNAME", "j_hlet")]))])
            headerlet = fits.FitsHDU.fromhdulist(inner)
            headerlet.header.update(header)
            hdus.append(headerlet)
    fits.HDUList(hdus).writeto(path, overwrite=True, output_verify="silentfix")
    os.utime(path, (stamp, stamp))


def write_structures(root: str | os.PathLike, seed: int = 0, writer: str = "bytes"
                     ) -> list[Structure]:
    """Write one rootname (or group) of each structure into the archive ``root``.

    Parameters
    ----------
    root : path-like
        An archive root (it may already hold a sample).
    seed : int
        The same seed gives the same headers and pixels.
    writer : {"bytes", "astropy"}
        How the plain sample files are written, as for
        :func:`~acsq_mongo.sample.files.make_sample_archive`.

    Returns
    -------
    structures : list of Structure
        Also listed in ``sample_structures.json`` at ``root`` (rootnames and files of each).
    """
    from acsq_mongo.sample.acs import load_reference

    root = Path(root)
    reference = load_reference()
    p = STRUCTURES_PROGRAM
    out = [_association(root, seed, reference, writer)]

    transmissions = [_plan(f"{p}02aa{t}", "WFC", ("raw", "flt", "spt"), seed + 30)
                     for t in ("q", "r")]
    files = [f for r in transmissions for f in _write(root, r, seed, reference, writer)]
    out.append(Structure("retransmission", transmissions, files))

    gz = _plan(f"{p}03aaq", "WFC", ("raw", "flt", "spt"), seed + 40)
    files = _write(root, gz, seed, reference, writer)
    flt = root / files[1]
    files[1] = _gzip(flt).relative_to(root).as_posix()
    out.append(Structure("gzip", [gz], files))

    tiled = _plan(f"{p}03abq", "WFC", ("raw", "flt", "spt"), seed + 50)
    files = _write(root, tiled, seed, reference, writer)
    _tile_compress(root / files[1])
    out.append(Structure("tile_compressed", [tiled], files))

    modern = _plan(f"{p}03acq", "WFC", ("raw", "flt", "flc", "spt"), seed + 60)
    files = _write(root, modern, seed, reference, writer)
    for name in files[1:3]:
        _modernise(root / name)
    out.append(Structure("modern", [modern], files))

    for kind, detector, code, extra in (
            ("hrc", "HRC", "04aaq", {}), ("sbc", "SBC", "05aaq", {}),
            ("subarray", "WFC", "06aaq", {"aperture": "WFC1-512"})):
        r = _plan(f"{p}{code}", detector, ("raw", "flt", "spt", "jif", "jit"), seed + 70,
                  **extra)
        out.append(Structure(kind, [r], _write(root, r, seed, reference, writer)))

    internal = [_plan(f"{p}07a{k}q", "WFC", ("raw", "flt", "spt"), seed + 80 + k,
                      obstype="INTERNAL", targname=imagetyp, imagetyp=imagetyp, ra_targ=0.0,
                      dec_targ=0.0, exptime=0.0 if imagetyp == "BIAS" else 1000.0)
                for k, imagetyp in enumerate(("DARK", "BIAS"))]
    out.append(Structure("internal", internal,
                         [f for r in internal for f in _write(root, r, seed, reference, writer)]))
    eras = []
    for code, when in (("08aaq", datetime.datetime(2004, 6, 1, 3, 4, 5)),
                       ("08abq", datetime.datetime(2016, 3, 1, 6, 7, 8))):
        eras.append(_plan(f"{p}{code}", "WFC", ("raw", "flt", "flc", "spt"), seed + 90,
                          aperture="WFC", date_obs=when.isoformat(),
                          expstart=round(mjd(when), 8)))
    out.append(Structure("eras", eras,
                         [f for r in eras for f in _write(root, r, seed, reference, writer)]))
    listing = [{"kind": st.kind, "rootnames": [r.rootname for r in st.rootnames],
                "files": st.files, "asn_id": st.asn_id, "absent": st.absent} for st in out]
    (root / STRUCTURES_NAME).write_text(json.dumps(listing, indent=1) + "\n")
    types = root / "proposal_types.csv"
    if types.exists() and "\n12022," not in types.read_text():
        with open(types, "a") as f:
            f.write("12022,CAL/ACS\n")
    return out
