"""The recording: what a live day writes, reconstruction bit for bit, refusals, bad files.

The independent truth here is the live engine itself: its state captured in its own loop
thread at random moments must equal, array for array and bit for bit, the state rebuilt from
the recording (nearest snapshot + recorded inputs, re-simulated).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.waiting import wait_for
from twin.engine import Engine
from twin.io.synthetic import grid_scenario, od_demand
from twin.service.commands import CommandPath
from twin.service.live import LiveSettings, LiveTwin
from twin.service.recorder import (
    SCHEMA_VERSION,
    Recorder,
    Recording,
    RecordingError,
    list_recordings,
)
from twin.service.replay import (
    ForkChanges,
    ScriptedInput,
    compare,
    fork_day,
    read_script,
    record_day,
    state_at,
)

START_S = 17 * 3600.0
BUNDLED = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"


def _scenario():
    return grid_scenario(3, 3, zones_at="boundary", dt_s=2.0)


def _demand(scenario):
    n = len(scenario.zones)
    return od_demand(
        n, [(0, n - 1, 900.0, 0, 86400), (n - 1, 0, 700.0, 0, 86400), (1, n - 2, 500.0, 0, 86400)]
    )


def _engine(scenario=None):
    scenario = scenario or _scenario()
    return Engine(scenario, start_s=START_S, demand=_demand(scenario))


def _replay_engine(scenario):
    return _engine(scenario)


def assert_same_state(live, rebuilt, where="state"):
    """Every field of two engine states equal, arrays bit for bit (NaN equal to NaN)."""
    if dataclasses.is_dataclass(live) and not isinstance(live, type):
        assert type(live) is type(rebuilt), where
        for f in dataclasses.fields(live):
            assert_same_state(getattr(live, f.name), getattr(rebuilt, f.name), f"{where}.{f.name}")
    elif isinstance(live, np.ndarray):
        assert live.shape == rebuilt.shape and live.dtype == rebuilt.dtype, where
        assert np.array_equal(live, rebuilt, equal_nan=live.dtype.kind == "f"), f"{where} differs"
    elif isinstance(live, dict):
        assert live.keys() == rebuilt.keys(), where
        for key in live:
            assert_same_state(live[key], rebuilt[key], f"{where}[{key!r}]")
    elif isinstance(live, (list, tuple)):
        assert len(live) == len(rebuilt), where
        for i, (a, b) in enumerate(zip(live, rebuilt, strict=True)):
            assert_same_state(a, b, f"{where}[{i}]")
    elif hasattr(live, "__dict__") and not isinstance(live, type):
        assert_same_state(vars(live), vars(rebuilt), where)
    elif isinstance(live, float) and np.isnan(live):
        assert np.isnan(rebuilt), where
    else:
        assert live == rebuilt, f"{where}: {live!r} != {rebuilt!r}"


def _new_recorder(tmp_path, engine, name="day"):
    from twin.service.replay import day_header

    header = day_header(
        engine.scenario,
        seed=0,
        start_s=engine.time_s,
        warmup_s=0.0,
        live_start_s=engine.time_s,
        kind="live",
        engine=engine,
    )
    return Recorder.create(tmp_path / f"{name}.sqlite", header)


def _wait(predicate, timeout_s=60.0):
    return wait_for(predicate, timeout_s, step_s=0.02)


# ---------------------------------------------------------------- the live loop, bit for bit
def test_live_state_at_random_moments_equals_the_reconstruction(tmp_path):
    """A 2-hour live day at ×600 with every kind of input, submitted from another thread while
    the loop runs; at 10 random moments the loop's own state is captured; each is rebuilt."""
    scenario = _scenario()
    engine = _engine(scenario)
    recorder = _new_recorder(tmp_path, engine)
    live = LiveTwin(
        engine,
        settings=LiveSettings(speed=600, publish_period_s=0.2, forecast_period_s=0),
        recorder=recorder,
    )
    commands = CommandPath(live)
    node = int(scenario.signals["node_id"].iloc[0])
    rng = np.random.default_rng(7)
    captured = []
    end_s = START_S + 7200
    inputs = [
        {
            "kind": "set_signal_plan",
            "node_id": node,
            "cycle_s": 70.0,
            "greens_s": [32.0, 32.0],
            "offset_s": 5.0,
        },
        {
            "kind": "set_signal_plan",
            "node_id": node,
            "cycle_s": 70.0,
            "greens_s": [1.0, 63.0],
        },  # refused
        "pause",
        "resume",
        "speed",
        {
            "kind": "set_signal_plan",
            "node_id": node,
            "cycle_s": 90.0,
            "greens_s": [50.0, 34.0],
            "offset_s": 0.0,
        },
        {"kind": "no_such_kind"},  # refused
    ]
    live.start()
    try:
        for item in inputs:
            time.sleep(float(rng.uniform(0.1, 0.6)))
            if item == "pause":
                assert commands.clock(paused=True, user="kim", role="admin").ok
            elif item == "resume":
                assert commands.clock(paused=False, user="kim", role="admin").ok
            elif item == "speed":
                assert commands.clock(speed=float("inf"), user="kim", role="admin").ok is False
                assert commands.clock(speed=600.0, user="kim", role="admin").ok
            else:
                commands.submit(item, user="kim", role="operator")
            if len(captured) < 10:
                captured.append(live.call(lambda e: e.snapshot()).result(10))
        while len(captured) < 10:
            time.sleep(float(rng.uniform(0.05, 0.4)))
            captured.append(live.call(lambda e: e.snapshot()).result(10))
        assert _wait(lambda: live.call(lambda e: e.time_s).result(10) >= end_s, timeout_s=120)
    finally:
        live.stop(close_day=True)
    recording = Recording.open(recorder.path)
    kinds = {(i.kind, i.result) for i in recording.inputs()}
    assert {("action", "ok"), ("action", "refused"), ("clock", "ok"), ("clock", "refused")} <= kinds
    replayer = _replay_engine(scenario)
    times = sorted({snap.time_s for snap in captured})
    assert len(times) >= 5
    for snap in captured:
        rebuilt = state_at(recording, snap.time_s, engine=replayer)
        assert rebuilt.time_s == snap.time_s
        assert_same_state(snap.state, rebuilt.state)
        reference = _replay_engine(scenario)
        reference.restore(snap)
        assert dict(reference.view().kpis) == pytest.approx(
            dict(rebuilt.view().kpis), nan_ok=True, rel=0, abs=0
        )


def test_bundled_day_with_every_kind_of_action_rebuilds_exactly(tmp_path):
    """The bundled day with lanes, a signal plan, a corridor dispatched and cancelled and an
    acknowledgement, captured at 10 random times; each rebuilt from the recording alone
    (scenario loaded from the header's folder, checked against its content hash)."""
    from twin.scenario import load
    from twin.service.replay import replay_engine

    scenario = load(BUNDLED)
    start_s = 18 * 3600.0
    engine = Engine(scenario, start_s=start_s)
    recorder = _new_recorder(tmp_path, engine)
    live = LiveTwin(engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder)
    commands = CommandPath(live)
    rng = np.random.default_rng(3)
    marks = sorted(
        start_s + rng.choice(np.arange(1, 3600, 2), size=10, replace=False).astype(float)
    )
    node = int(scenario.signals["node_id"].iloc[0])
    plan = live.query("signal_plan", node)
    incident = scenario.nodes.geometry.iloc[int(scenario.links["from_node"].iloc[0])]
    schedule = {
        start_s + 300: {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 2},
        start_s + 900: {
            "kind": "set_signal_plan",
            "node_id": node,
            "cycle_s": plan["cycle_s"] + 10,
            "greens_s": [g + 10 / len(plan["greens_s"]) for g in plan["greens_s"]],
            "offset_s": 0.0,
        },
        start_s + 1200: {
            "kind": "dispatch_corridor",
            "corridor_id": "AMB-T1",
            "lat": incident.y,
            "lon": incident.x,
        },
        start_s + 1230: {"kind": "cancel_corridor", "corridor_id": "AMB-T1"},
        start_s + 1800: "ack",
    }
    captured = []
    for t in sorted({*marks, *schedule}):
        live.run_until(t)
        if schedule.get(t) == "ack":
            for alert in live.alarm_book.feed(t)[:1]:
                assert commands.acknowledge(int(alert["id"]), user="kim", role="operator").ok
        elif t in schedule:
            result = commands.submit(schedule[t], user="kim", role="operator")
            assert result.ok, result.reason
        if t in marks:
            captured.append(engine.snapshot())
    live.run_until(start_s + 3600)
    live.stop(close_day=True)
    recording = Recording.open(recorder.path)
    assert [i.name for i in recording.inputs(kind="action")] == [
        "set_lanes",
        "set_signal_plan",
        "dispatch_corridor",
        "cancel_corridor",
    ]
    replayer = replay_engine(recording)
    for snap in captured:
        assert_same_state(snap.state, state_at(recording, snap.time_s, engine=replayer).state)


# ---------------------------------------------------------------- the command path records
def test_refusal_is_recorded_and_changes_nothing(tmp_path):
    engine = _engine()
    recorder = _new_recorder(tmp_path, engine)
    live = LiveTwin(engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder)
    commands = CommandPath(live)
    node = int(engine.scenario.signals["node_id"].iloc[0])
    before = engine.snapshot()
    results = [
        commands.submit(
            {"kind": "set_signal_plan", "node_id": node, "cycle_s": float("nan"), "greens_s": [1]},
            user="kim",
            role="operator",
        ),
        commands.submit(
            {"kind": "set_lanes", "checkpoint_id": 99, "lane_type": "x", "count": -1},
            user="kim",
            role="operator",
        ),
        commands.clock(speed="abc", user="kim", role="admin"),
        commands.clock(speed=1e308, user="kim", role="admin"),
        commands.clock(paused="yes", user="kim", role="admin"),
        commands.acknowledge(12345, user="kim", role="operator"),
        commands.submit(
            {"kind": "set_signal_plan", "node_id": "x" * 100_000}, user="kim", role="operator"
        ),
    ]
    assert not any(r.ok for r in results)
    assert [r.code for r in results[2:6]] == [
        "out_of_range",
        "out_of_range",
        "bad_value",
        "not_open",
    ]
    assert "speed must be one of" in results[2].reason and "'abc'" in results[2].reason
    assert_same_state(before.state, engine.state)
    assert live.speed == 10.0 and not live.paused
    recorder.flush()
    rows = Recording.open(recorder.path).inputs()
    assert [r.result for r in rows] == ["refused"] * len(results)
    assert all(len(json.dumps(r.payload)) <= 4100 for r in rows)  # the 100,000-character id is cut


def test_inputs_table_is_append_only(tmp_path):
    engine = _engine()
    recorder = _new_recorder(tmp_path, engine)
    CommandPath(
        LiveTwin(engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder)
    ).clock(paused=True, user="kim", role="admin")
    conn = sqlite3.connect(recorder.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE inputs SET user = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM inputs")


def test_every_input_is_durable_before_the_call_returns(tmp_path):
    """Read by another connection (another process would see the same) as soon as submit returns."""
    engine = _engine()
    recorder = _new_recorder(tmp_path, engine)
    commands = CommandPath(
        LiveTwin(engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder)
    )
    node = int(engine.scenario.signals["node_id"].iloc[0])
    result = commands.submit(
        {"kind": "set_signal_plan", "node_id": node, "cycle_s": 70.0, "greens_s": [32.0, 32.0]},
        user="kim",
        role="operator",
    )
    other = sqlite3.connect(recorder.path)
    assert other.execute("SELECT seq, result, user FROM inputs").fetchall() == [
        (result.seq, "ok", "kim")
    ]


# ---------------------------------------------------------------- headless days, forks
@pytest.fixture(scope="module")
def bundled():
    from twin.scenario import load

    return load(BUNDLED)


def test_record_replay_and_fork_headless(tmp_path, bundled):
    scenario = bundled
    node = int(scenario.signals["node_id"].iloc[0])
    script = read_script(
        [
            {
                "at": "17:20",
                "action": {
                    "kind": "set_signal_plan",
                    "node_id": node,
                    "cycle_s": 120,
                    "greens_s": [60, 50],
                    "offset_s": 0,
                },
            },
            {
                "at": "17:40",
                "action": {
                    "kind": "set_signal_plan",
                    "node_id": node,
                    "cycle_s": 100,
                    "greens_s": [45, 45],
                    "offset_s": 0,
                },
            },
        ]
    )
    path = record_day(
        scenario,
        out_dir=tmp_path,
        start_s=START_S,
        end_s=START_S + 3600,
        script=script,
        warmup_s=0.0,
    )
    recording = Recording.open(path)
    assert recording.time_range() == (START_S, START_S + 3600)
    assert recording.closing()["end_s"] == START_S + 3600
    assert len(recording.snapshot_times()) == 13  # 17:00 and every 5 minutes to 18:00
    assert recording.samples()["time_s"].tolist() == [START_S + 60 * k for k in range(61)]
    fork = fork_day(
        recording,
        START_S + 1800,
        ForkChanges(drop=(2,)),
        name="keep the long cycle",
        scenario=scenario,
    )
    forked = Recording.open(fork)
    assert (
        forked.header["parent"] == recording.recording_id
        and forked.header["fork_at_s"] == START_S + 1800
    )
    assert [i.name for i in forked.inputs(kind="action")] == []  # the 17:40 plan was dropped
    samples, fork_samples = recording.samples(), forked.samples()
    at_fork = samples["open_alerts"][samples["time_s"] == START_S + 1800][0]
    assert fork_samples["time_s"][0] == START_S + 1800
    assert (fork_samples["open_alerts"][0] > 0) == (
        at_fork > 0
    )  # the fork starts with the alerts in force
    at_end = state_at(forked, START_S + 3600, scenario=scenario)
    assert at_end.state.plans.plan_of(node)["cycle_s"] == 120.0  # the 17:20 plan still in force
    same = fork_day(recording, START_S + 1800, ForkChanges(), name="no change", scenario=scenario)
    table = compare(recording, Recording.open(same), scenario=scenario)
    assert {row["verdict"] for row in table["rows"]} <= {
        "same",
        "n/a",
    }  # determinism: no change, no difference
    with pytest.raises(
        RecordingError, match="cannot be dropped or moved: at or before the fork minute"
    ):
        fork_day(recording, START_S + 1800, ForkChanges(drop=(1,)), scenario=scenario)
    assert {r["id"] for r in list_recordings(tmp_path)} == {
        recording.recording_id,
        forked.recording_id,
        Recording.open(same).recording_id,
    }


def test_fork_with_an_added_action_matches_a_headless_day_with_it(tmp_path, bundled):
    """Forking at 17:30 and adding a plan there equals recording the day with that plan at 17:30."""
    scenario = bundled
    node = int(scenario.signals["node_id"].iloc[0])
    plan = {
        "kind": "set_signal_plan",
        "node_id": node,
        "cycle_s": 120,
        "greens_s": [60, 50],
        "offset_s": 0,
    }
    base = Recording.open(
        record_day(scenario, out_dir=tmp_path / "a", start_s=START_S, end_s=START_S + 3600)
    )
    fork = Recording.open(
        fork_day(
            base,
            START_S + 1800,
            ForkChanges(add=(ScriptedInput(START_S + 1800, plan),)),
            scenario=scenario,
        )
    )
    direct = Recording.open(
        record_day(
            scenario,
            out_dir=tmp_path / "b",
            start_s=START_S,
            end_s=START_S + 3600,
            script=read_script([{"at": "17:30", "action": plan}]),
        )
    )
    assert_same_state(
        state_at(direct, START_S + 3600, scenario=scenario).state,
        state_at(fork, START_S + 3600, scenario=scenario).state,
    )


# ---------------------------------------------------------------- bad input, file untouched
def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small_day(tmp_path_factory, bundled):
    folder = tmp_path_factory.mktemp("day")
    return record_day(bundled, out_dir=folder, start_s=START_S, end_s=START_S + 900, warmup_s=0.0)


def test_time_outside_the_day_is_refused_naming_the_range(small_day):
    digest = _digest(small_day)
    with Recording.open(small_day) as recording:
        with pytest.raises(
            RecordingError, match=r"16:00 is outside recording .* which runs 17:00–17:15"
        ) as error:
            state_at(recording, 16 * 3600.0)
        assert error.value.code == "out_of_range"
    assert _digest(small_day) == digest


def test_unknown_corrupt_truncated_and_newer_files_are_named(tmp_path, small_day):
    with pytest.raises(RecordingError, match="no recording file") as error:
        Recording.open(tmp_path / "nope.sqlite")
    assert error.value.code == "unknown_recording"
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(small_day.read_bytes()[:30000])
    corrupt = tmp_path / "corrupt.sqlite"
    data = bytearray(small_day.read_bytes())
    data[4096:8192] = b"\xff" * 4096
    corrupt.write_bytes(bytes(data))
    text = tmp_path / "text.sqlite"
    text.write_text("hello")
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(small_day.read_bytes())
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    for path, code in (
        (truncated, "corrupt"),
        (corrupt, "corrupt"),
        (text, "corrupt"),
        (newer, "newer_schema"),
    ):
        digest = _digest(path)
        with pytest.raises(RecordingError) as error:
            with Recording.open(path) as recording:
                state_at(recording, START_S + 600)
        assert error.value.code == code and str(path) in str(error.value)
        assert _digest(path) == digest, f"{path.name} was rewritten"
    listed = {r["id"]: r for r in list_recordings(tmp_path)}
    assert (
        listed["truncated"]["code"] == "corrupt"
        and "truncated.sqlite" in listed["truncated"]["error"]
    )


def test_scenario_of_another_content_is_refused(small_day):
    other = _scenario()
    with Recording.open(small_day) as recording:
        recording.header["scenario_hash"] = "0" * 64
        with pytest.raises(
            RecordingError, match="replaying it would not reproduce the day"
        ) as error:
            state_at(recording, START_S + 60, scenario=other)
    assert error.value.code == "scenario_mismatch"


def test_a_recording_is_never_overwritten(small_day):
    with pytest.raises(RecordingError, match="never overwritten"):
        Recorder.create(small_day, {"kind": "live"})


def test_bad_scripts_are_refused_with_the_entry_named(tmp_path):
    from twin.errors import TwinError

    bad = tmp_path / "bad.json"
    bad.write_text('[{"at": "18:40"')
    with pytest.raises(TwinError, match="not valid JSON"):
        read_script(bad)
    with pytest.raises(TwinError, match=r"actions\[0\]\.at must look like HH:MM"):
        read_script([{"at": "half past six", "action": {"kind": "set_lanes"}}])
    with pytest.raises(TwinError, match=r"actions\[1\]\.action: unknown action kind 'fly'"):
        read_script(
            [{"at": "18:00", "acknowledge": "all"}, {"at": "18:10", "action": {"kind": "fly"}}]
        )


def test_concurrent_submits_get_distinct_sequence_numbers(tmp_path):
    engine = _engine()
    recorder = _new_recorder(tmp_path, engine)
    live = LiveTwin(
        engine,
        settings=LiveSettings(speed=60, publish_period_s=0.1, forecast_period_s=0),
        recorder=recorder,
    )
    commands = CommandPath(live)
    live.start()
    seqs = []
    try:
        threads = [
            threading.Thread(
                target=lambda p=p: seqs.append(commands.clock(paused=p, user="u", role="admin").seq)
            )
            for p in [True, False] * 10
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        live.stop()
    assert sorted(seqs) == list(range(1, 21))


def test_state_comparison_sees_a_one_ulp_difference():
    """The comparison used above is not vacuous: one vehicle count off by one ulp fails it."""
    engine = _engine()
    engine.run(START_S + 120)
    snap = engine.snapshot()
    changed = engine.snapshot()
    changed.state.vehicles.flat[7] = np.nextafter(changed.state.vehicles.flat[7], np.inf)
    assert_same_state(snap.state, engine.snapshot().state)
    with pytest.raises(AssertionError, match="vehicles differs"):
        assert_same_state(snap.state, changed.state)
