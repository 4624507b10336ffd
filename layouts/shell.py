"""The control-room page: header, KPI strip, map with layer panel and legend, alert feed,
detail panel. Kiosk mode (``?kiosk=1``) hides everything with the class ``chrome``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from layouts import ids, theme
from layouts.alerts import alert_strip, alert_tools, home_button
from layouts.clock import clock_controls
from layouts.deck import DEFAULT_TOGGLES, TOGGLE_LABELS
from layouts.preview import preview_banner

HORIZONS = ((900, "+15"), (1800, "+30"), (3600, "+60"))


def _swatch(rgba: Any, *, kind: str = "line") -> html.Span:
    r, g, b, a = rgba
    return html.Span(
        className=f"swatch swatch-{kind}",
        style={"background": f"rgba({r},{g},{b},{max(a, 60) / 255:.2f})"},
    )


def _legend_row(rgba: Any, label: str, kind: str = "line") -> html.Div:
    return html.Div([_swatch(rgba, kind=kind), html.Span(label)], className="legend-row")


def legend() -> html.Div:
    """What the colours mean (one severity palette for every layer)."""
    sev = theme.SEVERITY_RGBA
    heat = ", ".join(f"rgb({r},{g},{b})" for r, g, b in theme.HEAT_RANGE)
    return html.Div(
        id=ids.LEGEND,
        className="legend",
        children=[
            html.Div("Roads: level of service", className="legend-title"),
            _legend_row(theme.ROAD_RGBA["primary"], "A–C normal"),
            _legend_row(sev[1], "D advisory"),
            _legend_row(sev[2], "E warning"),
            _legend_row(sev[3], "F critical"),
            html.Div(
                [
                    html.Span(
                        [html.Span(className="pair-live"), html.Span(className="pair-predicted")],
                        className="swatch swatch-pair",
                    ),
                    html.Span("thin line beside: predicted"),
                ],
                className="legend-row legend-predicted",
            ),
            html.Div(id=ids.LEGEND_SKILL, className="legend-row legend-skill"),
            html.Div("Crowd density (p/m²)", className="legend-title"),
            html.Div(
                [
                    html.Span(
                        className="swatch-ramp",
                        style={"background": f"linear-gradient(90deg, {heat})"},
                    ),
                    html.Span("0 … 6+"),
                ],
                className="legend-row",
            ),
            html.Div("Venues, checkpoints", className="legend-title"),
            _legend_row(theme.NORMAL_RGBA, "normal", "dot"),
            _legend_row(sev[1], "busy / > 10 min", "dot"),
            _legend_row(sev[2], "full / > 20 min", "dot"),
            _legend_row(sev[3], "over / > 30 min", "dot"),
            html.Div("Other", className="legend-title"),
            _legend_row(theme.PHASE_RGBA[1], "signal (colour = phase)", "dot"),
            _legend_row(theme.HOSPITAL_RGBA, "hospital", "ring"),
            _legend_row(theme.INFO_RGBA, "ambulance, corridor"),
        ],
    )


def layer_panel() -> html.Div:
    """Layer toggles and the forecast selectors (chrome: hidden in kiosk mode)."""
    return html.Div(
        className="layer-panel chrome",
        children=[
            dcc.Location(id=ids.VIEW_URL, refresh=False),  # horizons and layers in the URL
            html.Div("Layers", className="panel-title"),
            dcc.Checklist(
                id=ids.LAYERS,
                className="layer-list",
                value=list(DEFAULT_TOGGLES),
                options=[{"label": label, "value": key} for key, label in TOGGLE_LABELS.items()],
            ),
            html.Div("Predicted congestion", className="panel-title"),
            dcc.RadioItems(
                id=ids.HORIZON,
                className="seg",
                value=900,
                inline=True,
                options=[{"label": label, "value": mark} for mark, label in HORIZONS],
            ),
            html.Div("Crowd heatmap", className="panel-title"),
            dcc.RadioItems(
                id=ids.HEAT_HORIZON,
                className="seg",
                value=0,
                inline=True,
                options=[{"label": "now", "value": 0}, {"label": "+15", "value": 900}],
            ),
        ],
    )


def header(
    scenario_name: str,
    speed: float,
    *,
    read_only: bool = False,
    user_bar: Any = None,
    nav: Any = None,
    with_clock_controls: bool = False,
) -> html.Header:
    """Title, simulated clock and its state (``SIMULATION ×10``, who paused it), the clock
    controls when ``with_clock_controls`` (sign-in off; with sign-in they are on the admin
    page), the links to other pages and who is signed in."""
    return html.Header(
        id=ids.HEADER,
        className="wall-header chrome",
        children=[
            html.Div(
                className="brand",
                children=[
                    html.Span("VenueTwin", className="brand-name"),
                    html.Span(scenario_name, id=ids.SCENARIO_NAME, className="brand-scenario"),
                ],
            ),
            html.Div(
                className="header-clock",
                children=[
                    html.Span("--:--:--", id=ids.CLOCK, className="clock"),
                    html.Span("", id=ids.CLOCK_STATE, className="clock-state"),
                ],
            ),
            html.Div(
                className="controls",
                children=[
                    html.Span("read-only", className="read-only-badge") if read_only else None,
                    clock_controls(speed) if with_clock_controls and not read_only else None,
                    nav,
                    user_bar,
                ],
            ),
        ],
    )


def detail_card() -> html.Div:
    """The selected feature's detail card: in the map's top-right corner, under the overview
    button (``assets/map.css``), so the side column's action panels stay uncovered."""
    return html.Div(
        id=ids.DETAIL,
        className="detail detail-card",
        hidden=True,
        children=[
            html.Button(
                "×", id=ids.DETAIL_CLOSE, n_clicks=0, className="detail-close chrome", title="Close"
            ),
            html.Div(id=ids.DETAIL_BODY),
        ],
    )


OPS_TABS = (
    ("alerts", "Alerts"),
    ("signals", "Signals"),
    ("corridor", "Corridor"),
    ("checkpoints", "Checkpoints"),
    ("feeds", "Feeds"),
)


def ops_tabs() -> dcc.RadioItems:
    """The side column's tab strip: the alert feed or one operator action panel."""
    return dcc.RadioItems(
        id=ids.OPS_TAB,
        className="seg ops-tabs chrome",
        inline=True,
        value="alerts",
        options=[{"label": label, "value": key} for key, label in OPS_TABS],
    )


def wall_page(
    *,
    scenario_name: str,
    spec: Mapping[str, Any],
    attribution: str,
    speed: float,
    tick_ms: int = 1000,
    read_only: bool = False,
    user_bar: Any = None,
    nav: Any = None,
    ops_panes: Sequence[Any] = (),
    with_clock_controls: bool = False,
) -> html.Div:
    """The whole control-room page. ``spec`` is :func:`layouts.deck.deck_spec`'s output: it
    travels once, with the layout. ``read_only``: the map for planners and executives, without
    the clock controls (the server refuses their callbacks anyway). ``ops_panes``: the operator
    action panels (signals, corridor, checkpoints), with a tab strip above the alert feed."""
    return html.Div(
        id=ids.ROOT,
        className="wall",
        children=[
            dcc.Location(id=ids.LOCATION, refresh=False),
            dcc.Interval(id=ids.TICK, interval=tick_ms),
            dcc.Store(id=ids.MAP_SPEC, data=spec),
            dcc.Store(id=ids.MAP_UPDATE),
            dcc.Store(id=ids.MAP_DIGESTS, data={}),
            dcc.Store(id=ids.MAP_CLICK),
            dcc.Store(id=ids.MAP_FLY),
            dcc.Store(id=ids.MAP_APPLIED),
            dcc.Store(id=ids.FRAME_SEQ, data=-1),
            dcc.Store(id=ids.SELECTION),
            dcc.Store(id=ids.ALERT_DIGEST, data=""),
            dcc.Store(id=ids.ACK_RESULT),
            header(
                scenario_name,
                speed,
                read_only=read_only,
                user_bar=user_bar,
                nav=nav,
                with_clock_controls=with_clock_controls,
            ),
            html.Div(id=ids.KPI_STRIP, className="kpi-strip"),
            html.Main(
                className="wall-main",
                children=[
                    html.Div(
                        className="map-wrap",
                        children=[
                            html.Div(id=ids.MAP, className="map"),
                            html.Div(
                                className="map-clock kiosk-only",
                                children=[
                                    html.Span("--:--", className="clock", id=ids.KIOSK_CLOCK)
                                ],
                            ),
                            html.Div(className="map-side", children=[layer_panel(), legend()]),
                            home_button(),
                            detail_card(),  # over the map, never over the side panel
                            preview_banner() if ops_panes else None,
                            html.Div(attribution, id=ids.ATTRIBUTION, className="attribution"),
                        ],
                    ),
                    html.Aside(
                        id=ids.SIDE,
                        className="side",
                        children=[
                            alert_strip(),  # new critical alerts, whatever tab is open
                            *(
                                [
                                    ops_tabs(),
                                    dcc.Interval(id=ids.OPS_TICK, interval=2000),
                                    dcc.Location(id=ids.OPS_URL, refresh=False),
                                ]
                                if ops_panes
                                else []
                            ),
                            html.Div(
                                id=ids.ALERTS_PANE,
                                className="alerts-pane",
                                children=[
                                    html.Div(
                                        className="feed-head",
                                        children=[
                                            html.Span("Alerts", className="panel-title"),
                                            html.Span(
                                                "", id=ids.ALERT_STATS, className="feed-stats"
                                            ),
                                        ],
                                    ),
                                    html.Div(id=ids.ALERT_FEED, className="feed"),
                                    alert_tools(),  # the shelve form and the shelf
                                ],
                            ),
                            *ops_panes,
                        ],
                    ),
                ],
            ),
        ],
    )
