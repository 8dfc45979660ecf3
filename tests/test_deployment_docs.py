"""The deployment guide's commands, checked where they can be: its connection strings parsed by
pymongo, its compose file by ``docker-compose config`` (no Docker engine runs here)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from pymongo import uri_parser
from pymongo.read_preferences import ReadPreference

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "deployment.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(), flags=re.S)


def _uris() -> list[str]:
    return [line for block in _blocks("text") for line in block.splitlines()
            if line.startswith("mongodb://")] + re.findall(r"`(readPreference=[^`]+)`",
                                                           GUIDE.read_text())


def test_the_replica_set_connection_strings_parse_as_the_guide_says():
    uris = [u for u in _uris() if u.startswith("mongodb://")]
    assert len(uris) == 2
    ingest, web = (uri_parser.parse_uri(u) for u in uris)
    for parsed in (ingest, web):
        assert parsed["options"]["replicaSet"] == "acsq"
        assert parsed["options"]["w"] == "majority"
        assert [h for h, _ in parsed["nodelist"]] == ["db1", "db2", "db3"]
    assert ingest["options"]["maxPoolSize"] == 4
    assert web["options"]["readPreference"] == ReadPreference.PRIMARY_PREFERRED.mongos_mode
    assert web["options"]["maxPoolSize"] == 18
    # The alternative: reads from the secondaries, at most 90 s stale.
    alternative = _uris()[-1]
    offloaded = uri_parser.parse_uri(web_base(uris[1]) + "&" + alternative)
    assert offloaded["options"]["readPreference"] == "secondaryPreferred"
    assert offloaded["options"]["maxStalenessSeconds"] == 90


def web_base(uri: str) -> str:
    return uri.split("&readPreference")[0]


def test_the_pool_sizes_are_those_the_table_gives():
    text = GUIDE.read_text()
    assert "2 T + 2 (18 for 8 threads)" in text and "maxPoolSize=18" in text
    assert "4 x 18 + 12 x 4 = 120" in text and 4 * 18 + 12 * 4 == 120


def test_the_worker_hosts_compose_file_is_valid(tmp_path):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose (Debian package) is needed; `make test` installs it"
    (block,) = _blocks("yaml")
    path = tmp_path / "docker-compose.worker.yml"
    path.write_text(block)
    result = subprocess.run([exe, "-f", str(path), "config", "-q"],
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "ACSQ_MONGO_URI": "mongodb://db1"})
    assert result.returncode == 0, result.stderr
