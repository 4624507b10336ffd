"""Turning movements, phases and the signal-guessing rule on hand-drawn junctions."""

import numpy as np
import pytest
import shapely

from twin.io.osm.junctions import (
    Leg,
    axial_difference_deg,
    bearing_deg,
    classify_turn,
    crossing_lanes,
    end_bearings_deg,
    guess_signalised,
    phase_groups,
    turn_angle_deg,
    turning_movements,
)

# A 4-way crossing at node 0. Arms: north node 1, east 2, south 3, west 4.
# Incoming links (heading of travel at the junction): from north heads south (180), from
# east heads west (270), from south heads north (0), from west heads east (90).
# Link ids: incoming 10 (from N), 11 (from E), 12 (from S), 13 (from W);
# outgoing 20 (to N, heading 0), 21 (to E, 90), 22 (to S, 180), 23 (to W, 270).
CROSS_IN = [
    Leg(10, 1, 180.0, reverse_link_id=20, lanes=2),
    Leg(11, 2, 270.0, reverse_link_id=21, lanes=3),
    Leg(12, 3, 0.0, reverse_link_id=22, lanes=2),
    Leg(13, 4, 90.0, reverse_link_id=23, lanes=3),
]
CROSS_OUT = [
    Leg(20, 1, 0.0, reverse_link_id=10, lanes=2),
    Leg(21, 2, 90.0, reverse_link_id=11, lanes=3),
    Leg(22, 3, 180.0, reverse_link_id=12, lanes=2),
    Leg(23, 4, 270.0, reverse_link_id=13, lanes=3),
]


@pytest.mark.parametrize(
    ("x1", "y1", "expected"),
    [(0, 10, 0.0), (10, 0, 90.0), (0, -10, 180.0), (-10, 0, 270.0), (10, 10, 45.0)],
)
def test_bearing_is_clockwise_from_north(x1, y1, expected):
    assert bearing_deg(0, 0, x1, y1) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("inbound", "outbound", "angle", "turn"),
    [
        (0, 90, 90, "right"),  # Korea drives on the right: a right turn is clockwise
        (0, 270, -90, "left"),
        (350, 10, 20, "through"),  # wraps around north
        (90, 135, 45, "through"),  # 45 degrees still counts as through
        (90, 136, 46, "right"),
        (0, 170, 170, "uturn"),
        (0, 180, -180, "uturn"),
    ],
)
def test_turn_angle_and_class(inbound, outbound, angle, turn):
    computed = float(turn_angle_deg(inbound, outbound))
    assert computed == pytest.approx(angle)
    assert classify_turn(computed) == turn


def test_four_way_crossing_has_12_movements_and_no_uturn():
    movements = turning_movements(CROSS_IN, CROSS_OUT)
    assert len(movements) == 12
    assert {turn for *_, turn in movements} == {"left", "through", "right"}
    by_pair = {(a, b): t for a, b, t in movements}
    # arriving from the south (heading north): east is right, west is left, north is through
    assert by_pair[(12, 21)] == "right"
    assert by_pair[(12, 23)] == "left"
    assert by_pair[(12, 20)] == "through"
    assert (12, 22) not in by_pair  # U-turn back south: forbidden, other exits exist


def test_dead_end_allows_the_uturn():
    incoming = [Leg(5, 7, 90.0, reverse_link_id=6)]
    outgoing = [Leg(6, 7, 270.0, reverse_link_id=5)]
    assert turning_movements(incoming, outgoing) == [(5, 6, "uturn")]


def test_uturn_by_returning_node_even_without_reverse_pair():
    # a divided road: in from node 7 heading east, out to node 7 on the other carriageway,
    # plus a right turn: the return trip is a U-turn and forbidden
    incoming = [Leg(1, 7, 90.0)]
    outgoing = [Leg(2, 7, 265.0), Leg(3, 8, 180.0)]
    assert turning_movements(incoming, outgoing) == [(1, 3, "right")]


def test_crossing_phases_pair_opposite_approaches():
    phases = phase_groups(CROSS_IN)
    # most opposite pair (ties: lowest link ids) is 10/12 (north-south): phase 0
    assert phases == {10: 0, 11: 1, 12: 0, 13: 1}


def test_t_junction_opposite_pair_is_phase_0_third_is_phase_1():
    # main road east-west, side road from the south; even a skewed side road goes to phase 1
    legs = [Leg(1, 11, 90.0), Leg(2, 12, 270.0), Leg(3, 13, 30.0)]
    assert phase_groups(legs) == {1: 0, 2: 0, 3: 1}


def test_two_conflicting_approaches_get_two_phases():
    # two one-way roads merging at right angles
    assert phase_groups([Leg(1, 11, 0.0), Leg(2, 12, 90.0)]) == {1: 0, 2: 1}
    # one road through a mid-block signal: one phase, phase 1 left for pedestrians
    assert phase_groups([Leg(1, 11, 0.0), Leg(2, 12, 180.0)]) == {1: 0, 2: 0}


def test_five_leg_junction_groups_by_axis():
    # axis north-south (0/180); the 200 approach is within 45 degrees of it, 60 and 270 are not
    legs = [Leg(1, 0, 0.0), Leg(2, 0, 180.0), Leg(3, 0, 200.0), Leg(4, 0, 60.0), Leg(5, 0, 270.0)]
    assert phase_groups(legs) == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}


def test_axial_difference():
    assert axial_difference_deg(10, 190) == pytest.approx(0.0)
    assert axial_difference_deg(0, 90) == pytest.approx(90.0)
    assert axial_difference_deg(350, 35) == pytest.approx(45.0)


def test_crossing_lanes_count_both_directions():
    assert crossing_lanes(CROSS_IN, CROSS_OUT) == {10: 4, 11: 6, 12: 4, 13: 6}


def test_end_bearings_ignore_a_short_consolidation_stub():
    # 100 m north, then a 3 m stub east to a cluster centroid: the 20 m chord ends at
    # (3, 100) from (0, 83): atan2(3, 17) = 10.0 degrees, not 90
    line = shapely.LineString([(0, 0), (0, 100), (3, 100)])
    start, end = end_bearings_deg([line])
    assert start[0] == pytest.approx(0.0)
    assert end[0] == pytest.approx(np.degrees(np.arctan2(3, 17)))
    with pytest.raises(ValueError, match="'span_m' should be > 0, got 0"):
        end_bearings_deg([line], span_m=0)


@pytest.mark.parametrize(
    ("roads", "approaches", "neighbours", "expected"),
    [
        # two primary roads cross
        ([("primary", "A-ro"), ("primary", "B-ro")], 4, 4, True),
        # a primary meets a secondary at a T
        ([("primary", "A-ro"), ("secondary", "C-gil")], 3, 3, True),
        # one primary road changing name mid-block: only 2 neighbours
        ([("primary", "A-ro"), ("primary", "B-ro")], 2, 2, False),
        # the two carriageways of one divided road are one road
        ([("primary", "A-ro"), ("residential", "D-gil")], 3, 3, False),
        # primary x tertiary with 3 approaches
        ([("primary", "A-ro"), ("tertiary", "E-gil")], 3, 3, True),
        # primary x tertiary with only 2 approaches (one-way pieces)
        ([("primary", "A-ro"), ("tertiary", "E-gil")], 2, 3, False),
        # links do not count as major roads
        ([("trunk_link", "ramp"), ("primary", "A-ro")], 3, 3, False),
    ],
)
def test_signal_guess_rule(roads, approaches, neighbours, expected):
    assert guess_signalised(roads, approaches=approaches, neighbours=neighbours) is expected
