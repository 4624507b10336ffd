"""Traffic assimilation (twin/feeds/traffic_assimilation.py) on a hand-made chain: a demand surge
seen by one loop is recovered, vehicles stay accounted, no feed changes nothing, the same
batches give the same state bit for bit, and a forecast runs on the estimated demand."""

from __future__ import annotations

import copy
import dataclasses
import zlib

import numpy as np
import pandas as pd
import pytest

from twin.engine import SMOOTHING_S, Engine
from twin.feeds.batch import DetectorCounts
from twin.feeds.traffic_assimilation import (
    EXTRAS_KEY,
    assimilate_detectors,
    assimilation_status,
)
from twin.io.synthetic import chain_scenario, od_demand
from twin.service.recorder import decode_state, encode_state

BASE_VPH = 500.0
SURGE_VPH = 750.0  # the truth: 1.5 x what the twin is told, from minute 10
SURGE_FROM_S = 600.0
LOOP_LINK, LOOP_POS_M = 2, 150.0


@pytest.fixture(scope="module")
def chain():
    scenario = chain_scenario([300.0] * 5, signal_at=3)
    sites = pd.DataFrame(
        {
            "detector_id": ["loop"],
            "link_id": [LOOP_LINK],
            "position_m": [LOOP_POS_M],
            "lanes": [1],
            "measures": ["count"],
            "kind": ["counting_station"],
        }
    )
    return dataclasses.replace(scenario, detectors=sites)


def _base():
    return od_demand(2, [(0, 1, BASE_VPH, 0.0, 7200.0)])


def _truth_demand():
    return od_demand(
        2, [(0, 1, BASE_VPH, 0.0, SURGE_FROM_S), (0, 1, SURGE_VPH, SURGE_FROM_S, 7200.0)]
    )


def _loop_cell(engine):
    first = engine.net.link_first_cell[LOOP_LINK]
    return first + int(LOOP_POS_M // engine.net.cell_length_m[first])


def _batch(end_s, count, occupancy=np.nan):
    return DetectorCounts(
        source="test",
        detector_index=np.array([0]),
        interval_end_s=np.array([end_s]),
        interval_s=np.array([60.0]),
        count_veh=np.array([count]),
        occupancy=np.array([occupancy]),
        speed_kph=np.array([np.nan]),
    )


def _truth_batches(chain, minutes):
    """Counts of a loop on the truth run: each step's outflow of the loop's cell, recovered
    exactly from its smoothed reading (s' = s + dt/tau (o - s))."""
    truth = Engine(chain, demand=_truth_demand(), start_s=0.0)
    cell, blend = _loop_cell(truth), truth.dt_s / SMOOTHING_S
    batches = []
    for minute in range(1, minutes + 1):
        count = 0.0
        while truth.time_s < minute * 60.0 - 1e-9:
            before = truth.state.smooth_outflow_vps[cell]
            truth.step()
            after = truth.state.smooth_outflow_vps[cell]
            count += (before + (after - before) / blend) * truth.dt_s
        batches.append(_batch(minute * 60.0, count))
    return batches


def _feed(engine, batches):
    for batch in batches:
        engine.run(float(batch.interval_end_s[0]))
        assimilate_detectors(engine, batch)


def _balance(engine):
    s = engine.state
    return s.generated_veh - s.exited_veh - float(s.vehicles.sum()) - s.corrected_veh


def test_a_surge_seen_by_one_loop_is_recovered(chain):
    batches = _truth_batches(chain, 40)
    assert sum(b.count_veh[0] for b in batches[-10:]) == pytest.approx(SURGE_VPH / 6, rel=0.01)
    twin = Engine(chain, demand=_base(), start_s=0.0)
    _feed(twin, batches[:9])  # before the surge: the schedule is right
    assert twin.state.demand_factor[0] == pytest.approx(1.0, abs=0.1)
    _feed(twin, batches[9:])
    # 30 minutes after the surge the gateway rate is the truth's 750 veh/h within 2 %
    assert twin.state.demand_factor[0] * BASE_VPH == pytest.approx(SURGE_VPH, rel=0.02)


def test_density_correction_keeps_vehicles_accounted(chain):
    twin = Engine(chain, demand=_base(), start_s=0.0)
    twin.run(600.0)
    jam = _batch(600.0, 2.0, occupancy=0.6)  # a queue at the loop
    summary = assimilate_detectors(twin, jam)
    assert summary["density_updates"] == 1
    assert twin.state.corrected_veh < -1.0  # vehicles were added to the observed link
    assert _balance(twin) == pytest.approx(0.0, abs=1e-9)
    twin.run(1800.0)  # and stay accounted while the queue drains
    assert _balance(twin) == pytest.approx(0.0, abs=1e-9)
    empty = _batch(1860.0, 0.0, occupancy=0.0)
    twin.run(1860.0)
    assimilate_detectors(twin, empty)
    assert _balance(twin) == pytest.approx(0.0, abs=1e-9)


def test_no_feed_leaves_the_run_as_it_was(chain):
    plain = Engine(chain, demand=_base(), start_s=0.0)
    assert plain.state.demand_factor is None and plain.state.corrected_veh == 0.0
    neutral = Engine(chain, demand=_base(), start_s=0.0)
    neutral.state.demand_factor = np.ones(2)  # the factor path itself changes nothing
    ignored = Engine(chain, demand=_base(), start_s=0.0)
    for engine in (plain, neutral, ignored):
        engine.run(900.0)
    unusable = assimilate_detectors(ignored, _batch(900.0, 99.0), usable=np.array([False]))
    assert unusable["assimilated"] == 0
    for engine in (neutral, ignored):
        engine.run(1800.0)
    plain.run(1800.0)
    for engine in (neutral, ignored):
        np.testing.assert_array_equal(engine.state.vehicles, plain.state.vehicles)
        assert engine.state.generated_veh == plain.state.generated_veh
    assert EXTRAS_KEY not in ignored.state.extras


def test_bad_usable_mask_is_refused_and_changes_nothing(chain):
    twin = Engine(chain, demand=_base(), start_s=0.0)
    twin.run(300.0)
    before = copy.deepcopy(twin.state)
    with pytest.raises(ValueError, match="usable must have one flag per detector"):
        assimilate_detectors(twin, _batch(300.0, 5.0), usable=np.array([True, False]))
    np.testing.assert_array_equal(twin.state.vehicles, before.vehicles)
    assert twin.state.demand_factor is None and EXTRAS_KEY not in twin.state.extras


def test_same_batches_same_state_bit_for_bit_and_after_a_restore(chain):
    batches = _truth_batches(chain, 25)
    one = Engine(chain, demand=_base(), start_s=0.0)
    two = Engine(chain, demand=_base(), start_s=0.0)
    _feed(one, batches)
    _feed(two, batches[:12])
    snapshot = two.snapshot()
    _feed(two, batches[12:])
    for engine in (one, two):
        engine.run(1800.0)
    np.testing.assert_array_equal(one.state.vehicles, two.state.vehicles)
    np.testing.assert_array_equal(one.state.demand_factor, two.state.demand_factor)
    np.testing.assert_array_equal(
        one.state.extras[EXTRAS_KEY]["covariance"], two.state.extras[EXTRAS_KEY]["covariance"]
    )
    two.restore(snapshot)  # replay: the snapshot carries the filter, the batches re-apply
    _feed(two, batches[12:])
    two.run(1800.0)
    np.testing.assert_array_equal(one.state.vehicles, two.state.vehicles)
    np.testing.assert_array_equal(one.state.demand_factor, two.state.demand_factor)


def test_forecast_runs_on_the_estimated_demand(chain):
    twin = Engine(chain, demand=_base(), start_s=0.0)
    _feed(twin, _truth_batches(chain, 30))
    factor = float(twin.state.demand_factor[0])
    assert factor > 1.3
    generated_now = twin.state.generated_veh
    views = twin.forecast(900.0, marks_s=(900,))
    generated = views[900].kpis["vehicles_generated"] - generated_now
    assert generated == pytest.approx(factor * BASE_VPH * 900.0 / 3600.0, rel=1e-9)
    assert twin.state.generated_veh == generated_now  # the live twin did not move


def test_status_tells_what_the_twin_believes(chain):
    twin = Engine(chain, demand=_base(), start_s=0.0)
    assert assimilation_status(twin) == {
        "demand_factor": {0: 1.0, 1: 1.0},
        "corrected_veh": 0.0,
        "last_batch_s": None,
    }
    _feed(twin, _truth_batches(chain, 20))
    status = assimilation_status(twin)
    assert status["demand_factor"][0] == float(twin.state.demand_factor[0]) > 1.0
    assert status["last_batch_s"] == 1200.0


def test_a_recorded_snapshot_carries_the_estimate(chain):
    twin = Engine(chain, demand=_base(), start_s=0.0)
    _feed(twin, _truth_batches(chain, 15))
    state = decode_state(zlib.compress(encode_state(twin.state)), "pickle5+zlib")
    np.testing.assert_array_equal(state.demand_factor, twin.state.demand_factor)
    assert state.corrected_veh == twin.state.corrected_veh
    np.testing.assert_array_equal(
        state.extras[EXTRAS_KEY]["covariance"], twin.state.extras[EXTRAS_KEY]["covariance"]
    )
