"""What the benchmarks share: the archive they ingest."""

from __future__ import annotations

import time
from pathlib import Path

from acsq_mongo.sample import MANIFEST_NAME, SampleArchive, make_sample_archive, read_manifest


def sample_archive(given: Path | None, work: Path, rootnames: int, seed: int) -> SampleArchive:
    """Return the sample archive to benchmark on, writing it if needed.

    Parameters
    ----------
    given : Path or None
        ``--archive``: an archive written by ``acsq sample`` to reuse, or a folder to
        write one into (kept, so the next run reuses it). None: a new archive under
        ``work``.
    work : Path
        The benchmark's temporary folder.
    rootnames, seed : int
        Size and seed of an archive that has to be written.
    """
    root = (given or work / "archive").resolve()
    if (root / MANIFEST_NAME).exists():
        return read_manifest(root)
    print(f"sample archive: {rootnames} rootnames in {root} ...", flush=True)
    start = time.perf_counter()
    sample = make_sample_archive(root, rootnames, seed=seed)
    print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)
    return sample
