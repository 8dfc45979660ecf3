"""A realistic sample ACS archive, for demos, tests and benchmarks (``acsq sample``).

The archive is laid out as the real one, ``<root4>/<rootname>/<rootname>_<filetype>.fits``,
and its headers come from the ACS keyword inventory
(:mod:`acsq_mongo.sample.acs`): every file of a detector
and filetype has that combination's HDU count and, in each HDU, every keyword
the inventory lists, with a value of the listed type.

What makes it realistic
-----------------------
- **Proposals.** A few proposals, each with a proposal ID, a PI, a proposal
  type and one or two targets. Every rootname of a proposal starts with the
  same 4 characters (``j`` + a 3-character program code derived from the
  proposal ID), as in the real archive.
- **Detectors and dates** follow ACS history: HRC 2002-2006, SBC 2002-2024,
  WFC 2002-2006 and from mid 2009 (none while ACS was off, 2007 to May 2009).
- **Key metadata agrees with itself**: the aperture belongs to the detector,
  ``SUBARRAY`` follows the aperture, ``EXPSTART`` is the MJD of
  ``DATE-OBS`` + ``TIME-OBS`` and ``EXPEND`` = ``EXPSTART`` + ``EXPTIME``;
  filters suit the detector; internal calibrations (BIAS, DARK) have
  ``OBSTYPE`` INTERNAL and RA/Dec 0.
- **Not every rootname has every filetype**: single exposures have raw, flt,
  spt and mostly drz (plus flc and drc on WFC) and sometimes jif/jit;
  members of an association have raw, flt, spt (flc on WFC); association
  products (rootnames ending in ``0``) have asn, drz, jif, jit and, for
  CR-split associations, crj (crc on WFC).
- **Targets** spread over the sky, including some near RA 0/360 and near both
  poles, with dithers of a few arcseconds.
- **Images**: small by default (WFC chips 256 x 128, HRC/SBC 128 x 128), with
  a sky gradient, stars, hot pixels and cosmic rays; ``full_size`` gives the
  real dimensions (WFC: two 4096 x 2048 float32 chips per file; raw files as
  unsigned 16-bit integers stored with BZERO = 32768; HRC/SBC 1024 x 1024).
  WFC subarrays have one chip (4 HDUs), as real ones do.

The same seed gives the same bytes. Beside the FITS files, the archive root
holds ``sample_manifest.json`` (what was written, for tests) and a
``README.txt``; ingest skips both with a log line, as it skips any stray file.

The stages: :mod:`~acsq_mongo.sample.acs` (the inventory and tables),
:mod:`~acsq_mongo.sample.plan` (what each rootname is),
:mod:`~acsq_mongo.sample.header_values`, :mod:`~acsq_mongo.sample.pixels`
and :mod:`~acsq_mongo.sample.hdus` (what goes into each file and each HDU),
:mod:`~acsq_mongo.sample.files` (writing them) and
:mod:`~acsq_mongo.sample.fits_bytes` (their bytes: FITS cards, blocks and data
written directly, as astropy writes them). It writes an archive; it reads nothing back.
"""

from acsq_mongo.sample.acs import REFERENCE_PATH, load_reference, mjd
from acsq_mongo.sample.files import (
    MANIFEST_NAME,
    PROPOSAL_TYPES_NAME,
    make_sample_archive,
    read_manifest,
    write_rootname,
)
from acsq_mongo.sample.plan import SampleArchive, SampleRootname, plan_rootname

__all__ = [
    "MANIFEST_NAME",
    "PROPOSAL_TYPES_NAME",
    "REFERENCE_PATH",
    "SampleArchive",
    "SampleRootname",
    "load_reference",
    "make_sample_archive",
    "mjd",
    "plan_rootname",
    "read_manifest",
    "write_rootname",
]
