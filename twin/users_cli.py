"""``python -m twin users add|list|disable|enable``: manage sign-in accounts.

There is no default account and no default password: the first user is made here,
for example ``python -m twin users add alice --role admin``. The password is asked
for twice with getpass, or read as one line from stdin with ``--password-stdin``
(for scripts: ``printf '%s\\n' "$PW" | python -m twin users add ...``). It is
never taken as an argument, so it stays out of shell history and ``ps``.

Each change is written to the audit log in the same database, as the OS user.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from twin.audit import AuditLog
from twin.users import Role, User, UserError, UserStore

__all__ = ["DEFAULT_DB_PATH", "main"]

DEFAULT_DB_PATH = os.environ.get("VENUETWIN_AUTH_DB", "instance/auth.sqlite")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m twin users",
                                     description=__doc__.split("\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=DEFAULT_DB_PATH,
                        help="SQLite file with users and audit log (default: %(default)s,"
                             " or $VENUETWIN_AUTH_DB)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create a user", parents=[common])
    add.add_argument("name")
    add.add_argument("--role", required=True, help="one of " + ", ".join(r.value for r in Role))
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password as one line from stdin instead of prompting")
    commands.add_parser("list", help="list users", parents=[common])
    for command in ("disable", "enable"):
        sub = commands.add_parser(command, help=f"{command} a user", parents=[common])
        sub.add_argument("name")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if first != getpass.getpass("Repeat password: "):
        raise UserError("'password' must be typed the same twice")
    return first


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "unknown"


def _describe(user: User) -> str:
    state = "active" if user.active else "disabled"
    return f"{user.name:<24} {user.role.value:<10} {state}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the users command with `argv` (the words after ``users``); return the exit code."""
    args = _parser().parse_args(argv)
    store = UserStore(args.db)
    try:
        if args.command == "list":
            for user in store.list():
                print(_describe(user))
            return 0
        if args.command == "add":
            Role.parse(args.role)  # fail before asking for a password
            user = store.add(args.name, _read_password(args.password_stdin), args.role)
            after = {"role": user.role.value, "active": True}
            before = None
        else:
            before_user = store.get(args.name)
            user = getattr(store, args.command)(args.name)
            before = {"active": before_user.active}
            after = {"active": user.active}
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    AuditLog(args.db).record(user=_os_user(), role="cli", action=f"user.{args.command}",
                             target=user.name, before=before, after=after)
    print(f"{args.command}: {_describe(user)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
