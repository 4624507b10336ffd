"""Browser tests of the control-room wall in headless Chromium (software WebGL).

Screenshots go to tests/artifacts/ (git-ignored): look at them after a UI change.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image

from tests.app.conftest import clock_text, open_page, serve_at
from tests.waiting import wait_for

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}


def _kpi_text(page, name: str) -> str:
    return page.inner_text(f"[data-kpi='{name}'] .kpi-value")


def _wait_for(predicate, timeout_s: float, step_s: float = 0.5):
    return wait_for(predicate, timeout_s, step_s)


def _wait_for_values(page, timeout_s: float = 180.0) -> None:
    """Until the first refresh reached the map and the KPI strip."""
    page.wait_for_selector("[data-kpi='vehicles_in_network']", timeout=timeout_s * 1000)
    _wait_for(lambda: page.evaluate("window.vtDeck.stats().applied") > 0, timeout_s)


def _map_pixels(page) -> Image.Image:
    return Image.open(io.BytesIO(page.locator("#wall-map").screenshot())).convert("RGB")


def test_page_loads_with_no_console_errors_and_no_foreign_requests(wall, browser):
    page, log = open_page(browser, wall.url)
    _wait_for_values(page)
    time.sleep(3)  # a few refreshes
    page.context.close()
    assert log.errors == []
    assert log.foreign == []
    assert any("/_vendor/deckgl/" in url for url in log.requests)


def test_map_canvas_is_not_blank(evening_wall, browser):
    page, _ = open_page(browser, evening_wall.url)  # the evening peak: congestion is on the map
    _wait_for_values(page)
    time.sleep(2)
    image = _map_pixels(page)
    page.context.close()
    colours = image.getcolors(maxcolors=1 << 20)
    background = max(colours)[1]
    drawn = sum(count for count, colour in colours if colour != background)
    assert len(colours) > 50, "the map shows almost no distinct colours"
    assert drawn / (image.width * image.height) > 0.02, "less than 2 % of the map is drawn"
    # abnormal colours (the severity palette) appear once traffic builds
    assert any(r > 180 and g < 160 and b < 120 for _, (r, g, b) in colours), "no congestion colour"


def test_kpis_move_as_the_clock_runs(evening_wall, browser):
    """The twin is paused at a known moment and stepped five simulated minutes by the test: the
    page's clock and KPIs follow it (bounded waits on what the page shows, never on a running
    clock, so the outcome does not depend on the machine's speed)."""
    wall = evening_wall
    kpis = ("vehicles_in_network", "mean_speed_kph", "total_delay_vehh")
    page, _ = open_page(browser, wall.url)
    _wait_for_values(page)
    start_s = wall.live.engine.time_s
    shown = _wait_for(lambda: page.inner_text("#wall-clock").endswith(clock_text(start_s)), 120)
    assert shown, f"the clock shows {page.inner_text('#wall-clock')!r}, not {clock_text(start_s)}"
    before = {name: _kpi_text(page, name) for name in kpis}
    later_s = wall.step_to(start_s + 300)
    assert later_s == start_s + 300
    expected = wall.live.store.latest().kpis  # the twin's figures at the new moment
    moved = _wait_for(lambda: page.inner_text("#wall-clock").endswith(clock_text(later_s)), 120)
    clock = page.inner_text("#wall-clock")
    after = _wait_for(
        lambda: (v := {n: _kpi_text(page, n) for n in kpis}) != before and v,
        timeout_s=60,
    ) or {name: _kpi_text(page, name) for name in kpis}
    page.context.close()
    assert moved, f"the clock shows {clock!r}, not {clock_text(later_s)}"
    assert after != before, f"KPIs did not move: {before} -> {after}"
    assert all(re.fullmatch(r"[\d,.]+", value) for value in after.values()), after
    # what the strip shows is the twin's figure at the new moment (to the digits shown)
    vehicles = float(after["vehicles_in_network"].replace(",", ""))
    assert vehicles == pytest.approx(expected["vehicles_in_network"], abs=1.0), (after, expected)


def _road_points(page, count: int) -> list[tuple[float, float, int]]:
    """Screen points (in the map) where a click picks a road, spread over the map."""
    return page.evaluate(
        """(count) => {
            const map = document.getElementById('wall-map').getBoundingClientRect();
            const overlays = '.map-side, .attribution, .map-clock, .map-home, .detail-card';
            const blocked = [...document.querySelectorAll(overlays)]
                .map(el => el.getBoundingClientRect()).filter(r => r.width > 0);
            const rows = window.vtDeck.rows('links');
            const points = [];
            const step = Math.max(1, Math.floor(rows.length / 400));
            for (let i = 0; i < rows.length && points.length < count; i += step) {
                const path = rows[i].path;
                const mid = path[Math.floor(path.length / 2)];
                const prev = path[Math.max(0, Math.floor(path.length / 2) - 1)];
                const lonLat = path.length > 2 ? mid : [(path[0][0] + path[1][0]) / 2, (path[0][1] + path[1][1]) / 2];
                const xy = window.vtDeck.project(lonLat);
                if (!xy) continue;
                const [x, y] = xy;
                if (x < 20 || y < 20 || x > map.width - 20 || y > map.height - 20) continue;
                const px = map.left + x, py = map.top + y;
                if (blocked.some(r => px >= r.left - 10 && px <= r.right + 10
                                      && py >= r.top - 10 && py <= r.bottom + 10)) continue;
                const picked = window.vtDeck.pickAt(x, y);
                if (!picked || picked.kind !== 'road') continue;
                if (points.some(p => Math.hypot(p[0] - px, p[1] - py) < 60)) continue;
                points.push([px, py, picked.id]);
            }
            return points;
        }""",
        count,
    )


def test_click_on_a_road_opens_its_panel_while_the_map_updates(wall, browser):
    page, _ = open_page(browser, wall.url)
    _wait_for_values(page)
    points = _road_points(page, 5)
    assert len(points) >= 3, f"found only {len(points)} clickable road points"
    # a two-way road is two directed links drawn over one line: a click may rightly pick either
    links = wall.app.server.extensions["venuetwin"].live.engine.scenario.links
    reverse = dict(zip(links["link_id"], links["reverse_link_id"], strict=True))
    opened = []
    for x, y, link_id in points:
        ids = [link_id] + ([int(reverse[link_id])] if reverse[link_id] >= 0 else [])
        same_road = re.compile(r"\bRoad (" + "|".join(map(str, ids)) + r")\b")
        applied = page.evaluate("window.vtDeck.stats().applied")
        wall.step_to(wall.live.engine.time_s + 60.0)  # the map updates while the panel opens
        for _attempt in range(3):  # deck.gl under software WebGL can miss a click mid-redraw
            page.mouse.click(x, y)
            if _wait_for(lambda: page.is_visible("#wall-detail h3"), timeout_s=30):
                break
        page.wait_for_selector("#wall-detail:not([hidden]) h3", timeout=180_000)
        _wait_for(lambda: same_road.search(page.inner_text("#wall-detail")), timeout_s=20)  # noqa: B023 - called at once
        opened.append(bool(same_road.search(page.inner_text("#wall-detail"))))
        assert page.evaluate("window.vtDeck.stats().applied") >= applied
        page.click("#wall-detail-close")
        page.wait_for_selector("#wall-detail[hidden]", state="attached", timeout=180_000)
    updates = page.evaluate("window.vtDeck.stats().applied")
    page.context.close()
    assert all(opened), f"clicks that opened the right panel: {opened}"
    assert updates > 3, "the map was not updating during the clicks"


def _no_scrollbars(page) -> bool:
    return page.evaluate(
        """() => {
            const d = document.documentElement;
            return d.scrollHeight <= window.innerHeight && d.scrollWidth <= window.innerWidth;
        }"""
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_wall_fits_the_screen_and_screenshots(wall, browser, artifacts, size):
    width, height = SIZES[size]
    page, log = open_page(browser, wall.url, width=width, height=height)
    _wait_for_values(page)
    time.sleep(3)
    assert _no_scrollbars(page)
    map_box = page.locator("#wall-map").bounding_box()
    assert map_box["height"] > 0.65 * height and map_box["width"] > 0.7 * width, map_box
    page.screenshot(path=str(artifacts / f"wall-{size}.png"))
    page.context.close()
    assert log.errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_kiosk_mode_hides_the_chrome(wall, browser, artifacts, size):
    width, height = SIZES[size]
    page, log = open_page(browser, wall.url + "/?kiosk=1", width=width, height=height)
    _wait_for_values(page)
    page.wait_for_selector("html.vt-kiosk", state="attached", timeout=180_000)
    time.sleep(2)
    for selector in ("#wall-header", ".layer-panel", "#wall-pause", ".alert-ack"):
        for element in page.query_selector_all(selector):
            assert not element.is_visible(), f"{selector} visible in kiosk mode"
    assert page.is_visible("#wall-kiosk-clock")
    assert page.is_visible("#wall-attribution")
    assert page.is_visible("#wall-kpis")
    map_box = page.locator("#wall-map").bounding_box()
    assert map_box["height"] > 0.7 * height and map_box["width"] > 0.7 * width, map_box
    assert _no_scrollbars(page)
    page.screenshot(path=str(artifacts / f"wall-kiosk-{size}.png"))
    page.context.close()
    assert log.errors == []


def test_attribution_is_always_visible(wall, browser):
    page, _ = open_page(browser, wall.url)
    _wait_for_values(page)
    text = page.inner_text("#wall-attribution")
    box = page.locator("#wall-attribution").bounding_box()
    page.context.close()
    assert "OpenStreetMap" in text
    assert box and box["width"] > 50 and box["y"] + box["height"] <= 1080


def test_hover_shows_a_tooltip_with_the_numbers(wall, browser):
    page, _ = open_page(browser, wall.url)
    _wait_for_values(page)
    x, y, _link_id = _road_points(page, 1)[0]
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_selector(".deck-tooltip", state="visible", timeout=180_000)
    _wait_for(lambda: "km/h" in page.inner_text(".deck-tooltip"), timeout_s=20)
    text = page.inner_text(".deck-tooltip")
    page.context.close()
    assert "LOS" in text and "km/h" in text and "veh/h" in text, text


EVENING_S = 19 * 3600 + 40 * 60
"""19:40, the evening peak of the bundled day: congestion and checkpoint alerts are open."""


@pytest.fixture(scope="module")
def evening_wall():
    """The control room paused at the evening peak (stepped there by its loop, from 18:30 after
    the warm-up), so its alerts and figures are the same whenever and wherever the tests run:
    the session's shared wall runs at x30 and may be past the day's end by then."""
    served = serve_at(EVENING_S, start_s=18 * 3600, normal_day=False)
    yield served
    served.stop()


def test_alert_click_flies_the_map_and_ack_is_recorded(evening_wall, browser):
    wall = evening_wall
    page, _ = open_page(browser, wall.url)
    _wait_for_values(page)
    page.wait_for_selector(".alert-body", timeout=180_000)
    where = list(_first_alert_lonlat(wall))
    before = page.evaluate("(lonLat) => window.vtDeck.project(lonLat)", where)
    page.click(".alert-body >> nth=0")
    moved = _wait_for(
        lambda: page.evaluate("(lonLat) => window.vtDeck.project(lonLat)", where) != before,
        timeout_s=60,
    )
    page.click(".alert-ack >> nth=0")  # paused: the alert stays in the feed until acknowledged
    acked = _wait_for(lambda: page.query_selector(".alert.acked") is not None, timeout_s=60)
    page.context.close()
    assert moved, "the map did not fly to the alert"
    assert acked, "the acknowledged alert is not shown as acknowledged"


def _first_alert_lonlat(wall) -> tuple[float, float]:
    frame = wall.app.server.extensions["venuetwin"].store.latest()
    alert = frame.alerts[0]
    return alert["lon"], alert["lat"]
