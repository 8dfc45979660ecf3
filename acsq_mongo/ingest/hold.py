"""Hold an ingest at a known step: the hook that kill and interrupt tests stand on.

A test that kills a worker, the database or the ingest itself, or presses
Ctrl-C, must know where the run is when it strikes; waiting for "some
progress" and then striking races with the machine's speed (the run may
already be over). With the ``test_hold`` setting (``ACSQ_TEST_HOLD``)
naming a folder, the ingest calls :func:`hold` at each of its steps
(:data:`STEPS`), on the workers and on the client. If that folder holds a
file named for the step, ``<step>`` (every rootname) or
``<step>.<rootname>`` (that one), the first process to reach the step with
that rootname:

1. creates ``<step>.<rootname>.reached`` (``<step>.reached`` for a step of
   the whole run), holding its process id, and
2. waits while the hold file exists (at most :data:`MAX_HOLD` seconds).

The test waits for the ``.reached`` file, strikes, and deletes the hold
file to let the run go on. A step holds each rootname once: a retry of the
same rootname (the scheduler running a killed worker's task again, or the
rerun) passes through.

Without the setting, as in production, :func:`hold` returns at once. The
setting reaches the workers inside the Settings object of each task, like
every other setting; nothing is read from the environment here.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = ["STEPS", "MAX_HOLD", "hold", "reached_path"]

log = logging.getLogger(__name__)

#: The steps, in the order a rootname meets them, then the run's own.
STEPS: dict[str, str] = {
    "begin": "a worker is about to ingest the rootname; nothing of it is read yet",
    "images": "its quicklook images are written; its document is not stored yet",
    "stored": "its document and errors are queued for the store (sent in batches)",
    "written": "its batch is written: document in rootnames and catalog, errors recorded",
    "summaries": "the client has every result; the proposals, galleries and summary are next",
    "galleries": "the summaries' refresh has read the catalog; the galleries are not replaced "
                 "yet",
}

#: Longest a step waits (seconds): a forgotten hold file must not hang a run for ever.
MAX_HOLD = 600.0

#: How often a held step looks at its hold file again (seconds).
_POLL = 0.02


def reached_path(folder: Path, step: str, rootname: str | None = None) -> Path:
    """The file a process creates when it reaches ``step`` (for ``rootname``) and holds."""
    return Path(folder) / (f"{step}.{rootname}.reached" if rootname else f"{step}.reached")


def hold(settings: Settings, step: str, rootname: str | None = None) -> None:
    """Wait at ``step`` while its hold file exists, if ``test_hold`` is set.

    Parameters
    ----------
    settings : Settings
        ``test_hold``: the folder of hold files; None (the default) returns at once.
    step : str
        One of :data:`STEPS`.
    rootname : str, optional
        The rootname at that step; None for a step of the whole run.
    """
    folder = settings.test_hold
    if folder is None:
        return
    if step not in STEPS:
        raise ValueError(f"unknown hold step {step!r}; steps: {', '.join(STEPS)}")
    candidates = [folder / step] + ([folder / f"{step}.{rootname}"] if rootname else [])
    held_by = next((path for path in candidates if path.exists()), None)
    if held_by is None:
        return
    try:
        fd = os.open(reached_path(folder, step, rootname), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return   # held once already: a retry or a rerun goes on
    with os.fdopen(fd, "w") as marker:
        marker.write(f"{os.getpid()}\n")
    log.warning("Held at %s%s by %s (test_hold)", step, f" of {rootname}" if rootname else "",
                held_by)
    deadline = time.monotonic() + MAX_HOLD
    while held_by.exists() and time.monotonic() < deadline:
        time.sleep(_POLL)
