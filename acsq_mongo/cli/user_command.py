"""``acsq user add|passwd|list|disable|enable``: the accounts of the people who may write.

A password is asked for twice on a terminal. When standard input is not a
terminal (a script), it is read from there: the first line, and the second
too if there is one, which must then match. It is never a command-line
argument (which ``ps`` and shell histories would show), and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from acsq_mongo.accounts.users import (
    ROLES,
    AccountError,
    add_user,
    check_name,
    check_new_password,
    list_users,
    set_disabled,
    set_password,
)
from acsq_mongo.db.connection import connect
from acsq_mongo.formats.render import json_default, to_jsonable
from acsq_mongo.settings import Settings

EPILOG = """\
examples:
  acsq user add ada --role admin       the first admin (asks for the password twice)
  printf '%s\\n' "$PW" | acsq user add bob --role tagger   from a script: the password on stdin
  acsq user passwd bob                 a new password (signs bob out everywhere)
  acsq user list                       every account, its role and state (never a password)
  acsq user disable bob                no more sign-ins or tags by bob
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("action", choices=("add", "passwd", "list", "disable", "enable"),
                        help="what to do")
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="the user name (not with list)")
    parser.add_argument("--role", choices=ROLES,
                        help="with add: tagger (sets anomaly flags) or admin (also manages "
                        "accounts)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="with list: a table or JSON")


def read_password(stdin=None, prompt=getpass.getpass) -> str:
    """Ask for a new password twice on a terminal, or read it from a non-terminal stdin.

    Raises
    ------
    AccountError
        If the two differ, or the password is too short or too long.
    """
    stdin = stdin if stdin is not None else sys.stdin
    if stdin.isatty():
        first = prompt("New password: ")
        second = prompt("Same password again: ")
    else:
        lines = stdin.read().splitlines()
        first = lines[0] if lines else ""
        second = lines[1] if len(lines) > 1 and lines[1] else first
    if first != second:
        raise AccountError("the two passwords differ; nothing changed")
    check_new_password(first)
    return first


def _table(rows: list[dict]) -> str:
    columns = ("name", "role", "disabled", "created", "password_changed", "last_sign_in")
    cells = [[str(c) for c in columns]] + [
        ["-" if r[c] is None else (r[c].strftime("%Y-%m-%d %H:%M") if hasattr(r[c], "strftime")
                                   else str(r[c]).lower()) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        if args.name or args.role:
            raise AccountError("`acsq user list` takes no NAME or --role")
        rows = [u.public() for u in list_users(connect(settings))]
        if args.format == "json":
            print(json.dumps(to_jsonable(rows), default=json_default))
        else:
            print(_table(rows) if rows else "no accounts yet: acsq user add NAME --role admin")
        return 0
    if not args.name:
        raise AccountError(f"`acsq user {args.action}` needs a user NAME")
    if args.role and args.action != "add":
        raise AccountError("--role goes with `acsq user add`")
    name = check_name(args.name)
    if args.action == "add":
        if not args.role:
            raise AccountError("`acsq user add` needs --role " + "|".join(ROLES))
        db = connect(settings)
        user = add_user(db, name, args.role, read_password())
        print(f"added {user.name} ({user.role})")
    elif args.action == "passwd":
        db = connect(settings)
        set_password(db, name, read_password())
        print(f"changed the password of {name}; its sessions are signed out")
    else:
        user = set_disabled(connect(settings), name, args.action == "disable")
        print(f"{user.name} is {'disabled' if user.disabled else 'enabled'}")
    return 0
