"""docker-compose.yml is the production layout the guide describes (docs/guide/deployment.md)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _readme_services():
    """Rows of the guide's compose table: service -> (ports cell, mounts cell)."""
    section = (ROOT / "docs" / "guide" / "deployment.md").read_text()
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            name = re.match(r"`([^`]+)`", cells[0]).group(1)
            rows[name] = (cells[2], cells[3])
    return rows


def test_services_are_the_production_layout(compose):
    services = compose["services"]
    assert set(services) == {"mongo", "dask-scheduler", "dask-worker", "webapp", "ingest"}
    assert set(_readme_services()) == set(services)
    mongo = services["mongo"]
    assert mongo["image"] == "mongo:7"
    assert "healthcheck" in mongo and "ping" in " ".join(mongo["healthcheck"]["test"])
    assert any(v.startswith("mongo-data:") for v in mongo["volumes"])
    assert services["dask-worker"]["deploy"]["replicas"] == 2
    assert "gunicorn" in services["webapp"]["command"]
    assert services["ingest"]["restart"] == "no"
    assert "--scheduler" in services["ingest"]["command"]
    assert services["webapp"]["depends_on"]["mongo"]["condition"] == "service_healthy"


def test_ports_match_the_readme(compose):
    readme = _readme_services()
    for name, service in compose["services"].items():
        published = [p.rsplit(":", 1)[0] if p.count(":") == 2 else p.split(":")[0]
                     for p in service.get("ports", [])]
        cell = readme[name][0]
        if not published:
            assert cell == "—", name
        for port in published:
            assert f"`{port}`" in cell or port.split(":")[-1] in cell, (name, port)


def test_archive_is_read_only_and_data_is_shared(compose):
    app_services = [n for n in compose["services"] if n != "mongo"]
    for name in app_services:
        volumes = compose["services"][name]["volumes"]
        archive = [v for v in volumes if v.split(":")[-2:-1] == ["/archive"] or ":/archive:" in v]
        assert archive and all(v.endswith(":ro") for v in archive), name
        assert "acsq-data:/data" in volumes, name
        env = compose["services"][name]["environment"]
        assert env["ACSQ_ARCHIVE"] == "/archive" and env["ACSQ_DATA"] == "/data"
        assert "read-only" in _readme_services()[name][1]
    assert set(compose["volumes"]) == {"mongo-data", "acsq-data"}


def test_no_credentials_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"mongodb://[^/\s:]+:[^@\s]+@", text)
    assert "PASSWORD" not in text.upper()


def test_docker_compose_validates_the_file():
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose (Debian package) is needed; `make test` installs it"
    proc = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
