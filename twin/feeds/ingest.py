"""From records to a validated batch: the ingest the API, the file replayer and the bench share.

Two halves, so the costly one stays out of the loop thread:

- :func:`read_records` (any thread): parse a body (or take a list of record dicts) and type its
  fields (:mod:`twin.feeds.parse`, :mod:`twin.feeds.columns`);
- :func:`check_batch` (the loop thread, inside the command path's check): the rules against the
  scenario and what was already received (:mod:`twin.feeds.validate`), then the aggregation of
  scans (:mod:`twin.feeds.aggregate`). It changes nothing.

Either raises :class:`twin.feeds.refusal.FeedError` naming the first bad record and the rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin.feeds.aggregate import SCAN_INTERVAL_S, checkpoint_counts
from twin.feeds.batch import DetectorCounts
from twin.feeds.columns import Typed, typed
from twin.feeds.extension import empty_state, feed_sites, feed_state
from twin.feeds.parse import RawRecords, parse_body
from twin.feeds.payload import FeedBatch, LaneTimes
from twin.feeds.refusal import FeedError
from twin.feeds.validate import Checked, FeedLimits, validate

if TYPE_CHECKING:
    from twin.engine import Engine

__all__ = ["check_batch", "read_records"]


def read_records(data: Any, *, fmt: str = "ndjson") -> Typed:
    """Typed records of ``data``: a body (``bytes``/``str`` in ``fmt``), a list of record
    dicts, :class:`RawRecords` or :class:`Typed` (returned as is)."""
    if isinstance(data, Typed):
        return data
    if isinstance(data, RawRecords):
        return typed(data)
    if isinstance(data, (bytes, str)):
        return typed(parse_body(data, fmt=fmt))
    if isinstance(data, (list, tuple)):
        from twin.feeds.parse import _from_items

        return typed(_from_items(list(data), None))
    raise FeedError(
        f"a feed batch is a body or a list of records, got {type(data).__name__}",
        code="malformed",
    )


def check_batch(
    engine: Engine,
    records: Typed,
    *,
    source: str,
    limits: FeedLimits,
    synthetic: bool = False,
) -> FeedBatch:
    """Validate ``records`` against ``engine`` (now) and aggregate them into a batch."""
    sites = feed_sites(engine)
    state = feed_state(engine) or empty_state(sites)
    checked = validate(records, sites, state, now_s=float(engine.time_s), limits=limits)
    rows = records.detectors
    detectors = None
    if len(rows.record):
        order = np.lexsort((checked.detector_index, rows.end_s))
        detectors = DetectorCounts(
            source,
            checked.detector_index[order],
            rows.end_s[order],
            rows.interval_s[order],
            rows.count_veh[order],
            rows.occupancy[order],
            rows.speed_kph[order],
        )
    width = int(sites.max_lanes.max()) if sites.n_checkpoints else 1
    checkpoints = checkpoint_counts(
        source,
        records.scans,
        checked.scan_checkpoint,
        checked.scan_lane,
        records.counts,
        checked.count_checkpoint,
        max_lanes=width,
    )
    from_scans = None
    if checkpoints is not None:
        from_scans = np.isnan(checkpoints.arrived_persons) & _from_scan_rows(checkpoints, records)
    return FeedBatch(
        source=source,
        records=records.n,
        scans=len(records.scans.record),
        detectors=detectors,
        checkpoints=checkpoints,
        checkpoint_from_scans=from_scans,
        lanes=_lane_times(checked, state),
        synthetic=synthetic,
    )


def _from_scan_rows(checkpoints, records: Typed) -> np.ndarray:
    """Which checkpoint rows came from scans: all when the batch has no count records, none when
    it has no scans; else by matching (checkpoint, lane type, end) with the count records."""
    n_counts, n_scans = len(records.counts.record), len(records.scans.record)
    if n_counts == 0:
        return np.ones(len(checkpoints), dtype=bool)
    if n_scans == 0:
        return np.zeros(len(checkpoints), dtype=bool)
    raise FeedError("a batch carries either scans or checkpoint counts, not both", code="malformed")


def _lane_times(checked: Checked, state) -> LaneTimes | None:
    scans = checked.typed.scans
    if len(scans.record) == 0:
        return None
    width = state.scan_last_s.shape[1]
    key = checked.scan_checkpoint * width + checked.scan_lane
    minute = np.floor(scans.time_s / SCAN_INTERVAL_S).astype(np.int64)
    keys, inverse = np.unique(key, return_inverse=True)
    last_s = np.full(len(keys), -np.inf)
    np.maximum.at(last_s, inverse, scans.time_s)
    last_minute = np.floor(last_s / SCAN_INTERVAL_S).astype(np.int64)
    in_last = minute == last_minute[inverse]
    count = np.bincount(inverse[in_last], minlength=len(keys))
    cp, lane = keys // width, keys % width
    before = np.where(
        state.scan_minute[cp, lane] == last_minute, state.scan_minute_count[cp, lane], 0
    )
    return LaneTimes(cp, lane, last_s, last_minute, (count + before).astype(np.int64))
