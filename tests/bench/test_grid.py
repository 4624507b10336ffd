"""The benchmark grid and trips (bench/grid.py): shape, routes, determinism."""

import numpy as np
import pytest

from bench.grid import AXIS_EW, AXIS_NS, SignalPlan, make_grid, make_trips


@pytest.fixture(scope="module")
def grid():
    return make_grid()


@pytest.fixture(scope="module")
def trips(grid):
    return make_trips(grid, 600, seed=7)


def test_grid_has_100_nodes_360_links_64_signals(grid):
    assert (grid.n_nodes, grid.n_links) == (100, 360)
    assert int(grid.node_signalised.sum()) == 64
    assert (
        np.count_nonzero(grid.link_axis == AXIS_EW)
        == np.count_nonzero(grid.link_axis == AXIS_NS)
        == 180
    )
    assert np.all(grid.link_length_m == 200.0)
    assert grid.signal.cycle_s == 60.0


def test_links_join_lattice_neighbours_both_ways(grid):
    dr = grid.node_row[grid.link_to] - grid.node_row[grid.link_from]
    dc = grid.node_col[grid.link_to] - grid.node_col[grid.link_from]
    assert np.all(np.abs(dr) + np.abs(dc) == 1)
    assert np.all((dr != 0) == (grid.link_axis == AXIS_NS))
    pairs = set(zip(grid.link_from.tolist(), grid.link_to.tolist(), strict=True))
    assert len(pairs) == 360
    assert all((b, a) in pairs for a, b in pairs)


def test_link_index_finds_links_and_rejects_non_neighbours(grid):
    assert np.array_equal(grid.link_index(grid.link_from, grid.link_to), np.arange(360))
    with pytest.raises(ValueError, match="pairs of adjacent nodes"):
        grid.link_index([0], [2])


def test_names_are_stable(grid):
    assert grid.node_name(37) == "r3c7"
    assert grid.link_name(int(grid.link_index([37], [38])[0])) == "r3c7_r3c8"


def test_trips_are_deterministic_for_a_seed(grid, trips):
    again = make_trips(grid, 600, seed=7)
    other = make_trips(grid, 600, seed=8)
    for name in ("origin", "destination", "depart_s", "free_flow_time_s"):
        assert np.array_equal(getattr(trips, name), getattr(again, name))
    assert all(np.array_equal(a, b) for a, b in zip(trips.routes, again.routes, strict=True))
    assert not np.array_equal(trips.origin, other.origin)


def test_trips_depart_sorted_within_the_hour_between_distinct_nodes(trips):
    assert len(trips) == 600
    assert np.all(np.diff(trips.depart_s) >= 0)
    assert trips.depart_s.min() >= 0 and trips.depart_s.max() < 3600
    assert np.all(trips.origin != trips.destination)


def test_routes_are_connected_shortest_paths(grid, trips):
    for o, d, route, ff in zip(
        trips.origin,
        trips.destination,
        trips.routes,
        trips.free_flow_time_s,
        strict=True,
    ):
        assert grid.link_from[route[0]] == o and grid.link_to[route[-1]] == d
        assert np.array_equal(grid.link_to[route[:-1]], grid.link_from[route[1:]])
        manhattan = abs(grid.node_row[o] - grid.node_row[d]) + abs(
            grid.node_col[o] - grid.node_col[d]
        )
        assert len(route) == manhattan
        assert ff == pytest.approx(manhattan * 200.0 / (50 / 3.6))


def test_routes_turn_at_most_once(grid, trips):
    turns = [np.count_nonzero(np.diff(grid.link_axis[route])) for route in trips.routes]
    assert max(turns) <= 1


def test_signals_at_junctions_adds_the_3_leg_nodes():
    assert int(make_grid(signals_at="junctions").node_signalised.sum()) == 96


def test_od_counts_count_every_trip(trips):
    counts = trips.od_counts(100, bin_s=600.0)
    assert counts.shape == (6, 100, 100) and counts.sum() == 600
    assert counts[0, trips.origin[0], trips.destination[0]] >= 1


def test_same_network_as_twin_grid_scenario():
    from twin.io import synthetic

    scenario = synthetic.grid_scenario(10, 10)
    grid = make_grid(signals_at="junctions")
    assert np.array_equal(scenario.links["from_node"], grid.link_from)
    assert np.array_equal(scenario.links["to_node"], grid.link_to)
    assert np.allclose(scenario.nodes[["x_m", "y_m"]], grid.node_xy_m)
    signal_nodes = np.sort(scenario.signals["node_id"].to_numpy())
    assert np.array_equal(signal_nodes, np.flatnonzero(grid.node_signalised))
    moves = scenario.movements[scenario.movements["phase"] >= 0]
    assert np.array_equal(moves["phase"], grid.link_axis[moves["from_link"]])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="'rows' and 'cols' should be >= 2"):
        make_grid(1, 10)
    with pytest.raises(ValueError, match="'n_trips' should be >= 1"):
        make_trips(make_grid(), 0)
    with pytest.raises(ValueError, match="'green_s' should be two positive greens"):
        SignalPlan(green_s=(27.0,))
    with pytest.raises(ValueError, match="'signals_at' should be one of"):
        make_grid(signals_at="all")
