"""The live day: a crash is resumed where it stopped, a clean close starts a new day, a damaged
file is named and left as it is. (The real-process SIGKILL trials are in
tests/app/test_crash_recovery.py.)"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from tests.twin.service.test_recorder import assert_same_state
from twin.service.commands import CommandPath
from twin.service.days import open_live_day
from twin.service.live import LiveSettings, LiveTwin
from twin.service.recorder import Recording

BUNDLED = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"
START_S = 18 * 3600.0


@pytest.fixture(scope="module")
def scenario():
    from twin.scenario import load

    return load(BUNDLED)


def _run_day(day, until_s, inputs=()):
    live = LiveTwin(
        day.engine,
        settings=LiveSettings(forecast_period_s=0),
        recorder=day.recorder,
        paused=day.paused,
        speed=day.speed,
    )
    commands = CommandPath(live)
    results = []
    for at_s, fn in inputs:
        live.run_until(at_s)
        results.append(fn(commands))
    live.run_until(until_s)
    day.recorder.flush()
    return live, results


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_an_interrupted_day_resumes_with_every_acknowledged_input(tmp_path, scenario):
    first = open_live_day(tmp_path, scenario, start_s=START_S)
    assert first.resumed_from is None
    lanes = {"kind": "set_lanes", "checkpoint_id": 1, "lane_type": "manual", "count": 3}
    live, results = _run_day(
        first,
        START_S + 780,
        [
            (START_S + 420, lambda c: c.submit(lanes, user="kim", role="operator")),
            (START_S + 600, lambda c: c.clock(speed=30.0, user="kim", role="admin")),
            (START_S + 700, lambda c: c.clock(paused=True, user="kim", role="admin")),
        ],
    )
    assert all(r.ok for r in results)
    crashed = live.engine.snapshot()  # the recorder is not closed: as after kill -9

    resumed = open_live_day(tmp_path, scenario, start_s=START_S)
    assert resumed.resumed_from == first.recorder.path.stem
    assert resumed.engine.time_s == START_S + 780
    assert_same_state(crashed.state, resumed.engine.state)
    assert resumed.paused is True and resumed.speed == 30.0
    assert (resumed.clock_change["user"], resumed.clock_change["action"]) == ("kim", "pause")
    assert resumed.engine.view().extras["pedestrians"]["checkpoints"]["lanes_manual"][1] == 3
    assert any("resumed the interrupted day" in note for note in resumed.notes)

    live2, _ = _run_day(resumed, START_S + 900)
    live2.stop(close_day=True)  # a clean shutdown closes the day
    with Recording.open(first.recorder.path) as recording:
        assert recording.closing()["end_s"] == START_S + 900
        assert [i.seq for i in recording.inputs()] == [1, 2, 3]
    fresh = open_live_day(tmp_path, scenario, start_s=START_S)
    assert fresh.resumed_from is None and fresh.recorder.path != first.recorder.path
    assert fresh.engine.time_s == START_S


def test_a_resumed_day_never_starts_before_the_moment_its_screens_showed(tmp_path, scenario):
    """Samples are written once a simulated minute; a kill between two of them must not send
    the clock back: the day resumes at the last time a frame showed, with the state a run
    without the crash has there (the recording holds every input up to it)."""
    first = open_live_day(tmp_path, scenario, start_s=START_S)
    live = LiveTwin(
        first.engine,
        settings=LiveSettings(forecast_period_s=0),
        recorder=first.recorder,
        paused=True,
    )
    live.start()
    lanes = {"kind": "set_lanes", "checkpoint_id": 1, "lane_type": "face", "count": 4}
    live.step_to(START_S + 300)
    assert CommandPath(live).submit(lanes, user="kim", role="operator").ok
    shown_s = live.step_to(START_S + 345)  # 45 s past the last whole-minute sample
    assert live.store.latest().time_s == shown_s
    crashed = live.engine.snapshot()
    live._stop.set()  # the loop ends without closing the day: as after kill -9
    live._thread.join(10)
    first.recorder.flush()
    with Recording.open(first.recorder.path) as recording:
        assert recording.time_range()[1] < shown_s  # what the recording alone would resume at

    resumed = open_live_day(tmp_path, scenario, start_s=START_S)
    assert resumed.resumed_from == first.recorder.path.stem
    assert resumed.engine.time_s == shown_s
    assert_same_state(crashed.state, resumed.engine.state)


def test_a_garbled_shown_mark_is_not_believed(tmp_path, scenario):
    from twin.service.recorder import shown_path

    first = open_live_day(tmp_path, scenario, start_s=START_S)
    _run_day(first, START_S + 120)
    for garbage in (b"\xff" * 8, b"abc", struct.pack("<d", START_S + 99 * 3600)):
        shown_path(first.recorder.path).write_bytes(garbage)
        resumed = open_live_day(tmp_path, scenario, start_s=START_S)
        assert resumed.engine.time_s == START_S + 120, garbage
        resumed.recorder.close(None)


def test_new_day_closes_the_interrupted_one(tmp_path, scenario):
    first = open_live_day(tmp_path, scenario, start_s=START_S)
    _run_day(first, START_S + 120)
    second = open_live_day(tmp_path, scenario, start_s=START_S, new_day=True)
    assert second.resumed_from is None
    with Recording.open(first.recorder.path) as recording:
        assert recording.closing()["reason"].startswith("closed at start of a new day")


def test_a_damaged_day_is_named_left_alone_and_a_new_day_starts(tmp_path, scenario, caplog):
    first = open_live_day(tmp_path, scenario, start_s=START_S)
    _run_day(first, START_S + 120)
    first.recorder.close(None)  # still open (not closed), checkpointed into the main file
    path = first.recorder.path
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # truncated
    digest = _digest(path)
    second = open_live_day(tmp_path, scenario, start_s=START_S)
    assert second.resumed_from is None and second.recorder.path != path
    assert any(str(path) in note and "damaged" in note for note in second.notes)
    assert _digest(path) == digest
