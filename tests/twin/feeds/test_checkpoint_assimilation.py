"""Checkpoint assimilation on hand-made cases: the observed lane rates are recovered, the queue is
observed arrivals minus observed served, persons are conserved (the corrections booked), the
wait prediction and the lane advice use the observed rates; on the bundled day the crowd's
conservation law holds with the assimilation's ledger."""

import dataclasses

import numpy as np
import pytest

from twin.crowd import checkpoints, pedestrians
from twin.feeds.batch import CheckpointCounts
from twin.feeds.checkpoint_assimilation import assimilate_checkpoints, assimilate_counts

FACE_PPM, MANUAL_PPM = 15.0, 4.0  # the "real" lanes: slower than the spec's 20 and 5 per minute
ARRIVALS_PPM = 100.0


def _spec(**overrides):
    fields = dict(
        checkpoint_id=0,
        name="Test gate",
        venue_id=None,
        x_m=0.0,
        y_m=0.0,
        lanes_face=2,
        lanes_manual=2,
        max_lanes=8,
        kind="park_gate",
    )
    return checkpoints.CheckpointSpec(**{**fields, **overrides})


def _counts(end_s, served, arrived=(np.nan, np.nan), lanes=(2.0, 2.0), checkpoint=0):
    """One checkpoint's face and manual rows of the minute ending at ``end_s``."""
    return CheckpointCounts(
        source="test",
        checkpoint_index=np.array([checkpoint, checkpoint]),
        lane_type=np.array([0, 1]),
        interval_end_s=np.array([end_s, end_s], dtype=float),
        interval_s=np.array([60.0, 60.0]),
        served_persons=np.array(served, dtype=float),
        lanes_in_use=np.array(lanes, dtype=float),
        arrived_persons=np.array(arrived, dtype=float),
    )


def _model_minute(specs, state, arrivals_ppm):
    """The model's own minute: six 10 s steps (the crowd's step)."""
    for _ in range(6):
        checkpoints.step(specs, state, np.array([arrivals_ppm / 6.0]), 10.0)


def _fed(minutes, *, arrivals_counted=True):
    specs = (_spec(),)
    state = checkpoints.new_state(specs, time_s=0.0)
    observed_arrived = observed_served = 0.0
    for minute in range(minutes):
        _model_minute(specs, state, ARRIVALS_PPM)
        served = (2 * FACE_PPM, 2 * MANUAL_PPM)
        arrived = (ARRIVALS_PPM, 0.0) if arrivals_counted else (np.nan, np.nan)
        assimilate_counts(specs, state, _counts(60.0 * (minute + 1), served, arrived))
        observed_arrived += ARRIVALS_PPM
        observed_served += sum(served)
    return specs, state, observed_arrived, observed_served


def test_observed_lane_rates_are_recovered():
    specs, state, _, _ = _fed(90)
    # smoothed over 600 s: after 90 minutes the prior's share is exp(-9) ~ 1e-4
    assert state.face_rate_pps[0] * 60 == pytest.approx(FACE_PPM, rel=1e-3)
    assert state.manual_rate_pps[0] * 60 == pytest.approx(MANUAL_PPM, rel=1e-3)
    face, manual = checkpoints.lane_rates_pps(specs, state)
    assert face[0] * 60 == pytest.approx(FACE_PPM, rel=1e-3)
    assert manual[0] * 60 == pytest.approx(MANUAL_PPM, rel=1e-3)


def _queueing(persons):
    """One checkpoint with ``persons`` queueing at time 0 (counted as arrivals)."""
    specs = (_spec(),)
    state = checkpoints.new_state(specs, time_s=0.0)
    state.queue_persons[:] = persons
    state.arrived_persons[:] = persons
    return specs, state


def test_one_interval_moves_the_rate_by_the_smoothing_weight():
    specs, state = _queueing(500.0)  # the lanes stay busy all minute
    _model_minute(specs, state, ARRIVALS_PPM)
    assimilate_counts(specs, state, _counts(60.0, (30.0, 8.0), (100.0, 0.0)))
    weight = 1 - np.exp(-60 / 600)
    assert state.face_rate_pps[0] == pytest.approx(20 / 60 + weight * (15 / 60 - 20 / 60))
    assert state.manual_rate_pps[0] == pytest.approx(5 / 60 + weight * (4 / 60 - 5 / 60))


def test_queue_is_observed_arrivals_minus_observed_served():
    _, state, arrived, served = _fed(30)
    assert state.queue_persons[0] == pytest.approx(arrived - served, rel=1e-12)  # 30 x 62
    assert state.queue_persons[0] == pytest.approx(30 * (100 - 38), rel=1e-12)
    assert state.served_persons[0] == pytest.approx(served, rel=1e-12)
    assert state.arrived_persons[0] == pytest.approx(arrived, rel=1e-12)


def test_without_counted_arrivals_the_model_arrivals_stand():
    _, state, _, served = _fed(10, arrivals_counted=False)
    model_arrived = 10 * ARRIVALS_PPM  # what the model was fed
    assert state.arrived_persons[0] == pytest.approx(model_arrived, rel=1e-12)
    assert state.queue_persons[0] == pytest.approx(model_arrived - served, rel=1e-12)
    np.testing.assert_allclose(state.assimilated_arrived_persons, 0.0, atol=1e-9)


def test_persons_are_conserved_with_the_corrections_booked():
    specs = (_spec(),)
    state = checkpoints.new_state(specs, time_s=0.0)
    fed = 0.0
    rng = np.random.default_rng(7)
    for minute in range(40):
        arrivals = float(rng.uniform(0, 120))
        _model_minute(specs, state, arrivals)
        fed += arrivals
        served = rng.uniform(0, 40, 2)
        counted = rng.uniform(0, 60, 2) if minute % 3 else (np.nan, np.nan)
        assimilate_counts(specs, state, _counts(60.0 * (minute + 1), served, counted))
        assert state.arrived_persons[0] == pytest.approx(
            state.served_persons[0] + state.queue_persons[0], rel=1e-12
        )
        assert state.queue_persons[0] >= 0
        # arrivals = what the model was fed + what the assimilation booked
        assert state.arrived_persons[0] == pytest.approx(
            fed + state.assimilated_arrived_persons[0], rel=1e-12
        )


def test_served_more_than_the_queue_held_are_booked_as_arrivals():
    specs = (_spec(),)
    state = checkpoints.new_state(specs, time_s=0.0)
    _model_minute(specs, state, 10.0)  # 10 arrive, all 10 served by the model
    summary = assimilate_counts(specs, state, _counts(60.0, (40.0, 10.0)))
    assert state.queue_persons[0] == 0.0
    assert state.served_persons[0] == pytest.approx(50.0)
    assert state.arrived_persons[0] == pytest.approx(50.0)  # 40 more must have come
    assert state.assimilated_arrived_persons[0] == pytest.approx(40.0)
    assert summary["arrived_correction_persons"] == pytest.approx(40.0)


def test_idle_lanes_only_raise_the_rate():
    specs = (_spec(),)
    state = checkpoints.new_state(specs, time_s=0.0)
    _model_minute(specs, state, 10.0)
    assimilate_counts(specs, state, _counts(60.0, (6.0, 4.0), (6.0, 4.0)))  # no queue: idle
    assert state.face_rate_pps[0] == pytest.approx(20 / 60)  # 3/min/lane: not a rate, a bound
    assert state.manual_rate_pps[0] == pytest.approx(5 / 60)


def test_a_queue_that_ran_dry_in_the_interval_measures_no_rate():
    specs, state = _queueing(
        20.0
    )  # 20 waiting: the lanes ran dry, then served arrivals as they came
    _model_minute(specs, state, 30.0)
    assimilate_counts(specs, state, _counts(60.0, (24.0, 6.0), (24.0, 6.0)))
    assert state.queue_persons[0] == pytest.approx(20.0)  # 20 + 30 arrived - 30 scanned
    assert state.face_rate_pps[0] == pytest.approx(20 / 60)  # 12/min/lane is no lane rate
    assert state.manual_rate_pps[0] == pytest.approx(5 / 60)


def test_an_empty_checkpoint_measures_no_rate():
    specs = (_spec(),)
    state = checkpoints.new_state(specs, time_s=0.0)
    for minute in range(30):  # nobody comes, nobody is scanned
        _model_minute(specs, state, 0.0)
        assimilate_counts(specs, state, _counts(60.0 * (minute + 1), (0.0, 0.0), (1e-13, 0.0)))
    assert state.face_rate_pps[0] == pytest.approx(20 / 60)
    assert state.manual_rate_pps[0] == pytest.approx(5 / 60)


def test_wait_prediction_and_advice_use_the_observed_rates():
    specs, state, _, _ = _fed(90)
    face, manual = state.face_rate_pps[0], state.manual_rate_pps[0]
    capacity_pps = 2 * face + 2 * manual
    wait = checkpoints.mean_wait_now_s(specs, state)
    assert wait[0] == pytest.approx(state.queue_persons[0] / capacity_pps, rel=1e-12)
    # no arrivals over 10 minutes: the queue drains at the observed capacity
    forecast = np.zeros((10, 1))
    predicted = checkpoints.predict_wait_s(specs, state, forecast, dt_s=60.0)
    drained = np.maximum(state.queue_persons[0] - capacity_pps * 60.0 * np.arange(1, 11), 0)
    np.testing.assert_allclose(predicted[:, 0], drained / capacity_pps, rtol=1e-9)
    calm = state.copy()
    calm.queue_persons[:] = 0.0
    arrivals = np.full((30, 1), ARRIVALS_PPM / 60)  # 5 spec lanes pass it, 6.7 observed ones
    advice = checkpoints.recommended_lanes(specs, calm, arrivals, dt_s=60.0, target_wait_s=600)
    observed_specs = (dataclasses.replace(specs[0], face_rate_pps=face, manual_rate_pps=manual),)
    plain = checkpoints.new_state(observed_specs, time_s=state.time_s)
    expected = checkpoints.recommended_lanes(
        observed_specs, plain, arrivals, dt_s=60.0, target_wait_s=600
    )
    assert (advice.lanes_face[0], advice.lanes_manual[0]) == (
        expected.lanes_face[0],
        expected.lanes_manual[0],
    )
    spec_rates = checkpoints.recommended_lanes(specs, plain, arrivals, dt_s=60.0, target_wait_s=600)
    lanes = advice.lanes_face[0] + advice.lanes_manual[0]
    assert lanes > spec_rates.lanes_face[0] + spec_rates.lanes_manual[0]  # slower: more lanes
    assert lanes >= 7  # at least ceil(100 / 15) face lanes for a stable queue


def test_replay_applies_a_batch_bit_for_bit():
    specs = (_spec(),)
    first = checkpoints.new_state(specs, time_s=0.0)
    _model_minute(specs, first, 77.7)
    second = first.copy()
    batch = _counts(60.0, (21.3, 5.9), (80.1, 3.3))
    shuffled = CheckpointCounts(
        **{
            name: (value[::-1] if isinstance(value, np.ndarray) else value)
            for name, value in vars(batch).items()
        }
    )
    assimilate_counts(specs, first, batch)
    assimilate_counts(specs, second, shuffled)
    for name, value in vars(first).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(second, name)), name


@pytest.fixture(scope="module")
def evening():
    from twin.engine import Engine
    from twin.scenario import load

    engine = Engine(load("data/seoul_olympic_park"), start_s=18 * 3600)
    engine.run(18 * 3600 + 300)
    return engine


def _balance(engine, start_s):
    people = engine.state.extras[pedestrians.KEY]
    layout = engine.pedestrians
    offered = (
        engine.demand.persons_between(start_s, engine.time_s)[:, 0, :]
        .reshape(layout.n_venues, -1)
        .sum()
    )
    added = people.checkpoints.assimilated_added_persons
    on_grid = people.crowd.persons.sum()
    at_sources = people.crowd.backlog_persons.sum() + people.passed_gate_persons.sum()
    held = people.checkpoints.queue_persons.sum() + people.inside.sum() + people.gone
    start = people.inside_at_start.sum() + people.queued_at_start.sum()
    return start + offered + (0.0 if added is None else added.sum()) - (on_grid + at_sources + held)


def test_the_crowd_stays_conserved_on_the_bundled_day(evening):
    engine = evening
    layout = engine.pedestrians
    n = len(layout.specs)
    gate = int(layout.gate_checkpoint[-1])
    kspo = 5
    end_s = 60.0 * (engine.time_s // 60)
    rows = np.array([kspo, kspo, gate, gate])
    counts = CheckpointCounts(
        source="test",
        checkpoint_index=rows,
        lane_type=np.array([0, 1, 0, 1]),
        interval_end_s=np.full(4, end_s),
        interval_s=np.full(4, 60.0),
        served_persons=np.array([0.0, 3.0, 400.0, 250.0]),  # far above the gate's model
        lanes_in_use=np.full(4, np.nan),
        arrived_persons=np.array([500.0, np.nan, np.nan, np.nan]),
    )
    people = engine.state.extras[pedestrians.KEY]
    assert abs(_balance(engine, 18 * 3600)) < 1e-6 * people.inside.sum()
    before = people.checkpoints.copy()
    summary = assimilate_checkpoints(engine, counts)
    cp = people.checkpoints
    assert summary["assimilated"] == 4 and summary["intervals"] == 1
    np.testing.assert_allclose(cp.arrived_persons, cp.served_persons + cp.queue_persons, rtol=1e-12)
    assert abs(_balance(engine, 18 * 3600)) < 1e-6 * people.inside.sum()
    assert cp.assimilated_added_persons.sum() != 0  # something was booked
    # the gate's queue by venue still sums to its queue
    np.testing.assert_allclose(
        people.gate_queue_persons.sum(axis=1), cp.queue_persons[layout.gate_checkpoint], rtol=1e-9
    )
    untouched = np.setdiff1d(np.arange(n), rows)
    np.testing.assert_array_equal(cp.queue_persons[untouched], before.queue_persons[untouched])
    engine.run(engine.time_s + 120)  # and the model runs on, conserving
    assert abs(_balance(engine, 18 * 3600)) < 1e-6 * people.inside.sum()


def test_a_replayed_feed_gives_the_same_crowd_bit_for_bit(evening):
    """Live and replay apply the same recorded batches at the same minutes: same state."""

    def fed(engine):
        for minute in range(3):
            engine.run(engine.time_s + 60)
            end_s = 60.0 * (engine.time_s // 60)
            assimilate_checkpoints(
                engine,
                CheckpointCounts(
                    source="test",
                    checkpoint_index=np.array([5, 5, 7]),
                    lane_type=np.array([0, 1, 1]),
                    interval_end_s=np.full(3, end_s),
                    interval_s=np.full(3, 60.0),
                    served_persons=np.array([61.0 + minute, 17.5, 40.0]),
                    lanes_in_use=np.array([3.0, np.nan, 4.0]),
                    arrived_persons=np.array([90.0, np.nan, 55.0]),
                ),
            )
        return engine.state.extras[pedestrians.KEY]

    live, replay = fed(evening.fork()), fed(evening.fork())
    for name in ("inside", "gate_queue_persons", "passed_gate_persons"):
        assert np.array_equal(getattr(live, name), getattr(replay, name)), name
    for name, value in vars(live.checkpoints).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(replay.checkpoints, name)), name
    assert np.array_equal(live.crowd.persons, replay.crowd.persons)
