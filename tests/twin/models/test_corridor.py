"""Ambulance green corridors against hand computations on tiny networks."""

import numpy as np
import pytest

from twin.engine import Engine
from twin.errors import ActionError
from twin.io import geometry
from twin.io.synthetic import (
    chain_scenario,
    grid_scenario,
    network_scenario,
    od_demand,
    with_hospitals,
)
from twin.models import corridor
from twin.models.corridor import CancelCorridor, DispatchCorridor
from twin.models.signals import planned_phase


def _lat_lon(scenario, x_m, y_m):
    lon, lat = geometry.m_to_lonlat(scenario, np.array([x_m]), np.array([y_m]))[0]
    return float(lat), float(lon)


def test_route_is_the_true_fastest_path():
    # S -(200 m)-> A; A -> B direct: 1,000 m at 30 km/h = 120 s;
    # A -> C -> B: 2 x 640.3 m at 60 km/h = 76.8 s, so the ambulance goes round by C
    nodes = [(-200.0, 0.0), (0.0, 0.0), (1000.0, 0.0), (500.0, 400.0)]
    links = [(0, 1, 200.0), (1, 2, 1000.0), (1, 3, 640.3), (3, 2, 640.3)]
    scenario = with_hospitals(
        network_scenario(nodes, links, free_speed_kph=[50.0, 30.0, 60.0, 60.0]), {"hospital_b": 2}
    )
    engine = Engine(scenario, demand=od_demand(1, []))
    plan = corridor.plan_corridor(
        engine,
        corridor_id="c1",
        lat=_lat_lon(scenario, -150.0, 0.0)[0],
        lon=_lat_lon(scenario, -150.0, 0.0)[1],
    )
    assert plan.route == [0, 2, 3]
    assert plan.hospital_id == "hospital_b"
    assert plan.free_flow_s == pytest.approx(
        (200.0 - plan.start_m) / (50 / 3.6) + 2 * 640.3 / (60 / 3.6), rel=1e-6
    )


def _red_chain():
    # 3 x 400 m at 36 km/h (10 m/s); signal at node 1: chain green 0-27 s, red 27-60 s
    scenario = chain_scenario(
        [400.0, 400.0, 400.0],
        signal_at=1,
        cycle_s=60.0,
        greens_s=(27.0, 27.0),
        intergreen_s=3.0,
        dt_s=1.0,
    )
    return with_hospitals(scenario, {"end": 3})


def test_eta_with_corridor_beats_red_light_by_hand_computed_margin():
    scenario = _red_chain()
    engine = Engine(scenario, demand=od_demand(2, []))
    lat, lon = _lat_lon(scenario, 0.0, 0.0)
    plan = corridor.plan_corridor(engine, corridor_id="c1", lat=lat, lon=lon)
    result = corridor.evaluate(engine, plan)
    reach_signal_s = (400.0 - plan.start_m) / 10.0  # ~40 s: the chain is red from 30 to 60 s
    free_s = (1200.0 - plan.start_m) / 10.0
    assert result["eta_without_s"] == pytest.approx(free_s + (60.0 - reach_signal_s), abs=1.0)
    assert result["eta_with_s"] == pytest.approx(free_s, abs=1.0)
    assert result["eta_with_s"] < result["eta_without_s"]
    window = result["timeline"][0]
    assert window["start_s"] < window["passed_s"] <= window["end_s"]


def test_eta_with_corridor_never_worse_and_queue_is_cleared():
    scenario = _red_chain()
    engine = Engine(scenario, demand=od_demand(2, [(0, 1, 700.0, 0.0, 3600.0)]))
    engine.run(600.0)  # queues build at the red
    lat, lon = _lat_lon(scenario, 50.0, 0.0)
    plan = corridor.plan_corridor(engine, corridor_id="c1", lat=lat, lon=lon)
    result = corridor.evaluate(engine, plan)
    assert result["eta_with_s"] < result["eta_without_s"]
    # the chain's other phase serves no street: extra green only helps the chain's own traffic
    assert result["cross_traffic_delay_vehh"] <= 0.0


@pytest.fixture()
def crossing():
    scenario = with_hospitals(grid_scenario(3, 3, block_m=300.0, dt_s=1.0), {"east": 5, "north": 7})
    return scenario


def test_two_corridors_at_one_junction_are_resolved_by_priority(crossing):
    engine = Engine(crossing, demand=od_demand(len(crossing.zones), []))
    west = _lat_lon(crossing, 150.0, 300.0)  # on link 3 -> 4, heading east through node 4
    south = _lat_lon(crossing, 300.0, 150.0)  # on link 1 -> 4, heading north through node 4
    engine.apply(DispatchCorridor("low", *south, hospital_id="north", priority=1))
    engine.apply(DispatchCorridor("high", *west, hospital_id="east", priority=5))
    engine.run(10.0)
    conflicts = engine.state.extras[corridor.CONFLICTS_KEY]
    assert {"node_id": 4, "kept": "high", "delayed": "low"} == {
        k: conflicts[0][k] for k in ("node_id", "kept", "delayed")
    }
    row = engine.state.plans.row(4)
    windows = sorted((p for p in engine.state.preemptions if p.row == row), key=lambda p: p.start_s)
    assert [p.corridor_id for p in windows] == ["high", "low"]
    assert windows[1].start_s >= windows[0].end_s + 2 * engine.state.plans.intergreen_s[row]
    engine.run(200.0)
    ambulances = engine.state.extras[corridor.EXTRAS_KEY]
    assert ambulances["high"].arrived_s < ambulances["low"].arrived_s


def test_cancel_restores_the_plan_after_one_intergreen(crossing):
    engine = Engine(crossing, demand=od_demand(len(crossing.zones), []))
    engine.run(40.0)  # plan shows phase 1 (north-south) from 30 s: the corridor needs phase 0
    engine.apply(DispatchCorridor("c1", *_lat_lon(crossing, 250.0, 300.0), hospital_id="east"))
    engine.run(45.0)
    row = engine.state.plans.row(4)
    assert engine.view().junctions["phase"][4] == 0  # pre-empted
    engine.apply(CancelCorridor("c1"))
    engine.step()
    assert engine.view().junctions["phase"][4] == -1  # intergreen first
    engine.run(45.0 + 1.0 + engine.state.plans.intergreen_s[row])
    assert (
        engine.view().junctions["phase"][4] == planned_phase(engine.state.plans, engine.time_s)[row]
    )


def test_corridor_costs_cross_traffic_delay(crossing):
    # north-south traffic through node 4 (zones are every node: 1 -> 7); the corridor runs east
    zone = {
        int(n): z for z, n in zip(crossing.zones["zone_id"], crossing.zones["node_id"], strict=True)
    }
    engine = Engine(
        crossing, demand=od_demand(len(crossing.zones), [(zone[1], zone[7], 800.0, 0.0, 3600.0)])
    )
    engine.run(
        330.0
    )  # the ambulance reaches node 4 ~22 s later, in the north-south green (330-357 s)
    plan = corridor.plan_corridor(
        engine,
        corridor_id="c1",
        lat=_lat_lon(crossing, 0.0, 300.0)[0],
        lon=_lat_lon(crossing, 0.0, 300.0)[1],
        hospital_id="east",
    )
    result = corridor.evaluate(engine, plan)
    assert result["cross_traffic_delay_vehh"] > 0.0
    assert result["eta_with_s"] <= result["eta_without_s"]


def _fingerprint(engine):
    extras = engine.state.extras.get(corridor.EXTRAS_KEY, {})
    return (
        engine.time_s,
        engine.state.vehicles.sum(),
        tuple(sorted(extras)),
        engine.state.preemptions,
    )


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            DispatchCorridor("x", 37.0, 126.0, hospital_id="nowhere"),
            "hospital_id 'nowhere' is not a hospital",
        ),
        (DispatchCorridor("x", 10.0, 100.0), "is outside the scenario's road network"),
        (DispatchCorridor("x", float("nan"), 100.0), "lat must be a number"),
        (DispatchCorridor("", 37.0, 126.0), "corridor_id must be 1 to 40 letters, digits"),
        (DispatchCorridor("c1", 37.0, 126.0), "corridor_id 'c1' already exists"),
        (
            DispatchCorridor("x", 37.0, 126.0, priority=0),
            "priority must be a whole number from 1 to 9",
        ),
        (CancelCorridor("ghost"), "corridor_id 'ghost' is not a known corridor"),
    ],
)
def test_bad_corridor_requests_are_refused_and_change_nothing(crossing, action, message):
    engine = Engine(crossing, demand=od_demand(len(crossing.zones), []))
    engine.apply(DispatchCorridor("c1", *_lat_lon(crossing, 250.0, 300.0), hospital_id="east"))
    before = _fingerprint(engine)
    with pytest.raises(ActionError, match=message):
        engine.apply(action)
    assert _fingerprint(engine) == before
