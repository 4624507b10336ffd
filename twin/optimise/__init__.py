"""Optimisers that plan from the twin's forecast (checkpoint staffing); re-exports only."""

from twin.optimise.staffing import (
    StaffingError,
    StaffingPlan,
    StaffingProblem,
    feasible,
    optimise,
    staff_in_use,
)

__all__ = [
    "StaffingError",
    "StaffingPlan",
    "StaffingProblem",
    "feasible",
    "optimise",
    "staff_in_use",
]
