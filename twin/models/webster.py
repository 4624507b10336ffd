"""Fixed-time signal plans by Webster's method.

Webster, F. V. (1958). *Traffic Signal Settings*. Road Research Technical Paper No. 39,
HMSO, London. The optimum cycle minimises the average delay of an isolated junction::

    L  = phases x intergreen_s               total lost time per cycle, s
    y_i = q_i / s_i                          critical flow ratio of phase i
    Y  = sum(y_i)
    C0 = (1.5 L + 5) / (1 - Y)               optimum cycle, s
    g_i = (C - L) y_i / Y                    effective green of phase i, s

Conventions and defaults used here:

- The intergreen (amber + all-red) is counted as lost time: the start-up lost time and the
  amber time still used by drivers roughly cancel (the "effective green = displayed green"
  convention). The importer uses 5 s = 3 s amber + 2 s all-red per phase change.
- The cycle is clamped to [``cycle_min_s``, ``cycle_max_s``], by default 40-150 s: below 40 s
  pedestrians cannot cross a multi-lane road in one green, and 150 s is the usual upper bound
  for urban signals (Webster found delay flat within 0.75-1.5 C0; longer cycles only add queue).
- Every green is at least ``min_green_s`` (default 7 s, the pedestrian walk-start interval
  of the Korean Police Agency's signal manual and the usual HCM minimum). A pedestrian
  crossing may need more: pass a per-phase sequence (see :func:`pedestrian_green_s`). As in
  the textbook procedure, a phase raised to its minimum lengthens the cycle
  (``cycle = L + sum(greens)``); if that passes ``cycle_max_s``, the cycle is ``cycle_max_s``
  and its green time is shared in proportion to y with no phase below its minimum
  (:func:`split_greens_s`). Minimums that do not fit in ``cycle_max_s`` are a ValueError.
- ``Y >= 1`` means the junction is oversaturated and no cycle can serve the demand:
  :class:`ValueError`, unless ``clamp=True`` asks for the longest cycle anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

CYCLE_MIN_S = 40.0
CYCLE_MAX_S = 150.0
MIN_GREEN_S = 7.0
AMBER_S = 3.0
ALL_RED_S = 2.0
INTERGREEN_S = AMBER_S + ALL_RED_S
PEDESTRIAN_START_S = 7.0
PEDESTRIAN_SPEED_MPS = 1.0


def webster_cycle_s(lost_time_s: float, flow_ratios: Sequence[float] | npt.ArrayLike) -> float:
    """Webster's optimum cycle C0 = (1.5 L + 5) / (1 - Y), unclamped.

    Parameters
    ----------
    lost_time_s
        Total lost time per cycle L, s.
    flow_ratios
        Critical flow ratio y_i = flow / saturation flow of each phase.

    Returns
    -------
    cycle_s
    """
    ratios = _check_ratios(flow_ratios)
    if not np.isfinite(lost_time_s) or lost_time_s < 0:
        raise ValueError(f"'lost_time_s' should be a finite number >= 0, got {lost_time_s!r}")
    total = float(ratios.sum())
    if total >= 1:
        raise ValueError(
            f"sum of 'flow_ratios' Y = {total:.3f} should be < 1: the junction is oversaturated "
            "and no cycle length can serve the demand"
        )
    return (1.5 * lost_time_s + 5.0) / (1.0 - total)


def webster_plan(
    flow_ratios: Sequence[float] | npt.ArrayLike,
    *,
    intergreen_s: float = INTERGREEN_S,
    min_green_s: float | Sequence[float] = MIN_GREEN_S,
    cycle_min_s: float = CYCLE_MIN_S,
    cycle_max_s: float = CYCLE_MAX_S,
    clamp: bool = False,
) -> tuple[float, npt.NDArray[np.float64]]:
    """Cycle and greens of a fixed-time plan by Webster's method.

    Parameters
    ----------
    flow_ratios
        Critical flow ratio y_i of each phase (a phase with no demand has 0).
    intergreen_s
        Amber + all-red after each phase, s; lost time L = phases x intergreen_s.
    min_green_s
        Minimum green, one value for all phases or one per phase, s.
    cycle_min_s, cycle_max_s
        Bounds of the cycle, s.
    clamp
        If True, an oversaturated junction (Y >= 1) gets ``cycle_max_s`` with greens in
        proportion to y instead of a ValueError.

    Returns
    -------
    cycle_s, greens_s
        ``cycle_s == phases * intergreen_s + greens_s.sum()``.
    """
    ratios = _check_ratios(flow_ratios)
    minimums = _check_plan_bounds(len(ratios), intergreen_s, min_green_s, cycle_min_s, cycle_max_s)
    lost_time_s = len(ratios) * intergreen_s
    if ratios.sum() >= 1 and clamp:
        cycle_s = cycle_max_s
    else:
        cycle_s = float(np.clip(webster_cycle_s(lost_time_s, ratios), cycle_min_s, cycle_max_s))
    greens = np.maximum(_proportional(cycle_s - lost_time_s, ratios), minimums)
    cycle_s = lost_time_s + float(greens.sum())
    if cycle_s <= cycle_max_s + 1e-9:
        return cycle_s, greens
    if lost_time_s + minimums.sum() > cycle_max_s + 1e-9:
        raise ValueError(
            f"minimum greens {minimums.tolist()} s plus lost time {lost_time_s:g} s need a "
            f"{lost_time_s + minimums.sum():g} s cycle, above 'cycle_max_s' = {cycle_max_s:g} s"
        )
    return cycle_max_s, split_greens_s(cycle_max_s - lost_time_s, ratios, minimums)


def split_greens_s(
    green_time_s: float, flow_ratios: npt.NDArray[np.float64], min_green_s: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Share ``green_time_s`` in proportion to y, no phase below its minimum.

    Phases raised to their minimum are fixed and the rest is shared again among the others,
    so the greens always add up to ``green_time_s`` (which must cover the minimums).

    Parameters
    ----------
    green_time_s
        Cycle minus lost time, s.
    flow_ratios
        Critical flow ratio of each phase.
    min_green_s
        Minimum green of each phase, s.

    Returns
    -------
    greens_s
    """
    greens = np.zeros(len(flow_ratios))
    free = np.ones(len(flow_ratios), dtype=bool)
    while free.any():
        greens[free] = _proportional(green_time_s - greens[~free].sum(), flow_ratios[free])
        short = free & (greens < min_green_s)
        if not short.any():
            break
        greens[short] = min_green_s[short]
        free &= ~short
    return greens


def _proportional(total: float, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``total`` shared in proportion to ``weights`` (equally when they are all 0)."""
    if weights.sum() > 0:
        return total * (weights / weights.sum())  # normalise first: exact for tiny weights
    return np.full(len(weights), total / len(weights))


def pedestrian_green_s(
    crossing_m: float,
    *,
    start_s: float = PEDESTRIAN_START_S,
    speed_mps: float = PEDESTRIAN_SPEED_MPS,
) -> float:
    """Green a pedestrian crossing needs: walk start + crossing length / walking speed.

    Defaults follow the Korean Police Agency's traffic-signal manual: 7 s to step off plus
    1 s per metre (1.0 m/s; 0.8 m/s is used near schools and elderly-care zones).

    Parameters
    ----------
    crossing_m
        Length of the crossing, m.
    start_s
        Walk-start interval, s.
    speed_mps
        Design walking speed, m/s.

    Returns
    -------
    green_s
    """
    if not crossing_m >= 0:
        raise ValueError(f"'crossing_m' should be >= 0, got {crossing_m!r}")
    if not speed_mps > 0:
        raise ValueError(f"'speed_mps' should be > 0, got {speed_mps!r}")
    return start_s + crossing_m / speed_mps


def whole_seconds(
    cycle_s: float, greens_s: npt.ArrayLike, lost_time_s: float
) -> tuple[int, list[int]]:
    """Round a plan to whole seconds, keeping ``cycle = lost time + sum(greens)``.

    The cycle is rounded up; the greens are floored and the seconds left over go to the
    phases with the largest remainders (ties to the lower phase index).
    """
    greens = np.asarray(greens_s, dtype=float)
    cycle = int(np.ceil(cycle_s - 1e-9))
    budget = cycle - round(lost_time_s)
    scaled = (
        greens * budget / greens.sum()
        if greens.sum() > 0
        else np.full(len(greens), budget / len(greens))
    )
    whole = np.floor(scaled + 1e-9).astype(int)
    order = np.argsort(-(scaled - whole), kind="stable")
    whole[order[: budget - whole.sum()]] += 1
    return cycle, whole.tolist()


def _check_ratios(flow_ratios: Sequence[float] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    ratios = np.asarray(flow_ratios, dtype=float)
    if ratios.ndim != 1 or len(ratios) == 0:
        raise ValueError(f"'flow_ratios' should be a non-empty 1-d sequence, got {flow_ratios!r}")
    if not np.all(np.isfinite(ratios)) or np.any(ratios < 0):
        raise ValueError(f"'flow_ratios' should be finite and >= 0, got {ratios.tolist()}")
    return ratios


def _check_plan_bounds(
    phases: int,
    intergreen_s: float,
    min_green_s: float | Sequence[float],
    cycle_min_s: float,
    cycle_max_s: float,
) -> npt.NDArray[np.float64]:
    if not intergreen_s >= 0:
        raise ValueError(f"'intergreen_s' should be >= 0, got {intergreen_s!r}")
    if not 0 < cycle_min_s <= cycle_max_s:
        raise ValueError(
            f"need 0 < 'cycle_min_s' <= 'cycle_max_s', got {cycle_min_s!r} and {cycle_max_s!r}"
        )
    minimums = np.asarray(min_green_s, dtype=float)
    if minimums.ndim == 0:
        minimums = np.full(phases, float(minimums))
    if minimums.shape != (phases,) or np.any(~(minimums >= 0)):
        raise ValueError(
            f"'min_green_s' should be one value >= 0 or one per phase ({phases}), "
            f"got {min_green_s!r}"
        )
    return minimums
