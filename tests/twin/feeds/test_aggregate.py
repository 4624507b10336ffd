"""Scans counted per checkpoint, lane type and minute; lanes in use; lane times carried over."""

from __future__ import annotations

import numpy as np

from twin.feeds.aggregate import checkpoint_counts
from twin.feeds.ingest import _lane_times, read_records
from twin.feeds.validate import FeedLimits, validate

T0 = 18 * 3600.0


def test_scans_are_counted_per_minute_and_lane_type(sites, state):
    scans = (
        [{"checkpoint": 0, "lane": 0, "lane_type": "face", "t": T0 + s} for s in (0, 3, 6, 59.9)]
        + [{"checkpoint": 0, "lane": 1, "lane_type": "face", "t": T0 + s} for s in (1, 61)]
        + [{"checkpoint": 0, "lane": 3, "lane_type": "manual", "t": T0 + 30}]
    )
    typed = read_records(scans)
    checked = validate(typed, sites, state, now_s=T0 + 120, limits=FeedLimits())
    counts = checkpoint_counts(
        "g",
        typed.scans,
        checked.scan_checkpoint,
        checked.scan_lane,
        typed.counts,
        checked.count_checkpoint,
        max_lanes=4,
    )
    rows = sorted(
        zip(
            counts.interval_end_s.tolist(),
            counts.lane_type.tolist(),
            counts.served_persons.tolist(),
            counts.lanes_in_use.tolist(),
            strict=True,
        )
    )
    # minute 18:00: face 4 + 1 scans on 2 lanes, manual 1 on 1 lane; minute 18:01: face 1
    assert rows == [(T0 + 60, 0, 5.0, 2.0), (T0 + 60, 1, 1.0, 1.0), (T0 + 120, 0, 1.0, 1.0)]
    assert counts.interval_s.tolist() == [60.0] * 3
    assert counts.served_persons.sum() == len(scans)  # every scan counted once
    lanes = _lane_times(checked, state)
    by_lane = dict(
        zip(lanes.lane.tolist(), zip(lanes.last_s, lanes.minute_count, strict=True), strict=True)
    )
    assert (
        by_lane[0] == (T0 + 59.9, 4) and by_lane[1] == (T0 + 61, 1) and by_lane[3] == (T0 + 30, 1)
    )


def test_the_minute_count_continues_from_the_previous_batch(sites, state):
    state.scan_minute[0, 0] = int(T0 // 60)
    state.scan_minute_count[0, 0] = 38
    state.scan_last_s[0, 0] = T0 + 20
    typed = read_records([{"checkpoint": 0, "lane": 0, "lane_type": "face", "t": T0 + 30}])
    checked = validate(typed, sites, state, now_s=T0 + 60, limits=FeedLimits())
    assert _lane_times(checked, state).minute_count.tolist() == [39]
    two = read_records(
        [{"checkpoint": 0, "lane": 0, "lane_type": "face", "t": T0 + s} for s in (31, 32, 33)]
    )
    try:
        validate(two, sites, state, now_s=T0 + 60, limits=FeedLimits())
    except Exception as error:  # noqa: BLE001 - checked below
        assert error.code == "above_capacity" and error.record == 2  # 38 + 3 > 40
    else:
        raise AssertionError("the 41st scan of the minute must be refused")
    assert np.isfinite(state.scan_last_s[0, 0])
