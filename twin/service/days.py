"""The live day: start a new recorded day, or resume the one a crash interrupted.

:func:`open_live_day` looks in the recordings folder for the newest live day of the same
scenario and seed that was never closed. When there is one, the twin resumes it: the state at
the last recorded moment (nearest snapshot plus the recorded inputs after it, re-simulated),
the clock as the operators last set it, and the recording continues in the same file. A clean
shutdown closes the day (:meth:`twin.service.live.LiveTwin.stop`), so the next start begins a new one;
``new_day=True`` closes an interrupted day and begins a new one.

A file that cannot be read is named in :attr:`LiveDay.notes` with what is wrong, and left as it
is: the new day goes to a new file.
"""

from __future__ import annotations

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
    scenario_fingerprint,
)
from twin.service.replay import day_header, state_at

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.scenario import Scenario

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


def _open_days(folder: Path, fingerprint: str, seed: int, notes: list[str]) -> list[Path]:
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


def open_live_day(
    folder: str | Path,
    scenario: Scenario,
    *,
    seed: int = 0,
    start_s: float | None = None,
    warmup_s: float = 0.0,
    new_day: bool = False,
    engine: Engine | None = None,
) -> LiveDay:
    """Resume the interrupted live day in ``folder``, or start a new one (see the module doc).

    ``engine`` is used for a new day instead of building one (already warmed up by the caller).
    """
    from twin.engine import Engine

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    fingerprint = scenario_fingerprint(scenario)
    unfinished = _open_days(folder, fingerprint, seed, notes)
    if new_day:
        for path in unfinished:
            with Recording.open(path) as recording:
                end_s = recording.time_range()[1]
            Recorder.reopen(path).close(end_s, reason="closed at start of a new day (--new-day)")
            notes.append(f"closed the interrupted day {path.name} (--new-day)")
        unfinished = []
    for path in unfinished[:1]:
        try:
            with Recording.open(path) as recording:
                end_s = recording.time_range()[1]
                resumed = state_at(recording, end_s, scenario=scenario)
                paused, speed, change = _clock_state(recording)
            day = LiveDay(resumed, Recorder.reopen(path), paused, speed, path.stem, notes, change)
            notes.append(f"resumed the interrupted day {path.name} at simulated {hhmm(end_s)}")
            return day
        except RecordingError as error:
            notes.append(
                f"recording {path} cannot be resumed and is left untouched: {error}; starting a new day"
            )
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
    return LiveDay(engine, recorder, notes=notes)
