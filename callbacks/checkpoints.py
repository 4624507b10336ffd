"""Checkpoint lanes: the queue table, wait chart and recommended lanes of a checkpoint; a
preview of the waits with the lane count typed; opening or closing lanes. Operators only.

Every figure comes from the twin's queries (``checkpoint_detail``, ``lanes``, ``lane_preview``)
and every change goes through the command path. A count the lane action would refuse is
answered by the preview and never submitted, so it changes nothing: not the lanes, not the
recording, not the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate

from callbacks.operator import note as _note
from callbacks.operator import operator_callback
from callbacks.services import services, who
from layouts import ids
from layouts.checkpoint_panel import (
    checkpoint_figure,
    checkpoint_table,
    lane_preview,
    lane_refusal,
    recommendation_text,
)
from layouts.signal_panel import message
from twin.errors import ActionError

if TYPE_CHECKING:
    from dash import Dash

    from twin.service.commands import CommandPath


def _checkpoint_view(cmd: CommandPath, index: int) -> tuple[Any, Any, str, dict | None]:
    """Table, chart, recommendation text and next recommended step of checkpoint ``index``."""
    data = cmd.query("checkpoint_detail", index)
    row, target_s = data["rows"][index], data["target_wait_s"]
    figure = checkpoint_figure(
        row["name"], data["history"], index, data["predicted"], data["now_s"], target_s
    )
    return (
        checkpoint_table(data["rows"], target_wait_s=target_s),
        dcc.Graph(figure=figure, config={"displayModeBar": False}),
        recommendation_text(row, data["next_step"]),
        data["next_step"],
    )


def _preview(cmd: CommandPath, index: Any, lane_type: Any, count: Any) -> tuple[Any, str]:
    """The preview component and the refusal reason (empty when the count is acceptable)."""
    try:
        return lane_preview(cmd.query("lane_preview", index, lane_type, count)), ""
    except ActionError as error:
        return lane_refusal(str(error)), str(error)


def _applied_text(result: Any, preview: dict[str, Any]) -> str:
    waits = preview["now"]
    return (
        f"{result.target}: {result.before} → {result.after}; predicted wait +15 min "
        f"{waits['wait_15_s'] / 60:.0f} min, +30 min {waits['wait_30_s'] / 60:.0f} min "
        f"(audit #{result.audit_id})"
    )


def register_callbacks(app: Dash) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    cmd = svc.commands
    guarded = operator_callback(app)

    @guarded(
        Output(ids.CP_TABLE, "children"),
        Output(ids.CP_CHART, "children"),
        Output(ids.CP_REC, "children"),
        Output(ids.CP_REC_DATA, "data"),
        Output(ids.CP_REC_APPLY, "hidden"),
        Input(ids.OPS_TICK, "n_intervals"),
        Input(ids.CP_SELECT, "value"),
        Input(ids.OPS_TAB, "value"),
    )
    def checkpoints_live(_tick, index, tab):
        if index is None or tab != "checkpoints":
            raise PreventUpdate
        table, chart, text, step = _checkpoint_view(cmd, int(index))
        return table, chart, text, step, step is None

    @guarded(
        Output(ids.CP_LANE_TYPE, "value"),
        Output(ids.CP_COUNT, "value"),
        Output(ids.CP_SEEN, "data"),
        Input(ids.CP_SELECT, "value"),
        Input(ids.CP_LANE_TYPE, "value"),
        Input(ids.CP_REC_APPLY, "n_clicks"),
        State(ids.CP_REC_DATA, "data"),
    )
    def fill_lane_control(index, lane_type, _rec_clicks, step):
        """The lanes open now for the checkpoint and type chosen, or the recommended step."""
        if ctx.triggered_id == ids.CP_REC_APPLY:
            if not isinstance(step, dict):
                raise PreventUpdate
            return step["lane_type"], step["count"], step["count_now"]
        if index is None:
            raise PreventUpdate
        try:
            lanes = cmd.query("lanes", index, lane_type)
        except ActionError:
            raise PreventUpdate from None
        return no_update, lanes, lanes

    @guarded(
        Output(ids.CP_PREVIEW, "children"),
        Input(ids.CP_COUNT, "value"),
        Input(ids.CP_LANE_TYPE, "value"),
        State(ids.CP_SELECT, "value"),
        prevent_initial_call=True,
    )
    def preview_lanes(count, lane_type, index):
        if index is None:
            raise PreventUpdate
        return _preview(cmd, index, lane_type, count)[0]

    @guarded(
        Output(ids.CP_MSG, "children"),
        Output(ids.CP_SEEN, "data", allow_duplicate=True),
        Output(ids.CP_TABLE, "children", allow_duplicate=True),
        Output(ids.CP_CHART, "children", allow_duplicate=True),
        Output(ids.CP_PREVIEW, "children", allow_duplicate=True),
        Input(ids.CP_APPLY, "n_clicks"),
        State(ids.CP_SELECT, "value"),
        State(ids.CP_LANE_TYPE, "value"),
        State(ids.CP_COUNT, "value"),
        State(ids.CP_SEEN, "data"),
        prevent_initial_call=True,
    )
    def set_lanes(_clicks, index, lane_type, count, seen):
        _shown, refused = _preview(cmd, index, lane_type, count)
        if refused:  # never submitted: lanes, recording and audit log stay as they are
            return message(f"Refused: {refused}", "refused"), *[no_update] * 4
        action = {"kind": "set_lanes", "checkpoint_id": index, "lane_type": lane_type}
        result = cmd.submit({**action, "count": count}, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), *[no_update] * 4
        table, chart, _text, _step = _checkpoint_view(cmd, int(index))
        after = cmd.query("lane_preview", index, lane_type, count)
        return (
            _note(result, _applied_text(result, after)),
            result.after,
            table,
            chart,
            lane_preview(after),
        )
