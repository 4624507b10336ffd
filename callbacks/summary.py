"""The executive summary's refresh: the latest frame's figures from
:func:`twin.summary.executive_summary` (the only source of its numbers), redrawn when the twin
publishes a new frame or the normal-day baseline becomes ready. Read-only: every role."""

from __future__ import annotations

from collections import Counter

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.services import services
from layouts import ids
from layouts.summary import summary_body
from twin.summary import executive_summary


def alert_counts(alerts) -> dict[str, int]:
    """Open alerts by severity (a folded flood group counts each of its members)."""
    counts: Counter[str] = Counter()
    for alert in alerts:
        counts[alert["severity"]] += int(alert.get("count", 1))
    return dict(counts)


def register_callbacks(app) -> None:
    svc = services(app)

    @app.callback(Output(ids.SUMMARY_BODY, "children"), Output(ids.SUMMARY_SEQ, "data"),
                  Input(ids.SUMMARY_TICK, "n_intervals"), State(ids.SUMMARY_SEQ, "data"))
    def refresh_summary(_tick, shown):
        frame = svc.store.latest()
        baseline = svc.normal_day
        normal = baseline.value if baseline is not None else None
        ready = baseline is None or baseline.done
        key = [frame.seq if frame is not None else -1, ready]
        if key == shown:
            raise PreventUpdate
        if frame is None or svc.scenario is None:
            return summary_body(None, {}, normal_ready=ready), key
        figures = executive_summary(svc.scenario, frame.view, normal=normal,
                                    alert_counts=alert_counts(frame.alerts))
        return summary_body(figures, frame.history, normal_ready=ready), key

    app.clientside_callback(
        "function (n) { if (n) { window.print(); } return ''; }",
        Output(ids.SUMMARY_PRINTED, "children"), Input(ids.SUMMARY_PRINT, "n_clicks"),
        prevent_initial_call=True,
    )
