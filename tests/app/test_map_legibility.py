"""Map legibility in a real browser (issue 13.7): venue names clear of each other and of every
marker, the map refitted when the side panel opens, predicted congestion beside the live line,
a note for a click on empty ground, the detail card off the side panel.

Geometry is read from deck.gl itself (its viewport's projection, the TextLayer's own text
boxes and accessors, the ScatterplotLayers' radii) and from the DOM's element boxes, never from
the bridge's placement code. Screenshots go to tests/artifacts/: look at them after a change.
"""

from __future__ import annotations

import itertools
import math

import pytest

from tests.app.conftest import open_page
from tests.app.test_wall import _road_points, _wait_for_values
from tests.waiting import wait_for

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
MARKER_LAYERS = ("venues", "checkpoints", "hospitals", "signals")
NOTE = "Nothing here: click a road, junction, venue or checkpoint"

GEOMETRY_JS = """(markerLayers) => {
    const deck = window.vtDeck.deck();
    const viewport = deck.getViewports()[0];
    const layers = Object.fromEntries(deck.layerManager.getLayers().map(l => [l.id, l]));
    const labels = layers['venue-labels'];
    const rows = window.vtDeck.rows('venues');
    const fontSize = labels.state.fontAtlasManager.props.fontSize;
    const sizePx = labels.props.getSize * labels.props.sizeScale;
    const names = rows.map((row, index) => {
        const info = {index, data: rows, target: []};
        const colour = labels.props.getColor(row, info);
        const [x, y] = viewport.project(row.position);
        const offset = labels.props.getPixelOffset(row, info);
        const rect = labels.getBoundingRect(row, info).map(v => v * sizePx / fontSize);
        const left = x + offset[0] + rect[0], top = y + offset[1] + rect[1];
        return {name: row.n, shown: colour[3] > 0,
                box: [left, top, left + rect[2], top + rect[3]]};
    });
    const markers = [];
    for (const id of markerLayers) {
        const layer = layers[id];
        if (!layer || !layer.props.visible) continue;
        const p = layer.props, data = p.data;
        data.forEach((row, index) => {
            const info = {index, data, target: []};
            const position = p.getPosition(row, info);
            const radius = typeof p.getRadius === 'function' ? p.getRadius(row, info) : p.getRadius;
            const [x, y] = viewport.project(position);
            let px;
            if (p.radiusUnits === 'meters') {
                // pixels of `radius` metres north of the marker, by deck.gl's own projection
                const north = viewport.project([position[0], position[1] + radius * p.radiusScale / 111195]);
                px = Math.abs(y - north[1]);
            } else {
                px = radius * p.radiusScale;
            }
            px = Math.max(px, p.radiusMinPixels);
            const ring = p.stroked ? Math.max(p.lineWidthMinPixels, 0) : 0;
            markers.push({layer: id, name: row.n || id, x, y, r: px + ring / 2});
        });
    }
    const map = document.getElementById('wall-map').getBoundingClientRect();
    const rectOf = (selector) => {
        const el = document.querySelector(selector);
        const r = el && el.getBoundingClientRect();
        return r && r.width > 0 && r.height > 0
            ? [r.left - map.left, r.top - map.top, r.right - map.left, r.bottom - map.top] : null;
    };
    // synced: the bridge has refitted to the container's present size and deck.gl drew that
    // view (under load the resize observer and deck's next frame can each lag by seconds)
    const stats = window.vtDeck.stats();
    const synced = !!stats.size && Math.abs(stats.size[0] - map.width) < 1
        && Math.abs(stats.size[1] - map.height) < 1
        && Math.abs(viewport.width - map.width) < 1 && Math.abs(viewport.height - map.height) < 1
        && Math.abs(viewport.zoom - stats.zoom) < 1e-3;
    return {names, markers, zoom: viewport.zoom, width: map.width, height: map.height, synced,
            overlays: ['.map-side', '.map-home', '.attribution'].map(rectOf).filter(Boolean),
            corners: [viewport.project([%s]), viewport.project([%s])]};
}"""


def _geometry(page, bounds) -> dict:
    west, south, east, north = bounds
    script = GEOMETRY_JS % (f"{west}, {north}", f"{east}, {south}")
    return page.evaluate(script, list(MARKER_LAYERS))


def _boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _box_hits_circle(box, marker) -> bool:
    dx = max(box[0] - marker["x"], 0.0, marker["x"] - box[2])
    dy = max(box[1] - marker["y"], 0.0, marker["y"] - box[3])
    return math.hypot(dx, dy) < marker["r"]


def _problems(geometry: dict) -> list[str]:
    """Every overlap of two shown names, of a name and a marker, and every name not wholly in
    the free part of the map (inside the map, under no overlay)."""
    shown = [n for n in geometry["names"] if n["shown"]]
    found = [
        f"{a['name']} overlaps {b['name']}"
        for a, b in itertools.combinations(shown, 2)
        if _boxes_overlap(a["box"], b["box"])
    ]
    found += [
        f"{n['name']} covers the {m['layer']} marker {m['name']}"
        for n in shown
        for m in geometry["markers"]
        if _box_hits_circle(n["box"], m)
    ]
    for n in shown:
        left, top, right, bottom = n["box"]
        if left < 0 or top < 0 or right > geometry["width"] or bottom > geometry["height"]:
            found.append(f"{n['name']} is cut at the map's edge: {n['box']}")
        found += [
            f"{n['name']} is under an overlay at {o}"
            for o in geometry["overlays"]
            if _boxes_overlap(n["box"], o)
        ]
    return found


def _settled(page, bounds) -> dict:
    """The geometry once the bridge has refitted to the map's present size, deck.gl has drawn
    that view, and two reads a second apart agree (the view and the names settled)."""
    last = {}

    def same() -> dict | None:
        nonlocal last
        now = _geometry(page, bounds)
        stable = now["synced"] and now == last
        last = now
        return now if stable else None

    settled = wait_for(same, timeout_s=120, step_s=1.0)
    assert settled, f"the map never settled on its size within the hang guard: {last.get('synced')}"
    return settled


def _bounds(wall) -> list[float]:
    return wall.app.server.extensions["venuetwin"].scene.bounds


@pytest.mark.parametrize("size", list(SIZES))
def test_names_stay_clear_and_the_map_refits_when_the_side_panel_opens(
    wall, browser, artifacts, size
):
    width, height = SIZES[size]
    page, log = open_page(browser, wall.url, width=width, height=height)
    _wait_for_values(page)
    bounds = _bounds(wall)
    closed = _settled(page, bounds)
    page.screenshot(path=str(artifacts / f"map-names-closed-{size}.png"))
    page.click(".ops-tabs label:has-text('Signals')")
    wait_for(lambda: _geometry(page, bounds)["width"] < closed["width"] - 100, timeout_s=20)
    opened = _settled(page, bounds)
    page.screenshot(path=str(artifacts / f"map-names-open-{size}.png"))
    page.click(".ops-tabs label:has-text('Alerts')")
    wait_for(lambda: _geometry(page, bounds)["width"] > opened["width"] + 100, timeout_s=20)
    again = _settled(page, bounds)
    page.context.close()
    venues = len(closed["names"])
    for state, geometry in (("closed", closed), ("open", opened), ("closed again", again)):
        assert _problems(geometry) == [], state
        shown = sum(n["shown"] for n in geometry["names"])
        assert shown >= venues - 1, f"{state}: only {shown} of {venues} venue names shown"
        (x0, y0), (x1, y1) = (geometry["corners"][0][:2], geometry["corners"][1][:2])
        assert 0 <= x0 and x1 <= geometry["width"] and 0 <= y0 and y1 <= geometry["height"], state
    assert opened["width"] < closed["width"] - 100, "the side panel did not take room"
    assert opened["zoom"] < closed["zoom"], "the map was not refitted to the narrower space"
    assert again["zoom"] == pytest.approx(closed["zoom"], abs=0.01), "open and close drifted"
    assert log.errors == []


def test_names_on_the_read_only_map_stay_clear(wall, browser, artifacts):
    page, log = open_page(browser, wall.url + "/map")
    _wait_for_values(page)
    geometry = _settled(page, _bounds(wall))
    page.screenshot(path=str(artifacts / "map-read-only-1080p.png"))
    page.context.close()
    assert _problems(geometry) == []
    assert sum(n["shown"] for n in geometry["names"]) >= len(geometry["names"]) - 1
    assert log.errors == []


PREDICTED_JS = """() => {
    const deck = window.vtDeck.deck();
    const viewport = deck.getViewports()[0];
    const layer = deck.layerManager.getLayers().find(l => l.id === 'predicted');
    const scale = deck.layerManager.getLayers().find(l => l.id === 'congestion').props.widthScale;
    return layer.props.data.slice(0, 60).map((row, index) => {
        const info = {index, data: layer.props.data, target: []};
        return {live: row.path.map(p => viewport.project(p)),
                predicted: layer.props.getPath(row, info).map(p => viewport.project(p)),
                liveWidth: row.w * scale, predictedWidth: row.pw * scale};
    });
}"""


def _distance_to_polyline(point, line) -> tuple[float, float]:
    """Distance (px) from ``point`` to the polyline ``line`` and the side (+1 right of the
    direction of travel on screen, -1 left) of its nearest segment."""
    best = (math.inf, 0.0)
    for (ax, ay, *_), (bx, by, *_) in itertools.pairwise(line):
        dx, dy = bx - ax, by - ay
        t = max(
            0.0, min(1.0, ((point[0] - ax) * dx + (point[1] - ay) * dy) / (dx * dx + dy * dy or 1))
        )
        px, py = ax + t * dx, ay + t * dy
        distance = math.hypot(point[0] - px, point[1] - py)
        if distance < best[0]:
            # screen y grows downwards: right of travel is where the cross product is positive
            best = (distance, math.copysign(1.0, dx * (point[1] - ay) - dy * (point[0] - ax)))
    return best


@pytest.mark.parametrize("size", list(SIZES))
def test_predicted_congestion_runs_beside_the_live_line(wall, browser, artifacts, size):
    width, height = SIZES[size]
    page, log = open_page(browser, wall.url, width=width, height=height)
    _wait_for_values(page)
    page.click(".layer-list label:has-text('Predicted congestion')")
    wait_for(lambda: len(page.evaluate("window.vtDeck.rows('predicted') || []")) > 0, 120, 1.0)
    page.wait_for_timeout(1500)
    roads = page.evaluate(PREDICTED_JS)
    legend = page.inner_text("#wall-legend")
    page.screenshot(path=str(artifacts / f"map-predicted-{size}.png"))
    page.context.close()
    checked = 0
    for road in roads:
        inner = road["predicted"][1:-1] if len(road["predicted"]) > 2 else road["predicted"]
        for point in inner:
            distance, side = _distance_to_polyline(point, road["live"])
            half_widths = (road["liveWidth"] + road["predictedWidth"]) / 2
            # beside: the two lines' edges do not overlap, and the gap is a few pixels at most
            assert half_widths - 0.5 <= distance <= half_widths + 4 * road["liveWidth"], road
            assert side > 0, "predicted drawn left of the direction of travel"
            checked += 1
    assert checked > 10, f"only {checked} predicted points to check"
    assert "predicted" in legend.lower() and "beside" in legend.lower(), legend
    assert log.errors == []


EMPTY_POINT_JS = """() => {
    const map = document.getElementById('wall-map').getBoundingClientRect();
    const area = window.vtDeck.freeArea();
    for (let y = area.top + 30; y < map.height - area.bottom - 30; y += 23) {
        for (let x = area.left + 30; x < map.width - area.right - 30; x += 29) {
            let empty = true;
            for (const [dx, dy] of [[0, 0], [-12, 0], [12, 0], [0, -12], [0, 12]]) {
                if (window.vtDeck.pickAt(x + dx, y + dy)) { empty = false; break; }
            }
            if (empty) return [map.left + x, map.top + y];
        }
    }
    return null;
}"""


@pytest.mark.parametrize("path", ["/", "/map"])
def test_a_click_on_empty_ground_says_what_can_be_clicked(wall, browser, path):
    page, log = open_page(browser, wall.url + path)
    _wait_for_values(page)
    x, y = page.evaluate(EMPTY_POINT_JS)
    page.mouse.click(x, y)
    shown = page.wait_for_function(
        """() => {
            const note = document.querySelector('.map-note.shown');
            if (!note) return null;
            const r = note.getBoundingClientRect();
            return {text: note.textContent, x: r.left, y: r.top};
        }""",
        timeout=180_000,
    )
    note = shown.json_value()
    text = note["text"]
    faded = wait_for(lambda: not page.is_visible(".map-note"), timeout_s=15, step_s=0.5)
    detail_hidden = page.locator("#wall-detail").is_hidden()
    page.context.close()
    assert text == NOTE
    assert math.hypot(note["x"] - x, note["y"] - y) < 120, "the note is not by the click"
    assert faded, "the note did not fade"
    assert detail_hidden, "an empty click opened a detail card"
    assert log.errors == []


COVERED_JS = """([cardSelector]) => {
    // does any part of the side column show the card instead of itself?
    const side = document.getElementById('wall-side').getBoundingClientRect();
    const card = document.querySelector(cardSelector);
    for (let y = side.top + 2; y < side.bottom; y += 15) {
        for (let x = side.left + 2; x < side.right; x += 15) {
            const hit = document.elementFromPoint(x, y);
            if (hit && card && card.contains(hit)) return [x, y];
        }
    }
    return null;
}"""


@pytest.mark.parametrize("size", list(SIZES))
def test_the_detail_card_and_tooltip_leave_the_side_panel_uncovered(wall, browser, artifacts, size):
    width, height = SIZES[size]
    page, log = open_page(browser, wall.url, width=width, height=height)
    _wait_for_values(page)
    page.click(".ops-tabs label:has-text('Signals')")
    page.wait_for_selector("#wall-side.side-wide", timeout=180_000)
    page.wait_for_timeout(1500)  # the refit after the resize
    points = sorted(_road_points(page, 8), key=lambda p: -p[0])
    assert points, "no clickable road found"
    x, y, _ = points[0]  # the road nearest the side panel
    page.mouse.click(x, y)
    page.wait_for_selector("#wall-detail:not([hidden]) h3", timeout=180_000)
    card = page.locator("#wall-detail").bounding_box()
    side = page.locator("#wall-side").bounding_box()
    wrap = page.locator(".map-wrap").bounding_box()
    card_covers = page.evaluate(COVERED_JS, ["#wall-detail"])
    page.screenshot(path=str(artifacts / f"map-detail-card-{size}.png"))
    page.click("#wall-detail-close")
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_selector(".deck-tooltip", state="visible", timeout=180_000)
    tooltip_covers = page.evaluate(COVERED_JS, [".deck-tooltip"])
    tooltip = page.locator(".deck-tooltip").bounding_box()
    page.context.close()
    assert (
        wrap["x"] <= tooltip["x"] and tooltip["x"] + tooltip["width"] <= wrap["x"] + wrap["width"]
    ), "the tooltip is cut off by the map's edge"
    assert card["x"] + card["width"] <= side["x"], (card, side)
    assert wrap["x"] <= card["x"] and card["y"] + card["height"] <= wrap["y"] + wrap["height"]
    assert card_covers is None, f"the detail card covers the side panel at {card_covers}"
    assert tooltip_covers is None, f"the tooltip covers the side panel at {tooltip_covers}"
    assert log.errors == []
