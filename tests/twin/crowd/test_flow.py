"""Crowd model against pedestrian-flow theory: Weidmann speeds, Fruin levels, conservation,
free-flow travel, bottleneck discharge, and crush-risk alert timing."""

import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.crowd import flow as crowd
from twin.crowd.grid import CrowdGrid

V0, GAMMA, RHO_MAX = 1.34, 1.913, 5.4


def corridor(length_cells, *, cell_m=10.0, sink=True):
    """One row of walkable cells; group 0 walks east to the last cell (a sink there)."""
    grid = CrowdGrid(
        origin_x_m=0.0,
        origin_y_m=0.0,
        cell_m=cell_m,
        walkable=np.ones((1, length_cells), dtype=bool),
    )
    end = [[0, length_cells - 1]]
    kwargs = {"sink_groups": [0], "sink_cells": end} if sink else {}
    return crowd.build_network(grid, targets=[np.array(end)], **kwargs)


# --------------------------------------------------------------------------- speed, LOS


@pytest.mark.parametrize("rho", [0.5, 1.0, 2.0, 4.0])
def test_weidmann_speed_by_hand(rho):
    expected = 1.34 * (1 - math.exp(-1.913 * (1 / rho - 1 / 5.4)))
    assert crowd.weidmann_speed_mps(rho) == pytest.approx(expected, rel=1e-12)


def test_weidmann_known_values_and_limits():
    # rho = 1: 1.34 (1 - exp(-1.913 (1 - 1/5.4))) = 1.34 (1 - exp(-1.558741))
    #        = 1.34 (1 - 0.210388) = 1.0581 m/s
    assert crowd.weidmann_speed_mps(1.0) == pytest.approx(1.0581, abs=5e-5)
    assert crowd.weidmann_speed_mps(1e-6) == pytest.approx(V0, rel=1e-12)
    assert crowd.weidmann_speed_mps(0.0) == V0
    assert crowd.weidmann_speed_mps(RHO_MAX) == 0.0
    assert crowd.weidmann_speed_mps(7.0) == 0.0
    speeds = crowd.weidmann_speed_mps(np.linspace(0, 6, 61))
    assert np.all(np.diff(speeds) <= 0)


def test_capacity_point_of_weidmann():
    params = crowd.WalkParams()
    rho_c, q_max = params.critical_density_ppm2, params.max_flow_ppms

    def flow(rho):
        return rho * crowd.weidmann_speed_mps(rho)

    # the maximum of rho v(rho): ~1.22 p/(m s) near 1.75 p/m2 (Weidmann 1993 reports 1.225)
    assert q_max == pytest.approx(1.225, abs=0.005)
    assert rho_c == pytest.approx(1.75, abs=0.01)
    assert flow(rho_c - 0.01) < q_max and flow(rho_c + 0.01) < q_max


def test_fruin_walkway_thresholds():
    # Fruin (1971) walkway: 35, 25, 15, 10, 5 ft2 per pedestrian (1 ft2 = 0.09290304 m2)
    expected = [1 / (s * 0.09290304) for s in (35, 25, 15, 10, 5)]
    np.testing.assert_allclose(crowd.FRUIN_WALKWAY_DENSITY_PPM2, expected)
    # the brief's rounded figures, to their rounding (Fruin's E/F is 2.15, not 2.17 p/m2)
    np.testing.assert_allclose(expected, [0.31, 0.43, 0.72, 1.08, 2.15], atol=0.005)
    densities = [0.0, 0.30, 0.32, 0.5, 0.9, 1.5, 2.2, 5.0]
    assert list(crowd.fruin_letters(densities)) == ["A", "A", "B", "C", "D", "E", "F", "F"]
    # a boundary value belongs to the better level; just above it, the worse one
    boundary = np.array(expected)
    assert list(crowd.fruin_los(boundary)) == [0, 1, 2, 3, 4]
    assert list(crowd.fruin_los(boundary * (1 + 1e-9))) == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------------------- motion


def test_low_density_platoon_travels_at_free_speed():
    """A platoon at 0.1 p/m2 moves its centre of mass at v(0.1) = v0 (1 - 6e-9).

    The first-order scheme smears the platoon (numerical diffusion) but moves its centroid
    exactly ``v dt`` per step while no one reaches the end, so the tolerance only covers
    rounding (1e-6 relative).
    """
    net = corridor(100, sink=False)
    state = crowd.new_state(net)
    state.persons[0, 5:10] = 10.0  # 10 persons per 100 m2 cell
    x_m = (np.arange(100) + 0.5) * 10.0

    def centroid():
        return float((state.persons[0] * x_m).sum() / state.persons.sum())

    start = centroid()
    for _ in range(300):
        crowd.step(net, state, dt_s=1.0)
    assert (centroid() - start) / 300.0 == pytest.approx(V0, rel=1e-6)
    assert state.persons[0, -10:].sum() < 1e-6  # nobody near the end yet: no wall effect


def test_platoon_reaches_the_sink_after_distance_over_speed():
    """Half the platoon is served ~ when its centroid has walked to the sink.

    Tolerance 1 %: numerical diffusion spreads arrivals (sigma ~ 60 m over 900 m here) about
    a nearly symmetric centre; the median sits within a few seconds of distance / v0.
    """
    net = corridor(100)
    state = crowd.new_state(net)
    state.persons[0, 5:10] = 10.0
    distance_m = 995.0 - 75.0  # centre of the last cell minus the platoon's centroid
    removed, t_s, half_s = 0.0, 0, None
    while half_s is None:
        removed += crowd.step(net, state, dt_s=1.0, sink_capacity_pps=[100.0]).removed_persons.sum()
        t_s += 1
        if removed >= 25.0:
            half_s = t_s
    assert half_s == pytest.approx(distance_m / V0, rel=0.01)


def test_jam_discharges_at_capacity():
    """A jam at 4 p/m2 released into an empty corridor passes q_max x width, as the Godunov
    (cell transmission) solution of the Riemann problem says: 1.2249 p/(m s) x 10 m."""
    net = corridor(200, sink=False)
    state = crowd.new_state(net)
    state.persons[0, :50] = 4.0 * 100.0
    for _ in range(200):
        crowd.step(net, state, dt_s=1.0)
    passed_pps = state.persons[0, 50:].sum() / 200.0
    assert passed_pps == pytest.approx(crowd.DEFAULT_WALK.max_flow_ppms * 10.0, rel=1e-6)


def test_density_never_exceeds_jam_and_queue_forms_before_a_slow_sink():
    net = corridor(30)
    state = crowd.new_state(net)
    state.persons[0, :20] = 300.0  # 3 p/m2
    served = []
    for _ in range(600):
        served.append(crowd.step(net, state, dt_s=1.0, sink_capacity_pps=[0.5]).removed_persons[0])
        assert crowd.density_ppm2(net, state).max() <= RHO_MAX + 1e-9
    # once the crowd has arrived the sink works at its capacity, never above it
    np.testing.assert_allclose(served[200:], 0.5, rtol=1e-12)
    assert max(served) <= 0.5 + 1e-12
    assert crowd.density_ppm2(net, state)[0, -1] > 5.0  # the queue packs in front of the sink


def make_random_network(seed):
    rng = np.random.default_rng(seed)
    walkable = rng.random((24, 30)) > 0.2
    walkable[:, 0] = walkable[0, :] = True  # keep the grid connected along two edges
    walkable[:, -1] = walkable[-1, :] = True
    grid = CrowdGrid(origin_x_m=0.0, origin_y_m=0.0, cell_m=5.0, walkable=walkable)
    targets = [np.array([[0, 0]]), np.array([[23, 29]]), np.array([[0, 29]])]
    net = crowd.build_network(
        grid,
        targets=targets,
        source_groups=[0, 1, 2, 0],
        source_cells=[[23, 29], [0, 0], [23, 0], [23, 0]],
        sink_groups=[0, 1, 2],
        sink_cells=[[0, 0], [23, 29], [0, 29]],
    )
    return net, rng


@given(seed=st.integers(0, 10_000), dt_s=st.sampled_from([0.5, 1.0, 3.0, 10.0]))
@settings(max_examples=25, deadline=None)
def test_persons_are_conserved_with_sources_and_sinks(seed, dt_s):
    net, rng = make_random_network(seed)
    state = crowd.new_state(net)
    state.persons[:] = rng.random(state.persons.shape) * 40.0  # < 4.8 p/m2
    initial = state.total_persons()
    added = removed = 0.0
    for _ in range(150):
        inflow = rng.random(4) * 40.0
        result = crowd.step(
            net, state, dt_s=dt_s, source_persons=inflow, sink_capacity_pps=rng.random(3) * 3.0
        )
        added += inflow.sum()
        removed += result.removed_persons.sum()
        assert state.persons.min() >= 0.0
        assert crowd.density_ppm2(net, state).max() <= RHO_MAX * (1 + 1e-12)
    # in + initial = out + remaining (on the grid and in the source backlogs)
    assert initial + added == pytest.approx(removed + state.total_persons(), rel=1e-12)
    np.testing.assert_allclose(state.offered_persons.sum(), added, rtol=1e-12)
    np.testing.assert_allclose(state.removed_persons.sum(), removed, rtol=1e-12)
    assert crowd.to_grid(net, state.persons)[:, ~net.grid.walkable].sum() == 0.0


def test_crowd_arrays_hold_walkable_cells_only():
    walkable = np.array([[True, False, True], [True, True, False]])
    grid = CrowdGrid(origin_x_m=0.0, origin_y_m=0.0, cell_m=2.0, walkable=walkable)
    net = crowd.build_network(grid, targets=[np.array([[0, 0]])])
    assert net.n_cells == 4
    cells = np.array([1.0, 2.0, 3.0, 4.0])  # row-major order of the walkable cells
    np.testing.assert_array_equal(crowd.to_grid(net, cells), [[1, 0, 2], [3, 4, 0]])
    np.testing.assert_array_equal(crowd.to_cells(net, crowd.to_grid(net, cells)), cells)
    state = crowd.new_state(net)
    state.persons[0] = cells * 4.0  # persons; cells are 4 m2
    np.testing.assert_array_equal(crowd.density_ppm2(net, state), [[1, 0, 2], [3, 4, 0]])


def test_persons_walk_around_a_wall():
    # a U-shaped path: east along row 0, north at the end, west along row 2; row 1 is a wall
    walkable = np.ones((3, 8), dtype=bool)
    walkable[1, :7] = False
    grid = CrowdGrid(origin_x_m=0.0, origin_y_m=0.0, cell_m=10.0, walkable=walkable)
    net = crowd.build_network(
        grid, targets=[np.array([[2, 0]])], sink_groups=[0], sink_cells=[[2, 0]]
    )
    state = crowd.new_state(net)
    start = crowd.to_grid(net, state.persons[0])
    start[0, 0] = 20.0
    state.persons[0] = crowd.to_cells(net, start)
    assert net.distance_m[0, 0, 0] == pytest.approx(160.0)  # 7 cells east, 2 north, 7 west
    served_s = 0
    while state.removed_persons[0] < 10.0:  # half of them, as in the corridor test
        crowd.step(net, state, dt_s=1.0, sink_capacity_pps=[10.0])
        served_s += 1
    # 117 s against 119.4 s: persons are served as they enter the sink cell, up to half a
    # cell (5 m, 3.7 s) before its centre, where the distance is measured
    assert served_s == pytest.approx(160.0 / V0, rel=0.03)
    assert crowd.to_grid(net, state.persons)[:, ~walkable].sum() == 0.0


def test_source_backlog_when_the_cell_is_full():
    net = crowd.build_network(
        corridor(5).grid, targets=[np.array([[0, 4]])], source_groups=[0], source_cells=[[0, 4]]
    )
    state = crowd.new_state(net)
    state.persons[0, 4] = RHO_MAX * 100.0  # the target cell is jammed and nobody leaves
    result = crowd.step(net, state, dt_s=1.0, source_persons=[50.0])
    assert result.entered_persons[0] == 0.0
    assert state.backlog_persons[0] == 50.0


def test_source_admits_at_most_one_cell_width_of_capacity_flow():
    net = crowd.build_network(
        corridor(5).grid, targets=[np.array([[0, 4]])], source_groups=[0], source_cells=[[0, 0]]
    )
    state = crowd.new_state(net)
    result = crowd.step(net, state, dt_s=1.0, source_persons=[1000.0])
    assert result.entered_persons[0] == pytest.approx(crowd.DEFAULT_WALK.max_flow_ppms * 10.0)


def test_copy_restores_and_runs_deterministically():
    net, rng = make_random_network(3)
    state = crowd.new_state(net)
    state.persons[:] = rng.random(state.persons.shape) * 50.0
    snapshot = state.copy()
    inflow, capacity = np.full(4, 5.0), np.full(3, 1.0)
    for _ in range(20):
        crowd.step(net, state, dt_s=1.0, source_persons=inflow, sink_capacity_pps=capacity)
    again = snapshot.copy()
    for _ in range(20):
        crowd.step(net, again, dt_s=1.0, source_persons=inflow, sink_capacity_pps=capacity)
    np.testing.assert_array_equal(state.persons, again.persons)
    assert snapshot.time_s == 0.0 and again.time_s == 20.0


def test_substeps_keep_the_step_stable():
    net = corridor(10)
    # v0 dt / cell = 1.34 x 20 / 10 = 2.68 cells a step; at most 0.9 a sub-step -> 3
    assert crowd.substeps_for(net, 20.0) == 3
    assert crowd.substeps_for(net, 1.0) == 1


def test_step_checks_inputs():
    net = corridor(5)
    state = crowd.new_state(net)
    with pytest.raises(ValueError, match="'dt_s' must be a finite number > 0"):
        crowd.step(net, state, dt_s=0.0)
    with pytest.raises(ValueError, match=r"'sink_capacity_pps' must have shape \(1,\), got \(2,\)"):
        crowd.step(net, state, dt_s=1.0, sink_capacity_pps=[1.0, 2.0])
    with pytest.raises(ValueError, match="'source_persons' must have shape"):
        crowd.step(net, state, dt_s=1.0, source_persons=[1.0])
    with pytest.raises(ValueError, match="'sink_cells' must be walkable cells"):
        grid = CrowdGrid(0.0, 0.0, 10.0, np.array([[True, False]]))
        crowd.build_network(
            grid, targets=[np.array([[0, 0]])], sink_groups=[0], sink_cells=[[0, 1]]
        )


def reference_step(net, state, *, dt_s, source_persons, sink_capacity_pps):
    """The step in whole-array numpy and scipy (the form it had before it was compiled)."""
    params = crowd.DEFAULT_WALK
    area, cell_m = net.grid.cell_area_m2, net.grid.cell_m
    rho_c, q_max = params.critical_density_ppm2, params.max_flow_ppms
    rho_max = params.jam_density_ppm2
    transfer = net.transfer

    def supply(total, speed, dt):
        rho = total / area
        flow = np.where(rho <= rho_c, q_max, rho * speed)
        return np.maximum(np.minimum(rho_max * area - total, flow * cell_m * dt), 0.0)

    n_sub = crowd.substeps_for(net, dt_s, params=params)
    dt = dt_s / n_sub
    offered = np.asarray(source_persons, dtype=float)
    state.backlog_persons += offered
    np.add.at(state.offered_persons, net.source_group, offered)
    persons, cells = state.persons, net.source_cell
    entered, removed = np.zeros(len(cells)), np.zeros(len(net.sink_group))
    for _ in range(n_sub):
        total = persons[:, cells].sum(axis=0)  # admission
        room = supply(total, crowd.weidmann_speed_mps(total / area, params=params), dt)
        backlog = state.backlog_persons
        wanted = np.bincount(cells, weights=backlog, minlength=persons.shape[1])[cells]
        admitted = backlog * np.divide(room, wanted, out=np.ones_like(wanted), where=wanted > room)
        state.backlog_persons -= admitted
        np.add.at(persons, (net.source_group, cells), admitted)
        entered += admitted
        total = persons.sum(axis=0)  # move
        rho = total / area
        speed = crowd.weidmann_speed_mps(rho, params=params)
        sending = np.where(rho > rho_c, q_max / np.where(rho > rho_c, rho, 1.0), speed)
        walked = (persons * (sending * dt)).reshape(-1)
        incoming = (transfer.T @ walked).reshape(persons.shape)
        demand = incoming.sum(axis=0)
        room = supply(total, speed, dt)
        ratio = np.divide(room, demand, out=np.ones_like(demand), where=demand > room)
        outgoing = walked * (transfer @ np.tile(ratio, len(persons)))
        persons += incoming * ratio - outgoing.reshape(persons.shape)
        capacity = np.asarray(sink_capacity_pps) * dt
        taken = np.minimum(persons[net.sink_group, net.sink_cell], capacity)
        persons[net.sink_group, net.sink_cell] -= taken
        removed += taken
    np.add.at(state.removed_persons, net.sink_group, removed)
    return entered, removed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_step_matches_the_array_formulation(seed):
    """The compiled step against :func:`reference_step`, in free flow and jams, with backlogs.

    They agree to rounding: the kernels add up in the same order, but numba's ``expm1`` (the
    C library's) and numpy's own differ in the last bit for some arguments (1e-12 is loose).
    """
    net, rng = make_random_network(seed)
    state = crowd.new_state(net)
    # up to 10, 20, 30 persons per 25 m2 cell and group (3 groups): up to 1.2, 2.4, 3.6 p/m2
    state.persons[:] = rng.random(state.persons.shape) * 10.0 * (1 + seed)
    reference = state.copy()
    for k in range(60):
        dt_s = [0.5, 1.0, 10.0][k % 3]
        inflow, capacity = rng.random(4) * 80.0, rng.random(3) * 2.0
        result = crowd.step(
            net, state, dt_s=dt_s, source_persons=inflow, sink_capacity_pps=capacity
        )
        entered, removed = reference_step(
            net, reference, dt_s=dt_s, source_persons=inflow, sink_capacity_pps=capacity
        )
        scale = reference.persons.max()
        for got, want in (
            (state.persons, reference.persons),
            (state.backlog_persons, reference.backlog_persons),
            (result.entered_persons, entered),
            (result.removed_persons, removed),
        ):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale)
    rho_c = crowd.DEFAULT_WALK.critical_density_ppm2
    assert crowd.density_ppm2(net, state).max() > rho_c  # jams seen
    assert state.backlog_persons.max() > 0  # and sources held back


def test_transfer_must_stay_within_each_group():
    net = corridor(3, sink=False)  # 3 cells; two groups below, so rows and columns are g*3 + i
    crossing = sp.csr_matrix(([0.1], ([0], [4])), shape=(6, 6))  # group 0 cell 0 -> group 1 cell 1
    with pytest.raises(ValueError, match=r"'transfer' must move persons within their group"):
        crowd.CrowdNetwork(
            grid=net.grid,
            distance_m=np.concatenate([net.distance_m] * 2),
            cell_row=net.cell_row,
            cell_col=net.cell_col,
            source_group=net.source_group,
            source_cell=net.source_cell,
            sink_group=net.sink_group,
            sink_cell=net.sink_cell,
            transfer=crossing,
        )


def test_step_speed_200_by_200_with_4_groups():
    """Measured 2-4 ms of CPU a step here; the bound is loose to avoid flaky failures."""
    rng = np.random.default_rng(0)
    walkable = np.ones((200, 200), dtype=bool)
    walkable[50:60, 20:180] = False
    grid = CrowdGrid(origin_x_m=0.0, origin_y_m=0.0, cell_m=10.0, walkable=walkable)
    corners = [[5, 5], [190, 190], [5, 190], [190, 5]]
    net = crowd.build_network(
        grid, targets=[np.array([c]) for c in corners], sink_groups=[0, 1, 2, 3], sink_cells=corners
    )
    state = crowd.new_state(net)
    state.persons[:] = rng.random(state.persons.shape) * 50.0
    crowd.step(net, state, dt_s=1.0, sink_capacity_pps=np.full(4, 5.0))
    start = time.process_time()  # CPU time: not inflated by other processes on the machine
    for _ in range(20):
        crowd.step(net, state, dt_s=1.0, sink_capacity_pps=np.full(4, 5.0))
    assert (time.process_time() - start) / 20 < 0.05


# ------------------------------------------------------------------------------- alerts


def hot_grid():
    return CrowdGrid(
        origin_x_m=1000.0, origin_y_m=2000.0, cell_m=10.0, walkable=np.ones((6, 8), bool)
    )


def run_watch(grid, watch, density, seconds, dt_s=1.0):
    alerts = []
    for _ in range(round(seconds / dt_s)):
        alerts = crowd.update_watch(watch, grid, density, dt_s)
    return alerts


def test_crush_alert_after_30_s_not_29_s():
    grid = hot_grid()
    density = np.full(grid.shape, 1.0)
    density[2, 3] = 4.5
    watch = crowd.new_watch(grid)
    assert run_watch(grid, watch, density, 29) == []
    alerts = run_watch(grid, watch, density, 1)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.level == "warning"
    assert (alert.x_m, alert.y_m) == (1035.0, 2025.0)  # centre of cell (row 2, col 3)
    assert alert.peak_density_ppm2 == 4.5 and alert.duration_s == 30.0
    assert (alert.row, alert.col, alert.cells, alert.area_m2) == (2, 3, 1, 100.0)


def test_crush_alert_with_coarser_steps_counts_time_not_steps():
    grid = hot_grid()
    density = np.full(grid.shape, 4.2)
    watch = crowd.new_watch(grid)
    assert run_watch(grid, watch, density, 25, dt_s=5.0) == []
    assert len(run_watch(grid, watch, density, 5, dt_s=5.0)) == 1


def test_critical_alert_and_cluster():
    grid = hot_grid()
    density = np.zeros(grid.shape)
    density[1, 1] = density[1, 2] = 5.5  # one cluster of two critical cells
    density[4, 6] = 4.1  # a separate warning
    watch = crowd.new_watch(grid)
    alerts = sorted(run_watch(grid, watch, density, 30), key=lambda a: a.level)
    assert [a.level for a in alerts] == ["critical", "warning"]
    critical = alerts[0]
    assert critical.cells == 2 and critical.x_m == pytest.approx(1020.0)
    # the critical cells are also above the warning level: reported once, as critical
    assert sum(a.cells for a in alerts) == 3


def test_separate_hot_spots_give_separate_alerts():
    grid = hot_grid()
    density = np.zeros(grid.shape)
    density[0, 0] = density[5, 7] = density[3, 3] = density[2, 2] = 4.5  # (2,2)-(3,3) touch
    watch = crowd.new_watch(grid)
    alerts = run_watch(grid, watch, density, 30)
    assert sorted(a.cells for a in alerts) == [1, 1, 2]
    assert sorted((a.row, a.col) for a in alerts if a.cells == 1) == [(0, 0), (5, 7)]


def test_onset_needs_continuous_time_above_threshold():
    grid = hot_grid()
    high, dip = np.full(grid.shape, 4.4), np.full(grid.shape, 3.9)
    watch = crowd.new_watch(grid)
    run_watch(grid, watch, high, 20)
    run_watch(grid, watch, dip, 1)  # one sample below 4: the onset timer restarts
    assert run_watch(grid, watch, high, 29) == []
    assert len(run_watch(grid, watch, high, 1)) == 1


def test_raised_alert_has_hysteresis():
    grid = hot_grid()
    watch = crowd.new_watch(grid)
    run_watch(grid, watch, np.full(grid.shape, 4.4), 30)
    # a raised warning stays while density is within the 0.5 p/m2 release margin ...
    alerts = run_watch(grid, watch, np.full(grid.shape, 3.7), 10)
    assert len(alerts) == 1 and alerts[0].duration_s == 40.0
    # ... and clears below 3.5 p/m2
    assert run_watch(grid, watch, np.full(grid.shape, 3.4), 1) == []


def test_watch_copy_is_independent():
    grid = hot_grid()
    watch = crowd.new_watch(grid)
    saved = watch.copy()
    run_watch(grid, watch, np.full(grid.shape, 4.4), 30)
    assert not saved.active.any() and saved.above_s.max() == 0.0


def test_time_until_threshold():
    series = np.array([1.0, 2.0, 4.1, 3.0, 4.2, 4.3, 4.5, 4.0, 1.0])  # samples at 10, 20, ... s
    assert crowd.time_until_threshold_s(series, 4.0, dt_s=10.0) == 30.0
    # held for 30 s = 3 samples: the run starting at sample 4 (time 50 s)
    assert crowd.time_until_threshold_s(series, 4.0, dt_s=10.0, hold_s=30.0) == 50.0
    assert crowd.time_until_threshold_s(series, 4.0, dt_s=10.0, hold_s=50.0) == math.inf
    assert crowd.time_until_threshold_s(series, 5.0, dt_s=10.0) == math.inf
    # per cell: (T, 2) -> (2,)
    both = np.stack([series, series[::-1]], axis=1)
    np.testing.assert_array_equal(crowd.time_until_threshold_s(both, 4.0, dt_s=10.0), [30.0, 20.0])
    with pytest.raises(ValueError, match="'dt_s' must be a finite number > 0"):
        crowd.time_until_threshold_s(series, 4.0, dt_s=0.0)
