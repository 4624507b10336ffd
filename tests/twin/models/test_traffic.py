"""The compiled CTM step against the plain formulation of the module docstring, to the bit.

The reference below is the step written the obvious way, in pure Python (one statement per
flow: copy the content, then for each interior cell in order take its flow from it and add it
to the next cell, then exits, then the node model movement by movement). The compiled kernel
fuses and skips work for speed; replay and forecasts rely on it giving the same numbers.
"""

import numpy as np
import pytest

from twin.engine import SMOOTHING_S, Engine
from twin.io.synthetic import grid_scenario, od_demand
from twin.models.traffic import Readings


def reference_step(kernel, vehicles, split, green, entering, readings, blend):
    """One step as the docstring states it; returns the new content and the tally."""
    net = kernel.net
    vehicles = vehicles.copy()
    n_cells, n_dest = vehicles.shape
    entered = 0.0
    for o, cell in enumerate(kernel.origin_cell):
        for d in range(n_dest):
            vehicles[cell, d] += entering[o, d]
            entered += entering[o, d]
    total = [0.0] * n_cells
    for c in range(n_cells):
        for d in range(n_dest):
            total[c] += vehicles[c, d]
    send = [
        min(total[c] * net.cell_send_factor[c], net.cell_capacity_veh[c]) for c in range(n_cells)
    ]
    with np.errstate(invalid="ignore"):  # waiting queues: an infinite factor times 0 space
        receive = [
            min(
                net.cell_capacity_veh[c],
                net.cell_receive_factor[c] * max(net.cell_jam_veh[c] - total[c], 0.0),
            )
            for c in range(n_cells)
        ]
    share = [send[c] / total[c] if total[c] > 0 else 0.0 for c in range(n_cells)]
    new = vehicles.copy()
    outflow = [0.0] * n_cells
    for i in net.interior_cells:
        passed = min(send[i], receive[i + 1])
        if passed > 0:
            for d in range(n_dest):
                q = vehicles[i, d] * (passed / total[i])
                new[i, d] -= q
                new[i + 1, d] += q
            outflow[i] = passed
    exited = 0.0
    for c, d in zip(kernel.exit_cell, kernel.exit_dest, strict=True):
        q = vehicles[c, d] * share[c]
        if q > 0:
            new[c, d] -= q
            exited += q
            outflow[c] += q
    demand = [0.0] * len(net.link_first_cell)
    active = [bool(green[m]) and share[kernel.mv_last_cell[m]] > 0 for m in range(len(green))]
    for m in np.flatnonzero(active):
        c = kernel.mv_last_cell[m]
        acc = 0.0
        for d in range(n_dest):
            acc += vehicles[c, d] * split[m, d]
        demand[net.mv_to_link[m]] += acc * share[c]
    movement = [0.0] * len(green)
    for m in np.flatnonzero(active):
        to = net.mv_to_link[m]
        first = net.link_first_cell[to]
        ratio = receive[first] / demand[to] if demand[to] > receive[first] else 1.0
        c, target = kernel.mv_last_cell[m], kernel.mv_first_cell[m]
        for d in range(n_dest):
            q = vehicles[c, d] * split[m, d] * (share[c] * ratio)
            new[c, d] = max(new[c, d] - q, 0.0)
            new[target, d] += q
            movement[m] += q
        outflow[c] += movement[m]
    smooth = Readings(
        readings.vehicles.copy(), readings.outflow_vps.copy(), readings.movement_vps.copy()
    )
    delay = vehicle_s = 0.0
    for c in range(n_cells):
        smooth.vehicles[c] += blend * (total[c] - smooth.vehicles[c])
        smooth.outflow_vps[c] += blend * (outflow[c] / net.dt_s - smooth.outflow_vps[c])
        vehicle_s += total[c] * net.dt_s
        if c < net.n_real_cells:
            delay += total[c] * net.dt_s - outflow[c] * kernel.cell_free_time_s[c]
    for m in range(len(green)):
        smooth.movement_vps[m] += blend * (movement[m] / net.dt_s - smooth.movement_vps[m])
    return new, (entered, exited, delay, vehicle_s - exited * net.dt_s), smooth


@pytest.fixture(scope="module")
def busy_grid():
    """A 4x4 signalised grid with 8 zones, loaded past capacity so queues spill back."""
    scenario = grid_scenario(4, 4, block_m=200.0, dt_s=4.0, zones_at="boundary", n_zones=8)
    n = len(scenario.zones)
    trips = [(o, d, 900.0, 0.0, 3600.0) for o in range(n) for d in range(n) if o != d]
    engine = Engine(scenario, demand=od_demand(n, trips), start_s=0.0)
    engine.run(900.0)
    return engine


def test_the_compiled_step_equals_the_plain_formulation_to_the_bit(busy_grid):
    engine = busy_grid.fork()
    state, kernel = engine.state, engine.kernel
    assert (state.vehicles.sum(axis=1) > 0).mean() > 0.5  # a loaded network, not a trivial one
    blend = engine.dt_s / SMOOTHING_S
    for _ in range(40):
        t = state.time_s
        green = engine.green_movements(t)
        entering = engine._entering_veh(t, t + engine.dt_s)
        readings = Readings(
            state.smooth_vehicles, state.smooth_outflow_vps, state.smooth_movement_vps
        )
        expected, tally, smooth = reference_step(
            kernel, state.vehicles, state.split, green, entering, readings, blend
        )
        new, got = kernel.step(state.vehicles.copy(), state.split, green, entering, readings, blend)
        assert new.tobytes() == expected.tobytes()
        assert (got.entered_veh, got.exited_veh, got.delay_veh_s, got.vehicle_s) == tally
        for name in ("vehicles", "outflow_vps", "movement_vps"):
            assert getattr(readings, name).tobytes() == getattr(smooth, name).tobytes()
        state.vehicles, state.time_s = new, t + engine.dt_s
