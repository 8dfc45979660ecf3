"""Synthetic headers: what the sample archive's files hold, without writing them."""

from __future__ import annotations

from acsq_mongo.db.keys import escape_key
from acsq_mongo.ingest.headers import read_headers
from acsq_mongo.sample import make_sample_archive
from acsq_mongo.sample.synthetic import plan_archive, planned_headers


def test_planned_headers_are_what_the_reader_finds_in_the_written_files(tmp_path):
    archive = make_sample_archive(tmp_path / "archive", 14, seed=3)
    plan = plan_archive(14, seed=3)
    assert [r.rootname for r in plan] == [r.rootname for r in archive.rootnames]
    filetypes = set()
    for r in plan:
        headers = planned_headers(r, seed=3)
        assert list(headers) == r.filetypes
        for filetype, hdus in headers.items():
            read = read_headers(archive.root / r.path / f"{r.rootname}_{filetype}.fits")
            synthetic = {str(ext): {escape_key(k): v for k, v in hdu.items()}
                         for ext, hdu in enumerate(hdus)}
            assert synthetic == read.headers, (r.rootname, filetype)
            # The same card order too (a document keeps it).
            assert [list(h) for h in synthetic.values()] == [list(h) for h in
                                                             read.headers.values()]
            filetypes.add(filetype)
    assert len(filetypes) >= 9  # tables, images, raw and empty HDUs all compared


def test_a_large_plan_keeps_proposal_ids_unique():
    plan = plan_archive(40_000, seed=1)
    by_proposal: dict[int, set[str]] = {}
    for r in plan:
        by_proposal.setdefault(r.promoted["proposid"], set()).add(r.rootname[:4])
    assert len({r.rootname for r in plan}) == 40_000
    assert len({r.rootname[:8] for r in plan}) == 40_000  # the document _id
    # Each proposal has its own rootname prefix, as in the real archive.
    assert all(len(prefixes) == 1 for prefixes in by_proposal.values())
    assert len({p for prefixes in by_proposal.values() for p in prefixes}) == len(by_proposal)
