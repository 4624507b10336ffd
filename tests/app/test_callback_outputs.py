"""A callback whose outputs depend on the data (pattern-matching ALL outputs) answers any
number of outputs a client sends without a 5xx (issue 19, point 6: Suggest with 1 or 3 phase
outputs for a 2-phase junction answered 500, 96 of 150 times)."""

from __future__ import annotations

import json

import pytest

from layouts import ids


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from app import create_app
    from tests.app.conftest import small_wall_config

    folder = tmp_path_factory.mktemp("outputs")
    return create_app(
        small_wall_config(start=False, audit_db=str(folder / "audit.sqlite"), bundled_day=False)
    )


def _suggest_key(app) -> str:
    [key] = [
        k
        for k, cb in app.callback_map.items()
        if "callback" in cb and cb["callback"].__wrapped__.__name__ == "suggest"
    ]
    return key


def _body(key: str, node, n_outputs: int, n_state: int) -> dict:
    green = lambda i: {"type": ids.SIG_GREEN, "phase": i}  # noqa: E731
    return {
        "output": key,
        "outputs": [
            [{"id": green(i), "property": "value"} for i in range(n_outputs)],
            {"id": ids.SIG_CYCLE, "property": "value"},
            {"id": ids.SIG_OFFSET, "property": "value"},
            {"id": ids.SIG_MSG, "property": "children"},
        ],
        "inputs": [{"id": ids.SIG_SUGGEST, "property": "n_clicks", "value": 1}],
        "state": [
            {"id": ids.SIG_NODE, "property": "value", "value": node},
            [{"id": green(i), "property": "value", "value": 30} for i in range(n_state)],
        ],
        "changedPropIds": [f"{ids.SIG_SUGGEST}.n_clicks"],
    }


def _phases(app, node) -> int:
    plans = app.server.extensions["venuetwin"].commands.query("api_state")["signal_plans"]
    [plan] = [p for p in plans if p["node_id"] == node]
    return len(plan["greens_s"])


@pytest.mark.parametrize("n_state", [0, 2, 4])
@pytest.mark.parametrize("n_outputs", [0, 1, 2, 3, 5])
def test_suggest_answers_any_number_of_phase_outputs(app, n_outputs, n_state):
    scenario = app.server.extensions["venuetwin"].scenario
    node = int(scenario.signals["node_id"].iloc[0])
    phases = _phases(app, node)
    response = app.server.test_client().post(
        "/_dash-update-component", json=_body(_suggest_key(app), node, n_outputs, n_state)
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    answer = json.loads(response.get_data(as_text=True))["response"]
    note = json.dumps(answer[ids.SIG_MSG]["children"])
    if n_outputs == phases:  # the editor shows this junction: the plan is filled in
        greens = [v["value"] for k, v in answer.items() if k.startswith("{")]
        assert len(greens) == phases and "Webster" in note
    else:  # nothing is filled in, and the operator is told why (both numbers named)
        assert all(not k.startswith("{") for k in answer)
        assert f"shows {n_outputs} phase(s)" in note and f"has {phases}" in note
