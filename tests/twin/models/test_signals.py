"""Signal timing: the phase clock, pre-emption, and the no-conflicting-greens property."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.errors import ScenarioError
from twin.models.signals import Preemption, active_phase, planned_phase, plans_from_table


def _plans(greens, intergreen=3.0, offset=0.0):
    cycle = sum(greens) + len(greens) * intergreen
    table = pd.DataFrame(
        {
            "node_id": [7],
            "cycle_s": [cycle],
            "offset_s": [offset],
            "intergreen_s": [intergreen],
            "greens_s": [" ".join(map(str, greens))],
        }
    )
    return plans_from_table(table)


def test_phase_clock_follows_greens_and_intergreens():
    plans = _plans([20.0, 30.0], intergreen=5.0)  # cycle 60: G0 0-20, IG 20-25, G1 25-55, IG 55-60
    expected = {0: 0, 19.9: 0, 20: -1, 24.9: -1, 25: 1, 54.9: 1, 55: -1, 60: 0, 85: 1}
    for t, phase in expected.items():
        assert planned_phase(plans, t)[0] == phase, t


def test_offset_shifts_the_cycle():
    plans = _plans([20.0, 30.0], intergreen=5.0, offset=10.0)
    assert planned_phase(plans, 10.0)[0] == 0
    assert planned_phase(plans, 5.0)[0] == -1  # = 55 s into the previous cycle


def test_plan_whose_greens_do_not_fill_the_cycle_is_refused():
    table = pd.DataFrame(
        {
            "node_id": [1],
            "cycle_s": [90.0],
            "offset_s": [0.0],
            "intergreen_s": [3.0],
            "greens_s": ["30 30"],
        }
    )
    with pytest.raises(
        ScenarioError, match=r"signals.csv row 2 \(node 1\): greens \+ intergreens = 66 s"
    ):
        plans_from_table(table)


def test_preemption_ends_current_green_with_an_intergreen_then_holds_the_target():
    plans = _plans([20.0, 30.0], intergreen=5.0)
    pre = (Preemption(row=0, phase=1, start_s=10.0, end_s=40.0),)
    assert active_phase(plans, 9.0, pre)[0] == 0
    assert active_phase(plans, 10.0, pre)[0] == -1  # phase 0 ends through an intergreen
    assert active_phase(plans, 15.0, pre)[0] == 1
    assert active_phase(plans, 39.0, pre)[0] == 1
    # after the window the plan shows phase 1 (25-55 s): same phase, no intergreen needed
    assert active_phase(plans, 40.0, pre)[0] == 1


def _green_runs_are_separated(phases: np.ndarray, step_s: float, intergreen_s: float) -> bool:
    last_phase, red_since = None, None
    for k, phase in enumerate(phases):
        if phase < 0:
            red_since = k if red_since is None else red_since
            continue
        if last_phase is not None and phase != last_phase:
            red_s = (k - red_since) * step_s if red_since is not None else 0.0
            if red_s < intergreen_s - 1e-9:
                return False
        last_phase, red_since = phase, None
    return True


@settings(max_examples=150, deadline=None)
@given(
    greens=st.lists(st.integers(7, 60), min_size=2, max_size=4),
    intergreen=st.integers(2, 6),
    offset=st.integers(0, 59),
    windows=st.lists(
        st.tuples(st.integers(0, 400), st.integers(5, 90), st.integers(0, 3)), max_size=3
    ),
)
def test_never_two_conflicting_greens_under_random_plans_and_preemptions(
    greens, intergreen, offset, windows
):
    plans = _plans(
        [float(g) for g in greens], intergreen=float(intergreen), offset=float(offset % 30)
    )
    # non-overlapping pre-emption windows, as the corridor planner guarantees
    preemptions, free_from = [], 0.0
    for start, length, phase in sorted(windows):
        start = max(float(start), free_from)
        preemptions.append(Preemption(0, phase % len(greens), start, start + length))
        free_from = start + length + 2 * intergreen
    step = 0.5
    times = np.arange(0.0, 700.0, step)
    phases = np.array([active_phase(plans, t, tuple(preemptions))[0] for t in times])
    assert set(np.unique(phases)) <= set(range(-1, len(greens)))
    assert _green_runs_are_separated(phases, step, float(intergreen))
