"""Checkpoint assimilation: counted scans set served counts, queues and lane service rates.

Method: direct insertion of the counts with a persons ledger (the checkpoint queue is a fluid
queue, :mod:`twin.crowd.checkpoints`, whose state is fully determined by its cumulative counts:
``queue = arrived - served``), plus an exponentially smoothed estimate of each lane type's service
rate (the "observed service rate" of queueing practice: persons screened per busy lane and
second, as in the airport and stadium screening studies the checkpoint module cites).

For every counted interval ``[t0, t1)`` of a checkpoint (rows of
:class:`twin.feeds.batch.CheckpointCounts`, summed over lane types):

- **served**: the model's own served persons over the interval (from the checkpoint's per-minute
  history, which holds only the model's dynamics, never a correction) are compared with the
  scans; the difference ``dS`` is added to the cumulative served count. The persons move on: at a
  venue entrance into the venue (``inside``), at a park gate to the gate's walking sources (split
  over venues by the queue's mix, as the model's own service is). A negative ``dS`` (the model
  served more than were scanned) takes them back from there, as far as they are still there.
- **arrivals** (only where a counter measured them, ``arrived_persons`` not ``nan``): the
  difference ``dA`` to the model's arrivals is added to the cumulative arrivals.
- **queue**: ``queue += dA - dS`` (so ``arrived = served + queue`` stays exact). A queue that
  would go below zero (counts inconsistent with the model's queue) is set to zero and the
  missing persons are counted as arrivals.
- Every person the correction adds to or removes from the pedestrians is booked in
  ``CheckpointState.assimilated_added_persons``, so the crowd's conservation law reads
  ``offered + added = on grid + at sources + in queues + inside + gone`` (tested), and the part
  booked as arrivals in ``assimilated_arrived_persons``.
- An interval reaching past the checkpoint model's clock (the feed may run slightly ahead, within
  the ingest's tolerance) is compared over the part the model has run only, with the counts
  scaled by that share.

**Service rate** per checkpoint and lane type: ``served / (lanes in use x open seconds)`` of each
row is a measurement of one lane's rate if the lanes were busy throughout the interval, which is
certain when the queue at its start (after the correction: the queue at the end plus the served
minus the arrivals of the interval) held at least everyone served in it, and a queue (at least
:data:`MIN_QUEUE_PERSONS`) still stands at its end (a sufficient condition: the lanes never ran
dry). It is blended into the estimate with weight
``1 - exp(-interval_s / RATE_SMOOTHING_S)`` (an exponential moving average, starting from the
spec's rate). Without a queue the lanes idled part of the time, so the measurement is only a
lower bound: it raises the estimate when above it and is otherwise ignored. Estimates stay
within ``RATE_BOUNDS`` x the spec's rate (a plausibility band against a miscounting scanner).
The estimates live in ``CheckpointState.face_rate_pps`` / ``manual_rate_pps``, so the capacity,
the wait prediction (:func:`twin.crowd.checkpoints.predict_wait_s`), the lane advice
(:func:`twin.crowd.checkpoints.recommended_lanes`) and every forecast started from this state use
them.

Deterministic: rows are taken in order of (interval end, checkpoint, lane type) and every step
is plain numpy arithmetic, so a replay re-applying the recorded batch reproduces the state bit for
bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin.crowd import checkpoints, pedestrians

if TYPE_CHECKING:
    from twin.crowd.checkpoints import CheckpointSpec, CheckpointState
    from twin.crowd.pedestrians import Layout, PedestrianState
    from twin.engine import Engine
    from twin.feeds.batch import CheckpointCounts

FloatArray = npt.NDArray[np.float64]

RATE_SMOOTHING_S = 600.0
"""Time constant (s) of the exponential smoothing of the observed lane service rates."""
RATE_BOUNDS = (0.2, 3.0)
"""An estimated lane rate stays within these multiples of the spec's rate."""
MIN_QUEUE_PERSONS = 1.0
"""A queue shorter than this at an interval's end (a rounding residue) does not make lanes busy."""
MIN_OPEN_SHARE = 0.5
"""A row measures a lane rate only if the doors were open at least this share of its interval."""


def modelled_counts(
    state: CheckpointState, start_s: FloatArray, end_s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The model's own arrivals and served persons over ``[start_s, end_s)``, per row.

    Parameters
    ----------
    state
        The checkpoints' state (its per-minute history and the current minute's totals).
    start_s, end_s
        ``(K, N)`` or ``(N,)`` interval bounds, seconds since midnight.

    Returns
    -------
    tuple of numpy.ndarray
        ``arrived_persons``, ``served_persons`` (each minute's totals taken in proportion to its
        overlap with the interval) and ``covered`` (share of each interval the model has run,
        0..1), shaped like ``start_s``.
    """
    start, end = np.asarray(start_s, dtype=float), np.asarray(end_s, dtype=float)
    n = state.queue_persons.shape[0]
    filled = state.history_minute >= 0
    minute_start = state.history_minute[filled] * 60.0  # (R,)
    current_start = np.floor(state.time_s / 60.0) * 60.0
    bounds_start = np.concatenate([minute_start, [current_start]])
    bounds_end = np.concatenate([minute_start + 60.0, [state.time_s]])
    arrived = np.vstack([state.history_arrived_persons[filled], state.minute_arrived_persons])
    served = np.vstack([state.history_served_persons[filled], state.minute_served_persons])
    span = np.maximum(bounds_end - bounds_start, 1e-9)
    overlap = np.clip(
        np.minimum(bounds_end, end[..., None]) - np.maximum(bounds_start, start[..., None]),
        0.0,
        None,
    )  # (..., N, R+1)
    share = overlap / span
    out_arrived = np.einsum("...nr,rn->...n", share, arrived.reshape(-1, n))
    out_served = np.einsum("...nr,rn->...n", share, served.reshape(-1, n))
    length = np.maximum(end - start, 1e-9)
    covered = np.clip((np.minimum(end, state.time_s) - start) / length, 0.0, 1.0)
    return out_arrived, out_served, covered


def assimilate_checkpoints(engine: Engine, counts: CheckpointCounts) -> dict[str, Any]:
    """Correct ``engine``'s checkpoint queues, counts and lane rates from ``counts``.

    Runs in the loop thread after the batch is recorded (the module docstring gives the method).
    The batch must have been validated (indices, lane types, non-negative counts).

    Parameters
    ----------
    engine
        The live (or replaying) engine; its pedestrians' state is changed in place.
    counts
        Validated checkpoint counts.

    Returns
    -------
    dict
        Plain figures for the audit and recording (see :func:`assimilate_counts`); ``{"assimilated":
        0}`` for a scenario without checkpoints.
    """
    layout: Layout | None = getattr(engine, "pedestrians", None)
    if layout is None:
        return {"assimilated": 0, "intervals": 0}
    people: PedestrianState = engine.state.extras[pedestrians.KEY]

    def downstream(d_served: FloatArray, booked: FloatArray, queue_new: FloatArray) -> FloatArray:
        return _move_downstream(layout, people, d_served, booked, queue_new)

    return assimilate_counts(layout.specs, people.checkpoints, counts, downstream=downstream)


Downstream = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]


def assimilate_counts(
    specs: Sequence[CheckpointSpec],
    state: CheckpointState,
    counts: CheckpointCounts,
    *,
    downstream: Downstream | None = None,
) -> dict[str, Any]:
    """Correct a checkpoint state from counts (the method of the module docstring).

    Parameters
    ----------
    specs, state
        The checkpoints and their state (changed in place).
    counts
        Validated checkpoint counts.
    downstream
        ``downstream(d_served, booked_arrivals, queue_new) -> moved`` moves each interval's served
        correction past the checkpoints and returns the persons moved; ``None``: the served
        persons leave (all of a positive correction; a negative one is booked as added persons).

    Returns
    -------
    dict
        ``assimilated`` (rows used), ``intervals``, ``served_correction_persons``,
        ``arrived_correction_persons``, ``added_persons`` (net persons the correction added) and
        ``rate_updates``.
    """
    n = len(specs)
    if len(counts) == 0:
        return {"assimilated": 0, "intervals": 0}
    index = np.asarray(counts.checkpoint_index, dtype=np.int64)
    if np.any((index < 0) | (index >= n)):
        raise ValueError(f"checkpoint_index must be within 0..{n - 1} (validate the batch first)")
    _ensure_ledgers(specs, state)
    order = np.lexsort((counts.lane_type, index, counts.interval_end_s))
    ends = np.asarray(counts.interval_end_s, dtype=float)[order]
    totals = {"served": 0.0, "arrived": 0.0, "added": 0.0, "rates": 0}
    groups = np.split(order, np.flatnonzero(np.diff(ends)) + 1)
    for rows in groups:
        _assimilate_interval(specs, state, counts, rows, totals, downstream)
    return {
        "assimilated": int(len(counts)),
        "intervals": len(groups),
        "served_correction_persons": totals["served"],
        "arrived_correction_persons": totals["arrived"],
        "added_persons": totals["added"],
        "rate_updates": int(totals["rates"]),
    }


def _ensure_ledgers(specs: Sequence[CheckpointSpec], cp: CheckpointState) -> None:
    n = len(specs)
    if cp.face_rate_pps is None:
        cp.face_rate_pps = np.array([s.face_rate_pps for s in specs], dtype=float)
    if cp.manual_rate_pps is None:
        cp.manual_rate_pps = np.array([s.manual_rate_pps for s in specs], dtype=float)
    if cp.assimilated_arrived_persons is None:
        cp.assimilated_arrived_persons = np.zeros(n)
    if cp.assimilated_added_persons is None:
        cp.assimilated_added_persons = np.zeros(n)


def _assimilate_interval(
    specs: Sequence[CheckpointSpec],
    cp: CheckpointState,
    counts: CheckpointCounts,
    rows: npt.NDArray[np.int64],
    totals: dict[str, float],
    downstream: Downstream | None,
) -> None:
    """Apply the rows of one interval end (all checkpoints and lane types at once)."""
    n = len(specs)
    index = counts.checkpoint_index[rows]
    end_s = float(counts.interval_end_s[rows[0]])
    start = np.full(n, end_s)
    np.minimum.at(start, index, end_s - counts.interval_s[rows])
    seen = np.zeros(n, dtype=bool)
    seen[index] = True
    served_obs = np.bincount(index, counts.served_persons[rows], n)
    arrived_rows = counts.arrived_persons[rows]
    counted = np.isfinite(arrived_rows)
    arrived_obs = np.bincount(index[counted], arrived_rows[counted], n)
    has_arrivals = np.zeros(n, dtype=bool)
    has_arrivals[index[counted]] = True
    model_arrived, model_served, covered = modelled_counts(cp, start, np.full(n, end_s))
    d_served = np.where(seen, served_obs * covered - model_served, 0.0)
    d_arrived = np.where(seen & has_arrivals, arrived_obs * covered - model_arrived, 0.0)
    queue_new = cp.queue_persons + d_arrived - d_served
    shortfall = np.maximum(-queue_new, 0.0)  # counts inconsistent with the queue: they arrived
    booked = d_arrived + shortfall
    queue_new = queue_new + shortfall
    moved = (
        np.maximum(d_served, 0.0) if downstream is None else downstream(d_served, booked, queue_new)
    )
    added = booked + moved - d_served
    cp.queue_persons = queue_new
    cp.arrived_persons += booked
    cp.served_persons += d_served
    cp.assimilated_arrived_persons += booked
    cp.assimilated_added_persons += added
    totals["served"] += float(d_served.sum())
    totals["arrived"] += float(booked.sum())
    totals["added"] += float(added.sum())
    # the lanes never idled if the queue at the interval's start held everyone served in it
    served_in = model_served + d_served
    queue_start = queue_new - (model_arrived + booked) + served_in
    busy = (queue_new >= MIN_QUEUE_PERSONS) & (served_in > 0) & (queue_start >= served_in) & seen
    totals["rates"] += _update_rates(specs, cp, counts, rows, end_s, busy)


def _move_downstream(
    layout: Layout,
    people: PedestrianState,
    d_served: FloatArray,
    d_arrived: FloatArray,
    queue_new: FloatArray,
) -> FloatArray:
    """Move the served correction past each checkpoint (into a venue, or to a gate's walking
    sources) and keep the gates' queues by venue summing to the new queues.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` persons actually moved downstream (``d_served`` where it is positive; a negative
        one is taken back only as far as the persons are still there).
    """
    moved = np.zeros_like(d_served)
    entrance = layout.venue_checkpoint
    back = np.minimum(-d_served[entrance], people.inside)
    moved[entrance] = np.where(d_served[entrance] >= 0, d_served[entrance], -back)
    people.inside += moved[entrance]
    for g, i in enumerate(layout.gate_checkpoint):  # a handful of gates
        flows = layout.gate_source[g] >= 0
        queue_mix = people.gate_queue_persons[g]
        weights = _mix(queue_mix + np.maximum(d_arrived[i], 0.0) * _mix(queue_mix, flows), flows)
        sources = layout.gate_source[g, flows]
        if d_served[i] >= 0:
            people.passed_gate_persons[sources] += d_served[i] * weights[flows]
            moved[i] = d_served[i]
        else:
            held = people.passed_gate_persons[sources]
            share = min(1.0, -d_served[i] / held.sum()) if held.sum() > 0 else 0.0
            people.passed_gate_persons[sources] = held * (1.0 - share)
            moved[i] = -held.sum() * share
        people.gate_queue_persons[g] = queue_new[i] * weights
    return moved


def _mix(persons_by_venue: FloatArray, flows: npt.NDArray[np.bool_]) -> FloatArray:
    """Shares over the venues a gate serves: the persons' mix, or equal shares without any."""
    persons = np.where(flows, np.maximum(persons_by_venue, 0.0), 0.0)
    total = persons.sum()
    if total > 0:
        return persons / total
    count = flows.sum()
    return flows / count if count else np.zeros_like(persons)


def _update_rates(
    specs: Sequence[CheckpointSpec],
    cp: CheckpointState,
    counts: CheckpointCounts,
    rows: npt.NDArray[np.int64],
    end_s: float,
    busy: npt.NDArray[np.bool_],
) -> int:
    """Blend each row's measured lane rate into the estimate; return how many rows did."""
    updated = 0
    for row in rows:  # one interval's rows: a few per checkpoint
        i, lane_type = int(counts.checkpoint_index[row]), int(counts.lane_type[row])
        interval_s = float(counts.interval_s[row])
        lanes = float(counts.lanes_in_use[row])
        if not np.isfinite(lanes):
            lanes = float((cp.lanes_face if lane_type == 0 else cp.lanes_manual)[i])
        open_s = float(checkpoints.open_s([specs[i]], end_s - interval_s, interval_s)[0])
        if lanes <= 0 or open_s < MIN_OPEN_SHARE * interval_s:
            continue
        measured = float(counts.served_persons[row]) / (lanes * open_s)
        estimates = cp.face_rate_pps if lane_type == 0 else cp.manual_rate_pps
        spec_rate = specs[i].face_rate_pps if lane_type == 0 else specs[i].manual_rate_pps
        if not busy[i] and measured <= estimates[i]:
            continue  # idle lanes: only a lower bound, and not above the estimate
        weight = 1.0 - np.exp(-interval_s / RATE_SMOOTHING_S)
        blended = estimates[i] + weight * (measured - estimates[i])
        estimates[i] = np.clip(blended, RATE_BOUNDS[0] * spec_rate, RATE_BOUNDS[1] * spec_rate)
        updated += 1
    return updated
