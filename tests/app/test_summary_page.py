"""The executive summary as an executive sees it (issue 13, point 8): it fills the screen at
1920x1080, 1366x768 and 3840x2160 (no region of the viewport more than 40 % empty, text that
grows with the screen), says what is true instead of placeholders, lists executive decisions that
link to the map, draws trends with axes over the day so far or the last hour, and names each
figure as the wall does, with the same number and definition. Screenshots in tests/artifacts/.

The builders' tests at the end need no browser."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.app.conftest import PageLog, open_page, serve, serve_at, wall_config
from twin.service.recorder import Recording

SIZES = [(1920, 1080), (1366, 768), (3840, 2160)]
REGIONS = 3  # the viewport cut into 3 x 3 regions
SAMPLES = 12  # points per region side
MAX_EMPTY = 0.40
CONTENT = (
    ".sum-header, .sum-asof, .sum-figure, .sum-table, .sum-block h2, .sum-decision, .sum-decision-rest, "
    ".sum-calm-card, .sum-trend"
)
"""What counts as content: the header, each figure, the venue table, each decision card and each
chart (not the panels around them, whose empty inside would count as filled)."""
RAW_ID = re.compile(
    r"\b(?:venue|gate|hospital|transit|parking)_[a-z0-9_]+\b|\b[a-z]+_[a-z]+_[a-z_]+\b"
)

EMPTY_BY_REGION = """([regions, samples, selector]) => {
  const w = window.innerWidth, h = window.innerHeight, out = [];
  for (let ry = 0; ry < regions; ry++) for (let rx = 0; rx < regions; rx++) {
    let empty = 0;
    for (let j = 0; j < samples; j++) for (let i = 0; i < samples; i++) {
      const x = (rx + (i + 0.5) / samples) * w / regions, y = (ry + (j + 0.5) / samples) * h / regions;
      const el = document.elementFromPoint(x, y);
      if (!el || !el.closest(selector)) empty++;
    }
    out.push(empty / (samples * samples));
  }
  return out;
}"""


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """The control room on the bundled day, recorded (the day so far comes from the recording),
    the summary refreshed every second: paused at 18:00, half an hour after it went live
    (stepped there by its loop, recording as it went), so every size shows one situation."""
    served = serve_at(
        18 * 3600,
        recordings=str(tmp_path_factory.mktemp("recordings")),
        speed=60.0,
        summary_tick_ms=1000,
    )
    svc = served.app.server.extensions["venuetwin"]
    try:
        assert svc.live.engine.pedestrians is not None, "the bundled day has venues"
        assert svc.normal_day.wait(600), "the normal day was not computed"  # safety net only
        assert svc.store.latest().paused and svc.store.latest().time_s == 18 * 3600
    except BaseException:
        served.stop()
        raise
    yield served
    served.stop()


def _summary(browser, room, width, height):
    """The summary page at ``width`` x ``height``, once its figures, trends and delay index are in."""
    log = PageLog()
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
    page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))
    page.goto(room.url + "/summary")
    page.wait_for_selector(".sum-figure[data-figure='worst_wait']", timeout=180_000)
    page.wait_for_selector(".sum-trend .sum-plot-dot", timeout=180_000)
    page.wait_for_function(
        "!document.querySelector(\".sum-figure[data-figure='delay_index'] .sum-value\")"
        ".innerText.includes('…')",
        timeout=180_000,
    )
    page.wait_for_timeout(300)
    return page, log


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_summary_fills_the_screen(room, browser, artifacts, width, height):
    page, log = _summary(browser, room, width, height)
    try:
        page.screenshot(path=str(artifacts / f"summary_{width}.png"))
        empty = page.evaluate(EMPTY_BY_REGION, [REGIONS, SAMPLES, CONTENT])
        worst = max(range(len(empty)), key=empty.__getitem__)
        assert empty[worst] <= MAX_EMPTY, (
            f"region {worst % REGIONS},{worst // REGIONS} of {width}x{height} is {empty[worst]:.0%} empty "
            f"(all: {[f'{e:.0%}' for e in empty]})"
        )
        fits = page.evaluate(
            "[document.documentElement.scrollWidth <= innerWidth + 1,"
            " document.documentElement.scrollHeight <= innerHeight + 1]"
        )
        assert fits == [True, True], f"the summary scrolls at {width}x{height}"
        clipped = page.evaluate("""() => [...document.querySelectorAll('.sum-figure, .sum-venues, .sum-trend')]
            .filter(e => e.scrollHeight > e.clientHeight + 2 || e.scrollWidth > e.clientWidth + 2)
            .map(e => e.className)""")
        assert clipped == [], f"cut off at {width}x{height}: {clipped}"
        sizes = page.evaluate("""() => Object.fromEntries(['.sum-value', '.sum-meaning', '.sum-table td', '.sum-xtick']
            .map(s => [s, parseFloat(getComputedStyle(document.querySelector(s)).fontSize)]))""")
        assert sizes[".sum-value"] >= height / 30, (
            sizes
        )  # large numbers: legible across a room at 4K
        assert min(sizes.values()) >= height / 110, sizes  # the smallest text grows with the screen
        assert log.errors == []
    finally:
        page.context.close()


def test_summary_says_what_is_true_and_decisions_link_to_the_map(room, browser):
    page, _ = _summary(browser, room, 1920, 1080)
    try:
        text = page.inner_text("#summary-body")
        assert "—" not in text, [line for line in text.splitlines() if "—" in line]
        for word in ("unnamed", "None", "nan", "inf", "undefined", "NaN"):
            assert not re.search(rf"\b{word}\b", text), word
        assert not RAW_ID.findall(text), RAW_ID.findall(text)
        assert (
            "open lanes" not in text and "review its plan" not in text
        )  # operator tasks, not decisions
        items = page.locator(".sum-decision")
        if items.count() == 0:
            assert page.locator(".sum-calm-card a[href='/map']").count() == 1
            return
        assert (
            page.locator(".sum-decision[data-kind='checkpoint']").count() <= 1
        )  # summarised, not one per gate
        hrefs = page.eval_on_selector_all(
            ".sum-decision",
            "els => els.map(e => e.querySelector('a') && "
            "e.querySelector('a').getAttribute('href'))",
        )
        assert hrefs and all(h and h.startswith("/map") for h in hrefs), hrefs
        owners = page.locator(".sum-decision .sum-owner").all_inner_texts()
        # upper case is the stylesheet's (text-transform), which a loaded page may apply late
        assert {o.upper() for o in owners} <= {"YOUR DECISION", "OPERATORS ACTING"}, owners
        page.locator(".sum-decision a").first.click()
        page.wait_for_url("**/map*", timeout=180_000)
    finally:
        page.context.close()


def test_trends_have_axes_and_show_the_day_so_far_or_the_last_hour(room, browser):
    svc = room.app.server.extensions["venuetwin"]
    page, _ = _summary(browser, room, 1366, 768)
    try:
        with Recording.open(svc.live.recorder.path) as recording:
            first = recording.samples()["time_s"][0]
        clock = f"{int(first) // 3600:02d}:{int(first) % 3600 // 60:02d}"
        assert page.inner_text("#summary-trends-title") == f"Trends, day so far (since {clock})"
        for chart in page.locator(".sum-trend").all():
            assert (
                chart.locator(".sum-ytick").count() >= 3
                and chart.locator(".sum-xtick").count() >= 2
            )
        first_tick = page.locator(".sum-trend").first.locator(".sum-xtick").first.inner_text()
        assert first_tick >= clock  # the clock axis starts with the day
        page.click(".sum-span label:has-text('Last hour')")
        page.wait_for_function(
            "document.querySelector('#summary-trends-title').innerText === 'Trends, last hour'",
            timeout=180_000,
        )
        ticks = page.locator(".sum-trend").first.locator(".sum-xtick").all_inner_texts()
        now = svc.store.latest().time_s
        assert (
            len(ticks) >= 3 and ticks[-1] <= f"{int(now) // 3600:02d}:{int(now) % 3600 // 60:02d}"
        )
    finally:
        page.context.close()


def test_the_wall_and_the_summary_name_and_count_a_figure_alike(room, browser):
    wall, _ = open_page(browser, room.url + "/", width=1920, height=1080)
    page, _ = _summary(browser, room, 1920, 1080)
    try:
        for kpi, figure in (("spectators_on_site", "on_site"), ("open_alerts", "alerts")):
            card = wall.locator(f"[data-kpi='{kpi}']")
            tile = page.locator(f".sum-figure[data-figure='{figure}']")
            assert (
                card.locator(".kpi-label").inner_text() == tile.locator(".sum-label").inner_text()
            )
            assert card.locator(".kpi-label").get_attribute("title") == tile.get_attribute("title")
            assert tile.get_attribute("title")  # defined
            assert (
                card.locator(".kpi-value").inner_text() == tile.locator(".sum-value").inner_text()
            ), kpi
        on_site = page.locator(".sum-trend[data-trend='spectators_on_site']")
        assert on_site.locator(".sum-trend-label").inner_text() == "Spectators on site"
        shown = page.locator(".sum-figure[data-figure='on_site'] .sum-value").inner_text()
        assert (
            on_site.locator(".sum-trend-now").inner_text() == f"{shown} persons"
        )  # the trend ends on it
    finally:
        wall.context.close()
        page.context.close()


# -- the builders, without a browser --------------------------------------------------------


def _text(component) -> str:
    from dash import html

    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    if component is None or isinstance(component, html.Img):
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    return _text(getattr(component, "children", None))


def _early_summary():
    """A situation before anything happened: no ambulance, no arrivals, a venue with no more
    sessions, no normal-day baseline, no decision."""
    return {
        "time_s": 61_200.0,
        "on_site_persons": 120.0,
        "crowd": {
            "inside_persons": 0.0,
            "queued_persons": 0.0,
            "moving_persons": 120.0,
            "peak_density_ppm2": 0.1,
            "crush_alerts": 0,
        },
        "attendance": [
            {
                "venue_id": "venue_x",
                "name": "Olympic Hall",
                "inside_persons": 0.0,
                "capacity": 2452.0,
                "session": None,
                "starts_s": None,
                "expected_persons": None,
                "queued_persons": 0.0,
                "entrance_wait_s": 0.0,
            }
        ],
        "checkpoints": {
            "worst_wait_s": 0.0,
            "worst_name": "Olympic Hall entrance",
            "mean_wait_s": 0.0,
            "share_under_target": None,
            "wait_target_s": 600.0,
        },
        "network": {
            "delay_rate_veh": 10.0,
            "normal_delay_rate_veh": None,
            "delay_index": None,
            "mean_speed_kph": 40.0,
            "total_delay_vehh": 0.0,
        },
        "ambulances": {
            "dispatched": 0,
            "en_route": 0,
            "arrived": 0,
            "median_trip_s": None,
            "time_saved_s": None,
        },
        "alerts": {},
        "decisions": [],
    }


def test_no_placeholders_where_there_is_no_value_yet():
    from layouts.summary import summary_body

    text = _text(summary_body(_early_summary(), {}, normal_ready=True))
    assert "—" not in text
    for said in (
        "no ambulance runs yet",
        "no arrivals yet",
        "No more sessions today",
        "not available",
        "nobody is queueing now",
        "Nothing needs a decision now.",
        "0 critical · 0 warning · 0 advisory",
        "no samples yet",
    ):
        assert said in text, said


def test_decision_cards_link_to_their_map_view():
    from layouts.summary import decisions

    items = [
        {
            "what": "5 venue entrances over the 10-minute wait target",
            "detail": "operators are opening lanes",
            "owner": "acting",
            "level": 2,
            "kind": "checkpoint",
            "focus": {"tab": "checkpoints", "checkpoint": 3},
        },
        {
            "what": "Roads at 2.4× a normal day's delay",
            "detail": "consider police traffic control",
            "owner": "decide",
            "level": 2,
            "kind": "roads",
            "focus": {"tab": "signals"},
        },
    ]
    cards = decisions(items).children
    links = [card.children.href for card in cards if card.className.startswith("sum-decision ")]
    assert links == ["/map?tab=checkpoints&checkpoint=3", "/map?tab=signals"]
    assert "Your decision" in _text(cards) and "Operators acting" in _text(cards)


def test_trend_axes_are_round_numbers_and_clock_times():
    from layouts.summary import time_ticks, trend_chart, value_ticks

    assert value_ticks(7.0, integer=True) == [0, 2, 4, 6, 8]
    assert value_ticks(131.0) == [0, 50, 100, 150]
    assert value_ticks(0.0) == [0, 0.25, 0.5, 0.75, 1.0]
    assert value_ticks(0.0, integer=True) == [0, 1]
    assert time_ticks(17 * 3600 + 1800, 18 * 3600 + 1800) == [
        float(t) for t in range(63000, 66601, 900)
    ]
    assert time_ticks(17 * 3600, 23 * 3600) == [64800.0, 72000.0, 79200.0]  # every 2 h
    times = np.arange(63000.0, 66601.0, 60.0)
    chart = trend_chart(
        times,
        np.linspace(0, 130, len(times)),
        start_s=63000.0,
        end_s=66600.0,
        target=10.0,
        target_label="target 10 min",
    )
    text = _text(chart)
    assert "17:30" in text and "18:30" in text and "150" in text and "target 10 min" in text


# -- the audit page's filters on the dark theme (issue 13, point 9) --------------------------

CONTRAST = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map(v => {
                         v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let bg = el, back = 'rgba(0, 0, 0, 0)';
  while (bg && (back = getComputedStyle(bg).backgroundColor) === 'rgba(0, 0, 0, 0)') bg = bg.parentElement;
  const [a, b] = [lum(getComputedStyle(el).color), lum(back)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_audit_filters_are_readable_and_dates_whole(browser, tmp_path, artifacts):
    from app import create_app
    from callbacks.auth import get_auth
    from tests.app.test_auth import PASSWORD, SECRET

    config = wall_config(
        auth_db=str(tmp_path / "auth.sqlite"), secret_key=SECRET, normal_day=False, start=False
    )
    if "engine" not in config:
        config["warmup_s"] = 0.0
    app = create_app(config)
    get_auth(app).users.add("ada", PASSWORD, "admin")
    served = serve(app)
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    try:
        page.goto(served.url + "/login")
        page.fill("#username", "ada")
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_selector("#audit-table td", timeout=180_000)
        for menu in ("#audit-filter-user", "#audit-filter-role", "#audit-filter-action"):
            assert page.eval_on_selector(f"{menu} .dash-dropdown-value", CONTRAST) >= 4.5, menu
        page.click("#audit-filter-role")
        option = page.locator(".dash-dropdown-content .dash-options-list-option").first
        option.wait_for()
        assert option.evaluate(CONTRAST) >= 4.5
        page.screenshot(path=str(artifacts / "audit_filters_1366.png"))
        page.keyboard.press("Escape")
        for field in ("#audit-filter-since", "#audit-filter-until"):
            assert page.eval_on_selector(field, CONTRAST) >= 4.5, field
            width = page.eval_on_selector(
                field,
                "e => [e.getBoundingClientRect().width, "
                "e.parentElement.getBoundingClientRect().width]",
            )
            assert min(width) >= 180, (
                f"{field} is cut to {width} px"
            )  # "mm/dd/yyyy, --:-- --" needs ~170
    finally:
        page.context.close()
        served.stop()
