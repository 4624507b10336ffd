"""The live loop: one writer thread, clock speed and pause, frames, commands, forecasts."""

import math
import threading
import time
from types import MappingProxyType, SimpleNamespace

import pytest

from tests.waiting import wait_for
from twin.actions import SetSignalPlan
from twin.engine import Engine
from twin.io.synthetic import grid_scenario, od_demand
from twin.service.commands import CommandPath
from twin.service.live import LiveSettings, LiveTwin, wall_kpis


@pytest.fixture
def engine():
    scenario = grid_scenario(3, 3, zones_at="boundary", dt_s=2.0)
    n = len(scenario.zones)
    return Engine(scenario, start_s=17 * 3600, demand=od_demand(n, [(0, n - 1, 800.0, 0, 86400)]))


def _wait(predicate, timeout_s=10.0):
    return wait_for(predicate, timeout_s, step_s=0.02)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="speed must be > 0, got 0"):
        LiveSettings(speed=0)
    with pytest.raises(ValueError, match="history_step_s must be > 0 and <= history_window_s"):
        LiveSettings(history_step_s=7200)


def test_frames_are_published_about_once_per_period_and_the_clock_runs_at_speed(engine):
    live = LiveTwin(
        engine, settings=LiveSettings(speed=20, publish_period_s=0.2, forecast_period_s=0)
    )
    live.start()
    try:
        first = live.store.latest()
        time.sleep(1.0)
        last = live.store.latest()
    finally:
        live.stop()
    frames_due = (last.wall_s - first.wall_s) / 0.2  # against the frames' own wall times
    assert abs((last.seq - first.seq) - frames_due) <= 2.5, (last.seq - first.seq, frames_due)
    assert last.time_s - first.time_s == pytest.approx(20 * (last.wall_s - first.wall_s), abs=6)
    assert isinstance(last.kpis, MappingProxyType) and last.kpis["vehicles_in_network"] >= 0


def test_pause_stops_the_clock_but_not_the_frames(engine):
    live = LiveTwin(
        engine, settings=LiveSettings(speed=50, publish_period_s=0.1, forecast_period_s=0)
    )
    live.start()
    try:
        live.apply_clock(paused=True)
        time.sleep(0.3)
        paused = live.store.latest()
        time.sleep(0.5)
        still = live.store.latest()
        live.apply_clock(paused=False)
        assert _wait(lambda: live.store.latest().time_s > still.time_s)
    finally:
        live.stop()
    assert still.seq > paused.seq and still.time_s == paused.time_s and still.paused


def test_actions_are_applied_by_the_loop_thread(engine):
    live = LiveTwin(
        engine, settings=LiveSettings(speed=10, publish_period_s=0.1, forecast_period_s=0)
    )
    live.start()
    try:
        where = live.call(lambda e: threading.current_thread().name).result(5)
        node = int(engine.scenario.signals["node_id"].iloc[0])
        commands = CommandPath(live)
        result = commands.submit(
            SetSignalPlan(node_id=node, cycle_s=70.0, greens_s=(32.0, 32.0)),
            user="kim",
            role="operator",
        )
        bad = commands.submit(
            SetSignalPlan(node_id=node, cycle_s=70.0, greens_s=(1.0, 63.0)),
            user="kim",
            role="operator",
        )
        plan = live.query("signal_plan", node)
    finally:
        live.stop()
    assert where == "twin-live"
    assert result.ok and result.target == f"junction {node}"
    assert not bad.ok and "Green for phase 1" in bad.reason and bad.code == "out_of_range"
    assert plan["greens_s"] == [32.0, 32.0]


def test_forecasts_arrive_in_the_background(engine):
    live = LiveTwin(
        engine,
        settings=LiveSettings(
            speed=10, publish_period_s=0.1, forecast_period_s=0.5, forecast_marks_s=(300, 900)
        ),
    )
    live.start()
    try:
        assert _wait(lambda: set(live.store.latest().forecasts) == {300, 900}, timeout_s=20)
        frame = live.store.latest()
    finally:
        live.stop()
    assert frame.forecasts[900].time_s == pytest.approx(frame.forecast_base_s + 900)


def test_history_keeps_one_sample_per_step(engine):
    live = LiveTwin(
        engine,
        settings=LiveSettings(
            speed=600,
            publish_period_s=0.1,
            forecast_period_s=0,
            history_step_s=60,
            history_window_s=600,
        ),
    )
    live.start()
    try:
        assert _wait(lambda: len(live.store.latest().history["time_s"]) >= 5, timeout_s=20)
        history = live.store.latest().history
    finally:
        live.stop()
    steps = [b - a for a, b in zip(history["time_s"][:-1], history["time_s"][1:])]
    assert all(step >= 60 for step in steps)
    assert set(history) >= {"time_s", "vehicles_in_network", "open_alerts"}


def test_wall_kpis_read_optional_keys():
    view = SimpleNamespace(
        kpis={"vehicles_in_network": 12.0},
        extras={
            "pedestrians": {
                "peak_density_ppm2": 2.5,
                "on_site_persons": 350.0,
                "checkpoints": {"wait_s": [60.0, 900.0]},
            }
        },
    )
    kpis = wall_kpis(view, open_alerts=2)
    assert kpis["vehicles_in_network"] == 12.0
    assert (kpis["peak_density_ppm2"], kpis["worst_wait_s"], kpis["spectators_on_site"]) == (
        2.5,
        900.0,
        350.0,
    )
    assert kpis["open_alerts"] == 2.0
    assert math.isnan(wall_kpis(type("Empty", (), {"kpis": {}})())["peak_density_ppm2"])


@pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnhandledThreadExceptionWarning"
)  # the loop is killed on purpose
def test_watchdog_reports_a_stall_and_restarts_a_dead_loop(engine):
    live = LiveTwin(
        engine,
        settings=LiveSettings(
            speed=30, publish_period_s=0.1, forecast_period_s=0, stall_after_s=1.0
        ),
    )
    live.start()
    gate = threading.Event()
    try:
        live.call(lambda e: gate.wait(30))  # the loop thread blocks: no frames
        assert _wait(lambda: live.health()["stalled_since_wall_s"] is not None, timeout_s=20)
        assert live.health()["loop_alive"] and live.stalls == 1
        gate.set()
        assert _wait(lambda: live.health()["stalled_since_wall_s"] is None, timeout_s=20)

        def die(_engine):
            raise SystemExit  # not an Exception: ends the loop thread like a fatal error would

        live.call(die)
        assert _wait(lambda: live.loop_restarts == 1, timeout_s=20)
        before = live.store.latest()
        assert _wait(lambda: live.store.latest().time_s > before.time_s, timeout_s=20)
        assert live.stalls == 2 and live.health()["loop_alive"]
    finally:
        gate.set()
        live.stop()


def test_junk_clock_and_action_inputs_never_stop_the_clock(engine):
    """Fuzzed inputs through the one command path while the loop runs: every one refused or
    applied cleanly, none raises, and the simulated clock still advances afterwards."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    live = LiveTwin(
        engine, settings=LiveSettings(speed=30, publish_period_s=0.1, forecast_period_s=0)
    )
    commands = CommandPath(live)
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True),
        st.text(max_size=50),
        st.lists(st.integers(), max_size=3),
        st.just("x" * 100_000),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )
    kinds = st.sampled_from(
        ["set_signal_plan", "set_lanes", "dispatch_corridor", "cancel_corridor", "nope"]
    )
    fields = st.sampled_from(
        [
            "node_id",
            "cycle_s",
            "greens_s",
            "offset_s",
            "checkpoint_id",
            "lane_type",
            "count",
            "corridor_id",
            "lat",
            "lon",
            "priority",
        ]
    )
    live.start()
    try:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            speed=junk, paused=junk, kind=kinds, payload=st.dictionaries(fields, junk, max_size=4)
        )
        def poke(speed, paused, kind, payload):
            for result in (
                commands.clock(speed=speed, user="fuzz", role="admin"),
                commands.clock(paused=paused, user="fuzz", role="admin"),
                commands.submit({"kind": kind, **payload}, user="fuzz", role="operator"),
            ):
                assert result.ok or result.reason

        poke()
        commands.clock(paused=False, user="kim", role="admin")
        commands.clock(speed=30.0, user="kim", role="admin")
        before = live.store.latest()
        assert _wait(lambda: live.store.latest().time_s >= before.time_s + 60, timeout_s=30)
        assert live.loop_errors == 0 and live.stalls == 0
    finally:
        live.stop()


def test_live_mode_refuses_clock_changes_and_a_simulation_says_who_paused(engine):
    live = LiveTwin(engine, settings=LiveSettings(mode="live", speed=1, forecast_period_s=0))
    refused = CommandPath(live).clock(paused=True, user="ada", role="admin")
    assert not refused.ok and refused.code == "live_clock" and not live.paused
    simulation = LiveTwin(engine, settings=LiveSettings(speed=10, forecast_period_s=0))
    assert CommandPath(simulation).clock(paused=True, user="ada", role="admin").ok
    frame = simulation._publish()
    assert frame.mode == "simulation" and frame.paused
    assert (frame.clock_change["user"], frame.clock_change["action"]) == ("ada", "pause")
    assert frame.clock_change["sim_time_s"] == engine.time_s
    with pytest.raises(ValueError, match="mode must be one of"):
        LiveSettings(mode="demo")


def test_step_to_puts_a_paused_twin_at_a_moment_whatever_the_machine_speed(engine):
    scenario = engine.scenario
    n = len(scenario.zones)
    twin = Engine(scenario, start_s=17 * 3600, demand=od_demand(n, [(0, n - 1, 800.0, 0, 86400)]))
    live = LiveTwin(engine, settings=LiveSettings(speed=50, forecast_period_s=0), paused=True)
    live.start()
    try:
        reached = live.step_to(17 * 3600 + 1800)
        time.sleep(0.3)  # a paused clock stays where it was put
        frame = live.store.latest()
        assert reached == engine.time_s == frame.time_s == 17 * 3600 + 1800
        assert live.paused and live.loop_errors == 0
    finally:
        live.stop()
    twin.run(17 * 3600 + 1800)  # the same day run headless, on its own: the same state
    assert frame.kpis["vehicles_in_network"] == twin.view().kpis["vehicles_in_network"] > 0
    history = frame.history  # a sample every simulated minute on the way, as a running clock
    assert len(history["time_s"]) >= 30, history["time_s"]
