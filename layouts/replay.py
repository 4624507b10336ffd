"""The planner's replay page (/replay): the frame of the page.

The same map, layers, legend and KPI strip as the wall, at the replay time; a playback bar
(play, pause, speeds, steps, a timeline with a mark per operator action and alert); the day's
KPI charts with a cursor; a side column with the recorded days, the operator log, the alerts
of the moment, the fork form and the comparison. Playback runs in the browser
(``assets/replay.js``): the server only serves frames. Pure builders (no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import dcc, html

from layouts import ids
from layouts.deck import DEFAULT_TOGGLES, DELTA_RGBA, TOGGLE_LABELS
from layouts.replay_fork import fork_pane
from layouts.shell import legend

SPEEDS = (1, 10, 60, 300, 600)
"""Playback speeds, simulated seconds per wall second (600: a 7-hour day in 42 s)."""
DEFAULT_SPEED = 60
TABS = (
    ("days", "Days"),
    ("log", "Operator log"),
    ("alerts", "Alerts"),
    ("fork", "Fork"),
    ("compare", "Compare"),
)
REPLAY_TOGGLES = tuple(t for t in TOGGLE_LABELS if t != "predicted")  # no forecasts in a replay
DELTA_LABELS = ("much less delay", "less delay", "more delay", "much more delay")


def _button(
    label: str,
    action: str,
    title: str,
    *,
    extra: Mapping[str, str] | None = None,
    class_name: str = "btn rp-btn",
) -> html.Button:
    return html.Button(
        label, className=class_name, title=title, **{"data-rp": action, **(extra or {})}
    )


def playback_bar() -> html.Div:
    """Steps, play/pause, speeds, the large replay time, the timeline with its marks, and
    “Fork here”. Buttons are handled in the browser (``data-rp``), never by the server."""
    steps = [("−5", "-300", "Back 5 minutes (Shift+←)"), ("−1", "-60", "Back 1 minute (←)")]
    forward = [("+1", "60", "Forward 1 minute (→)"), ("+5", "300", "Forward 5 minutes (Shift+→)")]
    return html.Div(
        id=ids.RP_BAR,
        className="rp-bar",
        children=[
            html.Div(
                className="rp-buttons",
                children=[
                    *(
                        _button(label, "step", title, extra={"data-step": step})
                        for label, step, title in steps
                    ),
                    _button("▶", "play", "Play / pause (Space)", class_name="btn rp-btn rp-play"),
                    *(
                        _button(label, "step", title, extra={"data-step": step})
                        for label, step, title in forward
                    ),
                ],
            ),
            html.Div(
                className="rp-speeds",
                role="group",
                **{"aria-label": "playback speed"},
                children=[
                    _button(
                        f"{s}×",
                        "speed",
                        f"{s} simulated seconds per second",
                        extra={"data-speed": str(s)},
                        class_name=f"btn rp-btn rp-speed{' active' if s == DEFAULT_SPEED else ''}",
                    )
                    for s in SPEEDS
                ],
            ),
            html.Div(
                className="rp-time",
                children=[
                    html.Span("--:--:--", id=ids.RP_CLOCK, className="rp-clock"),
                    html.Span("PAUSED", id=ids.RP_PLAYSTATE, className="clock-state"),
                ],
            ),
            html.Div(
                id=ids.RP_TRACK,
                className="rp-track",
                title="",
                **{"data-rp": "track"},
                children=[
                    html.Div(className="rp-track-line"),
                    html.Div(className="rp-played"),
                    html.Div(id=ids.RP_TICKS, className="rp-ticks"),
                    html.Div(id=ids.RP_MARKS, className="rp-marks"),
                    html.Div(className="rp-cursor"),
                ],
            ),
            _button(
                "Fork here",
                "fork-here",
                "Re-run the day from this minute with other decisions",
                class_name="btn btn-primary rp-fork-here",
            ),
        ],
    )


def layer_panel() -> html.Div:
    """Layer toggles, and for a fork the map colours: its traffic, or the change in delay."""
    return html.Div(
        className="layer-panel chrome",
        children=[
            html.Div("Layers", className="panel-title"),
            dcc.Checklist(
                id=ids.RP_LAYERS,
                className="layer-list",
                value=list(DEFAULT_TOGGLES),
                options=[{"label": TOGGLE_LABELS[key], "value": key} for key in REPLAY_TOGGLES],
            ),
            html.Div(
                id=ids.RP_MAP_MODE_BOX,
                hidden=True,
                children=[
                    html.Div("Map colours", className="panel-title"),
                    dcc.RadioItems(
                        id=ids.RP_MAP_MODE,
                        className="seg rp-map-mode",
                        value="traffic",
                        inline=True,
                        options=[
                            {"label": "fork traffic", "value": "traffic"},
                            {"label": "Δ delay vs original", "value": "diff"},
                        ],
                    ),
                    html.Div(
                        className="rp-delta-legend",
                        children=[
                            html.Div(
                                [
                                    html.Span(
                                        className="swatch swatch-line",
                                        style={"background": f"rgba({r},{g},{b},{a / 255:.2f})"},
                                    ),
                                    html.Span(label),
                                ],
                                className="legend-row",
                            )
                            for (r, g, b, a), label in zip(
                                DELTA_RGBA[1:], DELTA_LABELS, strict=True
                            )
                        ],
                    ),
                ],
            ),
        ],
    )


def side_column(fork_form: list[Any]) -> html.Aside:
    """Tabs over the days, the operator log, the alerts, the fork form and the comparison."""

    def pane(tab: str, children: list[Any], hidden: bool = True) -> html.Div:
        return html.Div(
            id={"type": ids.RP_PANE, "tab": tab},
            className="ops-pane rp-pane",
            hidden=hidden,
            children=children,
        )

    return html.Aside(
        className="side rp-side",
        children=[
            dcc.RadioItems(
                id=ids.RP_TAB,
                className="seg ops-tabs rp-tabs",
                inline=True,
                value="days",
                options=[{"label": label, "value": key} for key, label in TABS],
            ),
            pane("days", [html.Div(id=ids.RP_DAYS, className="rp-days")], hidden=False),
            pane(
                "log",
                [
                    html.Div(
                        className="rp-log-filters",
                        children=[
                            dcc.Dropdown(
                                id=ids.RP_LOG_KIND,
                                multi=True,
                                placeholder="All kinds",
                                className="ops-dropdown",
                            ),
                            dcc.Dropdown(
                                id=ids.RP_LOG_USER,
                                multi=True,
                                placeholder="All users",
                                className="ops-dropdown",
                            ),
                        ],
                    ),
                    html.Div(id=ids.RP_LOG, className="rp-log"),
                ],
            ),
            pane(
                "alerts",
                [
                    html.Div(
                        className="feed-head",
                        children=[
                            html.Span("Alerts at the replay time", className="panel-title"),
                            html.Span("", id=ids.RP_ALERT_HEAD, className="feed-stats"),
                        ],
                    ),
                    html.Div(id=ids.RP_ALERTS, className="feed rp-alerts"),
                ],
            ),
            pane("fork", fork_form),
            pane("compare", [html.Div(id=ids.RP_COMPARE, className="rp-compare")]),
        ],
    )


def replay_page(
    *,
    spec: Mapping[str, Any],
    attribution: str,
    scenario_name: str,
    fork_options: Mapping[str, Any],
    user_bar: Any = None,
    nav: Any = None,
) -> html.Div:
    """The whole replay page. ``spec`` is :func:`layouts.deck.deck_spec`'s output (geometry,
    sent once); ``fork_options`` the fork form's junctions, checkpoints and hospitals."""
    return html.Div(
        id=ids.RP_ROOT,
        className="rp",
        children=[
            dcc.Location(id=ids.RP_URL, refresh=False),
            dcc.Store(id=ids.RP_DAYDATA),
            dcc.Store(id=ids.RP_SEEK),
            dcc.Store(id=ids.RP_TIME),
            dcc.Store(id=ids.RP_FRAME_DONE),
            dcc.Store(id=ids.RP_MAP_SPEC, data=spec),
            dcc.Store(id=ids.RP_MAP_UPDATE),
            dcc.Store(id=ids.RP_MAP_DIGESTS, data={}),
            dcc.Store(id=ids.RP_MAP_CLICK),
            dcc.Store(id=ids.RP_MAP_APPLIED),
            dcc.Store(id=ids.RP_ALERT_DIGEST, data=""),
            dcc.Store(id=ids.RP_FORK_CHANGES, data=[]),
            dcc.Store(id=ids.RP_JOBS, data=[]),
            dcc.Interval(id=ids.RP_JOB_TICK, interval=1000, disabled=True),
            html.Header(
                className="wall-header rp-header chrome",
                children=[
                    html.Div(
                        className="brand",
                        children=[
                            html.Span("VenueTwin", className="brand-name"),
                            html.Span("Replay", className="rp-brand-page"),
                            html.Span(scenario_name, className="brand-scenario"),
                        ],
                    ),
                    html.Div(
                        className="rp-title-box",
                        children=[
                            html.Span("", id=ids.RP_TITLE, className="rp-title"),
                            html.Span("", id=ids.RP_BADGE, className="rp-badge"),
                        ],
                    ),
                    html.Div(
                        className="controls",
                        children=[
                            html.Span("read-only: the past", className="read-only-badge"),
                            nav,
                            user_bar,
                        ],
                    ),
                ],
            ),
            html.Div(id=ids.RP_KPIS, className="kpi-strip"),
            html.Main(
                className="rp-main",
                children=[
                    html.Div(
                        className="map-wrap rp-map-wrap",
                        children=[
                            html.Div(id=ids.RP_MAP, className="map"),
                            html.Div(className="map-side", children=[layer_panel(), legend()]),
                            html.Div(attribution, className="attribution"),
                        ],
                    ),
                    playback_bar(),
                    html.Div(
                        className="rp-charts-wrap",
                        children=[
                            dcc.Graph(
                                id=ids.RP_CHARTS,
                                className="rp-charts",
                                responsive=True,
                                config={
                                    "displayModeBar": False,
                                    "scrollZoom": False,
                                    "doubleClick": False,
                                },
                            )
                        ],
                    ),
                    side_column(fork_pane(**fork_options)),
                ],
            ),
            html.Div(id=ids.RP_TIP, className="rp-tip"),
        ],
    )
