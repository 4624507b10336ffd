"""``python -m twin users ...``: manage sign-in accounts, their sessions and API tokens.

Commands: add, list, disable, enable, token, tokens, renew-token, revoke-tokens,
revoke-sessions.

There is no default account and no default password: the first user is made here,
for example ``python -m twin users add alice --role admin``. The password is asked
for twice with getpass, or read as one line from stdin with ``--password-stdin``
(for scripts: ``printf '%s\\n' "$PW" | python -m twin users add ...``). It is
never taken as an argument, so it stays out of shell history and ``ps``.

``token NAME [--scope read|act] [--expires-days N]`` prints a new API bearer token for
NAME alone on its last line (it is stored hashed and cannot be shown again); it expires
after N days (default 90, at most 366) and with scope ``read`` may only read.
``tokens NAME`` lists NAME's tokens (id, scope, created, expires, last used, state);
``renew-token NAME ID [--expires-days N]`` sets a token to expire N days from now;
``revoke-tokens NAME`` revokes all of them.
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
from datetime import UTC, datetime

from auth.users import DEFAULT_TOKEN_TTL_S, TOKEN_SCOPES, Role, User, UserError, UserStore
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
    subs = {}
    for command, text in helps.items():
        sub = subs[command] = commands.add_parser(command, help=text, parents=[common])
        sub.add_argument("name")
    days = DEFAULT_TOKEN_TTL_S / 86400
    subs["token"].add_argument("--scope", choices=TOKEN_SCOPES, default="act")
    subs["token"].add_argument(
        "--expires-days", type=float, default=days, help="lifetime in days (default %(default)g)"
    )
    listing = commands.add_parser("tokens", help="list a user's API tokens", parents=[common])
    listing.add_argument("name")
    renew = commands.add_parser(
        "renew-token", help="set an API token to expire N days from now", parents=[common]
    )
    renew.add_argument("name")
    renew.add_argument("token_id", type=int)
    renew.add_argument("--expires-days", type=float, default=days)
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
    token = store.issue_token(args.name, expires_in_s=args.expires_days * 86400.0, scope=args.scope)
    user = store.get(args.name)
    info = store.tokens(user.name)[-1]
    _audit(
        args.db,
        "user.token",
        user.name,
        after={
            "tokens": store.token_count(user.name),
            "id": info.id,
            "scope": info.scope,
            "expires": _when(info.expires_s),
        },
    )
    print(
        f"token: new API token #{info.id} for {user.name} ({user.role.value}), scope"
        f" {info.scope}, expires {_when(info.expires_s)}; it is shown only once,"
        " send it as 'Authorization: Bearer <token>':"
    )
    print(token)
    return 0


def _when(time_s: float | None) -> str:
    if time_s is None:
        return "-"
    return datetime.fromtimestamp(time_s, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _tokens(store: UserStore, args: argparse.Namespace) -> int:
    for t in store.tokens(args.name):
        state = "revoked" if t.revoked_s is not None else ("valid" if t.valid else "expired")
        print(
            f"#{t.id:<5} {t.scope:<5} created {_when(t.created_s)}  expires {_when(t.expires_s)}"
            f"  last used {_when(t.last_used_s)}  {state}"
        )
    return 0


def _renew(store: UserStore, args: argparse.Namespace) -> int:
    info = store.renew_token(args.name, args.token_id, expires_in_s=args.expires_days * 86400.0)
    _audit(
        args.db,
        "user.renew-token",
        info.user,
        after={"id": info.id, "expires": _when(info.expires_s)},
    )
    print(f"renew-token: #{info.id} of {info.user} now expires {_when(info.expires_s)}")
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
        elif args.command == "tokens":
            return _tokens(store, args)
        elif args.command == "renew-token":
            return _renew(store, args)
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
