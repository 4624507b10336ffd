"""Security checkpoints at park gates and venue entrances: lanes, queues, waits, advice.

Each checkpoint is one queue served by parallel lanes of two kinds (rates per lane, persons
per second, from the spec):

- **face** — facial-recognition walk-through e-gate: the ticket is bound to the face at
  purchase, the gate opens as the visitor walks up, no bag search. Default
  :data:`FACE_LANE_RATE_PPS` = 20 persons/min (3 s each). *Assumption*, inside the 15-30/min
  band the brief gives (2-4 s per person): vendors quote 25-60 faces/min for the
  identification step alone (e.g. Suprema BioStation 3 "40+ people/min", HID Signo
  "30 people/min"), and a walking visitor, gate cycle and the occasional failed match
  bring that down.
- **manual** — ticket check plus hand search of bags with a hand-held wand. Default
  :data:`MANUAL_LANE_RATE_PPS` = 5 persons/min (12 s each). Event industry rule of thumb
  for hand searches (eventknowhow.com, "How many entry lanes do you need?"): ~10/min for
  people without bags, ~7/min for a mixed crowd, ~4/min with bags, less 2/min when hand
  wanding is added: 7 - 2 = 5/min. Consistent with the brief's 10-15 s per person; field
  studies of walk-through magnetometers alone (CCICADA, MetLife Stadium and NFL patron
  screening studies) measured 5-7 s per patron, so a manual lane that adds a bag search
  is about twice as slow.

The queue is a fluid: in a step of ``dt`` the checkpoint serves ``min(queue + arrivals,
capacity * open_s)`` (see :func:`twin.crowd.queueing.fluid_queue`), where ``open_s`` is the part of
the step its doors are open, so persons are conserved exactly:
``arrived = served + queue`` at every step. Arrivals are an input (modelled by the demand
or the crowd, or counted by turnstile feeds). All lanes of a checkpoint share one queue;
a visitor can use either kind of lane (a pooled approximation: in practice only enrolled
visitors can use face lanes).

**Doors.** A checkpoint may serve only within its ``open_windows_s`` (times of day in seconds
since midnight, repeated every day, as the demand's curves are): a venue entrance serves from
a session's doors opening to its end, the day's last until midnight (:mod:`twin.crowd.pedestrians`
builds them from the schedule);
a park gate (``None``) is open all day. Outside them its capacity is 0 and arrivals queue. Waits
(:func:`mean_wait_now_s`, :func:`predict_wait_s`) are those of the last person in the queue
(0 for an empty queue): the time until the open lanes, counting only the seconds the doors are
open, have served the queue ahead, i.e. ``(time until the doors open) + queue / capacity`` for
a queue that builds before the doors open. The lanes are held at their current (or candidate)
count over the whole wait. :func:`recommended_lanes` judges only the part lanes can shorten,
``queue / capacity`` (the pre-doors queue must clear within the target once the doors open).
"""

from __future__ import annotations

import bisect
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from twin.crowd.queueing import erlang_c_mean_wait_s, fluid_queue
from twin.errors import ActionError, ScenarioError
from twin.models.demand import DAY_S

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FACE_LANE_RATE_PPS = 20.0 / 60.0
"""Facial-recognition e-gate lane: 20 persons/min (3 s/person). An assumption, see module."""
MANUAL_LANE_RATE_PPS = 5.0 / 60.0
"""Manual ticket + bag search + wand lane: 5 persons/min (12 s/person). See module."""
LANE_TYPES = ("face", "manual")
HISTORY_MINUTES = 720
"""Rows of the per-minute history ring (12 hours, one control-room shift)."""

ENTRY_WINDOW_S = 3600.0
"""Default sizing rule: a venue's whole capacity passes its checkpoint in 60 minutes."""
FACE_LANE_SHARE = 0.25
"""Default share of a checkpoint's planned lanes that are face e-gates (an assumption:
early deployments enrol a minority of ticket holders)."""
SPARE_LANE_SHARE = 0.25
"""Default spare lane positions beyond the plan (at least one), for operators to open."""
ENTRANCE_OFFSET_M = 60.0
"""Default distance from a venue point toward its nearest gate to place its entrance."""


@dataclass(frozen=True)
class CheckpointSpec:
    """One checkpoint (all fields in SI units; positions in projected metres).

    Attributes
    ----------
    checkpoint_id
        Index of the checkpoint, ``0..N-1`` in order.
    name
        Display name.
    venue_id
        Facility id of the venue it admits to, or None for a park gate.
    x_m, y_m
        Position in the scenario's projected CRS (metres).
    lanes_face, lanes_manual
        Lanes of each kind open in the plan (the state starts with these).
    max_lanes
        Lane positions: open face + open manual lanes may not exceed it.
    max_face_lanes
        Face e-gates installed (None: any lane position can hold one).
    face_rate_pps, manual_rate_pps
        Service rate of one lane of each kind, persons per second.
    kind
        ``"venue_entrance"`` or ``"park_gate"``.
    facility_id
        Facility the checkpoint was placed from (venue or gate id), if any.
    open_windows_s
        ``((open_s, close_s), ...)``: times of day (seconds since midnight, ``0 <= open < close
        <= 86400``, in order, not overlapping; see :func:`merge_windows`) when the checkpoint
        serves, every day; None (a park gate) for open all day.
    """

    checkpoint_id: int
    name: str
    venue_id: str | None
    x_m: float
    y_m: float
    lanes_face: int
    lanes_manual: int
    max_lanes: int
    max_face_lanes: int | None = None
    face_rate_pps: float = FACE_LANE_RATE_PPS
    manual_rate_pps: float = MANUAL_LANE_RATE_PPS
    kind: str = "venue_entrance"
    facility_id: str | None = None
    open_windows_s: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        where = f"checkpoint {self.checkpoint_id} {self.name!r}"
        for name in ("checkpoint_id", "lanes_face", "lanes_manual", "max_lanes"):
            if not _is_count(getattr(self, name)):
                value = getattr(self, name)
                raise ScenarioError(f"{where}: {name} must be a whole number >= 0, got {value!r}")
        if self.max_face_lanes is not None and not _is_count(self.max_face_lanes):
            raise ScenarioError(f"{where}: max_face_lanes must be a whole number >= 0 or None")
        if self.lanes_face + self.lanes_manual > self.max_lanes:
            raise ScenarioError(
                f"{where}: lanes_face + lanes_manual ({self.lanes_face} + "
                f"{self.lanes_manual}) must not exceed max_lanes ({self.max_lanes})"
            )
        if self.lanes_face > self.face_lane_limit:
            raise ScenarioError(
                f"{where}: lanes_face ({self.lanes_face}) must not exceed "
                f"max_face_lanes ({self.face_lane_limit})"
            )
        for name in ("face_rate_pps", "manual_rate_pps"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ScenarioError(f"{where}: {name} must be a finite number > 0, got {value!r}")
        if not (np.isfinite(self.x_m) and np.isfinite(self.y_m)):
            raise ScenarioError(f"{where}: x_m and y_m must be finite")
        if self.kind not in ("venue_entrance", "park_gate"):
            raise ScenarioError(
                f"{where}: kind must be 'venue_entrance' or 'park_gate', got {self.kind!r}"
            )
        if self.open_windows_s is not None:
            _check_windows(self.open_windows_s, where)

    @property
    def face_lane_limit(self) -> int:
        """Most face lanes that can be open at once."""
        return (
            self.max_lanes
            if self.max_face_lanes is None
            else min(self.max_face_lanes, self.max_lanes)
        )


def _check_windows(windows: object, where: str) -> None:
    rule = (
        f"{where}: open_windows_s must be None or ((open_s, close_s), ...) with 0 <= open_s < "
        f"close_s <= {DAY_S}, in order and not overlapping, got {windows!r}"
    )
    try:
        pairs = np.array(windows, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(rule) from None
    if pairs.ndim != 2 or pairs.shape[0] < 1 or pairs.shape[1] != 2:
        raise ScenarioError(rule)
    flat = pairs.ravel()
    if not (
        np.all(np.isfinite(flat))
        and flat[0] >= 0
        and flat[-1] <= DAY_S
        and np.all(pairs[:, 0] < pairs[:, 1])
        and np.all(pairs[1:, 0] >= pairs[:-1, 1])
    ):
        raise ScenarioError(rule)


def merge_windows(windows_s: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """The union of ``(open_s, close_s)`` windows as sorted, disjoint windows (for
    ``CheckpointSpec.open_windows_s``): overlapping or touching windows become one."""
    merged: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in windows_s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def _windows(spec: CheckpointSpec) -> FloatArray:
    """``(K, 2)`` open windows of a day; all day for a checkpoint without windows (read-only,
    built once per distinct set of windows)."""
    return _door_table(spec.open_windows_s).windows


class _DoorTable(NamedTuple):
    """One set of open windows in the forms the door arithmetic reads, built once."""

    windows: FloatArray  # (K, 2), read-only
    length: FloatArray  # (K,) window lengths (s), read-only
    per_day_s: float  # open seconds per day: ``length.sum()``
    pairs: tuple[tuple[float, float, float], ...]  # (open_s, close_s, length_s) as floats
    open_end_s: tuple[float, ...]  # open seconds of the day at each window's end: cumsum(length)


@functools.lru_cache(maxsize=256)
def _door_table(open_windows_s: tuple[tuple[float, float], ...] | None) -> _DoorTable:
    windows = np.array(
        open_windows_s if open_windows_s is not None else ((0.0, DAY_S),), dtype=float
    )
    length = windows[:, 1] - windows[:, 0]
    windows.setflags(write=False)
    length.setflags(write=False)
    pairs = tuple((float(a), float(b), float(n)) for (a, b), n in zip(windows, length, strict=True))
    open_end = tuple(float(x) for x in np.cumsum(length))
    return _DoorTable(windows, length, float(length.sum()), pairs, open_end)


def _open_until_s(windows: FloatArray, time_s: FloatArray) -> FloatArray:
    """Open seconds from midnight of day 0 until ``time_s`` (non-decreasing in time)."""
    day = np.floor(time_s / DAY_S)
    of_day = time_s - day * DAY_S
    length = windows[:, 1] - windows[:, 0]
    return day * length.sum() + np.clip(of_day[..., None] - windows[:, 0], 0.0, length).sum(axis=-1)


def _open_until_one_s(table: _DoorTable, time_s: float) -> float:
    """:func:`_open_until_s` at one time, in plain floats and the same operations in the same
    order, so the same result to the bit: numpy sums fewer than 8 values one after the other
    (more windows go to numpy itself)."""
    if len(table.pairs) >= 8:
        return float(_open_until_s(table.windows, np.asarray(time_s, dtype=float)))
    day = float(math.floor(time_s / DAY_S))
    of_day = time_s - day * DAY_S
    summed = 0.0
    for open_at, _, length in table.pairs:
        summed += min(max(of_day - open_at, 0.0), length)
    return day * table.per_day_s + summed


def open_s(specs: Sequence[CheckpointSpec], start_s: npt.ArrayLike, dt_s: float) -> FloatArray:
    """Seconds each checkpoint's doors are open within ``[start_s, start_s + dt_s)``.

    Parameters
    ----------
    specs
        The checkpoints.
    start_s
        Step start(s), seconds since midnight of day 0: a scalar or ``(T,)``.
    dt_s
        Step length in seconds.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` for a scalar start, ``(T, N)`` for ``T`` starts; exactly ``dt_s`` for a
        checkpoint open all day.
    """
    if np.ndim(start_s) == 0:  # one step (every crowd step): plain floats, no small arrays
        start_one = float(start_s)
        return np.array(
            [
                float(dt_s)
                if s.open_windows_s is None
                else _open_until_one_s(table := _door_table(s.open_windows_s), start_one + dt_s)
                - _open_until_one_s(table, start_one)
                for s in specs
            ],
            dtype=float,
        )
    start = np.asarray(start_s, dtype=float)
    columns = [
        np.full(start.shape, float(dt_s))
        if s.open_windows_s is None
        else _open_until_s(_windows(s), start + dt_s) - _open_until_s(_windows(s), start)
        for s in specs
    ]
    return np.stack(columns, axis=-1) if columns else np.zeros((*start.shape, 0))


def until_open_s(specs: Sequence[CheckpointSpec], time_s: float) -> FloatArray:
    """``(N,)`` seconds from ``time_s`` until each checkpoint's doors open (0 while open; the
    next day's first window after the day's last)."""
    of_day = time_s % DAY_S
    until = np.zeros(len(specs))
    for i, spec in enumerate(specs):
        pairs = _door_table(spec.open_windows_s).pairs
        if not any(a <= of_day < b for a, b, _ in pairs):
            later = [a for a, _, _ in pairs if a > of_day]
            until[i] = (min(later) if later else pairs[0][0] + DAY_S) - of_day
    return until


def _serve_time_s(windows: FloatArray, time_s: FloatArray, work_s: FloatArray) -> FloatArray:
    """Time (s) from ``time_s`` until ``work_s`` (> 0, finite) open seconds have passed."""
    length = windows[:, 1] - windows[:, 0]
    per_day, open_end = length.sum(), np.cumsum(length)
    target = _open_until_s(windows, time_s) + work_s
    day = np.ceil(target / per_day) - 1.0  # the day within which the target is reached
    rest = target - day * per_day  # in (0, per_day]
    k = np.minimum(np.searchsorted(open_end, rest, side="left"), len(length) - 1)
    return day * DAY_S + windows[k, 0] + rest - (open_end[k] - length[k]) - time_s


def _serve_time_one_s(table: _DoorTable, time_s: float, work_s: float) -> float:
    """:func:`_serve_time_s` at one time, in plain floats (the same operations in the same
    order, so the same result to the bit)."""
    target = _open_until_one_s(table, time_s) + work_s
    day = float(math.ceil(target / table.per_day_s)) - 1.0
    rest = target - day * table.per_day_s
    k = min(bisect.bisect_left(table.open_end_s, rest), len(table.pairs) - 1)
    open_at, _, length = table.pairs[k]
    return day * DAY_S + open_at + rest - (table.open_end_s[k] - length) - time_s


def _door_wait_s(
    specs: Sequence[CheckpointSpec],
    queue_persons: FloatArray,
    capacity_pps: FloatArray,
    time_s: FloatArray,
) -> FloatArray:
    """``(T, N)`` wait of the last person in each queue at ``time_s`` (``(T,)``): the time until
    the open lanes have served the queue, counting only the seconds the doors are open; 0 for an
    empty queue, inf for a queue without a lane open."""
    work = _wait_s(queue_persons, capacity_pps)  # open seconds needed
    wait = work.copy()
    for i, spec in enumerate(specs):  # a handful of checkpoints
        due = np.isfinite(work[:, i]) & (work[:, i] > 0)
        if spec.open_windows_s is not None and due.any():
            wait[due, i] = _serve_time_s(_windows(spec), time_s[due], work[due, i])
    return wait


def _is_count(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def check_specs(specs: Sequence[CheckpointSpec]) -> None:
    """Raise :class:`ScenarioError` unless ``specs[i].checkpoint_id == i`` for all ``i``."""
    ids = [s.checkpoint_id for s in specs]
    if ids != list(range(len(specs))):
        raise ScenarioError(
            f"checkpoints: checkpoint_id must be 0..{len(specs) - 1} in order, got {ids}"
        )


# ------------------------------------------------------------------------------ state


@dataclass
class CheckpointState:
    """Mutable state of all checkpoints; :meth:`copy` for snapshots and forecasts.

    Attributes
    ----------
    time_s
        Simulated time in seconds (the history is labelled by ``time_s // 60``).
    queue_persons
        ``(N,)`` persons waiting.
    lanes_face, lanes_manual
        ``(N,)`` open lanes of each kind.
    arrived_persons, served_persons
        ``(N,)`` cumulative arrivals and persons served; ``arrived = served + queue``.
    minute_arrived_persons, minute_served_persons
        ``(N,)`` totals since the last history row.
    history_minute
        ``(R,)`` minute label of each ring row (``-1`` = empty).
    history_queue_persons, history_wait_s
        ``(R, N)`` queue and :func:`mean_wait_now_s` when the row was written.
    history_arrived_persons, history_served_persons
        ``(R, N)`` arrivals and served persons since the previous row.
    history_next
        Index of the ring row to write next.
    face_rate_pps, manual_rate_pps
        ``(N,)`` service rate of one lane of each kind estimated from counted scans (persons per
        second; :mod:`twin.feeds.checkpoint_assimilation`), ``nan`` where none was observed yet;
        ``None`` (no feed yet) for the specs' rates everywhere. Where set, they replace the
        specs' rates in the capacity, the wait prediction and the lane advice.
    assimilated_arrived_persons
        ``(N,)`` persons added to (or, negative, removed from) the arrivals by assimilation, part
        of ``arrived_persons``; ``None`` before any feed.
    assimilated_added_persons
        ``(N,)`` net persons the assimilation added to the pedestrians at each checkpoint (its
        arrivals plus served persons it could not take back), so the crowd's conservation can
        account for them; ``None`` before any feed.
    """

    time_s: float
    queue_persons: FloatArray
    lanes_face: IntArray
    lanes_manual: IntArray
    arrived_persons: FloatArray
    served_persons: FloatArray
    minute_arrived_persons: FloatArray
    minute_served_persons: FloatArray
    history_minute: IntArray
    history_queue_persons: FloatArray
    history_wait_s: FloatArray
    history_arrived_persons: FloatArray
    history_served_persons: FloatArray
    history_next: int = 0
    face_rate_pps: FloatArray | None = None
    manual_rate_pps: FloatArray | None = None
    assimilated_arrived_persons: FloatArray | None = None
    assimilated_added_persons: FloatArray | None = None

    def copy(self) -> CheckpointState:
        arrays = {
            name: value.copy()
            for name, value in vars(self).items()
            if isinstance(value, np.ndarray)
        }
        return replace(self, **arrays)


def capacity_pps(specs: Sequence[CheckpointSpec], state: CheckpointState) -> FloatArray:
    """``(N,)`` service capacity of the open lanes, persons per second."""
    _check_state(specs, state)
    face_rate, manual_rate = _rates(specs, state)
    return state.lanes_face * face_rate + state.lanes_manual * manual_rate


def new_state(
    specs: Sequence[CheckpointSpec],
    *,
    time_s: float = 0.0,
    history_minutes: int = HISTORY_MINUTES,
) -> CheckpointState:
    """Empty queues with the planned lanes open."""
    check_specs(specs)
    if not (_is_count(history_minutes) and history_minutes >= 1):
        raise ValueError(f"'history_minutes' must be a whole number >= 1, got {history_minutes!r}")
    n = len(specs)
    rows = (history_minutes, n)
    return CheckpointState(
        time_s=float(time_s),
        queue_persons=np.zeros(n),
        lanes_face=np.array([s.lanes_face for s in specs], dtype=np.int64),
        lanes_manual=np.array([s.lanes_manual for s in specs], dtype=np.int64),
        arrived_persons=np.zeros(n),
        served_persons=np.zeros(n),
        minute_arrived_persons=np.zeros(n),
        minute_served_persons=np.zeros(n),
        history_minute=np.full(history_minutes, -1, dtype=np.int64),
        history_queue_persons=np.zeros(rows),
        history_wait_s=np.zeros(rows),
        history_arrived_persons=np.zeros(rows),
        history_served_persons=np.zeros(rows),
    )


def _rates(
    specs: Sequence[CheckpointSpec], state: CheckpointState | None = None
) -> tuple[FloatArray, FloatArray]:
    """``(N,)`` rates of one face and one manual lane (persons/s): the observed estimates in
    ``state`` where it holds one, the specs' rates elsewhere."""
    face = np.array([s.face_rate_pps for s in specs], dtype=float)
    manual = np.array([s.manual_rate_pps for s in specs], dtype=float)
    if state is not None:
        for rates, observed in ((face, state.face_rate_pps), (manual, state.manual_rate_pps)):
            if observed is not None:
                np.copyto(rates, observed, where=np.isfinite(observed) & (observed > 0))
    return face, manual


def lane_rates_pps(
    specs: Sequence[CheckpointSpec], state: CheckpointState
) -> tuple[FloatArray, FloatArray]:
    """``(face, manual)``: ``(N,)`` service rate of one lane of each kind in use (persons/s),
    the rate estimated from counted scans where there is one, else the spec's."""
    _check_state(specs, state)
    return _rates(specs, state)


def step(
    specs: Sequence[CheckpointSpec],
    state: CheckpointState,
    arrivals_persons: npt.ArrayLike,
    dt_s: float,
) -> FloatArray:
    """Advance every checkpoint by ``dt_s`` in place; return the persons served.

    Parameters
    ----------
    specs
        The checkpoints (``specs[i].checkpoint_id == i``).
    state
        The state to advance (mutated).
    arrivals_persons
        ``(N,)`` persons joining each queue during this step, ``>= 0``.
    dt_s
        Step length in seconds, ``> 0``.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` persons served (passed through) during the step.
    """
    n = len(specs)
    arrivals = np.asarray(arrivals_persons, dtype=float)
    if arrivals.shape != (n,):
        raise ValueError(f"'arrivals_persons' must have shape ({n},), got {arrivals.shape}")
    if not np.all(np.isfinite(arrivals)) or np.any(arrivals < 0):
        raise ValueError("'arrivals_persons' must be finite and >= 0")
    if not (np.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"'dt_s' must be a finite number > 0, got {dt_s!r}")
    capacity = capacity_pps(specs, state)
    available = state.queue_persons + arrivals
    served = np.minimum(available, capacity * open_s(specs, state.time_s, dt_s))
    state.queue_persons = available - served
    state.arrived_persons += arrivals
    state.served_persons += served
    state.minute_arrived_persons += arrivals
    state.minute_served_persons += served
    minute_before = int(state.time_s // 60)
    state.time_s += dt_s
    minute_now = int(state.time_s // 60)
    if minute_now > minute_before:
        _write_history(state, minute_now - 1, mean_wait_now_s(specs, state))
    return served


def _write_history(state: CheckpointState, minute: int, wait_s: FloatArray) -> None:
    row = state.history_next
    state.history_minute[row] = minute
    state.history_queue_persons[row] = state.queue_persons
    state.history_wait_s[row] = wait_s
    state.history_arrived_persons[row] = state.minute_arrived_persons
    state.history_served_persons[row] = state.minute_served_persons
    state.minute_arrived_persons[:] = 0.0
    state.minute_served_persons[:] = 0.0
    state.history_next = (row + 1) % len(state.history_minute)


def history(state: CheckpointState) -> dict[str, FloatArray | IntArray]:
    """The filled rows of the per-minute history ring, oldest first.

    Returns
    -------
    dict
        ``minute`` ``(R,)`` (the minute each row closes, ``time_s // 60 - 1`` at writing),
        ``queue_persons``, ``wait_s``, ``arrived_persons``, ``served_persons`` ``(R, N)``.
    """
    order = np.roll(np.arange(len(state.history_minute)), -state.history_next)
    order = order[state.history_minute[order] >= 0]
    return {
        "minute": state.history_minute[order],
        "queue_persons": state.history_queue_persons[order],
        "wait_s": state.history_wait_s[order],
        "arrived_persons": state.history_arrived_persons[order],
        "served_persons": state.history_served_persons[order],
    }


def _wait_s(queue_persons: FloatArray, service_pps: FloatArray) -> FloatArray:
    """Queue / capacity; 0 for an empty queue, inf for a queue with no lane open."""
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = queue_persons / service_pps
    return np.where(queue_persons > 0, wait, 0.0)


def mean_wait_now_s(specs: Sequence[CheckpointSpec], state: CheckpointState) -> FloatArray:
    """``(N,)`` wait of a visitor joining now (at ``state.time_s``), the last in the queue:
    queue / service capacity (Little's law), plus the time the doors stay closed before the
    queue is served (module docstring).

    ``inf`` where persons queue and no lane is open; 0 for an empty queue.
    """
    work = _wait_s(state.queue_persons, capacity_pps(specs, state))  # open seconds needed
    wait = work.copy()
    time_s = float(state.time_s)
    for i, spec in enumerate(specs):  # as _door_wait_s at one time, in plain floats
        if spec.open_windows_s is not None and math.isfinite(work[i]) and work[i] > 0:
            wait[i] = _serve_time_one_s(_door_table(spec.open_windows_s), time_s, float(work[i]))
    return wait


def _check_state(specs: Sequence[CheckpointSpec], state: CheckpointState) -> None:
    if len(state.queue_persons) != len(specs):
        raise ValueError(
            f"'state' has {len(state.queue_persons)} checkpoints, 'specs' has {len(specs)}"
        )


def predict_wait_s(
    specs: Sequence[CheckpointSpec],
    state: CheckpointState,
    arrival_rate_forecast_pps: npt.ArrayLike,
    *,
    dt_s: float,
    lanes_face: npt.ArrayLike | None = None,
    lanes_manual: npt.ArrayLike | None = None,
) -> FloatArray:
    """Fluid-queue forecast of the wait (s) over the horizon ``T * dt_s``.

    Parameters
    ----------
    specs, state
        The checkpoints and their current state (not changed).
    arrival_rate_forecast_pps
        ``(T, N)`` arrival rate per forecast step (persons per second).
    dt_s
        Forecast step in seconds.
    lanes_face, lanes_manual
        ``(N,)`` candidate lanes (default: the lanes open now), to preview an action.

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` wait of a visitor joining at the end of each step (the forecast starts at
        ``state.time_s``): a checkpoint serves only while its doors are open (capacity 0 before,
        then the lanes' capacity), and the wait counts the time the doors are still closed (the
        module docstring's rule).
    """
    _check_state(specs, state)
    forecast = _forecast(arrival_rate_forecast_pps, len(specs))
    face = state.lanes_face if lanes_face is None else np.asarray(lanes_face)
    manual = state.lanes_manual if lanes_manual is None else np.asarray(lanes_manual)
    face_rate, manual_rate = _rates(specs, state)
    capacity = face * face_rate + manual * manual_rate
    steps_s = state.time_s + dt_s * np.arange(len(forecast))
    open_share = open_s(specs, steps_s, dt_s) / dt_s  # (T, N): capacity 0 while the doors are shut
    queue = fluid_queue(state.queue_persons, forecast, capacity * open_share, dt_s)
    return _door_wait_s(specs, queue, np.broadcast_to(capacity, queue.shape), steps_s + dt_s)


def _forecast(arrival_rate_forecast_pps: npt.ArrayLike, n: int) -> FloatArray:
    forecast = np.asarray(arrival_rate_forecast_pps, dtype=float)
    if forecast.ndim != 2 or forecast.shape[1] != n or forecast.shape[0] < 1:
        raise ValueError(
            f"'arrival_rate_forecast_pps' must have shape (T, {n}) with T >= 1, "
            f"got {forecast.shape}"
        )
    if not np.all(np.isfinite(forecast)) or np.any(forecast < 0):
        raise ValueError("'arrival_rate_forecast_pps' must be finite and >= 0")
    return forecast


@dataclass(frozen=True)
class LaneAdvice:
    """Fewest lanes keeping the wait under target, per checkpoint.

    Attributes
    ----------
    lanes_face, lanes_manual
        ``(N,)`` recommended open lanes (face e-gates are opened first, being 4x faster).
    steady_lanes
        ``(N,)`` lanes needed by Erlang C at the forecast's peak rate.
    transient_lanes
        ``(N,)`` lanes needed by the fluid queue over the forecast.
    predicted_max_wait_s
        ``(N,)`` largest fluid-queue ``queue / capacity`` over the forecast with the recommended
        lanes (the time the doors stay closed left out).
    feasible
        ``(N,)`` false where even ``max_lanes`` misses the target (the advice is then all
        lanes open).
    """

    lanes_face: IntArray
    lanes_manual: IntArray
    steady_lanes: IntArray
    transient_lanes: IntArray
    predicted_max_wait_s: FloatArray
    feasible: BoolArray


def lane_mix(spec: CheckpointSpec, total_lanes: int) -> tuple[int, int]:
    """``(face, manual)`` for a total lane count: face e-gates first, then manual lanes."""
    face = min(total_lanes, spec.face_lane_limit)
    return face, total_lanes - face


def recommended_lanes(
    specs: Sequence[CheckpointSpec],
    state: CheckpointState,
    arrival_rate_forecast_pps: npt.ArrayLike,
    *,
    dt_s: float,
    target_wait_s: float,
    min_lanes: int = 1,
) -> LaneAdvice:
    """Fewest lanes whose predicted wait stays at or under ``target_wait_s``.

    Two criteria, and the advice takes the larger lane count:

    - steady state: Erlang C mean wait at the forecast's peak arrival rate, with ``n``
      lanes of the mean lane rate of the mix (an M/M/n approximation of mixed lanes);
    - transient: the fluid queue from the current queue over the whole forecast (serving only
      while the doors are open), whose largest ``queue / capacity`` must be within target. The
      time the doors stay closed is left out (no lane shortens it): a queue built before the
      doors open must clear within the target once they open.

    Parameters
    ----------
    specs, state
        The checkpoints and their current state (not changed).
    arrival_rate_forecast_pps
        ``(T, N)`` arrival rate per forecast step (persons per second).
    dt_s
        Forecast step in seconds.
    target_wait_s
        Target wait in seconds, ``>= 0``.
    min_lanes
        Fewest lanes to keep open even without arrivals.

    Returns
    -------
    LaneAdvice
    """
    _check_state(specs, state)
    forecast = _forecast(arrival_rate_forecast_pps, len(specs))
    if not (np.isfinite(target_wait_s) and target_wait_s >= 0):
        raise ValueError(f"'target_wait_s' must be a finite number >= 0, got {target_wait_s!r}")
    if not _is_count(min_lanes):
        raise ValueError(f"'min_lanes' must be a whole number >= 0, got {min_lanes!r}")
    open_share = open_s(specs, state.time_s + dt_s * np.arange(len(forecast)), dt_s) / dt_s
    face_rate, manual_rate = _rates(specs, state)
    advice = [
        _advise(
            replace(spec, face_rate_pps=face_rate[i], manual_rate_pps=manual_rate[i]),
            state.queue_persons[i],
            forecast[:, i],
            open_share[:, i],
            dt_s,
            target_wait_s,
            min_lanes,
        )
        for i, spec in enumerate(specs)
    ]
    columns = list(zip(*advice, strict=True))
    return LaneAdvice(
        lanes_face=np.array(columns[0], dtype=np.int64),
        lanes_manual=np.array(columns[1], dtype=np.int64),
        steady_lanes=np.array(columns[2], dtype=np.int64),
        transient_lanes=np.array(columns[3], dtype=np.int64),
        predicted_max_wait_s=np.array(columns[4], dtype=float),
        feasible=np.array(columns[5], dtype=bool),
    )


def _advise(
    spec: CheckpointSpec,
    queue0: float,
    rate_pps: FloatArray,
    open_share: FloatArray,
    dt_s: float,
    target_wait_s: float,
    min_lanes: int,
) -> tuple[int, int, int, int, float, bool]:
    counts = np.arange(spec.max_lanes + 1)
    mixes = [lane_mix(spec, int(n)) for n in counts]
    capacity = np.array([f * spec.face_rate_pps + m * spec.manual_rate_pps for f, m in mixes])
    # transient: every candidate count at once, (T, n_candidates); no service while doors are shut
    queue = fluid_queue(
        np.full(len(counts), queue0),
        np.repeat(rate_pps[:, None], len(counts), 1),
        open_share[:, None] * capacity,
        dt_s,
    )
    max_wait = _wait_s(queue, np.broadcast_to(capacity, queue.shape)).max(axis=0)
    transient_ok = max_wait <= target_wait_s
    peak = float(rate_pps.max())
    steady_ok = np.array([_steady_ok(peak, capacity[n], int(n), target_wait_s) for n in counts])
    n_transient = _first(transient_ok, min_lanes, spec.max_lanes)
    n_steady = _first(steady_ok, min_lanes, spec.max_lanes)
    n = min(max(n_transient, n_steady), spec.max_lanes)
    feasible = bool(transient_ok[n] and steady_ok[n])
    face, manual = mixes[n]
    return face, manual, n_steady, n_transient, float(max_wait[n]), feasible


def _steady_ok(arrival_pps: float, service_pps: float, lanes: int, target_wait_s: float) -> bool:
    if arrival_pps == 0.0:
        return True
    if lanes == 0 or arrival_pps >= service_pps:
        return False
    return erlang_c_mean_wait_s(arrival_pps, service_pps / lanes, lanes) <= target_wait_s


def _first(ok: BoolArray, min_lanes: int, max_lanes: int) -> int:
    """Smallest count ``>= min_lanes`` that is ok (ok is monotone in the count), else max."""
    candidates = np.flatnonzero(ok[min(min_lanes, max_lanes) :]) + min(min_lanes, max_lanes)
    return int(candidates[0]) if len(candidates) else max_lanes


def set_lanes(
    specs: Sequence[CheckpointSpec],
    state: CheckpointState,
    checkpoint_id: int,
    lane_type: str,
    count: int,
) -> int:
    """Open or close lanes of one kind at one checkpoint (an operator action).

    Returns
    -------
    int
        The previous count of that kind, for the audit log.

    Raises
    ------
    ActionError
        Unknown checkpoint or lane type, a count that is not a whole number >= 0, above the
        installed face gates, or one that would take the open lanes above ``max_lanes``.
        The state is unchanged.
    """
    if not _is_count(checkpoint_id) or checkpoint_id >= len(specs):
        raise ActionError(
            f"checkpoint_id: {checkpoint_id!r} is not a checkpoint "
            f"(expected a whole number 0..{len(specs) - 1})"
        )
    if lane_type not in LANE_TYPES:
        raise ActionError(f"lane_type: must be 'face' or 'manual', got {lane_type!r}")
    if not _is_count(count):
        raise ActionError(f"count: must be a whole number >= 0, got {count!r}")
    spec = specs[checkpoint_id]
    where = f"checkpoint {checkpoint_id} {spec.name!r}"
    face = count if lane_type == "face" else int(state.lanes_face[checkpoint_id])
    manual = count if lane_type == "manual" else int(state.lanes_manual[checkpoint_id])
    if face > spec.face_lane_limit:
        raise ActionError(
            f"count: {count} face lanes exceed the {spec.face_lane_limit} "
            f"face e-gates installed at {where}"
        )
    if face + manual > spec.max_lanes:
        raise ActionError(
            f"count: {face} face + {manual} manual lanes would exceed "
            f"max_lanes={spec.max_lanes} at {where}"
        )
    lanes = state.lanes_face if lane_type == "face" else state.lanes_manual
    previous = int(lanes[checkpoint_id])
    lanes[checkpoint_id] = count
    return previous


# -------------------------------------------------------------------------- placement


def default_checkpoints(
    facilities: object,
    *,
    crs_m: str = "EPSG:32652",
    entrance_offset_m: float = ENTRANCE_OFFSET_M,
    entry_window_s: float = ENTRY_WINDOW_S,
    face_share: float = FACE_LANE_SHARE,
    spare_share: float = SPARE_LANE_SHARE,
    face_rate_pps: float = FACE_LANE_RATE_PPS,
    manual_rate_pps: float = MANUAL_LANE_RATE_PPS,
) -> tuple[CheckpointSpec, ...]:
    """Place checkpoints at venue entrances and park gates from the facilities table.

    Placement rule (the extract has venue *points*, not footprints or doors):

    - one checkpoint per venue (``kind == 'venue'``), at the venue point moved
      ``entrance_offset_m`` toward the nearest park gate (at most half-way to it), i.e. on
      the side visitors come from; at the venue point if there is no gate;
    - one checkpoint per park gate (``kind == 'gate'``), at the gate point;
    - names are ``"<name_en> entrance"`` / ``"<name_en> checkpoint"``, dropping a trailing
      parenthetical of ``name_en``.

    Sizing rule: ``n = ceil(design_persons / (manual_rate_pps * entry_window_s))`` lanes (at
    least 1), so the design crowd passes in ``entry_window_s`` even at the manual rate;
    ``face_share * n`` (rounded half up) of them are face e-gates, the rest manual; ``max_lanes`` adds
    ``ceil(spare_share * n)`` (at least 1) spare positions. The design crowd of a venue is
    its ``capacity``; of a gate, its own ``capacity`` if given, else the capacity of the
    venues whose nearest gate it is. A venue without capacity gets one lane, with a warning.

    Parameters
    ----------
    facilities
        GeoDataFrame with columns ``id``, ``kind``, ``name_en``, ``capacity`` and Point
        geometry in any CRS (EPSG:4326 in the scenario).
    crs_m
        Projected CRS (metres) of the checkpoint coordinates.

    Returns
    -------
    tuple of CheckpointSpec
        Venues first (in table order), then gates; ids ``0..N-1``.
    """
    import geopandas as gpd

    if not isinstance(facilities, gpd.GeoDataFrame):
        raise TypeError(f"'facilities' should be GeoDataFrame, got {type(facilities).__name__}")
    missing = [c for c in ("id", "kind", "name_en", "capacity") if c not in facilities.columns]
    if missing:
        raise ScenarioError(f"facilities: missing column(s) {missing}")
    if facilities.crs is None:
        raise ScenarioError("facilities: the GeoDataFrame has no CRS (expected EPSG:4326)")
    for name, value in (
        ("entrance_offset_m", entrance_offset_m),
        ("entry_window_s", entry_window_s),
    ):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"'{name}' must be a finite number >= 0, got {value!r}")
    for name, value in (("face_share", face_share), ("spare_share", spare_share)):
        if not (0.0 <= value <= 1.0):
            raise ValueError(f"'{name}' must be within [0, 1], got {value!r}")
    projected = facilities.to_crs(crs_m)
    points = projected[projected["kind"].isin(["venue", "gate"])]
    if not points.geometry.geom_type.eq("Point").all():
        raise ScenarioError("facilities: venues and gates must be Point geometries")
    venues = points[points["kind"] == "venue"]
    gates = points[points["kind"] == "gate"]
    venue_xy = (
        np.column_stack([venues.geometry.x, venues.geometry.y]) if len(venues) else np.empty((0, 2))
    )
    gate_xy = (
        np.column_stack([gates.geometry.x, gates.geometry.y]) if len(gates) else np.empty((0, 2))
    )
    capacity = _capacities(venues)
    nearest_gate = _nearest(venue_xy, gate_xy)

    def sized(design_persons: float) -> dict[str, int]:
        return planned_lanes(
            design_persons,
            manual_rate_pps=manual_rate_pps,
            entry_window_s=entry_window_s,
            face_share=face_share,
            spare_share=spare_share,
        )

    specs: list[CheckpointSpec] = []
    for i, venue in enumerate(venues.itertuples(index=False)):
        x_m, y_m = _toward(
            venue_xy[i], gate_xy[nearest_gate[i]] if len(gate_xy) else None, entrance_offset_m
        )
        specs.append(
            CheckpointSpec(
                checkpoint_id=len(specs),
                name=f"{_short(venue.name_en)} entrance",
                venue_id=str(venue.id),
                x_m=x_m,
                y_m=y_m,
                **sized(capacity[i]),
                face_rate_pps=face_rate_pps,
                manual_rate_pps=manual_rate_pps,
                kind="venue_entrance",
                facility_id=str(venue.id),
            )
        )
    for j, gate in enumerate(gates.itertuples(index=False)):
        own = float(_number(gate.capacity))
        design = own if np.isfinite(own) and own > 0 else float(capacity[nearest_gate == j].sum())
        specs.append(
            CheckpointSpec(
                checkpoint_id=len(specs),
                name=f"{_short(gate.name_en)} checkpoint",
                venue_id=None,
                x_m=float(gate_xy[j, 0]),
                y_m=float(gate_xy[j, 1]),
                **sized(design),
                face_rate_pps=face_rate_pps,
                manual_rate_pps=manual_rate_pps,
                kind="park_gate",
                facility_id=str(gate.id),
            )
        )
    return tuple(specs)


def planned_lanes(
    design_persons: float,
    *,
    manual_rate_pps: float = MANUAL_LANE_RATE_PPS,
    entry_window_s: float = ENTRY_WINDOW_S,
    face_share: float = FACE_LANE_SHARE,
    spare_share: float = SPARE_LANE_SHARE,
) -> dict[str, int]:
    """Lanes that pass ``design_persons`` in ``entry_window_s`` at the manual rate (the sizing
    rule of :func:`default_checkpoints`).

    Returns
    -------
    dict
        ``lanes_face``, ``lanes_manual`` (the plan, at least one lane) and ``max_lanes`` (the
        plan plus ``ceil(spare_share * plan)`` spare positions, at least one), ready for
        :func:`dataclasses.replace` on a :class:`CheckpointSpec`.
    """
    if not (np.isfinite(design_persons) and design_persons >= 0):
        raise ValueError(f"'design_persons' must be a finite number >= 0, got {design_persons!r}")
    lane_rate = manual_rate_pps * entry_window_s
    planned = max(1, math.ceil(design_persons / lane_rate)) if lane_rate > 0 else 1
    face = math.floor(face_share * planned + 0.5)
    return {
        "lanes_face": face,
        "lanes_manual": planned - face,
        "max_lanes": planned + max(1, math.ceil(spare_share * planned)),
    }


def _short(name: object) -> str:
    """Display name without its parenthetical: 'KSPO Dome (Olympic ...)' -> 'KSPO Dome'."""
    return str(name).split(" (")[0].strip()


def _number(value: object) -> float:
    """A table cell as a float; NaN for blanks and text."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number


def _capacities(venues: object) -> FloatArray:
    capacity = np.array([_number(v) for v in venues["capacity"]], dtype=float)  # type: ignore[index]
    bad = ~np.isfinite(capacity) | (capacity < 0)
    if bad.any():
        names = [str(n) for n in np.asarray(venues["name_en"])[bad]]  # type: ignore[index]
        warnings.warn(f"venues without a capacity get one checkpoint lane: {names}", stacklevel=3)
    return np.where(bad, 0.0, capacity)


def _nearest(from_xy: FloatArray, to_xy: FloatArray) -> IntArray:
    if len(to_xy) == 0 or len(from_xy) == 0:
        return np.full(len(from_xy), -1, dtype=np.int64)
    distance = np.hypot(
        from_xy[:, None, 0] - to_xy[None, :, 0], from_xy[:, None, 1] - to_xy[None, :, 1]
    )
    return np.argmin(distance, axis=1)


def _toward(origin: FloatArray, target: FloatArray | None, offset_m: float) -> tuple[float, float]:
    if target is None:
        return float(origin[0]), float(origin[1])
    delta = target - origin
    length = float(np.hypot(*delta))
    if length == 0:
        return float(origin[0]), float(origin[1])
    moved = min(offset_m, length / 2) / length
    return float(origin[0] + delta[0] * moved), float(origin[1] + delta[1] * moved)
