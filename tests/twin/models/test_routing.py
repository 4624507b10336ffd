"""Next-hop splits of reactive assignment, against hand computation on a diamond.

Nodes 4 -> 0, then two ways to node 3: 0 -> 1 -> 3 (links 0, 1) and 0 -> 2 -> 3 (links 2, 3).
Link 4 (4 -> 0) is the approach whose split is examined; the destination is node 3, which
traffic can also drive through (link 5, 3 -> 5).
"""

import numpy as np
import pytest

from twin.io.synthetic import network_scenario
from twin.models import routing
from twin.models.network import compile_network

NODES = [(0, 0), (100, 100), (100, -100), (200, 0), (-100, 0), (300, 0)]
LINKS = [(0, 1, 140.0), (1, 3, 140.0), (0, 2, 140.0), (2, 3, 140.0), (4, 0, 100.0), (3, 5, 100.0)]
VIA_1, VIA_2 = 0, 2  # first link of each way


@pytest.fixture(scope="module")
def diamond():
    scenario = network_scenario(NODES, LINKS, zone_nodes=(4, 3))
    net = compile_network(scenario.links, scenario.movements, scenario.zones, dt_s=1.0)
    dest = np.array([3])
    exit_mask = routing.destination_exit_mask(net, dest)
    out_of_4 = {int(net.mv_to_link[m]): m for m in np.flatnonzero(net.mv_from_link == 4)}
    return net, dest, exit_mask, out_of_4


def link_times(net, via_1_s: float, rest_s: float = 15.0) -> np.ndarray:
    """Seconds per link: link 1 (1 -> 3) takes ``via_1_s``; the others ``rest_s`` (link 0: 10 s)."""
    times = np.full(net.n_links, rest_s)
    times[0], times[1] = 10.0, via_1_s
    return times


def split_of_4(
    diamond, via_1_s: float, old: dict[int, float] | None = None, smoothing: float = 1.0
):
    net, dest, exit_mask, out_of_4 = diamond
    times = link_times(net, via_1_s)
    cost = routing.ReverseGraph(net, dest).cost(times)
    old_split = np.zeros((len(net.mv_from_link), 1))
    for link, share in (old or {}).items():
        old_split[out_of_4[link]] = share
    new = routing.next_hop_split(net, times, cost, old_split, exit_mask, smoothing=smoothing)
    return {link: float(new[m, 0]) for link, m in out_of_4.items()}, cost


def test_cost_is_the_sum_of_link_times_on_the_fastest_way(diamond):
    _, cost = split_of_4(diamond, via_1_s=25.0)
    assert cost[0, 4] == pytest.approx(min(10 + 25, 15 + 15))  # from the end of link 4
    assert cost[0, 0] == pytest.approx(25.0)  # from node 1: only link 1 remains


def test_tie_shares_equally_and_fastest_takes_all(diamond):
    tie, _ = split_of_4(diamond, via_1_s=20.0)  # 10 + 20 = 15 + 15
    assert tie == {VIA_1: pytest.approx(0.5), VIA_2: pytest.approx(0.5)}
    slower, _ = split_of_4(diamond, via_1_s=25.0)
    assert slower == {VIA_1: 0.0, VIA_2: 1.0}


def test_smoothing_keeps_part_of_a_downhill_old_share(diamond):
    # old split all via node 1; now via node 2 is faster (30 s against 35 s). Going to node 1
    # is still downhill (25 s left there < 30 s from here), so half the old share stays.
    new, _ = split_of_4(diamond, via_1_s=25.0, old={VIA_1: 1.0}, smoothing=0.5)
    assert new == {VIA_1: pytest.approx(0.5), VIA_2: pytest.approx(0.5)}


def test_an_uphill_old_share_is_dropped(diamond):
    # link 1 now takes 100 s: from node 1 the destination is 100 s away, more than the 30 s from
    # here, so keeping vehicles on that way would send them uphill: all of it moves over.
    new, _ = split_of_4(diamond, via_1_s=100.0, old={VIA_1: 1.0}, smoothing=0.5)
    assert new == {VIA_1: 0.0, VIA_2: pytest.approx(1.0)}


def test_vehicles_leaving_at_the_end_of_a_link_get_no_split(diamond):
    net, dest, exit_mask, _ = diamond
    times = link_times(net, 20.0)
    cost = routing.ReverseGraph(net, dest).cost(times)
    new = routing.next_hop_split(
        net, times, cost, np.zeros((len(net.mv_from_link), 1)), exit_mask, smoothing=1.0
    )
    into_3 = np.isin(net.mv_from_link, [1, 3])
    assert into_3.sum() == 2 and not new[into_3].any()  # 1 -> 5 and 3 -> 5: they have arrived
    groups = np.unique(net.mv_from_link[~into_3])
    for link in groups:  # every other group sums to one
        assert new[net.mv_from_link == link, 0].sum() == pytest.approx(1.0)


# ---------------------------------------------------------------- the compiled Dijkstra
@pytest.mark.parametrize("seed", range(6))
def test_compiled_dijkstra_equals_scipy_to_the_bit(seed):
    from twin.io.synthetic import grid_scenario

    scenario = grid_scenario(6, 7, block_m=200.0, dt_s=4.0, zones_at="boundary", n_zones=8)
    net = compile_network(scenario.links, scenario.movements, scenario.zones, dt_s=4.0)
    dest = np.unique(net.zone_node)
    graph = routing.ReverseGraph(net, dest)
    rng = np.random.default_rng(seed)
    times = rng.choice([0.0, 1.0, 7.5, 1e-3, 1 / 3], net.n_links) * rng.uniform(1, 100, net.n_links)
    times[rng.integers(0, net.n_links, 3)] = np.inf  # closed links
    times[net.link_to_node == dest[0]] = np.inf  # every way into the first destination closed
    ours, scipys = graph.cost(times), graph.cost_scipy(times)
    assert np.isfinite(ours).any() and np.isinf(ours).any()
    assert ours.tobytes() == scipys.tobytes()
