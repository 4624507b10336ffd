"""Checkpoint throughput panel: table of all checkpoints, per-checkpoint chart, lane action."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from twin.clock_text import hhmm


def checkpoint_pane(options: list[dict[str, Any]]) -> html.Div:
    return html.Div(
        id=ids.CP_PANE,
        className="ops-pane",
        hidden=True,
        children=[
            html.Div("Checkpoint throughput", className="panel-title"),
            html.Div(id=ids.CP_TABLE),
            dcc.Dropdown(
                id=ids.CP_SELECT,
                options=options,
                value=options[0]["value"] if options else None,
                clearable=False,
                className="ops-dropdown",
            ),
            html.Div(
                className="field-row",
                children=[
                    dcc.RadioItems(
                        id=ids.CP_LANE_TYPE,
                        className="seg",
                        inline=True,
                        value="face",
                        options=[
                            {"label": "face e-gates", "value": "face"},
                            {"label": "manual", "value": "manual"},
                        ],
                    ),
                    html.Label(
                        [
                            "open lanes",
                            dcc.Input(id=ids.CP_COUNT, type="number", step=1, className="num"),
                        ],
                        className="field",
                    ),
                    html.Button(
                        "Set lanes",
                        id=ids.CP_APPLY,
                        n_clicks=0,
                        className="btn btn-primary",
                        title="apply the lane count (recorded and audited with your name)",
                    ),
                ],
            ),
            html.Div(id=ids.CP_PREVIEW, className="cp-preview", role="status"),
            html.Div(id=ids.CP_MSG, className="ops-msg", role="status"),
            html.Div(
                className="cp-rec-row",
                children=[
                    html.Span(id=ids.CP_REC, className="cp-rec"),
                    html.Button(
                        "Apply recommendation…",
                        id=ids.CP_REC_APPLY,
                        n_clicks=0,
                        hidden=True,
                        className="btn btn-small",
                        title="fills the lane control with the recommended count and shows the "
                        "predicted waits; Set lanes applies it",
                    ),
                ],
            ),
            html.Div(id=ids.CP_SKILL, className="feed-error", role="status"),
            dcc.Store(id=ids.CP_SEEN),
            dcc.Store(id=ids.CP_REC_DATA),
            html.Div(id=ids.CP_CHART),
        ],
    )


GROUPS = (
    ("venue_entrance", "Venue entrances — every spectator: ticket and bag check"),
    ("park_gate", "Park gates — arrivals by road, screened before the entrance"),
)
"""Table sections by checkpoint ``kind``, in checkpoint order (entrances, then gates)."""


def checkpoint_options(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dropdown options in the table's order; a gate's label says it is a gate."""
    order = [kind for kind, _ in GROUPS]
    ranked = sorted(rows, key=lambda r: order.index(r.get("kind", "venue_entrance")))
    return [{"label": r["name"], "value": int(r["checkpoint_id"])} for r in ranked]


COLUMNS = (
    "Checkpoint",
    "Lanes F/M",
    "Arr /5m",
    "Thru /5m",
    "Queue",
    "Wait",
    "+15",
    "+30",
    "Rec F/M",
    "",
)
COLUMN_HELP = {
    "Lanes F/M": "open lanes: face-recognition e-gates / manual lanes",
    "Arr /5m": "persons arriving in the last 5 minutes",
    "Thru /5m": "persons screened in the last 5 minutes",
    "Queue": "persons queueing now",
    "Wait": "wait of a person joining the queue now (minutes)",
    "+15": "predicted wait in 15 minutes with the lanes now open",
    "+30": "predicted wait in 30 minutes with the lanes now open",
    "Rec F/M": "recommended lanes (face / manual): the fewest that keep the wait under the target",
}
"""What each abbreviated column means (shown on hover)."""


def _short(name: str) -> str:
    for noise in ("Seoul Olympic Park ", "Olympic Park ", " entrance", " checkpoint"):
        name = name.replace(noise, "")
    return name


def _minutes(wait_s: float) -> str:
    """A wait as whole minutes; ``∞`` while persons queue with no lane open."""
    return f"{wait_s / 60:.0f}m" if np.isfinite(wait_s) else "∞"


def checkpoint_table(rows: Sequence[Mapping[str, Any]], *, target_wait_s: float) -> html.Table:
    """One row per checkpoint, venue entrances then park gates (a section heading each); the
    status colour compares waits with ``target_wait_s``."""
    head = html.Tr([html.Th(h, title=COLUMN_HELP.get(h)) for h in COLUMNS])
    body = []
    for kind, heading in GROUPS:
        members = [r for r in rows if r.get("kind", "venue_entrance") == kind]
        if members:
            body.append(html.Tr(html.Td(heading, colSpan=len(COLUMNS)), className="cp-group"))
        body.extend(_row(r) for r in members)
    return html.Table(
        [head, *body],
        className="ops-table cp-table",
        title=f"status against a wait target of {target_wait_s / 60:.0f} min",
    )


def _row(r: Mapping[str, Any]) -> html.Tr:
    return html.Tr(
        className=f"cp-row status-{r['status']}",
        **{"data-cp": str(r["checkpoint_id"])},
        children=[
            html.Td(_short(r["name"]), title=r["name"]),
            html.Td(f"{r['lanes_face']}/{r['lanes_manual']}", className="cp-lanes"),
            html.Td(f"{r['arrivals_5min']:.0f}"),
            html.Td(f"{r['throughput_5min']:.0f}"),
            html.Td(f"{r['queue_persons']:.0f}"),
            html.Td(_minutes(r["wait_now_s"]), className="cp-wait"),
            html.Td(_minutes(r["wait_15_s"]), className="cp-wait15"),
            html.Td(_minutes(r["wait_30_s"]), className="cp-wait30"),
            html.Td(f"{r['recommended_face']}/{r['recommended_manual']}"),
            html.Td(html.Span(_status_text(r), className=f"status-dot status-{r['status']}")),
        ],
    )


def _status_text(r: Mapping[str, Any]) -> str:
    """The status word, or the time a shut entrance's doors open ("doors 18:30")."""
    return (
        f"doors {hhmm(r['doors_open_at_s'])}"
        if r.get("doors_open_at_s") is not None
        else r["status"]
    )


def checkpoint_figure(
    name: str,
    history: Mapping[str, Any],
    index: int,
    forecast_wait_s: np.ndarray,
    now_s: float,
    target_wait_s: float,
) -> go.Figure:
    """Arrivals and throughput per minute and the wait over the day so far, plus the forecast wait.

    ``history["minute"]`` is the minute of the day; the forecast starts at ``now_s``.
    """
    minutes = np.asarray(history["minute"], dtype=float)
    fig = go.Figure()
    fig.add_bar(
        x=minutes,
        y=np.asarray(history["arrived_persons"])[:, index],
        name="arrivals /min",
        marker_color="#8b949e",
    )
    fig.add_scatter(
        x=minutes,
        y=np.asarray(history["served_persons"])[:, index],
        name="throughput /min",
        line={"color": "#3fb950"},
    )
    fig.add_scatter(
        x=minutes,
        y=np.asarray(history["wait_s"])[:, index] / 60,
        name="wait (min)",
        yaxis="y2",
        line={"color": "#58a6ff"},
    )
    ahead = now_s / 60 + np.arange(1, len(forecast_wait_s) + 1)
    fig.add_scatter(
        x=ahead,
        y=np.asarray(forecast_wait_s) / 60,
        name="predicted wait",
        yaxis="y2",
        line={"color": "#58a6ff", "dash": "dot"},
    )
    fig.add_hline(
        y=target_wait_s / 60, yref="y2", line={"color": "#e5484d", "dash": "dash", "width": 1}
    )
    lo = minutes[0] if len(minutes) else now_s / 60
    hi = ahead[-1] if len(ahead) else now_s / 60
    ticks = np.linspace(lo, hi, 5)
    fig.update_layout(
        template="plotly_dark",
        height=230,
        margin={"l": 40, "r": 40, "t": 24, "b": 30},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 11},
        title={"text": _short(name), "font": {"size": 12}},
        xaxis={"tickvals": list(ticks), "ticktext": [hhmm(t * 60) for t in ticks]},
        yaxis={"title": "persons / min"},
        yaxis2={
            "title": "wait min",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
        },
        legend={"orientation": "h", "y": -0.25, "font": {"size": 10}},
    )
    return fig


def _wait_cell(wait_s: float, target_s: float, class_name: str) -> html.Td:
    """A wait in minutes, coloured against the target (ok / watch / over)."""
    level = "ok" if wait_s <= 0.5 * target_s else "watch" if wait_s <= target_s else "over"
    return html.Td(_minutes(wait_s), className=f"{class_name} wait-{level}")


def _lanes_text(waits: Mapping[str, Any]) -> str:
    return f"{waits['lanes_face']} face + {waits['lanes_manual']} manual"


def lane_preview(preview: Mapping[str, Any]) -> html.Div:
    """Predicted waits with the typed lane count against the lanes open now
    (:func:`twin.service.queries.lane_preview`)."""
    target = float(preview["target_wait_s"])
    kind = "face e-gates" if preview["lane_type"] == "face" else "manual lanes"
    same = preview["lanes_now"] == preview["lanes_new"]
    rows = [("Now", preview["now"], "cp-pv-now")]
    if not same:
        rows.append((f"With {preview['lanes_new']} {kind}", preview["candidate"], "cp-pv-new"))
    head = html.Tr([html.Th(h) for h in ("", "lanes", "wait now", "+15 min", "+30 min")])
    body = [
        html.Tr(
            className=name,
            children=[
                html.Td(label),
                html.Td(_lanes_text(waits)),
                _wait_cell(waits["wait_now_s"], target, "cp-pv-wait"),
                _wait_cell(waits["wait_15_s"], target, "cp-pv-15"),
                _wait_cell(waits["wait_30_s"], target, "cp-pv-30"),
            ],
        )
        for label, waits, name in rows
    ]
    title = (
        f"Predicted wait at {_short(preview['name'])}: type another count to compare"
        if same
        else f"Preview: {_short(preview['name'])} {kind} {preview['lanes_now']} → "
        f"{preview['lanes_new']} (nothing changed yet)"
    )
    return html.Div(
        [
            html.Div(title, className="cp-pv-title"),
            html.Table([head, *body], className="ops-table cp-pv-table"),
            _others(preview.get("others") or ()),
        ],
        **{"data-same": "1" if same else "0"},
    )


def _others(others: Sequence[Mapping[str, Any]]) -> html.Div | None:
    """Other checkpoints the change moves (a gate feeds its venues' entrances)."""
    if not others:
        return None
    moved = ", ".join(
        f"{_short(o['name'])} +30 min {_minutes(o['now']['wait_30_s'])} → "
        f"{_minutes(o['candidate']['wait_30_s'])}"
        for o in others
    )
    return html.Div(f"Also changes: {moved}", className="cp-pv-others")


def lane_refusal(reason: str) -> html.Div:
    """The preview's answer to a count the lane action would refuse (nothing is applied)."""
    return html.Div(f"Cannot preview: {reason}", className="ops-note ops-refused")


def recommendation_text(row: Mapping[str, Any], step: Mapping[str, Any] | None) -> str:
    """The selected checkpoint's recommended lanes in words: ``Recommended 7 face + 0 manual
    (now 5 + 2): open 2 more face lanes``, or that the lanes open are the recommended ones."""
    target = f"{row['recommended_face']} face + {row['recommended_manual']} manual"
    if step is None:
        return f"Recommended {target}: the lanes open now keep the wait under the target."
    change = step["count"] - step["count_now"]
    kind = "face" if step["lane_type"] == "face" else "manual"
    verb = f"open {change} more" if change > 0 else f"close {-change}"
    plural = "lane" if abs(change) == 1 else "lanes"
    now = f"now {row['lanes_face']} + {row['lanes_manual']}"
    return f"Recommended {target} ({now}): {verb} {kind} {plural}"
