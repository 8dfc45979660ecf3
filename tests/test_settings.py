"""Settings: defaults, then YAML, then ACSQ_* variables, then overrides."""

import logging
from pathlib import Path

import pytest

from acsq_mongo.errors import ConfigError
from acsq_mongo.settings import load_settings


def test_defaults_when_nothing_is_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.mongo_uri == "mongodb://127.0.0.1:27017"
    assert s.db == "acsq"
    assert s.archive is None
    assert s.data == tmp_path / "var"
    assert s.logs_dir == tmp_path / "var" / "logs"


def test_yaml_then_environment_then_overrides(tmp_path):
    config = tmp_path / "conf" / "acsq.yaml"
    config.parent.mkdir()
    config.write_text("db: from_yaml\narchive: ../archive\nbatch_size: 7\nmongo_uri: mongodb://y:1\n")
    env = {"ACSQ_DB": "from_env", "ACSQ_CONFIG": str(config)}
    s = load_settings(environ=env)
    assert s.db == "from_env"  # environment beats YAML
    assert s.batch_size == 7
    assert s.mongo_uri == "mongodb://y:1"
    assert s.archive == tmp_path / "archive"  # relative to the YAML file
    s = load_settings(environ=env, db="from_cli", batch_size=None)
    assert s.db == "from_cli"
    assert s.batch_size == 7  # None overrides are ignored


def test_environment_is_read_when_called_not_at_import(monkeypatch):
    monkeypatch.setenv("ACSQ_DB", "late")
    assert load_settings().db == "late"
    monkeypatch.setenv("ACSQ_DB", "later")
    assert load_settings().db == "later"


def test_unknown_yaml_key_is_a_one_line_error_naming_it(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("mongo_url: mongodb://x\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    message = str(info.value)
    assert "'mongo_url'" in message and "mongo_uri" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "line, key",
    [("batch_size: lots", "batch_size"), ("server_timeout: [1]", "server_timeout"),
     ("quicklook_stretch: sqrt", "quicklook_stretch"), ("workers: 2.5", "workers"),
     ("db: true", "db")],
)
def test_wrong_type_is_a_one_line_error_naming_the_key(tmp_path, line, key):
    config = tmp_path / "c.yaml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    assert f"'{key}'" in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="ACSQ_PAGE_SIZE"):
        load_settings(environ={"ACSQ_PAGE_SIZE": "many"})


def test_unreadable_or_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("db: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad, environ={})
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(listy, environ={})


def test_describe_hides_passwords():
    s = load_settings(environ={"ACSQ_MONGO_URI": "mongodb://user:secret@db.example:27017/"})
    assert "secret" not in s.describe()["mongo_uri"]
    assert "user:***@" in s.describe()["mongo_uri"]


def test_replace_validates():
    s = load_settings(environ={})
    assert s.replace(page_size="10").page_size == 10
    assert isinstance(s.replace(data="x").data, Path)
    with pytest.raises(ConfigError):
        s.replace(page_size="ten")


def test_the_secret_key_is_never_shown(tmp_path):
    from acsq_mongo.ingest.run_log import start_run_log

    secret = "a-secret-key-that-must-not-leak-" + "z" * 20
    s = load_settings(environ={"ACSQ_SECRET_KEY": secret}, data=tmp_path / "var")
    assert s.secret_key == secret and s.describe()["secret_key"] == "(set)"
    assert load_settings(environ={}).describe()["secret_key"] == "(not set)"
    assert secret not in repr(s.describe())
    path = start_run_log("secret_test", s, logger_name="acsq_secret_test")
    assert "secret_key" in path.read_text() and secret not in path.read_text()
    for handler in logging.getLogger("acsq_secret_test").handlers[:]:
        logging.getLogger("acsq_secret_test").removeHandler(handler)
        handler.close()
    config = tmp_path / "bad.yaml"
    config.write_text("secret_key: [one, two]\n")
    with pytest.raises(ConfigError, match="hidden value") as exc:
        load_settings(config, environ={})
    assert "one" not in str(exc.value)


def test_the_anomaly_vocabulary_from_yaml_or_the_environment(tmp_path):
    from acsq_mongo.tags import Vocabulary

    default = Vocabulary.from_settings(load_settings(environ={}))
    assert "satellite_trail" in default.slugs and default.label("dragons_breath") == \
        "dragon's breath"
    assert len(default.slugs) == 12 and "high_background" in default.slugs  # (issue 28 rules)
    config = tmp_path / "vocabulary.yaml"
    config.write_text("anomaly_vocabulary:\n  - satellite trail\n  - Hot column\n")
    s = load_settings(config, environ={})
    assert Vocabulary.from_settings(s).flags == (("satellite_trail", "satellite trail"),
                                                 ("hot_column", "Hot column"))
    s = load_settings(environ={"ACSQ_ANOMALY_VOCABULARY": "ghost, glint ,ghost"})
    assert s.anomaly_vocabulary == ("ghost", "glint")
    with pytest.raises(ConfigError, match="non-empty list"):
        load_settings(environ={"ACSQ_ANOMALY_VOCABULARY": " , "})
    with pytest.raises(ConfigError, match="both 'hot_pixel'"):
        Vocabulary.from_settings(load_settings(
            environ={"ACSQ_ANOMALY_VOCABULARY": "hot pixel,Hot-Pixel"}))


@pytest.mark.parametrize("name, value", [("count_time_limit_ms", "-1"), ("page_size", "-5"),
                                         ("server_timeout", "-0.5")])
def test_a_negative_number_is_a_one_line_error(name, value):
    variable = f"ACSQ_{name.upper()}"
    with pytest.raises(ConfigError, match=f"setting '{name}' in environment variable "
                                          f"{variable} must be 0 or more"):
        load_settings(environ={variable: value})
