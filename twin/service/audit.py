"""Append-only audit log: who did what, when, to what, and with what result.

One SQLite table holds two categories of entry:

- ``action``: an operator, planner or admin action (signal plan change, lane
  opening, user added ...), with the value before and after;
- ``security``: sign-ins, sign-outs and refused requests (the security log).

Triggers make the table append-only: any UPDATE or DELETE raises
``sqlite3.IntegrityError`` ("audit_log is append-only"), with one exception: an
input on its way through the command path is written ``pending`` first and settled
once (:meth:`AuditLog.settle`) to its true outcome (``ok``, ``refused``,
``not_recorded`` or ``error``), only its result changing and its detail growing at
the end (see docs/recording-format.md, "Audit truth"). A settled row never changes
again. That guards against the application, not against someone with write access
to the file.

:meth:`AuditLog.record` returns only after the row is committed with
``synchronous=FULL``, so a caller may acknowledge an action once it returns.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin.service._sqlite import SqliteFile

__all__ = ["CATEGORIES", "RESULTS", "AuditEntry", "AuditError", "AuditFilter", "AuditLog"]

CATEGORIES = ("action", "security")
RESULTS = ("ok", "refused", "failed", "error", "pending", "not_recorded")
SETTLED = ("ok", "refused", "not_recorded", "error")
"""What a ``pending`` row may become (once)."""
MAX_QUERY_ROWS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    wall_time_s REAL NOT NULL,
    sim_time_s  REAL,
    category    TEXT NOT NULL,
    user        TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    result      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (wall_time_s);
DROP TRIGGER IF EXISTS audit_log_no_update;
CREATE TRIGGER IF NOT EXISTS audit_log_settle_only BEFORE UPDATE ON audit_log
WHEN NOT (
    OLD.result = 'pending'
    AND NEW.result IN ('ok', 'refused', 'not_recorded', 'error')
    AND NEW.id = OLD.id AND NEW.wall_time_s = OLD.wall_time_s
    AND NEW.sim_time_s IS OLD.sim_time_s AND NEW.category = OLD.category
    AND NEW.user = OLD.user AND NEW.role = OLD.role AND NEW.action = OLD.action
    AND NEW.target = OLD.target AND NEW.before IS OLD.before AND NEW.after IS OLD.after
    AND NEW.ip = OLD.ip AND substr(NEW.detail, 1, length(OLD.detail)) = OLD.detail
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""
_INSERT_COLUMNS = (
    "wall_time_s, sim_time_s, category, user, role, action, target,"
    " before, after, result, ip, detail"
)
_COLUMNS = "id, " + _INSERT_COLUMNS
# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditError(ValueError):
    """Bad input to the audit log; the message names the field and the rule."""


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log. `before`/`after` are decoded JSON values."""

    id: int
    wall_time_s: float
    sim_time_s: float | None
    category: str
    user: str
    role: str
    action: str
    target: str
    before: Any
    after: Any
    result: str
    ip: str
    detail: str

    @property
    def wall_time_iso(self) -> str:
        """Wall time as ISO 8601 in UTC, to the millisecond."""
        stamp = datetime.fromtimestamp(self.wall_time_s, tz=UTC)
        return stamp.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class AuditFilter:
    """What :meth:`AuditLog.query` returns; None means "any".

    `action` matches exactly, or as a prefix when it ends with ``.``
    (``"signal."`` matches ``"signal.set_plan"``). `since_s`/`until_s` bound the
    wall time (inclusive, seconds since the epoch).
    """

    user: str | None = None
    role: str | None = None
    action: str | None = None
    category: str | None = None
    result: str | None = None
    since_s: float | None = None
    until_s: float | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        if self.category is not None and self.category not in CATEGORIES:
            raise AuditError(f"'category' must be one of {CATEGORIES}, got {self.category!r}")
        if not 1 <= self.limit <= MAX_QUERY_ROWS:
            raise AuditError(f"'limit' must be in 1..{MAX_QUERY_ROWS}, got {self.limit}")
        if None not in (self.since_s, self.until_s) and self.since_s > self.until_s:
            raise AuditError(
                f"'since_s' must not be after 'until_s', got {self.since_s} > {self.until_s}"
            )

    def where(self) -> tuple[str, list[Any]]:
        """SQL WHERE clause (with leading ``WHERE`` or empty) and its parameters."""
        terms, params = [], []
        for column in ("user", "role", "category", "result"):
            value = getattr(self, column)
            if value:
                terms.append(f"{column} = ?")
                params.append(value)
        if self.action:
            if self.action.endswith("."):
                terms.append("substr(action, 1, ?) = ?")
                params += [len(self.action), self.action]
            else:
                terms.append("action = ?")
                params.append(self.action)
        if self.since_s is not None:
            terms.append("wall_time_s >= ?")
            params.append(self.since_s)
        if self.until_s is not None:
            terms.append("wall_time_s <= ?")
            params.append(self.until_s)
        return ("WHERE " + " AND ".join(terms) if terms else ""), params


class AuditLog(SqliteFile):
    """The audit log in the SQLite file at `path` (created if missing).

    Parameters
    ----------
    path
        SQLite database file; may be shared with :class:`auth.users.UserStore`.
    clock
        Returns wall time in seconds since the epoch.
    """

    def __init__(self, path: str | Path, *, clock=time.time) -> None:
        super().__init__(path, _SCHEMA, clock=clock, durable=True)

    def record(
        self,
        *,
        user: str,
        role: str,
        action: str,
        target: str = "",
        before: Any = None,
        after: Any = None,
        result: str = "ok",
        sim_time_s: float | None = None,
        category: str = "action",
        ip: str = "",
        detail: str = "",
    ) -> AuditEntry:
        """Append one entry and return it once committed to disk.

        `before` and `after` are any JSON-serialisable values (None if not
        applicable); `sim_time_s` is the simulation clock when the action applied.
        Never pass secrets (passwords, tokens) in any field.
        """
        if category not in CATEGORIES:
            raise AuditError(f"'category' must be one of {CATEGORIES}, got {category!r}")
        if result not in RESULTS:
            raise AuditError(f"'result' must be one of {RESULTS}, got {result!r}")
        if not action:
            raise AuditError("'action' must not be empty")
        before_json, after_json = _to_json("before", before), _to_json("after", after)
        wall_time_s = self._clock()
        with self._connect() as conn:
            cursor = conn.execute(
                f"INSERT INTO audit_log ({_INSERT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    wall_time_s,
                    sim_time_s,
                    category,
                    user,
                    role,
                    action,
                    target,
                    before_json,
                    after_json,
                    result,
                    ip,
                    detail,
                ),
            )
            entry_id = cursor.lastrowid
        return AuditEntry(
            entry_id,
            wall_time_s,
            sim_time_s,
            category,
            user,
            role,
            action,
            target,
            before,
            after,
            result,
            ip,
            detail,
        )

    def settle(self, entry_id: int, result: str, *, note: str = "") -> None:
        """Settle the ``pending`` row ``entry_id`` to its outcome (one of :data:`SETTLED`),
        ``note`` appended to its detail; returns once committed. A row already settled, or
        unknown, raises :class:`AuditError` (nothing changes)."""
        if result not in SETTLED:
            raise AuditError(f"'result' must be one of {SETTLED}, got {result!r}")
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE audit_log SET result = ?, detail = detail || ?"
                " WHERE id = ? AND result = 'pending'",
                (result, f" [{note}]" if note else "", int(entry_id)),
            )
            if cursor.rowcount != 1:
                raise AuditError(f"audit row {entry_id} is not pending (already settled or none)")

    def pending(self) -> list[AuditEntry]:
        """Rows still ``pending`` (a crash or a failed write between the row and its outcome),
        oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log WHERE result = 'pending' ORDER BY id"
            ).fetchall()
        return [_entry(row) for row in rows]

    def acknowledged_inputs(self, recording_id: str) -> list[AuditEntry]:
        """The action rows the command path settled ``ok`` for the recording ``recording_id``
        (its detail names the recording), oldest first: what that recording must hold."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log WHERE category = 'action' AND result = 'ok'"
                " AND json_valid(detail) AND json_extract(detail, '$.recording') = ?"
                " ORDER BY id",
                (recording_id,),
            ).fetchall()
        return [_entry(row) for row in rows]

    def record_security(
        self,
        event: str,
        *,
        user: str = "",
        role: str = "",
        target: str = "",
        result: str = "refused",
        ip: str = "",
        detail: str = "",
    ) -> AuditEntry:
        """Append a security-log entry (sign-in, sign-out, refused request)."""
        return self.record(
            user=user,
            role=role,
            action=event,
            target=target,
            result=result,
            category="security",
            ip=ip,
            detail=detail,
        )

    def query(self, filters: AuditFilter | None = None) -> list[AuditEntry]:
        """Entries matching `filters`, newest first."""
        filters = filters or AuditFilter()
        where, params = filters.where()
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log {where} ORDER BY id DESC LIMIT ?",
                [*params, filters.limit],
            ).fetchall()
        return [_entry(row) for row in rows]

    def facets(self) -> dict[str, list[str]]:
        """Distinct users, roles and actions seen, for filter menus."""
        with self._connect() as conn:
            return {
                column: [
                    v
                    for (v,) in conn.execute(
                        f"SELECT DISTINCT {column} FROM audit_log WHERE {column} != ''"
                        f" ORDER BY {column}"
                    )
                ]
                for column in ("user", "role", "action")
            }

    def to_csv(self, filters: AuditFilter | None = None) -> str:
        """Entries matching `filters` as CSV text (header row first, newest first)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        names = [f.name for f in fields(AuditEntry)]
        writer.writerow(["wall_time_utc", *names])
        for entry in self.query(filters):
            values = {n: getattr(entry, n) for n in names}
            values["before"], values["after"] = _json_cell(entry.before), _json_cell(entry.after)
            writer.writerow([entry.wall_time_iso, *(_csv_safe(values[n]) for n in names)])
        return buffer.getvalue()


def _to_json(name: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return _json_cell(value)
    except (TypeError, ValueError) as err:
        raise AuditError(f"'{name}' must be JSON-serialisable, got {type(value).__name__}") from err


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _entry(row: tuple) -> AuditEntry:
    entry = AuditEntry(*row)
    before = None if entry.before is None else json.loads(entry.before)
    after = None if entry.after is None else json.loads(entry.after)
    return replace(entry, before=before, after=after)
