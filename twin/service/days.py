"""The live day: start a new recorded day, or resume the one a crash interrupted.

:func:`open_live_day` looks in the recordings folder for the newest live day of the same
scenario and seed that was never closed. When there is one, the twin resumes it: the state at
the last recorded moment (nearest snapshot plus the recorded inputs after it, re-simulated),
the clock as the operators last set it, and the recording continues in the same file. A clean
shutdown closes the day (:meth:`twin.service.live.LiveTwin.stop`), so the next start begins a new one;
``new_day=True`` closes an interrupted day and begins a new one.

A file that cannot be read is named in :attr:`LiveDay.notes` with what is wrong, and left as it
is: the new day goes to a new file.

With the audit log (``audit``), a resume first settles the audit rows a crash left ``pending``
from the recording (:func:`reconcile_pending`), then cross-checks: every input the audit log
says was acknowledged for this day must be in the recording (:func:`missing_inputs`). A gap (a
truncated or garbled ``-wal`` file loses the last commits silently: SQLite stops reading the
WAL at the first bad frame) is named in :attr:`LiveDay.notes`, in :attr:`LiveDay.gaps` and in
the audit log (a ``recording.gap`` security row, shown on the admin page), and the missing inputs
are re-applied from the audit log's own copy, in order, each at its original simulated time,
into the same day's recording with its original audit id (see docs/recording-format.md).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from twin.service.recorder import (
    Recorder,
    Recording,
    RecordingError,
    hhmm,
    new_recording_path,
    read_shown,
    scenario_fingerprint,
)
from twin.service.replay import day_header, state_at

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.scenario import Scenario
    from twin.service.audit import AuditEntry, AuditLog

__all__ = ["LiveDay", "open_live_day"]

log = logging.getLogger(__name__)


@dataclass
class LiveDay:
    """What the live twin starts from."""

    engine: Engine
    recorder: Recorder
    paused: bool = False
    speed: float | None = None  # None: the configured speed
    resumed_from: str | None = None  # the recording id when a day was resumed
    notes: list[str] = field(default_factory=list)
    clock_change: dict | None = None  # the last recorded clock change (user, action, speed, times)
    gaps: list[dict] = field(default_factory=list)  # inputs the recording had lost (re-applied)


def _open_days(
    folder: Path,
    fingerprint: str,
    seed: int,
    notes: list[str],
    unreadable: list[Path] | None = None,
) -> list[Path]:
    """Unclosed live days of this scenario and seed, newest first; unreadable files noted."""
    found = []
    for path in sorted(folder.glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with Recording.open(path) as recording:
                head = recording.header
                if (
                    head.get("kind") == "live"
                    and recording.closing() is None
                    and head.get("scenario_hash") == fingerprint
                    and int(head.get("seed", -1)) == seed
                ):
                    found.append(path)
        except RecordingError as error:
            notes.append(f"recording {path} cannot be read and is left untouched: {error}")
            if unreadable is not None:
                unreadable.append(path)
    return found


def _clock_state(recording: Recording) -> tuple[bool, float | None, dict | None]:
    paused, speed, change = False, None, None
    for item in recording.inputs(kind="clock"):
        if item.result == "ok" and isinstance(item.after, dict):
            paused = bool(item.after.get("paused", paused))
            speed = (
                float(item.after.get("speed", speed or math.nan)) if item.name == "speed" else speed
            )
            change = {
                "user": item.user,
                "action": item.name,
                "speed": item.after.get("speed"),
                "sim_time_s": item.sim_time_s,
                "wall_s": item.wall_time_s,
            }
    return paused, speed, change


def _recording_of(entry: AuditEntry) -> str | None:
    """The recording id an audit row's detail names (None: a refusal's plain-text detail)."""
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return None
    return detail.get("recording") if isinstance(detail, dict) else None


def reconcile_pending(audit: AuditLog, recording: Recording) -> list[str]:
    """Settle the audit rows left ``pending`` for ``recording`` (a crash or a failed write
    between the audit row and its outcome): to the recording's result when the recording holds
    the input (it was applied, or refused), else ``not_recorded`` (it was never applied).
    Returns a note per row settled."""
    recorded = {i.audit_id: i for i in recording.inputs() if i.audit_id is not None}
    notes = []
    for entry in audit.pending():
        if _recording_of(entry) not in (None, recording.recording_id):
            continue  # another day's: settled when that day is resumed
        row = recorded.get(entry.id)
        if row is None:
            audit.settle(entry.id, "not_recorded", note="settled on resume: not in the recording")
        else:
            audit.settle(entry.id, row.result)
        notes.append(
            f"audit #{entry.id} ({entry.action}) was pending: settled "
            f"{'not_recorded' if row is None else row.result} from the recording"
        )
    return notes


def missing_inputs(audit: AuditLog, recording: Recording) -> list[AuditEntry]:
    """The inputs the audit log says were acknowledged for ``recording`` but the recording
    does not hold (by audit id), oldest first."""
    recorded = {i.audit_id for i in recording.inputs() if i.audit_id is not None}
    return [e for e in audit.acknowledged_inputs(recording.recording_id) if e.id not in recorded]


def _reapply(engine: Engine, recorder: Recorder, missing: list[AuditEntry]) -> list[dict]:
    """Re-apply ``missing`` (audit rows) from the audit's copy, in order, at their simulated
    times, recording each with its original audit id; what was done, one dict per input."""
    from twin.actions import action_from_dict
    from twin.errors import TwinError

    done = []
    recorder.record_snapshot(engine.state, engine.time_s)  # where the re-simulation starts
    for entry in missing:
        detail = json.loads(entry.detail)
        kind, name, payload = detail.get("input"), detail.get("name"), detail.get("payload")
        at_s = float(entry.sim_time_s if entry.sim_time_s is not None else engine.time_s)
        if at_s > engine.time_s:
            engine.run(at_s)
        item = {
            "audit_id": entry.id,
            "action": entry.action,
            "user": entry.user,
            "sim_time_s": at_s,
            "payload": payload,
            "reapplied": False,
            "note": "",
        }
        try:
            action = action_from_dict(payload) if kind == "action" else None
            if action is not None:
                action.check(engine)
            recorder.record_input(
                kind=kind,
                name=name,
                payload=payload,
                sim_time_s=float(engine.time_s),
                user=entry.user,
                role=entry.role,
                result="ok",
                reason=f"re-applied from audit #{entry.id}: the recording had lost it",
                audit_id=entry.id,
                before=entry.before,
                after=entry.after,
            )
            if action is not None:
                engine.apply(action)
            item["reapplied"] = True
            item["note"] = (
                "re-applied"
                if kind in ("action", "clock")
                else "written back to the recording (the alarm book restarts on resume)"
            )
        except (TwinError, ValueError, TypeError, KeyError) as error:
            item["note"] = f"could not be re-applied: {error}"
        done.append(item)
    recorder.record_snapshot(engine.state, engine.time_s)  # a resume starts here next time
    recorder.flush()
    return done


def _describe_gap(path: Path, end_s: float, gaps: list[dict]) -> str:
    listed = "; ".join(
        f"audit #{g['audit_id']} {g['action']} by {g['user']} at {hhmm(g['sim_time_s'])}"
        f" ({g['note']})"
        for g in gaps
    )
    return (
        f"recording {path.name} had lost {len(gaps)} acknowledged input(s) after simulated "
        f"{hhmm(end_s)} (its -wal file was damaged or lost): {listed}"
    )


def _resume(path: Path, scenario: Scenario, audit: AuditLog | None, notes: list[str]) -> LiveDay:
    with Recording.open(path) as recording:
        if audit is not None:
            notes.extend(reconcile_pending(audit, recording))
        recorded_end_s = recording.time_range()[1]
        shown_s = read_shown(path, recorded_end_s)
        # on from the last moment any screen showed (a SIGKILL can fall between two samples):
        # the recording holds every input up to it, so the run there is the same as lived
        end_s = recorded_end_s if shown_s is None else shown_s
        resumed = state_at(recording, end_s, scenario=scenario, past_end=shown_s is not None)
        missing = [] if audit is None else missing_inputs(audit, recording)
    recorder = Recorder.reopen(path)
    gaps = _reapply(resumed, recorder, missing) if missing else []
    if gaps:
        text = _describe_gap(path, end_s, gaps)
        log.error("%s", text)
        notes.append(text)
        audit.record_security(
            "recording.gap",
            target=path.stem,
            result="failed",
            detail=text[:4000],
        )
    with Recording.open(path) as recording:
        paused, speed, change = _clock_state(recording)
    day = LiveDay(resumed, recorder, paused, speed, path.stem, notes, change, gaps)
    notes.append(f"resumed the interrupted day {path.name} at simulated {hhmm(resumed.time_s)}")
    return day


def open_live_day(
    folder: str | Path,
    scenario: Scenario,
    *,
    seed: int = 0,
    start_s: float | None = None,
    warmup_s: float = 0.0,
    new_day: bool = False,
    engine: Engine | None = None,
    audit: AuditLog | None = None,
) -> LiveDay:
    """Resume the interrupted live day in ``folder``, or start a new one (see the module doc).

    ``engine`` is used for a new day instead of building one (already warmed up by the caller).
    ``audit`` is the command path's audit log: pending rows are settled and the recording is
    cross-checked against it on resume.
    """
    from twin.engine import Engine

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    fingerprint = scenario_fingerprint(scenario)
    unreadable: list[Path] = []
    unfinished = _open_days(folder, fingerprint, seed, notes, unreadable)
    if new_day:
        for path in unfinished:
            with Recording.open(path) as recording:
                if audit is not None:
                    notes.extend(reconcile_pending(audit, recording))
                    lost = missing_inputs(audit, recording)
                    if lost:
                        text = (
                            f"recording {path.name}, closed by --new-day, lacks {len(lost)}"
                            " acknowledged input(s): "
                            + "; ".join(f"audit #{e.id} {e.action} by {e.user}" for e in lost)
                        )
                        log.error("%s", text)
                        notes.append(text)
                        audit.record_security(
                            "recording.gap", target=path.stem, result="failed", detail=text[:4000]
                        )
                end_s = recording.time_range()[1]
            Recorder.reopen(path).close(end_s, reason="closed at start of a new day (--new-day)")
            notes.append(f"closed the interrupted day {path.name} (--new-day)")
        unfinished = []
    for path in unfinished[:1]:
        try:
            return _resume(path, scenario, audit, notes)
        except RecordingError as error:
            notes.append(
                f"recording {path} cannot be resumed and is left untouched: {error}; starting a new day"
            )
            unreadable.insert(0, path)  # its acknowledged inputs go into the new day
    if engine is None:
        engine = Engine(scenario, seed=seed, start_s=start_s)
        if warmup_s > 0:
            engine.run(engine.time_s + warmup_s)
    header = day_header(
        scenario,
        seed=seed,
        start_s=engine.time_s - warmup_s,
        warmup_s=warmup_s,
        live_start_s=engine.time_s,
        kind="live",
        engine=engine,
    )
    recorder = Recorder.create(new_recording_path(folder, scenario.name), header)
    gaps = _carry_over(audit, unreadable[:1], engine, recorder, notes) if audit else []
    return LiveDay(engine, recorder, notes=notes, gaps=gaps)


def _carry_over(
    audit: AuditLog, unreadable: list[Path], engine: Engine, recorder: Recorder, notes: list[str]
) -> list[dict]:
    """The newest unreadable recording's acknowledged inputs (the audit log's copy), re-applied
    into the new day at their simulated times: the engine is deterministic, so scenario, seed
    and inputs rebuild the lost day. Only inputs at or after the new day's start are taken."""
    for path in unreadable:
        lost = [
            e
            for e in audit.acknowledged_inputs(path.stem)
            if e.sim_time_s is None or e.sim_time_s >= engine.time_s - 1e-6
        ]
        if not lost:
            continue
        gaps = _reapply(engine, recorder, lost)
        text = (
            f"recording {path.name} cannot be read; its {len(gaps)} acknowledged input(s) from the"
            f" audit log were re-applied into the new day {recorder.path.name}: "
            + "; ".join(
                f"audit #{g['audit_id']} {g['action']} by {g['user']} at"
                f" {hhmm(g['sim_time_s'])} ({g['note']})"
                for g in gaps
            )
        )
        log.error("%s", text)
        notes.append(text)
        audit.record_security(
            "recording.gap", target=path.stem, result="failed", detail=text[:4000]
        )
        return gaps
    return []
