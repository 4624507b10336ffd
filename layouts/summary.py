"""The executive summary page (/summary): a few large plain numbers, each with its unit, a
one-line meaning and its definition (the label's tooltip), attendance by venue, what needs a
decision (summarised, each linking to the map) and the trends of the last hour or the day so far.

Pure builders: :func:`summary_page` is the static frame (refreshed by ``SUMMARY_TICK``);
:func:`summary_body` turns :func:`twin.service.summary.executive_summary`'s figures and a KPI series
(``time_s`` + one array per KPI name: the frame's last hour or the day's recording) into
components. The page is one screen that scales with it (``assets/summary.css``: a CSS grid and a
root size that follows the viewport, so 4K shows the 1080p page at twice the size); printing
gives a one-page report.

A figure the wall shows too is named and defined here exactly as there: its label and definition
come from :data:`layouts.kpis.KPIS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
from dash import dcc, html

from layouts import ids
from layouts.kpis import KPIS, format_value
from twin.clock_text import hhmm

SPANS = (("day", "Day so far"), ("hour", "Last hour"))
SEVERITY_ORDER = ("critical", "warning", "advisory")
WALL = {spec.name: spec for spec in KPIS}
TRENDS = ("spectators_on_site", "worst_wait_s", "total_delay_vehh", "open_alerts")
"""The KPI series drawn as trends (labels, units and definitions from the wall's KPIS)."""

DEFINITIONS = {
    "on_site": WALL["spectators_on_site"].definition,
    "attendance": "Spectators past a venue's entrance checkpoint and not yet gone: inside the halls, "
    "against the venues' seats. Part of the spectators on site.",
    "worst_wait": WALL["worst_wait_s"].definition,
    "mean_wait": "The wait now at each park gate and venue entrance, averaged over the people "
    "queueing there (a long queue counts more than a short one).",
    "under_target": "Of everyone who has joined a checkpoint queue today, the share whose expected "
    "wait on joining was within the target (a spectator screened at a gate and at "
    "the entrance counts at each).",
    "delay_index": "Vehicles held up on the modelled roads now, as a multiple of the same roads at "
    "this time on a normal day without the event (1.0 = normal).",
    "ambulances": "Ambulance runs dispatched with a green corridor today: arrived at hospital, "
    "median trip, and the time the corridors saved against the route without one.",
    "alerts": WALL["open_alerts"].definition,
}
LABELS = {
    "on_site": WALL["spectators_on_site"].label,
    "attendance": "Spectators inside venues",
    "worst_wait": WALL["worst_wait_s"].label,
    "mean_wait": "Average checkpoint wait",
    "under_target": "Waited under target",
    "delay_index": "Road delay index",
    "ambulances": "Ambulance responses",
    "alerts": WALL["open_alerts"].label,
}
OWNERS = {"decide": "Your decision", "acting": "Operators acting"}


def minutes(value_s: float | None, digits: int = 1) -> str:
    """Seconds shown as minutes; ``∞`` for a queue that does not move."""
    if value_s is not None and math.isinf(value_s):
        return "∞"
    return format_value(None if value_s is None else value_s / 60.0, digits)


def percent(share: float | None) -> str:
    return format_value(None if share is None else 100.0 * share, 0)


def figure(
    key: str, value: str | None, unit: str, meaning: str, *, level: int = 0, empty: str = ""
) -> html.Div:
    """One large number with its label (tooltip: the definition), unit and one-line meaning;
    ``value=None`` shows ``empty`` (what is true instead, e.g. "none yet") in its place."""
    number = (
        [html.Span(value, className="sum-value"), html.Span(unit, className="sum-unit")]
        if value is not None
        else [html.Span(empty, className="sum-value sum-none")]
    )
    return html.Div(
        className=f"sum-figure level-{level}",
        title=DEFINITIONS[key],
        **{"data-figure": key},
        children=[
            html.Div(LABELS[key], className="sum-label"),
            html.Div(number, className="sum-number"),
            html.Div(meaning, className="sum-meaning"),
        ],
    )


def _attendance_totals(rows: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    inside = float(sum(r["inside_persons"] for r in rows))
    capacity = float(sum(r["capacity"] or 0.0 for r in rows))
    return inside, capacity


def _wait_level(wait_s: float | None, target_s: float | None) -> int:
    if wait_s is None or not target_s:
        return 0
    return int(wait_s > 0.5 * target_s) + int(wait_s > target_s) + int(wait_s > 1.5 * target_s)


def _ambulance_figure(amb: Mapping[str, Any]) -> html.Div:
    en_route = int(amb.get("en_route") or 0)
    moving = f"{en_route} en route" if en_route else "none en route"
    if not amb.get("dispatched"):
        return figure(
            "ambulances",
            None,
            "",
            "runs dispatched with a green corridor are counted here",
            empty="no ambulance runs yet",
        )
    if not amb["arrived"]:
        return figure("ambulances", "0", "arrived", f"{moving}; no run has reached hospital yet")
    parts = [f"median trip {minutes(amb['median_trip_s'])} min"]
    if amb.get("time_saved_s") is not None:
        parts.append(f"corridors saved {minutes(amb['time_saved_s'])} min in total")
    parts.append(moving)
    return figure("ambulances", format_value(amb["arrived"]), "arrived", "; ".join(parts))


def headline(summary: Mapping[str, Any], *, normal_ready: bool) -> list[html.Div]:
    """The row of large numbers."""
    rows = summary["attendance"]
    inside, capacity = _attendance_totals(rows)
    crowd = summary.get("crowd") or {}
    cp = summary["checkpoints"] or {}
    target_s = cp.get("wait_target_s")
    target = f"{minutes(target_s, 0)} min" if target_s else "the target"
    worst_s, mean_s = cp.get("worst_wait_s"), cp.get("mean_wait_s")
    net = summary["network"]
    alerts = summary["alerts"]
    index = net["delay_index"]
    if index is not None:
        index_figure = figure(
            "delay_index",
            format_value(index, 1),
            "× normal",
            (
                f"{format_value(net['delay_rate_veh'])} vehicles held up now; "
                f"{format_value(net['normal_delay_rate_veh'])} on a normal day at this time"
            ),
            level=int(index >= 1.5) + int(index >= 2.5) + int(index >= 4.0),
        )
    elif not normal_ready:
        index_figure = figure(
            "delay_index",
            "…",
            "× normal",
            "computing normal day… (the same roads without the event)",
        )
    else:
        index_figure = figure(
            "delay_index", None, "", "no normal-day baseline for this time", empty="not available"
        )
    on_site = summary.get("on_site_persons")
    if on_site is None:
        on_site_figure = figure("on_site", None, "", "this scenario has no venues", empty="none")
    else:
        on_site_figure = figure(
            "on_site",
            format_value(on_site),
            "persons",
            (
                f"{format_value(crowd.get('inside_persons'))} inside venues, "
                f"{format_value(crowd.get('queued_persons'))} queueing, "
                f"{format_value(crowd.get('moving_persons'))} on their way"
            ),
        )
    seats = (
        f"{percent(inside / capacity)} % of {format_value(capacity)} seats in {len(rows)} venues"
        if capacity
        else f"in {len(rows)} venues"
    )
    share = cp.get("share_under_target")
    if not cp:
        waits = [
            figure("worst_wait", None, "", "this scenario has no checkpoints", empty="none"),
            figure("mean_wait", None, "", "this scenario has no checkpoints", empty="none"),
        ]
    else:
        worst_where = f"at {cp['worst_name']}; " if cp.get("worst_name") and worst_s else ""
        waits = [
            figure(
                "worst_wait",
                minutes(worst_s),
                "min",
                f"{worst_where}target {target}",
                level=_wait_level(worst_s, target_s),
            ),
            figure(
                "mean_wait",
                minutes(mean_s),
                "min",
                "averaged over the people queueing now" if mean_s else "nobody is queueing now",
            ),
        ]
    return [
        on_site_figure,
        figure("attendance", format_value(inside), "persons", seats),
        *waits,
        figure("under_target", percent(share), "%", f"of arrivals so far waited less than {target}")
        if share is not None
        else figure(
            "under_target",
            None,
            "",
            "nobody has queued at a checkpoint yet",
            empty="no arrivals yet",
        ),
        index_figure,
        _ambulance_figure(summary["ambulances"]),
        figure(
            "alerts",
            format_value(sum(alerts.values())),
            "alerts",
            " · ".join(f"{alerts.get(s, 0)} {s}" for s in SEVERITY_ORDER),
            level=3 if alerts.get("critical") else 2 if alerts.get("warning") else 0,
        ),
    ]


def _bar(share: float | None) -> html.Div:
    width = 0.0 if share is None or not math.isfinite(share) else max(0.0, min(share, 1.0)) * 100
    return html.Div(
        html.Div(className="sum-bar-fill", style={"width": f"{width:.0f}%"}), className="sum-bar"
    )


VENUE_COLUMNS = (  # (heading, tooltip)
    ("Venue", "Hover over a venue for its seats"),
    ("Session", "The session under way (since) or the next one today (at)"),
    ("Inside / expected", "Spectators inside the venue now, against the session's expected crowd"),
    ("Arrived", "Spectators inside as a share of the session's expected crowd"),
    ("Queueing", "The venue's spectators queueing now, at its entrance and at the park gates"),
)


def attendance_table(
    rows: Sequence[Mapping[str, Any]], *, time_s: float | None = None
) -> html.Table:
    """Per venue: the session, inside against its expected crowd, queueing (seats in the
    venue's tooltip)."""
    head = html.Thead(html.Tr([html.Th(h, title=tip or None) for h, tip in VENUE_COLUMNS]))
    body = []
    for r in rows:
        seats = f"{format_value(r['capacity'])} seats" if r["capacity"] else "seats unknown"
        cells = [html.Td(r["name"], className="sum-venue", title=f"{r['name']}: {seats}")]
        if r["session"] is None:
            cells += [
                html.Td("No more sessions today", className="sum-none"),
                html.Td(format_value(r["inside_persons"]), className="sum-num"),
                html.Td(),
            ]
        else:
            started = time_s is not None and r["starts_s"] <= time_s
            when = f"since {hhmm(r['starts_s'])}" if started else f"at {hhmm(r['starts_s'])}"
            arrived = r["inside_persons"] / r["expected_persons"] if r["expected_persons"] else None
            cells += [
                html.Td(
                    [
                        html.Span(when, className="sum-when"),
                        " ",
                        html.Span(r["session"], className="sum-session"),
                    ],
                    className="sum-session-cell",
                ),
                html.Td(
                    f"{format_value(r['inside_persons'])} / {format_value(r['expected_persons'])}"
                    if r["expected_persons"]
                    else format_value(r["inside_persons"]),
                    className="sum-num",
                ),
                html.Td(
                    [_bar(arrived), html.Span(f"{percent(arrived)} %", className="sum-pct")]
                    if arrived is not None
                    else "",
                    className="sum-arrived",
                ),
            ]
        cells.append(html.Td(format_value(r["queued_persons"]), className="sum-num"))
        body.append(html.Tr(cells, **{"data-venue": str(r["venue_id"])}))
    if not rows:
        body.append(
            html.Tr(
                html.Td(
                    "This scenario has no venues.", colSpan=len(VENUE_COLUMNS), className="sum-none"
                )
            )
        )
    return html.Table([head, html.Tbody(body)], className="sum-table")


def map_href(focus: Mapping[str, Any] | None) -> str:
    """The map view of a decision: ``/map`` with the tab and the place to show as query."""
    query = urlencode({k: v for k, v in (focus or {}).items() if v is not None})
    return "/map" + (f"?{query}" if query else "")


def decisions(items: Sequence[Mapping[str, Any]]) -> html.Div | html.Ol:
    """The "needs a decision" list: summarised items, the executive's own first, each a link to
    the map (or a calm line when there is nothing)."""
    if not items:
        return html.Div(
            className="sum-calm sum-calm-card",
            children=[
                html.Div("Nothing needs a decision now.", className="sum-decision-what"),
                html.Div(
                    "Waits, crowds and roads are within their targets or in the operators' hands.",
                    className="sum-decision-detail",
                ),
                dcc.Link("Open the map →", href="/map", className="sum-decision-go"),
            ],
        )
    cards = []
    for item in items:
        owner = item.get("owner")
        cards.append(
            html.Li(
                className=f"sum-decision kind-{item['kind']} level-{item.get('level', 2)} owner-{owner or 'none'}",
                **{"data-kind": item["kind"]},
                children=dcc.Link(
                    href=map_href(item.get("focus")),
                    className="sum-decision-link",
                    children=[
                        html.Div(item["what"], className="sum-decision-what"),
                        html.Span("Map →", className="sum-decision-go"),
                        html.Div(
                            [
                                html.Span(OWNERS[owner], className="sum-owner")
                                if owner in OWNERS
                                else None,
                                item.get("detail") or "",
                            ],
                            className="sum-decision-detail",
                        ),
                    ],
                ),
            )
        )
    if len(cards) < 3:
        cards.append(html.Li("Nothing else needs a decision now.", className="sum-decision-rest"))
    return html.Ol(cards, className="sum-decisions")


# ------------------------------------------------------------------ trends
def value_ticks(high: float, *, integer: bool = False) -> list[float]:
    """Ticks from 0 to a round top at or above ``high``: steps of 1, 2, 2.5 or 5 × 10^k (no 2.5
    below 10 for whole-number series), four or five intervals."""
    high = high if math.isfinite(high) and high > 0 else 1.0
    raw = high / 4
    exponent = 10.0 ** math.floor(math.log10(raw))
    steps = (1.0, 2.0, 5.0, 10.0) if integer and raw < 10 else (1.0, 2.0, 2.5, 5.0, 10.0)
    step = next(m * exponent for m in steps if m * exponent >= raw - 1e-9)
    if integer:
        step = max(step, 1.0)
    count = max(int(math.ceil(high / step - 1e-9)), 1)
    return [k * step for k in range(count + 1)]


def time_ticks(start_s: float, end_s: float, *, most: int = 5) -> list[float]:
    """Round clock times (every 5, 10, 15, 30, 60, 120 or 180 min) inside ``[start_s, end_s]``."""
    for step_min in (5, 10, 15, 30, 60, 120, 180, 360):
        step = step_min * 60.0
        first = math.ceil(start_s / step - 1e-9) * step
        ticks = list(np.arange(first, end_s + 1e-6, step))
        if len(ticks) <= most:
            return [float(t) for t in ticks]
    return [start_s, end_s]


def trend_chart(
    times_s: np.ndarray,
    values: np.ndarray,
    *,
    start_s: float,
    end_s: float,
    digits: int = 0,
    target: float | None = None,
    target_label: str = "",
    label: str = "",
) -> html.Div:
    """A line chart with a value axis (from 0) and a clock axis: the drawing is an SVG stretched
    to its box (strokes keep their width, thicker on a large chart), the axis labels are text
    placed at the same fractions, so it fills any box and prints sharply."""
    finite = np.isfinite(values)
    t, v = np.asarray(times_s, dtype=float)[finite], np.asarray(values, dtype=float)[finite]
    keep = (t >= start_s - 1e-6) & (t <= end_s + 1e-6)
    t, v = t[keep], v[keep]
    y_ticks = value_ticks(
        max(float(v.max()) if len(v) else 0.0, target or 0.0) * 1.05, integer=digits == 0
    )
    top = y_ticks[-1]
    span_s = max(end_s - start_s, 1.0)
    w, h = 1000.0, 1000.0
    x_of = lambda s: w * (np.asarray(s) - start_s) / span_s  # noqa: E731
    y_of = lambda y: h - h * np.asarray(y) / top  # noqa: E731
    x_ticks = time_ticks(start_s, end_s)
    grid = "".join(
        f'<line x1="0" x2="{w:.0f}" y1="{y_of(y):.1f}" y2="{y_of(y):.1f}" class="g"/>'
        for y in y_ticks
    )
    grid += "".join(
        f'<line y1="0" y2="{h:.0f}" x1="{x_of(x):.1f}" x2="{x_of(x):.1f}" class="g"/>'
        for x in x_ticks
    )
    body = ""
    if len(t) >= 2:
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x_of(t), y_of(v), strict=True))
        body = (
            f'<polygon points="{x_of(t[0]):.1f},{h:.0f} {points} {x_of(t[-1]):.1f},{h:.0f}" class="a"/>'
            f'<polyline points="{points}" class="l"/>'
        )
    if target is not None and 0 < target <= top:
        body += (
            f'<line x1="0" x2="{w:.0f}" y1="{y_of(target):.1f}" y2="{y_of(target):.1f}" class="t"/>'
        )
    style = (
        "<style>.g{stroke:#2a313d;stroke-width:1}.l{fill:none;stroke:#56b6d6;stroke-width:2.6;"
        "stroke-linejoin:round}.a{fill:#56b6d6;fill-opacity:0.12;stroke:none}"
        ".t{stroke:#f08c2e;stroke-width:1.6;stroke-dasharray:6 5}"
        "line,polyline{vector-effect:non-scaling-stroke}"
        "@media (min-width:520px){.l{stroke-width:4}.g{stroke-width:1.5}.t{stroke-width:2.6}}</style>"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'preserveAspectRatio="none">{style}{grid}{body}</svg>'
    )
    plot = [
        html.Img(
            src="data:image/svg+xml;utf8," + quote(svg),
            className="sum-plot-img",
            alt=f"{label}, {hhmm(start_s)} to {hhmm(end_s)}",
        )
    ]
    if len(t):
        plot.append(
            html.Span(
                className="sum-plot-dot",
                style={
                    "left": f"{100 * (t[-1] - start_s) / span_s:.2f}%",
                    "top": f"{100 * (1 - v[-1] / top):.2f}%",
                },
            )
        )
    else:
        plot.append(html.Span("no samples yet", className="sum-plot-empty"))
    if target is not None and 0 < target <= top:
        plot.append(
            html.Span(
                target_label,
                className="sum-plot-target",
                style={"top": f"{100 * (1 - target / top):.2f}%"},
            )
        )
    return html.Div(
        className="sum-chart",
        children=[
            html.Div(
                [
                    html.Span(
                        format_value(y, 1 if y % 1 else 0),
                        className="sum-ytick",
                        style={"top": f"{100 * (1 - y / top):.2f}%"},
                    )
                    for y in y_ticks
                ],
                className="sum-yaxis",
            ),
            html.Div(plot, className="sum-plot"),
            html.Div(
                [
                    html.Span(
                        hhmm(x),
                        className="sum-xtick"
                        + (
                            " at-start"
                            if x - start_s < 0.04 * span_s
                            else " at-end"
                            if end_s - x < 0.04 * span_s
                            else ""
                        ),
                        style={"left": f"{100 * (x - start_s) / span_s:.2f}%"},
                    )
                    for x in x_ticks
                ],
                className="sum-xaxis",
            ),
        ],
    )


def with_current(
    history: Mapping[str, Any], time_s: float, current: Mapping[str, float]
) -> dict[str, Any]:
    """``history`` up to ``time_s`` with the current values appended there (a recording's last
    sample may be a little ahead of the published frame), so a trend ends on the number the page
    and the wall show now."""
    times = np.asarray(history.get("time_s", ()), dtype=float)
    keep = times < time_s - 1e-6
    out = {"time_s": np.append(times[keep], time_s)}
    for name in TRENDS:
        series = np.asarray(history.get(name, np.full(len(times), np.nan)), dtype=float)
        out[name] = np.append(series[keep], float(current.get(name, math.nan)))
    return out


def trends(
    history: Mapping[str, Any],
    *,
    span: str = "hour",
    now_s: float | None = None,
    target_s: float | None = None,
) -> list[html.Div]:
    """One chart per :data:`TRENDS` series over the last hour (``span="hour"``) or from the
    first sample to now (``"day"``), with value and clock axes; the worst wait shows the target."""
    times = np.asarray(history.get("time_s", ()), dtype=float)
    end_s = float(now_s if now_s is not None else (times[-1] if len(times) else 0.0))
    if span == "day" and len(times):
        start_s = min(float(times[0]), end_s - 600.0)
    else:
        start_s = end_s - 3600.0
    cards = []
    for name in TRENDS:
        spec = WALL[name]
        series = (
            np.asarray(history.get(name, np.full(len(times), np.nan)), dtype=float) * spec.scale
        )
        last = series[np.isfinite(series)]
        now = format_value(last[-1] if len(last) else None, spec.digits if spec.scale == 1 else 1)
        unit = spec.unit or ("persons" if name == "spectators_on_site" else "")
        target = target_s * spec.scale if name == "worst_wait_s" and target_s else None
        cards.append(
            html.Div(
                className="sum-trend",
                **{"data-trend": name},
                children=[
                    html.Div(
                        [
                            html.Span(
                                spec.label, className="sum-trend-label", title=spec.definition
                            ),
                            html.Span(
                                f"{now} {unit}".strip() if len(last) else "no samples yet",
                                className="sum-trend-now",
                            ),
                        ],
                        className="sum-trend-head",
                    ),
                    trend_chart(
                        times,
                        series,
                        start_s=start_s,
                        end_s=end_s,
                        digits=spec.digits,
                        target=target,
                        target_label=f"target {target:.0f} {unit}" if target else "",
                        label=spec.label,
                    ),
                ],
            )
        )
    return cards


def trends_title(span: str, history: Mapping[str, Any], *, note: str = "") -> str:
    times = np.asarray(history.get("time_s", ()), dtype=float)
    if span == "day" and len(times):
        title = f"Trends, day so far (since {hhmm(times[0])})"
    else:
        title = "Trends, last hour"
    return f"{title} ({note})" if note else title


def summary_body(
    summary: Mapping[str, Any] | None,
    history: Mapping[str, Any],
    *,
    normal_ready: bool,
    span: str = "hour",
    note: str = "",
    current: Mapping[str, float] | None = None,
    as_of: str | None = None,
) -> list[Any]:
    """The page's contents for one frame's figures (``None``: the twin has not published yet);
    ``history`` is the KPI series the trends draw over ``span`` (``note``: said next to their
    title, e.g. why the day so far is not available), ending on the frame's KPIs ``current``;
    ``as_of`` is the line above the figures (default: the situation's time)."""
    if summary is None:
        return [html.Div("Waiting for the twin's first frame…", className="sum-calm sum-waiting")]
    target_s = (summary["checkpoints"] or {}).get("wait_target_s")
    if current is not None:
        history = with_current(history, summary["time_s"], current)
    return [
        html.Div(
            className="sum-asof",
            children=[
                html.Span(
                    as_of or f"Situation at {hhmm(summary['time_s'])} (event time)",
                    id="summary-asof",
                ),
                html.Span(
                    "Hover over a figure for its definition; the decisions open the map.",
                    className="sum-hint no-print",
                ),
            ],
        ),
        html.Section(headline(summary, normal_ready=normal_ready), className="sum-figures"),
        html.Section(
            className="sum-block sum-venues",
            children=[
                html.H2("Attendance by venue"),
                attendance_table(summary["attendance"], time_s=summary["time_s"]),
            ],
        ),
        html.Section(
            className="sum-block sum-decide",
            children=[html.H2("Needs a decision"), decisions(summary["decisions"])],
        ),
        html.Section(
            className="sum-block sum-trends-block",
            children=[
                html.H2(trends_title(span, history, note=note), id="summary-trends-title"),
                html.Div(
                    trends(history, span=span, now_s=summary["time_s"], target_s=target_s),
                    className="sum-trends",
                ),
            ],
        ),
    ]


def summary_page(
    *, scenario_name: str, user_bar: Any = None, nav: Any = None, tick_ms: int = 5000
) -> html.Div:
    """The page frame: title, trend span, user bar, refresh interval and the body the callback
    fills."""
    return html.Div(
        className="summary",
        id="summary-root",
        children=[
            dcc.Interval(id=ids.SUMMARY_TICK, interval=tick_ms),
            dcc.Store(id=ids.SUMMARY_SEQ, data=None),
            html.Header(
                className="sum-header",
                children=[
                    html.Div(
                        [
                            html.Span("VenueTwin", className="brand-name"),
                            html.Span(
                                f"Executive summary — {scenario_name}", className="sum-title"
                            ),
                        ],
                        className="brand",
                    ),
                    html.Div(
                        className="sum-actions",
                        children=[
                            html.Label(
                                [
                                    html.Span("Trends", className="sum-span-label"),
                                    dcc.RadioItems(
                                        id=ids.SUMMARY_SPAN,
                                        className="seg sum-span",
                                        inline=True,
                                        value="day",
                                        options=[
                                            {"label": label, "value": key} for key, label in SPANS
                                        ],
                                        persistence=True,
                                        persistence_type="local",
                                    ),
                                ],
                                className="sum-span-box no-print",
                            ),
                            html.Button(
                                "Print / PDF",
                                id=ids.SUMMARY_PRINT,
                                n_clicks=0,
                                className="btn no-print",
                            ),
                            html.Span(id=ids.SUMMARY_PRINTED, hidden=True),
                            nav,
                            user_bar,
                        ],
                    ),
                ],
            ),
            html.Main(
                id=ids.SUMMARY_BODY,
                className="sum-body",
                children=summary_body(None, {}, normal_ready=False),
            ),
        ],
    )


def user_bar(name: str | None, role: str | None) -> html.Div | None:
    """Who is signed in and the sign-out link (nothing when sign-in is off)."""
    if not name:
        return None
    return html.Div(
        className="user-bar chrome",
        children=[
            html.Span(f"{name} · {role}", className="user-name", id="user-name"),
            html.A("Sign out", href="/logout", className="signout-link", id="signout-link"),
        ],
    )


def nav_links(links: Sequence[tuple[str, str]]) -> html.Nav | None:
    """Links to the other pages the user may open."""
    if not links:
        return None
    return html.Nav(
        [dcc.Link(label, href=href, className="nav-link") for href, label in links],
        className="page-nav chrome no-print",
    )
