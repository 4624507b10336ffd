"""Executive figures against the same quantities computed here from the engine's state."""

import numpy as np
import pytest

from twin import checkpoints, pedestrians
from twin.corridor import DispatchCorridor
from twin.engine import Engine
from twin.pedestrians import SetLanes
from twin.scenario import load
from twin.summary import NormalDay, executive_summary, normal_day


@pytest.fixture(scope="module")
def evening():
    engine = Engine(load("data/seoul_olympic_park"), start_s=17 * 3600 + 1800)
    engine.run(19 * 3600)
    return engine


def test_checkpoint_figures_match_queue_over_capacity(evening):
    summary = executive_summary(evening.scenario, evening.view(), normal=None, alert_counts={})
    layout, people = evening.pedestrians, evening.state.extras[pedestrians.KEY]
    capacity = checkpoints.capacity_pps(layout.specs, people.checkpoints)
    wait = people.checkpoints.queue_persons / capacity  # Little: a fluid FIFO queue
    assert summary["checkpoints"]["worst_wait_s"] == pytest.approx(wait.max())
    assert summary["checkpoints"]["worst_name"] == layout.specs[int(np.argmax(wait))].name
    under = people.arrived_under_target.sum() / people.checkpoints.arrived_persons.sum()
    assert summary["checkpoints"]["share_under_target"] == pytest.approx(under)
    assert 0.0 <= under <= 1.0


def test_attendance_counts_people_inside_each_venue(evening):
    summary = executive_summary(evening.scenario, evening.view(), normal=None, alert_counts={})
    people = evening.state.extras[pedestrians.KEY]
    inside = {row["venue_id"]: row["inside_persons"] for row in summary["attendance"]}
    for v, venue in enumerate(evening.pedestrians.venue_ids):
        assert inside[venue] == pytest.approx(people.inside[v])
    kspo = next(r for r in summary["attendance"] if r["venue_id"] == "venue_kspo_dome")
    assert kspo["capacity"] == 15000 and kspo["expected_persons"] == 14600


def test_delay_index_is_current_delay_over_normal_day(evening):
    normal = NormalDay(np.array([0.0, 86400.0]), np.array([50.0, 50.0]))
    summary = executive_summary(evening.scenario, evening.view(), normal=normal, alert_counts={"warning": 2})
    delayed = evening.view().links["delay_rate_veh"].sum()
    assert summary["network"]["delay_index"] == pytest.approx(delayed / 50.0)
    assert summary["alerts"] == {"warning": 2}


def test_ambulance_median_and_time_saved():
    engine = Engine(load("data/seoul_olympic_park"), start_s=21 * 3600)
    engine.run(21 * 3600 + 600)
    engine.apply(DispatchCorridor("a", 37.5205, 127.1000, eta_without_s=900.0))
    engine.run(21 * 3600 + 600 + 1200)
    amb = engine.state.extras["ambulances"]["a"]
    assert amb.arrived_s is not None
    summary = executive_summary(engine.scenario, engine.view(), normal=None, alert_counts={})
    trip = amb.arrived_s - amb.dispatched_s
    assert summary["ambulances"]["median_trip_s"] == pytest.approx(trip)
    assert summary["ambulances"]["time_saved_s"] == pytest.approx(900.0 - trip)


def test_normal_day_has_no_event_traffic():
    scenario = load("data/seoul_olympic_park")
    quiet = normal_day(scenario, seed=0, start_s=18 * 3600, end_s=18 * 3600 + 900)
    assert len(quiet.time_s) == 3 and np.all(quiet.delay_rate_veh >= 0)


def test_a_venue_queue_counts_its_spectators_held_at_a_gate(evening):
    engine = evening.fork()
    layout = engine.pedestrians
    gate = int(layout.gate_checkpoint[layout.road_gate[layout.venue_ids.index("venue_kspo_dome")]])
    engine.apply(SetLanes(gate, "face", 0))
    engine.apply(SetLanes(gate, "manual", 0))
    engine.run(engine.time_s + 300)
    people = engine.state.extras[pedestrians.KEY]
    summary = executive_summary(engine.scenario, engine.view(), normal=None, alert_counts={})
    queued = {row["venue_id"]: row["queued_persons"] for row in summary["attendance"]}
    for v, venue in enumerate(layout.venue_ids):
        held = people.gate_queue_persons[:, v].sum()
        assert queued[venue] == pytest.approx(people.checkpoints.queue_persons[v] + held)
    assert people.gate_queue_persons[:, layout.venue_ids.index("venue_kspo_dome")].sum() > 100
    assert summary["checkpoints"]["worst_wait_s"] == np.inf  # queue behind a gate with no lane open
    assert summary["checkpoints"]["worst_name"] == layout.specs[gate].name
