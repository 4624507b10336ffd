"""Signal timing panel: junction search, phase bar, live approaches, plan editor, what-if chart.

Pure builders: plain data in, Dash components and Plotly figures out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from twin.models.signals import CYCLE_RANGE_S

PHASE_COLOURS = ("#3fb950", "#58a6ff", "#d29922", "#bc8cff", "#39c5cf", "#f778ba")
PICK_PROMPT = "Pick a junction on the map or from the list"


def junction_options(signals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dropdown options of the signalised junctions (searchable by name)."""
    return sorted(
        ({"label": s["n"], "value": int(s["i"])} for s in signals),
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
            html.Div(PICK_PROMPT, id=ids.SIG_PROMPT, className="sig-prompt"),
            html.Div(id=ids.SIG_PLAN, className="sig-plan"),
            html.Div(id=ids.SIG_APPROACHES),
            html.Div(
                id=ids.SIG_FORM,
                hidden=True,  # until a junction is chosen: no empty boxes, the prompt instead
                children=[
                    html.Div(id=ids.SIG_EDITOR, className="sig-phases"),
                    html.Div(className="field-row", children=timing_inputs()),
                    html.Div(
                        className="ops-buttons",
                        children=[
                            html.Button("Suggest", id=ids.SIG_SUGGEST, n_clicks=0, className="btn"),
                            html.Button("Preview", id=ids.SIG_PREVIEW, n_clicks=0, className="btn"),
                            html.Button(
                                "Apply", id=ids.SIG_APPLY, n_clicks=0, className="btn btn-primary"
                            ),
                            html.Button("Revert", id=ids.SIG_REVERT, n_clicks=0, className="btn"),
                        ],
                    ),
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


def approach_table(
    rows: Sequence[Mapping[str, Any]], junction: Mapping[str, Any] | None = None
) -> html.Div:
    """Live figures per approach (``direction``, ``name``, ``flow_vph``, ``queue_m``,
    ``delay_s_per_veh``, ``v_over_c``, ``los`` letter) and, last, the junction's: the
    volume-weighted delay of its approaches and the LOS of that delay."""
    head = html.Tr(
        [
            html.Th("Approach"),
            html.Th("Flow veh/h"),
            html.Th("Queue m"),
            html.Th("Delay s/veh"),
            html.Th("v/c"),
            html.Th("LOS"),
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(f"{r['direction']} {r['name']}".strip()),
                html.Td(f"{r['flow_vph']:.0f}"),
                html.Td(f"{r['queue_m']:.0f}"),
                html.Td(f"{r['delay_s_per_veh']:.1f}"),
                html.Td(f"{r['v_over_c']:.2f}"),
                html.Td(r["los"], className=f"los los-{r['los']}"),
            ],
            className="approach-row",
        )
        for r in rows
    ]
    if junction is not None:
        body.append(
            html.Tr(
                [
                    html.Td("Junction (volume-weighted)"),
                    html.Td(f"{junction['flow_vph']:.0f}"),
                    html.Td(""),
                    html.Td(f"{junction['delay_s_per_veh']:.1f}"),
                    html.Td(""),
                    html.Td(junction["los"], className=f"los los-{junction['los']}"),
                ],
                className="junction-row",
                title="The junction's level of service: the delay of its approaches weighted by "
                "their flows (HCM: A ≤ 10 s, B ≤ 20, C ≤ 35, D ≤ 55, E ≤ 80, F above or v/c > 1)",
            )
        )
    return html.Div(html.Table([head, *body], className="ops-table approaches"))


def plan_editor(plan: Mapping[str, Any], phases: Sequence[Mapping[str, Any]] = ()) -> list[Any]:
    """One row per phase: what it serves (``phases[k]["serves"]``, directions and streets), its
    green input and its minimum. The inputs carry no min/max so the value typed reaches the
    twin, which answers in words ("Green for phase 2 must be at least 7 s (you typed 3)")."""
    serves = {int(p["phase"]) - 1: str(p["serves"]) for p in phases}
    return [
        html.Div(
            [
                html.Span(f"Phase {k + 1}", className="sig-phase-name"),
                html.Span(serves.get(k, ""), className="sig-phase-serves"),
                html.Label(
                    [
                        dcc.Input(
                            id={"type": ids.SIG_GREEN, "phase": k},
                            type="number",
                            value=g,
                            debounce=True,
                            step="any",  # any number typed reaches the twin's check
                            className="num",
                        ),
                        f"s green (min {float(plan['min_green_s'][k]):g})",
                    ],
                    className="sig-phase-green",
                ),
            ],
            className="sig-phase",
            **{"data-phase": str(k + 1)},
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
                    step="any",
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
                    step="any",
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
