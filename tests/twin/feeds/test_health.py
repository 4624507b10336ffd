"""Detector health: stuck after N equal counts, silent after a gap, inconsistent with its
neighbour; a flagged detector is left out of assimilation and clears when the fault does."""

from __future__ import annotations

import numpy as np

from twin.feeds import health
from twin.feeds.batch import DetectorCounts

T0 = 18 * 3600.0


def counts(minute, d1, d2=None):
    det = [0] if d2 is None else [0, 1]
    values = [d1] if d2 is None else [d1, d2]
    n = len(det)
    return DetectorCounts(
        "s",
        np.array(det),
        np.full(n, T0 + 60.0 * minute),
        np.full(n, 60.0),
        np.array(values, dtype=float),
        np.full(n, np.nan),
        np.full(n, np.nan),
    )


def feed(state, sites, series):
    for minute, (a, b) in enumerate(series, start=1):
        health.record_readings(state, sites, counts(minute, a, b))
        health.evaluate(state, sites, T0 + 60.0 * minute)


def test_stuck_after_the_stated_number_of_equal_counts(sites, state):
    n = health.STUCK_INTERVALS
    feed(state, sites, [(20 + m % 3, 10 + m % 2) for m in range(5)])
    feed_more = [(17, 10 + m % 2) for m in range(n - 1)]
    for minute, (a, b) in enumerate(feed_more, start=6):
        health.record_readings(state, sites, counts(minute, a, b))
        health.evaluate(state, sites, T0 + 60.0 * minute)
    assert state.det_problem[0] == health.OK  # n - 1 equal counts: not yet
    health.record_readings(state, sites, counts(6 + n - 1, 17, 11))
    health.evaluate(state, sites, T0 + 60.0 * (6 + n - 1))
    assert state.det_problem[0] == health.STUCK
    assert health.usable(state).tolist() == [False, True]
    health.record_readings(state, sites, counts(6 + n, 18, 10))
    health.evaluate(state, sites, T0 + 60.0 * (6 + n))
    assert state.det_problem[0] == health.OK  # the count moved again


def test_zero_repeated_is_not_stuck(sites, state):
    feed(state, sites, [(0, 0)] * (health.STUCK_INTERVALS + 2))
    assert state.det_problem.tolist() == [0, 0]


def test_silent_after_the_gap(sites, state):
    feed(state, sites, [(20, 10), (21, 11)])
    last = T0 + 120.0
    assert health.problems(state, sites, last + health.SILENT_AFTER_S).tolist() == [0, 0]
    health.record_readings(state, sites, counts(8, 22))  # only D1 reports at 18:08
    problem = health.problems(state, sites, last + health.SILENT_AFTER_S + 60)
    assert problem.tolist() == [health.OK, health.SILENT]


def test_inconsistent_with_its_neighbour(sites, state):
    # D1 2 lanes, D2 1 lane: per lane D1 = 600 veh/h (20/min over 2 lanes); D2 = 1200 veh/h:
    # a ratio of 2, within the factor 3; D2 at 2 veh/min = 120 veh/h: D1 is 5 times D2
    feed(state, sites, [(20 + m % 2, 20 - m % 2) for m in range(health.MIN_READINGS)])
    assert state.det_problem.tolist() == [0, 0]
    state.det_flow_vphpl[:] = [600.0, 300.0]  # a ratio of 2: within the factor 4
    assert health.problems(state, sites, T0 + 300).tolist() == [0, 0]
    # D2 at 119 veh/h/lane: D1 (600) is 5 times it. D2 is judged against D1 and flagged; D1 is
    # not judged, its only neighbour seeing under 120 veh/h/lane
    state.det_flow_vphpl[:] = [600.0, 119.0]
    assert health.problems(state, sites, T0 + 300).tolist() == [0, health.INCONSISTENT]
