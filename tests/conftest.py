"""Shared fixtures: the two database backends and settings for each test.

``db`` and ``settings`` are parameterized over ``mongomock`` (fast, in-memory)
and ``real`` (the real local server: SecantusDB, set up by ``make``, started once
per session on a free port with a temporary data folder; or any MongoDB named
by ACSQ_TEST_MONGO_URI). Tests that need real-server semantics
use ``real_db`` / ``real_settings``. If the real server cannot start, those
tests error: they never silently skip.

Markers are applied here, from what a test uses, so that nobody has to remember
them: ``realdb`` on every test that reaches the real server (a ``real_*`` fixture,
or the ``real`` side of a fixture parametrized over the backends), ``browser`` on
every test that drives Chromium, and ``slow`` on the modules and tests listed in
:data:`SLOW`.
``make test-fast`` runs ``-m "not realdb and not browser and not slow"``.

Hypothesis: with ``CI=true`` the ``ci`` profile is loaded (derandomized, so a
failure reproduces on the next run; the profile is printed in the report header).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.connection import connect
from acsq_mongo.settings import Settings, load_settings

_counter = itertools.count()

# Hypothesis: in CI, the same examples on every run (a failure reproduces), and the
# blob that replays a failing example printed with it. Locally the default profile
# (random examples) finds more.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
HYPOTHESIS_PROFILE = "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)

#: Fixtures that reach the real server: a test using any of them (directly or through
#: another fixture) is marked ``realdb``.
REAL_FIXTURES = frozenset({"real_server_uri", "real_settings", "real_db"})
#: Tests marked ``slow`` (more than ~5 s each on an idle 2-core machine, measured with
#: ``--durations``; docs/architecture.md names the slowest): a module name, or
#: ``module::test`` for one test (every parameter of it).
SLOW = frozenset({
    "test_ingest_kills",          # kills workers, schedulers and the server mid-run
    "test_ingest_dask",           # starts Dask clusters
    "test_docs_build",            # Sphinx builds the whole site
    "test_docs_examples",         # runs every example of README and the guide
    "test_ingest_production",     # whole runs with quicklooks over the sample archive
    # Writing whole sample archives of FITS files (8-14 s each under load):
    "test_sample::test_the_same_seed_writes_the_same_bytes",
    "test_sample::test_cli_and_script",
    "test_sample_synthetic::test_planned_headers_are_what_the_reader_finds_in_the_written_files",
    "test_sample_synthetic::test_a_large_plan_keeps_proposal_ids_unique",
    # The Radon transform of acstools.findsat_mrt over a set of images (~10 s idle):
    "test_trails::test_drawn_trails_are_found_and_clean_images_have_none",
})


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which Hypothesis profile runs, and its settings (the seed policy of the run)."""
    chosen = hypothesis_settings.get_profile(HYPOTHESIS_PROFILE)
    return [f"hypothesis profile: {HYPOTHESIS_PROFILE} (derandomize={chosen.derandomize}, "
            f"seed: {'fixed per test' if chosen.derandomize else 'random, printed on failure'})"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test ``realdb``, ``browser`` or ``slow`` from what it uses."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        # (a fixture parametrized over the backends, as ``backend`` or test_web's ``site``,
        # takes the value "real" for the real server)
        if names & REAL_FIXTURES or "real" in params.values():
            item.add_marker(pytest.mark.realdb)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if module in SLOW or f"{module}::{item.originalname}" in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def real_server_uri(tmp_path_factory: pytest.TempPathFactory):
    """URI of the real server for this test session."""
    external = os.environ.get("ACSQ_TEST_MONGO_URI")
    if external:
        yield external
        return
    with localdb.LocalServer.private(tmp_path_factory.mktemp("localdb")) as server:
        yield server.uri


def _settings_for(uri: str, tmp_path: Path, **extra) -> Settings:
    name = f"acsq_test_{os.getpid()}_{next(_counter)}"
    # Pages count every match (no time budget), so that what a test reads never depends on
    # how busy the machine is; tests/test_query_counting.py tests the budget.
    extra.setdefault("count_time_limit_ms", 0)
    return load_settings(environ={}, mongo_uri=uri, db=name, data=tmp_path / "var", **extra)


@pytest.fixture
def mock_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh mongomock database."""
    return _settings_for(f"mongomock://{tmp_path.name}", tmp_path)


@pytest.fixture
def real_settings(real_server_uri: str, tmp_path: Path):
    """Settings for a fresh database on the real server; dropped afterwards."""
    settings = _settings_for(real_server_uri, tmp_path)
    yield settings
    db = connect(settings)
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.fixture
def real_db(real_settings: Settings):
    """A fresh database on the real server."""
    db = connect(real_settings)
    yield db
    db.client.close()


@pytest.fixture(params=["mongomock", "real"])
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the backend a parameterized test runs on."""
    return request.param


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings for a fresh database on each backend in turn."""
    name = "mock_settings" if backend == "mongomock" else "real_settings"
    return request.getfixturevalue(name)


@pytest.fixture
def db(settings: Settings):
    """A fresh database on each backend in turn."""
    return connect(settings)


# ----------------------------------------------------------------------------
# A sample archive (issue 3), shared by every test that needs FITS files.

#: The session's sample archive: 32 rootnames in 4 proposals (WFC, HRC, SBC and
#: an internal calibration program), with every filetype, WFC full frames and
#: subarrays, associations, and targets near RA 0/360 and both poles.
SAMPLE_ROOTNAMES = 32
SAMPLE_SEED = 13


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory: pytest.TempPathFactory):
    """A small sample archive (:class:`acsq_mongo.sample.SampleArchive`), written once.

    Shared by the whole session: do not change its files; use
    ``sample_archive_copy`` for that. ``sample_archive.root`` is the archive
    folder, ``sample_archive.rootnames`` what the generator wrote.
    """
    from acsq_mongo.sample import make_sample_archive

    root = tmp_path_factory.mktemp("sample") / "archive"
    return make_sample_archive(root, SAMPLE_ROOTNAMES, seed=SAMPLE_SEED)


@pytest.fixture
def sample_archive_copy(sample_archive, tmp_path: Path):
    """A private copy of the session's sample archive (same files and mtimes), to modify."""
    import copy
    import dataclasses
    import shutil

    root = tmp_path / "archive"
    shutil.copytree(sample_archive.root, root)  # copy2: modification times kept
    return dataclasses.replace(sample_archive, root=root,
                               rootnames=copy.deepcopy(sample_archive.rootnames))
