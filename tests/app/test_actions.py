"""Operator actions: server-side refusals straight at the callback endpoint, and browser flows
(signal preview/apply/revert, corridor dispatch/cancel, lane change) asserting what the user sees.

Screenshots of each panel at 1920x1080 go to tests/artifacts/ (look at them after a UI change).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.app.conftest import open_page, serve, wall_config
from twin.service.audit import AuditFilter


# ---------------------------------------------------------------- server side
@pytest.fixture(scope="module")
def still(tmp_path_factory):
    """The app with its loop not running (commands run inline): state only changes by actions."""
    from app import create_app

    db = tmp_path_factory.mktemp("audit") / "audit.sqlite"
    app = create_app(wall_config(start=False, normal_day=False, audit_db=str(db)))
    return app


def _svc(app):
    return app.server.extensions["venuetwin"]


def _key(app, input_id: str) -> str:
    [key] = [
        k
        for k, cb in app.callback_map.items()
        if any(i["id"] == input_id for i in cb["inputs"]) and "callback" in cb
    ]
    return key


def _post(app, input_id: str, values: dict) -> tuple[int, dict]:
    """POST one callback request like the browser does; ``values`` maps ``id.prop`` (or a
    pattern-matching type) to the value sent."""
    key = _key(app, input_id)
    cb = app.callback_map[key]
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outputs = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})

    def entry(spec):
        cid = spec["id"]
        if cid.startswith("{"):
            pattern = json.loads(cid)
            return [
                {"id": {**pattern, "phase": k}, "property": spec["property"], "value": v}
                for k, v in enumerate(values.get(pattern["type"], []))
            ]
        return {
            "id": cid,
            "property": spec["property"],
            "value": values.get(f"{cid}.{spec['property']}"),
        }

    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [entry(s) for s in cb["inputs"]],
        "state": [entry(s) for s in cb.get("state", [])],
        "changedPropIds": [f"{input_id}.n_clicks"],
    }
    response = app.server.test_client().post("/_dash-update-component", json=body)
    return response.status_code, (response.get_json() if response.is_json else {})


def _text(payload) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _read(app, fn):
    """Test-only look at the engine in its loop thread (the web side uses named queries)."""
    return _svc(app).live.call(fn).result(timeout=30)


def _plans(app):
    return _read(app, lambda e: e.state.plans.greens_s.copy().tolist())


def _lanes(app):
    from twin.crowd.pedestrians import KEY

    return _read(
        app,
        lambda e: (
            e.state.extras[KEY].checkpoints.lanes_face.tolist(),
            e.state.extras[KEY].checkpoints.lanes_manual.tolist(),
        ),
    )


def _corridors(app):
    return _read(app, lambda e: sorted(e.state.extras.get("ambulances", {})))


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (
            {
                "sig-node.value": 1,
                "sig-green": [5, 5, 5],
                "sig-cycle.value": 999,
                "sig-offset.value": 0,
            },
            "so its plan needs 2 greens",
        ),
        (
            {
                "sig-node.value": 99999,
                "sig-green": [30, 30],
                "sig-cycle.value": 70,
                "sig-offset.value": 0,
            },
            "has no traffic signal",
        ),
        (
            {
                "sig-node.value": 1,
                "sig-green": ["lots", 30],
                "sig-cycle.value": 70,
                "sig-offset.value": 0,
            },
            "Phase 1 green must be a number of seconds",
        ),
        (
            {
                "sig-node.value": "1; DROP TABLE",
                "sig-green": [30],
                "sig-cycle.value": 70,
                "sig-offset.value": 0,
            },
            "must be a",
        ),
    ],
)
def test_bad_signal_plans_are_refused_and_change_nothing(still, values, reason):
    before = _plans(still)
    status, payload = _post(still, "sig-apply", {"sig-apply.n_clicks": 1, **values})
    assert status == 200
    assert "Refused" in _text(payload) and reason in _text(payload), payload
    assert _plans(still) == before
    entry = _svc(still).commands.audit.query(AuditFilter(result="refused", limit=1))[0]
    assert reason in entry.detail and entry.user == "local"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"cp-select.value": 0, "cp-lane-type.value": "face", "cp-count.value": 999}, "count"),
        (
            {"cp-select.value": 4242, "cp-lane-type.value": "face", "cp-count.value": 2},
            "checkpoint_id",
        ),
        ({"cp-select.value": 0, "cp-lane-type.value": "robot", "cp-count.value": 2}, "lane_type"),
        ({"cp-select.value": 0, "cp-lane-type.value": "manual", "cp-count.value": -3}, "count"),
        ({"cp-select.value": 0, "cp-lane-type.value": "manual", "cp-count.value": "3"}, "count"),
    ],
)
def test_bad_lane_changes_are_refused_and_change_nothing(still, values, reason):
    before = _lanes(still)
    status, payload = _post(still, "cp-apply", {"cp-apply.n_clicks": 1, **values})
    assert status == 200
    assert "Refused" in _text(payload) and reason in _text(payload), payload
    assert _lanes(still) == before


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (None, "preview a corridor first"),
        ({"corridor_id": "X1", "lat": 0.0, "lon": 0.0}, "Refused"),
        (
            {"corridor_id": "X2", "lat": 37.52, "lon": 127.12, "hospital_id": "hospital_nowhere"},
            "hospital_nowhere",
        ),
        (
            {"corridor_id": "", "lat": 37.52, "lon": 127.12},
            "corridor_id must be 1 to 40 letters, digits",
        ),
        ({"corridor_id": "X3", "lat": "north", "lon": 127.12}, "Refused"),
    ],
)
def test_bad_dispatches_are_refused_and_change_nothing(still, draft, reason):
    before = _corridors(still)
    status, payload = _post(
        still, "cor-dispatch", {"cor-dispatch.n_clicks": 1, "cor-draft.data": draft}
    )
    assert status == 200 and reason in _text(payload), payload
    assert _corridors(still) == before


def test_cancel_of_an_unknown_corridor_is_refused(still):
    cb_key = next(
        k
        for k, cb in still.callback_map.items()
        if any("cor-cancel" in i["id"] for i in cb["inputs"])
    )
    body = {
        "output": cb_key,
        "outputs": {"id": "cor-msg", "property": cb_key.split(".", 1)[1]},
        "inputs": [
            [{"id": {"type": "cor-cancel", "id": "GHOST"}, "property": "n_clicks", "value": 1}]
        ],
        "changedPropIds": ['{"id":"GHOST","type":"cor-cancel"}.n_clicks'],
    }
    response = still.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert "corridor_id 'GHOST' is not a known corridor" in response.get_data(as_text=True)


def test_malformed_request_changes_nothing(still):
    before = _plans(still), _lanes(still), _corridors(still)
    client = still.server.test_client()
    for body in ({"output": "nonsense"}, {}, {"output": _key(still, "sig-apply"), "inputs": "x"}):
        assert client.post("/_dash-update-component", json=body).status_code >= 400
    assert (
        client.post(
            "/_dash-update-component", data="not json", content_type="text/plain"
        ).status_code
        >= 400
    )
    assert (_plans(still), _lanes(still), _corridors(still)) == before


def test_valid_apply_is_audited_and_stale_view_warns(still):
    svc = _svc(still)
    plan = svc.live.call(lambda e: e.state.plans.plan_of(int(e.state.plans.node_ids[0]))).result(30)
    node, n = plan["node_id"], len(plan["greens_s"])
    greens = [g + 2 for g in plan["greens_s"]]
    values = {
        "sig-apply.n_clicks": 1,
        "sig-node.value": node,
        "sig-green": greens,
        "sig-cycle.value": plan["cycle_s"] + 2 * n,
        "sig-offset.value": 0,
        "sig-seen.data": plan,
    }
    status, payload = _post(still, "sig-apply", values)
    assert status == 200 and "Applied" in _text(payload) and "warning" not in _text(payload)
    entry = svc.commands.audit.query(AuditFilter(result="ok", limit=1))[0]
    assert entry.before["greens_s"] == plan["greens_s"] and entry.after["greens_s"] == greens
    # a second operator still looking at the old plan: applies (last writer wins) with a warning
    status, payload = _post(
        still,
        "sig-apply",
        {**values, "sig-green": plan["greens_s"], "sig-cycle.value": plan["cycle_s"]},
    )
    assert "warning" in _text(payload) and "changed by" in _text(payload)
    assert (
        svc.live.call(lambda e: e.state.plans.plan_of(node)).result(30)["greens_s"]
        == plan["greens_s"]
    )


# ---------------------------------------------------------------- browser flows
@pytest.fixture(scope="module")
def ops(tmp_path_factory):
    """A control room of its own (actions here must not disturb the wall tests), its clock
    paused: actions apply, and only a test that steps it moves the twin."""
    from app import create_app

    db = tmp_path_factory.mktemp("audit") / "audit.sqlite"
    served = serve(create_app(wall_config(normal_day=False, audit_db=str(db), paused=True)))
    yield served
    served.stop()


def _wait_text(page, selector: str, text: str, timeout_s: float = 120.0) -> str:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        element = page.query_selector(selector)
        if element is not None and text in element.inner_text():
            return element.inner_text()
        time.sleep(0.3)
    element = page.query_selector(selector)
    raise AssertionError(
        f"{selector!r} never showed {text!r}; shows {element.inner_text() if element else None!r}"
    )


def _tab(page, label: str) -> None:
    page.click(f".ops-tabs label:has-text('{label}')")


def _set(page, selector: str, value) -> None:
    page.fill(selector, str(value))
    page.press(selector, "Enter")


def test_signal_preview_apply_revert(ops, browser, artifacts):
    page, log = open_page(browser, ops.url)
    _tab(page, "Signals")
    node = ops.app.server.extensions["venuetwin"].scene.signals[1]
    page.click("#sig-node")
    page.keyboard.type(node["n"])  # search by name
    page.locator(".dash-dropdown-content").get_by_text(node["n"], exact=True).click()
    bar = _wait_text(page, "#sig-plan", "cycle")
    page.wait_for_selector("#sig-approaches table tr >> nth=1")
    # a refusal shows next to the buttons and changes nothing
    before = _read(ops.app, lambda e: e.state.plans.plan_of(node["i"]))
    _set(page, "#sig-offset", before["cycle_s"] + 5)
    page.click("#sig-apply")
    _wait_text(page, "#sig-msg", "Refused")
    assert _read(ops.app, lambda e: e.state.plans.plan_of(node["i"])) == before
    _set(page, "#sig-offset", 0)
    # the cycle follows the greens: no arithmetic for the operator, bounds shown by each input
    # (waited for: the editor may still show the junction the URL opened with)
    _wait_text(page, "#sig-editor", f"min {before['min_green_s'][0]:g}")
    _set(page, "#sig-editor input >> nth=0", before["greens_s"][0] + 10)
    page.wait_for_function(
        f"document.querySelector('#sig-cycle').value == '{before['cycle_s'] + 10:g}'",
        timeout=180_000,
    )
    page.click("#sig-suggest")
    _wait_text(page, "#sig-msg", "Webster")
    page.click("#sig-preview")
    page.wait_for_selector(".whatif-diff", timeout=180_000)
    assert "+60 min" in page.inner_text("#sig-result")
    page.wait_for_selector(
        "#sig-result .js-plotly-plot", timeout=180_000
    )  # plotly draws after the table
    # the map colours the roads whose delay the candidate changes
    page.wait_for_function("(window.vtDeck.rows('whatif') || []).length > 0", timeout=180_000)
    # a preview is visibly a preview: a banner over the map names it and carries its colour key
    banner = page.locator("#wall-preview-banner")
    banner.wait_for(state="visible", timeout=180_000)
    assert (
        banner.inner_text().startswith(f"Preview: {node['n']}")
        and "much more" in banner.inner_text()
    )
    page.screenshot(path=str(artifacts / "ops-signals-preview-1080p.png"))
    dialogs = []  # a plan the preview showed to be worse asks for a confirmation first
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("#sig-apply")
    applied = _wait_text(page, "#sig-msg", "Applied")
    assert "warning" not in applied
    assert all("more delay in the next hour" in text for text in dialogs)
    banner.wait_for(
        state="hidden", timeout=180_000
    )  # Apply ends the preview: banner, table, colours
    assert page.inner_text("#sig-result").strip() == ""
    after = _read(ops.app, lambda e: e.state.plans.plan_of(node["i"]))
    assert _wait_text(page, "#sig-plan", f"cycle {after['cycle_s']:.0f} s")
    page.click("#sig-revert")
    _wait_text(page, "#sig-msg", "Reverted")
    restored = _read(ops.app, lambda e: e.state.plans.plan_of(node["i"]))
    assert restored["greens_s"] == before["greens_s"] and restored["cycle_s"] == before["cycle_s"]
    _wait_text(page, "#sig-plan", f"cycle {before['cycle_s']:.0f} s")
    page.context.close()
    assert bar and not [e for e in log.errors if "favicon" not in e]


def _wait_until(predicate, timeout_s: float) -> bool:
    """Poll ``predicate`` every half second (software WebGL redraws take 0.5-1.5 s each)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.5)
    return bool(predicate())


def test_corridor_preview_dispatch_follow_cancel(ops, browser, artifacts):
    svc = ops.app.server.extensions["venuetwin"]
    assert svc.live.paused  # the test moves the clock: the trip is followed
    _follow_a_corridor(ops, svc, browser, artifacts)


def _follow_a_corridor(ops, svc, browser, artifacts):
    page, log = open_page(browser, ops.url)
    _tab(page, "Corridor")
    lon, lat = ops.app.server.extensions["venuetwin"].scene.links[300]["path"][0]
    _set(page, "#cor-lat", lat)
    _set(page, "#cor-lon", lon)
    page.click("#cor-preview")
    eta = _wait_text(page, "#cor-plan", "ETA with corridor", timeout_s=180)
    assert "signals to pre-empt" in eta.lower() and "Time saved" in eta
    page.wait_for_function(
        "(window.vtDeck.rows('route') || []).length === 1", timeout=180_000
    )  # route drawn
    page.screenshot(path=str(artifacts / "ops-corridor-preview-1080p.png"))
    page.dblclick("#cor-dispatch")  # double-click: one corridor only
    _wait_text(page, "#cor-msg", "ispatched")
    page.wait_for_function(
        "(window.vtDeck.rows('route') || []).length === 0", timeout=180_000
    )  # live layer takes over
    row = _wait_text(page, "#cor-list", "en route")
    active = svc.live.call(lambda e: list(e.state.extras["ambulances"].values())).result(30)
    assert len(active) == 1, "a double-click made two corridors"
    corridor_id = active[0].corridor_id
    assert corridor_id in row
    first = page.inner_text(f"tr[data-corridor='{corridor_id}'] .cor-eta-now")
    _wait_text(page, "#cor-spacetime", f"{corridor_id}: distance vs time", timeout_s=120)
    page.wait_for_selector("#cor-spacetime .js-plotly-plot")
    ops.step_to(svc.live.engine.time_s + 30)  # half a simulated minute of a trip of minutes
    counted = _wait_until(
        lambda: page.inner_text(f"tr[data-corridor='{corridor_id}'] .cor-eta-now") != first,
        120.0,
    )
    assert counted, "the ETA did not count down"
    assert "en route" in page.inner_text(f"tr[data-corridor='{corridor_id}']")
    page.screenshot(path=str(artifacts / "ops-corridor-dispatched-1080p.png"))
    cancel = page.locator(f"tr[data-corridor='{corridor_id}'] button:has-text('Cancel')")
    for _attempt in range(5):  # the list is redrawn every tick, which can swallow a click
        if cancel.count():
            cancel.first.click()
        if _wait_until(lambda: f"Cancelled {corridor_id}" in page.inner_text("#cor-msg"), 20.0):
            break
    _wait_text(page, "#cor-msg", f"Cancelled {corridor_id}")
    _wait_text(page, f"tr[data-corridor='{corridor_id}']", "cancelled")
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]


def test_checkpoint_lane_change_moves_the_predicted_wait(ops, browser, artifacts):
    page, log = open_page(browser, ops.url)
    _tab(page, "Checkpoints")
    page.wait_for_selector("#cp-table tr.cp-row >> nth=0", timeout=180_000)
    rows = page.query_selector_all("#cp-table tr.cp-row")
    assert len(rows) >= 2
    page.wait_for_selector("#cp-chart .js-plotly-plot", timeout=180_000)
    lanes = page.inner_text("tr[data-cp='0'] .cp-lanes")
    face = int(lanes.split("/")[0])
    page.wait_for_function("document.querySelector('#cp-count').value !== ''")
    _set(page, "#cp-count", face + 3)
    page.click("#cp-apply")
    note = _wait_text(page, "#cp-msg", "→")
    assert f"{face} → {face + 3}" in note and "predicted wait" in note
    _wait_text(page, "tr[data-cp='0'] .cp-lanes", f"{face + 3}/")
    page.screenshot(path=str(artifacts / "ops-checkpoints-1080p.png"))
    _set(page, "#cp-count", 999)  # above the lane positions: refused, nothing changes
    page.click("#cp-apply")
    _wait_text(page, "#cp-msg", "Refused")
    assert page.inner_text("tr[data-cp='0'] .cp-lanes").startswith(f"{face + 3}/")
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]


def test_every_action_callback_is_for_operators_only(still):
    from callbacks.auth import _policy

    policy = _policy(still)
    ours = [
        k
        for k, cb in still.callback_map.items()
        if "callback" in cb
        and getattr(cb["callback"], "__wrapped__", None) is not None
        and cb["callback"].__wrapped__.__module__
        in {
            "callbacks.operator",
            "callbacks.signals",
            "callbacks.corridors",
            "callbacks.checkpoints",
        }
    ]
    assert len(ours) >= 14
    assert all(policy.get(k) == frozenset({"operator"}) for k in ours), [
        k for k in ours if k not in policy
    ]
