"""The planner's replay service: recordings listed as days and their forks, the twin at any
recorded time, fork runs in the background, comparisons.

This is the layer between :mod:`twin.service.replay` (state at a time, forks, comparison) and the web
page; it never imports the web stack.

- One replay engine per recording (:func:`twin.service.replay.replay_engine`, about a second to build),
  kept in a small least-recently-used set and used under that recording's lock. A seek goes
  forward from where the engine is when that is shorter than from the nearest snapshot (so
  playback steps a minute at a time instead of re-simulating up to five), otherwise it is
  :func:`twin.service.replay.state_at`; both give the same state (the engine is deterministic).
- Fork runs (:func:`twin.service.replay.fork_day`) are queued by daemon threads and run one at a
  time, with their progress; when a fork is done its comparison with the original is computed
  once and kept. For a scenario read from files both run in a worker process (spawned once, its
  own interpreter), so a fork does not share the live loop's GIL; ``fork_processes=False`` (or
  ``VENUETWIN_FORK_PROCESSES=0``) runs them in the thread instead.
  The work is bounded (:class:`ForkLimits`): a queue with each job's position, at most
  ``per_user`` queued or running forks per person and ``total`` in all (a refusal names the
  limit: ``too_many_forks``, ``fork_queue_full``); forks are written apart from the live days, in
  ``<recordings>/forks/``, under a disk quota with a clean-up rule (forks older than
  ``keep_days`` go first, then the oldest until the folder is under ``quota_bytes``; a fork
  written in the last ``busy_s`` is never removed); when the quota cannot be met the fork is
  refused (``fork_quota``).
- The bundled recorded day (a scripted day, :func:`twin.service.replay.record_day`) is generated into
  the recordings folder in the background when it is missing.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.actions import action_from_dict
from twin.errors import ActionError, TwinError
from twin.service import queries
from twin.service.recorder import SNAPSHOT_EVERY_S, Recording, RecordingError, scenario_fingerprint
from twin.service.replay import (
    ForkChanges,
    ScriptedInput,
    compare,
    fork_day,
    hhmm,
    read_script,
    reapply,
    record_day,
    replay_engine,
    replayed_inputs,
    state_at,
)

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.scenario import Scenario

__all__ = [
    "BundledDay",
    "ForkJob",
    "ForkLimits",
    "ReplayService",
    "advance",
    "checkpoint_waits",
    "stop_fork_workers",
]

log = logging.getLogger(__name__)

DAY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~\-]{0,200}")
"""A recording id as the page may send it: a file stem of the recordings folder, nothing else."""
LIVE_REFRESH_S = 15.0
"""Wall seconds an unfinished (live) recording's day data is reused before it is read again."""
FORKS_FOLDER = "forks"
"""Sub-folder of the recordings folder the forks are written to (apart from the live days)."""
ACTIVE = ("queued", "running", "comparing")


@dataclass(frozen=True)
class ForkLimits:
    """Bounds on the planners' fork work (see the module doc). A fork of the bundled day to its
    end is about 30 MB and takes about a minute of one core."""

    per_user: int = 2
    total: int = 6
    quota_bytes: int = 2 * 1024**3
    keep_days: float = 7.0
    busy_s: float = 120.0

    def __post_init__(self) -> None:
        for name in ("per_user", "total", "quota_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ForkLimits.{name} must be a whole number >= 1, got {value!r}")
        if not self.keep_days > 0 or not self.busy_s >= 0:
            raise ValueError("ForkLimits.keep_days must be > 0 and busy_s >= 0")


# ---------------------------------------------------------------- stepping a replay engine
def advance(engine: Engine, recording: Recording, to_s: float, *, applied_until_s: float) -> None:
    """Run ``engine`` (at ``applied_until_s``, every recorded action up to it applied) forward
    to ``to_s``, re-applying the recorded inputs in between (operator actions and feed
    batches) at their times, as :func:`twin.service.replay.state_at` does from a snapshot."""
    for item in replayed_inputs(recording, until_s=to_s + 1e-6):
        if item.sim_time_s <= applied_until_s + 1e-6:
            continue
        reapply(engine, item)
    engine.run(to_s)


def checkpoint_waits(
    recording: Recording,
    from_s: float,
    to_s: float,
    *,
    engine: Engine,
    step_s: float = 60.0,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Each checkpoint's wait every ``step_s`` over ``(from_s, to_s]`` of ``recording``
    (the minute ``from_s`` itself left out: a fork equals its original there by construction).

    Returns ``time_s`` (n,), ``wait_s`` (n, checkpoints), ``names`` and ``kinds``."""
    times = np.arange(from_s + step_s, to_s + 1e-6, step_s)
    if times.size == 0:
        return {"time_s": times, "wait_s": np.zeros((0, 0)), "names": [], "kinds": []}
    state_at(recording, float(from_s), engine=engine)
    rows = queries.checkpoint_rows(engine)
    waits = np.full((times.size, len(rows)), np.nan)
    now = float(from_s)
    for k, t in enumerate(times):
        advance(engine, recording, float(t), applied_until_s=now)
        now = float(t)
        people = (engine.view().extras or {}).get("pedestrians") or {}
        wait = np.asarray((people.get("checkpoints") or {}).get("wait_s", ()), dtype=float)
        if wait.size == waits.shape[1]:
            waits[k] = wait
        if progress is not None:
            progress(now)
    return {
        "time_s": times,
        "wait_s": waits,
        "names": [r["name"] for r in rows],
        "kinds": [r.get("kind", "") for r in rows],
    }


class _Replayer:
    """One recording's replay engine and where it stands (used under ``lock``)."""

    def __init__(self, recording: Recording, engine: Engine) -> None:
        self.recording = recording
        self.engine = engine
        self.lock = threading.Lock()
        self.time_s: float | None = None  # simulated time the engine is at (None: unknown)
        self.snapshots = np.asarray(recording.snapshot_times(), dtype=float)

    def seek(self, time_s: float) -> Any:
        """The engine at ``time_s``, rounded up to the engine's step (call with :attr:`lock` held)."""
        dt_s = float(self.engine.dt_s)
        time_s = math.ceil(time_s / dt_s - 1e-9) * dt_s
        if self.snapshots.size == 0 or time_s > self.snapshots[-1] + SNAPSHOT_EVERY_S:
            self.snapshots = np.asarray(
                self.recording.snapshot_times(), dtype=float
            )  # a live day grows
        before = self.snapshots[self.snapshots <= time_s + 1e-6]
        from_snapshot_s = time_s - before[-1] if before.size else math.inf
        now = self.time_s
        if now is not None and now <= time_s + 1e-9 and time_s - now < from_snapshot_s:
            advance(self.engine, self.recording, time_s, applied_until_s=now)
        else:
            self.time_s = None  # if state_at fails the engine's state is unknown
            state_at(self.recording, time_s, engine=self.engine)
        self.time_s = float(self.engine.time_s)
        return self.engine


# ---------------------------------------------------------------- background work
@dataclass
class ForkJob:
    """A fork run in the background and what became of it."""

    id: str
    day: str
    at_s: float
    until_s: float
    name: str
    user: str
    role: str
    changes: dict[str, Any]
    state: str = "queued"  # queued, running, comparing, done, failed
    progress: float = 0.0
    fork_id: str | None = None
    error: str = ""
    code: str = ""
    started_wall_s: float = field(default_factory=time.time)
    finished_wall_s: float | None = None
    position: int = 0  # queued: how many forks run or wait before this one

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class BundledDay:
    """The bundled recorded day's generation (``state``: absent, running, ready, failed)."""

    path: Path
    state: str = "absent"
    progress: float = 0.0
    error: str = ""
    thread: threading.Thread | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.path.stem,
            "state": self.state,
            "progress": self.progress,
            "error": self.error,
        }


# ---------------------------------------------------------------- the service
class ReplayService:
    """Days, frames, forks and comparisons of the recordings in ``folder`` made on ``scenario``.

    Parameters
    ----------
    folder
        The recordings folder (None: no recordings; every query answers empty).
    scenario
        The loaded scenario the recordings are replayed on (recordings of another scenario are
        listed as not replayable).
    max_engines
        Replay engines kept at once (least recently used go first).
    """

    def __init__(
        self,
        folder: str | Path | None,
        scenario: Scenario,
        *,
        max_engines: int = 4,
        limits: ForkLimits | None = None,
        fork_processes: bool | None = None,
    ) -> None:
        if max_engines < 1:
            raise ValueError(f"max_engines must be >= 1, got {max_engines}")
        self.limits = limits or ForkLimits()
        if fork_processes is None:  # a scenario read from files can be read again by a worker
            fork_processes = getattr(scenario, "path", None) is not None and os.environ.get(
                "VENUETWIN_FORK_PROCESSES", "1"
            ) not in ("0", "")
        self.fork_processes = bool(fork_processes)
        self.folder = Path(folder) if folder else None
        self.forks_folder = self.folder / FORKS_FOLDER if self.folder else None
        self.scenario = scenario
        self.max_engines = max_engines
        self._fingerprint: str | None = None
        self._lock = threading.Lock()
        self._replayers: OrderedDict[str, _Replayer] = OrderedDict()
        self._building: dict[str, threading.Lock] = {}
        self._listing: dict[Path, tuple[tuple[float, int], dict[str, Any]]] = {}
        self._days: dict[str, tuple[float, dict[str, Any]]] = {}
        self._comparisons: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, ForkJob] = {}
        self._fork_slot = threading.Semaphore(
            1
        )  # one fork runs at a time (the machine's cores are shared)
        self.bundled: BundledDay | None = None

    # ------------------------------------------------------------ identity
    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = scenario_fingerprint(self.scenario)
        return self._fingerprint

    def path_of(self, day_id: Any) -> Path:
        """The file of recording ``day_id``; :class:`RecordingError` ``unknown_recording`` for an
        id that is not a recording of the folder (ids are never paths)."""
        if self.folder is None:
            raise RecordingError("no recordings folder is configured", code="unknown_recording")
        if not isinstance(day_id, str) or not DAY_ID.fullmatch(day_id):
            raise RecordingError(
                f"day must be a recording id, got {str(day_id)[:60]!r}", code="unknown_recording"
            )
        for folder in (self.folder, self.forks_folder):
            path = folder / f"{day_id}.sqlite"
            if path.is_file():
                return path
        raise RecordingError(f"there is no recorded day {day_id!r}", code="unknown_recording")

    # ------------------------------------------------------------ listing
    def _summary(self, path: Path) -> dict[str, Any]:
        stat = path.stat()
        key = (stat.st_mtime, stat.st_size)
        cached = self._listing.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            with Recording.open(path) as recording:
                row = recording.summary()
                row["replayable"] = recording.header.get("scenario_hash") == self.fingerprint
                row["changes"] = recording.header.get("changes")
                start_s, end_s = row["start_s"], row["end_s"]
                if not (math.isfinite(start_s) and math.isfinite(end_s) and end_s > start_s):
                    row["replayable"], row["error"] = False, "nothing recorded yet"
                elif not row["replayable"]:
                    row["error"] = "recorded on another version of the scenario"
        except RecordingError as error:
            row = {
                "id": path.stem,
                "name": path.stem,
                "error": str(error),
                "code": error.code,
                "replayable": False,
            }
        self._listing[path] = (key, row)
        return row

    def days(self) -> list[dict[str, Any]]:
        """The recorded days, newest date first, each with its ``forks`` (nested the same way)."""
        if self.folder is None or not self.folder.is_dir():
            return []
        paths = [*self.folder.glob("*.sqlite")]
        if self.forks_folder.is_dir():
            paths += self.forks_folder.glob("*.sqlite")
        rows = [self._summary(p) for p in sorted(paths)]
        by_id = {r["id"]: {**r, "forks": []} for r in rows}
        roots = []
        for row in by_id.values():
            parent = by_id.get(row.get("parent") or "")
            (parent["forks"] if parent is not None else roots).append(row)
        for row in by_id.values():
            row["forks"].sort(key=lambda r: (r.get("fork_at_s") or 0.0, r["id"]))
        roots.sort(
            key=lambda r: (str(r.get("date", "")), r.get("start_s") or 0.0, r["id"]), reverse=True
        )
        return roots

    def default_day(self) -> str | None:
        """The day a planner sees first: the bundled day when present, else the newest replayable."""
        days = [d for d in self.days() if d.get("replayable")]
        if self.bundled is not None and any(d["id"] == self.bundled.path.stem for d in days):
            return self.bundled.path.stem
        return days[0]["id"] if days else None

    # ------------------------------------------------------------ one day
    def day(self, day_id: str) -> dict[str, Any]:
        """Everything static about a day: summary, KPI samples, inputs, alert events, names."""
        now = time.monotonic()
        with self._lock:
            cached = self._days.get(day_id)
        if cached is not None and (cached[1]["closed"] or now - cached[0] < LIVE_REFRESH_S):
            return cached[1]
        path = self.path_of(day_id)
        with Recording.open(path) as recording:
            summary = recording.summary()
            info = {
                **summary,
                "header": {
                    k: recording.header.get(k)
                    for k in ("kind", "name", "parent", "fork_at_s", "changes", "date", "seed")
                },
                "samples": {k: np.asarray(v) for k, v in recording.samples().items()},
                "inputs": [i.as_dict() for i in recording.inputs()],
                "alert_events": recording.alert_events(),
            }
        with self._lock:
            self._days[day_id] = (now, info)
        return info

    def alerts_at(self, day_id: str, time_s: float) -> list[dict[str, Any]]:
        """The alert list the operators saw at ``time_s``."""
        return self._replayer(day_id).recording.alerts_at(time_s)

    # ------------------------------------------------------------ engines
    def _replayer(self, day_id: str) -> _Replayer:
        with self._lock:
            replayer = self._replayers.get(day_id)
            if replayer is not None:
                self._replayers.move_to_end(day_id)
                return replayer
            building = self._building.setdefault(day_id, threading.Lock())
        with building:  # one build per recording, even when several planners open it at once
            with self._lock:
                if day_id in self._replayers:
                    return self._replayers[day_id]
            recording = Recording.open(self.path_of(day_id))
            try:
                engine = replay_engine(recording, self.scenario)
            except Exception:
                recording.close()
                raise
            replayer = _Replayer(recording, engine)
            with self._lock:
                self._replayers[day_id] = replayer
                while len(self._replayers) > self.max_engines:
                    self._replayers.popitem(last=False)  # its recording closes when it is collected
                self._building.pop(day_id, None)
            return replayer

    def time_range(self, day_id: str) -> tuple[float, float]:
        return self._replayer(day_id).recording.time_range()

    def with_engine_at(self, day_id: str, time_s: float, fn: Callable[[Any], Any]) -> Any:
        """``fn(engine)`` with the day's replay engine at ``time_s`` (under its lock; ``fn`` must
        only read)."""
        replayer = self._replayer(day_id)
        with replayer.lock:
            return fn(replayer.seek(float(time_s)))

    def view_at(self, day_id: str, time_s: float) -> Any:
        """The twin's view (:class:`twin.engine.TwinView`) at ``time_s`` of the day."""
        return self.with_engine_at(day_id, time_s, lambda engine: engine.view())

    def query_at(self, day_id: str, time_s: float, name: str, *args: Any) -> Any:
        """A named read-only query (:mod:`twin.service.queries`) of the twin at ``time_s``."""
        fn = queries.QUERIES.get(name)
        if fn is None or name == "forecast_copy":  # a copy would escape the engine's lock
            raise TwinError(f"unknown query {name!r}", code="unknown_query")
        return self.with_engine_at(day_id, time_s, lambda engine: fn(engine, *args))

    # ------------------------------------------------------------ forks
    def check_fork(
        self, day_id: str, at_s: float, changes: ForkChanges, until_s: float | None
    ) -> float:
        """Refuse a fork that cannot run (raises :class:`twin.errors.TwinError` with a code);
        returns the end time it will run to."""
        start, end = self.time_range(day_id)
        if not (isinstance(at_s, (int, float)) and math.isfinite(at_s)) or not start <= at_s < end:
            raise RecordingError(
                f"the fork minute must be within the day {hhmm(start)}–{hhmm(end)}, "
                f"got {hhmm(at_s) if isinstance(at_s, (int, float)) else at_s!r}",
                code="out_of_range",
            )
        until = end if until_s is None else min(float(until_s), end)
        if not until > at_s:
            raise RecordingError(f"the fork must run past {hhmm(at_s)}", code="out_of_range")
        if not (changes.add or changes.drop or changes.move):
            raise TwinError("a fork needs at least one change", code="no_change")
        actions = {
            i["seq"]: i
            for i in self.day(day_id)["inputs"]
            if i["kind"] == "action" and i["result"] == "ok"
        }
        for ref in (*changes.drop, *(m[0] for m in changes.move)):
            item = actions.get(ref)
            if item is None:
                raise TwinError(
                    f"#{ref} is not a recorded operator action of this day", code="bad_change"
                )
            if item["sim_time_s"] <= at_s + 1e-9:
                raise TwinError(
                    f"#{ref} at {hhmm(item['sim_time_s'])} is not after the fork minute {hhmm(at_s)}",
                    code="bad_change",
                )
        for _, new_s in changes.move:
            if not at_s <= new_s <= until:
                raise TwinError(
                    f"a moved action must stay within {hhmm(at_s)}–{hhmm(until)}, got {hhmm(new_s)}",
                    code="out_of_range",
                )
        now = [a for a in changes.add if abs(a.at_s - at_s) < 1e-6]
        for add in changes.add:
            if not at_s <= add.at_s <= until:
                raise TwinError(
                    f"an added action must be within {hhmm(at_s)}–{hhmm(until)}",
                    code="out_of_range",
                )
            action_from_dict(add.action)  # ActionError: malformed

        def check_now(engine: Engine) -> None:
            for add in now:
                action = action_from_dict(add.action)
                try:
                    action.check(engine)
                except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
                    if isinstance(error, TwinError):
                        raise
                    raise ActionError(
                        f"malformed {action.kind}: {str(error)[:200]}", code="malformed"
                    ) from None

        self.with_engine_at(day_id, at_s, check_now)
        return until

    def start_fork(
        self,
        day_id: str,
        at_s: float,
        changes: ForkChanges,
        *,
        until_s: float | None = None,
        name: str = "",
        user: str = "planner",
        role: str = "planner",
    ) -> ForkJob:
        """Check the fork and the limits, then queue it to run in a background thread; returns
        its job at once (:class:`twin.errors.TwinError` with a code when refused)."""
        until = self.check_fork(day_id, at_s, changes, until_s)
        self._check_room(str(user))
        name = (str(name).strip() or f"fork at {hhmm(at_s)}")[:80]
        job = ForkJob(
            id=uuid.uuid4().hex[:12],
            day=day_id,
            at_s=float(at_s),
            until_s=float(until),
            name=name,
            user=str(user),
            role=str(role),
            changes=_changes_dict(changes),
        )
        with self._lock:
            self._check_queue(str(user))  # again under the lock: two requests at once
            self._jobs[job.id] = job
            self._positions()
        threading.Thread(
            target=self._run_fork, args=(job, changes), name=f"fork-{job.id}", daemon=True
        ).start()
        return job

    def _run_fork(self, job: ForkJob, changes: ForkChanges) -> None:
        span = max(job.until_s - job.at_s, 1.0)
        try:
            with self._fork_slot:
                job.state = "running"
                with self._lock:
                    self._positions()
                self.forks_folder.mkdir(parents=True, exist_ok=True)
                if self.fork_processes:
                    self._fork_in_worker(job, changes)
                    job.state, job.progress = "done", 1.0
                    return
                with Recording.open(self.path_of(job.day)) as original:
                    path = fork_day(
                        original,
                        job.at_s,
                        changes,
                        out_dir=self.forks_folder,
                        until_s=job.until_s,
                        name=job.name,
                        scenario=self.scenario,
                        user=job.user,
                        role=job.role,
                        progress=lambda t: setattr(
                            job, "progress", 0.7 * min(1.0, (t - job.at_s) / span)
                        ),
                    )
                job.fork_id = path.stem
                job.state, job.progress = "comparing", 0.7
                self.comparison(
                    job.fork_id, progress=lambda p: setattr(job, "progress", 0.7 + 0.3 * p)
                )
            job.state, job.progress = "done", 1.0
        except (TwinError, OSError) as error:
            job.state, job.error, job.code = "failed", str(error), getattr(error, "code", "failed")
        except Exception as error:  # noqa: BLE001 - a failed background run is reported, not raised
            log.exception("fork %s of %s failed", job.id, job.day)
            job.state, job.error, job.code = "failed", f"the fork run failed: {error}", "failed"
        finally:
            job.finished_wall_s = time.time()
            with self._lock:
                self._positions()

    def _fork_in_worker(self, job: ForkJob, changes: ForkChanges) -> None:
        """Run the fork and its comparison in the worker process (its own interpreter: the
        live loop's GIL is not shared), following its progress through a small file."""
        progress_path = self.forks_folder / f".progress-{job.id}"
        try:
            pool = _worker_pool()
            future = self._submit(pool, job, changes, progress_path)
        except RuntimeError:  # the pool was shut down: the app is stopping
            raise TwinError(
                "the fork was not run: the control room is shutting down", code="stopping"
            ) from None
        try:
            while True:
                try:
                    fork_id, result = future.result(timeout=0.5)
                    break
                except FutureTimeout:
                    state, fraction = _read_progress(progress_path)
                    job.state, job.progress = state or job.state, fraction
        except BrokenProcessPool:
            _drop_pool(pool)  # the worker died (killed, out of memory): the next fork starts one
            raise TwinError(
                "the fork's worker process stopped before it finished", code="worker_lost"
            ) from None
        finally:
            progress_path.unlink(missing_ok=True)
        job.fork_id = fork_id
        with self._lock:
            self._comparisons[fork_id] = result

    def _submit(self, pool, job: ForkJob, changes: ForkChanges, progress_path: Path):
        """The fork job handed to the worker process (a future of its id and comparison)."""
        return pool.submit(
            run_fork_job,
            {
                "scenario": str(self.scenario.path),
                "folder": str(self.folder),
                "day_path": str(self.path_of(job.day)),
                "out_dir": str(self.forks_folder),
                "at_s": job.at_s,
                "until_s": job.until_s,
                "changes": changes,
                "name": job.name,
                "user": job.user,
                "role": job.role,
                "progress_path": str(progress_path),
            },
        )

    def job(self, job_id: str) -> ForkJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, day_id: str | None = None) -> list[ForkJob]:
        with self._lock:
            return [j for j in self._jobs.values() if day_id is None or j.day == day_id]

    # ------------------------------------------------------------ bounds
    def _positions(self) -> None:
        """Each queued job's place: the active jobs submitted before it (call under the lock)."""
        ahead = 0
        for job in self._jobs.values():  # in submission order (the fork slot is FIFO)
            if job.state in ACTIVE:
                job.position = ahead if job.state == "queued" else 0
                ahead += 1

    def _check_queue(self, user: str) -> None:
        active = [j for j in self._jobs.values() if j.state in ACTIVE]
        mine = sum(1 for j in active if j.user == user)
        if mine >= self.limits.per_user:
            raise TwinError(
                f"you have {mine} forks queued or running; wait for one to finish "
                f"(at most {self.limits.per_user} per person)",
                code="too_many_forks",
            )
        if len(active) >= self.limits.total:
            raise TwinError(
                f"{len(active)} forks are queued or running, the most this machine takes "
                f"({self.limits.total}); try again when one has finished",
                code="fork_queue_full",
            )

    def _check_room(self, user: str) -> None:
        with self._lock:
            self._check_queue(user)
        used = self.clean_forks()
        if used >= self.limits.quota_bytes:
            raise TwinError(
                f"the forks folder holds {used / 1e6:.0f} MB, its quota is "
                f"{self.limits.quota_bytes / 1e6:.0f} MB and nothing more can be cleared yet; "
                "try again later",
                code="fork_quota",
            )

    def forks_bytes(self) -> int:
        """Bytes the forks folder holds (every file: recordings and their -wal files)."""
        if self.forks_folder is None or not self.forks_folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.forks_folder.iterdir() if p.is_file())

    def clean_forks(self, *, now_s: float | None = None) -> int:
        """Apply the clean-up rule (see the module doc); returns the bytes left."""
        if self.forks_folder is None or not self.forks_folder.is_dir():
            return 0
        now_s = time.time() if now_s is None else now_s
        groups: dict[str, list[Path]] = {}
        for path in self.forks_folder.iterdir():
            if path.is_file():
                groups.setdefault(path.name.split(".sqlite")[0], []).append(path)
        forks = []
        for stem, files in groups.items():
            newest_s = max(p.stat().st_mtime for p in files)
            size = sum(p.stat().st_size for p in files)
            forks.append((newest_s, stem, files, size))
        forks.sort()
        used = sum(f[3] for f in forks)
        for newest_s, stem, files, size in forks:
            age_s = now_s - newest_s
            if age_s < self.limits.busy_s:
                continue  # being written (a running fork) or just made
            if age_s > self.limits.keep_days * 86400 or used > self.limits.quota_bytes:
                for path in files:
                    path.unlink(missing_ok=True)
                used -= size
                with self._lock:
                    self._comparisons.pop(stem, None)
                    self._days.pop(stem, None)
                log.info("fork %s removed by the clean-up rule (%.0f MB)", stem, size / 1e6)
        return used

    # ------------------------------------------------------------ comparison
    def comparison(
        self, fork_id: str, *, progress: Callable[[float], None] | None = None
    ) -> dict[str, Any]:
        """The fork against its original: :func:`twin.service.replay.compare`'s rows, both days' KPI
        samples, and each checkpoint's worst and mean wait after the fork minute."""
        with self._lock:
            cached = self._comparisons.get(fork_id)
        if cached is not None:
            return cached
        fork_path = self.path_of(fork_id)
        with Recording.open(fork_path) as fork:
            parent = fork.header.get("parent")
            if not parent:
                raise RecordingError(f"{fork_id} is not a fork", code="not_a_fork")
            with Recording.open(self.path_of(parent)) as original:
                result = compare(original, fork, scenario=self.scenario)
                at_s, until_s = result["from_s"], result["to_s"]
                engine = replay_engine(fork, self.scenario)
                steps = max(1.0, (until_s - at_s) / 60.0)
                report = (
                    (
                        lambda part: (
                            lambda t: progress(part + 0.5 * min(1.0, (t - at_s) / 60.0 / steps))
                        )
                    )
                    if progress is not None
                    else (lambda part: None)
                )
                base = checkpoint_waits(
                    original, at_s, until_s, engine=engine, progress=report(0.0)
                )
                other = checkpoint_waits(fork, at_s, until_s, engine=engine, progress=report(0.5))
        result["checkpoints"] = _checkpoint_rows(base, other)
        result["fork_name"] = fork.header.get("name") or fork_id
        result["changes"] = fork.header.get("changes") or {}
        with self._lock:
            self._comparisons[fork_id] = result
        return result

    # ------------------------------------------------------------ the bundled day
    def ensure_bundled_day(
        self,
        script: str | Path | Sequence[Mapping[str, Any]],
        *,
        file_name: str,
        name: str,
        day: date,
        start_s: float,
        end_s: float,
        seed: int = 0,
        background: bool = True,
    ) -> BundledDay | None:
        """Record the bundled day into the folder unless a replayable copy is there (a copy made
        on other scenario files is set aside as ``*.sqlite.stale``). Runs in a daemon thread
        when ``background``; returns its status (None without a folder)."""
        if self.folder is None:
            return None
        path = self.folder / f"{file_name}.sqlite"
        status = BundledDay(path)
        self.bundled = status
        if path.is_file():
            row = self._summary(path)
            if row.get("replayable") and row.get("closed"):
                status.state, status.progress = "ready", 1.0
                return status
            os.replace(path, path.with_name(path.name + f".stale-{int(time.time())}"))
        items = [
            item for item in read_script(script) if start_s <= item.at_s <= end_s
        ]  # the span's part

        def run() -> None:
            status.state = "running"
            partial = self.folder / ".partial"
            try:
                partial.mkdir(parents=True, exist_ok=True)
                target = partial / path.name
                for leftover in partial.glob(f"{path.name}*"):
                    leftover.unlink()
                record_day(
                    self.scenario,
                    out_dir=partial,
                    out_path=target,
                    start_s=start_s,
                    end_s=end_s,
                    script=items,
                    seed=seed,
                    name=name,
                    day=day,
                    progress=lambda t: setattr(
                        status, "progress", min(1.0, (t - start_s) / (end_s - start_s))
                    ),
                )
                os.replace(target, path)
                shutil.rmtree(partial, ignore_errors=True)
                status.state, status.progress = "ready", 1.0
            except Exception as error:  # noqa: BLE001 - reported on the page and logged
                log.exception("recording the bundled day failed")
                status.state, status.error = "failed", str(error)

        if background:
            status.thread = threading.Thread(target=run, name="bundled-day", daemon=True)
            status.thread.start()
        else:
            run()
        return status


# ---------------------------------------------------------------- the fork worker process
_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_POOL_STOPPED = False  # set by stop_fork_workers: the app is shutting down, no new worker
_WORKER_SCENARIOS: dict[str, Any] = {}
"""In the worker process only: scenarios loaded once per folder."""


def _worker_pool() -> ProcessPoolExecutor:
    """The one fork worker process of this process (spawned at the first fork; one fork at a
    time runs anyway, so one worker: its own interpreter and GIL, one core at most)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL_STOPPED:
            raise RuntimeError("the fork workers were stopped: the app is shutting down")
        if _POOL is None:
            _POOL = ProcessPoolExecutor(
                max_workers=1, mp_context=mp.get_context("spawn"), initializer=_worker_start
            )
        return _POOL


WORKER_NICE = 10
"""Scheduling niceness added to the fork worker: where cores are contended the live loop gets
about nine tenths of a core against it. Not lower: at 19 (about 2 %) and in the idle class
(``SCHED_IDLE``: nothing) a fork all but stops on a machine busy with other work (seen with both
CPUs saturated); measured with ``python -m bench --only forks_load``."""


def _worker_start() -> None:
    """In the worker process, at its start: yield the CPU to the live loop (where supported)."""
    if hasattr(os, "nice"):
        try:
            os.nice(WORKER_NICE)
        except OSError:  # not permitted here: run at the normal priority
            pass


def stop_fork_workers() -> None:
    """End the fork worker process now (a running fork is abandoned, its job fails): call it
    when the app stops, so shutting down never waits for a fork to finish; a fork still queued
    then fails with "shutting down" instead of starting a new worker."""
    global _POOL, _POOL_STOPPED
    with _POOL_LOCK:
        pool, _POOL, _POOL_STOPPED = _POOL, None, True
    if pool is None:
        return
    for process in list(getattr(pool, "_processes", {}).values()):  # the executor's own table
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _drop_pool(pool: ProcessPoolExecutor) -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is pool:
            _POOL = None
    pool.shutdown(wait=False, cancel_futures=True)


def _write_progress(path: Path, state: str, fraction: float) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"{state} {fraction:.4f}")
    os.replace(partial, path)


def _read_progress(path: Path) -> tuple[str | None, float]:
    try:
        state, fraction = path.read_text().split()
        return state, float(fraction)
    except (OSError, ValueError):
        return None, 0.0


def run_fork_job(args: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """In the worker process: fork the day and compare the fork with it; ``(fork id, the
    comparison)``. Progress goes to ``args["progress_path"]`` (at most twice a second)."""
    from twin.scenario import load

    scenario = _WORKER_SCENARIOS.get(args["scenario"])
    if scenario is None:
        scenario = _WORKER_SCENARIOS[args["scenario"]] = load(args["scenario"])
    progress_path = Path(args["progress_path"])
    at_s, span = args["at_s"], max(args["until_s"] - args["at_s"], 1.0)
    last = [0.0]

    def report(state: str, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            _write_progress(progress_path, state, fraction)

    with Recording.open(args["day_path"]) as original:
        path = fork_day(
            original,
            at_s,
            args["changes"],
            out_dir=args["out_dir"],
            until_s=args["until_s"],
            name=args["name"],
            scenario=scenario,
            user=args["user"],
            role=args["role"],
            progress=lambda t: report("running", 0.7 * min(1.0, (t - at_s) / span)),
        )
    service = ReplayService(args["folder"], scenario, fork_processes=False)
    result = service.comparison(path.stem, progress=lambda p: report("comparing", 0.7 + 0.3 * p))
    return path.stem, result


def _changes_dict(changes: ForkChanges) -> dict[str, Any]:
    return {
        "add": [{"at_s": a.at_s, "action": a.action} for a in changes.add],
        "drop": list(changes.drop),
        "move": [list(m) for m in changes.move],
    }


def fork_changes(items: Sequence[Mapping[str, Any]], at_s: float) -> ForkChanges:
    """:class:`twin.service.replay.ForkChanges` from the page's list of changes: ``{"type": "action",
    "action": {...}}`` (at the fork minute), ``{"type": "drop", "seq": n}`` or ``{"type": "move",
    "seq": n, "to_s": t}``."""
    add, drop, move = [], [], []
    for n, item in enumerate(items):
        kind = item.get("type") if isinstance(item, Mapping) else None
        try:
            if kind == "action":
                add.append(ScriptedInput(float(at_s), dict(item["action"])))
            elif kind == "drop":
                drop.append(int(item["seq"]))
            elif kind == "move":
                move.append((int(item["seq"]), float(item["to_s"])))
            else:
                raise KeyError("type")
        except (KeyError, TypeError, ValueError):
            raise TwinError(f"change {n + 1} is malformed", code="bad_change") from None
    return ForkChanges(add=tuple(add), drop=tuple(drop), move=tuple(move))


def _checkpoint_rows(base: Mapping[str, Any], other: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k, name in enumerate(base["names"]):
        a = base["wait_s"][:, k] if base["wait_s"].size else np.zeros(0)
        b = (
            other["wait_s"][:, k]
            if other["wait_s"].size and k < other["wait_s"].shape[1]
            else np.zeros(0)
        )

        def stat(values: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
            values = values[np.isfinite(values)]
            return float(fn(values)) if values.size else math.nan

        rows.append(
            {
                "checkpoint_id": k,
                "name": name,
                "kind": base["kinds"][k],
                "original_worst_s": stat(a, np.max),
                "fork_worst_s": stat(b, np.max),
                "original_mean_s": stat(a, np.mean),
                "fork_mean_s": stat(b, np.mean),
            }
        )
    return rows
