"""Spectators on foot on the bundled scenario: conservation, queues in space, lane actions."""

import copy

import numpy as np
import pytest

from twin import checkpoints, pedestrians
from twin.engine import Engine
from twin.errors import ActionError
from twin.pedestrians import SetLanes
from twin.scenario import load


@pytest.fixture(scope="module")
def evening():
    engine = Engine(load("data/seoul_olympic_park"), start_s=17 * 3600)
    engine.run(19 * 3600)
    return engine


def test_persons_are_conserved(evening):
    people = evening.state.extras[pedestrians.KEY]
    offered = evening.demand.persons_between(17 * 3600, evening.time_s)[:, 0, :].sum()
    on_grid = people.crowd.persons.sum() + people.crowd.backlog_persons.sum()
    queued = people.checkpoints.queue_persons.sum()
    assert offered > 10_000  # the evening's arrivals are under way
    assert offered == pytest.approx(on_grid + queued + people.inside.sum() + people.gone, rel=1e-9)


def test_queue_occupies_space_in_the_density_map(evening):
    layout = evening.pedestrians
    people = copy.deepcopy(evening.state.extras[pedestrians.KEY])
    people.checkpoints.queue_persons[:] = 0.0
    empty = pedestrians.density_cells(layout, people)
    people.checkpoints.queue_persons[5] = 3000.0  # KSPO Dome
    queued = pedestrians.density_cells(layout, people)
    area = layout.network.grid.cell_area_m2
    assert (queued - empty).sum() * area == pytest.approx(3000.0)
    pen = layout.queue_cells[5]
    assert np.all(np.isin(np.flatnonzero(queued - empty > 1e-12), pen))  # only in the pen
    # 3,000 persons at 2 p/m² on 400 m² cells fill 3.75 cells: the nearest three are at 2 p/m²
    np.testing.assert_allclose((queued - empty)[pen[:3]], pedestrians.QUEUE_DENSITY_PPM2)


def test_throughput_never_exceeds_open_lane_capacity(evening):
    for row in pedestrians.checkpoint_table(evening):
        capacity_5min = (row["lanes_face"] * 20 / 60 + row["lanes_manual"] * 5 / 60) * 300
        assert row["throughput_5min"] <= capacity_5min + 1e-6


def test_opening_lanes_cuts_the_predicted_wait(evening):
    engine = evening.fork()
    before = pedestrians.checkpoint_table(engine)[5]
    assert before["queue_persons"] > 0
    result = engine.apply(SetLanes(5, "face", before["lanes_face"] + 6))
    after = pedestrians.checkpoint_table(engine)[5]
    assert result["before"] == before["lanes_face"] and result["after"] == before["lanes_face"] + 6
    assert after["wait_now_s"] < before["wait_now_s"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (SetLanes(99, "face", 1), "checkpoint_id"),
        (SetLanes(5, "drone", 1), "lane_type"),
        (SetLanes(5, "face", -1), "count"),
        (SetLanes(5, "manual", 1000), "max_lanes"),
    ],
)
def test_bad_lane_changes_are_refused_and_change_nothing(evening, action, message):
    engine = evening.fork()
    before = engine.state.extras[pedestrians.KEY].checkpoints.copy()
    with pytest.raises(ActionError, match=message):
        engine.apply(action)
    after = engine.state.extras[pedestrians.KEY].checkpoints
    np.testing.assert_array_equal(before.lanes_face, after.lanes_face)
    np.testing.assert_array_equal(before.lanes_manual, after.lanes_manual)
    np.testing.assert_array_equal(before.queue_persons, after.queue_persons)


def test_view_carries_pedestrian_figures(evening):
    figures = evening.view().extras["pedestrians"]
    assert figures["on_site_persons"] > 0
    assert len(figures["density_ppm2"]) == evening.pedestrians.network.n_cells
    assert checkpoints.LANE_TYPES == ("face", "manual")
