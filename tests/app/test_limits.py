"""``callbacks.limits.update_body_problem``: a ``/_dash-update-component`` body whose envelope
does not fit its callback gets a 400 with the reason, before Dash (which answers 500 to some
shapes, e.g. ``outputs: []`` for a single-output callback: found by the auth fuzz)."""

from __future__ import annotations

import dash
import pytest
from dash import ALL, Input, Output, html

from callbacks.limits import update_body_problem


@pytest.fixture(scope="module")
def callback_map():
    app = dash.Dash(__name__)
    app.layout = html.Div([html.Button(id="go"), html.Div(id="one"), html.Div(id="two")])

    @app.callback(Output("one", "children"), Input("go", "n_clicks"))
    def single(_n):
        return ""

    @app.callback(Output("two", "children"), Output("one", "title"), Input("go", "n_clicks"))
    def pair(_n):
        return "", ""

    @app.callback(Output({"type": "cell", "i": ALL}, "children"), Input("go", "n_clicks"))
    def cells(_n):
        return []

    return app.callback_map


GO = [{"id": "go", "property": "n_clicks", "value": 1}]
ONE = {"id": "one", "property": "children"}
TWO = {"id": "two", "property": "children"}
TITLE = {"id": "one", "property": "title"}
CELLS_KEY = '{"i":["ALL"],"type":"cell"}.children'


def body(output, outputs):
    return {"output": output, "outputs": outputs, "inputs": GO, "changedPropIds": ["go.n_clicks"]}


@pytest.mark.parametrize(
    ("output", "outputs"),
    [
        ("one.children", ONE),
        ("..two.children...one.title..", [TWO, TITLE]),
        (CELLS_KEY, [{"id": {"type": "cell", "i": 0}, "property": "children"}]),
        (CELLS_KEY, []),  # a wildcard output may match no component
    ],
)
def test_bodies_that_fit_their_callback_pass(callback_map, output, outputs):
    assert update_body_problem(body(output, outputs), callback_map) is None


@pytest.mark.parametrize(
    ("output", "outputs", "reason"),
    [
        ("one.children", [], "'outputs' items must be {id, property} objects"),
        ("one.children", [ONE], "'outputs' items must be {id, property} objects"),
        ("..two.children...one.title..", [TWO], "'outputs' must be 2 {id, property} item(s)"),
        ("..two.children...one.title..", TWO, "'outputs' must be 2 {id, property} item(s)"),
        (CELLS_KEY, ONE, "'outputs' items must be {id, property} objects"),
    ],
)
def test_bodies_that_do_not_fit_are_named(callback_map, output, outputs, reason):
    assert update_body_problem(body(output, outputs), callback_map).startswith(reason)
