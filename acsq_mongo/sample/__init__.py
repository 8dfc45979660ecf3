"""A realistic sample ACS archive, written from the ACS keyword inventory.

All detectors and filetypes, consistent metadata, small (or real-size) images;
the same seed gives the same bytes. It writes an archive; it reads nothing back.
"""

from acsq_mongo.sample.plan import (
    MANIFEST_NAME,
    PROPOSAL_TYPES_NAME,
    REFERENCE_PATH,
    SampleArchive,
    SampleRootname,
    load_reference,
    make_sample_archive,
    mjd,
    plan_rootname,
    read_manifest,
    write_rootname,
)

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
