"""Browser tests of the alert workflow (issue 13, point 6) in headless Chromium: acknowledged
state with feedback, shelving with a reason into the shelved section, the map's home view, and
new critical alerts shown while another side tab is open.

The twin runs the bundled day (or the grid) with three drill conditions added to what its
producers state (a critical crowd alert, two checkpoint warnings), so each test has an alert
of the kind it needs whatever the day is doing. Screenshots: tests/artifacts/alerts_*.png.
"""

from __future__ import annotations

import math
import re
import time

import pytest

from layouts.alerts import alert_item, alert_stats, countdown, critical_strip, shelve_reason
from tests.app.conftest import open_page, serve_at
from tests.waiting import wait_for
from twin.service import live as live_module
from twin.service.alarms import Condition

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
CRUSH, GATE_ACK, GATE_SHELVE, FORECAST = (
    "drill:crowd",
    "drill:gate-ack",
    "drill:gate-shelve",
    "drill:forecast",
)
FORECAST_ON = {"on": False}  # the drill forecast is stated only once its test starts it


def _drills(roads, places):
    """Drill conditions at real places of the scenario (a venue, else a watched road). The
    forecast drill says "in 10 min" at every tick, as a forecast that keeps sliding does."""
    if places is not None and len(places.venue_names):
        (lon, lat), venue = places.venue_lonlat[0], places.venue_names[0]
    else:
        (lon, lat), venue = roads.lonlat[0], roads.names[0]
    forecast = (
        [
            Condition(
                FORECAST,
                "drill-forecast",
                1,
                "Drill: forecast on the ring road",
                "Forecast congestion: 20% of free speed",
                lon=float(lon),
                lat=float(lat) + 0.002,
                eta_s=600.0,
            )
        ]
        if FORECAST_ON["on"]
        else []
    )
    return forecast + [
        Condition(
            CRUSH,
            "drill-crowd",
            3,
            f"Drill: crowd near {venue}",
            "Crush risk: 5.1 p/m² over 300 m²",
            lon=float(lon),
            lat=float(lat),
        ),
        Condition(
            GATE_ACK,
            "drill-gate",
            2,
            "Drill: gate A",
            "Wait 24 min, queue 800 persons",
            lon=float(lon) + 0.002,
            lat=float(lat),
        ),
        Condition(
            GATE_SHELVE,
            "drill-gate",
            2,
            "Drill: gate B",
            "Wait 22 min, queue 700 persons",
            lon=float(lon) - 0.002,
            lat=float(lat),
        ),
    ]


DRILL_AT_S = 18 * 3600
"""18:00: the drills have been raised (their conditions held past the on-delay on the way)."""


@pytest.fixture(scope="module")
def drill_wall():
    """The wall with drill alerts at real places, paused at 18:00 (stepped there by its loop,
    so the drills are raised whatever the machine's speed); tests move its clock themselves."""
    real = live_module.alarm_conditions

    def with_drills(roads, view, forecasts, base_s, active, places=None):
        return real(roads, view, forecasts, base_s, active, places) + _drills(roads, places)

    patch = pytest.MonkeyPatch()
    patch.setattr(live_module, "alarm_conditions", with_drills)
    served = serve_at(DRILL_AT_S, normal_day=False)
    yield served
    served.stop()
    patch.undo()


def _svc(wall):
    return wall.app.server.extensions["venuetwin"]


def _wait_for(predicate, timeout_s: float, step_s: float = 0.3):
    return wait_for(predicate, timeout_s, step_s)


def _alert(wall, key):
    frame = _svc(wall).store.latest()
    return next((a for a in frame.alerts if a["key"] == key), None) if frame else None


def _open(browser, wall, *, width=1920, height=1080):
    page, log = open_page(browser, wall.url, width=width, height=height)
    page.wait_for_selector("[data-kpi='open_alerts']", timeout=120_000)
    assert _wait_for(lambda: _alert(wall, GATE_SHELVE) and _alert(wall, CRUSH), 60), (
        "the drills were not raised"
    )
    return page, log


def _entry(page, alert_id):
    return page.locator(f".feed .alert[data-alert-id='{alert_id}']")


def _scale(page, lon, lat):
    """Pixels per 0.01° of longitude at (lon, lat): grows with the zoom."""
    a = page.evaluate("(p) => window.vtDeck.project(p)", [lon, lat])
    b = page.evaluate("(p) => window.vtDeck.project(p)", [lon + 0.01, lat])
    return math.hypot(b[0] - a[0], b[1] - a[1])


# ------------------------------------------------------------------ no browser
def test_countdown_words():
    assert countdown(660, 66540) == "in 11 min · 18:29"
    assert countdown(30, 66540) == "in 1 min · 18:29"
    assert countdown(0, 66540) == "due now · 18:29"
    assert countdown(0, 66540, overdue=True) == "due 18:29 · not seen yet"
    assert countdown(None, None) is None and countdown(600, None) == "in 10 min"


def test_shelve_reason_needs_words_for_other():
    assert shelve_reason("known", "") == "Known cause, being handled"
    assert (
        shelve_reason("known", " police on site ") == "Known cause, being handled: police on site"
    )
    assert shelve_reason("other", "") == "" and shelve_reason(None, "") == ""
    assert shelve_reason("other", "sensor fault") == "sensor fault"


def _texts(component) -> list[str]:
    """Every string in a component tree, in order."""
    if component is None:
        return []
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [t for child in component for t in _texts(child)]
    return _texts(getattr(component, "children", None))


GROUP = {
    "id": -900,
    "kind": "congestion",
    "level": 2,
    "severity": "warning",
    "place": "Olympic-ro, Yangjae-daero",
    "places": ["Olympic-ro", "Yangjae-daero"],
    "message": "6 congestion alerts (grouped)",
    "raised_s": 66000.0,
    "eta_s": None,
    "predicted_s": None,
    "overdue": False,
    "acked": False,
    "acked_by": "kim",
    "acked_s": 65880.0,
    "count": 6,
    "acked_count": 4,
    "new": 2,
    "returned_s": None,
}


def test_a_group_with_new_members_says_how_many_are_new():
    item = alert_item(GROUP)
    texts = _texts(item)
    assert (
        "×6 · 2 new" in texts
        and "4 acknowledged · 2 new since 18:18" in texts
        and "ACK 2 new" in texts
    )
    assert "unacked" in item.className.split()
    done = _texts(alert_item({**GROUP, "acked": True, "new": 0, "acked_count": 6}))
    assert "✓ Acknowledged by kim 18:18" in done and "✓" in done and "×6" in done


def test_the_feed_header_counts_what_the_tile_counts_and_says_how():
    header = alert_stats(
        {
            "open": 12.0,
            "unacked": 3.0,
            "shelved": 1.0,
            "rate_per_h": 6.0,
            "lines": 4.0,
            "groups": 2.0,
            "raised_total": 40.0,
        }
    )
    assert header.children == "12 open · 3 new · 1 shelved · 6/h"
    assert header.title.startswith(
        "Open alerts count every alert: a grouped line (×N) counts N; shelved alerts "
        "are not counted. Now 12 alerts in 4 lines (2 grouped)."
    )


def test_the_critical_strip_lists_unacknowledged_critical_alerts_only():
    crush = {
        **GROUP,
        "id": 7,
        "level": 3,
        "severity": "critical",
        "place": "Crowd near KSPO Dome",
        "message": "Crush risk",
        "count": 1,
        "new": 1,
        "acked": False,
    }
    assert (
        critical_strip([GROUP]) == [] and critical_strip([{**crush, "acked": True, "new": 0}]) == []
    )
    texts = _texts(critical_strip([crush, GROUP]))
    assert (
        texts[:2] == ["1 new critical", "open Alerts to acknowledge"]
        and "Crowd near KSPO Dome" in texts
    )


# ------------------------------------------------------------------ in the browser
def test_acknowledge_is_shown_with_feedback(drill_wall, browser, artifacts):
    page, log = _open(browser, drill_wall)
    alert = _alert(drill_wall, GATE_ACK)
    entry = _entry(page, alert["id"])
    entry.wait_for(timeout=180_000)
    assert "ACK" in entry.locator(".alert-ack").inner_text()
    entry.locator(".alert-ack").click()
    # the button says it worked at once; the entry then shows who acknowledged it and when
    said = _wait_for(
        lambda: (
            "Acknowledged"
            in (
                entry.locator(".alert-note").inner_text()
                if entry.locator(".alert-note").count()
                else ""
            )
            or "acked" in (entry.get_attribute("class") or "")
        ),
        20,
    )
    assert said, "no feedback after the acknowledgement"
    assert _wait_for(
        lambda: "acked" in (_entry(page, alert["id"]).get_attribute("class") or "").split(), 20
    )
    status = _entry(page, alert["id"]).locator(".alert-status").inner_text()
    assert status.startswith("✓ Acknowledged by local "), status
    assert _entry(page, alert["id"]).locator(".alert-ack").is_disabled()
    assert _alert(drill_wall, GATE_ACK)["acked_by"] == "local"
    page.context.close()
    assert log.errors == []


def test_shelve_with_a_reason_moves_it_to_the_shelf(drill_wall, browser, artifacts):
    page, log = _open(browser, drill_wall)
    alert = _alert(drill_wall, GATE_SHELVE)
    entry = _entry(page, alert["id"])
    entry.wait_for(timeout=180_000)
    entry.locator(".alert-shelve").click()
    page.wait_for_selector("#alert-shelve-form:not([hidden])", timeout=180_000)
    assert "Drill: gate B" in page.inner_text("#alert-shelve-title")
    page.click("#alert-shelve-confirm")  # no reason yet: refused, in words
    page.wait_for_selector("#alert-shelve-msg .note-refused", timeout=180_000)
    assert "give a reason" in page.inner_text("#alert-shelve-msg")
    page.click("#alert-shelve-reason label:has-text('Known cause')")
    page.fill("#alert-shelve-note", "stewards re-routing the queue")
    page.click("#alert-shelve-minutes label:has-text('1 h')")
    page.click("#alert-shelve-confirm")
    page.wait_for_selector("#alert-shelve-msg .note-ok", timeout=180_000)
    assert page.inner_text("#alert-shelve-msg").startswith("Shelved until ")
    assert page.inner_text("#alert-shelve-msg").endswith(": Drill: gate B")
    assert page.is_hidden("#alert-shelve-form")
    row = page.locator(f"#alert-shelf .shelf-item[data-alert-id='{alert['id']}']")
    row.wait_for(timeout=180_000)
    assert (
        "stewards re-routing the queue" in row.inner_text() and "Drill: gate B" in row.inner_text()
    )
    assert _wait_for(lambda: _entry(page, alert["id"]).count() == 0, 20), (
        "the shelved alert is still listed"
    )
    stats = _svc(drill_wall).store.latest().alert_stats
    assert stats["shelved"] >= 1 and stats["open"] == sum(
        a["count"] for a in _svc(drill_wall).store.latest().alerts
    )
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.click("#wall-map-home")  # the home view refits the map to the new size
        time.sleep(2)
        page.screenshot(path=str(artifacts / f"alerts_shelf_{name}.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    row.locator("button").click()  # unshelve: back on the list, to be acknowledged again
    page.wait_for_selector(
        "#alert-shelve-msg:has-text('Back on the list: Drill: gate B')", timeout=180_000
    )
    assert _wait_for(lambda: _entry(page, alert["id"]).count() == 1, 20)
    page.context.close()
    assert log.errors == []


def test_home_view_returns_to_the_overview(drill_wall, browser):
    page, log = _open(browser, drill_wall)
    page.wait_for_selector("[data-deck-ready='1']")
    time.sleep(1)
    alert = _alert(drill_wall, CRUSH)
    overview = _scale(page, alert["lon"], alert["lat"])
    zoomed = False
    for _attempt in range(3):  # deck.gl under software WebGL can miss a click while it redraws
        _entry(page, alert["id"]).locator(".alert-body").click()
        zoomed = _wait_for(lambda: _scale(page, alert["lon"], alert["lat"]) > 1.5 * overview, 10)
        if zoomed:
            break
    assert zoomed, "the alert click did not fly the map in"
    page.click("#wall-map-home")
    assert _wait_for(
        lambda: abs(_scale(page, alert["lon"], alert["lat"]) / overview - 1) < 0.05, 15
    ), (overview, _scale(page, alert["lon"], alert["lat"]))
    page.context.close()
    assert log.errors == []


def test_a_critical_alert_is_shown_while_the_signals_tab_is_open(drill_wall, browser, artifacts):
    for name, (width, height) in SIZES.items():
        page, log = _open(browser, drill_wall, width=width, height=height)
        assert page.is_hidden("#alert-crit-strip")  # the Alerts tab lists it first
        page.click(".ops-tabs label:has-text('Signals')")
        page.wait_for_selector("#ops-alerts-pane[hidden]", state="attached", timeout=180_000)
        strip = page.locator("#alert-crit-strip")
        strip.wait_for(state="visible", timeout=180_000)
        assert (
            "Drill: crowd near" in strip.inner_text()
            and "NEW CRITICAL" in strip.inner_text().upper()
        )
        box = strip.bounding_box()
        assert box["y"] + box["height"] <= height and box["width"] > 100
        time.sleep(1)
        page.screenshot(path=str(artifacts / f"alerts_signals_{name}.png"))
        page.locator("#alert-crit-strip .crit-item").first.click()  # opens the Alerts tab
        assert _wait_for(lambda: page.is_visible("#wall-alerts"), 10)  # noqa: B023 - called at once
        page.screenshot(path=str(artifacts / f"alerts_feed_{name}.png"))
        page.context.close()
        assert log.errors == []


def test_a_forecast_counts_down_and_says_when_its_time_has_passed(drill_wall, browser):
    page, log = _open(browser, drill_wall)
    FORECAST_ON["on"] = True  # from now on every tick says "in 10 min"
    try:
        on_s = drill_wall.live.engine.time_s
        drill_wall.step_to(on_s + 240)  # past the on-delay (180 s): raised
        alert = _alert(drill_wall, FORECAST)
        assert alert, "the forecast drill was not raised"
        at = f"{int(alert['predicted_s']) // 3600:02d}:{int(alert['predicted_s']) % 3600 // 60:02d}"
        eta = _entry(page, alert["id"]).locator(".alert-eta")
        eta.wait_for(timeout=120_000)
        shown = _wait_for(
            lambda: re.fullmatch(r"in (\d+) min · (\d\d:\d\d)", eta.inner_text()), 120
        )
        first = re.fullmatch(r"in (\d+) min · (\d\d:\d\d)", eta.inner_text())
        assert shown and first and first.group(2) == at and int(first.group(1)) <= 8, (
            eta.inner_text()
        )  # raised 3 min late
        # the page counts down as the clock moves, and never back up to "in 10 min"
        drill_wall.step_to(on_s + 240 + 120)
        assert _wait_for(
            lambda: (
                (m := re.fullmatch(r"in (\d+) min · .*", eta.inner_text()))
                and int(m.group(1)) < int(first.group(1))
            ),
            120,
        ), eta.inner_text()
        drill_wall.step_to(alert["predicted_s"] + 60)  # its time has passed
        seen = _wait_for(lambda: eta.inner_text() == f"due {at} · not seen yet", 120)
        assert seen, eta.inner_text()
        entry = _entry(page, alert["id"])
        assert _wait_for(lambda: "(still forecast)" in entry.locator(".alert-msg").inner_text(), 60)
        assert _alert(drill_wall, FORECAST)["overdue"] is True
    finally:
        FORECAST_ON["on"] = False
    page.context.close()
    assert log.errors == []
