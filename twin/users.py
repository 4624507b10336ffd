"""User accounts and roles, stored in SQLite with hashed passwords.

A user has a unique name, one role and an active flag. Passwords are hashed with
``werkzeug.security`` (scrypt by default) and never stored or returned in clear.
Every write validates its input first and changes nothing when the input is bad;
the error names the field and the rule it broke.

Each store keeps one connection, used by one thread at a time, so an instance can
be shared by threads; several processes can use the same file (SQLite locks it).
Create stores after forking worker processes, not before.
"""

from __future__ import annotations

import enum
import functools
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from twin._sqlite import SqliteFile

from werkzeug.security import check_password_hash, generate_password_hash

__all__ = [
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "Role",
    "User",
    "UserError",
    "UserStore",
]

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,31}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY COLLATE NOCASE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_s     REAL NOT NULL
);
"""


class Role(enum.StrEnum):
    """What a signed-in user may do.

    operator: live control. planner: replay and forks, no live control.
    executive: summary and read-only map. admin: users and audit.
    """

    OPERATOR = "operator"
    PLANNER = "planner"
    EXECUTIVE = "executive"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        """Return the role named `value`, or raise UserError naming the allowed roles."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(r.value for r in cls)
            raise UserError(f"'role' must be one of {allowed}, got {value!r}") from None


class UserError(ValueError):
    """Bad input to the user store; the message names the field and the rule."""


@dataclass(frozen=True)
class User:
    """A user account as read from the store (never carries the password hash)."""

    name: str
    role: Role
    active: bool
    created_s: float


def validate_name(name: str) -> str:
    """Return `name` if it is a valid user name, else raise UserError."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise UserError(
            "'name' must be 2-32 characters: letters, digits, '.', '-' or '_', "
            f"starting with a letter or digit, got {name!r}"
        )
    return name


def validate_password(password: str) -> str:
    """Return `password` if long enough, else raise UserError (never echoing it)."""
    if not isinstance(password, str) or not password:
        raise UserError("'password' must not be empty")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(
            f"'password' must be at least {MIN_PASSWORD_CHARS} characters, "
            f"got {len(password)}"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise UserError(
            f"'password' must be at most {MAX_PASSWORD_CHARS} characters, "
            f"got {len(password)}"
        )
    return password


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against for unknown users, so timing does not reveal names."""
    return generate_password_hash("venuetwin-no-such-user")


class UserStore(SqliteFile):
    """User accounts in the SQLite file at `path` (created if missing).

    Parameters
    ----------
    path
        SQLite database file; may be shared with :class:`twin.audit.AuditLog`.
    clock
        Returns wall time in seconds since the epoch (for `created_s`).
    """

    def __init__(self, path: str | Path, *, clock=time.time) -> None:
        super().__init__(path, _SCHEMA, clock=clock)

    def add(self, name: str, password: str, role: str | Role) -> User:
        """Create an active user; raise UserError on bad input or a taken name."""
        validate_name(name)
        role = Role.parse(role)
        validate_password(password)
        if self.get(name) is not None:
            raise UserError(f"'name' must be unique: user {name!r} already exists")
        user = User(name=name, role=role, active=True, created_s=self._clock())
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO users (name, role, password_hash, active, created_s)"
                    " VALUES (?, ?, ?, 1, ?)",
                    (name, role.value, generate_password_hash(password), user.created_s),
                )
        except sqlite3.IntegrityError:  # lost a race with another writer
            raise UserError(f"'name' must be unique: user {name!r} already exists") from None
        return user

    def get(self, name: str) -> User | None:
        """Return the user called `name` (case-insensitive), or None."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT name, role, active, created_s FROM users WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        """All users, sorted by name."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT name, role, active, created_s FROM users ORDER BY name"
            ).fetchall()
        return [_user(row) for row in rows]

    def disable(self, name: str) -> User:
        """Mark `name` inactive: it can no longer sign in, and open sessions end."""
        return self._set_active(name, False)

    def enable(self, name: str) -> User:
        """Mark `name` active again."""
        return self._set_active(name, True)

    def set_password(self, name: str, password: str) -> User:
        """Replace the password of `name`."""
        validate_password(password)
        user = self._require(name)
        with self._connect() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?",
                (generate_password_hash(password), name),
            )
        return user

    def verify(self, name: str, password: str) -> User | None:
        """Return the active user if `password` is right, else None.

        Unknown names still cost one hash check, so response time does not tell
        an attacker which names exist.
        """
        with self._connect() as conn:
            row = conn.execute(
                "SELECT name, role, active, created_s, password_hash FROM users"
                " WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            check_password_hash(_dummy_hash(), password or "")
            return None
        user, password_hash = _user(row[:4]), row[4]
        if not check_password_hash(password_hash, password or ""):
            return None
        return user if user.active else None

    def _require(self, name: str) -> User:
        user = self.get(name) if isinstance(name, str) else None
        if user is None:
            raise UserError(f"'name' must name an existing user, got {name!r}")
        return user

    def _set_active(self, name: str, active: bool) -> User:
        user = self._require(name)
        with self._connect() as conn:
            conn.execute("UPDATE users SET active = ? WHERE name = ?", (int(active), name))
        return User(user.name, user.role, active, user.created_s)


def _user(row: tuple) -> User:
    name, role, active, created_s = row
    return User(name=name, role=Role(role), active=bool(active), created_s=created_s)
