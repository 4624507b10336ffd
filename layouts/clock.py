"""The simulated clock's state and controls.

Every screen shows what the shared twin's clock is doing: ``SIMULATION ×10`` for a
demonstration or training run, ``SIMULATION PAUSED by ada at 18:40`` after an admin paused it,
``LIVE`` for a twin that follows the wall clock. Only admins get the controls (a pause or a new
speed changes every screen, so each asks for a confirmation first); with sign-in off, the
local user has them on the wall.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import dcc, html

from layouts import ids
from layouts.alerts import clock

SPEEDS = (1.0, 5.0, 10.0, 30.0, 60.0)


def clock_state_text(
    *, paused: bool, speed: float, mode: str = "simulation", change: Mapping[str, Any] | None = None
) -> str:
    """``SIMULATION ×10``, ``SIMULATION PAUSED by ada at 18:40:05``, ``SIMULATION ×30 (ada,
    18:41)`` or ``LIVE``; times are the simulated clock's."""
    if mode == "live":
        return "LIVE"
    who = (
        f" by {change['user']} at {clock(change['sim_time_s'], seconds=True)}"
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
