"""Point the ``acsq`` command line of a test at a test's settings, through ``ACSQ_*``."""

from __future__ import annotations

from typing import Any


def use_settings(monkeypatch: Any, settings: Any) -> None:
    """Set ``ACSQ_MONGO_URI``, ``ACSQ_DB``, ``ACSQ_DATA`` and ``ACSQ_ARCHIVE`` from ``settings``,
    and unset ``ACSQ_CONFIG``, for the rest of the test (pytest's ``monkeypatch``)."""
    for name, value in (("ACSQ_MONGO_URI", settings.mongo_uri), ("ACSQ_DB", settings.db),
                        ("ACSQ_DATA", str(settings.data)), ("ACSQ_ARCHIVE", str(settings.archive))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
