"""Scan events (one per person screened) to :class:`twin.feeds.batch.CheckpointCounts`.

Scans are counted per checkpoint, lane type and minute (:data:`SCAN_INTERVAL_S` = 60 s,
``[m*60, (m+1)*60)``): ``served_persons`` is the number of scans, ``lanes_in_use`` the number of
distinct lanes that scanned in that minute of this batch. A batch may carry part of a minute:
the next batch's rows for the same minute then add to it (the assimilation sums them).
Checkpoint count records pass through as they came.
"""

from __future__ import annotations

import numpy as np

from twin.feeds.batch import CheckpointCounts
from twin.feeds.columns import CountRows, ScanRows
from twin.feeds.validate import SCAN_MINUTE_S

__all__ = ["SCAN_INTERVAL_S", "checkpoint_counts"]

SCAN_INTERVAL_S = SCAN_MINUTE_S
"""Length of the interval scans are counted over, seconds."""


def checkpoint_counts(
    source: str,
    scans: ScanRows,
    scan_checkpoint: np.ndarray,
    scan_lane: np.ndarray,
    counts: CountRows,
    count_checkpoint: np.ndarray,
    *,
    max_lanes: int,
) -> CheckpointCounts | None:
    """The checkpoint rows of a validated batch (None when it holds no checkpoint data): the
    scans counted per (checkpoint, lane type, minute), then the count records; sorted by
    interval end, checkpoint and lane type so the same data gives the same arrays."""
    parts = []
    if len(scans.record):
        minute = np.floor(scans.time_s / SCAN_INTERVAL_S).astype(np.int64)
        m0 = int(minute.min())
        group = (scan_checkpoint * 2 + scans.lane_type) * (int(minute.max()) - m0 + 1) + (
            minute - m0
        )
        keys, inverse, served = np.unique(group, return_inverse=True, return_counts=True)
        lane_key = group * (max_lanes + 1) + scan_lane
        first_of_lane = np.unique(lane_key, return_index=True)[1]
        lanes_used = np.bincount(inverse[first_of_lane], minlength=len(keys))
        span = int(minute.max()) - m0 + 1
        pair, minute_of = keys // span, keys % span + m0
        parts.append(
            (
                pair // 2,
                pair % 2,
                (minute_of + 1) * SCAN_INTERVAL_S,
                np.full(len(keys), SCAN_INTERVAL_S),
                served.astype(float),
                lanes_used.astype(float),
                np.full(len(keys), np.nan),
            )
        )
    if len(counts.record):
        parts.append(
            (
                count_checkpoint,
                counts.lane_type,
                counts.end_s,
                counts.interval_s,
                counts.served_persons,
                counts.lanes_in_use,
                counts.arrived_persons,
            )
        )
    if not parts:
        return None
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    order = np.lexsort((cols[1], cols[0], cols[2]))
    cp, lane_type, end, interval, served, lanes, arrived = (c[order] for c in cols)
    return CheckpointCounts(
        source=source,
        checkpoint_index=cp.astype(np.int64),
        lane_type=lane_type.astype(np.int64),
        interval_end_s=end.astype(float),
        interval_s=interval.astype(float),
        served_persons=served.astype(float),
        lanes_in_use=lanes.astype(float),
        arrived_persons=arrived.astype(float),
    )
