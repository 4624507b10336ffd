"""Road-class defaults and OSM tag parsing: input -> output tables."""

import dataclasses

import pytest

from twin.io.osm.roadclass import (
    KPH_PER_MPH,
    ROAD_CLASSES,
    RoadClassDefaults,
    parse_lanes,
    parse_maxspeed_kph,
    parse_oneway,
    road_class,
    way_traffic,
)

DRIVABLE = [
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
]


def test_every_drivable_class_has_defaults():
    assert sorted(ROAD_CLASSES) == sorted(DRIVABLE)


@pytest.mark.parametrize(
    ("highway", "lanes", "free_speed_kph", "capacity_vphpl"),
    [
        ("motorway", 3, 100.0, 2300.0),  # HCM freeway 2,200 + 10 (62 - 50) mi/h
        ("trunk", 2, 80.0, 2000.0),  # HCM multilane 1,900 + 20 (50 - 45) mi/h
        ("primary", 3, 50.0, 1900.0),  # HCM base saturation flow; Safe Speed 5030
        ("secondary", 2, 50.0, 1800.0),
        ("tertiary", 1, 50.0, 1700.0),
        ("residential", 1, 30.0, 1200.0),  # 5030: 30 km/h on residential streets
        ("trunk_link", 1, 50.0, 2000.0),
    ],
)
def test_defaults_table(highway, lanes, free_speed_kph, capacity_vphpl):
    defaults = road_class(highway)
    assert (defaults.lanes, defaults.free_speed_kph, defaults.capacity_vphpl) == (
        lanes,
        free_speed_kph,
        capacity_vphpl,
    )
    assert defaults.jam_density_vpkm == 150.0  # 1000 m / 6.7 m per stopped vehicle


def test_every_class_has_a_positive_backward_wave():
    # critical density capacity / free speed must stay below jam density (triangular FD)
    for defaults in ROAD_CLASSES.values():
        assert defaults.capacity_vphpl / defaults.free_speed_kph < defaults.jam_density_vpkm


def test_defaults_are_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ROAD_CLASSES["primary"].lanes = 9  # type: ignore[misc]
    with pytest.raises(ValueError, match="'lanes' should be a whole number >= 1, got 0"):
        RoadClassDefaults("primary", 0, 50.0, 1900.0)
    with pytest.raises(ValueError, match="'free_speed_kph' should be > 0, got -5"):
        RoadClassDefaults("primary", 1, -5, 1900.0)
    with pytest.raises(ValueError, match="should be below jam_density_vpkm"):
        RoadClassDefaults("primary", 1, 10.0, 1900.0)  # 190 veh/km > 150


def test_unknown_class_is_refused():
    with pytest.raises(
        ValueError, match="'highway' should be one of the drivable classes .* got 'footway'"
    ):
        road_class("footway")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("4", 4),
        (" 2 ", 2),
        ("2;3", 2),
        ("2.5", 2),
        ("0", None),
        ("many", None),
        ("3 km/h", None),
    ],
)
def test_parse_lanes(value, expected):
    assert parse_lanes(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("60kmh", 60.0),
        ("30 mph", round(30 * KPH_PER_MPH, 2)),  # 48.28
        ("KR:urban", None),
        ("none", None),
        ("signals", None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value, expected):
    assert parse_maxspeed_kph(value) == expected


@pytest.mark.parametrize(
    ("value", "highway", "junction", "expected"),
    [
        ("yes", "primary", None, "forward"),
        ("true", "primary", None, "forward"),
        ("1", "primary", None, "forward"),
        ("-1", "primary", None, "reverse"),
        ("reverse", "primary", None, "reverse"),
        ("no", "motorway", None, "no"),  # a tag beats the implied one-way
        ("false", "primary", None, "no"),
        ("alternating", "primary", None, None),
        (None, "primary", None, "no"),
        (None, "motorway", None, "forward"),
        (None, "motorway_link", None, "forward"),
        (None, "residential", "roundabout", "forward"),
    ],
)
def test_parse_oneway(value, highway, junction, expected):
    assert parse_oneway(value, highway=highway, junction=junction) == expected


@pytest.mark.parametrize(
    ("tags", "lanes_fwd", "lanes_bwd", "lanes_default"),
    [
        ({"highway": "primary"}, 3, 3, True),
        ({"highway": "primary", "lanes": "4"}, 2, 2, False),  # two-way: lanes // 2
        ({"highway": "primary", "lanes": "5"}, 2, 2, False),
        ({"highway": "residential", "lanes": "1"}, 1, 1, False),  # max(1, 1 // 2)
        ({"highway": "primary", "lanes": "5", "lanes:forward": "3"}, 3, 2, False),
        ({"highway": "primary", "lanes:forward": "2", "lanes:backward": "1"}, 2, 1, False),
        ({"highway": "primary", "lanes": "3", "oneway": "yes"}, 3, 0, False),  # all one way
        ({"highway": "primary", "lanes": "3", "oneway": "-1"}, 0, 3, False),
        ({"highway": "secondary", "oneway": "yes"}, 2, 0, True),
    ],
)
def test_way_lanes_per_direction(tags, lanes_fwd, lanes_bwd, lanes_default):
    traffic = way_traffic(tags)
    assert (traffic.lanes_fwd, traffic.lanes_bwd, traffic.lanes_default) == (
        lanes_fwd,
        lanes_bwd,
        lanes_default,
    )


def test_tags_win_over_defaults_and_flags_say_what_was_missing():
    traffic = way_traffic({"highway": "residential", "maxspeed": "30 mph", "lanes": "lots"})
    assert traffic.free_speed_kph == 48.28
    assert not traffic.maxspeed_default
    assert traffic.lanes_default and traffic.lanes_unparsed
    assert (traffic.capacity_vphpl, traffic.jam_density_vpkm) == (1200.0, 150.0)
    plain = way_traffic({"highway": "tertiary", "maxspeed": "KR:urban", "oneway": "alternating"})
    assert plain.free_speed_kph == 50.0 and plain.maxspeed_unparsed and plain.oneway_unparsed
    assert plain.oneway == "no"
