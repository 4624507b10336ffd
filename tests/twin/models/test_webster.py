"""Webster's method against worked examples computed by hand from C0 = (1.5 L + 5) / (1 - Y)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.models.webster import (
    pedestrian_green_s,
    split_greens_s,
    webster_cycle_s,
    webster_plan,
    whole_seconds,
)


@pytest.mark.parametrize(
    ("lost_time_s", "flow_ratios", "expected_s"),
    [
        # brief: L = 10, Y = 0.6 -> (15 + 5) / 0.4 = 50
        (10.0, [0.3, 0.3], 50.0),
        # GATE CE 2021: 2 phases x 3 s lost, y = 0.37 and 0.40 -> (9 + 5) / 0.23 = 60.87
        (6.0, [0.37, 0.40], 14.0 / 0.23),
        # q = 500 and 300 pcu/h, s = 1,600 pcu/h, L = 16 -> Y = 0.5, (24 + 5) / 0.5 = 58
        (16.0, [500 / 1600, 300 / 1600], 58.0),
        # N-S 1000 / 2500 = 0.4, E-W 900 / 3000 = 0.3, L = 12 -> (18 + 5) / 0.3 = 76.67 ~ 77
        (12.0, [1000 / 2500, 900 / 3000], 23.0 / 0.3),
    ],
)
def test_optimum_cycle_worked_examples(lost_time_s, flow_ratios, expected_s):
    assert webster_cycle_s(lost_time_s, flow_ratios) == pytest.approx(expected_s)


def test_plan_greens_share_cycle_minus_lost_time_by_y():
    # L = 2 x 5 = 10 s, Y = 0.6, C0 = 50 s; greens = 40 x 0.4 / 0.6 and 40 x 0.2 / 0.6
    cycle_s, greens_s = webster_plan([0.4, 0.2], intergreen_s=5.0)
    assert cycle_s == pytest.approx(50.0)
    assert greens_s == pytest.approx([80 / 3, 40 / 3])


def test_gate_example_plan():
    cycle_s, greens_s = webster_plan([0.37, 0.40], intergreen_s=3.0)
    assert cycle_s == pytest.approx(60.8696, abs=1e-4)
    assert greens_s == pytest.approx(
        [(60.8696 - 6) * 0.37 / 0.77, (60.8696 - 6) * 0.40 / 0.77], abs=1e-3
    )


def test_cycle_is_clamped_to_bounds():
    # Y = 0.9: C0 = (15 + 5) / 0.1 = 200 s -> 150 s; greens (150 - 10) / 2 = 70 s each
    cycle_s, greens_s = webster_plan([0.45, 0.45])
    assert cycle_s == 150.0
    assert greens_s == pytest.approx([70.0, 70.0])
    # Y = 0.1: C0 = 20 / 0.9 = 22.2 s -> 40 s; greens 30 x 0.05 / 0.1 = 15 s each
    cycle_s, greens_s = webster_plan([0.05, 0.05])
    assert cycle_s == 40.0
    assert greens_s == pytest.approx([15.0, 15.0])


def test_min_green_lengthens_the_cycle():
    # C0 = 20 / 0.55 = 36.4 -> 40 s: greens (30, 0); phase 1 raised to 7 s -> cycle 47 s
    cycle_s, greens_s = webster_plan([0.45, 0.0])
    assert cycle_s == pytest.approx(47.0)
    assert greens_s == pytest.approx([30.0, 7.0])


def test_pedestrian_minimum_per_phase():
    # 4 lanes x 3.25 m = 13 m at 1.0 m/s + 7 s = 20 s
    assert pedestrian_green_s(13.0) == 20.0
    # C0 = 20 / 0.55 = 36.4 -> 40 s: greens (25, 5) -> (25, 20): 55 s
    cycle_s, greens_s = webster_plan([0.25, 0.05], min_green_s=[7.0, 20.0])
    assert cycle_s == pytest.approx(55.0)
    assert greens_s == pytest.approx([25.0, 20.0])


def test_minimums_above_the_max_cycle_share_the_max_cycle():
    # Y = 0.9: 150 s, greens 70/70; phase 1 needs 100 s -> 150 s with greens 40 and 100
    cycle_s, greens_s = webster_plan([0.45, 0.45], min_green_s=[7.0, 100.0])
    assert cycle_s == 150.0
    assert greens_s == pytest.approx([40.0, 100.0])
    with pytest.raises(
        ValueError, match=r"minimum greens \[70.0, 75.0\] s plus lost time 10 s need a 155 s cycle"
    ):
        webster_plan([0.45, 0.45], min_green_s=[70.0, 75.0])


def test_oversaturated_is_an_error_unless_clamped():
    with pytest.raises(ValueError, match=r"Y = 1.100 should be < 1: the junction is oversaturated"):
        webster_cycle_s(10.0, [0.6, 0.5])
    with pytest.raises(ValueError, match="oversaturated"):
        webster_plan([0.6, 0.5])
    cycle_s, greens_s = webster_plan([0.6, 0.5], clamp=True)
    assert cycle_s == 150.0
    assert greens_s == pytest.approx([140 * 0.6 / 1.1, 140 * 0.5 / 1.1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flow_ratios": []}, "'flow_ratios' should be a non-empty 1-d sequence"),
        (
            {"flow_ratios": [0.2, -0.1]},
            r"'flow_ratios' should be finite and >= 0, got \[0.2, -0.1\]",
        ),
        ({"flow_ratios": [0.2, 0.2], "intergreen_s": -1}, "'intergreen_s' should be >= 0, got -1"),
        (
            {"flow_ratios": [0.2, 0.2], "cycle_min_s": 90, "cycle_max_s": 60},
            "need 0 < 'cycle_min_s' <= 'cycle_max_s', got 90 and 60",
        ),
        (
            {"flow_ratios": [0.2, 0.2], "min_green_s": [7.0]},
            r"'min_green_s' should be one value >= 0 or one per phase \(2\)",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        webster_plan(**kwargs)


def test_bad_lost_time():
    with pytest.raises(ValueError, match="'lost_time_s' should be a finite number >= 0, got -2"):
        webster_cycle_s(-2, [0.3])


def test_whole_seconds_keeps_cycle_equal_to_lost_time_plus_greens():
    # 60.87 s -> 61 s: 55 s of green, 26.37 : 28.50 scaled to 26.43 / 28.57 -> 26 + 28,
    # the spare second to the larger remainder (0.57)
    cycle_s, greens_s = whole_seconds(60.8696, [26.3659, 28.5037], 6.0)
    assert cycle_s == 61
    assert sum(greens_s) == 55 and greens_s == [26, 29]


def test_split_greens_fixes_short_phases_and_shares_the_rest():
    greens = split_greens_s(60.0, np.array([0.5, 0.4, 0.01]), np.array([7.0, 7.0, 7.0]))
    # 0.01 phase gets 7 s; the other 53 s split 5 : 4
    assert greens == pytest.approx([53 * 5 / 9, 53 * 4 / 9, 7.0])


@given(
    ratios=st.lists(st.floats(0.0, 0.24), min_size=2, max_size=4),
    intergreen_s=st.floats(3.0, 6.0),
    min_green_s=st.floats(5.0, 15.0),
)
def test_plan_invariants(ratios, intergreen_s, min_green_s):
    cycle_s, greens_s = webster_plan(ratios, intergreen_s=intergreen_s, min_green_s=min_green_s)
    lost_time_s = len(ratios) * intergreen_s
    assert cycle_s == pytest.approx(lost_time_s + greens_s.sum())
    assert 40.0 - 1e-9 <= cycle_s <= 150.0 + 1e-9
    assert np.all(greens_s >= min_green_s - 1e-9)
    whole_cycle, whole_greens = whole_seconds(cycle_s, greens_s, lost_time_s)
    assert whole_cycle == round(lost_time_s) + sum(whole_greens)
    assert all(g >= np.floor(min_green_s) for g in whole_greens)
