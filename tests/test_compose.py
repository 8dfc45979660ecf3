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


def test_the_guide_lists_every_service(compose):
    assert set(_readme_services()) == set(compose["services"])


def test_a_service_waited_for_until_healthy_has_a_healthcheck(compose):
    # `depends_on: {condition: service_healthy}` waits forever on a service without one.
    services = compose["services"]
    waits = [(name, dep) for name, service in services.items()
             if isinstance(service.get("depends_on"), dict)
             for dep, how in service["depends_on"].items()
             if how.get("condition") == "service_healthy"]
    assert waits
    for name, dep in waits:
        assert "healthcheck" in services[dep], (name, dep)


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
