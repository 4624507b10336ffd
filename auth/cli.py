"""``python -m twin users ...``: manage sign-in accounts, their sessions and API tokens.

Commands: add, list, disable, enable, token, revoke-tokens, revoke-sessions.

There is no default account and no default password: the first user is made here,
for example ``python -m twin users add alice --role admin``. The password is asked
for twice with getpass, or read as one line from stdin with ``--password-stdin``
(for scripts: ``printf '%s\\n' "$PW" | python -m twin users add ...``). It is
never taken as an argument, so it stays out of shell history and ``ps``.

``token NAME`` prints a new API bearer token for NAME alone on its last line (it is
stored hashed and cannot be shown again); ``revoke-tokens NAME`` revokes all of them.
``revoke-sessions NAME`` signs NAME out everywhere at once. ``disable NAME`` does both.

Each change is written to the audit log in the same database, as the OS user
(never a token).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from auth.users import Role, User, UserError, UserStore
from twin.service.audit import AuditLog

__all__ = ["DEFAULT_DB_PATH", "main"]

DEFAULT_DB_PATH = os.environ.get("VENUETWIN_AUTH_DB", "instance/auth.sqlite")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m twin users", description=__doc__.split("\n")[0]
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=DEFAULT_DB_PATH,
        help="SQLite file with users and audit log (default: %(default)s, or $VENUETWIN_AUTH_DB)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create a user", parents=[common])
    add.add_argument("name")
    add.add_argument("--role", required=True, help="one of " + ", ".join(r.value for r in Role))
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password as one line from stdin instead of prompting",
    )
    commands.add_parser("list", help="list users", parents=[common])
    helps = {
        "disable": "disable a user (also revokes their sessions and tokens)",
        "enable": "enable a user again",
        "token": "print a new API bearer token for a user (shown once)",
        "revoke-tokens": "revoke every API token of a user",
        "revoke-sessions": "end every sign-in session of a user",
    }
    for command, text in helps.items():
        sub = commands.add_parser(command, help=text, parents=[common])
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


_REVOCATIONS = {
    "revoke-tokens": ("revoke_tokens", "API tokens"),
    "revoke-sessions": ("revoke_sessions", "sessions"),
}


def _audit(db: str, action: str, target: str, *, before=None, after=None) -> None:
    AuditLog(db).record(
        user=_os_user(), role="cli", action=action, target=target, before=before, after=after
    )


def _existing(store: UserStore, name: str) -> User:
    user = store.get(name)
    if user is None:
        raise UserError(f"'name' must name an existing user, got {name!r}")
    return user


def _revoke(store: UserStore, args: argparse.Namespace) -> int:
    method, what = _REVOCATIONS[args.command]
    user = _existing(store, args.name)
    count = getattr(store, method)(user.name)
    _audit(args.db, f"user.{args.command}", user.name, after={"revoked": count})
    print(f"{args.command}: {user.name}: {count} {what} revoked")
    return 0


def _token(store: UserStore, args: argparse.Namespace) -> int:
    token = store.issue_token(args.name)
    user = store.get(args.name)
    _audit(args.db, "user.token", user.name, after={"tokens": store.token_count(user.name)})
    print(
        f"token: new API token for {user.name} ({user.role.value}); it is shown only once,"
        " send it as 'Authorization: Bearer <token>':"
    )
    print(token)
    return 0


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
        elif args.command in _REVOCATIONS:
            return _revoke(store, args)
        elif args.command == "token":
            return _token(store, args)
        else:
            before_user = store.get(args.name)
            user = getattr(store, args.command)(args.name)
            before = {"active": before_user.active}
            after = {"active": user.active}
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    AuditLog(args.db).record(
        user=_os_user(),
        role="cli",
        action=f"user.{args.command}",
        target=user.name,
        before=before,
        after=after,
    )
    print(f"{args.command}: {_describe(user)}")
    if args.command == "disable":
        print(f"disable: {user.name}: every session and API token revoked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
