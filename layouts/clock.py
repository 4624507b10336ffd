"""The simulated clock's state and controls.

Every screen shows what the shared twin's clock is doing: ``SIMULATION ×10`` for a
demonstration or training run, ``SIMULATION PAUSED by ada at 18:40`` after an admin paused it,
``LIVE`` for a twin that follows the wall clock. Only admins get the controls (a pause or a new
speed changes every screen, so each asks for a confirmation first); with sign-in off, the
local user has them on the wall.

The clock carries the event's date (the scenario's ``date``) and turns to the next date after
midnight. Once the event day is over (:func:`twin.service.queries.day_over`: past its end, 01:00
for the bundled day, with nobody left on site) every screen says so instead of running on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from dash import dcc, html

from layouts import ids
from twin.clock_text import hhmm

SPEEDS = (1.0, 5.0, 10.0, 30.0, 60.0)


def clock_state_text(
    *,
    paused: bool,
    speed: float,
    mode: str = "simulation",
    change: Mapping[str, Any] | None = None,
    day_over: bool = False,
) -> str:
    """``SIMULATION ×10``, ``SIMULATION PAUSED by ada at 18:40:05``, ``SIMULATION ×30 (ada,
    18:41)``, ``LIVE``, or ``EVENT DAY OVER`` once the day is over; times are the simulated
    clock's."""
    if day_over:
        return "EVENT DAY OVER"
    if mode == "live":
        return "LIVE"
    who = (
        f" by {change['user']} at {hhmm(change['sim_time_s'], seconds=True)}"
        if change and change.get("user")
        else ""
    )
    if paused:
        return f"SIMULATION PAUSED{who}"
    if change and change.get("action") == "speed" and change.get("user"):
        return f"SIMULATION ×{speed:g} (set{who})"
    return f"SIMULATION ×{speed:g}"


def clock_controls(speed: float) -> html.Div:
    """Pause/resume and speed, each behind a confirmation (the server checks the role)."""
    return html.Div(
        className="clock-controls",
        children=[
            dcc.ConfirmDialogProvider(
                id=ids.PAUSE_CONFIRM,
                message="Pause or resume the simulation clock on every screen? It is recorded with your name.",
                children=html.Button("Pause", id=ids.PAUSE, n_clicks=0, className="btn"),
            ),
            dcc.RadioItems(
                id=ids.SPEED,
                className="seg speed",
                inline=True,
                value=speed if speed in SPEEDS else SPEEDS[2],
                options=[{"label": f"×{s:g}", "value": s} for s in SPEEDS],
            ),
            dcc.ConfirmDialog(id=ids.SPEED_CONFIRM, message=""),
            html.Span("", id=ids.CLOCK_MSG, className="clock-msg", role="status"),
        ],
    )


DAY_S = 86400


def day_date(day: Mapping[str, Any], time_s: float) -> date | None:
    """The calendar date at ``time_s`` (s since the event day's midnight; past 86400 is the next
    day), or ``None`` when the event has no date."""
    if not day.get("date") or time_s is None or not math.isfinite(time_s):
        return None
    return date.fromisoformat(str(day["date"])) + timedelta(days=int(time_s // DAY_S))


def date_text(when: date | None) -> str:
    """``Sat 21 Nov 2026`` (empty without a date)."""
    return f"{when:%a} {when.day} {when:%b %Y}" if when is not None else ""


def day_clock(
    day: Mapping[str, Any], time_s: float, *, seconds: bool = False, over: bool = False
) -> str:
    """The header clock: ``Sat 21 Nov · 18:40:05`` (the next date after midnight; the time stays
    last, the alert countdowns read it); once the day is over, the event's date and when it
    ended (``Sat 21 Nov · ended 01:00``) instead of a running time."""
    when = day_date(day, 0.0 if over else time_s)
    shown = f"ended {hhmm(day['end_s'])}" if over else hhmm(time_s, seconds=seconds)
    return f"{when:%a} {when.day} {when:%b} · {shown}" if when is not None else shown


def kiosk_clock(day: Mapping[str, Any], time_s: float, *, over: bool = False) -> str:
    """The map's large clock: ``21:40``, ``Sun 00:10`` after midnight, ``Day over``."""
    if over:
        return "Day over"
    when = day_date(day, time_s)
    after_midnight = time_s is not None and math.isfinite(time_s) and time_s >= DAY_S
    return f"{when:%a} {hhmm(time_s)}" if when is not None and after_midnight else hhmm(time_s)


def day_over_banner(day: Mapping[str, Any]) -> html.Div:
    """Across the KPI strip once the day is over: which day, when its last session and the day
    ended; the figures below are the day's final ones."""
    last = f"last session ended {hhmm(day['last_end_s'])}, " if day.get("last_end_s") else ""
    ended = day_date(day, day["end_s"])
    when = f"{hhmm(day['end_s'])} {ended:%a %d %b}" if ended is not None else hhmm(day["end_s"])
    return html.Div(
        id=ids.DAY_OVER,
        className="day-over",
        role="status",
        children=[
            html.Strong("Event day over"),
            html.Span(
                f" — {date_text(day_date(day, 0.0)) or 'the event day'}: {last}"
                f"the day closed at {when} with everyone gone. Figures below are final; the "
                "planners' replay keeps the whole day."
            ),
        ],
    )
