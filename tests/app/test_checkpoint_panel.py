"""The checkpoint panel in a real browser: the lane preview (predicted waits at +15 and +30 min
with the typed count against now), Set lanes through the command path, the recommendation's
button, and bad counts that change nothing (issue 13.9).

Truths: the waits a preview shows are the ones the table shows once the change is applied (the
clock is paused for these tests, so the twin does not move between the two); an applied change
is one audit row and one recorded input; a refused count adds neither.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.app.conftest import open_page, serve, wall_config
from tests.waiting import wait_for
from twin.service.audit import AuditFilter
from twin.service.recorder import Recording


@pytest.fixture(scope="module")
def cp_app(tmp_path_factory):
    """A live control room with a recording, its clock paused (nothing moves but actions)."""
    from app import create_app

    base = tmp_path_factory.mktemp("cp")
    app = create_app(
        wall_config(
            normal_day=False,
            audit_db=str(base / "audit.sqlite"),
            recordings=str(base / "recordings"),
            start_s=19 * 3600,
            forecast_period_s=0,
        )
    )
    served = serve(app)
    served.app.server.extensions["venuetwin"].live.apply_clock(paused=True, by="test")
    yield served
    served.stop()


def _svc(served):
    return served.app.server.extensions["venuetwin"]


def _lanes(served) -> list[dict]:
    return _svc(served).commands.query("checkpoint_lanes")


def _audit_rows(served) -> int:
    return len(_svc(served).commands.audit.query(AuditFilter(limit=10000)))


def _recorded_inputs(served) -> int:
    recorder = _svc(served).live.recorder
    recorder.flush()
    with Recording.open(recorder.path) as recording:
        return len(recording.inputs())


def _text(page, selector: str) -> str:
    element = page.query_selector(selector)
    return element.inner_text() if element is not None else ""


def _wait_text(page, selector: str, text: str, timeout_s: float = 120.0) -> str:
    assert wait_for(lambda: text in _text(page, selector), timeout_s=timeout_s), (
        f"{selector!r} never showed {text!r}; shows {_text(page, selector)!r}"
    )
    return _text(page, selector)


def _open_checkpoints(browser, served, index: int, **size):
    """The operator wall on the Checkpoints tab with checkpoint ``index`` chosen (by its link)."""
    page, log = open_page(browser, served.url + f"/?tab=checkpoints&checkpoint={index}", **size)
    page.wait_for_selector(f"#cp-table tr[data-cp='{index}']", timeout=180_000)
    page.wait_for_function(
        "document.querySelector('#cp-count').value !== ''", timeout=180_000
    )  # the lanes open now fill the control
    return page, log


def _type_count(page, value) -> None:
    page.fill("#cp-count", "")
    page.type("#cp-count", str(value))
    page.press("#cp-count", "Tab")


def _minutes(wait_s: float) -> str:
    return f"{wait_s / 60:.0f}m"


def _table_waits(page, index: int) -> tuple[str, str]:
    return (
        _text(page, f"tr[data-cp='{index}'] .cp-wait15"),
        _text(page, f"tr[data-cp='{index}'] .cp-wait30"),
    )


def test_lane_preview_then_apply_changes_lanes_audit_and_recording(cp_app, browser, artifacts):
    index = 5
    face = _lanes(cp_app)[index]["lanes_face"]
    page, log = _open_checkpoints(browser, cp_app, index)
    _type_count(page, face + 4)
    shown = _wait_text(page, "#cp-preview", f"With {face + 4} face e-gates")
    expected = _svc(cp_app).commands.query("lane_preview", index, "face", face + 4)
    new_row = page.inner_text("#cp-preview tr.cp-pv-new")
    now_row = page.inner_text("#cp-preview tr.cp-pv-now")
    for waits, row in ((expected["candidate"], new_row), (expected["now"], now_row)):
        assert _minutes(waits["wait_15_s"]) in row and _minutes(waits["wait_30_s"]) in row
    assert "nothing changed yet" in shown
    assert _lanes(cp_app)[index]["lanes_face"] == face  # a preview changes nothing
    page.screenshot(path=str(artifacts / "cp-preview-1080p.png"))
    audit, recorded = _audit_rows(cp_app), _recorded_inputs(cp_app)
    page.click("#cp-apply")
    note = _wait_text(page, "#cp-msg", "→")
    assert f"{face} → {face + 4}" in note and "audit #" in note
    _wait_text(page, f"tr[data-cp='{index}'] .cp-lanes", f"{face + 4}/")
    assert _lanes(cp_app)[index]["lanes_face"] == face + 4
    assert _audit_rows(cp_app) == audit + 1
    assert wait_for(lambda: _recorded_inputs(cp_app) == recorded + 1, 10)
    # what the preview promised is what the table shows now (the clock is paused)
    assert wait_for(
        lambda: (
            _table_waits(page, index)
            == (
                _minutes(expected["candidate"]["wait_15_s"]),
                _minutes(expected["candidate"]["wait_30_s"]),
            )
        ),
        timeout_s=20,
    ), _table_waits(page, index)
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]


BAD_COUNTS = (
    ("-1", "count: must be a whole number >= 0, got -1"),
    ("999", "count: 999 face lanes exceed"),
    ("abc", "the box is empty or holds no number"),  # a number box takes no letters
)


def test_bad_counts_are_refused_and_change_nothing(cp_app, browser):
    index = 0
    page, log = _open_checkpoints(browser, cp_app, index)
    for typed, words in BAD_COUNTS:
        lanes, audit, recorded = _lanes(cp_app), _audit_rows(cp_app), _recorded_inputs(cp_app)
        _type_count(page, typed)
        _wait_text(page, "#cp-preview", words)
        assert "Cannot preview" in _text(page, "#cp-preview")
        page.click("#cp-apply")
        note = _wait_text(page, "#cp-msg", words)
        assert note.startswith("Refused")
        assert _lanes(cp_app) == lanes
        assert _audit_rows(cp_app) == audit
        assert _recorded_inputs(cp_app) == recorded
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]


def test_abc_sent_to_the_server_is_refused_by_name(cp_app):
    """What a browser cannot type into a number box, a script can send: it is named back."""
    app = cp_app.app
    [key] = [
        k for k, cb in app.callback_map.items() if any(i["id"] == "cp-apply" for i in cb["inputs"])
    ]
    callback = app.callback_map[key]
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in key[2:-2].split("...")
    ]
    values = {"cp-apply.n_clicks": 1, "cp-select.value": 0, "cp-lane-type.value": "face"}
    values["cp-count.value"] = "abc"
    body = {
        "output": key,
        "outputs": outputs,
        "inputs": [
            {**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in callback["inputs"]
        ],
        "state": [
            {**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in callback["state"]
        ],
        "changedPropIds": ["cp-apply.n_clicks"],
    }
    lanes, audit, recorded = _lanes(cp_app), _audit_rows(cp_app), _recorded_inputs(cp_app)
    response = app.server.test_client().post("/_dash-update-component", json=body)
    text = json.dumps(response.get_json(), ensure_ascii=False)
    assert response.status_code == 200
    assert "Refused" in text and "count: must be a whole number >= 0, got 'abc'" in text
    assert (_lanes(cp_app), _audit_rows(cp_app), _recorded_inputs(cp_app)) == (
        lanes,
        audit,
        recorded,
    )


def _checkpoint_with_advice(served) -> tuple[int, dict]:
    cmd = _svc(served).commands
    for row in cmd.query("checkpoint_rows"):
        step = cmd.query("checkpoint_detail", row["checkpoint_id"])["next_step"]
        if step is not None:
            return row["checkpoint_id"], step
    pytest.fail("no checkpoint has a recommended lane change at 19:00")


def test_recommendation_apply_fills_previews_and_applies(cp_app, browser, artifacts):
    index, step = _checkpoint_with_advice(cp_app)
    page, log = _open_checkpoints(browser, cp_app, index)
    kind = "face" if step["lane_type"] == "face" else "manual"
    change = step["count"] - step["count_now"]
    verb = f"open {change} more {kind}" if change > 0 else f"close {-change} {kind}"
    _wait_text(page, "#cp-rec", verb)
    page.click("#cp-rec-apply")
    assert wait_for(lambda: page.input_value("#cp-count") == str(step["count"]), timeout_s=20), (
        page.input_value("#cp-count")
    )
    label = "face e-gates" if kind == "face" else "manual lanes"
    _wait_text(page, "#cp-preview", f"With {step['count']} {label}")
    assert page.is_checked(f"#cp-lane-type input[value='{step['lane_type']}']")
    page.screenshot(path=str(artifacts / "cp-recommendation-1080p.png"))
    audit = _audit_rows(cp_app)
    page.click("#cp-apply")
    _wait_text(page, "#cp-msg", f"{step['count_now']} → {step['count']}")
    assert _lanes(cp_app)[index][f"lanes_{step['lane_type']}"] == step["count"]
    assert _audit_rows(cp_app) == audit + 1
    entry = _svc(cp_app).commands.audit.query(AuditFilter(limit=1))[0]
    assert entry.action == "twin.set_lanes" and entry.result == "ok"
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_checkpoint_panel_screenshots(cp_app, browser, artifacts, width, height):
    index = 5
    face = _lanes(cp_app)[index]["lanes_face"]
    page, log = _open_checkpoints(browser, cp_app, index, width=width, height=height)
    _type_count(page, face + 2)
    _wait_text(page, "#cp-preview", f"With {face + 2}")
    page.wait_for_selector("#cp-chart .js-plotly-plot", timeout=180_000)
    tag = "1080p" if width == 1920 else "4k"
    page.screenshot(path=str(artifacts / f"cp-panel-{tag}.png"))
    box = page.locator("#cp-preview").bounding_box()
    assert (
        box is not None
        and box["width"] > 0
        and re.search(r"\+30 min", page.inner_text("#cp-preview"))
    )
    page.context.close()
    assert not [e for e in log.errors if "favicon" not in e]
