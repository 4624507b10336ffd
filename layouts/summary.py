"""The executive summary page (/summary): a few large plain numbers, each with its unit and a
one-line meaning, attendance by venue, what needs a decision and the last hour's trends.

Pure builders: :func:`summary_page` is the static frame (refreshed by ``SUMMARY_TICK``);
:func:`summary_body` turns :func:`twin.summary.executive_summary`'s figures (and the live KPI
history for the sparklines) into components. Printing (``assets/summary.css``) gives a
one-page report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np
from dash import dcc, html

from layouts import ids
from layouts.kpis import format_value, sparkline_svg

SEVERITY_ORDER = ("critical", "warning", "advisory")
TRENDS = (  # (history series, label, unit, scale)
    ("spectators_on_site", "Spectators on site", "persons", 1.0),
    ("worst_wait_s", "Worst checkpoint wait", "min", 1 / 60),
    ("total_delay_vehh", "Road delay", "veh·h", 1.0),
    ("open_alerts", "Open alerts", "", 1.0),
)


def hhmm(time_s: float | None) -> str:
    """``HH:MM`` of seconds since midnight, or an em dash."""
    if time_s is None or not math.isfinite(time_s):
        return "—"
    total = int(time_s) % 86400
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}"


def minutes(value_s: float | None, digits: int = 1) -> str:
    """Seconds shown as minutes, or an em dash."""
    return format_value(None if value_s is None else value_s / 60.0, digits)


def percent(share: float | None) -> str:
    return format_value(None if share is None else 100.0 * share, 0)


def figure(key: str, label: str, value: str, unit: str, meaning: str, *, level: int = 0) -> html.Div:
    """One large number: label, value with unit, and what it means in one line."""
    return html.Div(className=f"sum-figure level-{level}", **{"data-figure": key}, children=[
        html.Div(label, className="sum-label"),
        html.Div([html.Span(value, className="sum-value"), html.Span(unit, className="sum-unit")],
                 className="sum-number"),
        html.Div(meaning, className="sum-meaning"),
    ])


def _attendance_totals(rows: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    inside = float(sum(r["inside_persons"] for r in rows))
    capacity = float(sum(r["capacity"] or 0.0 for r in rows))
    return inside, capacity


def headline(summary: Mapping[str, Any], *, normal_ready: bool) -> list[html.Div]:
    """The row of large numbers."""
    inside, capacity = _attendance_totals(summary["attendance"])
    cp = summary["checkpoints"] or {}
    target_s = cp.get("wait_target_s")
    worst_s = cp.get("worst_wait_s")
    net = summary["network"]
    amb = summary["ambulances"]
    alerts = summary["alerts"]
    index = net["delay_index"]
    if index is not None:
        index_text, index_meaning = format_value(index, 1), (
            f"road delay now ({format_value(net['delay_rate_veh'])} vehicles held up) against "
            f"{format_value(net['normal_delay_rate_veh'])} on a normal day at this time")
    elif not normal_ready:
        index_text, index_meaning = "…", "computing normal day… (the baseline without the event)"
    else:
        index_text, index_meaning = "—", "no normal-day baseline for this time"
    share = cp.get("share_under_target")
    return [
        figure("attendance", "Spectators inside venues", format_value(inside), "persons",
               f"{percent(inside / capacity if capacity else None)} % of {format_value(capacity)} seats "
               f"in {len(summary['attendance'])} venues"),
        figure("worst_wait", "Worst checkpoint wait", minutes(worst_s), "min",
               f"at {cp.get('worst_name') or '—'}; target {minutes(target_s, 0)} min",
               level=_wait_level(worst_s, target_s)),
        figure("mean_wait", "Average checkpoint wait", minutes(cp.get("mean_wait_s")), "min",
               "for the people queueing now, weighted by queue length"),
        figure("under_target", "Waited under target", percent(share), "%",
               f"of arrivals so far waited less than {minutes(target_s, 0)} min"),
        figure("delay_index", "Road delay index", index_text, "× normal", index_meaning,
               level=0 if index is None else int(index >= 1.5) + int(index >= 2.5) + int(index >= 4.0)),
        figure("ambulances", "Ambulance responses", format_value(amb["arrived"]), "arrived",
               f"median trip {minutes(amb['median_trip_s'])} min; corridors saved "
               f"{minutes(amb['time_saved_s'])} min in total; {amb['en_route']} en route"),
        figure("alerts", "Open alerts", format_value(sum(alerts.values())), "alerts",
               " · ".join(f"{alerts.get(s, 0)} {s}" for s in SEVERITY_ORDER),
               level=3 if alerts.get("critical") else 2 if alerts.get("warning") else 0),
    ]


def _wait_level(wait_s: float | None, target_s: float | None) -> int:
    if wait_s is None or not target_s:
        return 0
    return int(wait_s > 0.5 * target_s) + int(wait_s > target_s) + int(wait_s > 1.5 * target_s)


def _bar(share: float | None) -> html.Div:
    width = 0.0 if share is None or not math.isfinite(share) else max(0.0, min(share, 1.0)) * 100
    return html.Div(html.Div(className="sum-bar-fill", style={"width": f"{width:.0f}%"}),
                    className="sum-bar")


def attendance_table(rows: Sequence[Mapping[str, Any]]) -> html.Table:
    """Per venue: inside against capacity, arrivals against the session's expected crowd."""
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "Venue", "Inside / capacity", "", "Session", "Arrived / expected", "", "Queueing")]))
    body = []
    for r in rows:
        fill = r["inside_persons"] / r["capacity"] if r["capacity"] else None
        arrived = r["inside_persons"] / r["expected_persons"] if r["expected_persons"] else None
        session = "—" if r["session"] is None else f"{r['session']} ({hhmm(r['starts_s'])})"
        body.append(html.Tr(**{"data-venue": str(r["venue_id"])}, children=[
            html.Td(r["name"], className="sum-venue"),
            html.Td(f"{format_value(r['inside_persons'])} / {format_value(r['capacity'])}", className="sum-num"),
            html.Td(_bar(fill)),
            html.Td(session),
            html.Td(f"{format_value(r['inside_persons'])} / {format_value(r['expected_persons'])}"
                    f" ({percent(arrived)} %)", className="sum-num"),
            html.Td(_bar(arrived)),
            html.Td(format_value(r["queued_persons"]), className="sum-num"),
        ]))
    return html.Table([head, html.Tbody(body)], className="sum-table")


def decisions(items: Sequence[Mapping[str, Any]]) -> html.Div:
    """The "needs a decision" list (or a calm line when there is nothing)."""
    if not items:
        return html.Div("Nothing needs a decision now.", className="sum-calm")
    return html.Ol([html.Li(item["what"], className=f"sum-decision kind-{item['kind']}") for item in items],
                   className="sum-decisions")


def trends(history: Mapping[str, Any]) -> list[html.Div]:
    """Sparklines of the last simulated hour (the wall's KPI history)."""
    times = np.asarray(history.get("time_s", ()), dtype=float)
    cards = []
    for name, label, unit, scale in TRENDS:
        series = np.asarray(history.get(name, np.full(len(times), np.nan)), dtype=float) * scale
        last = series[np.isfinite(series)]
        svg = sparkline_svg(times, series, width=200, height=40, colour="#56b6d6")
        cards.append(html.Div(className="sum-trend", **{"data-trend": name}, children=[
            html.Div([html.Span(label), html.Span(
                f"{format_value(last[-1] if len(last) else None, 1 if scale != 1 else 0)} {unit}",
                className="sum-trend-now")], className="sum-trend-head"),
            html.Img(src="data:image/svg+xml;utf8," + quote(svg), className="sum-spark",
                     alt=f"{label}, last hour"),
        ]))
    return cards


def summary_body(summary: Mapping[str, Any] | None, history: Mapping[str, Any], *,
                 normal_ready: bool) -> list[Any]:
    """The page's contents for one frame's figures (``None``: the twin has not published yet)."""
    if summary is None:
        return [html.Div("Waiting for the twin's first frame…", className="sum-calm")]
    return [
        html.Div(f"Situation at {hhmm(summary['time_s'])} (event time)", className="sum-asof",
                 id="summary-asof"),
        html.Section(headline(summary, normal_ready=normal_ready), className="sum-figures"),
        html.Div(className="sum-columns", children=[
            html.Section(className="sum-block sum-venues", children=[
                html.H2("Attendance by venue"), attendance_table(summary["attendance"])]),
            html.Section(className="sum-block", children=[
                html.H2("Needs a decision"), decisions(summary["decisions"]),
                html.H2("Last hour"), html.Div(trends(history), className="sum-trends")]),
        ]),
    ]


def summary_page(*, scenario_name: str, user_bar: Any = None, nav: Any = None,
                 tick_ms: int = 5000) -> html.Div:
    """The page frame: title, user bar, refresh interval and the body the callback fills."""
    return html.Div(className="summary", id="summary-root", children=[
        dcc.Interval(id=ids.SUMMARY_TICK, interval=tick_ms),
        dcc.Store(id=ids.SUMMARY_SEQ, data=None),
        html.Header(className="sum-header", children=[
            html.Div([html.Span("VenueTwin", className="brand-name"),
                      html.Span(f"Executive summary — {scenario_name}", className="sum-title")],
                     className="brand"),
            html.Div(className="sum-actions", children=[
                html.Button("Print / PDF", id=ids.SUMMARY_PRINT, n_clicks=0, className="btn no-print"),
                html.Span(id=ids.SUMMARY_PRINTED, hidden=True),
                nav, user_bar,
            ]),
        ]),
        html.Main(id=ids.SUMMARY_BODY, className="sum-body",
                  children=summary_body(None, {}, normal_ready=False)),
    ])


def user_bar(name: str | None, role: str | None) -> html.Div | None:
    """Who is signed in and the sign-out link (nothing when sign-in is off)."""
    if not name:
        return None
    return html.Div(className="user-bar chrome", children=[
        html.Span(f"{name} · {role}", className="user-name", id="user-name"),
        html.A("Sign out", href="/logout", className="signout-link", id="signout-link"),
    ])


def nav_links(links: Sequence[tuple[str, str]]) -> html.Nav | None:
    """Links to the other pages the user may open."""
    if not links:
        return None
    return html.Nav([dcc.Link(label, href=href, className="nav-link") for href, label in links],
                    className="page-nav chrome no-print")
