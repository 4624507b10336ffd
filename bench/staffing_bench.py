"""Checkpoint staffing on the bundled day: ``python -m bench --only staffing``.

From each start (17:00 and 18:00; the engine runs the day from 17:00, traffic and crowd), a
proposal over the next 90 minutes in 5-minute slots (:func:`twin.optimise.proposal.propose`)
with the staff the default plan uses (the lanes open at the start): the twin's worst wait at
any checkpoint (doors open) under the default (lanes kept), today's per-checkpoint advice
followed every slot, and the optimised plan (also with 10-minute moves); each plan's peak
staff and whether it keeps the staff rule (budget and move time); the proposal's wall time.
``worst_wait_after_first_move_min``: the worst wait from the first minute a move ordered at the
start can land (earlier waits depend only on the staff already at each checkpoint).
Then the fewest staff whose optimised plan keeps every wait under 15 minutes
(:func:`twin.optimise.proposal.fewest_staff`, staff placed freely at the start). The top-level
``staffing.*`` keys are those of the first start.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

SCENARIO = Path("data/seoul_olympic_park")
STARTS = ("17:00", "18:00")
HORIZON_MIN = 90
SLOT_MIN = 5
TARGET_WAIT_S = 15 * 60.0
SHORT_MOVE_S = 600.0
"""A second move time (10 min) beside the default (the walk between the two farthest
checkpoints), to show how much the move time costs."""


def _seconds(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0


def bench_staffing(starts: tuple[str, ...] = STARTS) -> dict[str, Any]:
    from twin.engine import Engine
    from twin.optimise import proposal
    from twin.scenario import load

    engine = Engine(load(SCENARIO), seed=0, start_s=_seconds(starts[0]))
    by_start: dict[str, Any] = {}
    for start in starts:
        engine.run(_seconds(start))
        by_start[start] = _one_start(engine, proposal)
        print(f"  {start}: " + _line(by_start[start]))
    first = by_start[starts[0]]
    return {
        **{k: first[k] for k in ("default", "advice", "optimised", "fewest_staff_for_15_min")},
        "proposal_s": first["proposal_s"],
        "by_start": by_start,
    }


def _one_start(engine: Any, proposal: Any) -> dict[str, Any]:
    result = proposal.propose(engine, horizon_min=HORIZON_MIN, slot_min=SLOT_MIN)
    out: dict[str, Any] = {
        "staff": result.staff.total_staff,
        "move_s": result.staff.move_s,
        "horizon_min": HORIZON_MIN,
        "slot_min": SLOT_MIN,
        "proposal_s": result.proposal_s,
    }
    first_move_min = min(
        math.ceil(result.staff.move_s / 60.0 / SLOT_MIN - 1e-9) * SLOT_MIN, HORIZON_MIN - 1
    )
    out["first_move_min"] = first_move_min
    for name, run in result.runs.items():
        minute, j = run.worst_wait_at
        out[name] = {
            "worst_wait_min": run.worst_wait_s / 60.0,
            "worst_wait_after_first_move_min": run.worst_wait_from_s(first_move_min) / 60.0,
            "worst_at": result.names[j],
            "worst_at_min": minute + 1,
            "total_wait_person_h": run.total_wait_person_s / 3600.0,
            "peak_staff": result.peak_staff[name],
            "keeps_staff_rule": result.keeps_staff_rule[name],
        }
    short = proposal.propose(
        engine, horizon_min=HORIZON_MIN, slot_min=SLOT_MIN, move_s=SHORT_MOVE_S
    )
    out["optimised_move_10_min"] = {
        "worst_wait_min": short.runs["optimised"].worst_wait_s / 60.0,
        "peak_staff": short.peak_staff["optimised"],
        "keeps_staff_rule": short.keeps_staff_rule["optimised"],
    }
    started = time.perf_counter()
    fewest = proposal.fewest_staff(
        engine, target_wait_s=TARGET_WAIT_S, horizon_min=HORIZON_MIN, slot_min=SLOT_MIN
    )
    out["fewest_staff_for_15_min"] = fewest.staff
    out["fewest_staff"] = {
        "staff": fewest.staff,
        "given": fewest.given,
        "short_by": fewest.short_by,
        "worst_wait_min": fewest.worst_wait_s / 60.0,
        "all_lanes_staff": fewest.all_lanes_staff,
        "message": fewest.message,
        "search_s": time.perf_counter() - started,
    }
    return out


def _line(figures: dict[str, Any]) -> str:
    waits = ", ".join(
        f"{name} {figures[name]['worst_wait_min']:.1f} min "
        f"(from +{figures['first_move_min']} min {figures[name]['worst_wait_after_first_move_min']:.1f}; "
        f"{figures[name]['worst_at']}, "
        f"peak {figures[name]['peak_staff']} staff"
        f"{'' if figures[name]['keeps_staff_rule'] else ', breaks the staff rule'})"
        for name in ("default", "advice", "optimised")
    )
    return (
        f"{figures['staff']} staff, worst wait: {waits}; with 10-min moves "
        f"{figures['optimised_move_10_min']['worst_wait_min']:.1f} min; "
        f"proposal {figures['proposal_s']:.1f} s; "
        f"{figures['fewest_staff']['message']}"
    )
