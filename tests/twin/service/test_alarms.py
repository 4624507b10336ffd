"""Alarm book: no duplicates, hysteresis in time and value, flood grouping, ack, shelving,
forecast countdown, one counting rule, rate. Every expected number is worked out by hand."""

from concurrent.futures import Future
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from twin.service.alarms import (
    AlarmBook,
    AlarmSettings,
    Condition,
    Places,
    pedestrian_conditions,
    road_conditions,
    road_groups,
)
from twin.service.commands import CommandPath
from twin.service.recorder import INPUT_KINDS


def _c(key="road:A", level=2, kind="congestion", eta_s=None):
    return Condition(
        key=key, kind=kind, level=level, place=key.split(":")[-1], message="m", eta_s=eta_s
    )


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
    return pd.DataFrame(
        {
            "length_m": [300.0, 300.0, 50.0, 300.0],
            "highway": ["primary", "primary", "primary", "residential"],
            "name": ["Olympic-ro", "Olympic-ro", "Short", "Lane"],
        }
    )


def test_road_groups_watch_long_major_links_by_name():
    groups = road_groups(_links())
    assert groups.names == ("Olympic-ro",)  # the short and the residential link are not watched
    assert groups.group.tolist() == [0, 0, -1, -1]


def test_road_conditions_use_a_deadband_while_active():
    groups = road_groups(_links())
    links = {
        "speed_ratio": np.array([0.35, 0.9, 0.1, 0.1]),
        "queue_m": np.array([100.0, 0, 900, 900]),
    }
    assert road_conditions(groups, links, {}, forecast_age_s=0, active={}) == []
    held = road_conditions(
        groups, links, {}, forecast_age_s=0, active={"road:Olympic-ro": "congestion"}
    )
    assert [(c.key, c.kind) for c in held] == [("road:Olympic-ro", "congestion")]
    # an open forecast alert does not loosen the live threshold
    assert (
        road_conditions(groups, links, {}, forecast_age_s=0, active={"road:Olympic-ro": "forecast"})
        == []
    )


def test_forecast_condition_carries_minutes_until_it_happens():
    groups = road_groups(_links())
    now = {"speed_ratio": np.ones(4), "queue_m": np.zeros(4)}

    jam = SimpleNamespace(
        links={"speed_ratio": np.array([0.1, 1, 1, 1]), "queue_m": np.array([400.0, 0, 0, 0])}
    )
    conditions = road_conditions(
        groups, now, {900: jam, 1800: jam, 3600: jam}, forecast_age_s=300, active={}
    )
    assert [(c.key, c.kind, c.eta_s, c.level) for c in conditions] == [
        ("road:Olympic-ro", "forecast", 600, 1)
    ]
    assert conditions[0].message == "Forecast congestion: 10% of free speed"  # the book counts down
    assert road_conditions(groups, now, {3600: jam}, forecast_age_s=0, active={}) == []


def test_a_forecast_that_comes_true_is_one_alert():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(0, [_c("road:A", level=1, kind="forecast", eta_s=600)])
    book.update(600, [_c("road:A", level=2, kind="congestion")])
    feed = book.feed(600)
    assert book.raised_total == 1 and [(a["kind"], a["level"]) for a in feed] == [("congestion", 2)]


def test_pedestrian_conditions_locate_crush_risk_and_long_waits():
    places = Places(
        ("Gate A", "Gate B"),
        np.array([[127.1, 37.5], [127.2, 37.5]]),
        ("Dome",),
        np.array([[127.1, 37.5]]),
        lambda x, y: np.array([[127.1 + x / 1e5, 37.5 + y / 1e5]]),
    )
    people = {
        "crush_alerts": [
            {
                "level": "critical",
                "x_m": 10.0,
                "y_m": 0.0,
                "peak_density_ppm2": 5.4,
                "area_m2": 120.0,
            }
        ],
        "checkpoints": {"wait_s": [1300.0, 1000.0], "queue_persons": [900.0, 700.0]},
    }
    conditions = pedestrian_conditions(people, places, active={})
    assert [(c.key, c.kind, c.level) for c in conditions] == [
        ("crush:Dome", "crowd", 3),
        ("checkpoint:Gate A", "checkpoint", 2),
    ]
    held = pedestrian_conditions(people, places, active={"checkpoint:Gate B": "checkpoint"})
    assert [c.key for c in held] == ["crush:Dome", "checkpoint:Gate A", "checkpoint:Gate B"]


# ------------------------------------------------------------------ acknowledgement
def test_acknowledgement_keeps_who_and_when():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(100, [_c()])
    book.update(160, [_c()])
    assert book.acknowledge(book.feed(160)[0]["id"], user="kim") is True
    item = book.feed(160)[0]
    assert (item["acked"], item["acked_by"], item["acked_s"], item["new"]) == (True, "kim", 160, 0)


def test_a_group_that_gains_members_keeps_their_acknowledgement_and_counts_the_new():
    book = AlarmBook(AlarmSettings(on_delay_s=0, flood_limit=3))
    book.update(0, [_c(f"road:{k}") for k in "ABCD"])  # 4 > 3: one group
    group = book.feed(0)[0]
    assert (group["count"], group["new"], group["acked"]) == (4, 4, False)
    assert book.acknowledge_kind("congestion", user="kim") == 4
    book.update(60, [_c(f"road:{k}") for k in "ABCDEF"])  # E and F join
    group = book.feed(60)[0]
    assert group["id"] == book.feed(0)[0]["id"]  # the same line
    assert (group["count"], group["acked_count"], group["new"], group["acked"]) == (6, 4, 2, False)
    assert book.acknowledge_kind("congestion", user="lee") == 2  # only the new ones
    group = book.feed(60)[0]
    assert (group["new"], group["acked"], group["acked_by"]) == (0, True, "lee")


# ------------------------------------------------------------------ forecast countdown
def test_a_forecast_counts_down_to_its_predicted_time_and_says_when_it_passed():
    book = AlarmBook(AlarmSettings(on_delay_s=0, off_delay_s=600))
    # at 18:18 the forecast says "in 11 min": predicted for 18:29 (66,540 s)
    t0 = 18 * 3600 + 18 * 60
    book.update(t0, [_c(kind="forecast", level=1, eta_s=660)])
    item = book.feed(t0)[0]
    assert (item["predicted_s"], item["eta_s"], item["overdue"]) == (t0 + 660, 660, False)
    # every later forecast keeps saying "in 11 min" (it slides): the countdown does not
    for minute in range(1, 6):
        book.update(t0 + 60 * minute, [_c(kind="forecast", level=1, eta_s=660)])
    item = book.feed(t0 + 300)[0]
    assert (item["eta_s"], item["predicted_s"], item["forecast_s"]) == (
        360,
        t0 + 660,
        t0 + 300 + 660,
    )
    # a forecast that moves it earlier is followed: due in 2 min from 18:24, i.e. 18:26
    book.update(t0 + 360, [_c(kind="forecast", level=1, eta_s=120)])
    assert (book.feed(t0 + 360)[0]["predicted_s"], book.feed(t0 + 360)[0]["eta_s"]) == (
        t0 + 480,
        120,
    )
    # 20:24: long past 18:26 and still only forecast: it says so, it never says "in 11 min"
    late = 20 * 3600 + 24 * 60
    book.update(late, [_c(kind="forecast", level=1, eta_s=660)])
    item = book.feed(late)[0]
    assert (item["eta_s"], item["overdue"], item["predicted_s"], item["forecast_s"]) == (
        0,
        True,
        t0 + 480,
        late + 660,
    )
    # when the trouble arrives the same alert escalates and the countdown goes
    book.update(late + 60, [_c(kind="congestion", level=2)])
    item = book.feed(late + 60)[0]
    assert (item["kind"], item["eta_s"], item["predicted_s"], item["overdue"]) == (
        "congestion",
        None,
        None,
        False,
    )


def test_a_group_counts_down_to_its_soonest_member():
    book = AlarmBook(AlarmSettings(on_delay_s=0, flood_limit=1))
    book.update(
        0,
        [
            _c("road:A", kind="forecast", level=1, eta_s=900),
            _c("road:B", kind="forecast", level=1, eta_s=300),
        ],
    )
    assert book.feed(120)[0]["eta_s"] == 180  # B: 300 - 120


# ------------------------------------------------------------------ shelving
def test_shelving_takes_an_alert_off_the_feed_until_it_expires():
    book = AlarmBook(AlarmSettings(on_delay_s=0, off_delay_s=600))
    book.update(0, [_c("road:A"), _c("road:B", level=1)])
    a = next(item["id"] for item in book.feed(0) if item["place"] == "A")
    book.acknowledge(a, user="kim")
    assert (
        book.shelve(a, time_s=60, minutes=30, reason="road works, police on site", user="kim") == 1
    )
    assert [item["place"] for item in book.feed(60)] == ["B"]
    shelf = book.shelved(120)
    assert [
        (s["id"], s["shelved_until_s"], s["remaining_s"], s["shelved_by"], s["shelved_reason"])
        for s in shelf
    ] == [(a, 1860, 1740, "kim", "road works, police on site")]
    assert book.stats(120)["open"] == 1 and book.stats(120)["shelved"] == 1
    assert book.acknowledge(a) is False  # a shelved alert is not on the feed
    for t in range(120, 1860, 60):
        book.update(t, [_c("road:A"), _c("road:B", level=1)])
    assert book.shelved(1800) != ()
    book.update(
        1860, [_c("road:A"), _c("road:B", level=1)]
    )  # 60 + 30 min: back, to be acknowledged again
    back = next(item for item in book.feed(1860) if item["place"] == "A")
    assert (back["acked"], back["returned_s"], book.shelved(1860)) == (False, 1860, ())


def test_unshelve_returns_it_at_once_and_an_escalation_takes_it_off_the_shelf():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(0, [_c("road:A", level=1), _c("road:B", level=1)])
    ids = {item["place"]: item["id"] for item in book.feed(0)}
    book.shelve(ids["A"], time_s=0, minutes=60, reason="known")
    book.shelve(ids["B"], time_s=0, minutes=60, reason="known")
    assert book.unshelve(ids["A"], time_s=120) == 1
    assert book.unshelve(ids["A"], time_s=120) == 0  # not shelved any more
    book.update(180, [_c("road:A", level=1), _c("road:B", level=3)])  # B escalates to critical
    assert (
        sorted(item["place"] for item in book.feed(180)) == ["A", "B"] and book.shelved(180) == ()
    )


def test_critical_alerts_are_never_shelved_and_a_shelved_group_is_one_shelf_item():
    book = AlarmBook(AlarmSettings(on_delay_s=0, flood_limit=2))
    book.update(
        0, [_c("road:A"), _c("road:B"), _c("road:C", level=3), _c("crush:X", kind="crowd", level=3)]
    )
    crush = next(item["id"] for item in book.feed(0) if item["kind"] == "crowd")
    assert book.shelvable(crush) == 0 and book.shelve(crush, time_s=0, minutes=10, reason="x") == 0
    assert book.shelvable(0, kind="congestion") == 2
    assert (
        book.shelve(0, time_s=0, minutes=10, reason="event traffic", kind="congestion") == 2
    )  # C stays
    [shelf] = book.shelved(0)
    assert (shelf["count"], sorted(shelf["places"]), len(shelf["ids"])) == (2, ["A", "B"], 2)
    assert sorted((item["kind"], item["count"]) for item in book.feed(0)) == [
        ("congestion", 1),
        ("crowd", 1),
    ]
    assert book.unshelve(shelf["ids"][1], time_s=60, batch=True) == 2


def test_shelving_needs_a_reason_and_a_bounded_time():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(0, [_c()])
    alert_id = book.feed(0)[0]["id"]
    with pytest.raises(ValueError, match="reason must not be empty"):
        book.shelve(alert_id, time_s=0, minutes=10, reason="  ")
    with pytest.raises(ValueError, match="minutes must be more than 0 and at most 480, got 600"):
        book.shelve(alert_id, time_s=0, minutes=600, reason="r")


def test_a_cleared_alert_leaves_the_shelf():
    book = AlarmBook(AlarmSettings(on_delay_s=0, off_delay_s=300))
    book.update(0, [_c()])
    book.shelve(book.feed(0)[0]["id"], time_s=0, minutes=60, reason="known")
    book.update(100, [])
    book.update(400, [])  # absent for the off-delay: cleared, shelved or not
    assert book.shelved(400) == () and book.feed(400) == ()


# ------------------------------------------------------------------ one counting rule
def test_open_counts_every_alert_the_feed_stands_for_and_no_shelved_one():
    book = AlarmBook(AlarmSettings(on_delay_s=0, flood_limit=4))
    # 5 congestion (one group line), 5 checkpoint (one group line), 1 crowd, 1 forecast = 12 alerts in 4 lines
    conditions = (
        [_c(f"road:{k}") for k in "ABCDE"]
        + [_c(f"checkpoint:{k}", kind="checkpoint") for k in "FGHIJ"]
        + [_c("crush:X", kind="crowd", level=3), _c("road:Z", kind="forecast", level=1, eta_s=600)]
    )
    book.update(0, conditions)
    feed, stats = book.feed(0), book.stats(0)
    assert (stats["open"], stats["lines"], stats["groups"]) == (12, 4, 2)
    assert sum(item["count"] for item in feed) == stats["open"]
    assert (stats["unacked"], stats["critical_unacked"]) == (12, 1)
    forecast = next(item["id"] for item in feed if item["kind"] == "forecast")
    book.shelve(forecast, time_s=0, minutes=15, reason="forecast only")
    feed, stats = book.feed(0), book.stats(0)
    assert (stats["open"], stats["shelved"], sum(item["count"] for item in feed)) == (11, 1, 11)
    assert [s["id"] for s in stats["shelved_items"]] == [forecast]


def test_shelving_is_a_recorded_kind_of_input():
    assert "shelve" in INPUT_KINDS


class _Recorder:
    def __init__(self):
        self.rows = []

    def record_input(self, **row):
        assert row["kind"] in INPUT_KINDS
        self.rows.append(row)
        return len(self.rows)


class _Live:
    """The command path's view of a live twin: its alarm book, recorder and loop thread."""

    def __init__(self, book, time_s):
        self.alarm_book, self.recorder, self.engine = (
            book,
            _Recorder(),
            SimpleNamespace(time_s=time_s),
        )

    def call(self, fn):
        future = Future()
        future.set_result(fn(self.engine))
        return future


def test_shelving_goes_through_the_command_path_recorded_and_refused_in_words():
    book = AlarmBook(AlarmSettings(on_delay_s=0))
    book.update(600, [_c("road:A", level=2), _c("crush:X", kind="crowd", level=3)])
    live = _Live(book, 600)
    path = CommandPath(live)
    ids = {item["kind"]: item["id"] for item in book.feed(600)}
    who = {"user": "kim", "role": "operator"}
    refusals = [
        path.shelve(ids["congestion"], reason=" ", minutes=30, **who),
        path.shelve(ids["congestion"], reason="known", minutes=600, **who),
        path.shelve(ids["congestion"], reason="known", minutes="30", **who),
        path.shelve(ids["crowd"], reason="known", minutes=30, **who),
        path.shelve(999, reason="known", minutes=30, **who),
        path.shelve(True, reason="known", minutes=30, **who),
        path.unshelve(ids["congestion"], **who),
    ]
    assert [(r.ok, r.code) for r in refusals] == [
        (False, "bad_value"),
        (False, "out_of_range"),
        (False, "bad_value"),
        (False, "critical"),
        (False, "not_open"),
        (False, "bad_value"),
        (False, "not_shelved"),
    ]
    assert refusals[0].reason == "give a reason for shelving the alert (what is known about it)"
    assert refusals[1].reason == "shelve for 1 to 480 minutes, got 600"
    assert refusals[3].reason == "a critical alert cannot be shelved: acknowledge it and act on it"
    done = path.shelve(ids["congestion"], reason="  road works ", minutes=30, **who)
    assert (done.ok, done.after["until_s"], done.after["reason"], done.after["count"]) == (
        True,
        2400,
        "road works",
        1,
    )
    assert [s["id"] for s in book.shelved(600)] == [ids["congestion"]]
    back = path.unshelve(ids["congestion"], **who)
    assert back.ok and book.shelved(600) == () and len(book.feed(600)) == 2
    rows = live.recorder.rows
    assert [(r["kind"], r["name"], r["result"]) for r in rows[-2:]] == [
        ("shelve", "shelve", "ok"),
        ("shelve", "unshelve", "ok"),
    ]
    assert rows[-2]["payload"] == {
        "alert_id": ids["congestion"],
        "group": False,
        "reason": "road works",
        "minutes": 30,
    }
    assert {r["kind"] for r in rows} == {"shelve"}  # refusals are recorded under the same kind
