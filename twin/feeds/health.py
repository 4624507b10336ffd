"""Detector health: which detectors to stop trusting, and why.

Loop detectors fail often (in California's PeMS only about 60 % of loops give usable data on a
given day; Chen et al. 2003, "Detecting errors and imputing missing data for single-loop
surveillance systems"). A detector is flagged, and left out of assimilation until the condition
clears, when it is

- **stuck**: the same non-zero count for :data:`STUCK_INTERVALS` intervals in a row (a real
  count varies; a frozen controller repeats its last value);
- **silent**: no reading for :data:`SILENT_AFTER_S` simulated seconds while the detector feed
  is running (counted from its last reading, or from the feed's first reading for one never
  heard);
- **inconsistent**: its smoothed flow per lane (exponential, time constant
  :data:`FLOW_TAU_S`) differs from the mean of its neighbours' (detectors on the same link or on
  a link directly up- or downstream, :attr:`twin.feeds.sites.Sites.neighbour_pairs`) by more
  than a factor :data:`INCONSISTENT_FACTOR`, where the neighbours see at least
  :data:`MIN_NEIGHBOUR_VPHPL` veh/h per lane and the detector has :data:`MIN_READINGS` readings.

Stuck is checked first, then silent, then inconsistent; the first that holds is the reason.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.feeds.batch import DetectorCounts
from twin.feeds.sites import Sites
from twin.feeds.state import HISTORY_MINUTES, FeedState

__all__ = ["evaluate", "problems", "record_readings", "record_served", "usable"]

STUCK_INTERVALS = 10
SILENT_AFTER_S = 300.0
FLOW_TAU_S = 900.0
INCONSISTENT_FACTOR = 4.0
MIN_NEIGHBOUR_VPHPL = 120.0
MIN_READINGS = 5
OK, STUCK, SILENT, INCONSISTENT = 0, 1, 2, 3


def record_readings(state: FeedState, sites: Sites, counts: DetectorCounts) -> None:
    """Fold ``counts`` (validated: times increase per detector) into ``state``: last value and
    its run, smoothed flow, last reading time and the per-minute history."""
    if len(counts) == 0:
        return
    det = counts.detector_index
    order = np.lexsort((counts.interval_end_s, det))
    det_sorted = det[order]
    start = np.r_[True, det_sorted[1:] != det_sorted[:-1]]
    layer = np.arange(len(det_sorted)) - np.maximum.accumulate(
        np.where(start, np.arange(len(det_sorted)), 0)
    )
    for k in range(int(layer.max()) + 1):  # k-th reading of each detector: vectorised per layer
        rows = order[layer == k]
        d = det[rows]
        count = counts.count_veh[rows]
        interval = counts.interval_s[rows]
        same = (count == state.det_last_count[d]) & (count > 0)
        state.det_same_run[d] = np.where(same, state.det_same_run[d] + 1, 0)
        state.det_last_count[d] = count
        state.det_last_end_s[d] = counts.interval_end_s[rows]
        state.det_readings[d] += 1
        flow = count * 3600.0 / interval / sites.detector_lanes[d]
        alpha = 1.0 - np.exp(-interval / FLOW_TAU_S)
        old = state.det_flow_vphpl[d]
        state.det_flow_vphpl[d] = np.where(np.isnan(old), flow, old + alpha * (flow - old))
    if np.isnan(state.det_started_s):
        state.det_started_s = float(counts.interval_end_s.min())
    minute = np.floor((counts.interval_end_s - 1e-6) / 60.0).astype(np.int64)
    _history(state, minute, det, counts.count_veh)


def _ring(state: FeedState, minute: npt.NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray]:
    """Slots of ``minute`` in the history ring (slots of older minutes cleared and relabelled)
    and which of them may be written (not older than the minute the slot holds)."""
    slot = minute % HISTORY_MINUTES
    newest = np.full(HISTORY_MINUTES, -1, dtype=np.int64)
    np.maximum.at(newest, slot, minute)
    stale = newest > state.history_minute
    state.det_history_veh[:, stale] = np.nan
    state.cp_history_served[:, :, stale] = np.nan
    state.history_minute[stale] = newest[stale]
    return slot, state.history_minute[slot] == minute


def _history(state: FeedState, minute, detector, count_veh) -> None:
    slot, keep = _ring(state, minute)
    idx = (detector[keep], slot[keep])
    state.det_history_veh[idx] = np.nan_to_num(state.det_history_veh[idx])
    np.add.at(state.det_history_veh, idx, count_veh[keep])


def record_served(state: FeedState, minute, checkpoint, lane_type, served) -> None:
    """Add served persons to the per-minute checkpoint history (minute = interval's last)."""
    slot, keep = _ring(state, minute)
    idx = (checkpoint[keep], lane_type[keep], slot[keep])
    state.cp_history_served[idx] = np.nan_to_num(state.cp_history_served[idx])
    np.add.at(state.cp_history_served, idx, served[keep])


def evaluate(state: FeedState, sites: Sites, now_s: float) -> npt.NDArray[np.int64]:
    """Each detector's problem code at ``now_s`` (:data:`twin.feeds.state.PROBLEMS`) and update
    ``state.det_problem`` and ``det_problem_since_s``."""
    problem = problems(state, sites, now_s)
    changed = problem != state.det_problem
    state.det_problem_since_s = np.where(
        changed, np.where(problem > 0, now_s, np.nan), state.det_problem_since_s
    )
    state.det_problem = problem
    return problem


def problems(state: FeedState, sites: Sites, now_s: float) -> npt.NDArray[np.int64]:
    """Problem codes at ``now_s`` without changing ``state`` (for read-only queries)."""
    n = sites.n_detectors
    problem = np.zeros(n, dtype=np.int64)
    if n == 0 or np.isnan(state.det_started_s):
        return problem
    stuck = state.det_same_run >= STUCK_INTERVALS - 1
    heard = np.where(np.isnan(state.det_last_end_s), state.det_started_s, state.det_last_end_s)
    silent = now_s - heard > SILENT_AFTER_S
    flow = state.det_flow_vphpl
    mean = neighbour_flow_vphpl(sites, flow, ~stuck & ~silent & np.isfinite(flow))
    ratio = np.divide(flow, mean, out=np.full(n, np.nan), where=mean > 0)
    inconsistent = (
        (mean >= MIN_NEIGHBOUR_VPHPL)
        & (state.det_readings >= MIN_READINGS)
        & ((ratio > INCONSISTENT_FACTOR) | (ratio < 1.0 / INCONSISTENT_FACTOR))
    )
    problem[inconsistent] = INCONSISTENT
    problem[silent] = SILENT
    problem[stuck] = STUCK
    return problem


def neighbour_flow_vphpl(
    sites: Sites, flow_vphpl: npt.NDArray[np.float64], trusted: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Mean smoothed flow per lane of each detector's trusted neighbours (NaN: none)."""
    n = sites.n_detectors
    i, j = sites.neighbour_pairs[:, 0], sites.neighbour_pairs[:, 1]
    use = trusted[j]
    total = np.bincount(i[use], flow_vphpl[j][use], minlength=n)
    count = np.bincount(i[use], minlength=n)
    return np.divide(total, count, out=np.full(n, np.nan), where=count > 0)


def usable(state: FeedState) -> npt.NDArray[np.bool_]:
    """Detectors assimilation may use: no problem flagged at the last evaluation."""
    return state.det_problem == OK
