"""Feeds through the one command path on a small grid: a refused batch changes nothing (twin
state, recording, audit log) but its source's tally; an accepted one is audited, recorded whole
and applied; a replay of a fed day equals the live state bit for bit; a fork ignores the
observations after its minute and says so; the file replayer keeps step at two clock speeds."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from tests.twin.service.test_recorder import assert_same_state
from twin.engine import Engine
from twin.feeds.replayer import FeedReplayer
from twin.feeds.state import KEY
from twin.io.detectors import site_detectors
from twin.io.synthetic import grid_scenario, od_demand
from twin.service.audit import AuditLog
from twin.service.commands import CommandPath
from twin.service.live import LiveSettings, LiveTwin
from twin.service.recorder import Recorder, Recording
from twin.service.replay import ForkChanges, compare, day_header, fork_day, state_at

START_S = 17 * 3600.0
FEED = {"user": "loops-gateway", "role": "feed"}


@pytest.fixture(scope="module")
def scenario():
    base = grid_scenario(3, 3, zones_at="boundary", dt_s=2.0)
    table = site_detectors(base.links, base.movements, base.signals, base.zones)
    return dataclasses.replace(base, detectors=table)


def _engine(scenario):
    n = len(scenario.zones)
    demand = od_demand(n, [(0, n - 1, 900.0, 0, 86400), (n - 1, 0, 700.0, 0, 86400)])
    return Engine(scenario, start_s=START_S, demand=demand)


def _twin(scenario, tmp_path, name="day"):
    engine = _engine(scenario)
    header = day_header(
        scenario,
        seed=0,
        start_s=START_S,
        warmup_s=0.0,
        live_start_s=START_S,
        kind="headless",
        engine=engine,
    )
    recorder = Recorder.create(tmp_path / f"{name}.sqlite", header)
    live = LiveTwin(engine, settings=LiveSettings(forecast_period_s=0.0), recorder=recorder)
    return live, CommandPath(live, AuditLog(tmp_path / f"{name}-audit.sqlite"))


def _minute(scenario, end_s, *, skip=()):
    """One reading per detector for the minute ending at ``end_s`` (counts vary by detector and
    minute, well under capacity)."""
    ids = scenario.detectors["detector_id"].tolist()
    m = int(end_s // 60)
    return [
        {"detector": d, "t": end_s, "interval_s": 60, "count": (3 * i + m) % 11, "occupancy": 0.05}
        for i, d in enumerate(ids)
        if d not in skip
    ]


def test_the_grid_has_loops_at_every_signalised_approach(scenario):
    table = scenario.detectors
    stop = table[table["kind"] == "stop_line"]
    phased = scenario.movements[scenario.movements["phase"] >= 0]["from_link"].unique()
    assert sorted(stop["link_id"]) == sorted(phased)
    assert stop["link_id"].is_unique


def test_a_refused_batch_changes_nothing_but_the_tally(scenario, tmp_path):
    live, commands = _twin(scenario, tmp_path)
    live.run_until(START_S + 120)
    assert commands.feed(_minute(scenario, START_S + 60), source="loops", **FEED).ok
    engine = live.engine
    before = copy.deepcopy(engine.state)
    rows = len(Recording.open(live.recorder.path).inputs())
    audit_rows = len(commands.audit.query())
    bad = _minute(scenario, START_S + 120)
    bad[3]["count"] = -4
    body = "\n".join(json.dumps(r) for r in bad)
    result = commands.feed(body, source="loops", **FEED)
    assert not result.ok and result.code == "negative_count"
    assert result.after == {"record": 3, "line": 4, "records": len(bad)}
    assert result.reason.startswith("record 3 (line 4): count must be 0 or more, got -4")
    after = engine.state
    tally = after.extras[KEY].sources["loops"]
    assert (tally.rejected, tally.rejected_batches) == ({"negative_count": 1}, 1)
    assert tally.last_refusal["record"] == 3
    # everything else as it was: undo the tally and compare the whole state bit for bit
    restored = copy.deepcopy(after)
    source = restored.extras[KEY].sources["loops"]
    source.rejected, source.rejected_batches, source.last_refusal = {}, 0, None
    assert_same_state(before, restored)
    recorded = Recording.open(live.recorder.path).inputs()
    assert len(recorded) == rows + 1
    assert (recorded[-1].kind, recorded[-1].result) == ("feed", "refused")
    assert recorded[-1].payload["refused"] == "negative_count"
    entries = commands.audit.query()
    assert len(entries) == audit_rows + 1 and entries[0].result == "refused"
    live.stop()


def test_an_accepted_batch_is_audited_recorded_whole_and_applied(scenario, tmp_path):
    live, commands = _twin(scenario, tmp_path)
    live.run_until(START_S + 60)
    batch = _minute(scenario, START_S + 60)
    result = commands.feed(batch, source="loops", **FEED)
    assert result.ok and result.after["detector_readings"] == len(batch)
    state = live.engine.state.extras[KEY]
    assert np.all(state.det_last_end_s == START_S + 60)
    assert state.sources["loops"].records == len(batch)
    item = Recording.open(live.recorder.path).inputs()[-1]
    assert (item.kind, item.result, item.audit_id) == ("feed", "ok", result.audit_id)
    assert item.payload["detectors"]["count_veh"] == [float(r["count"]) for r in batch]
    assert commands.audit.query()[0].action == "feed.batch"
    # a planner, an operator: refused by the permission table, recorded as refused
    refused = commands.feed(
        _minute(scenario, START_S + 120), source="loops", user="op", role="operator"
    )
    assert (refused.ok, refused.code) == (False, "forbidden")
    live.stop()


def _fed_day(scenario, tmp_path, until_s, *, fork_probe_s=None):
    """A day fed every minute (one detector silent from 17:05, one bad batch at 17:04)."""
    live, commands = _twin(scenario, tmp_path)
    probe = None
    silent = scenario.detectors["detector_id"].iloc[0]
    t = START_S
    while t < until_s:
        t += 60.0
        live.run_until(t)
        skip = (silent,) if t >= START_S + 300 else ()
        assert commands.feed(_minute(scenario, t, skip=skip), source="loops", **FEED).ok
        if t == START_S + 240:
            assert not commands.feed(
                [{"detector": "nope", "t": t, "interval_s": 60, "count": 1}], source="loops", **FEED
            ).ok
        if fork_probe_s is not None and t == fork_probe_s:
            probe = copy.deepcopy(live.engine.state)
    live.run_until(until_s + 30)
    return live, probe


def test_a_replay_of_a_fed_day_equals_the_live_state(scenario, tmp_path):
    mid = START_S + 420
    live, probe = _fed_day(scenario, tmp_path, START_S + 840, fork_probe_s=mid)
    end_state = copy.deepcopy(live.engine.state)
    live.stop()
    with Recording.open(live.recorder.path) as recording:
        feeds = [i for i in recording.inputs() if i.kind == "feed"]
        assert len(feeds) == 15  # 14 accepted minutes, 1 refused
        rebuilt = state_at(recording, end_state.time_s, engine=_engine(scenario), scenario=scenario)
        assert_same_state(end_state, rebuilt.state)
        rebuilt = state_at(recording, mid, engine=_engine(scenario), scenario=scenario)
        assert_same_state(probe, rebuilt.state)
    faults = end_state.extras[KEY].det_problem
    assert faults[0] == 2 and (faults[1:] == 0).all()  # the silent one, and only it


def test_a_fork_ignores_the_observations_after_its_minute(scenario, tmp_path, monkeypatch):
    # the grid's demand is given, not built from a schedule: replays use the same engine maker
    monkeypatch.setattr("twin.service.replay.replay_engine", lambda rec, sc=None: _engine(scenario))
    live, _ = _fed_day(scenario, tmp_path, START_S + 600)
    live.stop()
    at_s = START_S + 300
    with Recording.open(live.recorder.path) as recording:
        at_fork = state_at(recording, at_s, engine=_engine(scenario), scenario=scenario)
        seen = at_fork.state.extras[KEY].det_last_end_s.copy()
        path = fork_day(recording, at_s, ForkChanges(), scenario=scenario)
        with Recording.open(path) as fork:
            assert [i for i in fork.inputs() if i.kind == "feed"] == []
            dropped = fork.header["feeds_after_fork"]["dropped_batches"]
            assert dropped == 5  # 17:06 .. 17:10
            end = state_at(fork, fork.time_range()[1], engine=_engine(scenario), scenario=scenario)
            assert np.array_equal(end.state.extras[KEY].det_last_end_s, seen, equal_nan=True)
            result = compare(recording, fork, scenario=scenario)
    assert "ignores the 5 field-feed batches received after 17:05" in result["feeds_note"]
    assert result["feeds_dropped_batches"] == 5


def _feed_file(scenario, path, minutes):
    lines = [json.dumps({"meta": {"synthetic": True, "source": "test-file"}})]
    for m in range(1, minutes + 1):
        lines += [json.dumps(r) for r in _minute(scenario, START_S + 60 * m)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("poll_s", [2.0, 60.0])
def test_the_file_replayer_keeps_step_with_the_clock(scenario, tmp_path, poll_s):
    """The clock is stepped by the test (``poll_s`` simulated seconds between polls: x1 and x30
    at a 2-second poll); no record is submitted before its time, none more than a poll late."""
    live, commands = _twin(scenario, tmp_path, f"speed{poll_s:g}")
    path = _feed_file(scenario, tmp_path / "feed.ndjson", 10)
    replayer = FeedReplayer.from_file(commands, path)
    assert (replayer.source, replayer.synthetic) == ("test-file", True)
    while not replayer.done:
        live.run_until(live.engine.time_s + poll_s)
        replayer.submit_due(live.engine.time_s)
    assert all(r.ok for r in replayer.results) and replayer.skipped == 0
    with Recording.open(live.recorder.path) as recording:
        fed = [i for i in recording.inputs() if i.kind == "feed"]
    assert sum(i.payload["records"] for i in fed) == replayer.raw.n
    for item in fed:
        newest = max(item.payload["detectors"]["interval_end_s"])
        assert newest <= item.sim_time_s < newest + poll_s + 1e-6
    state = live.engine.state.extras[KEY]
    assert state.sources["test-file"].synthetic
    assert np.all(state.det_last_end_s == START_S + 600)
    counts = np.nansum(state.det_history_veh)
    expected = sum(r["count"] for m in range(1, 11) for r in _minute(scenario, START_S + 60 * m))
    assert counts == expected  # every record applied once, whatever the speed
    live.stop()


def test_the_file_replayer_plays_csv_too(scenario, tmp_path):
    live, commands = _twin(scenario, tmp_path, "csv")
    rows = ["detector,t,interval_s,count,occupancy"]
    for m in (1, 2, 3):
        end = START_S + 60 * m
        rows += [
            f"{r['detector']},{int(end) // 3600:02d}:{int(end) % 3600 // 60:02d},60,{r['count']},"
            for r in _minute(scenario, end)
        ]
    path = tmp_path / "loops.csv"
    path.write_text("\n".join(rows) + "\n")
    replayer = FeedReplayer.from_file(commands, path)
    assert replayer.source == "loops" and not replayer.synthetic
    while not replayer.done:
        live.run_until(live.engine.time_s + 30.0)
        replayer.submit_due(live.engine.time_s)
    assert [r.ok for r in replayer.results] == [True, True, True]
    state = live.engine.state.extras[KEY]
    assert np.all(state.det_last_end_s == START_S + 180)
    assert np.isnan(state.det_flow_vphpl).sum() == 0
    live.stop()
