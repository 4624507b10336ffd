"""Operator actions: signal timing, ambulance green corridors, checkpoint lanes.

Thin: read inputs, call the twin (reads in the loop thread through the command path, what-if
forecasts on a fork outside it), hand plain data to the layouts. Every state change goes through
:class:`twin.commands.CommandPath` (checked, durably audited, then applied) and every callback
here is protected for the ``operator`` role.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate

from callbacks.services import services, who
from layouts import ids
from layouts.checkpoint_panel import (
    checkpoint_figure,
    checkpoint_options,
    checkpoint_pane,
    checkpoint_table,
)
from layouts.corridor_panel import (
    NEAREST,
    corridor_list,
    corridor_pane,
    hospital_options,
    plan_summary,
    space_time_view,
)
from layouts.deck import preview_message
from layouts.preview import preview_state
from layouts.signal_panel import (
    approach_table,
    junction_options,
    message,
    phase_bar,
    plan_editor,
    preview_body,
    signal_pane,
)
from twin import corridor, pedestrians, whatif
from twin.actions import action_from_dict
from twin.errors import ActionError
from twin.live import view_extra

PANES = {"alerts": ids.ALERTS_PANE, "signals": ids.SIG_PANE, "corridor": ids.COR_PANE, "checkpoints": ids.CP_PANE}
TARGET_WAIT_S = pedestrians.WAIT_TARGET_S
OPERATOR = "operator"


def panes(svc: Any) -> list[Any]:
    """The three action panels for the page (static options read once from the twin)."""
    if svc.commands is None:
        return []
    hospitals, rows = svc.commands.query("hospitals"), svc.commands.query("checkpoint_rows")
    return [signal_pane(junction_options(svc.scene.signals)), corridor_pane(hospital_options(hospitals)),
            checkpoint_pane(checkpoint_options(rows))]


def _note(result: Any, ok_text: str) -> Any:
    if not result.ok:
        return message(f"Refused: {result.reason}", "refused")
    if result.warning:
        return message(f"{ok_text} — warning: {result.warning}", "warn")
    return message(ok_text, "ok")


def _signal_action(node: Any, greens: list[Any], cycle: Any, offset: Any) -> dict[str, Any]:
    """The browser's values as an action dict, unchecked (the command path checks)."""
    return {"kind": "set_signal_plan", "node_id": node, "cycle_s": cycle, "greens_s": list(greens or []),
            "offset_s": offset}


def register_callbacks(app: Any) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    cmd = svc.commands
    protected = []

    def guarded(*args, **kwargs):
        def wrap(fn):
            registered = app.callback(*args, **kwargs)(fn)
            protected.append(fn)
            return registered
        return wrap

    n_links = len(svc.scene.links)
    junction_names = {s["i"]: s["n"] for s in svc.scene.signals}
    app.clientside_callback(ClientsideFunction(namespace="vt", function_name="update"),
                            Output(ids.MAP_APPLIED, "data", allow_duplicate=True), Input(ids.MAP_PREVIEW, "data"),
                            prevent_initial_call=True)

    @guarded([Output(pane, "hidden") for pane in PANES.values()] + [
        Output(ids.SIDE, "className"), Output(ids.PREVIEW_STATE, "data", allow_duplicate=True)],
        Input(ids.OPS_TAB, "value"), prevent_initial_call="initial_duplicate")
    def show_tab(tab):
        tab = tab if tab in PANES else "alerts"
        end_preview = None if ctx.triggered_id else no_update  # another tab ends a preview
        return [key != tab for key in PANES] + ["side" if tab == "alerts" else "side side-wide", end_preview]

    @guarded(Output(ids.SIG_NODE, "value"), Output(ids.COR_LAT, "value"), Output(ids.COR_LON, "value"),
             Output(ids.CP_SELECT, "value"), Input(ids.MAP_CLICK, "data"), State(ids.OPS_TAB, "value"),
             prevent_initial_call=True)
    def map_pick(click, tab):
        if not click:
            raise PreventUpdate
        out = [no_update] * 4
        if tab == "signals" and click.get("kind") == "junction":
            out[0] = int(click["id"])
        elif tab == "corridor" and click.get("coordinate"):
            out[1], out[2] = round(click["coordinate"][1], 6), round(click["coordinate"][0], 6)
        elif tab == "checkpoints" and click.get("kind") == "checkpoint":
            out[3] = int(click["id"])
        return out

    # ---------------------------------------------------------------- signals
    @guarded(Output(ids.SIG_PLAN, "children"), Output(ids.SIG_APPROACHES, "children"),
             Input(ids.SIG_NODE, "value"), Input(ids.OPS_TICK, "n_intervals"), Input(ids.OPS_TAB, "value"))
    def junction_live(node, _tick, tab):
        if node is None or tab != "signals":
            raise PreventUpdate  # hidden panels cost nothing
        data = cmd.query("junction_detail", node)
        frame = svc.store.latest()
        view = frame.view
        rows = [{"name": svc.scene.links[k]["n"] or f"road {k}", "queue_m": float(view.links["queue_m"][k]),
                 "delay_rate_veh": float(view.links["delay_rate_veh"][k]), "los": int(view.links["los"][k])}
                for k in data["approaches"]]
        phase = int(view.junctions["phase"][int(node)])
        return phase_bar(data["plan"], phase_now=phase), approach_table(rows)

    @guarded(Output(ids.SIG_EDITOR, "children"), Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
             Output(ids.SIG_OFFSET, "value", allow_duplicate=True), Output(ids.SIG_SEEN, "data"),
             Output(ids.SIG_RESULT, "children"), Output(ids.SIG_MSG, "children"),
             Output(ids.PREVIEW_STATE, "data", allow_duplicate=True), Input(ids.SIG_NODE, "value"),
             prevent_initial_call="initial_duplicate")
    def junction_editor(node):
        if node is None:
            return [], None, None, None, [], "", None
        plan = cmd.query("signal_plan", node)  # another junction ends a preview
        return plan_editor(plan), plan["cycle_s"], plan["offset_s"], plan, [], "", None

    @guarded(Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
             Input({"type": ids.SIG_GREEN, "phase": ALL}, "value"), State(ids.SIG_SEEN, "data"),
             prevent_initial_call=True)
    def cycle_follows_greens(greens, seen):
        """The operator edits greens; the cycle is their sum plus the intergreens (no arithmetic)."""
        if not ctx.triggered_id or not isinstance(seen, dict) or not greens \
                or not all(isinstance(g, (int, float)) and not isinstance(g, bool) for g in greens):
            raise PreventUpdate
        intergreen = seen.get("intergreen_s")
        if not isinstance(intergreen, (int, float)) or len(greens) != len(seen.get("greens_s", ())):
            raise PreventUpdate
        return round(sum(greens) + len(greens) * intergreen, 1)

    @guarded(Output({"type": ids.SIG_GREEN, "phase": ALL}, "value"), Output(ids.SIG_CYCLE, "value"),
             Output(ids.SIG_OFFSET, "value"), Output(ids.SIG_MSG, "children", allow_duplicate=True),
             Input(ids.SIG_SUGGEST, "n_clicks"), State(ids.SIG_NODE, "value"),
             State({"type": ids.SIG_GREEN, "phase": ALL}, "value"), prevent_initial_call=True)
    def suggest(_clicks, node, greens):
        if node is None:
            return [no_update] * len(greens), no_update, no_update, message("Refused: select a junction first", "refused")
        try:
            plan = cmd.query("suggested_plan", node)
        except ActionError as error:
            return [no_update] * len(greens), no_update, no_update, message(f"Refused: {error}", "refused")
        return (plan["greens_s"], plan["cycle_s"], plan["offset_s"],
                message("Webster's plan filled in: Preview to see its effect, Apply to make it live", "ok"))

    @guarded(Output(ids.SIG_RESULT, "children", allow_duplicate=True),
             Output(ids.SIG_MSG, "children", allow_duplicate=True), Output(ids.MAP_PREVIEW, "data", allow_duplicate=True),
             Output(ids.PREVIEW_STATE, "data", allow_duplicate=True), Output(ids.SIG_PREVIEWED, "data"),
             Input(ids.SIG_PREVIEW, "n_clicks"), State(ids.SIG_NODE, "value"),
             State({"type": ids.SIG_GREEN, "phase": ALL}, "value"), State(ids.SIG_CYCLE, "value"),
             State(ids.SIG_OFFSET, "value"), prevent_initial_call=True)
    def preview(_clicks, node, greens, cycle, offset):
        try:
            action = action_from_dict(_signal_action(node, greens, cycle, offset))
            fork = cmd.query("forecast_copy")  # taken in the loop thread; forecast outside it
            result = whatif.what_if(fork, [action])
        except ActionError as error:
            return [], message(f"Refused: {error}", "refused"), no_update, None, None
        delta = np.mean([mark["links"]["delay_rate_veh"] for mark in result["marks"].values()], axis=0)
        added_vehh = float(result["marks"][max(result["marks"])]["totals"]["difference"]["delay_vehh"])
        name = junction_names.get(action.node_id, f"junction {action.node_id}")
        banner = preview_state(f"Preview: {name}, cycle {action.cycle_s:g} s · nothing applied")
        return (preview_body(result), message("Preview: nothing applied yet", "ok"),
                preview_message(delta_veh=delta), banner, {"action": _signal_action(node, greens, cycle, offset),
                                                          "added_delay_vehh": added_vehh})

    @guarded(Output(ids.SIG_MSG, "children", allow_duplicate=True), Output(ids.SIG_SEEN, "data", allow_duplicate=True),
             Output(ids.SIG_PREVIOUS, "data"), Output(ids.SIG_PLAN, "children", allow_duplicate=True),
             Output(ids.SIG_CONFIRM, "displayed"), Output(ids.SIG_CONFIRM, "message"),
             Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
             Output(ids.SIG_RESULT, "children", allow_duplicate=True),
             Input(ids.SIG_APPLY, "n_clicks"), Input(ids.SIG_CONFIRM, "submit_n_clicks"), State(ids.SIG_NODE, "value"),
             State({"type": ids.SIG_GREEN, "phase": ALL}, "value"), State(ids.SIG_CYCLE, "value"),
             State(ids.SIG_OFFSET, "value"), State(ids.SIG_SEEN, "data"), State(ids.SIG_PREVIEWED, "data"),
             prevent_initial_call=True)
    def apply_plan(_clicks, _confirmed, node, greens, cycle, offset, seen, previewed):
        action = _signal_action(node, greens, cycle, offset)
        worse = isinstance(previewed, dict) and previewed.get("action") == action \
            and isinstance(previewed.get("added_delay_vehh"), (int, float)) and previewed["added_delay_vehh"] > 0.05
        if worse and ctx.triggered_id == ids.SIG_APPLY:  # the preview showed it worse: ask first
            question = (f"The preview predicted {previewed['added_delay_vehh']:.1f} veh·h more delay in the next hour "
                        "with this plan. Apply it anyway?")
            return no_update, no_update, no_update, no_update, True, question, no_update, no_update
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), no_update, no_update, no_update, False, "", no_update, no_update
        previous = result.before if result.before != result.after else no_update
        full = cmd.query("signal_plan", node)
        return (_note(result, f"Applied to {result.target}: cycle {result.after['cycle_s']:.0f} s (audit #{result.audit_id})"),
                result.after, previous, phase_bar(full), False, "", None, [])  # Apply ends the preview

    @guarded(Output(ids.SIG_MSG, "children", allow_duplicate=True), Output(ids.SIG_SEEN, "data", allow_duplicate=True),
             Output(ids.SIG_PREVIOUS, "data", allow_duplicate=True), Output(ids.SIG_EDITOR, "children", allow_duplicate=True),
             Output(ids.SIG_CYCLE, "value", allow_duplicate=True), Output(ids.SIG_OFFSET, "value", allow_duplicate=True),
             Output(ids.SIG_PLAN, "children", allow_duplicate=True),
             Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
             Output(ids.SIG_RESULT, "children", allow_duplicate=True),
             Input(ids.SIG_REVERT, "n_clicks"), State(ids.SIG_NODE, "value"), State(ids.SIG_PREVIOUS, "data"),
             State(ids.SIG_SEEN, "data"), prevent_initial_call=True)
    def revert(_clicks, node, previous, seen):
        if not previous or node is None or previous.get("node_id") != node:
            return message("Refused: nothing to revert for this junction on this screen", "refused"), *([no_update] * 8)
        action = _signal_action(node, previous["greens_s"], previous["cycle_s"], previous["offset_s"])
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), *([no_update] * 8)
        full = cmd.query("signal_plan", node)
        return (_note(result, f"Reverted {result.target} to cycle {result.after['cycle_s']:.0f} s (audit #{result.audit_id})"),
                result.after, result.before, plan_editor(full), full["cycle_s"], full["offset_s"], phase_bar(full),
                None, [])  # Revert ends the preview

    # ---------------------------------------------------------------- corridors
    @guarded(Output(ids.COR_PLAN, "children"), Output(ids.COR_DRAFT, "data"), Output(ids.COR_MSG, "children"),
             Output(ids.MAP_PREVIEW, "data", allow_duplicate=True), Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
             Input(ids.COR_PREVIEW, "n_clicks"), State(ids.COR_LAT, "value"), State(ids.COR_LON, "value"),
             State(ids.COR_HOSPITAL, "value"), prevent_initial_call=True)
    def corridor_preview(_clicks, lat, lon, hospital):
        hospital_id = None if hospital in (None, NEAREST) else hospital
        corridor_id = f"AMB-{uuid.uuid4().hex[:4].upper()}"
        try:
            if not all(isinstance(v, (int, float)) for v in (lat, lon)):
                raise ActionError(f"lat and lon must be numbers, got {lat!r}, {lon!r}")
            fork = cmd.query("forecast_copy")
            plan = corridor.plan_corridor(fork, corridor_id=corridor_id, lat=lat, lon=lon, hospital_id=hospital_id)
            result = corridor.evaluate(fork, plan)
            names = {s["i"]: s["n"] for s in svc.scene.signals}
            hospitals = corridor.hospitals(fork)
        except ActionError as error:
            return [], None, message(f"Refused: {error}", "refused"), no_update, None
        summary = {**result, "now_s": fork.time_s, "distance_m": plan.distance_m, "links": len(plan.route),
                   "hospital_name": hospitals[plan.hospital_id]["name"]}
        draft = {"corridor_id": corridor_id, "lat": lat, "lon": lon, "hospital_id": plan.hospital_id,
                 "eta_without_s": round(float(result["eta_without_s"]), 1)}
        banner = preview_state(f"Preview: route of {corridor_id} to {summary['hospital_name']} — nothing dispatched")
        return (plan_summary(summary, names), draft, message(f"Preview of {corridor_id}: nothing dispatched yet", "ok"),
                preview_message(n_links=n_links, route=plan.path_lonlat), banner)

    @guarded(Output(ids.COR_MSG, "children", allow_duplicate=True), Output(ids.COR_DETAIL, "value"),
             Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
             Input(ids.COR_DISPATCH, "n_clicks"), State(ids.COR_DRAFT, "data"), prevent_initial_call=True)
    def dispatch(_clicks, draft):
        if not isinstance(draft, dict) or not draft:
            return message("Refused: preview a corridor first", "refused"), no_update, no_update
        action = {"kind": "dispatch_corridor", **{k: draft.get(k) for k in
                                                  ("corridor_id", "lat", "lon", "hospital_id", "eta_without_s")}}
        result = cmd.submit(action, **who())
        if not result.ok and "already exists" in result.reason:
            return message(f"{draft['corridor_id']} is already dispatched (repeated click ignored)", "warn"), \
                no_update, no_update
        if not result.ok:
            return _note(result, ""), no_update, no_update
        return (_note(result, f"Dispatched {draft['corridor_id']} (audit #{result.audit_id})"), draft["corridor_id"],
                None)  # dispatch ends the preview: the live corridor layer takes over

    @guarded(Output(ids.COR_MSG, "children", allow_duplicate=True),
             Input({"type": ids.COR_CANCEL, "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def cancel(clicks):
        if not ctx.triggered_id or not any(clicks or ()) or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        corridor_id = ctx.triggered_id["id"]
        result = cmd.submit({"kind": "cancel_corridor", "corridor_id": corridor_id}, **who())
        return _note(result, f"Cancelled {corridor_id}: signals return to their plans (audit #{result.audit_id})")

    @guarded(Output(ids.COR_LIST, "children"), Output(ids.COR_DETAIL, "options"), Output(ids.COR_SPACETIME, "children"),
             Input(ids.OPS_TICK, "n_intervals"), Input(ids.COR_DETAIL, "value"), Input(ids.OPS_TAB, "value"))
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
        return (corridor_list(ambulances, frame.view.time_s), options,
                space_time_view(chosen, svc.scene.link_length_m, frame.view.time_s))

    # ---------------------------------------------------------------- checkpoints
    def _cp_view(index: int) -> tuple[Any, Any, dict[str, Any]]:
        data = cmd.query("checkpoint_detail", index)
        row = data["rows"][index]
        figure = checkpoint_figure(row["name"], data["history"], index, data["predicted"], data["now_s"],
                                   TARGET_WAIT_S)
        return (checkpoint_table(data["rows"], target_wait_s=TARGET_WAIT_S),
                dcc.Graph(figure=figure, config={"displayModeBar": False}), row)

    @guarded(Output(ids.CP_TABLE, "children"), Output(ids.CP_CHART, "children"),
             Input(ids.OPS_TICK, "n_intervals"), Input(ids.CP_SELECT, "value"), Input(ids.OPS_TAB, "value"))
    def checkpoints_live(_tick, index, tab):
        if index is None or tab != "checkpoints":
            raise PreventUpdate
        table, chart, _row = _cp_view(int(index))
        return table, chart

    @guarded(Output(ids.CP_COUNT, "value"), Output(ids.CP_SEEN, "data"),
             Input(ids.CP_SELECT, "value"), Input(ids.CP_LANE_TYPE, "value"))
    def lanes_seen(index, lane_type):
        if index is None:
            raise PreventUpdate
        try:
            lanes = cmd.query("lanes", index, lane_type)
        except ActionError:
            raise PreventUpdate from None
        return lanes, lanes

    @guarded(Output(ids.CP_MSG, "children"), Output(ids.CP_SEEN, "data", allow_duplicate=True),
             Output(ids.CP_TABLE, "children", allow_duplicate=True), Output(ids.CP_CHART, "children", allow_duplicate=True),
             Input(ids.CP_APPLY, "n_clicks"), State(ids.CP_SELECT, "value"), State(ids.CP_LANE_TYPE, "value"),
             State(ids.CP_COUNT, "value"), State(ids.CP_SEEN, "data"), prevent_initial_call=True)
    def set_lanes(_clicks, index, lane_type, count, seen):
        action = {"kind": "set_lanes", "checkpoint_id": index, "lane_type": lane_type, "count": count}
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), no_update, no_update, no_update
        table, chart, row = _cp_view(int(index))
        text = (f"{result.target}: {result.before} → {result.after}; predicted wait +15 min "
                f"{row['wait_15_s'] / 60:.0f} min, +30 min {row['wait_30_s'] / 60:.0f} min (audit #{result.audit_id})")
        return _note(result, text), result.after, table, chart

    from callbacks.auth import protect

    for fn in protected:
        protect(app, fn, roles=OPERATOR)


def command_path(live: Any, config: dict[str, Any], *, default_db: Any) -> Any:
    """The app's :class:`CommandPath` (None for a read-only web worker). Its audit log is the
    sign-in database when sign-in is on (one log for the admin page), else ``audit_db`` or
    ``default_db``."""
    if live is None:
        return None
    from twin.audit import AuditLog
    from twin.commands import CommandPath

    return CommandPath(live, AuditLog(config.get("auth_db") or config.get("audit_db") or default_db))
