"""The replay page's pieces about one recorded day: the day list, the timeline marks, the day
charts, the operator log and the alert list at the replay time.

Pure builders of plain data (the service's day dicts); no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from layouts.kpis import KPIS
from twin.clock_text import hhmm

CATEGORIES = {
    "set_lanes": "lanes",
    "set_signal_plan": "signals",
    "dispatch_corridor": "corridor",
    "cancel_corridor": "corridor",
    "acknowledge": "ack",
    "shelve": "ack",
    "unshelve": "ack",
    "pause": "clock",
    "resume": "clock",
    "speed": "clock",
}
CATEGORY_LABELS = {
    "signals": "Signal plan",
    "lanes": "Checkpoint lanes",
    "corridor": "Green corridor",
    "ack": "Alert ack",
    "clock": "Clock",
    "other": "Other",
}
LINE_DAY = "#56b6d6"
LINE_ORIGINAL = "#8b98a8"


def category(item: Mapping[str, Any]) -> str:
    """The log's kind of a recorded input (``lanes``, ``signals``, ``corridor``, ``ack``, ``clock``)."""
    return CATEGORIES.get(
        str(item.get("name", "")), "clock" if item.get("kind") == "clock" else "other"
    )


def _greens(values: Any) -> str:
    try:
        return "/".join(f"{float(v):g}" for v in values)
    except (TypeError, ValueError):
        return "?"


def describe_input(item: Mapping[str, Any], names: Mapping[str, Mapping[Any, str]]) -> str:
    """One line saying what a recorded input changed, in the control room's words."""
    payload = item.get("payload") if isinstance(item.get("payload"), Mapping) else {}
    before, after, name = item.get("before"), item.get("after"), item.get("name")
    if name == "set_lanes":
        cp = payload.get("checkpoint_id")
        where = names.get("checkpoints", {}).get(cp, f"checkpoint {cp}")
        was = f"{before} → " if before is not None else ""
        return f"{where}: {payload.get('lane_type', '?')} lanes {was}{payload.get('count')}"
    if name == "set_signal_plan":
        node = payload.get("node_id")
        where = names.get("junctions", {}).get(node, f"junction {node}")
        old = before if isinstance(before, Mapping) else {}
        was = (
            f"cycle {float(old['cycle_s']):g} s, greens {_greens(old.get('greens_s', ()))} → "
            if "cycle_s" in old
            else ""
        )
        return (
            f"{where}: {was}cycle {float(payload.get('cycle_s', math.nan)):g} s, greens "
            f"{_greens(payload.get('greens_s', ()))} s"
        )
    if name == "dispatch_corridor":
        hospital = names.get("hospitals", {}).get(
            payload.get("hospital_id"), "the nearest hospital"
        )
        route = after if isinstance(after, Mapping) else {}
        extent = (
            f" ({route['distance_m'] / 1000:.1f} km, {route.get('signals', 0)} signals)"
            if "distance_m" in route
            else ""
        )
        return (
            f"Green corridor {payload.get('corridor_id', '')} from {float(payload.get('lat', math.nan)):.4f}, "
            f"{float(payload.get('lon', math.nan)):.4f} to {hospital}{extent}"
        )
    if name == "cancel_corridor":
        return f"Green corridor {payload.get('corridor_id', '')} cancelled"
    if name == "acknowledge":
        info = after if isinstance(after, Mapping) else {}
        severity = info.get("severity") or ""
        group = (
            f"every {info['kind']} alert"
            if info.get("kind")
            else f"alert {payload.get('alert_id')}"
        )
        return f"Acknowledged {group}" + (f" ({severity})" if severity else "")
    if item.get("kind") == "clock":
        if name == "speed":
            return f"Clock speed ×{float(payload.get('speed', math.nan)):g}"
        return "Clock paused" if name == "pause" else "Clock resumed"
    return f"{name}"


# ---------------------------------------------------------------- day list
def _range_text(row: Mapping[str, Any]) -> str:
    return f"{hhmm(row.get('start_s'))}–{hhmm(row.get('end_s'))}"


def changes_text(
    changes: Mapping[str, Any] | None,
    names: Mapping[str, Mapping[Any, str]],
    inputs: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """A fork's changes (its header's ``changes``) as lines; ``inputs`` (the original day's)
    name the recorded actions dropped or moved."""
    if not changes:
        return []
    by_seq = {i["seq"]: i for i in inputs}

    def recorded(seq: int) -> str:
        item = by_seq.get(seq)
        if item is None:
            return f"recorded action #{seq}"
        return (
            f"{hhmm(item['sim_time_s'])} {CATEGORY_LABELS[category(item)].lower()} by {item.get('user', '')} "
            f"(#{seq}: {describe_input(item, names)})"
        )

    lines = []
    for add in changes.get("add", ()):
        action = add.get("action") or {}
        lines.append(
            describe_input({"name": action.get("kind"), "payload": action, "kind": "action"}, names)
        )
    lines += [f"Dropped: {recorded(seq)}" for seq in changes.get("drop", ())]
    lines += [f"Moved to {hhmm(to_s)}: {recorded(seq)}" for seq, to_s in changes.get("move", ())]
    return lines


def _day_entry(
    row: Mapping[str, Any],
    current: str | None,
    names: Mapping[str, Mapping[Any, str]],
    depth: int = 0,
) -> list[Any]:
    fork = row.get("kind") == "fork"
    if row.get("error") and not row.get("replayable"):
        entry = html.Div(
            className="rp-day rp-day-off",
            title=row["error"],
            children=[
                html.Div(row.get("name") or row["id"], className="rp-day-name"),
                html.Div(row["error"], className="rp-day-meta"),
            ],
        )
        return [entry]
    badges = []
    if fork:
        badges.append(html.Span("fork", className="rp-badge rp-badge-fork"))
    if not row.get("closed"):
        badges.append(html.Span("live, recording", className="rp-badge rp-badge-live"))
    meta = (
        f"{'from ' + hhmm(row.get('fork_at_s')) + ' · ' if fork else row.get('date', '') + ' · '}"
        f"{_range_text(row)} · {row.get('actions', 0)} actions · {row.get('alerts', 0)} alerts"
    )
    body = [
        html.Div(
            [html.Span(row.get("name") or row["id"], className="rp-day-name"), *badges],
            className="rp-day-head",
        ),
        html.Div(meta, className="rp-day-meta"),
    ]
    if fork:
        body += [
            html.Div(line, className="rp-day-change")
            for line in changes_text(row.get("changes"), names)[:3]
        ]
    elif row.get("scenario"):
        body.append(html.Div(row["scenario"], className="rp-day-meta"))
    link = dcc.Link(
        body,
        href=f"/replay?day={row['id']}",
        className=f"rp-day{' current' if row['id'] == current else ''}"
        f"{' rp-day-fork' if fork else ''}",
        style={"marginLeft": f"{depth * 1.1}rem"} if depth else None,
    )
    out = [link]
    for child in row.get("forks", ()):
        out += _day_entry(child, current, names, depth + 1)
    return out


def day_list(
    days: Sequence[Mapping[str, Any]],
    current: str | None,
    *,
    names: Mapping[str, Mapping[Any, str]],
    bundled: Mapping[str, Any] | None = None,
    folder_set: bool = True,
) -> list[Any]:
    """The recorded days, each followed by its forks (indented)."""
    out: list[Any] = []
    if not folder_set:
        return [
            html.Div(
                "No recordings folder is configured: start the app with --recordings FOLDER.",
                className="alert-empty",
            )
        ]
    if bundled is not None and bundled.get("state") == "running":
        out.append(
            html.Div(
                className="rp-day rp-day-off",
                children=[
                    html.Div("Preparing the bundled recorded day…", className="rp-day-name"),
                    html.Div(
                        className="rp-progress",
                        children=[
                            html.Div(
                                className="rp-progress-bar",
                                style={"width": f"{100 * bundled.get('progress', 0):.0f}%"},
                            )
                        ],
                    ),
                ],
            )
        )
    elif bundled is not None and bundled.get("state") == "failed":
        out.append(
            html.Div(
                f"The bundled day could not be recorded: {bundled.get('error', '')}",
                className="ops-note ops-refused",
            )
        )
    for row in days:
        out += _day_entry(row, current, names)
    if not out:
        out.append(
            html.Div(
                "No recorded days yet. The live twin records each day here.",
                className="alert-empty",
            )
        )
    return out


# ---------------------------------------------------------------- timeline
def _left(time_s: float, start_s: float, end_s: float) -> str:
    share = (time_s - start_s) / max(end_s - start_s, 1.0)
    return f"{100 * min(max(share, 0.0), 1.0):.3f}%"


def timeline_ticks(start_s: float, end_s: float) -> list[html.Div]:
    """Hour (or half-hour, for short days) ticks with their labels."""
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or end_s <= start_s:
        return []
    step = 3600 if end_s - start_s > 3 * 3600 else 1800 if end_s - start_s > 3600 else 600
    first = math.ceil(start_s / step) * step
    return [
        html.Div(hhmm(t), className="rp-tick", style={"left": _left(t, start_s, end_s)})
        for t in np.arange(first, end_s + 1e-6, step)
    ]


def timeline_marks(
    inputs: Sequence[Mapping[str, Any]],
    alert_events: Sequence[Mapping[str, Any]],
    start_s: float,
    end_s: float,
    names: Mapping[str, Mapping[Any, str]],
) -> list[html.Div]:
    """A mark per operator input (actions and acknowledgements, upper row) and per alert
    (lower row), coloured by kind and severity; ``data-tip`` is the hover text, ``data-t`` the
    time a click jumps to."""
    marks = []
    for item in inputs:
        if item["kind"] not in ("action", "ack", "shelve"):
            continue
        cat = category(item)
        refused = item.get("result") != "ok"
        tip = (
            f"{hhmm(item['sim_time_s'])} · {item.get('user', '')} ({item.get('role', '')}) · "
            f"{CATEGORY_LABELS[cat]}{' — REFUSED' if refused else ''}\n{describe_input(item, names)}"
        )
        marks.append(
            html.Div(
                className=f"rp-mark rp-mark-input cat-{cat}{' refused' if refused else ''}",
                style={"left": _left(item["sim_time_s"], start_s, end_s)},
                **{
                    "data-t": f"{item['sim_time_s']:.0f}",
                    "data-seq": str(item["seq"]),
                    "data-tip": tip,
                    "data-rp": "mark",
                },
            )
        )
    for alert in alert_events:
        severity = str(alert.get("severity", "advisory"))
        tip = (
            f"{hhmm(alert['time_s'])} · {severity.upper()} alert raised\n{alert.get('place', '')}: "
            f"{alert.get('message', '')}"
        )
        marks.append(
            html.Div(
                className=f"rp-mark rp-mark-alert sev-{severity}",
                style={"left": _left(alert["time_s"], start_s, end_s)},
                **{"data-t": f"{alert['time_s']:.0f}", "data-tip": tip, "data-rp": "mark"},
            )
        )
    return marks


# ---------------------------------------------------------------- day charts
def iso_times(times_s: np.ndarray, day: str | None) -> list[str]:
    """Seconds since the day's midnight as ISO date-times (the charts' x)."""
    base = datetime.combine(
        date.fromisoformat(day) if day else date(2000, 1, 1), datetime.min.time(), tzinfo=UTC
    )
    return [(base + timedelta(seconds=float(t))).strftime("%Y-%m-%d %H:%M:%S") for t in times_s]


def day_charts(
    samples: Mapping[str, np.ndarray],
    *,
    day: str | None,
    start_s: float,
    end_s: float,
    original: Mapping[str, np.ndarray] | None = None,
    cursor_s: float | None = None,
) -> go.Figure:
    """The day's KPIs, one small chart each, with the replay cursor; ``original`` (a fork's
    parent day) is drawn dashed behind."""
    fig = make_subplots(
        rows=1,
        cols=len(KPIS),
        horizontal_spacing=0.028,
        subplot_titles=[
            f"{spec.label} ({spec.unit})" if spec.unit else spec.label for spec in KPIS
        ],
    )
    x_range = iso_times(np.array([start_s, end_s]), day)
    for k, spec in enumerate(KPIS, start=1):
        for series, colour, name, dash_style in (
            (original, LINE_ORIGINAL, "original", "dot"),
            (samples, LINE_DAY, "this day" if original is None else "fork", None),
        ):
            if series is None or spec.name not in series:
                continue
            times = np.asarray(series["time_s"], dtype=float)
            inside = (times >= start_s - 1e-6) & (times <= end_s + 1e-6)
            keep = inside if series is original else np.ones(len(times), bool)
            values = np.asarray(series[spec.name], dtype=float)[keep] * spec.scale
            fig.add_trace(
                go.Scatter(
                    x=iso_times(times[keep], day),
                    y=values,
                    mode="lines",
                    name=name,
                    showlegend=False,
                    line={"color": colour, "width": 1.6, "dash": dash_style},
                    hovertemplate=f"%{{x|%H:%M}} {name}: %{{y:,.{spec.digits}f}} {spec.unit}<extra></extra>",
                ),
                row=1,
                col=k,
            )
        axis = "" if k == 1 else str(k)
        fig.add_shape(
            type="line",
            xref=f"x{axis}",
            yref=f"y{axis} domain",
            x0=x_range[0],
            x1=x_range[0],
            y0=0,
            y1=1,
            line={"color": "#e6edf3", "width": 1.2},
        )
    if cursor_s is not None and math.isfinite(cursor_s):
        at = iso_times(np.array([cursor_s]), day)[0]
        for shape in fig.layout.shapes:
            shape.x0 = shape.x1 = at
    fig.update_xaxes(
        range=x_range,
        tickformat="%H:%M",
        nticks=4,
        showgrid=False,
        color="#8b98a8",
        linecolor="#2a313d",
        fixedrange=True,
    )
    fig.update_yaxes(
        color="#8b98a8", gridcolor="#232a35", zeroline=False, fixedrange=True, nticks=4
    )
    fig.update_annotations(font={"size": 11, "color": "#8b98a8"})
    fig.update_layout(
        margin={"l": 34, "r": 8, "t": 22, "b": 22},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#181d25",
        font={"size": 10, "color": "#8b98a8", "family": "Inter, DejaVu Sans, sans-serif"},
        hovermode="x",
        hoverlabel={"bgcolor": "#1f2530", "font": {"color": "#d3d9e1"}},
        dragmode=False,
        uirevision="replay",
    )
    return fig


# ---------------------------------------------------------------- operator log
def log_filters(
    inputs: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Options of the log's kind and user filters (kinds and users present in the day)."""
    kinds = sorted({category(i) for i in inputs}, key=list(CATEGORY_LABELS).index)
    users = sorted({str(i.get("user", "")) for i in inputs})
    return (
        [{"label": CATEGORY_LABELS[k], "value": k} for k in kinds],
        [{"label": u, "value": u} for u in users],
    )


def _change_text(item: Mapping[str, Any]) -> str:
    before, after = item.get("before"), item.get("after")
    if item.get("kind") != "action" or item.get("name") in (
        "set_lanes",
        "set_signal_plan",
        "dispatch_corridor",
    ):
        return ""  # the line itself says what changed
    if (
        isinstance(before, Mapping)
        and isinstance(after, Mapping)
        and item.get("name") != "set_signal_plan"
    ):
        changed = [k for k in after if before.get(k) != after.get(k) and after.get(k) is not None]
        return ", ".join(f"{k}: {before.get(k)} → {after[k]}" for k in changed[:3])
    return ""


def operator_log(
    inputs: Sequence[Mapping[str, Any]],
    names: Mapping[str, Mapping[Any, str]],
    *,
    kinds: Sequence[str] | None = None,
    users: Sequence[str] | None = None,
) -> list[html.Div]:
    """The recorded inputs in order: time, user, kind, what changed and the result; only the
    chosen kinds and users (all when none chosen)."""
    rows = []
    for item in inputs:
        cat = category(item)
        if (kinds and cat not in kinds) or (users and str(item.get("user", "")) not in users):
            continue
        ok = item.get("result") == "ok"
        detail = _change_text(item)
        rows.append(
            html.Div(
                className=f"rp-log-entry cat-{cat}{'' if ok else ' refused'}",
                **{
                    "data-t": f"{item['sim_time_s']:.0f}",
                    "data-seq": str(item["seq"]),
                    "data-rp": "log",
                },
                title="Jump to this minute",
                children=[
                    html.Div(
                        className="rp-log-head",
                        children=[
                            html.Span(
                                hhmm(item["sim_time_s"], seconds=True), className="rp-log-time"
                            ),
                            html.Span(CATEGORY_LABELS[cat], className=f"rp-log-kind cat-{cat}"),
                            html.Span(
                                f"{item.get('user', '')} · {item.get('role', '')}",
                                className="rp-log-user",
                            ),
                            html.Span(
                                "applied" if ok else "refused",
                                className=f"rp-log-result {'ok' if ok else 'bad'}",
                            ),
                        ],
                    ),
                    html.Div(describe_input(item, names), className="rp-log-text"),
                    html.Div(detail, className="rp-log-detail") if detail else None,
                    html.Div(f"Reason: {item.get('reason', '')}", className="rp-log-detail bad")
                    if not ok
                    else None,
                ],
            )
        )
    if not rows:
        return [
            html.Div(
                "No operator inputs"
                + (" match the filter" if kinds or users else " were recorded"),
                className="alert-empty",
            )
        ]
    return rows


# ---------------------------------------------------------------- alerts at the replay time
def replay_alerts(alerts: Sequence[Mapping[str, Any]]) -> list[html.Div]:
    """The alert list as the operators saw it (no acknowledge buttons: this is the past)."""
    if not alerts:
        return [html.Div("No open alerts at this time", className="alert-empty")]
    out = []
    for alert in alerts:
        count = alert.get("count", 1)
        out.append(
            html.Div(
                className=f"alert sev-{alert.get('severity', 'advisory')}{' acked' if alert.get('acked') else ''}",
                **{"data-alert-id": str(alert.get("id"))},
                children=[
                    html.Div(
                        className="alert-body rp-alert-body",
                        children=[
                            html.Div(
                                className="alert-head",
                                children=[
                                    html.Span(
                                        str(alert.get("severity", "")).upper(),
                                        className="alert-sev",
                                    ),
                                    html.Span(hhmm(alert.get("raised_s")), className="alert-time"),
                                    html.Span("acknowledged", className="rp-acked")
                                    if alert.get("acked")
                                    else None,
                                    html.Span(f"×{count}", className="alert-count")
                                    if count > 1
                                    else None,
                                ],
                            ),
                            html.Div(alert.get("place", ""), className="alert-place"),
                            html.Div(alert.get("message", ""), className="alert-msg"),
                        ],
                    )
                ],
            )
        )
    return out


def alert_head(alerts: Sequence[Mapping[str, Any]]) -> str:
    open_ = sum(1 for a in alerts if not a.get("acked"))
    return f"{len(alerts)} listed · {open_} not acknowledged" if alerts else ""
