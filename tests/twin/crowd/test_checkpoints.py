"""Checkpoint queues: conservation, queue theory, lane advice, operator actions, placement."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.crowd import checkpoints as cp
from twin.errors import ActionError, ScenarioError

FACE = 1 / 3  # 20 per minute
MANUAL = 1 / 12  # 5 per minute


def spec(checkpoint_id=0, *, face=2, manual=4, max_lanes=10, max_face=None, name="North"):
    return cp.CheckpointSpec(
        checkpoint_id=checkpoint_id,
        name=name,
        venue_id="v0",
        x_m=0.0,
        y_m=0.0,
        lanes_face=face,
        lanes_manual=manual,
        max_lanes=max_lanes,
        max_face_lanes=max_face,
        face_rate_pps=FACE,
        manual_rate_pps=MANUAL,
    )


def closed_form_wait_s(arrival, rate, servers):
    """M/M/c mean wait from the textbook closed formula (independent of twin.crowd.queueing)."""
    load = arrival / rate
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    prob_wait = top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)
    return prob_wait / (servers * rate - arrival)


def test_default_rates_are_the_documented_ones():
    assert cp.FACE_LANE_RATE_PPS * 60 == pytest.approx(20.0)
    assert cp.MANUAL_LANE_RATE_PPS * 60 == pytest.approx(5.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"face": 6, "manual": 5, "max_lanes": 10},
            r"lanes_face \+ lanes_manual \(6 \+ 5\) must not exceed max_lanes \(10\)",
        ),
        ({"face": -1}, "lanes_face must be a whole number >= 0"),
        ({"face": 3, "max_face": 2}, r"lanes_face \(3\) must not exceed max_face_lanes \(2\)"),
    ],
)
def test_spec_rules(kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        spec(**kwargs)


def test_specs_ids_must_be_in_order():
    with pytest.raises(ScenarioError, match=r"checkpoint_id must be 0..1 in order, got \[1, 0\]"):
        cp.new_state([spec(1), spec(0)])


def test_step_serves_up_to_capacity():
    specs = [spec(face=1, manual=0)]  # 1/3 p/s
    state = cp.new_state(specs)
    served = cp.step(specs, state, np.array([30.0]), 60.0)  # capacity 20 in the step
    assert served[0] == pytest.approx(20.0)
    assert state.queue_persons[0] == pytest.approx(10.0)
    served = cp.step(specs, state, np.array([0.0]), 60.0)
    assert served[0] == pytest.approx(10.0)
    assert state.queue_persons[0] == 0.0


def test_queue_grows_at_arrivals_minus_lanes_times_rate():
    specs = [spec(face=0, manual=3)]  # 3 x 5/min = 0.25 p/s
    state = cp.new_state(specs)
    arrival_pps = 1.0
    for _ in range(120):
        cp.step(specs, state, np.array([arrival_pps * 5.0]), 5.0)
    assert state.queue_persons[0] == pytest.approx((arrival_pps - 3 * MANUAL) * 600.0)
    # Little: a visitor joining now waits queue / capacity
    assert cp.mean_wait_now_s(specs, state)[0] == pytest.approx(
        state.queue_persons[0] / (3 * MANUAL)
    )


@given(
    arrivals=st.lists(st.lists(st.floats(0, 50), min_size=3, max_size=3), min_size=1, max_size=60),
    dt_s=st.sampled_from([1.0, 2.5, 10.0, 60.0]),
)
@settings(max_examples=60, deadline=None)
def test_persons_are_conserved(arrivals, dt_s):
    specs = [spec(0, face=1, manual=1), spec(1, face=0, manual=2), spec(2, face=0, manual=0)]
    state = cp.new_state(specs)
    total_served = np.zeros(3)
    for row in arrivals:
        total_served += cp.step(specs, state, np.array(row), dt_s)
    np.testing.assert_allclose(
        state.arrived_persons, state.served_persons + state.queue_persons, rtol=1e-12
    )
    np.testing.assert_allclose(state.served_persons, total_served, rtol=1e-12)
    assert np.all(state.queue_persons >= 0)
    assert state.served_persons[2] == 0.0  # no lane open serves nobody


def test_wait_now_edge_cases():
    specs = [spec(0, face=0, manual=0), spec(1)]
    state = cp.new_state(specs)
    assert list(cp.mean_wait_now_s(specs, state)) == [0.0, 0.0]
    cp.step(specs, state, np.array([5.0, 0.0]), 1.0)
    assert cp.mean_wait_now_s(specs, state)[0] == math.inf


def test_history_ring_per_minute():
    specs = [spec(face=0, manual=1)]
    state = cp.new_state(specs, history_minutes=3)
    for _ in range(30):  # 300 s in 10 s steps, 1 person per step
        cp.step(specs, state, np.array([1.0]), 10.0)
    table = cp.history(state)
    assert list(table["minute"]) == [2, 3, 4]  # minutes 0 and 1 rolled out of a 3-row ring
    np.testing.assert_allclose(table["arrived_persons"][:, 0], [6, 6, 6])
    np.testing.assert_allclose(table["served_persons"][:, 0], [5, 5, 5])  # 1 lane: 5/min
    np.testing.assert_allclose(table["queue_persons"][:, 0], [3, 4, 5])
    np.testing.assert_allclose(table["wait_s"][:, 0], np.array([3, 4, 5]) * 12.0)


def test_copy_is_independent():
    specs = [spec()]
    state = cp.new_state(specs)
    snapshot = state.copy()
    cp.step(specs, state, np.array([100.0]), 60.0)
    cp.set_lanes(specs, state, 0, "manual", 6)
    assert snapshot.queue_persons[0] == 0.0 and snapshot.lanes_manual[0] == 4
    assert snapshot.history_minute[0] == -1


def test_predict_wait_agrees_with_stepping():
    specs = [spec(0, face=1, manual=2), spec(1, face=0, manual=1)]
    state = cp.new_state(specs)
    cp.step(specs, state, np.array([40.0, 3.0]), 60.0)
    forecast = np.array([[0.8, 0.1], [0.2, 0.05], [0.0, 0.2], [0.6, 0.0]])
    predicted = cp.predict_wait_s(specs, state, forecast, dt_s=60.0)
    stepped = state.copy()
    for k, rates in enumerate(forecast):
        cp.step(specs, stepped, rates * 60.0, 60.0)
        np.testing.assert_allclose(predicted[k], cp.mean_wait_now_s(specs, stepped), atol=1e-9)
    # a candidate plan previews an action without changing the state
    more = cp.predict_wait_s(specs, state, forecast, dt_s=60.0, lanes_manual=[6, 3])
    assert np.all(more <= predicted + 1e-12)
    assert state.lanes_manual[0] == 2


def test_recommended_lanes_steady_state_dominates():
    # 1 p/s for 30 min, manual lanes only (12 s each). Fluid: 12 lanes carry exactly 1 p/s, so
    # no queue builds; 11 lanes build 150 persons (wait 164 s). Erlang C needs more than 12.
    specs = [spec(face=0, manual=1, max_lanes=30, max_face=0)]
    state = cp.new_state(specs)
    forecast = np.ones((30, 1))
    target_s = 60.0
    expected_steady = next(
        c for c in range(13, 31) if closed_form_wait_s(1.0, MANUAL, c) <= target_s
    )
    advice = cp.recommended_lanes(specs, state, forecast, dt_s=60.0, target_wait_s=target_s)
    assert advice.transient_lanes[0] == 12
    assert advice.steady_lanes[0] == expected_steady
    assert (advice.lanes_face[0], advice.lanes_manual[0]) == (0, expected_steady)
    assert advice.feasible[0]


def test_recommended_lanes_transient_dominates():
    # 600 persons already queue, nobody else comes. First-step wait (600 - 60 c) / c <= 300 s
    # needs capacity c >= 600 / 360 p/s = 20 manual lanes; Erlang C with no arrivals needs 1.
    specs = [spec(face=0, manual=1, max_lanes=40, max_face=0)]
    state = cp.new_state(specs)
    state.queue_persons[:] = 600.0
    advice = cp.recommended_lanes(specs, state, np.zeros((10, 1)), dt_s=60.0, target_wait_s=300.0)
    assert advice.steady_lanes[0] == 1
    assert advice.transient_lanes[0] == 20
    assert advice.lanes_manual[0] == 20
    assert advice.predicted_max_wait_s[0] == pytest.approx((600 - 60 * 20 * MANUAL) / (20 * MANUAL))


def test_recommended_lanes_open_face_gates_first_and_report_infeasible():
    specs = [spec(face=0, manual=1, max_lanes=5, max_face=2)]
    state = cp.new_state(specs)
    # 1 p/s needs > 1 p/s: 2 face (2/3) + 3 manual (1/4) = 0.917 < 1 -> infeasible at 5 lanes
    advice = cp.recommended_lanes(specs, state, np.ones((20, 1)), dt_s=60.0, target_wait_s=120.0)
    assert not advice.feasible[0]
    assert (advice.lanes_face[0], advice.lanes_manual[0]) == (2, 3)
    assert cp.lane_mix(specs[0], 1) == (1, 0)


def test_set_lanes_applies_and_returns_previous():
    specs = [spec(face=2, manual=4, max_lanes=10)]
    state = cp.new_state(specs)
    assert cp.set_lanes(specs, state, 0, "manual", 8) == 4
    assert state.lanes_manual[0] == 8
    assert cp.set_lanes(specs, state, 0, "face", 0) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        ((5, "face", 1), r"checkpoint_id: 5 is not a checkpoint \(expected a whole number 0..0\)"),
        ((-1, "face", 1), "checkpoint_id: -1 is not a checkpoint"),
        ((0, "x-ray", 1), "lane_type: must be 'face' or 'manual', got 'x-ray'"),
        ((0, "manual", -2), "count: must be a whole number >= 0, got -2"),
        ((0, "manual", 2.5), "count: must be a whole number >= 0, got 2.5"),
        (
            (0, "manual", 9),
            r"count: 2 face \+ 9 manual lanes would exceed max_lanes=10 at checkpoint 0 'North'",
        ),
        (
            (0, "face", 4),
            "count: 4 face lanes exceed the 3 face e-gates installed at checkpoint 0 'North'",
        ),
    ],
)
def test_set_lanes_refuses_and_leaves_state_unchanged(args, message):
    specs = [spec(face=2, manual=4, max_lanes=10, max_face=3)]
    state = cp.new_state(specs)
    cp.step(specs, state, np.array([50.0]), 30.0)
    before = state.copy()
    with pytest.raises(ActionError, match=message):
        cp.set_lanes(specs, state, *args)
    for name, value in vars(before).items():
        np.testing.assert_array_equal(getattr(state, name), value)


# ------------------------------------------------------------------------------ placement


def facilities_fixture(venue_capacity=(15000, 3000)):
    """Two venues and two gates laid out in metres (UTM 52N), returned in EPSG:4326."""
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import Point

    x0, y0 = 330_000.0, 4_152_000.0
    frame = gpd.GeoDataFrame(
        {
            "id": ["venue_a", "venue_b", "gate_1", "gate_2", "station"],
            "kind": ["venue", "venue", "gate", "gate", "station"],
            "name_en": [
                "Arena (Olympic Gymnastics Arena)",
                "Hall",
                "Peace Gate",
                "East Gate",
                "Station",
            ],
            "capacity": [venue_capacity[0], venue_capacity[1], None, 1200, None],
        },
        geometry=[
            Point(x0, y0),
            Point(x0 + 400, y0),
            Point(x0, y0 - 300),
            Point(x0 + 800, y0),
            Point(x0, y0 - 900),
        ],
        crs="EPSG:32652",
    )
    return frame.to_crs("EPSG:4326"), (x0, y0)


def test_default_checkpoints_placement_and_sizing():
    facilities, (x0, y0) = facilities_fixture()
    specs = cp.default_checkpoints(facilities)
    assert [s.name for s in specs] == [
        "Arena entrance",
        "Hall entrance",
        "Peace Gate checkpoint",
        "East Gate checkpoint",
    ]
    assert [s.checkpoint_id for s in specs] == [0, 1, 2, 3]
    arena, hall, peace, east = specs
    # Arena's nearest gate is Peace Gate, 300 m south: entrance 60 m toward it
    assert (arena.x_m, arena.y_m) == pytest.approx((x0, y0 - 60.0), abs=0.01)
    # Hall's nearest gate is East Gate, 400 m east
    assert (hall.x_m, hall.y_m) == pytest.approx((x0 + 460.0, y0), abs=0.01)
    # 15000 / (5/min * 60 min) = 50 lanes, 25 % face (12.5 -> 13), spare ceil(12.5) = 13
    assert (arena.lanes_face, arena.lanes_manual, arena.max_lanes) == (13, 37, 63)
    assert (hall.lanes_face, hall.lanes_manual, hall.max_lanes) == (3, 7, 13)  # 3000 -> 10
    # Peace Gate has no capacity of its own: it takes the Arena's 15000
    assert peace.lanes_face + peace.lanes_manual == 50 and peace.venue_id is None
    assert east.lanes_face + east.lanes_manual == 4  # its own 1200 -> 4 lanes
    assert arena.venue_id == "venue_a" and peace.kind == "park_gate"


def test_default_checkpoints_warn_for_missing_capacity():
    facilities, _ = facilities_fixture(venue_capacity=(None, 3000))
    message = r"venues without a capacity get one checkpoint lane: \['Arena \(Olympic Gymnastics Arena\)'\]"
    with pytest.warns(UserWarning, match=message):
        specs = cp.default_checkpoints(facilities)
    assert specs[0].lanes_face + specs[0].lanes_manual == 1


def test_default_checkpoints_checks_its_input():
    facilities, _ = facilities_fixture()
    with pytest.raises(TypeError, match="'facilities' should be GeoDataFrame, got DataFrame"):
        cp.default_checkpoints(facilities.drop(columns="geometry"))
    with pytest.raises(ScenarioError, match=r"facilities: missing column\(s\) \['capacity'\]"):
        cp.default_checkpoints(facilities.drop(columns="capacity"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cp.default_checkpoints(facilities)


def test_planned_lanes_pass_the_design_crowd_in_the_entry_window():
    # 8,410 persons in 60 min at 5/min per manual lane: ceil(8410 / 300) = 29 lanes, a quarter
    # of them face e-gates (7.25 -> 7), spare ceil(29 / 4) = 8 positions
    assert cp.planned_lanes(8410.0) == {"lanes_face": 7, "lanes_manual": 22, "max_lanes": 37}
    assert cp.planned_lanes(0.0) == {"lanes_face": 0, "lanes_manual": 1, "max_lanes": 2}
    with pytest.raises(ValueError, match="'design_persons' must be a finite number >= 0, got -1.0"):
        cp.planned_lanes(-1.0)


# ------------------------------------------------------------------------------ doors
def door_spec(checkpoint_id=0, *, face=3, manual=0, windows=((600.0, 1200.0),)):
    return cp.CheckpointSpec(
        checkpoint_id=checkpoint_id,
        name="Hall entrance",
        venue_id="v0",
        x_m=0.0,
        y_m=0.0,
        lanes_face=face,
        lanes_manual=manual,
        max_lanes=10,
        face_rate_pps=FACE,
        manual_rate_pps=MANUAL,
        open_windows_s=windows,
    )


def test_an_entrance_serves_nobody_before_its_doors_open_then_lanes_times_rate():
    specs = [door_spec(), spec(1, face=3, manual=0)]  # doors 00:10-00:20; a gate open all day
    state = cp.new_state(specs)
    for _ in range(60):  # 00:00-00:10 in 10 s steps, 5 persons a step at each
        served = cp.step(specs, state, np.array([5.0, 5.0]), 10.0)
        assert served[0] == 0.0 and served[1] == 5.0  # 3 x 20/min = 10 a step at the gate
    assert (
        state.queue_persons[0] == state.arrived_persons[0] == 300.0
        and state.served_persons[0] == 0.0
    )
    for _ in range(12):  # 00:10-00:12: 3 face lanes serve 10 a step, 5 join
        served = cp.step(specs, state, np.array([5.0, 0.0]), 10.0)
        assert served[0] == pytest.approx(10.0)
    assert state.queue_persons[0] == pytest.approx(300 + 12 * 5 - 12 * 10)
    np.testing.assert_allclose(
        state.arrived_persons, state.served_persons + state.queue_persons, rtol=1e-12
    )


def test_a_step_straddling_the_doors_serves_for_the_open_seconds_only():
    specs = [door_spec()]
    state = cp.new_state(specs, time_s=590.0)
    served = cp.step(specs, state, np.array([100.0]), 30.0)  # 590-620: open 20 s
    assert served[0] == pytest.approx(3 * FACE * 20.0)
    state = cp.new_state(specs, time_s=1190.0)
    assert cp.step(specs, state, np.array([100.0]), 30.0)[0] == pytest.approx(
        3 * FACE * 10.0
    )  # shut at 1200
    np.testing.assert_allclose(
        cp.open_s(specs, [0.0, 590.0, 1190.0, 1200.0, 86400.0 + 600.0], 30.0)[:, 0],
        [0.0, 20.0, 10.0, 0.0, 30.0],
    )  # the windows repeat every day


def test_predicted_wait_before_the_doors_open_counts_the_time_until_they_open():
    specs = [door_spec(windows=((1800.0, 7200.0),))]  # doors at 00:30; 3 face lanes: 1 p/s
    state = cp.new_state(specs)
    cp.step(specs, state, np.array([120.0]), 60.0)  # 00:00-00:01: 120 queue
    forecast = np.full((40, 1), 0.5)  # 30 a minute join
    predicted = cp.predict_wait_s(specs, state, forecast, dt_s=60.0)
    joined_s = 60.0 + 60.0 * np.arange(1, 41)  # a visitor joins at the end of each step
    queue = 120 + 30 * np.arange(1, 41)  # until 00:30 nobody is served
    before = joined_s <= 1800
    assert np.all(predicted[before, 0] >= 1800 - joined_s[before])
    np.testing.assert_allclose(predicted[before, 0], 1800 - joined_s[before] + queue[before] / 1.0)
    # after 00:30 the queue (990 at 00:30) shrinks by (1 - 0.5) p/s
    after = ~before
    queue_after = 990 - 30 * (joined_s[after] - 1800) / 60
    np.testing.assert_allclose(predicted[after, 0], queue_after / 1.0)
    assert cp.mean_wait_now_s(specs, state)[0] == pytest.approx(1800 - 60 + 120)


def test_predicted_wait_agrees_with_stepping_across_the_doors_opening():
    specs = [door_spec(face=1, windows=((300.0, 1000.0),)), spec(1, face=0, manual=1)]
    state = cp.new_state(specs)
    forecast = np.array(
        [[0.8, 0.1], [0.2, 0.05], [0.0, 0.2], [0.6, 0.0], [0.5, 0.5], [0.0, 0.0]] * 3
    )
    predicted = cp.predict_wait_s(specs, state, forecast, dt_s=60.0)
    stepped = state.copy()
    for k, rates in enumerate(forecast):
        cp.step(specs, stepped, rates * 60.0, 60.0)
        np.testing.assert_allclose(predicted[k], cp.mean_wait_now_s(specs, stepped), atol=1e-9)


def test_lane_advice_clears_the_pre_doors_queue_within_the_target():
    specs = [door_spec(face=1, manual=0, windows=((600.0, 7200.0),))]
    state = cp.new_state(specs)
    cp.step(specs, state, np.array([1200.0]), 60.0)  # 1,200 queue, doors in 9 minutes
    advice = cp.recommended_lanes(specs, state, np.zeros((30, 1)), dt_s=60.0, target_wait_s=600.0)
    # 1,200 in 600 s needs 2 p/s: 6 face lanes (1/3 p/s each); the closed time is nobody's fault
    assert (advice.lanes_face[0], advice.lanes_manual[0]) == (6, 0) and advice.feasible[0]


def test_merge_windows_makes_the_union():
    assert cp.merge_windows([(64800, 79200), (37800, 59400), (50000, 60000), (60000, 61000)]) == (
        (37800.0, 61000.0),
        (64800.0, 79200.0),
    )


@pytest.mark.parametrize(
    "windows",
    [
        ((1200.0, 600.0),),
        ((0.0, 700.0), (600.0, 900.0)),
        ((-1.0, 5.0),),
        ((0.0, 90000.0),),
        (),
        ((1.0, 2.0, 3.0),),
        "doors",
    ],
)
def test_bad_door_windows_are_refused(windows):
    with pytest.raises(
        ScenarioError,
        match=r"checkpoint 0 'Hall entrance': open_windows_s must be None or "
        r"\(\(open_s, close_s\), \.\.\.\) with 0 <= open_s < close_s <= 86400",
    ):
        door_spec(windows=windows)


# ---------------------------------------------------------------- one-time fast paths
def windowed(windows, *, face=1, manual=0, checkpoint_id=0):
    return cp.CheckpointSpec(
        checkpoint_id=checkpoint_id,
        name="Door",
        venue_id="v0",
        x_m=0.0,
        y_m=0.0,
        lanes_face=face,
        lanes_manual=manual,
        max_lanes=10,
        face_rate_pps=1.0,
        manual_rate_pps=MANUAL,
        open_windows_s=windows,
    )


def test_open_seconds_and_waits_in_a_step_match_a_hand_count():
    doors = windowed(((100.0, 200.0), (300.0, 500.0)))
    # [150, 350): 50 s of the first window and 50 s of the second
    assert cp.open_s([doors], 150.0, 200.0).tolist() == [100.0]
    assert cp.open_s([doors], 86400.0 + 150.0, 200.0).tolist() == [100.0]  # every day alike
    state = cp.new_state([doors], time_s=50.0)
    state.queue_persons[:] = 30.0  # 30 open seconds of work at 1 person/s
    assert cp.mean_wait_now_s([doors], state).tolist() == [80.0]  # 50 s shut, then 30 s
    state.time_s = 180.0  # 20 s left in the first window, 10 s into the second (from 300 s)
    assert cp.mean_wait_now_s([doors], state).tolist() == [130.0]


door_windows = (
    st.lists(st.integers(0, 86400 * 4), min_size=2, max_size=18, unique=True)
    .map(sorted)
    .map(lambda e: tuple((e[i] / 4.0, e[i + 1] / 4.0) for i in range(0, len(e) - 1, 2)))
)


@settings(max_examples=200, deadline=None)
@given(
    windows=door_windows,
    time_s=st.floats(0.0, 3 * 86400.0),
    dt_s=st.sampled_from([0.5, 2.0, 10.0, 3600.0]),
    queue=st.sampled_from([0.0, 0.3, 17.0, 5000.0]),
    lanes=st.tuples(st.integers(0, 3), st.integers(0, 3)),
)
def test_one_step_paths_equal_the_array_formulation_to_the_bit(windows, time_s, dt_s, queue, lanes):
    specs = [windowed(windows, face=lanes[0], manual=lanes[1]), spec(1)]
    one = cp.open_s(specs, time_s, dt_s)
    many = cp.open_s(specs, np.array([time_s, time_s + dt_s]), dt_s)[0]
    assert one.tobytes() == many.tobytes()
    state = cp.new_state(specs, time_s=time_s)
    state.queue_persons[:] = queue
    array_wait = cp._door_wait_s(
        specs,
        state.queue_persons[None, :],
        cp.capacity_pps(specs, state)[None, :],
        np.array([time_s]),
    )[0]
    assert cp.mean_wait_now_s(specs, state).tobytes() == array_wait.tobytes()
