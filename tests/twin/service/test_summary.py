"""Executive figures against the same quantities computed here from the engine's state."""

import numpy as np
import pytest

from twin.crowd import checkpoints, pedestrians
from twin.crowd.pedestrians import SetLanes
from twin.engine import Engine
from twin.models.corridor import DispatchCorridor
from twin.scenario import load
from twin.service.summary import NormalDay, executive_summary, needs_decision, normal_day


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
    summary = executive_summary(
        evening.scenario, evening.view(), normal=normal, alert_counts={"warning": 2}
    )
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


# -- what needs a decision: summarised for an executive, from hand-made views ---------------------


def _view(
    *,
    wait_s=(0.0, 0.0, 0.0),
    lanes=(2, 2, 2),
    max_lanes=(4, 4, 4),
    crush=(),
    los=(1, 1, 1, 1),
    conflicts=(),
    time_s=18 * 3600.0,
):
    from types import SimpleNamespace

    n = len(wait_s)
    people = {
        "on_site_persons": 1000.0,
        "peak_density_ppm2": 1.0,
        "crush_alerts": list(crush),
        "checkpoints": {
            "name": ["Gate A", "Hall entrance", "Dome entrance"][:n],
            "kind": ["park_gate", "venue_entrance", "venue_entrance"][:n],
            "venue_id": [None, "hall", "dome"][:n],
            "wait_s": np.array(wait_s, dtype=float),
            "lanes_face": np.array(lanes),
            "lanes_manual": np.zeros(n, dtype=int),
            "max_lanes": np.array(max_lanes),
            "wait_target_s": 600.0,
        },
    }
    junctions = {
        "los": np.array(los),
        "signalised": np.ones(len(los), dtype=bool),
        "delay_s_per_veh": np.full(len(los), 90.0),
    }
    return SimpleNamespace(
        time_s=time_s,
        junctions=junctions,
        extras={"pedestrians": people, "corridor_conflicts": list(conflicts)},
    )


def _row(*, starts_s, inside, expected=1000, wait_s=0.0):
    return {
        "venue_id": "dome",
        "name": "KSPO Dome",
        "inside_persons": float(inside),
        "capacity": 15000.0,
        "session": "Final",
        "starts_s": starts_s,
        "expected_persons": expected,
        "queued_persons": 300.0,
        "entrance_wait_s": wait_s,
    }


def test_checkpoints_over_target_are_one_item_for_the_operators():
    items = needs_decision(_view(wait_s=(900.0, 700.0, 1500.0)))
    assert len(items) == 1
    item = items[0]
    assert item["what"] == (
        "2 venue entrances and 1 park gate over the 10-minute wait target "
        "(worst: Dome entrance, 25 min)"
    )
    assert (item["owner"], item["detail"], item["focus"]) == (
        "acting",
        "operators are opening lanes",
        {"tab": "checkpoints", "checkpoint": 2},
    )


def test_checkpoints_with_every_lane_open_are_the_executives_call():
    items = needs_decision(_view(wait_s=(900.0, 0.0, 0.0), lanes=(4, 2, 2)))
    assert [i["owner"] for i in items] == ["decide"]
    assert items[0]["what"].startswith("1 park gate over the 10-minute wait target")
    assert items[0]["detail"] == (
        "every lane is already open at Gate A: consider more screening staff "
        "or opening doors earlier"
    )


def test_a_session_starting_with_its_crowd_outside_asks_to_consider_a_delay():
    now = 18 * 3600.0
    at_risk = [
        _row(starts_s=now + 900, inside=300),
        _row(starts_s=now + 1800, inside=100, wait_s=2400.0),
    ]
    fine = [
        _row(starts_s=now + 900, inside=800),
        _row(starts_s=now + 4000, inside=0),
        _row(starts_s=now - 60, inside=0),
    ]  # most inside; too far ahead; already started
    items = needs_decision(_view(), attendance=at_risk + fine)
    assert [i["kind"] for i in items] == ["session", "session"]
    assert (
        items[0]["what"] == "KSPO Dome: Final starts at 18:15 with 30 % of 1,000 spectators inside"
    )
    assert items[0]["level"] == 3 and items[0]["owner"] == "decide"
    assert items[1]["detail"] == (
        "the entrance queue takes 40 min, longer than the time left: consider delaying the start"
    )


def test_roads_are_the_executives_call_from_twice_a_normal_days_delay():
    failing = (5, 5, 5, 1)
    calm = needs_decision(_view(los=failing), delay_index=1.4)
    assert [(i["what"], i["owner"]) for i in calm] == [
        ("3 signalised junctions at level of service F", "acting")
    ]
    bad = needs_decision(_view(los=failing), delay_index=2.5)
    assert bad[0]["what"] == "Roads around the park at 2.5× a normal day's delay"
    assert bad[0]["owner"] == "decide" and bad[0]["detail"].endswith("advising public transport")
    assert (
        needs_decision(_view(los=(5, 5, 1, 1)), delay_index=1.0) == []
    )  # two junctions: the operators' work


def test_executive_decisions_come_first_and_are_limited():
    view = _view(
        wait_s=(900.0, 700.0, 0.0),
        los=(5, 5, 5, 5),
        conflicts=[{"kept": "a", "delayed": "b", "node_id": 3}],
    )
    items = needs_decision(
        view, delay_index=3.0, attendance=[_row(starts_s=18 * 3600.0 + 600, inside=10)], limit=3
    )
    assert [i["kind"] for i in items] == ["session", "roads", "checkpoint"]
    assert [i["owner"] for i in items] == ["decide", "decide", "acting"]


def test_a_crowd_is_placed_by_its_nearest_venue(evening):
    from twin.io import geometry

    kspo = evening.scenario.facilities.set_index("id").loc["venue_kspo_dome"]
    x, y = geometry.lonlat_to_m(evening.scenario, float(kspo["lon"]), float(kspo["lat"]))
    crush = [
        {"level": "critical", "x_m": x + 20.0, "y_m": y, "peak_density_ppm2": 5.2},
        {"level": "warning", "x_m": x, "y_m": y + 500.0, "peak_density_ppm2": 4.1},
    ]
    items = needs_decision(_view(crush=crush), scenario=evening.scenario)
    assert items[0]["what"] == "Crowd density up to 5.2 persons/m² near KSPO Dome (2 areas)"
    assert items[0]["owner"] == "decide"


def test_summary_counts_the_walls_spectators_on_site_and_splits_them(evening):
    summary = executive_summary(evening.scenario, evening.view(), normal=None, alert_counts={})
    people = evening.view().extras["pedestrians"]
    assert summary["on_site_persons"] == pytest.approx(people["on_site_persons"])
    crowd = summary["crowd"]
    assert crowd["inside_persons"] + crowd["queued_persons"] + crowd[
        "moving_persons"
    ] == pytest.approx(summary["on_site_persons"])
    assert all(not item["what"].endswith("open lanes") for item in summary["decisions"])
