"""Waiting for an ingest held at a known step (the ``test_hold`` setting), for the kill tests."""

from __future__ import annotations

import time
from pathlib import Path

from acsq_mongo.ingest.hold import reached_path


def wait_until_held(folder: Path, step: str, rootname: str | None, proc,
                    timeout: float = 120.0) -> int:
    """Wait until the run ``proc`` is held at ``step`` (of ``rootname``); return the pid held.

    Fails if ``proc`` exits first, or nothing reaches the step within ``timeout`` seconds.
    """
    reached = reached_path(folder, step, rootname)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reached.exists() and reached.read_text().endswith("\n"):
            return int(reached.read_text())
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"the ingest never reached {step} of {rootname}")
