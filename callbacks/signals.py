"""Signal timing: a junction's live plan and approaches, the editor, Webster's suggestion,
preview (a what-if forecast on a copy), apply (with a confirmation when the preview was worse)
and revert. Operators only (:func:`callbacks.operator.operator_callback`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.operator import note as _note
from callbacks.operator import operator_callback
from callbacks.services import services, who
from layouts import ids
from layouts.deck import preview_message
from layouts.preview import preview_state
from layouts.signal_panel import (
    approach_table,
    message,
    phase_bar,
    plan_editor,
    preview_body,
)
from twin.actions import action_from_dict
from twin.errors import ActionError
from twin.service import whatif


def _signal_action(node: Any, greens: list[Any], cycle: Any, offset: Any) -> dict[str, Any]:
    """The browser's values as an action dict, unchecked (the command path checks)."""
    return {
        "kind": "set_signal_plan",
        "node_id": node,
        "cycle_s": cycle,
        "greens_s": list(greens or []),
        "offset_s": offset,
    }


def register_callbacks(app: Any) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    cmd = svc.commands
    guarded = operator_callback(app)
    junction_names = {s["i"]: s["n"] for s in svc.scene.signals}

    @guarded(
        Output(ids.SIG_PLAN, "children"),
        Output(ids.SIG_APPROACHES, "children"),
        Input(ids.SIG_NODE, "value"),
        Input(ids.OPS_TICK, "n_intervals"),
        Input(ids.OPS_TAB, "value"),
    )
    def junction_live(node, _tick, tab):
        if node is None or tab != "signals":
            raise PreventUpdate  # hidden panels cost nothing
        data = cmd.query("junction_detail", node)
        frame = svc.store.latest()
        view = frame.view
        rows = [
            {
                "name": svc.scene.links[k]["n"] or f"road {k}",
                "queue_m": float(view.links["queue_m"][k]),
                "delay_rate_veh": float(view.links["delay_rate_veh"][k]),
                "los": int(view.links["los"][k]),
            }
            for k in data["approaches"]
        ]
        phase = int(view.junctions["phase"][int(node)])
        return phase_bar(data["plan"], phase_now=phase), approach_table(rows)

    @guarded(
        Output(ids.SIG_EDITOR, "children"),
        Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
        Output(ids.SIG_OFFSET, "value", allow_duplicate=True),
        Output(ids.SIG_SEEN, "data"),
        Output(ids.SIG_RESULT, "children"),
        Output(ids.SIG_MSG, "children"),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Input(ids.SIG_NODE, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def junction_editor(node):
        if node is None:
            return [], None, None, None, [], "", None
        plan = cmd.query("signal_plan", node)  # another junction ends a preview
        return plan_editor(plan), plan["cycle_s"], plan["offset_s"], plan, [], "", None

    @guarded(
        Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
        Input({"type": ids.SIG_GREEN, "phase": ALL}, "value"),
        State(ids.SIG_SEEN, "data"),
        prevent_initial_call=True,
    )
    def cycle_follows_greens(greens, seen):
        """The operator edits greens; the cycle is their sum plus the intergreens (no arithmetic)."""
        if (
            not ctx.triggered_id
            or not isinstance(seen, dict)
            or not greens
            or not all(isinstance(g, (int, float)) and not isinstance(g, bool) for g in greens)
        ):
            raise PreventUpdate
        intergreen = seen.get("intergreen_s")
        if not isinstance(intergreen, (int, float)) or len(greens) != len(seen.get("greens_s", ())):
            raise PreventUpdate
        return round(sum(greens) + len(greens) * intergreen, 1)

    @guarded(
        Output({"type": ids.SIG_GREEN, "phase": ALL}, "value"),
        Output(ids.SIG_CYCLE, "value"),
        Output(ids.SIG_OFFSET, "value"),
        Output(ids.SIG_MSG, "children", allow_duplicate=True),
        Input(ids.SIG_SUGGEST, "n_clicks"),
        State(ids.SIG_NODE, "value"),
        State({"type": ids.SIG_GREEN, "phase": ALL}, "value"),
        prevent_initial_call=True,
    )
    def suggest(_clicks, node, greens):
        if node is None:
            return (
                [no_update] * len(greens),
                no_update,
                no_update,
                message("Refused: select a junction first", "refused"),
            )
        try:
            plan = cmd.query("suggested_plan", node)
        except ActionError as error:
            return (
                [no_update] * len(greens),
                no_update,
                no_update,
                message(f"Refused: {error}", "refused"),
            )
        return (
            plan["greens_s"],
            plan["cycle_s"],
            plan["offset_s"],
            message(
                "Webster's plan filled in: Preview to see its effect, Apply to make it live", "ok"
            ),
        )

    @guarded(
        Output(ids.SIG_RESULT, "children", allow_duplicate=True),
        Output(ids.SIG_MSG, "children", allow_duplicate=True),
        Output(ids.MAP_PREVIEW, "data", allow_duplicate=True),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Output(ids.SIG_PREVIEWED, "data"),
        Input(ids.SIG_PREVIEW, "n_clicks"),
        State(ids.SIG_NODE, "value"),
        State({"type": ids.SIG_GREEN, "phase": ALL}, "value"),
        State(ids.SIG_CYCLE, "value"),
        State(ids.SIG_OFFSET, "value"),
        prevent_initial_call=True,
    )
    def preview(_clicks, node, greens, cycle, offset):
        try:
            action = action_from_dict(_signal_action(node, greens, cycle, offset))
            fork = cmd.query("forecast_copy")  # taken in the loop thread; forecast outside it
            result = whatif.what_if(fork, [action])
        except ActionError as error:
            return [], message(f"Refused: {error}", "refused"), no_update, None, None
        delta = np.mean(
            [mark["links"]["delay_rate_veh"] for mark in result["marks"].values()], axis=0
        )
        added_vehh = float(
            result["marks"][max(result["marks"])]["totals"]["difference"]["delay_vehh"]
        )
        name = junction_names.get(action.node_id, f"junction {action.node_id}")
        banner = preview_state(f"Preview: {name}, cycle {action.cycle_s:g} s · nothing applied")
        return (
            preview_body(result),
            message("Preview: nothing applied yet", "ok"),
            preview_message(delta_veh=delta),
            banner,
            {"action": _signal_action(node, greens, cycle, offset), "added_delay_vehh": added_vehh},
        )

    @guarded(
        Output(ids.SIG_MSG, "children", allow_duplicate=True),
        Output(ids.SIG_SEEN, "data", allow_duplicate=True),
        Output(ids.SIG_PREVIOUS, "data"),
        Output(ids.SIG_PLAN, "children", allow_duplicate=True),
        Output(ids.SIG_CONFIRM, "displayed"),
        Output(ids.SIG_CONFIRM, "message"),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Output(ids.SIG_RESULT, "children", allow_duplicate=True),
        Input(ids.SIG_APPLY, "n_clicks"),
        Input(ids.SIG_CONFIRM, "submit_n_clicks"),
        State(ids.SIG_NODE, "value"),
        State({"type": ids.SIG_GREEN, "phase": ALL}, "value"),
        State(ids.SIG_CYCLE, "value"),
        State(ids.SIG_OFFSET, "value"),
        State(ids.SIG_SEEN, "data"),
        State(ids.SIG_PREVIEWED, "data"),
        prevent_initial_call=True,
    )
    def apply_plan(_clicks, _confirmed, node, greens, cycle, offset, seen, previewed):
        action = _signal_action(node, greens, cycle, offset)
        worse = (
            isinstance(previewed, dict)
            and previewed.get("action") == action
            and isinstance(previewed.get("added_delay_vehh"), (int, float))
            and previewed["added_delay_vehh"] > 0.05
        )
        if worse and ctx.triggered_id == ids.SIG_APPLY:  # the preview showed it worse: ask first
            question = (
                f"The preview predicted {previewed['added_delay_vehh']:.1f} veh·h more delay in the next hour "
                "with this plan. Apply it anyway?"
            )
            return no_update, no_update, no_update, no_update, True, question, no_update, no_update
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return (
                _note(result, ""),
                no_update,
                no_update,
                no_update,
                False,
                "",
                no_update,
                no_update,
            )
        previous = result.before if result.before != result.after else no_update
        full = cmd.query("signal_plan", node)
        return (
            _note(
                result,
                f"Applied to {result.target}: cycle {result.after['cycle_s']:.0f} s (audit #{result.audit_id})",
            ),
            result.after,
            previous,
            phase_bar(full),
            False,
            "",
            None,
            [],
        )  # Apply ends the preview

    @guarded(
        Output(ids.SIG_MSG, "children", allow_duplicate=True),
        Output(ids.SIG_SEEN, "data", allow_duplicate=True),
        Output(ids.SIG_PREVIOUS, "data", allow_duplicate=True),
        Output(ids.SIG_EDITOR, "children", allow_duplicate=True),
        Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
        Output(ids.SIG_OFFSET, "value", allow_duplicate=True),
        Output(ids.SIG_PLAN, "children", allow_duplicate=True),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Output(ids.SIG_RESULT, "children", allow_duplicate=True),
        Input(ids.SIG_REVERT, "n_clicks"),
        State(ids.SIG_NODE, "value"),
        State(ids.SIG_PREVIOUS, "data"),
        State(ids.SIG_SEEN, "data"),
        prevent_initial_call=True,
    )
    def revert(_clicks, node, previous, seen):
        if not previous or node is None or previous.get("node_id") != node:
            return message(
                "Refused: nothing to revert for this junction on this screen", "refused"
            ), *([no_update] * 8)
        action = _signal_action(
            node, previous["greens_s"], previous["cycle_s"], previous["offset_s"]
        )
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), *([no_update] * 8)
        full = cmd.query("signal_plan", node)
        return (
            _note(
                result,
                f"Reverted {result.target} to cycle {result.after['cycle_s']:.0f} s (audit #{result.audit_id})",
            ),
            result.after,
            result.before,
            plan_editor(full),
            full["cycle_s"],
            full["offset_s"],
            phase_bar(full),
            None,
            [],
        )  # Revert ends the preview
