"""The alert feed: severity, time, place, message, minutes until a forecast alert happens."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from layouts import ids


def clock(time_s: float, *, seconds: bool = False) -> str:
    """``HH:MM`` (or ``HH:MM:SS``) of seconds since midnight."""
    if time_s is None or not math.isfinite(time_s):
        return "--:--"
    total = int(time_s) % 86400
    hours, minutes, secs = total // 3600, total % 3600 // 60, total % 60
    return f"{hours:02d}:{minutes:02d}:{secs:02d}" if seconds else f"{hours:02d}:{minutes:02d}"


def clock_state(paused: bool, speed: float) -> str:
    """``PAUSED`` or ``LIVE ×speed``."""
    return "PAUSED" if paused else f"LIVE ×{speed:g}"


def alert_item(alert: Mapping[str, Any], *, can_ack: bool = True) -> html.Div:
    """One feed entry; the body flies the map to the place, the button acknowledges (shown only
    when ``can_ack``: the read-only map has none)."""
    eta = alert.get("eta_s")
    when = html.Span(f"in {eta / 60:.0f} min", className="alert-eta") if eta is not None else None
    count = alert.get("count", 1)
    return html.Div(
        className=f"alert sev-{alert['severity']}{' acked' if alert.get('acked') else ''}",
        **{"data-alert-id": str(alert["id"])},
        children=[
            html.Div(id={"type": ids.ALERT_ITEM, "id": alert["id"]}, n_clicks=0, className="alert-body",
                     title="Show on the map", children=[
                         html.Div(className="alert-head", children=[
                             html.Span(alert["severity"].upper(), className="alert-sev"),
                             html.Span(clock(alert["raised_s"]), className="alert-time"),
                             when,
                             html.Span(f"×{count}", className="alert-count") if count > 1 else None,
                         ]),
                         html.Div(alert["place"], className="alert-place"),
                         html.Div(alert["message"], className="alert-msg"),
                     ]),
            html.Button("ACK" if not alert.get("acked") else "✓", n_clicks=0,
                        id={"type": ids.ALERT_ACK, "id": alert["id"]}, className="alert-ack chrome",
                        disabled=bool(alert.get("acked")), title="Acknowledge") if can_ack else None,
        ],
    )


def alert_feed(alerts: Sequence[Mapping[str, Any]], *, can_ack: bool = True) -> list[html.Div]:
    """The feed, most severe and newest first (the order the alarm book gives)."""
    if not alerts:
        return [html.Div("No open alerts", className="alert-empty")]
    return [alert_item(alert, can_ack=can_ack) for alert in alerts]


def alert_stats(stats: Mapping[str, float]) -> str:
    """One line of alarm-rate figures for the feed's header."""
    rate = stats.get("rate_per_h", math.nan)
    if not math.isfinite(rate):
        return ""
    return f"{rate:.0f} new / h · {stats.get('raised_total', 0):.0f} today"


def feed_digest(alerts: Sequence[Mapping[str, Any]]) -> str:
    """Identity of what the feed shows: it is re-rendered only when this changes (not for
    every change of a number in a message, so a click on an entry is never lost to a redraw)."""
    return "|".join(
        f"{a['id']}:{a['level']}:{int(bool(a.get('acked')))}:{a.get('count', 1)}:"
        f"{'' if a.get('eta_s') is None else round(a['eta_s'] / 300)}"
        for a in alerts
    )
