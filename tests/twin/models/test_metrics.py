"""Level of service, one way everywhere: HCM signalised-intersection control-delay thresholds,
F above v/c 1, Little's-law delay per vehicle, and a junction as the volume-weighted delay of
its approaches. Expected values are worked out by hand in the comments."""

import numpy as np
import pytest

from twin.engine import Engine
from twin.io.synthetic import grid_scenario, od_demand
from twin.models import metrics
from twin.models.metrics import (
    MIN_THROUGHPUT_VPS,
    combined_delay_s_per_veh,
    delay_per_vehicle_s,
    level_of_service,
)


def _letters(codes) -> str:
    return "".join("ABCDEF"[int(c)] for c in np.atleast_1d(codes))


def test_hcm_signalised_thresholds_are_inclusive_upper_bounds():
    # A <= 10 < B <= 20 < C <= 35 < D <= 55 < E <= 80 < F (s/veh)
    delay = [0, 10, 10.01, 20, 20.01, 35, 35.01, 55, 55.01, 80, 80.01, 600, np.inf]
    assert _letters(level_of_service(delay)) == "AABBCCDDEEFFF"


def test_volume_over_capacity_above_one_is_f_whatever_the_delay():
    delay = [0.0, 5.0, 30.0, 30.0]
    v_over_c = [1.01, 1.0, 0.5, 2.0]
    assert _letters(level_of_service(delay, v_over_c=v_over_c)) == "FACF"


def test_an_empty_approach_with_no_queue_and_no_delay_is_a_not_f():
    # the wall once showed LOS F with 0 m queue and 0 delay (speed-based LOS of a near-empty road)
    assert _letters(level_of_service(0.0, v_over_c=0.0)) == "A"
    assert _letters(level_of_service(delay_per_vehicle_s(0.0, 0.0))) == "A"
    assert _letters(level_of_service(np.nan)) == "A"  # no reading is no delay


def test_unsignalised_thresholds():
    # HCM two-way/all-way stop: A <= 10, B <= 15, C <= 25, D <= 35, E <= 50, F above
    delay = [10, 15, 25, 35, 50, 50.5]
    assert _letters(level_of_service(delay, signalised=False)) == "ABCDEF"
    assert _letters(level_of_service(30.0, signalised=[True, False])) == "CD"


def test_delay_per_vehicle_is_littles_law_with_a_floor_on_throughput():
    # 2 vehicles delayed (veh·s/s) while 0.1 veh/s pass: 20 s each
    assert delay_per_vehicle_s(2.0, 0.1) == pytest.approx(20.0)
    # one vehicle held with nothing passing: over the floor of 1 veh per 300 s, 300 s (F)
    assert delay_per_vehicle_s(1.0, 0.0) == pytest.approx(300.0)
    assert MIN_THROUGHPUT_VPS == pytest.approx(1 / 300)
    # a trace of delay on an almost empty road: 0.01 veh over the floor = 3 s (A, not F)
    assert _letters(level_of_service(delay_per_vehicle_s(0.01, 0.0001))) == "A"


def test_junction_delay_is_the_volume_weighted_delay_of_its_approaches():
    # approaches at 10 s (0.2 veh/s) and 40 s (0.1 veh/s): (10*0.2 + 40*0.1) / 0.3 = 20 s -> B
    assert combined_delay_s_per_veh([10.0, 40.0], [0.2, 0.1]) == pytest.approx(20.0)
    # an E approach (60 s, 0.05 veh/s) and an A one (5 s, 0.45 veh/s): (3 + 2.25) / 0.5 = 10.5 s
    assert combined_delay_s_per_veh([60.0, 5.0], [0.05, 0.45]) == pytest.approx(10.5)
    assert combined_delay_s_per_veh([], []) == 0.0


@pytest.fixture(scope="module")
def busy_grid():
    scenario = grid_scenario(3, 3, block_m=150.0, dt_s=2.0, zones_at="boundary")
    n = len(scenario.zones)
    trips = [(o, d, 240.0, 0.0, 3600.0) for o in range(n) for d in range(n) if o != d]
    engine = Engine(scenario, demand=od_demand(n, trips))
    engine.run(900.0)
    return engine


def test_green_share_is_each_approach_green_over_the_cycle(busy_grid):
    # every signalised approach of the grid has one phase of 27 s in a 60 s cycle: 0.45
    share = metrics.green_share(busy_grid.net, busy_grid.state.plans)
    signalised = metrics.signalised_links(busy_grid.net)
    assert signalised.any() and not signalised.all()  # corner nodes have no signal
    np.testing.assert_allclose(share[signalised], 27.0 / 60.0)
    np.testing.assert_allclose(share[~signalised], 1.0)


def test_junction_los_on_the_map_card_equals_its_approaches_combined(busy_grid):
    view = busy_grid.view()
    links, junctions = view.links, view.junctions
    into = busy_grid.net.link_to_node[: busy_grid.net.n_real_links]
    for node in busy_grid.state.plans.node_ids:
        mine = into == node
        # by hand: sum(d_i * max(q_i, floor)) / max(sum(q_i), floor)
        d = links["delay_s_per_veh"][mine]
        q = links["flow_vph"][mine] / 3600.0
        expected = (d * np.maximum(q, 1 / 300)).sum() / max(q.sum(), 1 / 300)
        assert junctions["delay_s_per_veh"][node] == pytest.approx(expected, rel=1e-9)
        assert junctions["los"][node] == level_of_service(expected)
    # the roads' LOS on the map is the same function of their own delay and v/c
    np.testing.assert_array_equal(
        links["los"],
        level_of_service(
            links["delay_s_per_veh"],
            v_over_c=links["v_over_c"],
            signalised=metrics.signalised_links(busy_grid.net),
        ),
    )
