"""Every place on the bundled day's screens has a human name (issue 13, point 5).

A real browser opens the wall (alerts list, the signal, corridor and checkpoint panels, a road's
hover tooltip and detail card) and the executive summary, and reads all visible text: no
"unnamed", no "Junction 237", no "#10", no raw id such as ``asan_medical_center``. Where CSS cuts
a name with an ellipsis, its full text is in the element's title (the tooltip; a grouped alert's
title lists every place of the group, the line shows the first few). Screenshots at
1920x1080 and 3840x2160 go to tests/artifacts/ (look at them after a change).
"""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import BUNDLED, open_page, serve_at
from tests.waiting import wait_for

RAW_NAME = re.compile(r"unnamed|Junction \d+|#\d+|[a-z]+_[a-z_]+")
SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}

VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !el || el.closest('script, style, noscript')) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    out.push(text);
  }
  return out;
}"""

CUT_WITHOUT_TOOLTIP = """() => {
  window.vtFullNames.scan();  // the tooltip script's pass, in step with the text now shown
  const out = [];
  for (const el of document.body.getElementsByTagName('*')) {
    const style = getComputedStyle(el);
    const clamps = style.webkitLineClamp && style.webkitLineClamp !== 'none';
    if (style.textOverflow !== 'ellipsis' && !clamps) continue;
    const text = (el.textContent || '').replace(/\\s+/g, ' ').trim();
    const cut = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    const full = el.title === text || (el.title.length > text.length / 2
                                       && el.title.startsWith(text.slice(0, 12)));
    if (text && cut && el.getBoundingClientRect().width > 0 && !full) {
      out.push(text);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """The bundled day's control room with its own audit database, paused at 19:40 (stepped
    there by its loop): the evening peak, with alerts open whatever the machine's speed."""
    served = serve_at(
        19 * 3600 + 40 * 60,
        scenario=BUNDLED,
        forecast_period_s=20.0,
        warmup_s=1800.0,
        normal_day=False,
        audit_db=str(tmp_path_factory.mktemp("audit") / "audit.sqlite"),
    )
    yield served
    served.stop()


def _raw_names(texts: list[str]) -> list[str]:
    return sorted({text for text in texts if RAW_NAME.search(text)})


def _visible(page) -> list[str]:
    return page.evaluate(VISIBLE_TEXT)


def _check_page(page) -> list[str]:
    """Raw names in the visible text, and cut names without their full text in a tooltip."""
    problems = [f"raw name: {text!r}" for text in _raw_names(_visible(page))]
    problems += [f"cut without tooltip: {t!r}" for t in page.evaluate(CUT_WITHOUT_TOOLTIP)]
    return problems


def _open_wall(browser, url: str, size: tuple[int, int]):
    page, log = open_page(browser, url, width=size[0], height=size[1])
    page.wait_for_selector("[data-kpi='vehicles_in_network']", timeout=180_000)
    assert wait_for(lambda: page.evaluate("window.vtDeck.stats().applied") > 0, 60)
    return page, log


def _tab(page, label: str) -> None:
    page.click(f".ops-tabs label:has-text('{label}')")


def _set(page, selector: str, value) -> None:
    page.fill(selector, str(value))
    page.press(selector, "Enter")


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_wall_alerts_and_map_use_human_names(day, browser, artifacts, size):
    page, _ = _open_wall(browser, day.url, size)
    page.wait_for_selector(".alert-body", timeout=90_000)
    problems = _check_page(page)
    titles = [t.strip() for t in page.locator(".alert-place").all_inner_texts()]
    page.screenshot(path=str(artifacts / f"names-wall-alerts-{size[0]}.png"))
    hover = _hover_a_road(page)
    page.screenshot(path=str(artifacts / f"names-wall-hover-{size[0]}.png"))
    problems += [f"hover: {hover!r}"] if RAW_NAME.search(hover) else []
    page.mouse.click(*_first_road_point(page)[:2])
    page.wait_for_selector("#wall-detail:not([hidden]) h3", timeout=180_000)
    problems += _check_page(page)
    detail = page.inner_text("#wall-detail h3")
    page.context.close()
    assert titles and all(titles), f"alerts without a place name: {titles}"
    assert not problems, problems
    # a road is named by its street and cross streets or a landmark, a ramp by its ends
    assert re.search(r"\S+-(ro|daero|gil)\b|Ramp|road|street", detail), detail


def _first_road_point(page) -> list[float]:
    points = page.evaluate(
        """() => {
          const map = document.getElementById('wall-map').getBoundingClientRect();
          const rows = window.vtDeck.rows('links');
          for (let i = 0; i < rows.length; i += 7) {
            const path = rows[i].path, mid = path[Math.floor(path.length / 2)];
            const xy = window.vtDeck.project(mid);
            if (!xy || xy[0] < map.width * 0.3 || xy[0] > map.width * 0.7) continue;
            if (xy[1] < map.height * 0.3 || xy[1] > map.height * 0.7) continue;
            const picked = window.vtDeck.pickAt(xy[0], xy[1]);
            if (picked && picked.kind === 'road') return [map.left + xy[0], map.top + xy[1]];
          }
          return null;
        }"""
    )
    assert points, "no road to point at in the middle of the map"
    return points


def _hover_a_road(page) -> str:
    x, y = _first_road_point(page)
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_selector(".deck-tooltip", state="visible", timeout=180_000)
    assert wait_for(lambda: "km/h" in page.inner_text(".deck-tooltip"), 20)
    return page.inner_text(".deck-tooltip")


def test_signal_panel_lists_junctions_by_their_streets(day, browser, artifacts):
    page, _ = _open_wall(browser, day.url, SIZES["1080p"])
    _tab(page, "Signals")
    page.click("#sig-node")
    page.wait_for_selector(".dash-dropdown-content", timeout=180_000)
    options = page.locator(".dash-dropdown-content").inner_text().splitlines()
    page.screenshot(path=str(artifacts / "names-signals-list-1920.png"))
    named = [o for o in options if " × " in o]
    page.locator(".dash-dropdown-content").get_by_text(named[0], exact=True).click()
    page.wait_for_selector("#sig-approaches table tr >> nth=1", timeout=180_000)
    problems = _check_page(page)
    page.screenshot(path=str(artifacts / "names-signals-1920.png"))
    page.context.close()
    svc = day.app.server.extensions["venuetwin"]
    assert len(set(options)) == len(options) == len(svc.scene.signals), options
    assert len(named) >= len(options) // 2, f"most junctions are two streets: {options}"
    assert not _raw_names(options), _raw_names(options)
    assert not problems, problems


def test_corridor_and_checkpoint_panels_use_display_names(day, browser, artifacts):
    page, _ = _open_wall(browser, day.url, SIZES["1080p"])
    _tab(page, "Corridor")
    lon, lat = day.app.server.extensions["venuetwin"].scene.links[300]["path"][0]
    _set(page, "#cor-lat", lat)
    _set(page, "#cor-lon", lon)
    page.click("#cor-preview")
    page.wait_for_function(
        "document.querySelector('#cor-plan').innerText.includes('ETA with corridor')",
        timeout=180_000,
    )
    problems = _check_page(page)
    plan = page.inner_text("#cor-plan")
    page.screenshot(path=str(artifacts / "names-corridor-1920.png"))
    _tab(page, "Checkpoints")
    page.wait_for_selector("#cp-table tr.cp-row >> nth=0", timeout=180_000)
    problems += _check_page(page)
    page.screenshot(path=str(artifacts / "names-checkpoints-1920.png"))
    page.context.close()
    assert "Medical Center" in plan or "Hospital" in plan, plan
    assert not problems, problems


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_summary_uses_human_names(day, browser, artifacts, size):
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    page.goto(day.url + "/summary")
    page.wait_for_selector(".sum-figure", timeout=180_000)
    problems = _check_page(page)
    page.screenshot(path=str(artifacts / f"names-summary-{size[0]}.png"))
    page.context.close()
    assert not problems, problems
