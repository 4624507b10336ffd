"""Run a staffing plan forward in a fork of the twin: the twin's own arrivals, queues and waits.

The checkpoints live in the pedestrians extension, which reads the schedule's demand and never
the traffic. :func:`run_lanes` therefore forks the engine and advances only the pedestrians
(:func:`twin.crowd.pedestrians.advance`, every ``CROWD_DT_S``, exactly as
:class:`twin.crowd.pedestrians.PedestrianExtension` does inside :meth:`twin.engine.Engine.step`)
with the plan's ``set_lanes`` actions applied through :meth:`twin.engine.Engine.apply` at their
minutes. The fork's traffic stays where it was (its clock follows the crowd's); a test checks the
checkpoint figures against a full engine run with the same actions. The pedestrians have no such
crowd-only forecast of their own (``Engine.forecast(crowd=False)`` is the traffic-only one), so
it is written here rather than in :mod:`twin.crowd`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from twin.crowd import checkpoints, pedestrians

if TYPE_CHECKING:
    from twin.engine import Engine

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ADVICE_FORECAST_S = 1800.0
"""Forecast the per-checkpoint advice looks at (the checkpoint table's 30 minutes)."""


@dataclass(frozen=True)
class LaneRun:
    """Per minute ``t`` of ``T`` (from the fork's start) and checkpoint ``j``.

    Attributes
    ----------
    start_s
        Time of day the run started (s since midnight).
    arrived_persons, served_persons, queue_persons
        ``(T, N)`` arrivals and persons served in the minute; queue at its end.
    wait_s
        ``(T, N)`` the twin's wait at the minute's end
        (:func:`twin.crowd.checkpoints.mean_wait_now_s`).
    doors_open
        ``(T, N)`` doors open at the minute's end (the wait counts; it holds no door time).
    lanes_face, lanes_manual
        ``(T, N)`` lanes open during the minute.
    """

    start_s: float
    arrived_persons: FloatArray
    served_persons: FloatArray
    queue_persons: FloatArray
    wait_s: FloatArray
    doors_open: npt.NDArray[np.bool_]
    lanes_face: IntArray
    lanes_manual: IntArray

    @property
    def worst_wait_s(self) -> float:
        """Largest wait at any checkpoint and minute while its doors are open."""
        return float(np.where(self.doors_open, self.wait_s, 0.0).max(initial=0.0))

    def worst_wait_from_s(self, minute: int) -> float:
        """Largest wait (doors open) from ``minute`` on (e.g. once a move ordered now lands)."""
        return float(np.where(self.doors_open, self.wait_s, 0.0)[minute:].max(initial=0.0))

    @property
    def worst_wait_at(self) -> tuple[int, int]:
        """``(minute, checkpoint)`` of the worst wait."""
        t, j = np.unravel_index(
            np.argmax(np.where(self.doors_open, self.wait_s, 0.0)), self.wait_s.shape
        )
        return int(t), int(j)

    @property
    def total_wait_person_s(self) -> float:
        """Person-seconds spent queueing over the run (queue at each minute's end x 60 s)."""
        return float(self.queue_persons.sum() * 60.0)


LanePlan = Callable[["Engine", int], "Sequence[tuple[int, int, int]] | None"]
"""``plan(fork, minute) -> [(checkpoint_id, face, manual), ...]`` lanes to set at that minute."""


def run_lanes(engine: Engine, horizon_min: int, plan: LanePlan) -> LaneRun:
    """Run the pedestrians of a fork of ``engine`` for ``horizon_min`` minutes under ``plan``.

    Parameters
    ----------
    engine
        The twin (not changed).
    horizon_min
        Minutes to run.
    plan
        Called at the start of every minute with the fork; the lanes it returns are set through
        the ``set_lanes`` action (closing before opening, so the lane limits hold throughout).

    Returns
    -------
    LaneRun
    """
    fork = engine.fork()
    layout, state = fork.pedestrians, fork.state.extras[pedestrians.KEY]
    specs, cp = layout.specs, state.checkpoints
    crowd_s = fork.time_s - state.pending_s
    fork.state.time_s, state.pending_s = crowd_s, 0.0
    n = len(specs)
    rows = {k: np.zeros((horizon_min, n)) for k in ("arrived", "served", "queue", "wait")}
    doors = np.zeros((horizon_min, n), dtype=bool)
    lanes = np.zeros((2, horizon_min, n), dtype=np.int64)
    steps = int(round(60.0 / pedestrians.CROWD_DT_S))
    for t in range(horizon_min):
        for checkpoint_id, face, manual in plan(fork, t) or ():
            _set(fork, checkpoint_id, face, manual)
        lanes[:, t] = cp.lanes_face, cp.lanes_manual
        arrived0, served0 = cp.arrived_persons.copy(), cp.served_persons.copy()
        for _ in range(steps):
            pedestrians.advance(layout, state, fork.demand, crowd_s, pedestrians.CROWD_DT_S)
            crowd_s += pedestrians.CROWD_DT_S
            fork.state.time_s = crowd_s
        rows["arrived"][t] = cp.arrived_persons - arrived0
        rows["served"][t] = cp.served_persons - served0
        rows["queue"][t] = cp.queue_persons
        rows["wait"][t] = checkpoints.mean_wait_now_s(specs, cp)
        doors[t] = checkpoints.until_open_s(specs, crowd_s) == 0
    return LaneRun(
        start_s=engine.time_s - engine.state.extras[pedestrians.KEY].pending_s,
        arrived_persons=rows["arrived"],
        served_persons=rows["served"],
        queue_persons=rows["queue"],
        wait_s=rows["wait"],
        doors_open=doors,
        lanes_face=lanes[0],
        lanes_manual=lanes[1],
    )


def _set(fork: Engine, checkpoint_id: int, face: int, manual: int) -> None:
    cp = fork.state.extras[pedestrians.KEY].checkpoints
    changes = [("face", int(face), int(cp.lanes_face[checkpoint_id]))]
    changes.append(("manual", int(manual), int(cp.lanes_manual[checkpoint_id])))
    changes.sort(key=lambda c: c[1] - c[2])  # closing first
    for lane_type, count, now in changes:
        if count != now:
            fork.apply(pedestrians.SetLanes(int(checkpoint_id), lane_type, count))


def slot_plan(lanes_face: IntArray, lanes_manual: IntArray, slot_min: int) -> LanePlan:
    """A plan of ``(K, N)`` lanes per slot as a :data:`LanePlan` (changes at slot starts)."""

    def plan(_fork: Engine, minute: int) -> list[tuple[int, int, int]] | None:
        slot, offset = divmod(minute, slot_min)
        if offset or slot >= len(lanes_face):
            return None
        return [
            (j, int(lanes_face[slot, j]), int(lanes_manual[slot, j]))
            for j in range(lanes_face.shape[1])
        ]

    return plan


def hold() -> LanePlan:
    """The default plan: the lanes open now, kept."""
    return lambda _fork, _minute: None


def advice_plan(face_gates: IntArray, slot_min: int, target_wait_s: float) -> LanePlan:
    """Today's per-checkpoint advice followed at every slot start: each checkpoint set to
    :func:`twin.crowd.checkpoints.recommended_lanes` for the next 30 minutes' forecast arrivals
    (:func:`twin.crowd.pedestrians.arrival_forecast_pps`, as the checkpoint table), with face
    lanes limited to the e-gates installed. It ignores the staff budget and the move time."""

    def plan(fork: Engine, minute: int) -> list[tuple[int, int, int]] | None:
        if minute % slot_min:
            return None
        layout, cp = fork.pedestrians, fork.state.extras[pedestrians.KEY].checkpoints
        specs = [
            _with_gates(spec, int(gates))
            for spec, gates in zip(layout.specs, face_gates, strict=True)
        ]
        forecast = pedestrians.arrival_forecast_pps(fork, ADVICE_FORECAST_S)
        advice = checkpoints.recommended_lanes(
            specs, cp, forecast, dt_s=60.0, target_wait_s=target_wait_s
        )
        return [
            (j, int(advice.lanes_face[j]), int(advice.lanes_manual[j])) for j in range(len(specs))
        ]

    return plan


def _with_gates(spec: checkpoints.CheckpointSpec, gates: int) -> checkpoints.CheckpointSpec:
    from dataclasses import replace

    return replace(
        spec, max_face_lanes=min(gates, spec.max_lanes), lanes_face=min(spec.lanes_face, gates)
    )
