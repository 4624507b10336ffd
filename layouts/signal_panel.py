"""Signal timing panel: junction search, phase bar, live approaches, plan editor, what-if chart.

Pure builders: plain data in, Dash components and Plotly figures out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids, theme
from twin.models.signals import CYCLE_RANGE_S

PHASE_COLOURS = ("#3fb950", "#58a6ff", "#d29922", "#bc8cff", "#39c5cf", "#f778ba")


def junction_options(signals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dropdown options of the signalised junctions (searchable by name)."""
    return sorted(
        ({"label": f"{s['n']} (#{s['i']})", "value": int(s["i"])} for s in signals),
        key=lambda o: o["label"],
    )


def signal_pane(options: list[dict[str, Any]]) -> html.Div:
    """The panel's fixed frame; callbacks fill the plan, approaches and result."""
    return html.Div(
        id=ids.SIG_PANE,
        className="ops-pane",
        hidden=True,
        children=[
            html.Div("Signal timing", className="panel-title"),
            dcc.Dropdown(
                id=ids.SIG_NODE,
                options=options,
                placeholder="Search a junction or click one on the map",
                className="ops-dropdown",
                clearable=False,
            ),
            html.Div(id=ids.SIG_PLAN, className="sig-plan"),
            html.Div(id=ids.SIG_APPROACHES),
            html.Div(
                className="field-row",
                children=[html.Div(id=ids.SIG_EDITOR, className="field-row"), *timing_inputs()],
            ),
            html.Div(
                className="ops-buttons",
                children=[
                    html.Button("Suggest", id=ids.SIG_SUGGEST, n_clicks=0, className="btn"),
                    html.Button("Preview", id=ids.SIG_PREVIEW, n_clicks=0, className="btn"),
                    html.Button("Apply", id=ids.SIG_APPLY, n_clicks=0, className="btn btn-primary"),
                    html.Button("Revert", id=ids.SIG_REVERT, n_clicks=0, className="btn"),
                ],
            ),
            html.Div(id=ids.SIG_MSG, className="ops-msg", role="status"),
            dcc.Loading(
                type="dot",
                color="#58a6ff",
                children=html.Div(id=ids.SIG_RESULT, className="sig-result"),
            ),
            dcc.Store(id=ids.SIG_SEEN),
            dcc.Store(id=ids.MAP_PREVIEW),
            dcc.Store(id=ids.SIG_PREVIOUS),
            dcc.Store(id=ids.SIG_PREVIEWED),
            dcc.ConfirmDialog(id=ids.SIG_CONFIRM, message=""),
        ],
    )


def phase_bar(plan: Mapping[str, Any], *, phase_now: int | None = None) -> list[Any]:
    """The plan as one bar: green per phase then its intergreen, widths in proportion to time."""
    cycle = float(plan["cycle_s"])
    inter = float(plan["intergreen_s"])
    segments = []
    for k, green in enumerate(plan["greens_s"]):
        segments.append(
            html.Div(
                f"φ{k + 1} {green:.0f}s",
                className="phase-green" + (" now" if phase_now == k else ""),
                title=f"phase {k + 1} green {green:.0f} s",
                style={"flexGrow": green, "background": PHASE_COLOURS[k % len(PHASE_COLOURS)]},
            )
        )
        segments.append(
            html.Div(
                "",
                className="phase-inter",
                title=f"intergreen {inter:.0f} s",
                style={"flexGrow": inter},
            )
        )
    text = f"cycle {cycle:.0f} s · offset {float(plan['offset_s']):.0f} s · intergreen {inter:.0f} s per phase"
    return [
        html.Div(segments, className="phase-bar", **{"data-cycle": f"{cycle:.0f}"}),
        html.Div(text, className="sig-plan-text"),
    ]


def approach_table(rows: Sequence[Mapping[str, Any]]) -> html.Table:
    """Live queue and delay per approach (``name``, ``queue_m``, ``delay_s_per_veh``, ``los``)."""
    head = html.Tr([html.Th("Approach"), html.Th("Queue m"), html.Th("Delay veh"), html.Th("LOS")])
    body = [
        html.Tr(
            [
                html.Td(r["name"]),
                html.Td(f"{r['queue_m']:.0f}"),
                html.Td(f"{r['delay_rate_veh']:.1f}"),
                html.Td(theme.LOS_LETTERS[int(r["los"])]),
            ]
        )
        for r in rows
    ]
    return html.Table([head, *body], className="ops-table approaches")


def plan_editor(plan: Mapping[str, Any]) -> list[Any]:
    """Inputs for the greens, bounded like the server's check, each with its minimum shown."""
    high = CYCLE_RANGE_S[1]
    return [
        html.Label(
            [
                f"φ{k + 1} green s (min {float(plan['min_green_s'][k]):g})",
                dcc.Input(
                    id={"type": ids.SIG_GREEN, "phase": k},
                    type="number",
                    value=g,
                    step=1,
                    min=float(plan["min_green_s"][k]),
                    max=high,
                    debounce=True,
                    className="num",
                ),
            ],
            className="field",
        )
        for k, g in enumerate(plan["greens_s"])
    ]


def timing_inputs() -> list[Any]:
    """Cycle and offset inputs (always in the page; their values follow the selected junction)."""
    low, high = CYCLE_RANGE_S
    return [
        html.Label(
            [
                f"cycle s ({low:g}–{high:g}, follows the greens)",
                dcc.Input(
                    id=ids.SIG_CYCLE,
                    type="number",
                    step=1,
                    min=low,
                    max=high,
                    debounce=True,
                    className="num",
                ),
            ],
            className="field",
        ),
        html.Label(
            [
                "offset s",
                dcc.Input(
                    id=ids.SIG_OFFSET,
                    type="number",
                    step=1,
                    min=0,
                    max=high - 1,
                    debounce=True,
                    className="num",
                ),
            ],
            className="field",
        ),
    ]


def message(text: str, kind: str = "ok") -> html.Div:
    """An acknowledgement (``ok``), warning (``warn``) or refusal (``refused``) line."""
    return html.Div(text, className=f"ops-note ops-{kind}", **{"data-kind": kind})


def whatif_figure(result: Mapping[str, Any]) -> go.Figure:
    """Before/after network delay and queue at each forecast mark (from ``twin.service.whatif.what_if``)."""
    marks = sorted(result["marks"])
    minutes = [0] + [m // 60 for m in marks]
    fig = go.Figure()
    for name, colour, dash in (("current", "#8b949e", "dot"), ("candidate", "#58a6ff", "solid")):
        delay = [0.0] + [result["marks"][m]["totals"][name]["delay_vehh"] for m in marks]
        queue = [None] + [result["marks"][m]["totals"][name]["queue_m"] / 1000 for m in marks]
        fig.add_scatter(
            x=minutes, y=delay, name=f"delay, {name} (veh·h)", line={"color": colour, "dash": dash}
        )
        fig.add_scatter(
            x=minutes,
            y=queue,
            name=f"queue, {name} (km)",
            yaxis="y2",
            line={"color": colour, "dash": dash, "width": 1},
            mode="lines+markers",
        )
    fig.update_layout(
        template="plotly_dark",
        height=230,
        margin={"l": 40, "r": 40, "t": 24, "b": 30},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 11},
        xaxis={"title": "minutes ahead"},
        yaxis={"title": "delay veh·h"},
        yaxis2={"title": "queue km", "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": -0.3, "font": {"size": 10}},
        title={"text": "Next 60 min: current vs candidate", "font": {"size": 12}},
    )
    return fig


def whatif_summary(result: Mapping[str, Any]) -> html.Div:
    """One line per mark: change in delay and queue (candidate minus current)."""
    rows = []
    for mark in sorted(result["marks"]):
        diff = result["marks"][mark]["totals"]["difference"]
        better = diff["delay_vehh"] <= 0
        rows.append(
            html.Tr(
                [
                    html.Td(f"+{mark // 60} min"),
                    html.Td(
                        f"{diff['delay_vehh']:+.1f} veh·h", className="good" if better else "bad"
                    ),
                    html.Td(f"{diff['queue_m']:+.0f} m queue"),
                ]
            )
        )
    return html.Table(rows, className="ops-table whatif-diff")


def map_key() -> html.Div:
    """What the preview colours on the map mean."""

    def swatch(colour: str, text: str) -> html.Span:
        return html.Span(
            [html.Span(className="swatch swatch-line", style={"background": colour}), text],
            className="map-key-item",
        )

    return html.Div(
        [
            "Map: ",
            swatch("#2ea043", "much less delay"),
            swatch("#7ee787", "less"),
            swatch("#f08c2e", "more"),
            swatch("#e5484d", "much more"),
        ],
        className="map-key",
    )


def preview_body(result: Mapping[str, Any]) -> list[Any]:
    return [
        html.Div("Predicted effect (candidate − current)", className="panel-title"),
        whatif_summary(result),
        map_key(),
        dcc.Graph(
            figure=whatif_figure(result), config={"displayModeBar": False}, className="ops-graph"
        ),
    ]
