"""Field feeds for operators: feed health, each forecast's recent error, and a road's and a
checkpoint's observed against modelled over the last hour.

Pure builders of plain data (no I/O). The data they take:

- feed status (the ``feed_status`` query, :func:`twin.feeds.status.status`):
  ``{"sources": [{"source", "last_data_s" (simulated s, or None), "stale", "rate_per_min",
  "batches", "rejected": {reason: count}, "detector_readings", "scans", "checkpoint_counts",
  "synthetic": bool}], "detectors": {"faulty": [{"detector_id", "road", "reason"}]},
  "stale_after_s": float}``;
- forecast skill (``Frame.forecast_skill``, :mod:`twin.service.forecast_skill`);
- observed against modelled series (queries ``observed_vs_modelled_link`` and
  ``observed_vs_modelled_checkpoint``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from twin.clock_text import hhmm

OBSERVED_COLOUR = "#e6edf3"
MODELLED_COLOUR = "#58a6ff"
HORIZON_LABELS = (("plus15", "+15 min"), ("plus30", "+30 min"), ("plus60", "+60 min"))
NO_FEEDS = "No field feeds connected"


def feed_pane(roads: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> html.Div:
    """The side column's Feeds tab: health, forecast error, road and checkpoint panels."""
    return html.Div(
        id=ids.FEED_PANE,
        className="ops-pane feed-pane",
        hidden=True,
        children=[
            html.Div("Field feeds", className="panel-title"),
            html.Div(html.Span(NO_FEEDS, className="feed-none"), id=ids.FEED_HEALTH),
            html.Div("Forecast error, last hour", className="panel-subtitle"),
            html.Div(id=ids.FEED_SKILL),
            html.Div("Road: observed against modelled", className="panel-subtitle"),
            _picker(ids.FEED_ROAD, roads, "no road has a detector in this scenario"),
            html.Div(id=ids.FEED_ROAD_CHART),
            html.Div("Checkpoint: observed against modelled", className="panel-subtitle"),
            _picker(ids.FEED_CP, checkpoints, "this scenario has no checkpoints"),
            html.Div(id=ids.FEED_CP_CHART),
        ],
    )


def _picker(component_id: str, options: list[dict[str, Any]], empty: str) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=component_id,
        options=options,
        value=options[0]["value"] if options else None,
        clearable=False,
        placeholder=empty,
        className="ops-dropdown",
    )


def road_options(roads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dropdown options of the roads with detectors (``link_id``, ``name``, ``detectors``)."""
    return [
        {"label": f"{r['name']} ({len(r['detectors'])} det.)", "value": int(r["link_id"])}
        for r in roads
    ]


# ------------------------------------------------------------------ health
def feed_health(status: Mapping[str, Any] | None, now_s: float) -> html.Div:
    """Each source's last message, rate, rejected counts by reason, and faulty detectors; or
    :data:`NO_FEEDS` when no status is available or no source has sent anything."""
    sources = list((status or {}).get("sources") or ())
    if not sources:
        return html.Div(html.Span(NO_FEEDS, className="feed-none"), className="feed-health")
    stale_after_s = float((status or {}).get("stale_after_s") or 300.0)
    header = html.Tr([html.Th(t) for t in ("source", "last data", "rate", "rejected")])
    rows = [_source_row(s, now_s, stale_after_s) for s in sources]
    faulty = list(((status or {}).get("detectors") or {}).get("faulty") or ())
    return html.Div(
        className="feed-health",
        children=[
            html.Table([html.Thead(header), html.Tbody(rows)], className="feed-table"),
            _faulty(faulty),
        ],
    )


def _source_row(source: Mapping[str, Any], now_s: float, stale_after_s: float) -> html.Tr:
    last = source.get("last_data_s")
    last = None if last is None or last != last else last  # None or nan: nothing yet
    silent_s = None if last is None else now_s - float(last)
    stale = bool(source.get("stale")) or (silent_s is not None and silent_s >= stale_after_s)
    age = "never" if silent_s is None else f"{hhmm(float(last))} ({_ago(silent_s)})"
    rejected = source.get("rejected") or {}
    name = str(source.get("source", "?"))
    label = (
        [name, html.Span(" synthetic", className="feed-synthetic")]
        if source.get("synthetic")
        else [name]
    )
    return html.Tr(
        className="feed-stale" if stale else "",
        children=[
            html.Td([*label, html.Div(_kind(source), className="feed-kind")]),
            html.Td([age, html.Div("STALE", className="feed-stale-tag") if stale else None]),
            html.Td(f"{float(source.get('rate_per_min') or 0):,.0f}/min"),
            html.Td(_rejected(rejected, int(source.get("batches") or 0))),
        ],
    )


def _kind(source: Mapping[str, Any]) -> str:
    """What a source has sent: detectors, checkpoints, or both."""
    kinds = [
        name
        for name, keys in (
            ("detectors", ("detector_readings",)),
            ("checkpoints", ("scans", "checkpoint_counts")),
        )
        if any(int(source.get(key) or 0) for key in keys)
    ]
    return " + ".join(kinds)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def _rejected(rejected: Mapping[str, int], accepted: int) -> Any:
    total = sum(int(v) for v in rejected.values())
    if not total:
        return f"0 of {accepted:,}"
    reasons = [
        html.Div(f"{int(n):,} {reason.replace('_', ' ')}", className="feed-reason")
        for reason, n in sorted(rejected.items(), key=lambda kv: -int(kv[1]))
    ]
    return [html.Span(f"{total:,} of {accepted + total:,}"), *reasons]


def _faulty(faulty: Sequence[Mapping[str, Any]]) -> html.Div:
    if not faulty:
        return html.Div("All detectors usable", className="feed-ok")
    return html.Div(
        className="feed-faulty",
        children=[
            html.Div(f"{len(faulty)} detector(s) not used for assimilation", className="feed-warn"),
            html.Ul([html.Li(_faulty_line(d)) for d in faulty[:12]]),
        ],
    )


def _faulty_line(detector: Mapping[str, Any]) -> str:
    road = detector.get("road")
    where = f" ({road})" if road else ""
    return f"{detector.get('detector_id')}{where}: {detector.get('reason')}"


# ------------------------------------------------------------------ forecast error
def skill_table(skill: Mapping[str, Any] | None) -> html.Div:
    """Each traffic forecast horizon's recent error (flow RMSE, speed RMSE, readings)."""
    links = (skill or {}).get("links") or {}
    if not any((links.get(key) or {}).get("samples") for key, _ in HORIZON_LABELS):
        return html.Div(
            "No forecast has reached its time with feed data yet", className="feed-none"
        )
    header = html.Tr([html.Th(t) for t in ("forecast", "flow error", "speed error", "readings")])
    rows = []
    for key, label in HORIZON_LABELS:
        row = links.get(key) or {}
        rows.append(
            html.Tr(
                [
                    html.Td(label),
                    html.Td(_plus_minus(row.get("flow_rmse_vph"), "veh/h")),
                    html.Td(_plus_minus(row.get("speed_rmse_kph"), "km/h")),
                    html.Td(f"{int(row.get('samples') or 0):,}"),
                ]
            )
        )
    return html.Div(
        [
            html.Table([html.Thead(header), html.Tbody(rows)], className="feed-table"),
            html.Div("RMSE at detectors against the counts", className="feed-kind"),
        ]
    )


def _plus_minus(value: float | None, unit: str) -> str:
    return "—" if value is None else f"±{value:,.0f} {unit}"


def legend_skill(skill: Mapping[str, Any] | None) -> str:
    """The congestion legend's line: the +30 min forecast's recent flow error, or nothing."""
    row = ((skill or {}).get("links") or {}).get("plus30") or {}
    if not row.get("samples"):
        return ""
    return f"+30 min forecast: ±{row['flow_rmse_vph']:,.0f} veh/h over the last hour"


def wait_error_text(skill: Mapping[str, Any] | None, checkpoint: int) -> list[str]:
    """Beside a checkpoint's predicted waits: "+15 min wait ±2 min over the last hour", per
    horizon with samples (the panel's prediction)."""
    panel = ((skill or {}).get("checkpoints") or {}).get("panel") or {}
    out = []
    for key, label in HORIZON_LABELS[:2]:
        maes = (panel.get(key) or {}).get("wait_mae_s") or []
        if 0 <= checkpoint < len(maes) and maes[checkpoint] is not None:
            out.append(f"{label} wait ±{maes[checkpoint] / 60:.1f} min over the last hour")
    return out


def refusal(reason: str) -> html.Div:
    """A query's refusal in place of a chart."""
    return html.Div(reason, className="feed-none", role="status")


def wait_error_line(skill: Mapping[str, Any] | None, checkpoint: int) -> str:
    """The checkpoint tab's line under its predicted waits: their recent error, or why none."""
    errors = wait_error_text(skill, checkpoint)
    if errors:
        return "Predicted waits, recent error: " + "; ".join(errors)
    return "Predicted waits: no scans to judge them against yet"


# ------------------------------------------------------------------ charts
def _figure(title: str, height: int = 210) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template="plotly_dark",
        height=height,
        margin={"l": 44, "r": 44, "t": 26, "b": 30},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 11},
        title={"text": title, "font": {"size": 12}},
        legend={"orientation": "h", "y": -0.22, "font": {"size": 10}},
    )
    return fig


def _time_axis(fig: go.Figure, now_s: float, window_s: float) -> None:
    ticks = [now_s - window_s + k * window_s / 4 for k in range(5)]
    fig.update_xaxes(
        range=[now_s - window_s, now_s], tickvals=ticks, ticktext=[hhmm(t) for t in ticks]
    )


def road_panel(data: Mapping[str, Any]) -> html.Div:
    """A road's detectors: counted against modelled flow (veh/h), and speeds where measured."""
    detectors = list(data.get("detectors") or ())
    if not detectors:
        return html.Div("No detector on this road", className="feed-none")
    if not any(d["time_s"] for d in detectors):
        return html.Div(f"No readings from {data['name']} in the last hour", className="feed-none")
    fig = _figure(f"{data['name']}: flow, observed against modelled")
    for d in detectors:
        name = d["detector_id"]
        fig.add_scatter(x=d["time_s"], y=d["observed_flow_vph"], name=f"{name} counted",
                        mode="lines+markers", line={"color": OBSERVED_COLOUR}, marker={"size": 4})  # fmt: skip
        fig.add_scatter(x=d["time_s"], y=d["modelled_flow_vph"], name=f"{name} twin",
                        line={"color": MODELLED_COLOUR, "dash": "dot"})  # fmt: skip
        if any(v is not None for v in d["observed_speed_kph"]):
            fig.add_scatter(x=d["time_s"], y=d["observed_speed_kph"], name=f"{name} speed",
                            yaxis="y2", line={"color": "#d29922"})  # fmt: skip
            fig.add_scatter(x=d["time_s"], y=d["modelled_speed_kph"], name=f"{name} twin speed",
                            yaxis="y2", line={"color": "#d29922", "dash": "dot"})  # fmt: skip
    fig.update_layout(
        yaxis={"title": "veh/h", "rangemode": "tozero"},
        yaxis2={"title": "km/h", "overlaying": "y", "side": "right", "showgrid": False,
                "rangemode": "tozero", "tickformat": ",.0f"},
    )  # fmt: skip
    _time_axis(fig, float(data["now_s"]), float(data["window_s"]))
    return html.Div(
        dcc.Graph(figure=fig, config={"displayModeBar": False}, className="feed-graph"),
        className="feed-chart",
    )


def checkpoint_feed_panel(data: Mapping[str, Any], skill: Mapping[str, Any] | None) -> html.Div:
    """A checkpoint: scans against the model's throughput per minute, waits, lane rates in use
    and the recent error of its predicted wait."""
    rates = (
        f"Lane rates in use: face {data['face_rate_ppm']:.1f}/min, manual "
        f"{data['manual_rate_ppm']:.1f}/min"
        + (" (from the scans)" if data.get("face_rate_observed") else " (planned)")
    )
    notes = [html.Div(rates, className="feed-kind")]
    notes += [
        html.Div(t, className="feed-error") for t in wait_error_text(skill, data["checkpoint_id"])
    ]
    if not data["time_s"]:
        return html.Div([html.Div(f"No scans from {data['name']} in the last hour",
                                  className="feed-none"), *notes])  # fmt: skip
    fig = _figure(f"{data['name']}: observed against modelled")
    fig.add_bar(x=data["time_s"], y=data["observed_served_ppm"], name="scanned /min",
                marker_color="#8b949e")  # fmt: skip
    fig.add_scatter(x=data["time_s"], y=data["modelled_served_ppm"], name="twin served /min",
                    line={"color": MODELLED_COLOUR, "dash": "dot"})  # fmt: skip
    minutes = [None if w is None else w / 60 for w in data["observed_wait_s"]]
    model = [None if w is None else w / 60 for w in data["modelled_wait_s"]]
    fig.add_scatter(x=data["time_s"], y=minutes, name="wait from counts (min)", yaxis="y2",
                    line={"color": "#3fb950"})  # fmt: skip
    fig.add_scatter(x=data["time_s"], y=model, name="twin wait (min)", yaxis="y2",
                    line={"color": "#3fb950", "dash": "dot"})  # fmt: skip
    fig.update_layout(
        yaxis={"title": "persons / min", "rangemode": "tozero"},
        yaxis2={"title": "wait min", "overlaying": "y", "side": "right", "showgrid": False,
                "rangemode": "tozero", "tickformat": ",.0f"},
    )  # fmt: skip
    _time_axis(fig, float(data["now_s"]), float(data["window_s"]))
    graph = dcc.Graph(figure=fig, config={"displayModeBar": False}, className="feed-graph")
    return html.Div([graph, *notes], className="feed-chart")
