"""The recording of a day: header, append-only inputs, periodic snapshots, KPI samples.

One SQLite file (WAL mode, ``PRAGMA user_version`` = :data:`SCHEMA_VERSION`) per recorded day
or fork. The format is documented for other tools in ``docs/recording-format.md``:

- ``header``: key → JSON value (scenario folder and content hash, seed, start, warm-up,
  software version, wall-clock start, parent recording and fork minute for a fork);
- ``inputs``: every input that can change the future, in the order it was applied (``seq``),
  with its simulated and wall time, user and role, result (``ok`` or ``refused``), and the id
  of the audit-log row that records the same act (the audit log stays the accountability log);
- ``snapshots``: the engine state every :data:`SNAPSHOT_EVERY_S` simulated seconds, compressed,
  with ``after_seq``, the last input applied before it was taken;
- ``samples``: the control-room KPIs and the alert list every simulated minute (outputs, kept so
  a replay shows the alerts the operators saw: the alarm book depends on background forecasts
  whose timing is not part of the deterministic engine);
- ``closing``: one row once the day is closed (a day without one was interrupted: the app
  resumes it).

:class:`Recorder` writes a file (inputs synchronously with ``synchronous=FULL``, so a caller may
acknowledge an input once :meth:`Recorder.record_input` returns; snapshots and samples through a
writer thread). :class:`Recording` reads one, read-only, and never rewrites it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import pickle
import queue
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.clock_text import hhmm
from twin.errors import TwinError

if TYPE_CHECKING:
    from twin.engine import EngineState
    from twin.scenario import Scenario

__all__ = [
    "SCHEMA_VERSION",
    "SNAPSHOT_EVERY_S",
    "SAMPLE_EVERY_S",
    "Input",
    "Recorder",
    "Recording",
    "RecordingError",
    "list_recordings",
    "scenario_fingerprint",
]

log = logging.getLogger(__name__)

FORMAT = "venuetwin-recording"
SCHEMA_VERSION = 1
SNAPSHOT_EVERY_S = 300.0
"""Simulated seconds between snapshots. A seek re-simulates at most this much: on the bundled
day 5 simulated minutes take about 70 ms with the crowd, so a seek to a random minute takes
p50 34 ms and p95 68 ms (``python -m bench --only recording``; goal p95 <= 200 ms); a
snapshot is about 210 kB compressed, so a recorded 7-hour day with its samples is 34 MB."""
SAMPLE_EVERY_S = 60.0
"""Simulated seconds between KPI and alert samples."""
INPUT_KINDS = ("action", "clock", "ack", "shelve", "feed")
RESULTS = ("ok", "refused")
MAX_PAYLOAD_CHARS = 4000
"""Longer payloads (refused junk) are kept cut to this length, marked ``truncated``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS header (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inputs (
    seq         INTEGER PRIMARY KEY,
    sim_time_s  REAL NOT NULL,
    wall_time_s REAL NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    user        TEXT NOT NULL,
    role        TEXT NOT NULL,
    result      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    audit_id    INTEGER,
    before      TEXT,
    after       TEXT
);
CREATE TABLE IF NOT EXISTS snapshots (
    sim_time_s  REAL PRIMARY KEY,
    after_seq   INTEGER NOT NULL,
    wall_time_s REAL NOT NULL,
    codec       TEXT NOT NULL,
    state       BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    sim_time_s REAL PRIMARY KEY,
    kpis       TEXT NOT NULL,
    alerts     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS closing (
    end_s       REAL NOT NULL,
    wall_time_s REAL NOT NULL,
    reason      TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS inputs_append_only_u BEFORE UPDATE ON inputs
BEGIN SELECT RAISE(ABORT, 'inputs are append-only'); END;
CREATE TRIGGER IF NOT EXISTS inputs_append_only_d BEFORE DELETE ON inputs
BEGIN SELECT RAISE(ABORT, 'inputs are append-only'); END;
"""

MIGRATIONS: dict[int, str] = {}
"""SQL that takes a file from version ``n`` to ``n + 1`` (none yet: version 1 is the first)."""


class RecordingError(TwinError):
    """A recording cannot be read or used; ``code`` says why (``unknown_recording``,
    ``not_a_recording``, ``corrupt``, ``newer_schema``, ``scenario_mismatch``, ``out_of_range``)."""


@dataclass(frozen=True)
class Input:
    """One recorded input (a row of ``inputs``)."""

    seq: int
    sim_time_s: float
    wall_time_s: float
    kind: str
    name: str
    payload: Any
    user: str
    role: str
    result: str
    reason: str
    audit_id: int | None
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


# ---------------------------------------------------------------- scenario identity
def scenario_fingerprint(scenario: Scenario) -> str:
    """SHA-256 over the names and contents of the files that decide a simulation
    (:data:`twin.scenario.SCENARIO_FILES`) in ``scenario``'s folder (or a folder path), so
    attribution, reports or scripts beside them may change; ``in-memory:NAME`` for a scenario
    built in memory."""
    from twin.scenario import SCENARIO_FILES

    folder = scenario if isinstance(scenario, (str, Path)) else getattr(scenario, "path", None)
    if folder is None:
        return f"in-memory:{getattr(scenario, 'name', '?')}"
    digest = hashlib.sha256()
    for name in sorted(SCENARIO_FILES):
        path = Path(folder) / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- state codec
_SAFE_GLOBALS = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "slice"),
    ("collections", "OrderedDict"),
    ("collections", "deque"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


class _StateUnpickler(pickle.Unpickler):
    """Loads only numpy arrays, plain containers and the twin's own state classes, so a
    tampered recording cannot run code when it is opened."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS or (
            module.startswith("twin.") and not name.startswith("_")
        ):
            return super().find_class(module, name)
        if module.startswith("numpy") and name.endswith("DType"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"snapshot refers to {module}.{name}, which a state never holds"
        )


def encode_state(state: EngineState) -> bytes:
    """The engine state as a pickle (protocol 5); compressed later by the writer."""
    return pickle.dumps(state, protocol=5)


def decode_state(blob: bytes, codec: str) -> Any:
    """The engine state of a ``snapshots.state`` blob."""
    if codec != "pickle5+zlib":
        raise RecordingError(code="corrupt", message=f"unknown snapshot codec {codec!r}")
    return _StateUnpickler(io.BytesIO(zlib.decompress(blob))).load()


# ---------------------------------------------------------------- JSON
def _json(value: Any) -> str:
    return json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def _finite(value: Any) -> Any:
    """JSON has no NaN: non-finite floats become ``None`` (recursively)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def _payload_json(payload: Any) -> str:
    try:
        text = _json(_finite(payload))
    except (TypeError, ValueError, RecursionError):
        text = _json({"unreadable": repr(payload)[:MAX_PAYLOAD_CHARS]})
    if len(text) > MAX_PAYLOAD_CHARS:
        text = _json({"truncated": text[:MAX_PAYLOAD_CHARS]})
    return text


def _feed_payload_json(payload: Any) -> str:
    """An accepted feed batch's payload, whole: its aggregated arrays are what a replay
    re-applies (:func:`twin.feeds.payload.encode`: plain lists, ``null`` for NaN), so they are
    never cut to :data:`MAX_PAYLOAD_CHARS`. A per-minute batch of the bundled day's 117
    detectors is about 10 kB."""
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


# ---------------------------------------------------------------- the moment on screen
def shown_path(recording: Path) -> Path:
    """The file beside ``recording`` holding the last simulated time shown on screens
    (:meth:`Recorder.mark_shown`): a little-endian float64, seconds since local midnight."""
    return recording.with_name(recording.name + ".shown")


SHOWN_AHEAD_MAX_S = 3600.0
"""A shown mark more than this ahead of the recording's own last time is not believed."""


def read_shown(recording: Path, recorded_end_s: float) -> float | None:
    """The last simulated time screens showed for ``recording``, when its mark beside it is
    readable and plausible (finite, at or after ``recorded_end_s`` and at most
    :data:`SHOWN_AHEAD_MAX_S` after it); ``None`` otherwise."""
    try:
        raw = shown_path(recording).read_bytes()
    except OSError:
        return None
    if len(raw) != 8:
        return None
    (value,) = struct.unpack("<d", raw)
    if (
        not math.isfinite(value)
        or not recorded_end_s <= value <= recorded_end_s + SHOWN_AHEAD_MAX_S
    ):
        return None
    return value


# ---------------------------------------------------------------- writing
class Recorder:
    """Writes one recording file; safe to call from several threads.

    Use :meth:`create` for a new day and :meth:`reopen` to append to an interrupted one.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *, clock=time.time) -> None:
        self.path = path
        self._conn = conn
        self._clock = clock
        self._lock = threading.Lock()
        row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM inputs").fetchone()
        self.last_seq = int(row[0])
        self._queue: queue.Queue[tuple[str, tuple] | None] = queue.Queue()
        self._writer = threading.Thread(
            target=self._write_loop, name=f"recorder-{path.stem}", daemon=True
        )
        self._writer.start()
        self.closed = False
        self._shown_fd: int | None = None
        self._shown_failed = False

    @classmethod
    def create(cls, path: str | Path, header: Mapping[str, Any], *, clock=time.time) -> Recorder:
        """A new recording at ``path`` (refused if the file exists) with ``header``."""
        path = Path(path)
        if path.exists():
            raise RecordingError(
                code="exists", message=f"recording {path} already exists; it is never overwritten"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect_rw(path)
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            values = {"format": FORMAT, "recording_id": path.stem, **header}
            conn.executemany(
                "INSERT INTO header (key, value) VALUES (?, ?)",
                [(k, _json(_finite(v))) for k, v in values.items()],
            )
        return cls(path, conn, clock=clock)

    @classmethod
    def reopen(cls, path: str | Path, *, clock=time.time) -> Recorder:
        """Append to the interrupted recording at ``path`` (checked and migrated first)."""
        path = Path(path)
        Recording.open(path).close()  # raises RecordingError when unreadable
        conn = _connect_rw(path)
        _migrate(conn, path)
        return cls(path, conn, clock=clock)

    # -------------------------------------------------------- inputs (synchronous, durable)
    def record_input(
        self,
        *,
        kind: str,
        name: str,
        payload: Any,
        sim_time_s: float,
        user: str,
        role: str,
        result: str,
        reason: str = "",
        audit_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> int:
        """Append one input and return its ``seq`` once it is committed to disk."""
        if kind not in INPUT_KINDS:
            raise ValueError(f"kind must be one of {INPUT_KINDS}, got {kind!r}")
        if result not in RESULTS:
            raise ValueError(f"result must be one of {RESULTS}, got {result!r}")
        row = (
            float(sim_time_s),
            float(self._clock()),
            kind,
            str(name)[:200],
            _feed_payload_json(payload)
            if kind == "feed" and result == "ok"
            else _payload_json(payload),
            str(user)[:200],
            str(role)[:50],
            result,
            str(reason)[:MAX_PAYLOAD_CHARS],
            audit_id,
            None if before is None else _payload_json(before),
            None if after is None else _payload_json(after),
        )
        with self._lock, self._conn:
            seq = self.last_seq + 1
            self._conn.execute(
                "INSERT INTO inputs (seq, sim_time_s, wall_time_s, kind, name, payload, user, role, result,"
                " reason, audit_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, *row),
            )
            self.last_seq = seq
        return seq

    # -------------------------------------------------------- the moment on screen
    def mark_shown(self, time_s: float) -> None:
        """Note that screens now show simulated ``time_s``: eight bytes written in place to the
        file beside the recording (:func:`shown_path`), without waiting for the disk. The kernel
        keeps them through a SIGKILL of this process, so a resumed day never starts before a
        moment the operators already saw (samples are written once a simulated minute). A
        failure to write is logged once and otherwise ignored: the mark is a refinement."""
        try:
            if self._shown_fd is None:
                self._shown_fd = os.open(shown_path(self.path), os.O_WRONLY | os.O_CREAT, 0o644)
            os.pwrite(self._shown_fd, struct.pack("<d", float(time_s)), 0)
        except OSError as error:
            if not self._shown_failed:
                log.warning("cannot mark the time shown beside %s: %s", self.path.name, error)
            self._shown_failed = True

    # -------------------------------------------------------- snapshots and samples (writer thread)
    def record_snapshot(self, state: EngineState, time_s: float) -> None:
        """Queue a snapshot of ``state`` (an ``EngineState``; pickled now, compressed and written
        by the writer thread). Call it from the thread that owns the state."""
        self._queue.put(
            ("snapshot", (float(time_s), self.last_seq, self._clock(), encode_state(state)))
        )

    def record_sample(self, time_s: float, kpis: Mapping[str, float], alerts: Any) -> None:
        """Queue the KPIs and the alert list at ``time_s``."""
        self._queue.put(
            ("sample", (float(time_s), dict(kpis), list(alerts)))
        )  # encoded by the writer

    def flush(self) -> None:
        """Wait until everything queued is written."""
        self._queue.join()

    def close(self, end_s: float | None, *, reason: str = "closed") -> None:
        """Flush, mark the day closed (``end_s`` None: leave it open, to be resumed) and close."""
        if self.closed:
            return
        self.flush()
        self._queue.put(None)
        self._writer.join(10.0)
        with self._lock:
            if end_s is not None:
                with self._conn:
                    self._conn.execute(
                        "INSERT INTO closing (end_s, wall_time_s, reason) VALUES (?, ?, ?)",
                        (float(end_s), self._clock(), reason),
                    )
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            if self._shown_fd is not None:
                os.close(self._shown_fd)
                self._shown_fd = None
        self.closed = True

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                kind, values = item
                if kind == "snapshot":
                    time_s, after_seq, wall_s, raw = values
                    blob = zlib.compress(
                        raw, 1
                    )  # level 1: 9 ms a snapshot, 10 % larger than level 6
                    with self._lock, self._conn:
                        self._conn.execute(
                            "INSERT OR REPLACE INTO snapshots (sim_time_s, after_seq, wall_time_s, codec, state)"
                            " VALUES (?, ?, ?, 'pickle5+zlib', ?)",
                            (time_s, after_seq, wall_s, blob),
                        )
                else:
                    time_s, kpis, alerts = values
                    row = (time_s, _json(_finite(kpis)), _json(_finite(alerts)))
                    with self._lock, self._conn:
                        self._conn.execute(
                            "INSERT OR REPLACE INTO samples (sim_time_s, kpis, alerts)"
                            " VALUES (?, ?, ?)",
                            row,
                        )
            except Exception:  # noqa: BLE001 - a failed write is logged; inputs stay durable
                log.exception(
                    "recorder %s: writing a %s failed", self.path.name, item[0] if item else "?"
                )
            finally:
                self._queue.task_done()


def _connect_rw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "PRAGMA synchronous=FULL"
    )  # WAL + FULL: an input is on disk when its commit returns
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise RecordingError(
                code="not_a_recording", message=f"{path}: schema version {version} has no migration"
            )
        with conn:
            conn.executescript(MIGRATIONS[version])
            conn.execute(f"PRAGMA user_version = {version + 1}")
        version += 1


# ---------------------------------------------------------------- reading
class Recording:
    """A recording file opened read-only (the file is never written through this object)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, header: dict[str, Any]) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()
        self.header = header

    @classmethod
    def open(cls, path: str | Path) -> Recording:
        """Open and check ``path``; :class:`RecordingError` names the file and what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise RecordingError(code="unknown_recording", message=f"no recording file {path}")
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=10.0,
                check_same_thread=False,
            )
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.close()
                raise RecordingError(
                    code="newer_schema",
                    message=f"{path}: schema version {version} is newer than this "
                    f"software reads ({SCHEMA_VERSION}); upgrade VenueTwin to open it",
                )
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                conn.close()
                raise RecordingError(
                    code="corrupt", message=f"{path}: the file is damaged ({check})"
                )
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not {"header", "inputs", "snapshots", "samples", "closing"} <= tables:
                conn.close()
                raise RecordingError(
                    code="not_a_recording",
                    message=f"{path}: not a VenueTwin recording (tables missing)",
                )
            header = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM header")}
        except sqlite3.DatabaseError as error:
            raise RecordingError(
                code="corrupt", message=f"{path}: the file is damaged or not a recording ({error})"
            ) from error
        if header.get("format") != FORMAT:
            conn.close()
            raise RecordingError(
                code="not_a_recording",
                message=f"{path}: not a VenueTwin recording (no format header)",
            )
        if version < SCHEMA_VERSION:
            conn.close()
            raise RecordingError(
                code="old_schema",
                message=f"{path}: schema version {version} is older than "
                f"{SCHEMA_VERSION}; resume it once to migrate it",
            )
        return cls(path, conn, header)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def recording_id(self) -> str:
        return str(self.header.get("recording_id", self.path.stem))

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as error:
                raise RecordingError(code="corrupt", message=f"{self.path}: {error}") from error

    # -------------------------------------------------------- inputs
    def inputs(
        self, *, after_seq: int = 0, until_s: float = math.inf, kind: str | None = None
    ) -> list[Input]:
        """Inputs with ``seq > after_seq`` and ``sim_time_s <= until_s``, in order."""
        sql = (
            "SELECT seq, sim_time_s, wall_time_s, kind, name, payload, user, role, result, reason,"
            " audit_id, before, after FROM inputs WHERE seq > ? AND sim_time_s <= ?"
        )
        args: tuple = (after_seq, until_s if math.isfinite(until_s) else 1e12)
        if kind is not None:
            sql += " AND kind = ?"
            args += (kind,)
        return [
            Input(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                json.loads(r[5]),
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                None if r[11] is None else json.loads(r[11]),
                None if r[12] is None else json.loads(r[12]),
            )
            for r in self._rows(sql + " ORDER BY seq", args)
        ]

    # -------------------------------------------------------- snapshots
    def snapshot_times(self) -> list[float]:
        return [r[0] for r in self._rows("SELECT sim_time_s FROM snapshots ORDER BY sim_time_s")]

    def snapshot_before(self, time_s: float) -> tuple[float, int, Any]:
        """``(time_s, after_seq, state)`` of the latest snapshot at or before ``time_s``."""
        rows = self._rows(
            "SELECT sim_time_s, after_seq, codec, state FROM snapshots WHERE sim_time_s <= ?"
            " ORDER BY sim_time_s DESC LIMIT 1",
            (float(time_s) + 1e-6,),
        )
        if not rows:
            start, end = self.time_range()
            raise RecordingError(
                code="out_of_range",
                message=f"recording {self.recording_id} starts at {hhmm(start)};"
                f" {hhmm(time_s)} is before it (recorded {hhmm(start)}–{hhmm(end)})",
            )
        snap_s, after_seq, codec, blob = rows[0]
        try:
            return snap_s, after_seq, decode_state(blob, codec)
        except (zlib.error, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as error:
            raise RecordingError(
                code="corrupt",
                message=f"{self.path}: snapshot at {hhmm(snap_s)} is damaged ({error})",
            ) from error

    # -------------------------------------------------------- samples and range
    def samples(self) -> dict[str, np.ndarray]:
        """``time_s`` and one float array per KPI name (NaN where absent)."""
        rows = self._rows("SELECT sim_time_s, kpis FROM samples ORDER BY sim_time_s")
        times = np.array([r[0] for r in rows], dtype=float)
        kpis = [json.loads(r[1]) for r in rows]
        names = sorted({k for row in kpis for k in row})
        out = {"time_s": times}
        for name in names:
            out[name] = np.array(
                [np.nan if row.get(name) is None else row[name] for row in kpis], dtype=float
            )
        return out

    def alerts_at(self, time_s: float) -> list[dict[str, Any]]:
        """The alert list of the last sample at or before ``time_s``."""
        rows = self._rows(
            "SELECT alerts FROM samples WHERE sim_time_s <= ? ORDER BY sim_time_s DESC LIMIT 1",
            (float(time_s) + 1e-6,),
        )
        return json.loads(rows[0][0]) if rows else []

    def alert_events(self) -> list[dict[str, Any]]:
        """Each alert once, at the first sample that lists it (``time_s`` added), in time order."""
        seen: dict[Any, dict[str, Any]] = {}
        for time_s, alerts in self._rows(
            "SELECT sim_time_s, alerts FROM samples ORDER BY sim_time_s"
        ):
            for alert in json.loads(alerts):
                key = (alert.get("id"), alert.get("kind"))
                if key not in seen:
                    seen[key] = {**alert, "time_s": time_s}
        return list(seen.values())

    def time_range(self) -> tuple[float, float]:
        """First and last simulated time recorded (snapshots, samples, inputs, closing)."""
        row = self._rows(
            "SELECT MIN(t), MAX(t) FROM (SELECT sim_time_s AS t FROM snapshots UNION ALL"
            " SELECT sim_time_s FROM samples UNION ALL SELECT sim_time_s FROM inputs UNION ALL"
            " SELECT end_s FROM closing)"
        )[0]
        start = self.header.get("live_start_s", row[0])
        return (
            float(start if start is not None else math.nan),
            float(row[1] if row[1] is not None else math.nan),
        )

    def closing(self) -> dict[str, Any] | None:
        rows = self._rows("SELECT end_s, wall_time_s, reason FROM closing LIMIT 1")
        return (
            {"end_s": rows[0][0], "wall_time_s": rows[0][1], "reason": rows[0][2]} if rows else None
        )

    def summary(self) -> dict[str, Any]:
        """One line of the recordings list: id, name, date, scenario, times, counts."""
        start, end = self.time_range()
        counts = dict(
            self._rows("SELECT kind, COUNT(*) FROM inputs WHERE result = 'ok' GROUP BY kind")
        )
        head = self.header
        return {
            "id": self.recording_id,
            "name": head.get("name") or self.recording_id,
            "kind": head.get("kind", "live"),
            "date": head.get("date") or str(head.get("created", ""))[:10],
            "scenario": head.get("scenario_name", ""),
            "start_s": start,
            "end_s": end,
            "actions": int(counts.get("action", 0)),
            "acks": int(counts.get("ack", 0)),
            "alerts": len(self.alert_events()),
            "closed": self.closing() is not None,
            "parent": head.get("parent"),
            "fork_at_s": head.get("fork_at_s"),
            "path": str(self.path),
        }


def list_recordings(folder: str | Path) -> list[dict[str, Any]]:
    """Summaries of the readable recordings in ``folder``, newest first; unreadable files are
    listed with ``error`` (and never touched)."""
    out = []
    for path in sorted(
        Path(folder).glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True
    ):
        try:
            with Recording.open(path) as recording:
                out.append(recording.summary())
        except RecordingError as error:
            out.append(
                {"id": path.stem, "path": str(path), "error": str(error), "code": error.code}
            )
    return out


def iter_recordings(folder: str | Path) -> Iterator[Path]:
    yield from sorted(Path(folder).glob("*.sqlite"))


def new_recording_path(
    folder: str | Path, scenario_name: str, *, when: datetime | None = None, suffix: str = ""
) -> Path:
    """``folder/YYYY-MM-DD_HHMMSS_<scenario>[_suffix].sqlite``, never an existing file."""
    when = when or datetime.now(tz=UTC)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in scenario_name)[:40]
    stem = f"{when:%Y-%m-%d_%H%M%S}_{safe}{'_' + suffix if suffix else ''}"
    path, n = Path(folder) / f"{stem}.sqlite", 1
    while path.exists():
        n += 1
        path = Path(folder) / f"{stem}-{n}.sqlite"
    return path
