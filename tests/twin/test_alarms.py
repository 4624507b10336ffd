"""Alarm book: no duplicates, hysteresis in time and value, flood grouping, ack, rate."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from twin.alarms import (
    AlarmBook, AlarmSettings, Condition, Places, pedestrian_conditions, road_conditions, road_groups,
)


def _c(key="road:A", level=2, kind="congestion", eta_s=None):
    return Condition(key=key, kind=kind, level=level, place=key.split(":")[-1], message="m", eta_s=eta_s)


def test_condition_rejects_bad_level():
    with pytest.raises(ValueError, match="level must be 1, 2 or 3, got 4"):
        _c(level=4)


def test_raised_only_after_the_on_delay_and_never_twice():
    book = AlarmBook(AlarmSettings(on_delay_s=60, off_delay_s=300))
    for t in range(0, 60, 10):
        book.update(t, [_c(), _c()])  # stated twice per tick: still one alert
        assert book.feed(t) == ()
    book.update(60, [_c()])
    assert [a["place"] for a in book.feed(60)] == ["A"]
    for t in range(70, 400, 10):
        book.update(t, [_c()])
    assert book.raised_total == 1
    assert len(book.feed(400)) == 1


def test_a_blip_shorter_than_the_on_delay_raises_nothing():
    book = AlarmBook(AlarmSettings(on_delay_s=60, off_delay_s=300))
    book.update(0, [_c()])
    book.update(30, [])
    book.update(40, [_c()])
    book.update(90, [_c()])
    assert book.raised_total == 0


def test_cleared_only_after_the_off_delay():
    book = AlarmBook(AlarmSettings(on_delay_s=0, off_delay_s=300))
    book.update(0, [_c()])
    book.update(100, [])
    assert len(book.feed(100)) == 1  # still open: gone for less than the off-delay
    book.update(200, [_c()])  # back: same alert, not a new one
    book.update(499, [])
    assert len(book.feed(499)) == 1
    book.update(500, [])
    assert book.feed(500) == ()
    assert book.raised_total == 1


def test_flood_is_grouped_and_acknowledged_as_one():
    book = AlarmBook(AlarmSettings(on_delay_s=0, flood_limit=3))
    book.update(0, [_c(f"road:{k}") for k in "ABCDE"] + [_c("crowd:z", kind="crowd", level=3)])
    feed = book.feed(0)
    assert [a["kind"] for a in feed] == ["crowd", "congestion"]
    group = feed[1]
    assert group["count"] == 5 and group["message"] == "5 congestion alerts (grouped)"
    assert book.acknowledge_kind("congestion") == 5
    assert book.feed(0)[1]["acked"] is True


def test_acknowledge_and_escalation_needs_a_new_ack():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(0, [_c(level=1)])
    alert_id = book.feed(0)[0]["id"]
    assert book.acknowledge(alert_id) is True
    assert book.acknowledge(999) is False
    book.update(10, [_c(level=1)])
    assert book.feed(10)[0]["acked"] is True
    book.update(20, [_c(level=3)])
    assert book.feed(20)[0]["acked"] is False


def test_rate_counts_new_alerts_in_the_window():
    book = AlarmBook(AlarmSettings(on_delay_s=0, off_delay_s=0, rate_window_s=3600))
    for k in range(6):
        book.update(k * 600, [_c(f"road:{k}")])
    assert book.stats(3000)["rate_per_h"] == 6
    book.update(4800, [])  # the window now holds the alerts of 1200..3000 s
    assert book.stats(4800)["rate_per_h"] == 4


def _links():
    return pd.DataFrame({
        "length_m": [300.0, 300.0, 50.0, 300.0], "highway": ["primary", "primary", "primary", "residential"],
        "name": ["Olympic-ro", "Olympic-ro", "Short", "Lane"],
    })


def test_road_groups_watch_long_major_links_by_name():
    groups = road_groups(_links())
    assert groups.names == ("Olympic-ro",)  # the short and the residential link are not watched
    assert groups.group.tolist() == [0, 0, -1, -1]


def test_road_conditions_use_a_deadband_while_active():
    groups = road_groups(_links())
    links = {"speed_ratio": np.array([0.35, 0.9, 0.1, 0.1]), "queue_m": np.array([100.0, 0, 900, 900])}
    assert road_conditions(groups, links, {}, forecast_age_s=0, active={}) == []
    held = road_conditions(groups, links, {}, forecast_age_s=0, active={"road:Olympic-ro": "congestion"})
    assert [(c.key, c.kind) for c in held] == [("road:Olympic-ro", "congestion")]
    # an open forecast alert does not loosen the live threshold
    assert road_conditions(groups, links, {}, forecast_age_s=0, active={"road:Olympic-ro": "forecast"}) == []


def test_forecast_condition_carries_minutes_until_it_happens():
    groups = road_groups(_links())
    now = {"speed_ratio": np.ones(4), "queue_m": np.zeros(4)}

    jam = SimpleNamespace(links={"speed_ratio": np.array([0.1, 1, 1, 1]), "queue_m": np.array([400.0, 0, 0, 0])})
    conditions = road_conditions(groups, now, {900: jam, 1800: jam, 3600: jam},
                                 forecast_age_s=300, active={})
    assert [(c.key, c.kind, c.eta_s, c.level) for c in conditions] == [("road:Olympic-ro", "forecast", 600, 1)]
    assert "in 10 min" in conditions[0].message
    assert road_conditions(groups, now, {3600: jam}, forecast_age_s=0, active={}) == []


def test_a_forecast_that_comes_true_is_one_alert():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(0, [_c("road:A", level=1, kind="forecast", eta_s=600)])
    book.update(600, [_c("road:A", level=2, kind="congestion")])
    feed = book.feed(600)
    assert book.raised_total == 1 and [(a["kind"], a["level"]) for a in feed] == [("congestion", 2)]


def test_pedestrian_conditions_locate_crush_risk_and_long_waits():
    places = Places(("Gate A", "Gate B"), np.array([[127.1, 37.5], [127.2, 37.5]]), ("Dome",),
                    np.array([[127.1, 37.5]]), lambda x, y: np.array([[127.1 + x / 1e5, 37.5 + y / 1e5]]))
    people = {"crush_alerts": [{"level": "critical", "x_m": 10.0, "y_m": 0.0, "peak_density_ppm2": 5.4,
                                "area_m2": 120.0}],
              "checkpoints": {"wait_s": [1300.0, 1000.0], "queue_persons": [900.0, 700.0]}}
    conditions = pedestrian_conditions(people, places, active={})
    assert [(c.key, c.kind, c.level) for c in conditions] == [
        ("crush:Dome", "crowd", 3), ("checkpoint:Gate A", "checkpoint", 2)]
    held = pedestrian_conditions(people, places, active={"checkpoint:Gate B": "checkpoint"})
    assert [c.key for c in held] == ["crush:Dome", "checkpoint:Gate A", "checkpoint:Gate B"]
