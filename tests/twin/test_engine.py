"""Engine determinism, snapshots, forecasts and actions on a small signalised grid."""

import numpy as np
import pytest

from twin.actions import SetSignalPlan, action_from_dict, action_to_dict
from twin.engine import Engine
from twin.errors import ActionError
from twin.io.synthetic import grid_scenario, od_demand


@pytest.fixture(scope="module")
def grid():
    return grid_scenario(3, 3, block_m=150.0, dt_s=2.0, zones_at="boundary")


def _demand(grid):
    n = len(grid.zones)
    trips = [(o, d, 150.0, 0.0, 1800.0) for o in range(n) for d in range(n) if o != d]
    return od_demand(n, trips)


def _state_arrays(engine):
    s = engine.state
    return (
        s.time_s,
        s.vehicles.copy(),
        s.split.copy(),
        s.plans.greens_s.copy(),
        s.generated_veh,
        s.exited_veh,
        s.delay_veh_s,
    )


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_running_in_chunks_equals_one_long_run(grid):
    one = Engine(grid, demand=_demand(grid))
    one.run(2400.0)
    chunks = Engine(grid, demand=_demand(grid))
    for _ in range(40):
        chunks.step(60.0)
    _assert_same(_state_arrays(one), _state_arrays(chunks))


def test_restore_snapshot_reproduces_the_same_future(grid):
    engine = Engine(grid, demand=_demand(grid))
    engine.run(600.0)
    snapshot = engine.snapshot()
    engine.run(1500.0)
    first_future = _state_arrays(engine)
    engine.restore(snapshot)
    assert engine.time_s == 600.0
    engine.run(1500.0)
    _assert_same(first_future, _state_arrays(engine))


def test_forecast_leaves_live_state_untouched_and_matches_running_ahead(grid):
    engine = Engine(grid, demand=_demand(grid))
    engine.run(600.0)
    before = _state_arrays(engine)
    views = engine.forecast(900.0, marks_s=(300, 900))
    _assert_same(before, _state_arrays(engine))
    assert sorted(views) == [300, 900]
    engine.run(1500.0)  # the live twin reaches the forecast's time: same state
    assert views[900].time_s == engine.time_s
    np.testing.assert_array_equal(views[900].links["vehicles"], engine.view().links["vehicles"])


def test_set_signal_plan_changes_the_plan_and_reports_before_after(grid):
    engine = Engine(grid, demand=_demand(grid))
    node = int(engine.state.plans.node_ids[0])
    result = engine.apply(SetSignalPlan(node, cycle_s=80.0, greens_s=(40.0, 34.0), offset_s=5.0))
    assert result["before"]["greens_s"] == [27.0, 27.0]
    assert result["after"]["greens_s"] == [40.0, 34.0]
    assert engine.state.plans.plan_of(node)["cycle_s"] == 80.0


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (SetSignalPlan(999, 60.0, (27.0, 27.0)), "Junction 999 has no traffic signal"),
        (
            SetSignalPlan(4, 200.0, (97.0, 97.0)),
            r"The cycle must be between 30 and 180 s \(it is 200 s\)",
        ),
        (
            SetSignalPlan(4, 60.0, (50.0, 4.0)),
            r"Green for phase 2 must be at least .* s \(you typed 4\)",
        ),
        (SetSignalPlan(4, 60.0, (30.0, 30.0)), "add up to 66 s, but the cycle is 60 s"),
        (SetSignalPlan(4, 60.0, (27.0,)), "needs 2 greens"),
        (
            SetSignalPlan(4, 60.0, (27.0, 27.0), offset_s=60.0),
            r"offset must be at least 0 s and less than the 60 s cycle \(you typed 60\)",
        ),
        (
            SetSignalPlan(4, float("nan"), (27.0, 27.0)),
            r"The cycle must be a number of seconds \(you typed nan\)",
        ),
    ],
)
def test_bad_signal_plans_are_refused_and_change_nothing(grid, action, message):
    engine = Engine(grid, demand=_demand(grid))
    engine.run(300.0)
    before = _state_arrays(engine)
    with pytest.raises(ActionError, match=message):
        engine.apply(action)
    _assert_same(before, _state_arrays(engine))


def test_action_round_trips_through_plain_dict_and_refuses_unknown_fields():
    action = SetSignalPlan(4, 60.0, (27.0, 27.0))
    assert action_from_dict(action_to_dict(action)) == action
    with pytest.raises(ActionError, match="unknown action kind 'launch'"):
        action_from_dict({"kind": "launch"})
    with pytest.raises(ActionError, match=r"unknown field\(s\) \['colour'\]"):
        action_from_dict({**action_to_dict(action), "colour": "red"})


# ---------------------------------------------------------------- extensions
class _Counter:
    """A toy extension: counts simulated seconds in its state (a one-element list)."""

    def __init__(self, name="counter", *, crowd=False):
        self.name, self.crowd = name, crowd

    def step(self, engine, dt_s):
        engine.state.extras[self.name][0] += dt_s

    def view(self, engine):
        return {f"{self.name}_s": engine.state.extras[self.name][0]}


def test_an_attached_extension_steps_with_the_engine_and_shows_in_the_view(grid):
    engine = Engine(grid, demand=_demand(grid))  # dt 2 s
    engine.attach(_Counter(), state=[0.0])
    engine.run(120.0)
    assert engine.extension_state("counter") == [120.0]  # 60 steps of 2 s
    assert engine.view().extras["counter_s"] == 120.0
    assert engine.extension("counter").name == "counter"
    assert engine.extension("absent") is None


def test_an_extension_state_follows_snapshots_restores_and_forks(grid):
    engine = Engine(grid, demand=_demand(grid))
    engine.attach(_Counter(), state=[0.0])
    engine.run(60.0)
    snapshot = engine.snapshot()
    fork = engine.fork()
    engine.run(100.0)
    assert engine.extension_state("counter") == [100.0]
    assert fork.extension_state("counter") == [60.0]  # a fork has its own copy
    engine.restore(snapshot)
    assert engine.extension_state("counter") == [60.0]
    fork.attach(_Counter("other"), state=[0.0])
    assert engine.extension("other") is None  # attaching to a fork leaves the original alone


def test_a_traffic_only_forecast_keeps_crowd_extensions_still(grid):
    engine = Engine(grid, demand=_demand(grid))
    engine.attach(_Counter("walkers", crowd=True), state=[0.0])
    engine.attach(_Counter("cars"), state=[0.0])
    views = engine.forecast(900.0, crowd=False)
    assert views[900].extras["walkers_s"] == 0.0
    assert views[900].extras["cars_s"] == 900.0
    assert engine.forecast(900.0)[900].extras["walkers_s"] == 900.0
    assert engine.extension_state("walkers") == [0.0]  # the live state is untouched


def test_two_extensions_of_one_name_are_refused(grid):
    engine = Engine(grid, demand=_demand(grid))
    engine.attach(_Counter(), state=[0.0])
    with pytest.raises(ValueError, match="an extension named 'counter' is already attached"):
        engine.attach(_Counter(), state=[5.0])
    assert engine.extension_state("counter") == [0.0]


def test_pedestrians_are_read_only_and_absent_without_venues(grid):
    engine = Engine(grid, demand=_demand(grid))
    assert engine.pedestrians is None
    with pytest.raises(AttributeError):
        engine.pedestrians = object()
