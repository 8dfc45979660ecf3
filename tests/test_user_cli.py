"""``acsq user``: accounts from the command line, passwords only from a prompt or stdin.

Given the real server, an operator (or a script piping the password) adds the
first admin and a tagger, changes a password, lists the accounts and disables
one. The password is asked twice on a terminal and read from stdin otherwise;
it is never an argument, never printed, and only its scrypt hash is stored.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from acsq_mongo.accounts.users import check_password, get_user
from acsq_mongo.cli import main
from acsq_mongo.cli.user_command import read_password
from acsq_mongo.db.collections import USERS
from acsq_mongo.errors import AcsqError


@pytest.fixture
def cli(real_settings, monkeypatch, real_db):
    for name, value in (("ACSQ_MONGO_URI", real_settings.mongo_uri),
                        ("ACSQ_DB", real_settings.db), ("ACSQ_DATA", str(real_settings.data))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["user", *argv])
    return run, real_db


def test_a_script_adds_an_admin_and_a_tagger_with_passwords_on_stdin(cli, capsys, caplog):
    run, db = cli
    caplog.set_level(logging.DEBUG)
    assert run("add", "Ada", "--role", "admin", stdin="ada's long passphrase\n") == 0
    assert run("add", "bob", "--role", "tagger",
               stdin="bob's long passphrase\nbob's long passphrase\n") == 0
    out = capsys.readouterr().out
    assert "added ada (admin)" in out and "added bob (tagger)" in out
    stored = db[USERS].find_one({"_id": "ada"})
    assert stored["password_hash"].startswith("scrypt:")
    assert "ada's long passphrase" not in str(stored)
    assert check_password(db, "ada", "ada's long passphrase").role == "admin"
    assert check_password(db, "ada", "something else") is None
    assert run("list") == 0 and run("list", "--format", "json") == 0
    out = capsys.readouterr().out
    assert "ada" in out and "tagger" in out
    rows = json.loads(out.splitlines()[-1])
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [
        ("ada", "admin", False), ("bob", "tagger", False)]
    everything = out + caplog.text
    for secret in ("passphrase", "scrypt", stored["password_hash"]):
        assert secret not in everything


@pytest.mark.parametrize("argv, stdin, message", [
    (("add", "ada", "--role", "admin"), "one long passphrase\nanother long one\n", "differ"),
    (("add", "ada", "--role", "admin"), "short\n", "at least 10"),
    (("add", "ada", "--role", "admin"), "", "at least 10"),
    (("add", "ada", "--role", "viewer"), "a long passphrase\n", None),   # argparse: exit 2
    (("add", "ada"), "a long passphrase\n", "needs --role"),
    (("add", "9ada", "--role", "admin"), "a long passphrase\n", "bad user name"),
    (("passwd", "nobody"), "a long passphrase\n", "there is no user"),
    (("disable", "nobody"), "", "there is no user"),
    (("add", "ada", "--role", "admin", "--password", "x"), "", None),    # no such option
])
def test_bad_requests_say_why_in_one_line_and_change_nothing(cli, capsys, argv, stdin,
                                                              message):
    run, db = cli
    if message is None:
        with pytest.raises(SystemExit) as exc:
            run(*argv, stdin=stdin)
        assert exc.value.code == 2
    else:
        assert run(*argv, stdin=stdin) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
        assert "passphrase" not in err
    assert db[USERS].count_documents({}) == 0


def test_an_existing_user_is_not_overwritten(cli, capsys):
    run, db = cli
    assert run("add", "ada", "--role", "tagger", stdin="ada's long passphrase\n") == 0
    assert run("add", "ada", "--role", "admin", stdin="another long passphrase\n") == 1
    assert "exists" in capsys.readouterr().err
    assert get_user(db, "ada").role == "tagger"
    assert check_password(db, "ada", "ada's long passphrase") is not None


def test_passwd_and_disable(cli, capsys):
    run, db = cli
    assert run("add", "bob", "--role", "tagger", stdin="bob's long passphrase\n") == 0
    version = get_user(db, "bob").session_version
    assert run("passwd", "bob", stdin="bob's new passphrase\n") == 0
    assert check_password(db, "bob", "bob's long passphrase") is None
    assert check_password(db, "bob", "bob's new passphrase") is not None
    assert get_user(db, "bob").session_version == version + 1
    assert run("disable", "bob") == 0
    assert check_password(db, "bob", "bob's new passphrase") is None
    assert run("enable", "bob") == 0
    assert check_password(db, "bob", "bob's new passphrase") is not None
    assert "bob is disabled" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_is_asked_twice():
    answers = iter(["a long passphrase", "a long passphrase"])
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return next(answers)

    assert read_password(_Terminal(), prompt) == "a long passphrase"
    assert len(prompts) == 2
    answers = iter(["a long passphrase", "a long passfrase"])
    with pytest.raises(AcsqError, match="differ"):
        read_password(_Terminal(), prompt)
