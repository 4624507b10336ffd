"""The cell transmission model checked against traffic-flow theory on hand-built chains.

Every expected value is computed here from the fundamental diagram's parameters, not read
back from the engine. Chain links: free speed 36 km/h = 10 m/s, capacity 1,800 veh/h/lane,
jam density 150 veh/km/lane, so critical density = 1800 / 36 = 50 veh/km and wave speed
w = 1800 / (150 - 50) = 18 km/h = 5 m/s.
"""

import numpy as np
import pytest

from twin.engine import Engine
from twin.io.synthetic import chain_scenario, od_demand


def _cumulative_curves(engine: Engine, until_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    times, entered, exited = [], [], []
    while engine.time_s < until_s:
        engine.step()
        times.append(engine.time_s)
        entered.append(engine.state.generated_veh)
        exited.append(engine.state.exited_veh)
    return np.array(times), np.array(entered), np.array(exited)


def test_free_flow_travel_time_is_length_over_free_speed():
    # 3 x 100 m at 10 m/s -> 30 s; dt 5 s makes cells exactly one step of free flow long
    engine = Engine(
        chain_scenario([100.0, 100.0, 100.0], dt_s=5.0),
        demand=od_demand(2, [(0, 1, 360.0, 0.0, 600.0)]),
    )
    times, entered, exited = _cumulative_curves(engine, 900.0)
    # N_out(t) = N_in(t - 30 s): the arrival curve is the departure curve shifted by 30 s
    shift = int(30.0 / engine.dt_s)
    np.testing.assert_allclose(exited[shift:], entered[:-shift], atol=1e-9)
    assert not np.allclose(exited[shift - 1 :], entered[: -shift + 1])
    view = engine.forecast(0.0, marks_s=()) or engine.view()
    assert view.kpis["vehicles_in_network"] == pytest.approx(0.0, abs=1e-9)


def test_link_travel_time_at_low_flow_equals_free_flow():
    engine = Engine(
        chain_scenario([200.0, 300.0], dt_s=2.0), demand=od_demand(2, [(0, 1, 100.0, 0.0, 3600.0)])
    )
    engine.run(1200.0)
    view = engine.view()
    np.testing.assert_allclose(view.links["travel_time_s"], [20.0, 30.0], rtol=1e-6)
    np.testing.assert_allclose(view.links["speed_kph"], [36.0, 36.0], rtol=1e-6)
    assert list(view.links["los"]) == [0, 0]  # LOS A


def test_bottleneck_outflow_equals_its_capacity():
    # 1,500 veh/h arrive at a link that can carry 900 veh/h
    scenario = chain_scenario(
        [500.0, 500.0, 500.0], capacity_vphpl=[1800.0, 900.0, 1800.0], dt_s=1.0
    )
    engine = Engine(scenario, demand=od_demand(2, [(0, 1, 1500.0, 0.0, 3600.0)]))
    engine.run(900.0)
    before = engine.state.exited_veh
    engine.run(1800.0)
    outflow_vph = (engine.state.exited_veh - before) / 900.0 * 3600.0
    assert outflow_vph == pytest.approx(900.0, rel=1e-3)


def test_signalised_approach_passes_saturation_flow_times_green_over_cycle():
    # cycle 60 s, green 27 s for the chain: 1,800 x 27 / 60 = 810 veh/h under saturation
    scenario = chain_scenario(
        [300.0, 300.0], signal_at=1, cycle_s=60.0, greens_s=(27.0, 27.0), intergreen_s=3.0, dt_s=1.0
    )
    engine = Engine(scenario, demand=od_demand(2, [(0, 1, 1500.0, 0.0, 7200.0)]))
    engine.run(1200.0)
    before = engine.state.exited_veh
    engine.run(1200.0 + 20 * 60.0)  # twenty whole cycles
    outflow_vph = (engine.state.exited_veh - before) / 1200.0 * 3600.0
    assert outflow_vph == pytest.approx(1800.0 * 27.0 / 60.0, rel=1e-3)


def test_queue_grows_at_arrival_minus_service_and_back_moves_at_shock_speed():
    # arrivals 1,200 veh/h meet a 600 veh/h bottleneck 2 km downstream.
    # upstream state: k_A = 1200 / 36 = 33.33 veh/km; queue state: k_B = 150 - 600 / 18 = 116.67
    # shock speed = (600 - 1200) / (116.67 - 33.33) = -7.2 km/h = -2 m/s
    scenario = chain_scenario([2000.0, 200.0], capacity_vphpl=[1800.0, 600.0], dt_s=1.0)
    engine = Engine(scenario, demand=od_demand(2, [(0, 1, 1200.0, 0.0, 3600.0)]))
    engine.run(500.0)
    queue_0 = engine.view().links["queue_m"][0]
    stored_0 = engine.view().kpis["vehicles_in_network"]
    engine.run(800.0)
    queue_1 = engine.view().links["queue_m"][0]
    stored_1 = engine.view().kpis["vehicles_in_network"]
    assert (queue_1 - queue_0) / 300.0 == pytest.approx(2.0, rel=0.05)
    assert (stored_1 - stored_0) / 300.0 * 3600.0 == pytest.approx(1200.0 - 600.0, rel=1e-3)


def test_vehicles_conserved_exactly_through_signals_and_queues():
    # the signal ends the 700 veh/h link: it discharges 700 x 27 / 60 = 315 veh/h, so the
    # 700 vehicles need about 8,000 s; by 10,800 s all have arrived
    scenario = chain_scenario(
        [300.0, 150.0, 400.0], capacity_vphpl=[1800.0, 700.0, 1800.0], signal_at=2, dt_s=1.0
    )
    engine = Engine(scenario, demand=od_demand(2, [(0, 1, 1400.0, 0.0, 1800.0)]))
    for until in np.arange(600.0, 10800.0 + 1, 600.0):
        engine.run(until)
        present = engine.state.vehicles.sum()
        assert engine.state.generated_veh == pytest.approx(
            engine.state.exited_veh + present, rel=1e-12
        )
    assert engine.state.vehicles.min() >= 0.0
    assert engine.state.exited_veh == pytest.approx(1400.0 / 2.0, rel=1e-9)
