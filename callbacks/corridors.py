"""Ambulance green corridors: preview a route and its pre-emption plan with both ETAs, dispatch,
follow (list and space-time view), cancel. Operators only."""

from __future__ import annotations

import uuid
from typing import Any

from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.operator import note as _note
from callbacks.operator import operator_callback
from callbacks.services import services, who
from layouts import ids
from layouts.corridor_panel import NEAREST, corridor_list, plan_summary, space_time_view
from layouts.deck import preview_message
from layouts.preview import preview_state
from layouts.signal_panel import message
from twin.errors import ActionError
from twin.service import queries
from twin.service.live import view_extra

ALREADY_DISPATCHED = "corridor_exists"
"""The refusal code of a dispatch whose corridor id exists (a repeated click)."""


def register_callbacks(app: Any) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    cmd = svc.commands
    guarded = operator_callback(app)
    n_links = len(svc.scene.links)
    junction_names = {s["i"]: s["n"] for s in svc.scene.signals}

    @guarded(
        Output(ids.COR_PLAN, "children"),
        Output(ids.COR_DRAFT, "data"),
        Output(ids.COR_MSG, "children"),
        Output(ids.MAP_PREVIEW, "data", allow_duplicate=True),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Input(ids.COR_PREVIEW, "n_clicks"),
        State(ids.COR_LAT, "value"),
        State(ids.COR_LON, "value"),
        State(ids.COR_HOSPITAL, "value"),
        prevent_initial_call=True,
    )
    def corridor_preview(_clicks, lat, lon, hospital):
        hospital_id = None if hospital in (None, NEAREST) else hospital
        corridor_id = f"AMB-{uuid.uuid4().hex[:4].upper()}"
        try:
            copy = cmd.query("forecast_copy")  # taken in the loop thread; run outside it
            preview = queries.corridor_preview(copy, corridor_id, lat, lon, hospital_id)
        except ActionError as error:
            return [], None, message(f"Refused: {error}", "refused"), no_update, None
        draft = {
            "corridor_id": corridor_id,
            "lat": lat,
            "lon": lon,
            "hospital_id": preview["hospital_id"],
            "eta_without_s": round(float(preview["eta_without_s"]), 1),
        }
        banner = preview_state(
            f"Preview: route of {corridor_id} to {preview['hospital_name']} — nothing dispatched"
        )
        return (
            plan_summary(preview, junction_names),
            draft,
            message(f"Preview of {corridor_id}: nothing dispatched yet", "ok"),
            preview_message(n_links=n_links, route=preview["path_lonlat"]),
            banner,
        )

    @guarded(
        Output(ids.COR_MSG, "children", allow_duplicate=True),
        Output(ids.COR_DETAIL, "value"),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Input(ids.COR_DISPATCH, "n_clicks"),
        State(ids.COR_DRAFT, "data"),
        prevent_initial_call=True,
    )
    def dispatch(_clicks, draft):
        if not isinstance(draft, dict) or not draft:
            return message("Refused: preview a corridor first", "refused"), no_update, no_update
        action = {
            "kind": "dispatch_corridor",
            **{
                k: draft.get(k)
                for k in ("corridor_id", "lat", "lon", "hospital_id", "eta_without_s")
            },
        }
        result = cmd.submit(action, **who())
        if result.code == ALREADY_DISPATCHED:
            repeat = f"{draft['corridor_id']} is already dispatched (repeated click ignored)"
            return message(repeat, "warn"), no_update, no_update
        if not result.ok:
            return _note(result, ""), no_update, no_update
        return (
            _note(result, f"Dispatched {draft['corridor_id']} (audit #{result.audit_id})"),
            draft["corridor_id"],
            None,
        )  # dispatch ends the preview: the live corridor layer takes over

    @guarded(
        Output(ids.COR_MSG, "children", allow_duplicate=True),
        Input({"type": ids.COR_CANCEL, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def cancel(clicks):
        if not ctx.triggered_id or not any(clicks or ()) or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        corridor_id = ctx.triggered_id["id"]
        result = cmd.submit({"kind": "cancel_corridor", "corridor_id": corridor_id}, **who())
        return _note(
            result,
            f"Cancelled {corridor_id}: signals return to their plans (audit #{result.audit_id})",
        )

    @guarded(
        Output(ids.COR_LIST, "children"),
        Output(ids.COR_DETAIL, "options"),
        Output(ids.COR_SPACETIME, "children"),
        Input(ids.OPS_TICK, "n_intervals"),
        Input(ids.COR_DETAIL, "value"),
        Input(ids.OPS_TAB, "value"),
    )
    def corridors_live(_tick, detail, tab):
        if tab != "corridor":
            raise PreventUpdate
        frame = svc.store.latest()
        if frame is None:
            raise PreventUpdate
        ambulances = list(view_extra(frame.view, "ambulances") or ())
        options = [{"label": a["corridor_id"], "value": a["corridor_id"]} for a in ambulances]
        newest = max(ambulances, key=lambda a: a["dispatched_s"], default=None)
        chosen = next((a for a in ambulances if a["corridor_id"] == detail), newest)
        return (
            corridor_list(ambulances, frame.view.time_s),
            options,
            space_time_view(chosen, svc.scene.link_length_m, frame.view.time_s),
        )
