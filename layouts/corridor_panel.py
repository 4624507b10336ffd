"""Ambulance green corridor panel: incident, hospital, preview, dispatch, corridor list, space-time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from twin.clock_text import hhmm

NEAREST = "nearest"


def hospital_options(hospitals: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {"label": "Nearest hospital", "value": NEAREST},
        *({"label": h["name"], "value": hid} for hid, h in hospitals.items()),
    ]


def corridor_pane(options: list[dict[str, str]]) -> html.Div:
    return html.Div(
        id=ids.COR_PANE,
        className="ops-pane",
        hidden=True,
        children=[
            html.Div("Ambulance green corridor", className="panel-title"),
            html.Div(
                "Click the incident on the map, or enter its coordinates.", className="ops-hint"
            ),
            html.Div(
                className="field-row",
                children=[
                    html.Label(
                        [
                            "lat",
                            dcc.Input(
                                id=ids.COR_LAT,
                                type="number",
                                step="any",
                                debounce=True,
                                className="num wide",
                            ),
                        ],
                        className="field",
                    ),
                    html.Label(
                        [
                            "lon",
                            dcc.Input(
                                id=ids.COR_LON,
                                type="number",
                                step="any",
                                debounce=True,
                                className="num wide",
                            ),
                        ],
                        className="field",
                    ),
                ],
            ),
            dcc.Dropdown(
                id=ids.COR_HOSPITAL,
                options=options,
                value=NEAREST,
                clearable=False,
                className="ops-dropdown",
            ),
            html.Div(
                className="ops-buttons",
                children=[
                    html.Button("Preview", id=ids.COR_PREVIEW, n_clicks=0, className="btn"),
                    html.Button(
                        "Dispatch", id=ids.COR_DISPATCH, n_clicks=0, className="btn btn-primary"
                    ),
                ],
            ),
            html.Div(id=ids.COR_MSG, className="ops-msg", role="status"),
            dcc.Loading(type="dot", color="#58a6ff", children=html.Div(id=ids.COR_PLAN)),
            dcc.Store(id=ids.COR_DRAFT),
            html.Div("Corridors", className="panel-title"),
            html.Div(id=ids.COR_LIST),
            dcc.Dropdown(
                id=ids.COR_DETAIL,
                placeholder="Corridor for the space-time view",
                className="ops-dropdown",
            ),
            html.Div(id=ids.COR_SPACETIME),
        ],
    )


def plan_summary(plan: Mapping[str, Any], names: Mapping[int, str]) -> list[Any]:
    """Preview: hospital, distance, ETAs and the signals the corridor will pre-empt."""
    signals = [
        html.Li(
            f"{names.get(t['node_id'], '#' + str(t['node_id']))} at +{t['start_s'] - plan['now_s']:.0f} s"
        )
        for t in plan["timeline"]
    ]
    return [
        html.Table(
            className="ops-table cor-eta",
            children=[
                html.Tr([html.Th("Hospital"), html.Td(plan["hospital_name"])]),
                html.Tr(
                    [
                        html.Th("Route"),
                        html.Td(
                            f"{plan['distance_m'] / 1000:.1f} km, {plan['links']} road segments"
                        ),
                    ]
                ),
                html.Tr(
                    [
                        html.Th("ETA without corridor"),
                        html.Td(f"{plan['eta_without_s'] / 60:.1f} min"),
                    ]
                ),
                html.Tr(
                    [html.Th("ETA with corridor"), html.Td(f"{plan['eta_with_s'] / 60:.1f} min")]
                ),
                html.Tr(
                    [
                        html.Th("Time saved"),
                        html.Td(f"{plan['time_saved_s']:.0f} s", className="good"),
                    ]
                ),
                html.Tr(
                    [
                        html.Th("Cost to cross traffic"),
                        html.Td(f"{plan['cross_traffic_delay_vehh']:.1f} veh·h"),
                    ]
                ),
            ],
        ),
        html.Div(f"Signals to pre-empt ({len(signals)})", className="panel-title"),
        html.Ul(signals, className="cor-signals"),
    ]


def corridor_list(ambulances: Sequence[Mapping[str, Any]], now_s: float) -> html.Table | html.Div:
    """All corridors, newest first: state, ETA countdown, time saved, cancel."""
    if not ambulances:
        return html.Div("No corridors yet.", className="alert-empty")
    head = html.Tr([html.Th(h) for h in ("Corridor", "Hospital", "State", "ETA", "Saved", "")])
    rows = []
    for amb in sorted(ambulances, key=lambda a: -a["dispatched_s"]):
        active = amb["state"] == "en route"
        eta = f"{max(amb['eta_s'] - now_s, 0) / 60:.1f} min" if active and amb.get("eta_s") else "—"
        saved = "—"
        if amb.get("arrived_s") is not None and amb.get("eta_without_s"):
            saved = f"{amb['eta_without_s'] - (amb['arrived_s'] - amb['dispatched_s']):.0f} s"
        cancel = (
            html.Button(
                "Cancel",
                id={"type": ids.COR_CANCEL, "id": amb["corridor_id"]},
                n_clicks=0,
                className="btn btn-small",
            )
            if active
            else ""
        )
        rows.append(
            html.Tr(
                [
                    html.Td(amb["corridor_id"]),
                    html.Td(amb["hospital_id"].replace("hospital_", "")),
                    html.Td(
                        amb["state"], className=f"cor-state cor-{amb['state'].replace(' ', '-')}"
                    ),
                    html.Td(eta, className="cor-eta-now"),
                    html.Td(saved),
                    html.Td(cancel),
                ],
                **{"data-corridor": amb["corridor_id"]},
            )
        )
    return html.Table([head, *rows], className="ops-table cor-list")


def space_time_figure(amb: Mapping[str, Any], link_length_m: np.ndarray, now_s: float) -> go.Figure:
    """Distance along the route against time: pre-emption windows per junction, the trip so far."""
    route = np.asarray(amb["route"], dtype=int)
    ends_m = np.cumsum(link_length_m[route])
    fig = go.Figure()
    for t in amb["timeline"]:
        at_m = float(ends_m[t["route_index"]])
        fig.add_scatter(
            x=[t["start_s"] / 60, t["end_s"] / 60],
            y=[at_m, at_m],
            mode="lines",
            line={"color": "#3fb950", "width": 6},
            showlegend=False,
            hovertext=f"{t.get('name') or 'junction'} pre-empted",
        )
        if t.get("passed_s") is not None:
            fig.add_scatter(
                x=[t["passed_s"] / 60],
                y=[at_m],
                mode="markers",
                marker={"color": "#58a6ff", "size": 7},
                showlegend=False,
            )
    passed = [
        (t["passed_s"] / 60, float(ends_m[t["route_index"]]))
        for t in amb["timeline"]
        if t.get("passed_s")
    ]
    xs = [amb["dispatched_s"] / 60] + [p[0] for p in passed]
    ys = [0.0] + [p[1] for p in passed]
    fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": "#58a6ff"}, name="ambulance")
    fig.add_vline(x=now_s / 60, line={"color": "#8b949e", "dash": "dot"})
    ticks = np.linspace(
        amb["dispatched_s"],
        max(now_s, max((t["end_s"] for t in amb["timeline"]), default=now_s)),
        5,
    )
    fig.update_layout(
        template="plotly_dark",
        height=220,
        margin={"l": 50, "r": 10, "t": 24, "b": 30},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 11},
        title={
            "text": f"{amb['corridor_id']}: distance vs time (green = pre-empted)",
            "font": {"size": 12},
        },
        xaxis={
            "title": "time",
            "tickvals": list(ticks / 60),
            "ticktext": [hhmm(t, seconds=True) for t in ticks],
        },
        yaxis={"title": "m along route"},
        showlegend=False,
    )
    return fig


def space_time_view(
    amb: Mapping[str, Any] | None, link_length_m: np.ndarray, now_s: float
) -> list[Any]:
    """The corridor's detail view: title and space-time chart (nothing without a corridor)."""
    if amb is None:
        return []
    return [
        html.Div(f"Space-time of {amb['corridor_id']}", className="panel-title"),
        dcc.Graph(
            figure=space_time_figure(amb, link_length_m, now_s), config={"displayModeBar": False}
        ),
    ]
