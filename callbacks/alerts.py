"""The alert feed: a click flies the map to the alert, the button acknowledges it (operators
only, checked on the server; each acknowledgement is written to the audit log with the user)."""

from __future__ import annotations

import math

from dash import ALL, Input, Output, ctx
from dash.exceptions import PreventUpdate

from callbacks.auth import protect
from callbacks.services import services, who
from layouts import ids

OPERATOR_ROLES = ("operator",)
FLY_ZOOM = 16.0


def _clicked_id() -> int:
    if not ctx.triggered or not ctx.triggered[0]["value"] or not isinstance(ctx.triggered_id, dict):
        raise PreventUpdate  # a feed redraw, not a click
    return int(ctx.triggered_id["id"])


def register_callbacks(app) -> None:
    svc = services(app)

    @app.callback(Output(ids.MAP_FLY, "data"), Input({"type": ids.ALERT_ITEM, "id": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def fly_to_alert(_clicks):
        alert_id = _clicked_id()
        frame = svc.store.latest()
        alert = next((a for a in frame.alerts if a["id"] == alert_id), None) if frame else None
        if alert is None or not (math.isfinite(alert["lon"]) and math.isfinite(alert["lat"])):
            raise PreventUpdate
        return {"longitude": alert["lon"], "latitude": alert["lat"], "zoom": FLY_ZOOM, "id": alert_id}

    @app.callback(Output(ids.ACK_RESULT, "data"), Input({"type": ids.ALERT_ACK, "id": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def acknowledge(_clicks):
        alert_id = _clicked_id()
        frame = svc.store.latest()
        if svc.commands is None or frame is None:
            raise PreventUpdate
        alert = next((a for a in frame.alerts if a["id"] == alert_id), None)
        if alert is None:
            raise PreventUpdate
        result = svc.commands.acknowledge(alert_id, group=alert.get("count", 1) > 1, **who())
        return {"id": alert_id, "acknowledged": result.ok}

    protect(app, acknowledge, roles=OPERATOR_ROLES)
