"""The signal editor in a real browser (issue 13.3): before a junction is chosen a prompt, not
empty boxes; each phase lists its approaches by direction and street; a refusal names the
phase and the value typed; an empty green says so and changes nothing (plan and audit log);
the junction's LOS is its approaches' volume-weighted delay.

Screenshots at 1920x1080 and 3840x2160 go to tests/artifacts/signal-editor-*.png.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from layouts.signal_panel import junction_options
from tests.app.conftest import open_page, serve_at
from tests.waiting import wait_for
from twin.service.audit import AuditFilter

PROMPT = "Pick a junction on the map or from the list"
HCM_UPPER_S = (10.0, 20.0, 35.0, 55.0, 80.0)  # A..E upper bounds, control delay s/veh
FLOOR_VPS = 1 / 300  # approaches below 12 veh/h weigh as 12 veh/h


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A control room of its own (its refusals must not reach other tests' audit logs), paused
    at 18:00 so the junction table and plans hold still while a test reads them."""
    db = tmp_path_factory.mktemp("audit") / "audit.sqlite"
    served = serve_at(  # no forecasts: nothing here needs them
        18 * 3600, normal_day=False, audit_db=str(db), speed=10.0, forecast_period_s=0
    )
    yield served
    served.stop()


def _svc(room):
    return room.app.server.extensions["venuetwin"]


def _plan(room, node: int) -> dict:
    return _svc(room).commands.query("signal_plan", node)


def _audit_rows(room) -> int:
    return len(_svc(room).commands.audit.query(AuditFilter(limit=10_000)))


def _text(page, selector: str) -> str:
    element = page.query_selector(selector)
    return element.inner_text() if element is not None else ""


def _wait_text(page, selector: str, text: str, timeout_s: float = 120.0) -> str:
    shown = wait_for(lambda: text in _text(page, selector) and _text(page, selector), timeout_s)
    assert shown, f"{selector} never showed {text!r}; shows {_text(page, selector)!r}"
    return shown


def _open(browser, room, **size):
    """The wall with the Signals tab open (the tab is in the URL: no click, no navigation)."""
    page, log = open_page(browser, f"{room.url}/?tab=signals", **size)
    page.wait_for_selector("#sig-pane:not([hidden])", timeout=180_000)
    return page, log


def _choose(page, room, node: int) -> None:
    label = next(
        o["label"] for o in junction_options(_svc(room).scene.signals) if o["value"] == node
    )
    page.click("#sig-node")
    page.keyboard.type(label)
    page.locator(".dash-dropdown-content").get_by_text(label, exact=True).first.click()
    page.wait_for_selector("#sig-editor .sig-phase", timeout=180_000)
    page.wait_for_selector("#sig-approaches .junction-row", timeout=180_000)


def _type(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Enter")


def _junction(room) -> int:
    """A signalised junction of the bundled day with two phases or more."""
    plans = _svc(room).commands.query("signal_plans")
    return next(p["node_id"] for p in plans if len(p["greens_s"]) >= 2)


def _compass(bearing_deg: float) -> str:
    return ("northbound", "eastbound", "southbound", "westbound")[round(bearing_deg / 90) % 4]


def _expected_phases(room, node: int) -> list[set[str]]:
    """Per phase, the words it must show, worked out here from the scenario on another path than
    the twin's: bearings in the scenario's metric CRS (pyproj) over each road's last segment."""
    scenario = _svc(room).live.call(lambda engine: engine.scenario).result(30)  # test-only
    links = scenario.links
    metric = links.geometry.to_crs(scenario.params.get("crs_m", "EPSG:32652"))
    moves = scenario.movements
    mine = moves[(moves["node_id"] == node) & (moves["phase"] >= 0)]
    street = links["street"] if "street" in links else links["name"]
    words = []
    for phase in sorted(mine["phase"].unique()):
        expected = set()
        for link in sorted(set(mine.loc[mine["phase"] == phase, "from_link"])):
            xy = np.asarray(metric.iloc[link].coords)
            dx, dy = xy[-1] - xy[-2]
            expected |= {_compass(np.degrees(np.arctan2(dx, dy)) % 360), str(street.iloc[link])}
        words.append(expected)
    return words


def _letter(delay_s: float) -> str:
    return "ABCDEF"[sum(delay_s > bound for bound in HCM_UPPER_S)]


def _agrees(letter: str, delay_s: float, slack_s: float) -> bool:
    """``letter`` is the LOS of ``delay_s`` (or ``delay_s`` is within the rounding of what is
    shown of a threshold, where either side is right)."""
    near = any(abs(delay_s - bound) <= slack_s for bound in HCM_UPPER_S)
    return near or letter == _letter(delay_s)


def _no_errors(log) -> bool:
    return not [e for e in log.errors if "favicon" not in e]


def test_before_a_junction_is_chosen_a_prompt_not_empty_boxes(room, browser, artifacts):
    page, log = _open(browser, room, width=3840, height=2160)
    for width, height, name in ((3840, 2160, "4k"), (1920, 1080, "1080p")):
        page.set_viewport_size({"width": width, "height": height})
        prompt = page.locator("#sig-prompt")
        prompt.wait_for(state="visible", timeout=180_000)
        assert prompt.inner_text().strip() == PROMPT
        assert not page.locator("#sig-cycle").is_visible()
        assert not page.locator("#sig-offset").is_visible()
        assert page.locator("#sig-pane input[type=number]:visible").count() == 0
        for button in ("#sig-suggest", "#sig-preview", "#sig-apply", "#sig-revert"):
            assert not page.locator(button).is_visible()  # nothing to act on yet
        page.screenshot(path=str(artifacts / f"signal-editor-before-{name}.png"))
    page.context.close()
    assert _no_errors(log)


@pytest.fixture(scope="module")
def editor(room, browser):
    """One page (1920x1080) with a junction of two phases or more chosen: ``(page, log, node)``.
    The tests below share it, in file order (a page costs a minute of software WebGL here)."""
    node = _junction(room)
    page, log = _open(browser, room)
    _choose(page, room, node)
    yield page, log, node
    page.context.close()


def test_phases_list_their_approaches_by_direction_and_street(editor, room, artifacts):
    page, log, node = editor
    assert not page.locator("#sig-prompt").is_visible()
    rows = page.locator("#sig-editor .sig-phase").all_inner_texts()
    expected = _expected_phases(room, node)
    assert len(rows) == len(expected)
    for k, (row, words) in enumerate(zip(rows, expected, strict=True)):
        assert row.startswith(f"Phase {k + 1}"), row
        for word in words:
            assert word in row, (k, word, row)
        assert re.search(r"\b(north|south|east|west)bound\b", row), row
    page.screenshot(path=str(artifacts / "signal-editor-phases-1080p.png"))
    assert _no_errors(log)


def test_junction_los_is_its_approaches_combined(editor, artifacts):
    page, log, _node = editor
    table = page.evaluate(
        """() => [...document.querySelectorAll('#sig-approaches tr')].slice(1)
               .map(tr => [...tr.children].map(td => td.innerText))"""
    )  # one read: the table refreshes every few seconds
    *approaches, junction = table
    assert approaches and junction[0].startswith("Junction")
    flows = np.array([float(r[1]) for r in approaches]) / 3600.0
    delays = np.array([float(r[3]) for r in approaches])
    for row, delay in zip(approaches, delays, strict=True):
        assert _agrees(row[5], delay, 0.05) or float(row[4]) > 1.0, row  # v/c above 1 is F
        if float(row[2]) == 0 and delay == 0:
            assert row[5] == "A"  # no queue, no delay: never F
    # by hand, from the figures on screen: sum(d * max(q, floor)) / max(sum(q), floor)
    combined = (delays * np.maximum(flows, FLOOR_VPS)).sum() / max(flows.sum(), FLOOR_VPS)
    assert float(junction[3]) == pytest.approx(combined, abs=0.5)  # rounding of what is shown
    assert _agrees(junction[5], combined, 0.5), (junction, combined)
    page.set_viewport_size({"width": 3840, "height": 2160})
    page.screenshot(path=str(artifacts / "signal-editor-junction-4k.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    assert _no_errors(log)


def test_too_short_green_names_the_phase_and_the_value_typed(editor, room, artifacts):
    page, log, node = editor
    before = _plan(room, node)
    minimum = before["min_green_s"][1]
    assert minimum > 3
    _type(page, "#sig-editor input >> nth=1", "3")
    page.click("#sig-apply")
    shown = _wait_text(page, "#sig-msg", "Green for phase 2")
    assert f"Green for phase 2 must be at least {minimum:g} s (you typed 3)" in shown
    for code_word in ("greens_s", "cycle_s", "None", "got "):
        assert code_word not in shown
    assert _plan(room, node) == before
    page.screenshot(path=str(artifacts / "signal-editor-refused-1080p.png"))
    page.set_viewport_size({"width": 3840, "height": 2160})
    page.screenshot(path=str(artifacts / "signal-editor-refused-4k.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    assert _no_errors(log)


def test_an_empty_green_says_empty_and_changes_nothing(editor, room):
    page, log, node = editor
    before, audited = _plan(room, node), _audit_rows(room)
    _type(page, "#sig-editor input >> nth=0", "")
    page.click("#sig-apply")
    shown = _wait_text(page, "#sig-msg", "empty")
    assert "Phase 1 green is empty: type a number of seconds" in shown
    assert _plan(room, node) == before
    assert _audit_rows(room) == audited  # an unfinished form is not an action: no audit row
    assert _no_errors(log)
