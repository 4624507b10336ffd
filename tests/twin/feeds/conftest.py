"""Hand-made feed sites: two detectors and one checkpoint whose limits are computed on paper."""

from __future__ import annotations

import numpy as np
import pytest

from twin.feeds.extension import empty_state
from twin.feeds.sites import Sites


def make_sites() -> Sites:
    """D1: 2 lanes of a 1800 veh/h/lane link (3600 veh/h); D2: 1 lane of 1200 veh/h, on the
    link downstream of D1's. Checkpoint 0: 4 lane positions, 2 of them face e-gates; face lanes
    screen 20 persons/min, manual lanes 5."""
    return Sites(
        detector_ids=("D1", "D2"),
        index_of={"D1": 0, "D2": 1},
        detector_link=np.array([0, 1]),
        detector_lanes=np.array([2, 1]),
        detector_capacity_vph=np.array([3600.0, 1200.0]),
        neighbour_pairs=np.array([[0, 1], [1, 0]]),
        checkpoint_names=("Gate",),
        lane_positions=np.array([[2, 4]]),
        max_lanes=np.array([4]),
        lane_rate_pps=np.array([[20.0 / 60.0, 5.0 / 60.0]]),
    )


@pytest.fixture
def sites() -> Sites:
    return make_sites()


@pytest.fixture
def state(sites):
    return empty_state(sites)
