"""User accounts and roles, their sign-in sessions and API tokens, stored in SQLite.

A user has a unique name, one role and an active flag. Passwords are hashed with
``werkzeug.security`` (scrypt by default) and never stored or returned in clear.
Every write validates its input first and changes nothing when the input is bad;
the error names the field and the rule it broke.

Sessions (:meth:`UserStore.start_session`, :meth:`~UserStore.resume_session`) and API
bearer tokens (:meth:`UserStore.issue_token`, :meth:`~UserStore.user_for_token`) are
random 256-bit secrets handed to the client once; the file keeps only their SHA-256,
so a copy of it signs nobody in. Either can be revoked at any time
(:meth:`~UserStore.end_session`, :meth:`~UserStore.revoke_sessions`,
:meth:`~UserStore.revoke_tokens`); disabling a user revokes both. A fast hash is
enough here: unlike passwords, these secrets cannot be guessed from a list.

Each store keeps one connection, used by one thread at a time, so an instance can
be shared by threads; several processes can use the same file (SQLite locks it).
Create stores after forking worker processes, not before.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from twin.service._sqlite import SqliteFile

__all__ = [
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "TOKEN_PREFIX",
    "Role",
    "Session",
    "TokenInfo",
    "User",
    "UserError",
    "UserStore",
]

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,31}")
TOKEN_PREFIX = "vt_"
_SECRET_BYTES = 32  # 256 bits, for session ids and API tokens
_MAX_SECRET_CHARS = 128  # longer presented secrets are refused without a lookup
_PURGE_AFTER_S = 86_400.0  # ended sessions are kept a day past their end, then deleted

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY COLLATE NOCASE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_s     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash     TEXT PRIMARY KEY,
    user        TEXT NOT NULL COLLATE NOCASE,
    role        TEXT NOT NULL,
    demo        INTEGER NOT NULL DEFAULT 0,
    created_s   REAL NOT NULL,
    expires_s   REAL NOT NULL,
    last_seen_s REAL NOT NULL,
    revoked_s   REAL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
CREATE TABLE IF NOT EXISTS api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user        TEXT NOT NULL COLLATE NOCASE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_s   REAL NOT NULL,
    last_used_s REAL,
    revoked_s   REAL
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user);
"""
# Added after the first release: expiry and scope of API tokens (issue 19). Tokens made before
# get the default lifetime from their creation and the scope they had (act).
_TOKEN_COLUMNS = {
    "expires_s": "ALTER TABLE api_tokens ADD COLUMN expires_s REAL",
    "scope": "ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'act'",
}
TOKEN_SCOPES = ("read", "act")
"""``read``: GET requests only; ``act``: also what the user's role may submit."""
DEFAULT_TOKEN_TTL_S = 90 * 86400.0
MAX_TOKEN_TTL_S = 366 * 86400.0


class Role(enum.StrEnum):
    """What a signed-in user may do.

    operator: live control. planner: replay and forks, no live control.
    executive: summary and read-only map. admin: users, audit and the clock.
    feed: a machine account that posts field feeds (API token only) and nothing else.
    What each may do is the permission table, :mod:`twin.service.permissions`.
    """

    OPERATOR = "operator"
    PLANNER = "planner"
    EXECUTIVE = "executive"
    ADMIN = "admin"
    FEED = "feed"

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


@dataclass(frozen=True)
class Session:
    """A live sign-in session as read from the store (never carries its id).

    `role` is the role it was started with; `demo` marks the password-less local
    demo sign-in, whose user is not in the users table.
    """

    name: str
    role: str
    demo: bool
    created_s: float
    expires_s: float
    last_seen_s: float


@dataclass(frozen=True)
class TokenInfo:
    """One API token as listed (never its secret): its scope, times (s since the epoch) and
    whether it can be used now (``valid``: not revoked, not expired)."""

    id: int
    user: str
    scope: str
    created_s: float
    expires_s: float
    last_used_s: float | None
    revoked_s: float | None
    valid: bool


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
            f"'password' must be at least {MIN_PASSWORD_CHARS} characters, got {len(password)}"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise UserError(
            f"'password' must be at most {MAX_PASSWORD_CHARS} characters, got {len(password)}"
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
        SQLite database file; may be shared with :class:`twin.service.audit.AuditLog`.
    clock
        Returns wall time in seconds since the epoch (for `created_s`).
    """

    def __init__(self, path: str | Path, *, clock=time.time) -> None:
        super().__init__(path, _SCHEMA, clock=clock)
        with self._connect() as conn:
            have = {row[1] for row in conn.execute("PRAGMA table_info(api_tokens)")}
            for column, sql in _TOKEN_COLUMNS.items():
                if column not in have:
                    conn.execute(sql)
            conn.execute(
                "UPDATE api_tokens SET expires_s = created_s + ? WHERE expires_s IS NULL",
                (DEFAULT_TOKEN_TTL_S,),
            )

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
        """Mark `name` inactive: it can no longer sign in, and its sessions and API tokens
        are revoked (enabling the user again does not bring them back)."""
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
                "SELECT name, role, active, created_s, password_hash FROM users WHERE name = ?",
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
        with self._connect() as conn:  # one transaction: no window with a live session
            conn.execute("UPDATE users SET active = ? WHERE name = ?", (int(active), name))
            if not active:
                self._revoke(conn, "sessions", user.name)
                self._revoke(conn, "api_tokens", user.name)
        return User(user.name, user.role, active, user.created_s)

    # -- sessions ------------------------------------------------------------------
    def start_session(
        self, name: str, role: str | Role, *, max_age_s: float, demo: bool = False
    ) -> str:
        """Record a new session for `name` and return its id (give it to the client only).

        The session lasts at most `max_age_s` from now. A `demo` session is for a
        user that is not in the table (the local demo sign-in); otherwise `name`
        must be an active user. Sessions that ended over a day ago are deleted here.
        """
        role = Role.parse(role)
        if not max_age_s > 0:
            raise UserError(f"'max_age_s' must be > 0, got {max_age_s}")
        if not demo:
            user = self._require(name)
            if not user.active:
                raise UserError(f"'name' must name an active user, got {name!r}")
            name = user.name
        session_id = secrets.token_urlsafe(_SECRET_BYTES)
        now = self._clock()
        with self._connect() as conn:
            conn.execute(
                "DELETE FROM sessions WHERE coalesce(revoked_s, expires_s) < ?",
                (now - _PURGE_AFTER_S,),
            )
            conn.execute(
                "INSERT INTO sessions (id_hash, user, role, demo, created_s, expires_s,"
                " last_seen_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_digest(session_id), name, role.value, int(demo), now, now + max_age_s, now),
            )
        return session_id

    def resume_session(self, session_id: str, *, idle_s: float) -> Session | None:
        """The session with this id if it is still valid, else None.

        Valid means: known, not revoked, not past its end, used within the last
        `idle_s` seconds, and (unless a demo session) its user still active and of
        the same role. The last-use time is written at most every `idle_s` / 4
        seconds (and at most once a minute), so polling does not write every time.
        """
        if not isinstance(session_id, str) or not 0 < len(session_id) <= _MAX_SECRET_CHARS:
            return None
        now = self._clock()
        with self._connect() as conn:
            row = conn.execute(
                "SELECT s.user, s.role, s.demo, s.created_s, s.expires_s, s.last_seen_s,"
                " u.role, u.active FROM sessions s LEFT JOIN users u ON u.name = s.user"
                " WHERE s.id_hash = ? AND s.revoked_s IS NULL",
                (_digest(session_id),),
            ).fetchone()
            if row is None:
                return None
            name, role, demo, created_s, expires_s, last_seen_s, user_role, active = row
            if now >= expires_s or now - last_seen_s > idle_s:
                return None
            if not demo and not (active and user_role == role):
                return None
            if now - last_seen_s >= min(60.0, idle_s / 4):
                conn.execute(
                    "UPDATE sessions SET last_seen_s = ? WHERE id_hash = ?",
                    (now, _digest(session_id)),
                )
                last_seen_s = now
        return Session(name, role, bool(demo), created_s, expires_s, last_seen_s)

    def end_session(self, session_id: str) -> bool:
        """Revoke one session (sign-out); True if it was live."""
        if not isinstance(session_id, str) or not session_id:
            return False
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET revoked_s = ? WHERE id_hash = ? AND revoked_s IS NULL",
                (self._clock(), _digest(session_id)),
            )
        return cursor.rowcount > 0

    def revoke_sessions(self, name: str) -> int:
        """Revoke every session of `name`; return how many were not revoked yet.

        Also works for a demo user name (``demo-operator``) or a user since deleted.
        """
        if not isinstance(name, str) or not name:
            raise UserError(f"'name' must name a user, got {name!r}")
        with self._connect() as conn:
            return self._revoke(conn, "sessions", name)

    def sessions(self, name: str) -> list[Session]:
        """The sessions of `name` that are not revoked and not past their end."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT user, role, demo, created_s, expires_s, last_seen_s FROM sessions"
                " WHERE user = ? AND revoked_s IS NULL AND expires_s > ? ORDER BY created_s",
                (name, self._clock()),
            ).fetchall()
        return [Session(n, r, bool(d), c, e, seen) for n, r, d, c, e, seen in rows]

    # -- API bearer tokens ---------------------------------------------------------
    def issue_token(
        self, name: str, *, expires_in_s: float = DEFAULT_TOKEN_TTL_S, scope: str = "act"
    ) -> str:
        """Make a new API token for the active user `name` and return it.

        The token (``vt_`` + 43 URL-safe characters) is shown once: only its SHA-256
        is stored. A user may hold several; each acts with the user's current role,
        within its `scope` (``read``: GET only; ``act``: also submit what the role may),
        until `expires_in_s` from now (at most a year; :meth:`renew_token` extends it).
        """
        _check_ttl(expires_in_s)
        if scope not in TOKEN_SCOPES:
            raise UserError(f"'scope' must be one of {', '.join(TOKEN_SCOPES)}, got {scope!r}")
        user = self._require(name)
        if not user.active:
            raise UserError(f"'name' must name an active user, got {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
        now = self._clock()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO api_tokens (user, token_hash, created_s, expires_s, scope)"
                " VALUES (?, ?, ?, ?, ?)",
                (user.name, _digest(token), now, now + float(expires_in_s), scope),
            )
        return token

    def tokens(self, name: str) -> list[TokenInfo]:
        """The API tokens of `name` (never the secrets), oldest first, revoked ones included."""
        user = self._require(name)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, user, scope, created_s, expires_s, last_used_s, revoked_s"
                " FROM api_tokens WHERE user = ? ORDER BY id",
                (user.name,),
            ).fetchall()
        now = self._clock()
        return [
            TokenInfo(i, u, sc, c, e, last, rev, rev is None and now < e)
            for i, u, sc, c, e, last, rev in rows
        ]

    def renew_token(
        self, name: str, token_id: int, *, expires_in_s: float = DEFAULT_TOKEN_TTL_S
    ) -> TokenInfo:
        """Set the token `token_id` of `name` to expire `expires_in_s` from now (also an
        expired one; never a revoked one)."""
        _check_ttl(expires_in_s)
        user = self._require(name)
        if not user.active:
            raise UserError(f"'name' must name an active user, got {name!r}")
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE api_tokens SET expires_s = ? WHERE id = ? AND user = ?"
                " AND revoked_s IS NULL",
                (self._clock() + float(expires_in_s), int(token_id), user.name),
            )
        if cursor.rowcount != 1:
            raise UserError(
                f"'token_id' must name an unrevoked token of {user.name}, got {token_id!r}"
            )
        return next(t for t in self.tokens(user.name) if t.id == int(token_id))

    def revoke_tokens(self, name: str) -> int:
        """Revoke every API token of `name`; return how many were not revoked yet."""
        user = self._require(name)
        with self._connect() as conn:
            return self._revoke(conn, "api_tokens", user.name)

    def user_for_token(self, token: str) -> User | None:
        """The active user holding the unrevoked, unexpired API token `token`, else None."""
        grant = self.token_grant(token)
        return None if grant is None else grant[0]

    def token_grant(self, token: str) -> tuple[User, str] | None:
        """``(user, scope)`` of the unrevoked, unexpired API token `token` of an active user,
        else None."""
        if (
            not isinstance(token, str)
            or not token.startswith(TOKEN_PREFIX)
            or len(token) > _MAX_SECRET_CHARS
        ):
            return None
        now = self._clock()
        with self._connect() as conn:
            row = conn.execute(
                "SELECT t.id, t.last_used_s, t.expires_s, t.scope, u.name, u.role, u.active,"
                " u.created_s FROM api_tokens t JOIN users u ON u.name = t.user"
                " WHERE t.token_hash = ? AND t.revoked_s IS NULL",
                (_digest(token),),
            ).fetchone()
            if row is None or not row[6] or not now < row[2]:
                return None
            token_id, last_used_s = row[:2]
            if last_used_s is None or now - last_used_s >= 60.0:
                conn.execute("UPDATE api_tokens SET last_used_s = ? WHERE id = ?", (now, token_id))
        return _user(row[4:]), row[3]

    def token_count(self, name: str) -> int:
        """How many unrevoked API tokens `name` holds."""
        with self._connect() as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM api_tokens WHERE user = ? AND revoked_s IS NULL", (name,)
            ).fetchone()
        return count

    def _revoke(self, conn: sqlite3.Connection, table: str, name: str) -> int:
        cursor = conn.execute(
            f"UPDATE {table} SET revoked_s = ? WHERE user = ? AND revoked_s IS NULL",
            (self._clock(), name),
        )
        return cursor.rowcount


def _check_ttl(expires_in_s: float) -> None:
    if (
        isinstance(expires_in_s, bool)
        or not isinstance(expires_in_s, (int, float))
        or not 0 < expires_in_s <= MAX_TOKEN_TTL_S
    ):
        raise UserError(
            f"'expires_in_s' must be > 0 and at most {MAX_TOKEN_TTL_S / 86400:.0f} days,"
            f" got {expires_in_s!r}"
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: tuple) -> User:
    name, role, active, created_s = row
    return User(name=name, role=Role(role), active=bool(active), created_s=created_s)
