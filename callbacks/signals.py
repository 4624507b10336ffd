"""Signal timing: a junction's live plan and approaches, the editor, Webster's suggestion,
preview (a what-if forecast on a copy), apply (with a confirmation when the preview was worse)
and revert. Operators only (:func:`callbacks.operator.operator_callback`).

Adapters only: the twin's queries (``junction_detail``, ``signal_plan``, ``suggested_plan``,
:func:`twin.service.queries.signal_what_if`) give plain data, the command path checks and
applies, and the twin words every refusal ("Green for phase 2 must be at least 7 s (you typed
3)"); a field left empty is refused before the command path (nothing audited, nothing changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from twin.actions import signal_plan_from_form
from twin.errors import ActionError
from twin.service.queries import signal_what_if

if TYPE_CHECKING:
    from dash import Dash

WORSE_VEHH = 0.05
"""A preview that added more delay than this (veh·h in the next hour) asks before Apply."""


def _signal_action(node: Any, greens: list[Any], cycle: Any, offset: Any) -> dict[str, Any]:
    """The browser's values as an action dict, unchecked (the command path checks)."""
    return {
        "kind": "set_signal_plan",
        "node_id": node,
        "cycle_s": cycle,
        "greens_s": list(greens or []),
        "offset_s": offset,
    }


def _phase_mismatch(node: Any, shown: int, phases: int) -> ActionError:
    """The editor shows a different number of phases than the junction has (another junction's
    editor, or a client sending what no screen offers): nothing is filled in."""
    return ActionError(
        f"the editor shows {shown} phase(s) but junction {node} has {phases}: "
        "open the junction again, then ask for a suggestion",
        code="phase_count",
    )


def _refused(error: ActionError) -> Any:
    return message(f"Refused: {error}", "refused")


def _cycle_of(greens: list[Any], seen: Any) -> float | None:
    """The cycle that follows ``greens`` (their sum plus the junction's intergreens), or None
    while a green is not a number or the editor shows another junction."""
    if not isinstance(seen, dict) or not greens or len(greens) != len(seen.get("greens_s", ())):
        return None
    numbers = all(isinstance(g, (int, float)) and not isinstance(g, bool) for g in greens)
    intergreen = seen.get("intergreen_s")
    if not numbers or not isinstance(intergreen, (int, float)):
        return None
    return round(sum(greens) + len(greens) * intergreen, 1)


def _worse(previewed: Any, action: dict[str, Any]) -> float | None:
    """The delay (veh·h) the preview of exactly this plan added, when it made things worse."""
    if not isinstance(previewed, dict) or previewed.get("action") != action:
        return None
    added = previewed.get("added_delay_vehh")
    return float(added) if isinstance(added, (int, float)) and added > WORSE_VEHH else None


def register_callbacks(app: Dash) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    cmd = svc.commands
    guarded = operator_callback(app)
    junction_names = {s["i"]: s["n"] for s in svc.scene.signals}
    _register_views(guarded, cmd)
    _register_editing(guarded, cmd)
    _register_preview(guarded, cmd, junction_names)
    _register_apply(guarded, cmd)


def _register_views(guarded: Any, cmd: Any) -> None:
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
        return (
            phase_bar(data["plan"], phase_now=data["phase_now"]),
            approach_table(data["approaches"], data["junction"]),
        )

    @guarded(
        Output(ids.SIG_EDITOR, "children"),
        Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
        Output(ids.SIG_OFFSET, "value", allow_duplicate=True),
        Output(ids.SIG_SEEN, "data"),
        Output(ids.SIG_RESULT, "children"),
        Output(ids.SIG_MSG, "children"),
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Output(ids.SIG_FORM, "hidden"),
        Output(ids.SIG_PROMPT, "hidden"),
        Input(ids.SIG_NODE, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def junction_editor(node):
        if node is None:  # the prompt instead of empty inputs
            return [], None, None, None, [], "", None, True, False
        data = cmd.query("junction_detail", node)  # another junction ends a preview
        plan = data["plan"]
        editor = plan_editor(plan, data["phases"])
        return editor, plan["cycle_s"], plan["offset_s"], plan, [], "", None, False, True


def _register_editing(guarded: Any, cmd: Any) -> None:
    @guarded(
        Output(ids.SIG_CYCLE, "value", allow_duplicate=True),
        Input({"type": ids.SIG_GREEN, "phase": ALL}, "value"),
        State(ids.SIG_SEEN, "data"),
        prevent_initial_call=True,
    )
    def cycle_follows_greens(greens, seen):
        """The operator edits greens; the cycle is their sum plus the intergreens (no arithmetic)."""
        cycle = _cycle_of(greens, seen) if ctx.triggered_id else None
        if cycle is None:
            raise PreventUpdate
        return cycle

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
        # The number of green fields is what the client sent (its screen), not the junction's:
        # the answer must have exactly that many, or Dash fails the request (a 500).
        shown = len(ctx.outputs_list[0]) if ctx.outputs_list else len(greens or ())
        unchanged = ([no_update] * shown, no_update, no_update)
        try:
            plan = cmd.query("suggested_plan", node)
        except ActionError as error:
            return (*unchanged, _refused(error))
        if len(plan["greens_s"]) != shown:
            return (*unchanged, _refused(_phase_mismatch(node, shown, len(plan["greens_s"]))))
        text = "Webster's plan filled in: Preview to see its effect, Apply to make it live"
        return plan["greens_s"], plan["cycle_s"], plan["offset_s"], message(text, "ok")


def _register_preview(guarded: Any, cmd: Any, junction_names: dict[int, str]) -> None:
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
            action = signal_plan_from_form(node, greens, cycle, offset)
            predicted = signal_what_if(cmd.query("forecast_copy"), action)  # outside the loop
        except ActionError as error:
            return [], _refused(error), no_update, None, None
        name = junction_names.get(action.node_id, f"junction {action.node_id}")
        banner = preview_state(f"Preview: {name}, cycle {action.cycle_s:g} s · nothing applied")
        previewed = _signal_action(node, greens, cycle, offset)
        return (
            preview_body(predicted),
            message("Preview: nothing applied yet", "ok"),
            preview_message(delta_veh=np.asarray(predicted["delta_delay_veh"])),
            banner,
            {"action": previewed, "added_delay_vehh": predicted["added_delay_vehh"]},
        )


def _register_apply(guarded: Any, cmd: Any) -> None:
    keep = [no_update] * 8

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
        try:
            action = signal_plan_from_form(node, greens, cycle, offset)  # empty: nothing audited
        except ActionError as error:
            return _refused(error), *keep[1:]
        added = _worse(previewed, _signal_action(node, greens, cycle, offset))
        if added is not None and ctx.triggered_id == ids.SIG_APPLY:  # shown worse: ask first
            question = (
                f"The preview predicted {added:.1f} veh·h more delay in the next hour with this "
                "plan. Apply it anyway?"
            )
            return *keep[:4], True, question, *keep[6:]
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), *keep[1:4], False, "", *keep[6:]
        previous = result.before if result.before != result.after else no_update
        cycle_s = result.after["cycle_s"]
        text = f"Applied to {result.target}: cycle {cycle_s:.0f} s (audit #{result.audit_id})"
        full = cmd.query("signal_plan", node)
        return _note(result, text), result.after, previous, phase_bar(full), False, "", None, []

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
            text = "Nothing to revert: this screen has applied no plan to this junction"
            return message(f"Refused: {text}", "refused"), *([no_update] * 8)
        old = (previous["greens_s"], previous["cycle_s"], previous["offset_s"])
        result = cmd.submit(_signal_action(node, *old), **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), *([no_update] * 8)
        data = cmd.query("junction_detail", node)
        full = data["plan"]
        text = (
            f"Reverted {result.target} to cycle {full['cycle_s']:.0f} s (audit #{result.audit_id})"
        )
        editor = plan_editor(full, data["phases"])
        return (
            _note(result, text),
            *(result.after, result.before, editor, full["cycle_s"], full["offset_s"]),
            *(phase_bar(full), None, []),
        )  # Revert ends the preview
