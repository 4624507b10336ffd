"""Replay, headless days and forks, all from recordings (:mod:`twin.service.recorder`).

- :func:`state_at`: the twin as it was at any recorded time: the nearest snapshot at or before
  it, then the recorded operator actions re-applied at their simulated times and the engine
  re-simulated to that time. The engine is deterministic, so this equals the live state bit
  for bit.
- :func:`record_day`: a headless day with a scripted list of timed inputs, written in the same
  format as the live app's (the same :class:`twin.service.live.LiveTwin` loop body and the same
  :class:`twin.service.commands.CommandPath`, without threads or the wall clock).
- :func:`fork_day`: re-run a recording from a minute with changed decisions (added actions,
  recorded actions dropped or moved); the fork is a recording of its own (``parent`` and
  ``fork_at_s`` in its header), so it can itself be replayed and forked.
- :func:`compare`: the figures a planner compares between a day and its fork.

Headless recordings carry nominal wall times (the day's date plus the simulated time), so the
same script gives the same recording content.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin import __version__
from twin.actions import action_from_dict
from twin.errors import ActionError, TwinError
from twin.service.recorder import (
    Input,
    Recorder,
    Recording,
    RecordingError,
    hhmm,
    new_recording_path,
    scenario_fingerprint,
)

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.scenario import Scenario
    from twin.service.live import LiveTwin

__all__ = [
    "ScriptedInput",
    "compare",
    "fork_day",
    "parse_clock",
    "read_script",
    "record_day",
    "replayed_inputs",
    "replay_engine",
    "state_at",
    "day_header",
]

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- times
def parse_clock(text: Any, *, name: str = "time") -> float:
    """``"18:40"`` or ``"18:40:30"`` (or seconds as a number) → seconds since midnight.

    Times past midnight may be written ``24:30`` (the next day's 00:30)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if not math.isfinite(text) or not 0 <= text <= 2 * 86400:
            raise TwinError(
                f"{name} must be between 00:00 and 48:00, got {text!r}", code="out_of_range"
            )
        return float(text)
    parts = str(text).strip().split(":")
    try:
        if not 2 <= len(parts) <= 3:
            raise ValueError
        numbers = [int(p) for p in parts]
    except ValueError:
        raise TwinError(
            f"{name} must look like HH:MM, got {str(text)[:40]!r}", code="bad_time"
        ) from None
    hours, minutes, seconds = (*numbers, 0)[:3]
    if not (0 <= hours < 48 and 0 <= minutes < 60 and 0 <= seconds < 60):
        raise TwinError(
            f"{name} must look like HH:MM with minutes 00-59, got {str(text)[:40]!r}",
            code="bad_time",
        )
    return float(hours * 3600 + minutes * 60 + seconds)


# ---------------------------------------------------------------- reconstruction
def load_scenario(recording: Recording, scenario: Scenario | None = None) -> Scenario:
    """The recording's scenario (``scenario`` when given), checked against the header's hash."""
    if scenario is None:
        from twin.scenario import load

        folder = Path(str(recording.header.get("scenario", "")))
        if not folder.is_absolute():
            folder = ROOT / folder
        if not folder.is_dir():
            raise RecordingError(
                f"recording {recording.recording_id} was made on scenario folder {folder}, "
                "which does not exist here",
                code="scenario_missing",
            )
        scenario = load(folder)
    expected = recording.header.get("scenario_hash")
    actual = scenario_fingerprint(scenario)
    if expected != actual:
        raise RecordingError(
            f"recording {recording.recording_id} was made on scenario {recording.header.get('scenario_name')!r} "
            f"with content hash {str(expected)[:12]}…; this scenario's files hash to {actual[:12]}… "
            "(a changed or another scenario): replaying it would not reproduce the day",
            code="scenario_mismatch",
        )
    return scenario


def replay_engine(recording: Recording, scenario: Scenario | None = None) -> Engine:
    """An engine with the recording's scenario, seed and settings (its state is replaced by
    :func:`state_at`); build it once per recording and reuse it across seeks."""
    from twin.engine import Engine

    head = recording.header
    return Engine(
        load_scenario(recording, scenario),
        seed=int(head.get("seed", 0)),
        start_s=float(head.get("start_s", 0.0)),
        route_update_s=float(head.get("route_update_s", 60.0)),
        route_smoothing=float(head.get("route_smoothing", 0.5)),
        dt_s=head.get("dt_s"),
    )


def state_at(
    recording: Recording,
    time_s: float,
    *,
    engine: Engine | None = None,
    scenario: Scenario | None = None,
    past_end: bool = False,
) -> Engine:
    """The engine as it was at ``time_s`` (rounded up to the engine's step) in ``recording``.

    ``engine`` (from :func:`replay_engine`) is reused when given, its state replaced.
    ``past_end``: ``time_s`` may lie after the recording's last time (a resumed day going on to
    the moment its screens last showed: every input up to it is recorded, so the run is the
    one lived). Raises :class:`RecordingError` for a time outside the recorded day.
    """
    from twin.engine import Snapshot

    start, end = recording.time_range()
    if not (
        isinstance(time_s, (int, float)) and math.isfinite(time_s)
    ) or not start - 1e-6 <= time_s <= (math.inf if past_end else end + 1e-6):
        raise RecordingError(
            f"{hhmm(time_s) if isinstance(time_s, (int, float)) else repr(time_s)[:20]} is outside "
            f"recording {recording.recording_id}, which runs {hhmm(start)}–{hhmm(end)}",
            code="out_of_range",
        )
    engine = engine if engine is not None else replay_engine(recording, scenario)
    snap_s, after_seq, state = recording.snapshot_before(time_s)
    engine.restore(Snapshot(snap_s, state))
    for item in replayed_inputs(recording, after_seq=after_seq, until_s=time_s + 1e-6):
        reapply(engine, item)
    engine.run(time_s)
    return engine


REPLAYED_KINDS = ("action", "feed")
"""Input kinds that change the engine: operator actions (applied ones) and feed batches
(applied ones; a refused batch re-counts its source's rejected tally)."""


def replayed_inputs(
    recording: Recording, *, after_seq: int = 0, until_s: float = math.inf
) -> list[Input]:
    """The recorded inputs a replay re-applies, in order: accepted operator actions and every
    feed batch (accepted, or refused by a feed rule)."""
    return [
        item
        for item in recording.inputs(after_seq=after_seq, until_s=until_s)
        if (item.kind == "action" and item.result == "ok")
        or (
            item.kind == "feed"
            and (
                item.result == "ok"
                or (isinstance(item.payload, dict) and "refused" in item.payload)
            )
        )
    ]


def reapply(engine: Engine, item: Input) -> None:
    """Run ``engine`` to the recorded input's time and apply it (as it was applied live)."""
    if item.kind == "feed":
        _reapply_feed(engine, item)
        return
    engine.run(item.sim_time_s)
    try:
        engine.apply(action_from_dict(item.payload))
    except ActionError as error:
        raise RecordingError(
            f"input #{item.seq} ({item.name} at {hhmm(item.sim_time_s)}) was applied live but is "
            f"refused on replay ({error}): the recording and this software disagree",
            code="diverged",
        ) from error


def _reapply_feed(engine: Engine, item: Input) -> None:
    """A recorded feed batch, applied again from its aggregated arrays (or, refused, counted)."""
    from twin.feeds.apply import apply_batch, count_refusal
    from twin.feeds.payload import decode

    engine.run(item.sim_time_s)
    payload = item.payload
    if item.result == "ok":
        apply_batch(engine, decode(payload))
    else:
        count_refusal(
            engine,
            str(payload["source"]),
            payload["refused"],
            item.reason,
            record=payload.get("record"),
        )


# ---------------------------------------------------------------- headless days
@dataclass(frozen=True)
class ScriptedInput:
    """One timed input of a headless day: an operator action (the dict form of
    :mod:`twin.actions`), ``{"acknowledge": "all"}`` (every open alert), or a clock change."""

    at_s: float
    action: dict[str, Any] | None = None
    acknowledge: str | None = None
    user: str = "script"
    role: str = "operator"
    source_seq: int | None = None  # the recorded input it repeats (forks)


def read_script(path_or_items: str | Path | Sequence[dict[str, Any]]) -> list[ScriptedInput]:
    """A JSON list of ``{"at": "18:40", "action": {...}}`` (or ``"acknowledge": "all"``;
    optional ``user``, ``role``), checked and sorted by time."""
    if isinstance(path_or_items, (str, Path)):
        path = Path(path_or_items)
        try:
            items = json.loads(path.read_text())
        except FileNotFoundError:
            raise TwinError(f"actions file {path} does not exist", code="not_found") from None
        except json.JSONDecodeError as error:
            raise TwinError(
                f"actions file {path} is not valid JSON: {error}", code="bad_json"
            ) from None
    else:
        items = list(path_or_items)
    if not isinstance(items, list):
        raise TwinError(
            'the actions file must hold a JSON list of {"at": "HH:MM", "action": {...}}',
            code="bad_json",
        )
    script = []
    for n, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or "at" not in item
            or not ({"action", "acknowledge"} & set(item))
        ):
            raise TwinError(
                f"actions[{n}] must be an object with 'at' and 'action' (or 'acknowledge')",
                code="bad_json",
            )
        at_s = parse_clock(item["at"], name=f"actions[{n}].at")
        if "action" in item:
            try:
                action_from_dict(item["action"])
            except ActionError as error:
                raise TwinError(f"actions[{n}].action: {error}", code="bad_action") from None
        if item.get("acknowledge", "all") != "all":
            raise TwinError(f'actions[{n}].acknowledge must be "all"', code="bad_json")
        script.append(
            ScriptedInput(
                at_s,
                item.get("action"),
                item.get("acknowledge"),
                str(item.get("user", "script")),
                str(item.get("role", "operator")),
            )
        )
    return sorted(script, key=lambda s: s.at_s)


def day_header(
    scenario: Scenario,
    *,
    seed: int,
    start_s: float,
    warmup_s: float,
    live_start_s: float,
    kind: str,
    name: str = "",
    day: date | None = None,
    engine: Engine | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The header of a new recording (see ``docs/recording-format.md``)."""
    folder = getattr(scenario, "path", None)
    if folder is not None:
        folder = Path(folder).resolve()
        folder = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    now = datetime.now(tz=UTC)
    return {
        "kind": kind,
        "name": name,
        "scenario": str(folder) if folder is not None else None,
        "scenario_name": scenario.name,
        "scenario_hash": scenario_fingerprint(scenario),
        "seed": int(seed),
        "start_s": float(start_s),
        "warmup_s": float(warmup_s),
        "live_start_s": float(live_start_s),
        "dt_s": float(engine.dt_s) if engine is not None else None,
        "route_update_s": float(engine.route_update_s) if engine is not None else 60.0,
        "route_smoothing": float(engine.route_smoothing) if engine is not None else 0.5,
        "software_version": __version__,
        "date": (day or now.date()).isoformat(),
        "created": now.isoformat(timespec="seconds")
        if day is None
        else f"{day.isoformat()}T00:00:00+00:00",
        "snapshot_every_s": None,
        **extra,
    }


def _nominal_clock(day: date, engine: Engine) -> Callable[[], float]:
    """Wall time of a headless day: the day's midnight (UTC) plus the simulated time."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return lambda: midnight + float(engine.time_s)


def _run_script(
    live: LiveTwin,
    script: Iterable[ScriptedInput],
    until_s: float,
    progress: Callable[[float], None] | None,
) -> list[Any]:
    """Run ``live`` (a LiveTwin without its thread) to ``until_s``, feeding the scripted inputs
    through the command path at their times; the command results, in order."""
    from twin.service.commands import CommandPath

    commands = CommandPath(live, audit=None, sandbox=True)  # a headless day or fork
    results = []
    for item in script:
        if item.at_s > until_s:
            break
        live.run_until(item.at_s, progress=progress)
        if item.action is not None:
            results.append(commands.submit(item.action, user=item.user, role=item.role))
        else:
            for alert in live.alarm_book.feed(live.engine.time_s):
                if not alert.get("acked"):
                    results.append(
                        commands.acknowledge(
                            int(alert["id"]),
                            user=item.user,
                            role=item.role,
                            group=alert.get("count", 1) > 1,
                        )
                    )
    live.run_until(until_s, progress=progress)
    return results


def _headless_twin(engine: Engine, recorder: Recorder) -> Any:
    from twin.service.live import LiveSettings, LiveTwin

    return LiveTwin(engine, settings=LiveSettings(forecast_period_s=0.0), recorder=recorder)


def record_day(
    scenario: Scenario,
    *,
    out_dir: str | Path,
    start_s: float,
    end_s: float,
    script: Sequence[ScriptedInput] = (),
    seed: int = 0,
    warmup_s: float = 600.0,
    name: str = "",
    day: date | None = None,
    out_path: str | Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Record a headless day from ``start_s`` to ``end_s`` (the engine starts ``warmup_s``
    earlier so traffic is on the roads); returns the recording's path."""
    from twin.engine import Engine

    if not end_s > start_s:
        raise TwinError(
            f"end {hhmm(end_s)} must be after start {hhmm(start_s)}", code="out_of_range"
        )
    outside = [s for s in script if not start_s <= s.at_s <= end_s]
    if outside:
        raise TwinError(
            f"scripted input at {hhmm(outside[0].at_s)} is outside the day "
            f"{hhmm(start_s)}–{hhmm(end_s)}",
            code="out_of_range",
        )
    day = day or date.today()
    engine = Engine(scenario, seed=seed, start_s=start_s - warmup_s)
    engine.run(start_s)
    header = day_header(
        scenario,
        seed=seed,
        start_s=start_s - warmup_s,
        warmup_s=warmup_s,
        live_start_s=start_s,
        kind="headless",
        name=name,
        day=day,
        engine=engine,
    )
    path = (
        Path(out_path)
        if out_path
        else new_recording_path(
            out_dir,
            scenario.name,
            when=datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=start_s),
            suffix="headless",
        )
    )
    recorder = Recorder.create(path, header, clock=_nominal_clock(day, engine))
    live = _headless_twin(engine, recorder)
    try:
        _run_script(live, script, end_s, progress)
    finally:
        live.stop(close_day=True)
    return path


# ---------------------------------------------------------------- forks
@dataclass(frozen=True)
class ForkChanges:
    """What a fork changes: actions added at the fork minute (or later, with ``at_s``),
    recorded inputs dropped (by ``seq`` or audit id), recorded inputs moved to another time."""

    add: tuple[ScriptedInput, ...] = ()
    drop: tuple[int, ...] = ()
    move: tuple[tuple[int, float], ...] = field(default_factory=tuple)


def fork_day(
    recording: Recording,
    at_s: float,
    changes: ForkChanges,
    *,
    until_s: float | None = None,
    out_dir: str | Path | None = None,
    name: str = "",
    scenario: Scenario | None = None,
    progress: Callable[[float], None] | None = None,
    user: str = "planner",
    role: str = "planner",
) -> Path:
    """Re-run ``recording`` from ``at_s`` to ``until_s`` (default: its end) with ``changes``;
    the recorded operator actions after ``at_s`` are repeated unless dropped or moved.
    Returns the fork's recording path (in ``out_dir``, default the recording's folder)."""
    start, end = recording.time_range()
    until_s = end if until_s is None else until_s
    if not start <= at_s < end:
        raise RecordingError(
            f"fork time {hhmm(at_s)} is outside recording {recording.recording_id} "
            f"({hhmm(start)}–{hhmm(end)})",
            code="out_of_range",
        )
    if not at_s < until_s <= end + 1e-6:
        raise RecordingError(
            f"the fork must run past {hhmm(at_s)} and end by {hhmm(end)}, got {hhmm(until_s)}",
            code="out_of_range",
        )
    later = [
        i
        for i in recording.inputs(kind="action")
        if i.result == "ok" and i.sim_time_s > at_s + 1e-9
    ]
    by_ref = {i.seq: i for i in later} | {i.audit_id: i for i in later if i.audit_id is not None}
    known_refs = {i.seq for i in recording.inputs(kind="action")}
    for ref in (*changes.drop, *(m[0] for m in changes.move)):
        if ref not in by_ref:
            when = (
                "at or before the fork minute"
                if ref in known_refs
                else "not a recorded operator action"
            )
            raise RecordingError(
                f"input {ref} cannot be dropped or moved: {when} (forks change what comes after "
                f"{hhmm(at_s)})",
                code="bad_change",
            )
    dropped = {by_ref[r].seq for r in changes.drop}
    moved = {by_ref[r].seq: t for r, t in changes.move}
    for t in moved.values():
        if not at_s <= t <= until_s:
            raise RecordingError(
                f"a moved action must stay within {hhmm(at_s)}–{hhmm(until_s)}, got {hhmm(t)}",
                code="out_of_range",
            )
    script = [
        ScriptedInput(moved.get(i.seq, i.sim_time_s), i.payload, None, i.user, i.role, i.seq)
        for i in later
        if i.seq not in dropped
    ]
    for add in changes.add:
        if not at_s <= add.at_s <= until_s:
            raise RecordingError(
                f"an added action must be within {hhmm(at_s)}–{hhmm(until_s)}, got {hhmm(add.at_s)}",
                code="out_of_range",
            )
        action_from_dict(add.action)  # malformed kinds or fields are refused before anything runs
    script = sorted(
        [
            *script,
            *(ScriptedInput(a.at_s, a.action, a.acknowledge, user, role) for a in changes.add),
        ],
        key=lambda s: s.at_s,
    )

    engine = state_at(recording, at_s, scenario=scenario)
    head = recording.header
    day = date.fromisoformat(str(head.get("date", date.today().isoformat())))
    header = {
        **head,
        "kind": "fork",
        "name": name or f"fork of {recording.recording_id} at {hhmm(at_s)}",
        "parent": recording.recording_id,
        "fork_at_s": float(at_s),
        "live_start_s": float(at_s),
        "changes": {
            "add": [{"at_s": a.at_s, "action": a.action} for a in changes.add],
            "drop": sorted(dropped),
            "move": [[s, t] for s, t in sorted(moved.items())],
        },
        "software_version": __version__,
    }
    dropped_feeds = [
        i for i in recording.inputs(kind="feed") if i.result == "ok" and i.sim_time_s > at_s + 1e-9
    ]
    header["feeds_after_fork"] = {
        "dropped_batches": len(dropped_feeds),
        "note": fork_feeds_note(at_s, len(dropped_feeds)),
    }
    header.pop("recording_id", None)
    header.pop("format", None)
    folder = Path(out_dir) if out_dir is not None else recording.path.parent
    path = _fork_path(folder, recording.recording_id, at_s)
    recorder = Recorder.create(path, header, clock=_nominal_clock(day, engine))
    live = _headless_twin(engine, recorder)
    live.prime_alarms()  # the fork starts with the alerts in force at its minute, not with none
    try:
        _run_script(live, script, until_s, progress)
    finally:
        live.stop(close_day=True)
    return path


def fork_feeds_note(at_s: float, dropped_batches: int) -> str:
    """What a fork does with the field feeds, in words for the compare view."""
    if dropped_batches == 0:
        return (
            f"No field feeds came after {hhmm(at_s)} in the original day; the fork runs on "
            "the twin's demand from then on."
        )
    return (
        f"This fork ignores the {dropped_batches} field-feed batches received after "
        f"{hhmm(at_s)}: they measured the original day's decisions, not the fork's. From "
        f"{hhmm(at_s)} it runs on the demand the assimilation had estimated by then."
    )


def _fork_path(folder: Path, parent_id: str, at_s: float) -> Path:
    """``folder/<parent>~fork-HHMM-N.sqlite``: the first free N (forks list under their day)."""
    stem = f"{parent_id.split('~')[0]}~fork-{hhmm(at_s).replace(':', '')}"
    n = 1
    while (folder / f"{stem}-{n}.sqlite").exists():
        n += 1
    return folder / f"{stem}-{n}.sqlite"


# ---------------------------------------------------------------- comparison
COMPARED = (
    ("total_delay_vehh", "total delay added (veh·h)", "lower"),
    ("mean_speed_kph", "mean speed (km/h)", "higher"),
    ("worst_wait_s", "worst checkpoint wait (s)", "lower"),
    ("mean_wait_s", "mean checkpoint wait (s)", "lower"),
    ("share_under_target", "share of arrivals waiting under the target", "higher"),
    ("peak_density_ppm2", "peak crowd density (p/m²)", "lower"),
    ("crush_minutes", "minutes with crush alerts", "lower"),
    ("ambulance_eta_s", "mean ambulance trip (s)", "lower"),
)
"""The compared figures: key, label, which way is better."""


def day_figures(
    recording: Recording,
    from_s: float,
    to_s: float,
    *,
    scenario: Scenario | None = None,
    engine: Engine | None = None,
) -> dict[str, float]:
    """The compared figures of ``recording`` over ``[from_s, to_s]`` (from its samples, and
    from the reconstructed end state for ambulance trips)."""
    samples = recording.samples()
    times = samples.get("time_s", np.zeros(0))
    span = (times >= from_s - 1e-6) & (times <= to_s + 1e-6)
    after = span & (
        times > from_s + 1e-6
    )  # the fork minute itself is the same in both by construction

    def series(name: str, where: np.ndarray = after) -> np.ndarray:
        values = samples.get(name)
        return values[where] if values is not None else np.zeros(0)

    def finite(values: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
        values = values[np.isfinite(values)]
        return float(fn(values)) if values.size else math.nan

    delay = series("total_delay_vehh", span)  # the running total: its growth over the span
    out = {
        "total_delay_vehh": float(delay[-1] - delay[0]) if delay.size >= 2 else math.nan,
        "mean_speed_kph": finite(series("mean_speed_kph"), np.mean),
        "worst_wait_s": finite(series("worst_wait_s"), np.max),
        "mean_wait_s": finite(series("mean_wait_s"), np.mean),
        "share_under_target": finite(series("share_under_target"), lambda v: v[-1]),
        "peak_density_ppm2": finite(series("peak_density_ppm2"), np.max),
        "crush_minutes": float(np.sum(series("crush_alerts") > 0))
        if series("crush_alerts").size
        else 0.0,
    }
    end = state_at(
        recording, min(to_s, recording.time_range()[1]), engine=engine, scenario=scenario
    )
    trips = [
        a for a in end.view().extras.get("ambulances", ()) if a["dispatched_s"] >= from_s - 1e-6
    ]
    done = [a["arrived_s"] - a["dispatched_s"] for a in trips if a.get("arrived_s") is not None]
    out["ambulance_eta_s"] = float(np.mean(done)) if done else math.nan
    out["ambulances"] = float(len(trips))
    return out


def compare(
    original: Recording, fork: Recording, *, scenario: Scenario | None = None
) -> dict[str, Any]:
    """Original against fork over the fork's span: ``rows`` of (key, label, original, fork,
    difference, better) and the span. Both must be of the same scenario."""
    at_s = fork.header.get("fork_at_s")
    if fork.header.get("parent") != original.recording_id or at_s is None:
        raise RecordingError(
            f"{fork.recording_id} is not a fork of {original.recording_id}", code="not_a_fork"
        )
    until_s = fork.time_range()[1]
    scenario = load_scenario(original, scenario)
    engine = replay_engine(original, scenario)
    base = day_figures(original, float(at_s), until_s, engine=engine)
    other = day_figures(fork, float(at_s), until_s, engine=engine)
    rows = []
    for key, label, better in COMPARED:
        a, b = base.get(key, math.nan), other.get(key, math.nan)
        diff = b - a if math.isfinite(a) and math.isfinite(b) else math.nan
        verdict = (
            "same"
            if math.isfinite(diff) and abs(diff) < 1e-9
            else (
                "n/a"
                if not math.isfinite(diff)
                else "better"
                if (diff < 0) == (better == "lower")
                else "worse"
            )
        )
        rows.append(
            {
                "key": key,
                "label": label,
                "original": a,
                "fork": b,
                "difference": diff,
                "verdict": verdict,
            }
        )
    feeds = fork.header.get("feeds_after_fork") or {}
    return {
        "from_s": float(at_s),
        "to_s": until_s,
        "feeds_note": feeds.get("note"),
        "feeds_dropped_batches": int(feeds.get("dropped_batches", 0)),
        "rows": rows,
        "original_id": original.recording_id,
        "fork_id": fork.recording_id,
    }
