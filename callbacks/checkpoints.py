"""Checkpoint lanes: the queue table and wait chart of a checkpoint, and opening or closing
lanes. Operators only."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, dcc, no_update
from dash.exceptions import PreventUpdate

from callbacks.operator import note as _note
from callbacks.operator import operator_callback
from callbacks.services import services, who
from layouts import ids
from layouts.checkpoint_panel import checkpoint_figure, checkpoint_table
from twin.crowd import pedestrians
from twin.errors import ActionError

TARGET_WAIT_S = pedestrians.WAIT_TARGET_S


def register_callbacks(app: Any) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    cmd = svc.commands
    guarded = operator_callback(app)

    def _cp_view(index: int) -> tuple[Any, Any, dict[str, Any]]:
        data = cmd.query("checkpoint_detail", index)
        row = data["rows"][index]
        figure = checkpoint_figure(
            row["name"], data["history"], index, data["predicted"], data["now_s"], TARGET_WAIT_S
        )
        return (
            checkpoint_table(data["rows"], target_wait_s=TARGET_WAIT_S),
            dcc.Graph(figure=figure, config={"displayModeBar": False}),
            row,
        )

    @guarded(
        Output(ids.CP_TABLE, "children"),
        Output(ids.CP_CHART, "children"),
        Input(ids.OPS_TICK, "n_intervals"),
        Input(ids.CP_SELECT, "value"),
        Input(ids.OPS_TAB, "value"),
    )
    def checkpoints_live(_tick, index, tab):
        if index is None or tab != "checkpoints":
            raise PreventUpdate
        table, chart, _row = _cp_view(int(index))
        return table, chart

    @guarded(
        Output(ids.CP_COUNT, "value"),
        Output(ids.CP_SEEN, "data"),
        Input(ids.CP_SELECT, "value"),
        Input(ids.CP_LANE_TYPE, "value"),
    )
    def lanes_seen(index, lane_type):
        if index is None:
            raise PreventUpdate
        try:
            lanes = cmd.query("lanes", index, lane_type)
        except ActionError:
            raise PreventUpdate from None
        return lanes, lanes

    @guarded(
        Output(ids.CP_MSG, "children"),
        Output(ids.CP_SEEN, "data", allow_duplicate=True),
        Output(ids.CP_TABLE, "children", allow_duplicate=True),
        Output(ids.CP_CHART, "children", allow_duplicate=True),
        Input(ids.CP_APPLY, "n_clicks"),
        State(ids.CP_SELECT, "value"),
        State(ids.CP_LANE_TYPE, "value"),
        State(ids.CP_COUNT, "value"),
        State(ids.CP_SEEN, "data"),
        prevent_initial_call=True,
    )
    def set_lanes(_clicks, index, lane_type, count, seen):
        action = {
            "kind": "set_lanes",
            "checkpoint_id": index,
            "lane_type": lane_type,
            "count": count,
        }
        result = cmd.submit(action, **who(), based_on=seen)
        if not result.ok:
            return _note(result, ""), no_update, no_update, no_update
        table, chart, row = _cp_view(int(index))
        text = (
            f"{result.target}: {result.before} → {result.after}; predicted wait +15 min "
            f"{row['wait_15_s'] / 60:.0f} min, +30 min {row['wait_30_s'] / 60:.0f} min (audit #{result.audit_id})"
        )
        return _note(result, text), result.after, table, chart
