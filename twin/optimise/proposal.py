"""A staffing proposal for the next hour, judged by the twin: default, advice and optimised.

:func:`propose` checks its inputs first (nothing runs on a refusal), forecasts the arrivals at
every checkpoint from a fork run forward with today's lanes (:mod:`twin.optimise.plan_run`),
builds the :class:`twin.optimise.staffing.StaffingProblem`, optimises, then runs every plan
forward in its own fork with its ``set_lanes`` actions at their minutes, so the figures it
reports are the twin's, not the optimiser's estimate:

- ``default``: the lanes open now, kept;
- ``advice``: today's per-checkpoint advice (:func:`twin.crowd.checkpoints.recommended_lanes`)
  followed at every slot, blind to the staff budget and the move time (its peak staff is
  reported);
- ``optimised``: :func:`twin.optimise.staffing.optimise`. A park gate's lanes change the
  arrivals at the entrances behind it, which the optimiser took as fixed: it is therefore
  re-run on the arrivals of its own plan's run (``rounds``), and the plan with the smaller
  twin worst wait (then total wait) is kept.

:func:`fewest_staff` answers "how many staff keep every wait under the target?" by bisection
over the budget, each candidate optimised and judged in the twin, with staff placed freely at
the start (a planning question). A target the lanes installed cannot meet says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin.crowd import checkpoints, pedestrians
from twin.optimise import plan_run
from twin.optimise.staffing import (
    StaffingError,
    StaffingPlan,
    StaffingProblem,
    check_count,
    feasible,
    move_slots_for,
    optimise,
    staff_in_use,
)

if TYPE_CHECKING:
    from twin.engine import Engine

IntArray = npt.NDArray[np.int64]

HORIZON_MIN_RANGE = (15, 120)
"""Horizons a proposal may cover (minutes): the issue asks for the next 60-90."""
SLOT_MIN_RANGE = (1, 30)
STAFF_PER_FACE_LANE = 1
"""Staff per open face e-gate (assumption: one steward watches each gate and helps failed
matches)."""
STAFF_PER_MANUAL_LANE = 2
"""Staff per open manual lane (assumption: one checks tickets and searches bags, one wands)."""
MIN_LANES_OPEN = 1
"""A checkpoint whose doors are open keeps at least this many lanes open (staff allowing), as
today's advice does (``recommended_lanes(min_lanes=1)``): a trickle the forecast missed would
otherwise wait for ever."""
WALK_SPEED_MPS = 1.2
"""Staff walking speed between checkpoints (m/s), a brisk pedestrian."""
DETOUR_FACTOR = 1.3
"""Walking path / straight line between two points of a park (assumption)."""


@dataclass(frozen=True)
class Staff:
    """The staff a proposal may use (checked by :func:`staff_for`).

    Attributes
    ----------
    total_staff
        Staff available in every slot (at posts or walking).
    face_gates, max_lanes
        ``(N,)`` face e-gates installed and lane positions per checkpoint.
    staff_per_face_lane, staff_per_manual_lane
        Staff one open lane of each kind needs.
    move_s
        Time to move staff between the two farthest checkpoints (s).
    """

    total_staff: int
    face_gates: IntArray
    max_lanes: IntArray
    staff_per_face_lane: int
    staff_per_manual_lane: int
    move_s: float

    def staff_of(self, lanes_face: npt.ArrayLike, lanes_manual: npt.ArrayLike) -> int:
        """Staff that lanes need (summed over all axes)."""
        return int(
            self.staff_per_face_lane * np.sum(lanes_face)
            + self.staff_per_manual_lane * np.sum(lanes_manual)
        )

    @property
    def all_lanes_staff(self) -> int:
        """Staff that every lane position open at once would need (e-gates as face lanes)."""
        return self.staff_of(self.face_gates, self.max_lanes - self.face_gates)


@dataclass(frozen=True)
class Proposal:
    """A proposal and its three plans as the twin ran them.

    Attributes
    ----------
    staff
        The staff it was given.
    horizon_min, slot_min
        Horizon and slot (minutes).
    plan
        The optimised plan (lanes per slot, the optimiser's own estimate of its waits).
    runs
        ``default``, ``advice``, ``optimised``: :class:`twin.optimise.plan_run.LaneRun`.
    peak_staff
        Most staff each plan uses in a slot, at posts and walking (the advice may exceed the
        staff given).
    keeps_staff_rule
        Whether each plan keeps the lane limits, the budget and the move time
        (:func:`twin.optimise.staffing.feasible`); the advice opens lanes at once.
    proposal_s
        Wall time to forecast, optimise and judge (s).
    """

    staff: Staff
    horizon_min: int
    slot_min: int
    plan: StaffingPlan
    runs: Mapping[str, plan_run.LaneRun]
    peak_staff: Mapping[str, int]
    keeps_staff_rule: Mapping[str, bool]
    proposal_s: float
    names: tuple[str, ...] = field(default=())

    def worst_wait_min(self) -> dict[str, float]:
        """Twin worst wait (minutes) of each plan."""
        return {k: run.worst_wait_s / 60.0 for k, run in self.runs.items()}

    def timeline(self) -> list[dict[str, Any]]:
        """Per checkpoint: lanes per slot (face, manual) and the twin's worst wait under the
        default and optimised plans (s)."""
        default, optimised = self.runs["default"], self.runs["optimised"]
        rows = []
        for j, name in enumerate(self.names):
            rows.append(
                {
                    "checkpoint_id": j,
                    "name": name,
                    "slot_start_min": [
                        k * self.slot_min for k in range(self.plan.lanes_face.shape[0])
                    ],
                    "lanes_face": self.plan.lanes_face[:, j].tolist(),
                    "lanes_manual": self.plan.lanes_manual[:, j].tolist(),
                    "worst_wait_default_s": _worst(default, j),
                    "worst_wait_optimised_s": _worst(optimised, j),
                }
            )
        return rows

    def changes(self) -> list[dict[str, Any]]:
        """The plan's lane changes in order: ``at_min`` (minutes from now), ``checkpoint_id``,
        ``name``, ``lane_type``, ``before`` and ``after`` (open lanes)."""
        now_face = self.runs["default"].lanes_face[0]
        now_manual = self.runs["default"].lanes_manual[0]
        rows = []
        for lane_type, lanes, now in (
            ("face", self.plan.lanes_face, now_face),
            ("manual", self.plan.lanes_manual, now_manual),
        ):
            previous = np.vstack([now[None, :], lanes[:-1]])
            for slot, j in zip(*np.nonzero(lanes != previous), strict=True):
                rows.append(
                    {
                        "at_min": int(slot) * self.slot_min,
                        "checkpoint_id": int(j),
                        "name": self.names[j],
                        "lane_type": lane_type,
                        "before": int(previous[slot, j]),
                        "after": int(lanes[slot, j]),
                    }
                )
        return sorted(rows, key=lambda r: (r["at_min"], r["checkpoint_id"], r["lane_type"]))

    def as_dict(self) -> dict[str, Any]:
        """Plain data for queries, the command line and JSON (waits in seconds)."""
        return {
            "start_s": self.runs["default"].start_s,
            "horizon_min": self.horizon_min,
            "slot_min": self.slot_min,
            "staff": {
                "total_staff": self.staff.total_staff,
                "face_gates": self.staff.face_gates.tolist(),
                "max_lanes": self.staff.max_lanes.tolist(),
                "staff_per_face_lane": self.staff.staff_per_face_lane,
                "staff_per_manual_lane": self.staff.staff_per_manual_lane,
                "move_s": self.staff.move_s,
            },
            "method": "greedy marginal analysis (Fox 1966) on the twin's fluid queue",
            "plans": {
                name: {
                    "worst_wait_s": run.worst_wait_s,
                    "worst_at_checkpoint": self.names[run.worst_wait_at[1]],
                    "worst_at_min": run.worst_wait_at[0] + 1,
                    "total_wait_person_h": run.total_wait_person_s / 3600.0,
                    "peak_staff": self.peak_staff[name],
                    "keeps_staff_rule": self.keeps_staff_rule[name],
                    "wait_s": run.wait_s.T.tolist(),
                }
                for name, run in self.runs.items()
            },
            "timeline": self.timeline(),
            "changes": self.changes(),
            "proposal_s": self.proposal_s,
        }


def _worst(run: plan_run.LaneRun, j: int) -> float:
    return float(np.where(run.doors_open[:, j], run.wait_s[:, j], 0.0).max(initial=0.0))


# ------------------------------------------------------------------------------ inputs
def installed_face_gates(spec: checkpoints.CheckpointSpec) -> int:
    """E-gates installed at a checkpoint: ``max_face_lanes`` when the spec gives it, else the face
    lanes of the sizing rule (:func:`twin.crowd.checkpoints.planned_lanes`) that gave its
    ``max_lanes`` (the twin itself lets any lane position hold one)."""
    if spec.max_face_lanes is not None:
        return spec.face_lane_limit
    for planned in range(spec.max_lanes + 1):
        if planned + max(1, math.ceil(checkpoints.SPARE_LANE_SHARE * planned)) == spec.max_lanes:
            return min(math.floor(checkpoints.FACE_LANE_SHARE * planned + 0.5), spec.max_lanes)
    return spec.face_lane_limit


def farthest_move_s(specs: list[checkpoints.CheckpointSpec] | tuple[Any, ...]) -> float:
    """Walk (s) between the two farthest checkpoints: straight line x :data:`DETOUR_FACTOR` at
    :data:`WALK_SPEED_MPS`."""
    xy = np.array([[s.x_m, s.y_m] for s in specs], dtype=float)
    if len(xy) < 2:
        return 0.0
    distance = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return float(distance.max() * DETOUR_FACTOR / WALK_SPEED_MPS)


def staff_for(
    engine: Engine,
    *,
    total_staff: int | None = None,
    face_gates: Mapping[int, int] | None = None,
    staff_per_face_lane: int = STAFF_PER_FACE_LANE,
    staff_per_manual_lane: int = STAFF_PER_MANUAL_LANE,
    move_s: float | None = None,
) -> Staff:
    """The staff of a proposal, checked; defaults: the staff the lanes open now need, the
    e-gates installed (:func:`installed_face_gates`), the walk between the farthest checkpoints.

    Raises
    ------
    StaffingError
        ``no_checkpoints``, ``bad_staff`` (a count that is not a whole number >= 0, e-gates above
        the lane positions), ``unknown_checkpoint``.
    """
    layout = getattr(engine, "pedestrians", None)
    if layout is None:
        raise StaffingError("this scenario has no checkpoints to staff", code="no_checkpoints")
    specs = layout.specs
    per_face = check_count("staff per face lane", staff_per_face_lane)
    per_manual = check_count("staff per manual lane", staff_per_manual_lane, minimum=1)
    gates = np.array([installed_face_gates(s) for s in specs], dtype=np.int64)
    max_lanes = np.array([s.max_lanes for s in specs], dtype=np.int64)
    for checkpoint_id, count in (face_gates or {}).items():
        if (
            isinstance(checkpoint_id, bool)
            or not isinstance(checkpoint_id, (int, np.integer))
            or not (0 <= checkpoint_id < len(specs))
        ):
            raise StaffingError(
                f"checkpoint {str(checkpoint_id)[:40]!r} does not exist (this scenario has "
                f"{len(specs)}, numbered 0 to {len(specs) - 1})",
                code="unknown_checkpoint",
            )
        count = check_count(f"e-gates at {specs[checkpoint_id].name}", count)
        if count > specs[checkpoint_id].max_lanes:
            raise StaffingError(
                f"e-gates at {specs[checkpoint_id].name}: {count} exceed its "
                f"{specs[checkpoint_id].max_lanes} lane positions",
                code="bad_staff",
            )
        gates[checkpoint_id] = count
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    if total_staff is None:
        total = per_face * int(cp.lanes_face.sum()) + per_manual * int(cp.lanes_manual.sum())
    else:
        total = check_count("total staff", total_staff)
    if move_s is None:
        move_s = farthest_move_s(specs)
    move_slots_for(move_s, 1)  # the check
    return Staff(total, gates, max_lanes, per_face, per_manual, float(move_s))


def check_horizon(horizon_min: object, slot_min: object) -> tuple[int, int]:
    """``(horizon_min, slot_min)`` or :class:`StaffingError` (code ``out_of_range``)."""
    low, high = HORIZON_MIN_RANGE
    if not _whole(horizon_min) or not low <= horizon_min <= high:  # type: ignore[operator]
        raise StaffingError(
            f"horizon must be a whole number of minutes from {low} to {high}, got "
            f"{str(horizon_min)[:40]!r}",
            code="out_of_range",
        )
    low, high = SLOT_MIN_RANGE
    if not _whole(slot_min) or not low <= slot_min <= high:  # type: ignore[operator]
        raise StaffingError(
            f"slot must be a whole number of minutes from {low} to {high}, got {str(slot_min)[:40]!r}",
            code="out_of_range",
        )
    if horizon_min % slot_min:  # type: ignore[operator]
        raise StaffingError(
            f"horizon ({horizon_min} min) must be a whole number of {slot_min}-minute slots",
            code="out_of_range",
        )
    return int(horizon_min), int(slot_min)  # type: ignore[call-overload]


def _whole(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# ------------------------------------------------------------------------------ building
def build_problem(
    engine: Engine,
    run: plan_run.LaneRun,
    staff: Staff,
    slot_min: int,
    *,
    free_start: bool = False,
) -> StaffingProblem:
    """The optimiser's problem from a fork's run (its per-minute arrivals) and the staff."""
    layout, cp = engine.pedestrians, engine.state.extras[pedestrians.KEY].checkpoints
    specs = layout.specs
    minutes = run.start_s + 60.0 * np.arange(run.arrived_persons.shape[0])
    face_rate, manual_rate = checkpoints.lane_rates_pps(specs, cp)
    return StaffingProblem(
        arrival_pps=run.arrived_persons / 60.0,
        open_share=checkpoints.open_s(specs, minutes, 60.0) / 60.0,
        wait_counts=run.doors_open,
        queue0_persons=cp.queue_persons.copy(),
        face_rate_pps=face_rate,
        manual_rate_pps=manual_rate,
        face_gates=staff.face_gates,
        max_lanes=staff.max_lanes,
        lanes0_face=np.minimum(cp.lanes_face, staff.face_gates),
        lanes0_manual=cp.lanes_manual.copy(),
        staff_per_face_lane=staff.staff_per_face_lane,
        staff_per_manual_lane=staff.staff_per_manual_lane,
        total_staff=staff.total_staff,
        slot_min=slot_min,
        move_slots=move_slots_for(staff.move_s, slot_min),
        free_start=free_start,
        min_lanes=MIN_LANES_OPEN,
    )


def optimise_in_twin(
    engine: Engine,
    staff: Staff,
    horizon_min: int,
    slot_min: int,
    *,
    free_start: bool = False,
    rounds: int = 2,
    first_run: plan_run.LaneRun | None = None,
) -> tuple[StaffingPlan, plan_run.LaneRun]:
    """Optimise on the arrivals of a run, judge in the twin, re-optimise on the arrivals of the
    plan's own run (``rounds`` in all); the plan with the best twin figures and its run."""
    run = first_run or plan_run.run_lanes(engine, horizon_min, plan_run.hold())
    best: tuple[tuple[float, float], StaffingPlan, plan_run.LaneRun] | None = None
    for _ in range(rounds):
        plan = optimise(build_problem(engine, run, staff, slot_min, free_start=free_start))
        run = plan_run.run_lanes(
            engine, horizon_min, plan_run.slot_plan(plan.lanes_face, plan.lanes_manual, slot_min)
        )
        key = (_whole_s(run.worst_wait_s), run.total_wait_person_s)
        if best is None or key < best[0]:
            best = (key, plan, run)
    assert best is not None
    return best[1], best[2]


def _whole_s(wait_s: float) -> float:
    """A wait rounded to whole seconds for comparing plans (inf stays inf: nobody served)."""
    return float(round(wait_s)) if math.isfinite(wait_s) else math.inf


# ------------------------------------------------------------------------------ answers
def propose(
    engine: Engine,
    *,
    horizon_min: int = 90,
    slot_min: int = 5,
    target_wait_s: float = pedestrians.WAIT_TARGET_S,
    rounds: int = 2,
    **staff_options: Any,
) -> Proposal:
    """Propose a staffing plan over the next ``horizon_min`` minutes (module docstring).

    Parameters
    ----------
    engine
        The twin (not changed).
    horizon_min, slot_min
        Horizon (:data:`HORIZON_MIN_RANGE`) and slot length (minutes; lanes change at slot starts).
    target_wait_s
        The wait target today's advice aims at (s).
    rounds
        Optimise-and-judge rounds (:func:`optimise_in_twin`).
    **staff_options
        ``total_staff``, ``face_gates``, ``staff_per_face_lane``, ``staff_per_manual_lane``,
        ``move_s`` (:func:`staff_for`).

    Raises
    ------
    StaffingError
        Bad staff, checkpoint, horizon or slot; raised before anything runs.
    """
    started = time.perf_counter()
    horizon_min, slot_min = check_horizon(horizon_min, slot_min)
    staff = staff_for(engine, **staff_options)
    if not (
        isinstance(target_wait_s, (int, float))
        and math.isfinite(target_wait_s)
        and target_wait_s >= 0
    ):
        raise StaffingError(
            f"target wait must be seconds >= 0, got {str(target_wait_s)[:40]!r}",
            code="out_of_range",
        )
    default = plan_run.run_lanes(engine, horizon_min, plan_run.hold())
    advice = plan_run.run_lanes(
        engine, horizon_min, plan_run.advice_plan(staff.face_gates, slot_min, target_wait_s)
    )
    plan, optimised = optimise_in_twin(
        engine, staff, horizon_min, slot_min, rounds=rounds, first_run=default
    )
    runs = {"default": default, "advice": advice, "optimised": optimised}
    problem = build_problem(engine, default, staff, slot_min)
    peak, keeps = {}, {}
    for name, run in runs.items():  # lanes change only at slot starts in all three
        face, manual = run.lanes_face[::slot_min], run.lanes_manual[::slot_min]
        at_posts, walking, _ = staff_in_use(problem, face, manual)
        peak[name] = int((at_posts + walking).max(initial=0))
        keeps[name] = bool(feasible(problem, face, manual))
    return Proposal(
        staff=staff,
        horizon_min=horizon_min,
        slot_min=slot_min,
        plan=plan,
        runs=runs,
        peak_staff=peak,
        keeps_staff_rule=keeps,
        proposal_s=time.perf_counter() - started,
        names=tuple(s.name for s in engine.pedestrians.specs),
    )


@dataclass(frozen=True)
class FewestStaff:
    """The fewest staff whose optimised plan keeps every twin wait within the target.

    ``staff`` is None when even every lane open (``all_lanes_staff``) misses it; ``short_by`` is
    how many more than ``given`` it needs (0 when enough), None when the target is out of reach.
    """

    target_wait_s: float
    staff: int | None
    given: int
    all_lanes_staff: int
    worst_wait_s: float
    short_by: int | None

    @property
    def message(self) -> str:
        target = f"{self.target_wait_s / 60:g} min"
        if self.staff is None:
            return (
                f"no plan keeps every wait under {target} even with every lane staffed "
                f"({self.all_lanes_staff} staff): the worst wait is still "
                f"{self.worst_wait_s / 60:.0f} min, so the lanes installed are too few"
            )
        if self.short_by:
            return (
                f"keeping every wait under {target} needs {self.staff} staff: "
                f"{self.short_by} more than the {self.given} available"
            )
        return f"{self.staff} staff keep every wait under {target} ({self.given} available)"


def fewest_staff(
    engine: Engine,
    *,
    target_wait_s: float,
    horizon_min: int = 90,
    slot_min: int = 5,
    rounds: int = 1,
    **staff_options: Any,
) -> FewestStaff:
    """Bisection over the budget for the fewest staff meeting ``target_wait_s`` in the twin."""
    horizon_min, slot_min = check_horizon(horizon_min, slot_min)
    staff = staff_for(engine, **staff_options)
    if not (
        isinstance(target_wait_s, (int, float))
        and math.isfinite(target_wait_s)
        and target_wait_s > 0
    ):
        raise StaffingError(
            f"target wait must be seconds > 0, got {str(target_wait_s)[:40]!r}", code="out_of_range"
        )
    first = plan_run.run_lanes(engine, horizon_min, plan_run.hold())
    cache: dict[int, float] = {}

    def worst(budget: int) -> float:
        if budget not in cache:
            trial = Staff(**{**vars(staff), "total_staff": budget})
            _, run = optimise_in_twin(
                engine,
                trial,
                horizon_min,
                slot_min,
                free_start=True,
                rounds=rounds,
                first_run=first,
            )
            cache[budget] = run.worst_wait_s
        return cache[budget]

    high = staff.all_lanes_staff
    if worst(high) > target_wait_s:
        return FewestStaff(target_wait_s, None, staff.total_staff, high, worst(high), None)
    if worst(0) <= target_wait_s:
        return FewestStaff(target_wait_s, 0, staff.total_staff, high, worst(0), 0)
    low = 0  # invariant: worst(low) misses the target, worst(high) meets it
    while high - low > 1:
        middle = (low + high) // 2
        if worst(middle) <= target_wait_s:
            high = middle
        else:
            low = middle
    return FewestStaff(
        target_wait_s,
        high,
        staff.total_staff,
        staff.all_lanes_staff,
        worst(high),
        max(0, high - staff.total_staff),
    )
