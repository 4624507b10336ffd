"""Checkpoint staffing over the next hour: which lanes to open and close where, and when.

The problem (arrays in, a plan out; no engine here: :mod:`twin.optimise.plan_run` supplies the
forecast and judges plans in the twin):

- ``K`` time slots of ``slot_min`` minutes; per slot and checkpoint the plan sets its open
  face e-gates and manual lanes. A face lane needs ``staff_per_face_lane`` staff, a manual lane
  ``staff_per_manual_lane``; at most ``face_gates[j]`` face lanes (the e-gates installed) and
  ``max_lanes[j]`` lanes in all.
- Staff move between checkpoints in ``move_slots`` slots (the longest move, so a plan feasible
  under it is feasible under every shorter one). A staff member who joins a checkpoint at slot
  ``k`` left somewhere (a checkpoint or the reserve) at slot ``k - move_slots`` and walked in
  between. **Budget rule**, every slot ``k``: staff at posts + staff walking toward a post
  ``<= total_staff``, where those walking at ``k`` are the increases of the slots
  ``k+1 .. k+move_slots`` (:func:`staff_in_use`). Without ``free_start`` nobody can join a
  checkpoint in the first ``move_slots`` slots (they would have had to leave before now).
- Queues: the twin's own fluid queue (:func:`twin.crowd.queueing.fluid_queue`, Lindley's
  recursion per one-minute step), serving only while the doors are open, from the forecast
  arrivals per minute (which do not depend on the lanes at that checkpoint). The wait at the end
  of a minute is the twin's (:func:`twin.crowd.checkpoints.mean_wait_now_s`): queue / capacity of
  the lanes open then, counted only at minutes whose doors are open (no lane shortens the time
  the doors stay shut; a queue built before them must clear once they open, as in
  :func:`twin.crowd.checkpoints.recommended_lanes`).
- Objective, lexicographic: the worst wait at any checkpoint and minute, then the total wait
  (person-seconds in queue over the horizon).

Method: **greedy marginal analysis** (Fox, B. (1966) "Discrete optimization via marginal
analysis", Management Science 13(3):210-216; applied to staff per period, e.g. Green, Soares,
Giglio & Green (2006) "Using queueing theory to increase the effectiveness of emergency
department provider staffing"). Start from no lanes (phase 0 opens ``min_lanes`` where doors are
open); phase 1 repeatedly gives one more lane, in one slot, to the checkpoint with the worst
wait (the bottleneck): the (slot, lane type) that most reduces that checkpoint's worst wait per
staff member, among those the budget rule and the lane limits allow; a bottleneck no single lane
improves is locked and the next worst one is served. Phase 1 runs first on the waits from the
first minute a move ordered now can land (earlier waits only the staff already in place can
change, and would otherwise lock their checkpoint), then on all minutes. Phase 2 spends what
is left on the lane, anywhere, that most reduces the total wait per staff member. Phase 3
closes lanes that later choices left idle (closing worsens neither wait) and the phases run
again (an add/drop heuristic), at most :data:`MAX_ROUNDS` times. Finally the plan is compared
with keeping today's lanes (always feasible when the budget covers them) and the better is
returned. A heuristic: it gives no optimality certificate; on a
small case the tests compare it with a full enumeration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from twin.crowd.queueing import fluid_queue
from twin.errors import TwinError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

STEP_S = 60.0
"""Length of one forecast step (s): arrivals, queues and waits are per minute."""
NO_LANE_WAIT_S = 1.0e7
"""Wait (s) scored for a queue at open doors with no lane open (forever), plus its persons, so
that a longer unserved queue scores worse and opening any lane is a reduction."""
WAIT_TOL_S = 0.5
"""Reductions of the worst wait smaller than this (s) count as none."""
TOTAL_TOL_PERSON_S = 1.0
"""Reductions of the total wait smaller than this (person-seconds) count as none."""


class StaffingError(TwinError):
    """A staffing request was refused (bad staff, checkpoint, horizon or slot); nothing ran."""

    code = "bad_staffing"


@dataclass(frozen=True)
class StaffingProblem:
    """Everything the optimiser needs, per checkpoint ``j`` of ``N`` and minute ``t`` of ``T``.

    Attributes
    ----------
    arrival_pps
        ``(T, N)`` forecast arrivals per minute (persons per second).
    open_share
        ``(T, N)`` share of each minute the doors are open (0..1).
    wait_counts
        ``(T, N)`` true where the doors are open at the minute's end (the wait counts there).
    queue0_persons
        ``(N,)`` persons queueing now.
    face_rate_pps, manual_rate_pps
        ``(N,)`` service rate of one lane of each kind (persons per second).
    face_gates, max_lanes
        ``(N,)`` face e-gates installed; lane positions (face + manual).
    lanes0_face, lanes0_manual
        ``(N,)`` lanes open now.
    staff_per_face_lane, staff_per_manual_lane
        Staff one open lane of each kind needs (whole numbers, manual ``>= 1``).
    total_staff
        Staff available in every slot (at posts or walking between them).
    slot_min
        Minutes per slot; ``T`` must be a whole number of slots.
    move_slots
        Slots a staff member needs to move between any two checkpoints (or from the reserve).
    free_start
        True: staff may be placed anywhere at slot 0 (a planning question, "how many would we
        need?"); False: the lanes open now are where the staff are.
    min_lanes
        Lanes kept open at a checkpoint in every slot its doors are open for any part of, as far
        as the staff allow (a trickle of arrivals the forecast missed then still gets served).
    """

    arrival_pps: FloatArray
    open_share: FloatArray
    wait_counts: BoolArray
    queue0_persons: FloatArray
    face_rate_pps: FloatArray
    manual_rate_pps: FloatArray
    face_gates: IntArray
    max_lanes: IntArray
    lanes0_face: IntArray
    lanes0_manual: IntArray
    staff_per_face_lane: int
    staff_per_manual_lane: int
    total_staff: int
    slot_min: int
    move_slots: int
    free_start: bool = False
    min_lanes: int = 0

    def __post_init__(self) -> None:
        check_problem(self)

    @property
    def n_slots(self) -> int:
        return self.arrival_pps.shape[0] // self.slot_min

    @property
    def n_checkpoints(self) -> int:
        return self.arrival_pps.shape[1]

    @property
    def first_move_min(self) -> int:
        """First minute a move ordered now can change (0 with ``free_start``)."""
        return (
            0
            if self.free_start
            else min(self.move_slots * self.slot_min, len(self.arrival_pps) - 1)
        )

    @property
    def staff0(self) -> IntArray:
        """``(N,)`` staff at each checkpoint now."""
        return self.staff_per_face_lane * self.lanes0_face + (
            self.staff_per_manual_lane * self.lanes0_manual
        )


@dataclass(frozen=True)
class StaffingPlan:
    """Lanes per slot and checkpoint and what the optimiser's queue model predicts for them.

    Attributes
    ----------
    lanes_face, lanes_manual
        ``(K, N)`` open lanes of each kind in each slot.
    staff_at_posts, staff_walking
        ``(K,)`` staff at checkpoints, and walking between them, in each slot.
    worst_wait_s
        Largest modelled wait over checkpoints and minutes (doors open).
    total_wait_person_s
        Modelled person-seconds in queue over the horizon.
    wait_s
        ``(T, N)`` modelled wait at each minute's end (0 where the doors are shut).
    method
        ``"greedy"`` or ``"hold"`` (today's lanes kept, which the greedy plan did not beat).
    """

    lanes_face: IntArray
    lanes_manual: IntArray
    staff_at_posts: IntArray
    staff_walking: IntArray
    worst_wait_s: float
    total_wait_person_s: float
    wait_s: FloatArray = field(repr=False)
    method: str = "greedy"

    @property
    def peak_staff(self) -> int:
        """Most staff the plan uses in any slot (at posts and walking)."""
        return int((self.staff_at_posts + self.staff_walking).max(initial=0))


# ------------------------------------------------------------------------------ checks
def _is_count(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """``value`` as an int, or :class:`StaffingError` (code ``bad_staff``) naming ``name``."""
    if not _is_count(value) or int(value) < minimum:  # type: ignore[arg-type]
        raise StaffingError(
            f"{name} must be a whole number of at least {minimum}, got {str(value)[:40]!r}",
            code="bad_staff",
        )
    return int(value)  # type: ignore[arg-type]


def check_problem(problem: StaffingProblem) -> None:
    """Raise :class:`StaffingError` naming the field and the rule a problem breaks."""
    arrivals = np.asarray(problem.arrival_pps)
    if arrivals.ndim != 2 or arrivals.shape[0] < 1:
        raise StaffingError(f"arrival_pps must be (minutes, checkpoints), got {arrivals.shape}")
    t, n = arrivals.shape
    for name in ("arrival_pps", "open_share", "wait_counts"):
        if np.shape(getattr(problem, name)) != (t, n):
            raise StaffingError(f"{name} must have shape ({t}, {n})")
    if not np.all(np.isfinite(arrivals)) or np.any(arrivals < 0):
        raise StaffingError("arrival_pps must be finite and >= 0")
    for name in (
        "queue0_persons",
        "face_rate_pps",
        "manual_rate_pps",
        "face_gates",
        "max_lanes",
        "lanes0_face",
        "lanes0_manual",
    ):
        values = np.asarray(getattr(problem, name))
        if values.shape != (n,) or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise StaffingError(f"{name} must be ({n},) finite values >= 0", code="bad_staff")
    if np.any(np.asarray(problem.face_rate_pps) <= 0) or np.any(
        np.asarray(problem.manual_rate_pps) <= 0
    ):
        raise StaffingError("lane rates must be > 0 persons per second")
    check_count("staff_per_face_lane", problem.staff_per_face_lane)
    check_count("staff_per_manual_lane", problem.staff_per_manual_lane, minimum=1)
    check_count("total_staff", problem.total_staff)
    check_count("slot_min", problem.slot_min, minimum=1)
    check_count("move_slots", problem.move_slots)
    check_count("min_lanes", problem.min_lanes)
    if t % problem.slot_min:
        raise StaffingError(
            f"the horizon ({t} min) must be a whole number of {problem.slot_min}-minute slots",
            code="out_of_range",
        )


# ------------------------------------------------------------------------------ model
def staff_in_use(
    problem: StaffingProblem, lanes_face: npt.ArrayLike, lanes_manual: npt.ArrayLike
) -> tuple[IntArray, IntArray, BoolArray]:
    """Staff at posts and walking per slot, and whether a plan keeps the moving rule.

    Parameters
    ----------
    problem
        The problem (staff per lane, staff now, move time).
    lanes_face, lanes_manual
        ``(..., K, N)`` lanes per slot and checkpoint (a leading batch axis is allowed).

    Returns
    -------
    tuple
        ``(at_posts (..., K), walking (..., K), moves_ok (...))``: walking at slot ``k`` are the
        staff joining checkpoints at slots ``k+1 .. k+move_slots``; ``moves_ok`` is false where
        someone would have to join a checkpoint within ``move_slots`` of now.
    """
    staff = problem.staff_per_face_lane * np.asarray(lanes_face) + (
        problem.staff_per_manual_lane * np.asarray(lanes_manual)
    )
    before = np.broadcast_to(
        staff[..., :1, :] if problem.free_start else problem.staff0, staff[..., :1, :].shape
    )
    joining = np.maximum(np.diff(staff, axis=-2, prepend=before), 0).sum(axis=-1)  # (..., K)
    d = problem.move_slots
    padded = np.concatenate([joining, np.zeros((*joining.shape[:-1], d), dtype=joining.dtype)], -1)
    walking = sum((padded[..., 1 + i : 1 + i + joining.shape[-1]] for i in range(d)), 0 * joining)
    moves_ok = ~np.any(joining[..., :d] > 0, axis=-1)
    return staff.sum(axis=-1), walking, moves_ok


def feasible(
    problem: StaffingProblem, lanes_face: npt.ArrayLike, lanes_manual: npt.ArrayLike
) -> BoolArray:
    """Whether plans ``(..., K, N)`` keep the lane limits, the budget rule and the moving rule."""
    face, manual = np.asarray(lanes_face), np.asarray(lanes_manual)
    at_posts, walking, moves_ok = staff_in_use(problem, face, manual)
    limits = (
        (face >= 0)
        & (manual >= 0)
        & (face <= problem.face_gates)
        & (face + manual <= problem.max_lanes)
    ).all(axis=(-1, -2))
    return limits & moves_ok & np.all(at_posts + walking <= problem.total_staff, axis=-1)


def checkpoint_waits(
    problem: StaffingProblem, j: int, lanes_face: IntArray, lanes_manual: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Modelled wait and queue at checkpoint ``j`` for candidate lane columns.

    Parameters
    ----------
    lanes_face, lanes_manual
        ``(K, C)`` lanes per slot of ``C`` candidates.

    Returns
    -------
    tuple
        ``(wait_s (T, C), queue_persons (T, C))`` at each minute's end; the wait is 0 where the
        doors are shut and :data:`NO_LANE_WAIT_S` + queue where persons queue at open doors with
        no lane open.
    """
    lanes_capacity = (
        lanes_face * problem.face_rate_pps[j] + lanes_manual * problem.manual_rate_pps[j]
    )
    # a candidate with a lane below 0 is infeasible (:func:`feasible`); score it as none open
    capacity = np.repeat(np.maximum(lanes_capacity, 0.0), problem.slot_min, axis=0)  # (T, C)
    arrivals = np.broadcast_to(problem.arrival_pps[:, j : j + 1], capacity.shape)
    queue = fluid_queue(
        np.full(capacity.shape[1], float(problem.queue0_persons[j])),
        arrivals,
        capacity * problem.open_share[:, j : j + 1],
        STEP_S,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(capacity > 0, queue / capacity, NO_LANE_WAIT_S + queue)
    wait = np.where((queue > 1e-9) & problem.wait_counts[:, j : j + 1], wait, 0.0)
    return wait, queue


def plan_waits(
    problem: StaffingProblem, lanes_face: IntArray, lanes_manual: IntArray
) -> tuple[FloatArray, FloatArray]:
    """``(wait_s (T, N), queue_persons (T, N))`` of a plan ``(K, N)`` under the model."""
    columns = [
        checkpoint_waits(problem, j, lanes_face[:, j : j + 1], lanes_manual[:, j : j + 1])
        for j in range(problem.n_checkpoints)
    ]
    return np.hstack([c[0] for c in columns]), np.hstack([c[1] for c in columns])


def score(problem: StaffingProblem, lanes_face: IntArray, lanes_manual: IntArray) -> StaffingPlan:
    """The plan with its modelled waits and staff per slot."""
    wait, queue = plan_waits(problem, lanes_face, lanes_manual)
    at_posts, walking, _ = staff_in_use(problem, lanes_face, lanes_manual)
    return StaffingPlan(
        lanes_face=lanes_face.copy(),
        lanes_manual=lanes_manual.copy(),
        staff_at_posts=at_posts,
        staff_walking=walking,
        worst_wait_s=float(wait.max(initial=0.0)),
        total_wait_person_s=float(queue.sum() * STEP_S),
        wait_s=wait,
    )


def hold_plan(problem: StaffingProblem) -> tuple[IntArray, IntArray]:
    """Today's lanes kept over every slot: ``(face (K, N), manual (K, N))``."""
    k = problem.n_slots
    return (
        np.tile(np.asarray(problem.lanes0_face, dtype=np.int64), (k, 1)),
        np.tile(np.asarray(problem.lanes0_manual, dtype=np.int64), (k, 1)),
    )


# ------------------------------------------------------------------------------ optimiser
def optimise(problem: StaffingProblem) -> StaffingPlan:
    """The staffing plan of greedy marginal analysis (module docstring), never above the staff.

    Returns
    -------
    StaffingPlan
        A plan that keeps the lane limits, the budget rule and the moving rule in every slot
        (:func:`feasible`); with no staff at all, every lane closed.
    """
    k, n = problem.n_slots, problem.n_checkpoints
    face = np.zeros((k, n), dtype=np.int64)
    manual = np.zeros((k, n), dtype=np.int64)
    _open_minimum(problem, face, manual)
    for _ in range(MAX_ROUNDS):
        _add_for_worst(problem, face, manual, problem.first_move_min)
        _add_for_worst(problem, face, manual, 0)
        _add_for_total(problem, face, manual)
        if not _drop_idle(problem, face, manual):
            break
    plan = score(problem, face, manual)
    held_face, held_manual = hold_plan(problem)
    if bool(feasible(problem, held_face, held_manual)):
        held = score(problem, held_face, held_manual)
        if (round(held.worst_wait_s), held.total_wait_person_s) < (
            round(plan.worst_wait_s),
            plan.total_wait_person_s,
        ):
            return StaffingPlan(**{**vars(held), "method": "hold"})
    return plan


MAX_ROUNDS = 8
"""Rounds of add (worst, then total) and drop (idle lanes) before the optimiser stops."""


def _staff_cost(problem: StaffingProblem, n_slots: int) -> FloatArray:
    """``(2K,)`` staff of candidate ``2 s + kind``; at least a token cost for free lanes."""
    cost = np.array([problem.staff_per_face_lane, problem.staff_per_manual_lane], dtype=float)
    return np.tile(np.maximum(cost, 1e-3), n_slots)


def _required(problem: StaffingProblem) -> IntArray:
    """``(K, N)`` lanes a checkpoint keeps open in a slot (``min_lanes`` while doors open)."""
    k, n = problem.n_slots, problem.n_checkpoints
    open_any = problem.open_share.reshape(k, problem.slot_min, n).max(axis=1) > 0
    return problem.min_lanes * open_any.astype(np.int64)


def _open_minimum(problem: StaffingProblem, face: IntArray, manual: IntArray) -> None:
    """Phase 0: ``min_lanes`` at every checkpoint in every slot its doors are open, the
    cheaper kind per person served first, as far as the staff rule allows."""
    required = _required(problem)
    per_staff_face = problem.face_rate_pps / max(problem.staff_per_face_lane, 1e-3)
    per_staff_manual = problem.manual_rate_pps / problem.staff_per_manual_lane
    for slot, j in zip(*np.nonzero(required), strict=True):
        while face[slot, j] + manual[slot, j] < required[slot, j]:
            kinds = (face, manual) if per_staff_face[j] >= per_staff_manual[j] else (manual, face)
            for lanes in kinds:
                lanes[slot, j] += 1
                if bool(feasible(problem, face, manual)):
                    break
                lanes[slot, j] -= 1
            else:
                break


def _add_for_worst(
    problem: StaffingProblem, face: IntArray, manual: IntArray, from_min: int
) -> None:
    """Phase 1: one lane at a time to the bottleneck, most worst-wait reduction per staff; the
    worst wait from minute ``from_min`` on (first where moves can change it, then all)."""
    cost = _staff_cost(problem, face.shape[0])
    worst, _ = _columns(problem, face, manual, from_min)
    locked = np.zeros(face.shape[1], dtype=bool)
    while not locked.all():
        j = int(np.argmax(np.where(locked, -1.0, worst)))
        if worst[j] <= WAIT_TOL_S:
            break
        new_worst, new_total, ok = _candidates(problem, face, manual, j, +1, from_min)
        gain = np.where(ok & (worst[j] - new_worst > WAIT_TOL_S), worst[j] - new_worst, 0.0)
        if not gain.any():
            locked[j] = True
            continue
        choice = _best(gain / cost, new_total)
        _change(face, manual, choice, j, +1)
        worst[j] = new_worst[choice]


def _add_for_total(problem: StaffingProblem, face: IntArray, manual: IntArray) -> None:
    """Phase 2: one lane at a time, anywhere, most total-wait reduction per staff."""
    cost = _staff_cost(problem, face.shape[0])
    _, total = _columns(problem, face, manual)
    while True:
        best: tuple[float, int, int, float] | None = None
        for j in range(face.shape[1]):
            _, new_total, ok = _candidates(problem, face, manual, j, +1)
            gain = np.where(
                ok & (total[j] - new_total > TOTAL_TOL_PERSON_S), total[j] - new_total, 0
            )
            if gain.any():
                choice = _best(gain / cost, new_total)
                ratio = float(gain[choice] / cost[choice])
                if best is None or ratio > best[0]:
                    best = (ratio, j, choice, float(new_total[choice]))
        if best is None:
            return
        _, j, choice, total[j] = best
        _change(face, manual, choice, j, +1)


def _drop_idle(problem: StaffingProblem, face: IntArray, manual: IntArray) -> bool:
    """Close lanes whose closing worsens neither wait (their staff go back to the pool): an
    earlier choice may have been made idle by later ones. True if any was closed."""
    worst, total = _columns(problem, face, manual)
    required = np.repeat(_required(problem), 2, axis=0)  # (2K, N) per candidate
    dropped = False
    for j in range(face.shape[1]):
        while True:
            new_worst, new_total, ok = _candidates(problem, face, manual, j, -1)
            lanes_after = np.repeat(face[:, j] + manual[:, j], 2) - 1
            idle = (
                ok
                & (lanes_after >= required[:, j])
                & (new_worst <= worst[j] + 1e-9)
                & (new_total <= total[j] + TOTAL_TOL_PERSON_S)
            )
            if not idle.any():
                break
            choice = int(np.flatnonzero(idle)[-1])  # the latest slot, manual before face
            _change(face, manual, choice, j, -1)
            worst[j], total[j] = new_worst[choice], new_total[choice]
            dropped = True
    return dropped


def _columns(
    problem: StaffingProblem, face: IntArray, manual: IntArray, from_min: int = 0
) -> tuple[FloatArray, FloatArray]:
    """``(worst wait (N,) from minute from_min on, total wait (N,))`` per checkpoint."""
    wait, queue = plan_waits(problem, face, manual)
    return wait[from_min:].max(axis=0, initial=0.0), queue.sum(axis=0) * STEP_S


def _candidates(
    problem: StaffingProblem,
    face: IntArray,
    manual: IntArray,
    j: int,
    delta: int,
    from_min: int = 0,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """``delta`` lanes more at checkpoint ``j`` in one slot: candidate ``2 s + kind`` (kind 0
    face, 1 manual) for slot ``s``. Returns its worst wait (from minute ``from_min`` on), total
    wait and feasibility, ``(2K,)``."""
    k, n = face.shape
    eye = delta * np.repeat(
        np.eye(k, dtype=np.int64), 2, axis=0
    )  # (2K, K): the slot of each candidate
    is_face = np.tile([1, 0], k)
    col_face = face[:, j][None, :] + eye * is_face[:, None]  # (2K, K)
    col_manual = manual[:, j][None, :] + eye * (1 - is_face)[:, None]
    wait, queue = checkpoint_waits(problem, j, col_face.T, col_manual.T)
    batch_face = np.broadcast_to(face, (2 * k, k, n)).copy()
    batch_manual = np.broadcast_to(manual, (2 * k, k, n)).copy()
    batch_face[:, :, j], batch_manual[:, :, j] = col_face, col_manual
    ok = feasible(problem, batch_face, batch_manual)
    return wait[from_min:].max(axis=0, initial=0.0), queue.sum(axis=0) * STEP_S, ok


def _best(ratio: FloatArray, new_total: FloatArray) -> int:
    """Largest ratio; among equals, the smaller total wait, then the earlier slot."""
    order = np.lexsort((np.arange(len(ratio)), new_total, -np.round(ratio, 9)))
    return int(order[0])


def _change(face: IntArray, manual: IntArray, choice: int, j: int, delta: int) -> None:
    slot, kind = divmod(choice, 2)
    (face if kind == 0 else manual)[slot, j] += delta


def move_slots_for(move_s: float, slot_min: int) -> int:
    """Whole slots a move of ``move_s`` seconds takes (rounded up)."""
    if not (isinstance(move_s, (int, float)) and not isinstance(move_s, bool)) or not (
        math.isfinite(move_s) and move_s >= 0
    ):
        raise StaffingError(
            f"move time must be a number of seconds >= 0, got {str(move_s)[:40]!r}",
            code="bad_staff",
        )
    return math.ceil(move_s / (60.0 * slot_min) - 1e-9)
