"""Check a batch against the scenario and what the twin already received: every rule at once,
vectorised over the batch, the first bad record named.

Rules, in the order they are tried on a record (``docs/feeds.md``; codes of
:data:`twin.feeds.refusal.RULES`):

1. ``unknown_detector`` / ``unknown_checkpoint`` / ``unknown_lane``;
2. ``bad_value``: interval not in (0, 3600] s, occupancy not in [0, 1], speed not in
   [0, 250] km/h;
3. ``negative_count``;
4. ``ahead_of_clock``: a timestamp more than :attr:`FeedLimits.ahead_tolerance_s` after the
   twin's clock;
5. ``duplicate`` / ``out_of_order``: per detector, per checkpoint lane (scans) and per
   checkpoint lane type (counts), timestamps must increase, in the batch and after what was
   accepted before;
6. ``above_capacity``: a detector count above the capacity of the lanes it covers over the
   interval times :attr:`FeedLimits.detector_margin`; scans of one lane in one minute, or a
   count of served persons, above the lane service rate times
   :attr:`FeedLimits.lane_margin`.

The record with the lowest position that breaks any rule refuses the batch; for it, the first
rule in the order above is named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twin.feeds.columns import CountRows, DetectorRows, ScanRows, Typed
from twin.feeds.refusal import FeedError
from twin.feeds.sites import Sites
from twin.feeds.state import FeedState

__all__ = ["Checked", "FeedLimits", "validate"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
SCAN_MINUTE_S = 60.0
MAX_SPEED_KPH = 250.0
MAX_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class FeedLimits:
    """The limits the rules use.

    Attributes
    ----------
    ahead_tolerance_s
        How far (simulated s) a timestamp may be ahead of the twin's clock: field clocks drift
        and a minute's count is sent as the minute ends.
    detector_margin
        A detector count may reach this multiple of its lanes' capacity over the interval
        (capacity is a sustained flow; a one-minute count can beat it by platooning).
    lane_margin
        A checkpoint lane may screen this multiple of its model service rate (the rates are
        averages; a fast lane beats them).
    max_records
        Records one batch may hold.
    """

    ahead_tolerance_s: float = 120.0
    detector_margin: float = 1.5
    lane_margin: float = 2.0
    max_records: int = 200_000

    def __post_init__(self) -> None:
        if not self.ahead_tolerance_s >= 0:
            raise ValueError(f"ahead_tolerance_s must be >= 0, got {self.ahead_tolerance_s}")
        if not (self.detector_margin >= 1 and self.lane_margin >= 1):
            raise ValueError("detector_margin and lane_margin must be >= 1")
        if not self.max_records >= 1:
            raise ValueError(f"max_records must be >= 1, got {self.max_records}")


@dataclass(frozen=True)
class Checked:
    """A batch that passed every rule, with ids resolved to indices."""

    typed: Typed
    detector_index: IntArray
    scan_checkpoint: IntArray
    scan_lane: IntArray
    count_checkpoint: IntArray


class _First:
    """The first (lowest record position) rule violation seen; ties go to the earlier rule."""

    def __init__(self, typed: Typed) -> None:
        self.typed = typed
        self.best: tuple[int, str, str] | None = None

    def add(self, bad: BoolArray, records: IntArray, code: str, message) -> None:
        if not bad.any():
            return
        rows = np.flatnonzero(bad)
        row = int(rows[np.argmin(records[rows])])
        record = int(records[row])
        if self.best is None or record < self.best[0]:
            self.best = (record, code, message(row))

    def raise_first(self) -> None:
        if self.best is not None:
            record, code, message = self.best
            raise self.typed.fail(record, message, code)


def validate(
    typed: Typed, sites: Sites, state: FeedState, *, now_s: float, limits: FeedLimits
) -> Checked:
    """Check every record of ``typed``; :class:`FeedError` names the first bad one."""
    if typed.n == 0:
        raise FeedError("the batch holds no records", code="empty_batch")
    if typed.n > limits.max_records:
        raise FeedError(
            f"the batch holds {typed.n} records; send at most {limits.max_records} per batch",
            code="too_large",
        )
    first = _First(typed)
    det = _detectors(typed.detectors, sites, state, now_s, limits, first)
    scan_cp, scan_lane = _scans(typed.scans, sites, state, now_s, limits, first)
    count_cp = _counts(typed.counts, sites, state, now_s, limits, first)
    first.raise_first()
    return Checked(typed, det, scan_cp, scan_lane, count_cp)


def _index(values: npt.NDArray[np.float64], n: int) -> tuple[IntArray, BoolArray]:
    whole = np.isfinite(values) & (values == np.round(values)) & (values >= 0) & (values < n)
    return np.where(whole, values, 0).astype(np.int64), whole


def _ordered(
    key: IntArray, time_s: npt.NDArray[np.float64], last_s: npt.NDArray[np.float64]
) -> tuple[BoolArray, BoolArray]:
    """(duplicate, out_of_order) per row: the same key's previous row in the batch (or the
    last accepted time ``last_s``) has an equal (a later) time."""
    order = np.lexsort((np.arange(len(key)), key))
    k, t = key[order], time_s[order]
    prev = np.empty_like(t)
    prev[0:1] = -np.inf
    prev[1:] = np.where(k[1:] == k[:-1], t[:-1], -np.inf)
    prev = np.maximum(prev, np.nan_to_num(last_s, nan=-np.inf))
    dup, back = np.empty(len(key), bool), np.empty(len(key), bool)
    dup[order] = t == prev
    back[order] = t < prev
    return dup, back


def _rank_in_group(key: IntArray) -> IntArray:
    """Position of each row among the rows of its key, in batch order (0 for the first)."""
    order = np.lexsort((np.arange(len(key)), key))
    k = key[order]
    start = np.r_[True, k[1:] != k[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(len(k)), 0))
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(k)) - group_start
    return rank


def _detectors(
    rows: DetectorRows,
    sites: Sites,
    state: FeedState,
    now_s: float,
    limits: FeedLimits,
    first: _First,
) -> IntArray:
    n = len(rows.record)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rec = rows.record
    get = sites.index_of.get
    index = np.fromiter((get(str(x), -1) for x in rows.detector_id), np.int64, n)
    known = index >= 0
    first.add(
        ~known,
        rec,
        "unknown_detector",
        lambda r: (
            f"detector {str(rows.detector_id[r])[:40]!r} is not in the scenario's "
            f"detectors.csv ({sites.n_detectors} detectors)"
        ),
    )
    safe = np.where(known, index, 0)
    bad_interval = ~((rows.interval_s > 0) & (rows.interval_s <= MAX_INTERVAL_S))
    first.add(
        bad_interval,
        rec,
        "bad_value",
        lambda r: (
            f"interval_s must be over 0 and at most {MAX_INTERVAL_S:.0f} s, "
            f"got {rows.interval_s[r]:g}"
        ),
    )
    occ = rows.occupancy
    first.add(
        ~np.isnan(occ) & ~((occ >= 0) & (occ <= 1)),
        rec,
        "bad_value",
        lambda r: f"occupancy must be a share from 0 to 1, got {occ[r]:g}",
    )
    speed = rows.speed_kph
    first.add(
        ~np.isnan(speed) & ~((speed >= 0) & (speed <= MAX_SPEED_KPH)),
        rec,
        "bad_value",
        lambda r: f"speed_kph must be from 0 to {MAX_SPEED_KPH:.0f}, got {speed[r]:g}",
    )
    first.add(
        rows.count_veh < 0,
        rec,
        "negative_count",
        lambda r: f"count must be 0 or more, got {rows.count_veh[r]:g}",
    )
    _ahead(rows.end_s, rec, now_s, limits, first)
    dup, back = _ordered(safe, rows.end_s, state.det_last_end_s[safe])
    _order_faults(dup & known, back & known, rec, rows.end_s, "detector", first)
    limit = sites.detector_capacity_vph[safe] * rows.interval_s / 3600.0 * limits.detector_margin
    first.add(
        known & ~bad_interval & (rows.count_veh > limit),
        rec,
        "above_capacity",
        lambda r: (
            f"count {rows.count_veh[r]:g} veh in {rows.interval_s[r]:g} s is above what "
            f"the {sites.detector_lanes[safe[r]]} lane(s) of detector {sites.detector_ids[safe[r]]!r} "
            f"can pass ({limit[r]:.1f} veh: capacity x {limits.detector_margin:g})"
        ),
    )
    return safe


def _ahead(
    time_s: npt.NDArray[np.float64], rec: IntArray, now_s: float, limits: FeedLimits, first
) -> None:
    first.add(
        time_s > now_s + limits.ahead_tolerance_s,
        rec,
        "ahead_of_clock",
        lambda r: (
            f"t {time_s[r]:.0f} s is {time_s[r] - now_s:.0f} s ahead of the twin's clock "
            f"({now_s:.0f} s); the tolerance is {limits.ahead_tolerance_s:.0f} s"
        ),
    )


def _order_faults(
    dup: BoolArray, back: BoolArray, rec: IntArray, time_s, what: str, first: _First
) -> None:
    first.add(
        dup,
        rec,
        "duplicate",
        lambda r: f"a second reading for the same {what} at t {time_s[r]:g} s",
    )
    first.add(
        back,
        rec,
        "out_of_order",
        lambda r: f"t {time_s[r]:g} s is earlier than one already received for the same {what}",
    )


def _scans(
    rows: ScanRows,
    sites: Sites,
    state: FeedState,
    now_s: float,
    limits: FeedLimits,
    first: _First,
) -> tuple[IntArray, IntArray]:
    n = len(rows.record)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if sites.n_checkpoints == 0:
        first.add(
            np.ones(n, bool),
            rows.record,
            "unknown_checkpoint",
            lambda r: "this scenario has no checkpoints",
        )
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rec = rows.record
    cp, cp_ok = _index(rows.checkpoint, sites.n_checkpoints)
    first.add(
        ~cp_ok,
        rec,
        "unknown_checkpoint",
        lambda r: (
            f"checkpoint {rows.checkpoint[r]:g} does not exist (this scenario has "
            f"{sites.n_checkpoints}, numbered 0 to {sites.n_checkpoints - 1})"
        ),
    )
    positions = sites.max_lanes[cp] if sites.n_checkpoints else np.zeros(n, np.int64)
    lane_f = rows.lane
    lane_ok = (
        np.isfinite(lane_f) & (lane_f == np.round(lane_f)) & (lane_f >= 0) & (lane_f < positions)
    )
    lane = np.where(lane_ok, lane_f, 0).astype(np.int64)
    first.add(
        cp_ok & ~lane_ok,
        rec,
        "unknown_lane",
        lambda r: (
            f"lane {lane_f[r]:g} does not exist at checkpoint {cp[r]} (lanes 0 to "
            f"{positions[r] - 1})"
        ),
    )
    _ahead(rows.time_s, rec, now_s, limits, first)
    ok = cp_ok & lane_ok
    width = state.scan_last_s.shape[1]
    key = cp * width + lane
    dup, back = _ordered(key, rows.time_s, state.scan_last_s[cp, lane])
    _order_faults(dup & ok, back & ok, rec, rows.time_s, "checkpoint lane", first)
    minute = np.floor(rows.time_s / SCAN_MINUTE_S).astype(np.int64)
    rank = _rank_in_group(key * 100_000 + (minute - minute.min()))
    before = np.where(state.scan_minute[cp, lane] == minute, state.scan_minute_count[cp, lane], 0)
    rate = sites.lane_rate_pps[cp, rows.lane_type] if sites.n_checkpoints else np.zeros(n)
    limit = np.floor(rate * SCAN_MINUTE_S * limits.lane_margin)
    first.add(
        ok & (rank + before >= limit),
        rec,
        "above_capacity",
        lambda r: (
            f"scan {int(rank[r] + before[r]) + 1} of lane {lane[r]} at checkpoint {cp[r]} "
            f"in one minute: a {('face', 'manual')[rows.lane_type[r]]} lane screens at most "
            f"{int(limit[r])} a minute (service rate x {limits.lane_margin:g})"
        ),
    )
    return cp, lane


def _counts(
    rows: CountRows,
    sites: Sites,
    state: FeedState,
    now_s: float,
    limits: FeedLimits,
    first: _First,
) -> IntArray:
    n = len(rows.record)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if sites.n_checkpoints == 0:
        first.add(
            np.ones(n, bool),
            rows.record,
            "unknown_checkpoint",
            lambda r: "this scenario has no checkpoints",
        )
        return np.zeros(0, dtype=np.int64)
    rec = rows.record
    cp, cp_ok = _index(rows.checkpoint, sites.n_checkpoints)
    first.add(
        ~cp_ok,
        rec,
        "unknown_checkpoint",
        lambda r: (
            f"checkpoint {rows.checkpoint[r]:g} does not exist (this scenario has "
            f"{sites.n_checkpoints}, numbered 0 to {sites.n_checkpoints - 1})"
        ),
    )
    positions = sites.lane_positions[cp, rows.lane_type] if sites.n_checkpoints else np.zeros(n)
    in_use = rows.lanes_in_use
    first.add(
        cp_ok & ~np.isnan(in_use) & (in_use > positions),
        rec,
        "unknown_lane",
        lambda r: (
            f"lanes_in_use {in_use[r]:g} is more than the {positions[r]} "
            f"{('face', 'manual')[rows.lane_type[r]]} lane(s) of checkpoint {cp[r]}"
        ),
    )
    bad_interval = ~((rows.interval_s > 0) & (rows.interval_s <= MAX_INTERVAL_S))
    first.add(
        bad_interval,
        rec,
        "bad_value",
        lambda r: (
            f"interval_s must be over 0 and at most {MAX_INTERVAL_S:.0f} s, "
            f"got {rows.interval_s[r]:g}"
        ),
    )
    for name, values in (
        ("served", rows.served_persons),
        ("lanes_in_use", in_use),
        ("arrived", rows.arrived_persons),
    ):
        first.add(
            ~np.isnan(values) & (values < 0),
            rec,
            "negative_count",
            lambda r, name=name, values=values: f"{name} must be 0 or more, got {values[r]:g}",
        )
    _ahead(rows.end_s, rec, now_s, limits, first)
    key = cp * 2 + rows.lane_type
    dup, back = _ordered(key, rows.end_s, state.cp_last_end_s[cp, rows.lane_type])
    _order_faults(dup & cp_ok, back & cp_ok, rec, rows.end_s, "checkpoint lane type", first)
    lanes = np.where(np.isnan(in_use), positions, in_use)
    rate = sites.lane_rate_pps[cp, rows.lane_type] if sites.n_checkpoints else np.zeros(n)
    limit = rate * lanes * rows.interval_s * limits.lane_margin
    first.add(
        cp_ok & ~bad_interval & (rows.served_persons > limit),
        rec,
        "above_capacity",
        lambda r: (
            f"served {rows.served_persons[r]:g} in {rows.interval_s[r]:g} s is more than "
            f"{lanes[r]:g} {('face', 'manual')[rows.lane_type[r]]} lane(s) screen "
            f"({limit[r]:.0f}: service rate x {limits.lane_margin:g})"
        ),
    )
    return cp
