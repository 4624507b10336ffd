"""Signal timing: the phase clock, pre-emption, and the no-conflicting-greens property."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.errors import ActionError, ScenarioError
from twin.models.signals import (
    Preemption,
    active_phase,
    check_plan,
    planned_phase,
    plans_from_table,
)


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


# ---------------------------------------------------------------- refusals in the operator's words
def _two_phase(min_greens=(7.0, 12.0)):
    """Junction 7: greens 20 + 30 s, intergreens 5 s (cycle 60 s), minimum greens 7 and 12 s."""
    table = pd.DataFrame(
        {
            "node_id": [7],
            "cycle_s": [60.0],
            "offset_s": [0.0],
            "intergreen_s": [5.0],
            "greens_s": ["20 30"],
            "min_greens_s": [" ".join(f"{m:g}" for m in min_greens)],
        }
    )
    return plans_from_table(table)


@pytest.mark.parametrize(
    ("cycle", "greens", "offset", "code", "text"),
    [
        (
            53,
            [30, 3],
            0,
            "out_of_range",
            "Green for phase 2 must be at least 12 s (you typed 3): the shortest green that lets "
            "pedestrians cross",
        ),
        (60, [None, 30], 0, "empty_value", "Phase 1 green is empty: type a number of seconds"),
        (60, ["", 30], 0, "empty_value", "Phase 1 green is empty: type a number of seconds"),
        (
            60,
            [20, "lots"],
            0,
            "bad_value",
            'Phase 2 green must be a number of seconds (you typed "lots")',
        ),
        (
            60,
            [20, True],
            0,
            "bad_value",
            "Phase 2 green must be a number of seconds (you typed True)",
        ),
        (
            60,
            [20],
            0,
            "wrong_phase_count",
            "Junction 7 has 2 phases, so its plan needs 2 greens (it had 1)",
        ),
        (
            190,
            [100, 80],
            0,
            "out_of_range",
            "The cycle must be between 30 and 180 s (it is 190 s)",
        ),
        (
            None,
            [20, 30],
            0,
            "empty_value",
            "The cycle is empty: type a number of seconds",
        ),
        (
            70,
            [20, 30],
            0,
            "cycle_mismatch",
            "The greens (20 + 30 s) and 2 intergreens of 5 s add up to 60 s, but the cycle is "
            "70 s: make the cycle 60 s or change a green",
        ),
        (
            60,
            [20, 30],
            60,
            "out_of_range",
            "The offset must be at least 0 s and less than the 60 s cycle (you typed 60)",
        ),
        (60, [20, 30], float("nan"), "bad_value", "The offset must be a number of seconds"),
    ],
)
def test_a_refusal_names_the_field_in_words_quotes_the_value_and_carries_a_code(
    cycle, greens, offset, code, text
):
    plans = _two_phase()
    before = plans.copy()
    with pytest.raises(ActionError) as refused:
        check_plan(plans, 7, cycle_s=cycle, greens_s=greens, offset_s=offset)
    assert refused.value.code == code
    assert str(refused.value).startswith(text)
    for word in ("greens_s", "cycle_s", "offset_s", "None", "got"):
        assert word not in str(refused.value)
    np.testing.assert_array_equal(plans.greens_s, before.greens_s)


def test_unknown_junction_is_refused_with_its_code():
    with pytest.raises(ActionError, match="^Junction 99 has no traffic signal") as refused:
        check_plan(_two_phase(), 99, cycle_s=60, greens_s=[20, 30], offset_s=0)
    assert refused.value.code == "unknown_junction"


def test_a_plan_within_the_rules_passes():
    # 12 + 38 + 2 x 5 = 60 s; phase 2 at exactly its minimum of 12 s
    check_plan(_two_phase(), 7, cycle_s=60, greens_s=[38, 12], offset_s=59)


def test_the_editor_form_refuses_an_empty_field_before_the_command_path():
    from twin.actions import SetSignalPlan, signal_plan_from_form

    cases = [
        ((7, [None, 30], 60, 0), "Phase 1 green is empty: type a number of seconds"),
        ((7, [20, ""], 60, 0), "Phase 2 green is empty: type a number of seconds"),
        ((7, [20, 30], None, 0), "The cycle is empty: type a number of seconds"),
        ((7, [20, 30], 60, None), "The offset is empty: type a number of seconds"),
        ((None, [20, 30], 60, 0), "No junction chosen: pick one on the map or from the list"),
    ]
    for form, text in cases:
        with pytest.raises(ActionError) as refused:
            signal_plan_from_form(*form)
        assert (refused.value.code, str(refused.value)) == ("empty_value", text)
    # anything typed goes on to the command path, which checks it (and audits a refusal)
    assert signal_plan_from_form(7, [20, "lots"], 60, 0) == SetSignalPlan(7, 60, (20, "lots"), 0)
