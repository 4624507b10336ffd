"""The map: the bridge's clientside adapters, selection by click, the detail panel."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.services import services
from layouts import ids
from layouts.panels import detail_panel


def register_callbacks(app) -> None:
    svc = services(app)

    def vt(name: str) -> ClientsideFunction:
        return ClientsideFunction(namespace="vt", function_name=name)

    app.clientside_callback(
        vt("init"),
        Output(ids.MAP_APPLIED, "data"),
        Input(ids.MAP_SPEC, "data"),
        State(ids.MAP, "id"),
        State(ids.MAP_CLICK, "id"),
    )
    app.clientside_callback(
        vt("update"),
        Output(ids.MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.MAP_UPDATE, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        vt("toggles"),
        Output(ids.MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.LAYERS, "value"),
        prevent_initial_call="initial_duplicate",
    )
    app.clientside_callback(
        vt("fly"),
        Output(ids.MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.MAP_FLY, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        vt("select"),
        Output(ids.MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.SELECTION, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        vt("kiosk"), Output(ids.ROOT, "className"), Input(ids.LOCATION, "search")
    )

    @app.callback(
        Output(ids.SELECTION, "data"),
        Input(ids.MAP_CLICK, "data"),
        Input(ids.DETAIL_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )
    def select(click, _close):
        if ctx.triggered_id == ids.DETAIL_CLOSE or not click:
            return None
        return {"kind": click["kind"], "id": click["id"], "name": click.get("name", "")}

    @app.callback(
        Output(ids.DETAIL_BODY, "children"),
        Output(ids.DETAIL, "hidden"),
        Input(ids.SELECTION, "data"),
        Input(ids.FRAME_SEQ, "data"),
        State(ids.DETAIL, "hidden"),
    )
    def detail(selection, _seq, hidden):
        if not selection:
            # a refresh answered after the close (it started while the panel was open) can show
            # the panel again: the next frame hides it once more
            if ctx.triggered_id == ids.FRAME_SEQ and hidden:
                raise PreventUpdate
            return [], True
        body = detail_panel(
            svc.scene, svc.store.latest(), selection, plans=svc.plans, sessions=svc.sessions
        )
        return body, not body
