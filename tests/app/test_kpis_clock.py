"""KPI trend arrows that say what they mean, and a clock with a date and an end of day
(issue 13.9).

Truths: a mean speed that fell is worse (more delay, slower traffic); more vehicles or more
spectators is neither; a running total is judged by how fast it grows. The bundled day is
Saturday 21 November 2026 (scenario.toml); after midnight it is Sunday 22 November; its last
session ends 22:30 and the day is over at 01:00 (tests/twin/service/test_queries_checkpoints.py
works that out by hand). The browser tests run the real twin from a start time just before
midnight or just before the end of the day, and wait (bounded) for what the screens show.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pytest

from layouts.clock import clock_state_text, day_clock, kiosk_clock
from layouts.kpis import KPIS, format_value, kpi_card, trend_meaning
from tests.app.conftest import open_page, serve, serve_at, wall_config
from tests.waiting import wait_for

SPECS = {spec.name: spec for spec in KPIS}
DAY = {"date": "2026-11-21", "last_end_s": 81000.0, "gone_s": 85500.0, "end_s": 90000.0}
MINUTE_S = 60.0


def _arrow(card):
    row = card.children[1]
    return row.children[2]


def _history(values) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float)
    return 17 * 3600 + MINUTE_S * np.arange(len(values)), values


# ---------------------------------------------------------------- arrows, as built
def test_falling_speed_is_worse_with_a_tooltip_saying_so():
    times, speed = _history(np.linspace(40.0, 25.0, 31))  # 30 min, falling
    arrow = _arrow(kpi_card(SPECS["mean_speed_kph"], speed[-1], times, speed))
    assert arrow.children == "▼"
    assert "trend-worse" in arrow.className
    assert arrow.title.startswith("worse than 15 min ago")


def test_rising_speed_is_better_and_rising_wait_is_worse():
    times, speed = _history(np.linspace(20.0, 35.0, 31))
    assert "trend-better" in _arrow(kpi_card(SPECS["mean_speed_kph"], 35, times, speed)).className
    times, wait = _history(np.linspace(60.0, 900.0, 31))
    arrow = _arrow(kpi_card(SPECS["worst_wait_s"], 900, times, wait))
    assert "trend-worse" in arrow.className and arrow.children == "▲"


@pytest.mark.parametrize("name", ["vehicles_in_network", "spectators_on_site"])
def test_counts_that_are_neither_good_nor_bad_are_neutral(name):
    times, values = _history(np.linspace(1000.0, 5000.0, 31))
    arrow = _arrow(kpi_card(SPECS[name], 5000, times, values))
    assert "trend-neutral" in arrow.className and "neither good nor bad" in arrow.title


def test_a_running_total_is_judged_by_how_fast_it_grows():
    spec = SPECS["total_delay_vehh"]
    assert spec.running_total and "Running total since" in spec.definition
    assert "since day start" in spec.label and spec.unit == "veh·h"
    # 1 veh·h per minute for 30 min, then 2 per minute: growing faster -> worse
    faster = np.concatenate([np.arange(31.0), 30 + 2 * np.arange(1, 16.0)])
    times, _ = _history(faster)
    arrow = _arrow(kpi_card(spec, faster[-1], times, faster))
    assert "trend-worse" in arrow.className and "growing faster" in arrow.title
    # 2 per minute, then 1 per minute: still growing, but slower -> better
    slower = np.concatenate([2 * np.arange(31.0), 60 + np.arange(1, 16.0)])
    arrow = _arrow(kpi_card(spec, slower[-1], times, slower))
    assert "trend-better" in arrow.className and "growing slower" in arrow.title


def test_too_little_history_says_so():
    times, speed = _history([30.0, 29.0, 28.0])
    arrow = _arrow(kpi_card(SPECS["mean_speed_kph"], 28.0, times, speed))
    assert arrow.title.startswith("not enough history yet")
    assert "trend-unknown" in arrow.className and arrow.children == "▶"  # no claim yet


def test_a_tiny_negative_reading_is_not_shown_as_minus_zero():
    assert format_value(-0.0004) == "0" and format_value(-0.04, 1) == "0.0"
    assert format_value(-2.0) == "-2"


def test_trend_meaning_table():
    speed, delay, people = (
        SPECS[n] for n in ("mean_speed_kph", "worst_wait_s", "spectators_on_site")
    )
    assert [trend_meaning(speed, d) for d in ("up", "down", "flat")] == [
        "better",
        "worse",
        "steady",
    ]
    assert [trend_meaning(delay, d) for d in ("up", "down")] == ["worse", "better"]
    assert trend_meaning(people, "up") == "neutral"


# ---------------------------------------------------------------- the clock, as built
def test_the_clock_carries_the_date_and_turns_it_at_midnight():
    assert day_clock(DAY, 23 * 3600 + 59 * 60, seconds=True) == "Sat 21 Nov · 23:59:00"
    assert day_clock(DAY, 86400 + 58 * 60, seconds=True) == "Sun 22 Nov · 00:58:00"
    assert kiosk_clock(DAY, 86400 + 58 * 60) == "Sun 00:58"
    assert kiosk_clock(DAY, 21 * 3600) == "21:00"
    assert day_clock({"date": None}, 3600.0) == "01:00"  # no date: just the time


def test_the_day_over_state():
    assert day_clock(DAY, 25 * 3600 + 120, over=True) == "Sat 21 Nov · ended 01:00"
    assert kiosk_clock(DAY, 25 * 3600 + 120, over=True) == "Day over"
    state = clock_state_text(paused=False, speed=10.0, day_over=True)
    assert state == "EVENT DAY OVER"


# ---------------------------------------------------------------- in the browser
WORSE_RGB = "rgb(240, 140, 46)"  # var(--warning), assets/theme.css
BETTER_RGB = "rgb(79, 174, 123)"  # assets/checkpoints.css


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """The wall with its loop stopped; the test publishes frames whose KPI history it chose."""
    from app import create_app

    served = serve(create_app(wall_config(start=False, normal_day=False, warmup_s=0)))
    yield served
    served.stop()


def _publish_history(served, series: dict[str, np.ndarray]) -> None:
    live = served.app.server.extensions["venuetwin"].live
    frame = live._publish()  # a real frame of the twin; only its KPI history is replaced
    times = frame.view.time_s - MINUTE_S * np.arange(len(next(iter(series.values()))))[::-1]
    history = {"time_s": times, **{k: np.asarray(v, float) for k, v in series.items()}}
    kpis = {**frame.kpis, **{k: float(v[-1]) for k, v in series.items()}}
    live.store.publish(
        dataclasses.replace(
            frame,
            seq=frame.seq + 1,
            history=MappingProxyType(history),
            kpis=MappingProxyType(kpis),
        )
    )


def test_a_worsening_kpi_arrow_is_orange_with_its_tooltip(crafted, browser, artifacts):
    _publish_history(
        crafted,
        {
            "mean_speed_kph": np.linspace(40.0, 22.0, 31),  # falling: worse
            "worst_wait_s": np.linspace(900.0, 120.0, 31),  # falling: better
            "spectators_on_site": np.linspace(5000.0, 9000.0, 31),  # rising: neither
        },
    )
    page, log = open_page(browser, crafted.url)
    speed = "[data-kpi='mean_speed_kph'] .kpi-trend"
    page.wait_for_function(
        f"(document.querySelector(\"{speed}\") || {{}}).title?.startsWith('worse')",
        timeout=180_000,
    )
    colour = page.eval_on_selector(speed, "e => getComputedStyle(e).color")
    assert colour == WORSE_RGB
    assert page.get_attribute(speed, "title").startswith("worse than 15 min ago")
    wait = "[data-kpi='worst_wait_s'] .kpi-trend"
    assert page.eval_on_selector(wait, "e => getComputedStyle(e).color") == BETTER_RGB
    assert page.get_attribute(wait, "title").startswith("better than 15 min ago")
    people = "[data-kpi='spectators_on_site'] .kpi-trend"
    assert "neither good nor bad" in page.get_attribute(people, "title")
    assert page.eval_on_selector(people, "e => getComputedStyle(e).color") not in (
        WORSE_RGB,
        BETTER_RGB,
    )
    page.hover(speed)
    page.screenshot(path=str(artifacts / "kpi-trends-1080p.png"), clip=_strip_clip(page))
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]


def _strip_clip(page):
    box = page.locator("#wall-kpis").bounding_box()
    return {"x": 0, "y": 0, "width": box["x"] + box["width"], "height": box["y"] + box["height"]}


def _clock_wall(at_s: float):
    """The wall running the real twin from ``at_s`` (no warm-up), paused there: the test moves
    its clock with ``step_to`` (never waits for a running one)."""
    return serve_at(
        at_s, start_s=at_s, warmup_s=0, speed=30.0, normal_day=False, forecast_period_s=0
    )


def test_after_midnight_the_clock_shows_the_next_date(browser, artifacts):
    served = _clock_wall(86400 - 30)  # 23:59:30 on Saturday 21 November
    try:
        page, log = open_page(browser, served.url)
        clock = "#wall-clock"
        assert wait_for(lambda: page.inner_text(clock) == "Sat 21 Nov · 23:59:30", 120), (
            page.inner_text(clock)
        )
        served.step_to(86400 + 30)  # one minute on: past midnight
        assert wait_for(lambda: page.inner_text(clock) == "Sun 22 Nov · 00:00:30", 120), (
            page.inner_text(clock)
        )
        assert page.inner_text("#wall-clock-state").startswith("SIMULATION")
        assert not page.query_selector("#wall-day-over")
        page.screenshot(
            path=str(artifacts / "clock-after-midnight-1080p.png"), clip=_strip_clip(page)
        )
        page.context.close()
        assert not [e for e in log.errors if "favicon" not in e]
    finally:
        served.stop()


@pytest.fixture(scope="module")
def day_over():
    """The wall of the bundled day one minute after it ended (01:01 on Sunday; started at
    00:59:40 and stepped past the end by its loop)."""
    served = _clock_wall(25 * 3600 - 20)
    served.step_to(25 * 3600 + 60)
    yield served
    served.stop()


@pytest.mark.parametrize(
    ("width", "height", "paths"),
    [
        (1920, 1080, ("/", "/map", "/?kiosk=1")),
        (3840, 2160, ("/", "/?kiosk=1")),  # the wall screens at 4K; /map is a desk page
    ],
)
def test_after_the_day_ends_every_screen_says_so(
    day_over, browser, artifacts, width, height, paths
):
    served = day_over
    tag = "1080p" if width == 1920 else "4k"
    for path in paths:
        page, log = open_page(browser, served.url + path, width=width, height=height)
        assert wait_for(lambda p=page: p.query_selector("#wall-day-over"), 120), page.inner_text(
            "#wall-clock"
        )
        banner = page.text_content("#wall-day-over")
        assert "Event day over" in banner and "Sat 21 Nov 2026" in banner
        assert "closed at 01:00 Sun 22 Nov" in banner
        if path != "/?kiosk=1":
            assert page.inner_text("#wall-clock") == "Sat 21 Nov · ended 01:00"
            assert page.inner_text("#wall-clock-state") == "EVENT DAY OVER"
        else:
            assert page.inner_text("#wall-kiosk-clock") == "Day over"
        name = {"/": "wall", "/map": "map", "/?kiosk=1": "kiosk"}[path]
        page.screenshot(path=str(artifacts / f"day-over-{name}-{tag}.png"))
        page.context.close()
        assert not [e for e in log.errors if "favicon" not in e]
