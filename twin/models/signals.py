"""Fixed-time signal plans: which phase is green at a time, pre-emption, and plan checks.

A plan at a junction is a cycle of phases; phase ``k`` shows green for ``greens_s[k]`` seconds
and is followed by an intergreen (amber + all-red) of ``intergreen_s`` seconds in which no
movement has green. The cycle is the sum of greens and intergreens. ``offset_s`` shifts the
cycle start against the simulation clock. Greens here are *effective* greens: the amber's
usable part and the start-up loss are taken to cancel (the common textbook simplification),
so a saturated approach passes ``saturation flow * green / cycle`` vehicles per second.

At most one phase is green at a junction at any time, and a change between two different
phases always passes through a full intergreen, including under pre-emption: this is how
"never two conflicting greens" is guaranteed (movements of different phases conflict).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.errors import ActionError, ScenarioError
from twin.models.webster import MIN_GREEN_S

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CYCLE_RANGE_S = (30.0, 180.0)
"""Cycle lengths (s) an operator may set; 180 s is the upper limit most urban agencies use.
(Webster suggestions stay within the narrower :data:`twin.models.webster.CYCLE_MIN_S`..``CYCLE_MAX_S``.)"""


@dataclass(frozen=True)
class SignalPlans:
    """Plans of all signalised junctions as arrays (row ``j`` = ``node_ids[j]``).

    ``greens_s`` is padded with zeros beyond ``n_phases[j]``.
    """

    node_ids: IntArray
    cycle_s: FloatArray
    offset_s: FloatArray
    intergreen_s: FloatArray
    greens_s: FloatArray  # (J, P)
    n_phases: IntArray
    min_green_s: FloatArray  # (J, P) pedestrian-aware minimum per phase

    def copy(self) -> SignalPlans:
        return replace(
            self,
            **{
                name: getattr(self, name).copy()
                for name in (
                    "cycle_s",
                    "offset_s",
                    "intergreen_s",
                    "greens_s",
                    "n_phases",
                    "min_green_s",
                )
            },
        )

    def row(self, node_id: int) -> int:
        rows = np.flatnonzero(self.node_ids == node_id)
        if len(rows) == 0:
            raise ActionError(
                f"Junction {node_id} has no traffic signal in this scenario",
                code="unknown_junction",
            )
        return int(rows[0])

    def plan_of(self, node_id: int) -> dict[str, object]:
        """Plain description of one junction's plan (for display and the audit log)."""
        j = self.row(node_id)
        return {
            "node_id": int(node_id),
            "cycle_s": float(self.cycle_s[j]),
            "offset_s": float(self.offset_s[j]),
            "intergreen_s": float(self.intergreen_s[j]),
            "greens_s": [float(g) for g in self.greens_s[j, : self.n_phases[j]]],
            "min_green_s": [float(g) for g in self.min_green_s[j, : self.n_phases[j]]],
        }


def plans_from_table(signals: pd.DataFrame) -> SignalPlans:
    """Build :class:`SignalPlans` from ``signals.csv`` rows; check each plan is consistent.

    ``min_greens_s`` (optional column) holds each phase's minimum green with pedestrian
    clearance, as the importer computed it from the junction's crossings
    (:func:`twin.models.webster.pedestrian_green_s`); without it every phase gets
    :data:`twin.models.webster.MIN_GREEN_S`.
    """
    greens = [_parse_greens(text, row, "greens_s") for row, text in enumerate(signals["greens_s"])]
    n_phases = np.array([len(g) for g in greens], dtype=np.int64)
    width = int(n_phases.max()) if len(greens) else 1
    greens_s = np.zeros((len(greens), width))
    min_green_s = np.full((len(greens), width), MIN_GREEN_S)
    for row, values in enumerate(greens):
        greens_s[row, : len(values)] = values
        if "min_greens_s" in signals.columns:
            minimums = _parse_greens(signals["min_greens_s"].iloc[row], row, "min_greens_s")
            if len(minimums) != len(values):
                raise ScenarioError(
                    f"signals.csv row {row + 2}: min_greens_s needs one value per phase"
                )
            min_green_s[row, : len(values)] = minimums
    plans = SignalPlans(
        node_ids=signals["node_id"].to_numpy(np.int64),
        cycle_s=signals["cycle_s"].to_numpy(float),
        offset_s=signals["offset_s"].to_numpy(float),
        intergreen_s=signals["intergreen_s"].to_numpy(float),
        greens_s=greens_s,
        n_phases=n_phases,
        min_green_s=min_green_s,
    )
    for j in range(len(plans.node_ids)):
        sums_to = plans.greens_s[j].sum() + plans.n_phases[j] * plans.intergreen_s[j]
        if not np.isclose(sums_to, plans.cycle_s[j]):
            raise ScenarioError(
                f"signals.csv row {j + 2} (node {plans.node_ids[j]}): greens + intergreens "
                f"= {sums_to:g} s but cycle_s = {plans.cycle_s[j]:g} s"
            )
    return plans


def _parse_greens(text: object, row: int, column: str) -> list[float]:
    try:
        values = [float(v) for v in str(text).split()]
    except ValueError as error:
        raise ScenarioError(
            f"signals.csv row {row + 2}: {column} {text!r} is not numbers"
        ) from error
    if not values or min(values) <= 0:
        raise ScenarioError(
            f"signals.csv row {row + 2}: {column} needs positive seconds, got {text!r}"
        )
    return values


def planned_phase(plans: SignalPlans, time_s: float) -> IntArray:
    """Phase index green under the plan at ``time_s`` per junction; -1 in an intergreen."""
    return _planned_phase(
        float(time_s),
        plans.offset_s,
        plans.cycle_s,
        plans.greens_s,
        plans.intergreen_s,
        plans.n_phases,
    )


@numba.njit(cache=True)
def _planned_phase(
    time_s, offset_s, cycle_s, greens_s, intergreen_s, n_phases
):  # pragma: no cover - compiled
    """Walk each junction's cycle: phase ``k`` is green on ``[start_k, start_k + green_k)`` of
    the cycle time, ``start_k`` = the greens and intergreens before it."""
    phase = np.full(len(cycle_s), -1, dtype=np.int64)
    for j in range(len(cycle_s)):
        tau = (time_s - offset_s[j]) % cycle_s[j]
        start = 0.0
        for k in range(n_phases[j]):
            if start <= tau < start + greens_s[j, k]:
                phase[j] = k
                break
            start += greens_s[j, k] + intergreen_s[j]
    return phase


@numba.njit(cache=True)
def movement_green(phase, mv_signal_row, mv_phase):  # pragma: no cover - compiled
    """(M,) True where a movement may flow: unsignalised (``mv_signal_row < 0``) or its
    junction's green phase (``phase[row]``) is the movement's phase."""
    green = np.empty(len(mv_signal_row), dtype=np.bool_)
    for m in range(len(mv_signal_row)):
        row = mv_signal_row[m]
        green[m] = row < 0 or phase[row] == mv_phase[m]
    return green


@dataclass(frozen=True)
class Preemption:
    """A pre-emption window at junction row ``row``: ``phase`` green from ``start_s`` on.

    The plan's phase is ended at ``start_s`` with an intergreen, so ``phase`` shows green from
    ``start_s + intergreen`` (or from ``start_s`` if it is already the planned phase) until
    ``end_s``; then an intergreen leads back into the plan.
    """

    row: int
    phase: int
    start_s: float
    end_s: float
    corridor_id: str = ""


def active_phase(
    plans: SignalPlans, time_s: float, preemptions: tuple[Preemption, ...] = ()
) -> IntArray:
    """Phase green at ``time_s`` per junction, after pre-emptions; -1 = no movement green."""
    phase = planned_phase(plans, time_s)
    for pre in preemptions:
        phase[pre.row] = _preempted_phase(plans, pre, time_s, int(phase[pre.row]))
    return phase


def _preempted_phase(plans: SignalPlans, pre: Preemption, time_s: float, planned: int) -> int:
    intergreen = plans.intergreen_s[pre.row]
    if time_s < pre.start_s:
        return planned
    if time_s < pre.end_s:
        planned_at_start = int(planned_phase(plans, pre.start_s)[pre.row])
        switching = planned_at_start != pre.phase and time_s < pre.start_s + intergreen
        return -1 if switching else pre.phase
    if time_s < pre.end_s + intergreen and planned != pre.phase:
        return -1
    return planned


def require_value(label: str, value: object) -> None:
    """Raise :class:`ActionError` (code ``empty_value``) when a field was left empty.

    ``label`` names the field in the operator's words ("Phase 1 green", "The cycle").
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ActionError(f"{label} is empty: type a number of seconds", code="empty_value")


def seconds(label: str, value: object) -> float:
    """``value`` as a finite number of seconds, or :class:`ActionError` in the operator's words
    (codes ``empty_value``, ``bad_value``) quoting what was typed."""
    require_value(label, value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ActionError(
            f"{label} must be a number of seconds (you typed {_typed(value)})", code="bad_value"
        )
    if not np.isfinite(value):
        raise ActionError(
            f"{label} must be a number of seconds (you typed {_typed(value)})", code="bad_value"
        )
    return float(value)


def _typed(value: object) -> str:
    """What the operator typed, short and quoted when it is text."""
    if isinstance(value, str):
        return f'"{value[:40]}"'
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)[:40]


def check_plan(
    plans: SignalPlans, node_id: int, *, cycle_s: object, greens_s: object, offset_s: object
) -> None:
    """Raise :class:`ActionError` when a new plan breaks a rule; nothing is changed.

    The message is in the operator's words and quotes the value typed ("Green for phase 2 must be
    at least 7 s (you typed 3)"); the code says which rule (``unknown_junction``,
    ``wrong_phase_count``, ``empty_value``, ``bad_value``, ``out_of_range``,
    ``cycle_mismatch``). Greens are checked first: the cycle follows them on the operator's
    screen.
    """
    j = plans.row(node_id)
    n_phases = int(plans.n_phases[j])
    if not isinstance(greens_s, (list, tuple)) or len(greens_s) != n_phases:
        count = len(greens_s) if isinstance(greens_s, (list, tuple)) else "no list of"
        raise ActionError(
            f"Junction {node_id} has {n_phases} phases, so its plan needs {n_phases} greens "
            f"(it had {count})",
            code="wrong_phase_count",
        )
    greens = [_check_green(plans, j, k, green) for k, green in enumerate(greens_s)]
    cycle = _check_cycle(seconds("The cycle", cycle_s))
    intergreen = float(plans.intergreen_s[j])
    total = sum(greens) + n_phases * intergreen
    if not np.isclose(total, cycle):
        added = " + ".join(f"{g:g}" for g in greens)
        raise ActionError(
            f"The greens ({added} s) and {n_phases} intergreens of {intergreen:g} s add up to "
            f"{total:g} s, but the cycle is {cycle:g} s: make the cycle {total:g} s or change "
            "a green",
            code="cycle_mismatch",
        )
    offset = seconds("The offset", offset_s)
    if not 0 <= offset < cycle:
        raise ActionError(
            f"The offset must be at least 0 s and less than the {cycle:g} s cycle "
            f"(you typed {offset:g})",
            code="out_of_range",
        )


def _check_green(plans: SignalPlans, row: int, k: int, value: object) -> float:
    green = seconds(f"Phase {k + 1} green", value)
    minimum = float(plans.min_green_s[row, k])
    if green < minimum - 1e-9:
        raise ActionError(
            f"Green for phase {k + 1} must be at least {minimum:g} s (you typed {green:g}): "
            "the shortest green that lets pedestrians cross",
            code="out_of_range",
        )
    return green


def _check_cycle(cycle: float) -> float:
    low, high = CYCLE_RANGE_S
    if not low <= cycle <= high:
        raise ActionError(
            f"The cycle must be between {low:g} and {high:g} s (it is {cycle:g} s)",
            code="out_of_range",
        )
    return cycle


def with_plan(
    plans: SignalPlans, node_id: int, *, cycle_s: float, greens_s: list[float], offset_s: float
) -> SignalPlans:
    """A copy of ``plans`` with one junction's plan replaced (checked first)."""
    check_plan(plans, node_id, cycle_s=cycle_s, greens_s=greens_s, offset_s=offset_s)
    new = plans.copy()
    j = plans.row(node_id)
    new.cycle_s[j] = cycle_s
    new.offset_s[j] = offset_s
    new.greens_s[j, : len(greens_s)] = greens_s
    return new
