"""The KPI strip: value, unit, trend arrow and a sparkline of the last hour per KPI.

The arrow compares now with :data:`TREND_LOOKBACK_S` ago and says what that means for the KPI:
orange "worse", green "better", grey for a KPI where more is neither (vehicles, spectators) or
no change. A running total (road delay) always rises, so its arrow compares how fast it grew
over the last 15 minutes with the 15 minutes before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np
from dash import html

from layouts import theme


@dataclass(frozen=True)
class KpiSpec:
    """How one KPI is shown: ``scale`` converts the twin's unit to the shown one; ``bands`` are
    the values where advisory, warning and critical start (``worse`` says which way is worse:
    ``"up"``, ``"down"`` or ``"neither"`` for a count that is neither good nor bad);
    ``running_total`` marks a figure that only grows (its trend is its growth rate).
    ``definition`` is the figure's one definition, the label's tooltip here and on the executive
    summary, which shows the same figure under the same label."""

    name: str
    label: str
    unit: str
    digits: int = 0
    scale: float = 1.0
    bands: tuple[float, float, float] | None = None
    worse: str = "up"
    definition: str = ""
    running_total: bool = False


KPIS = (
    KpiSpec(
        "vehicles_in_network",
        "Vehicles in network",
        "veh",
        worse="neither",
        definition="Vehicles on the modelled roads around the park now.",
    ),
    KpiSpec(
        "mean_speed_kph",
        "Mean network speed",
        "km/h",
        bands=(25.0, 18.0, 12.0),
        worse="down",
        definition="Average speed of the vehicles on the modelled roads now.",
    ),
    KpiSpec(
        "total_delay_vehh",
        "Road delay since day start",
        "veh·h",
        running_total=True,
        definition="Running total since the twin started the event day (it never goes down), in "
        "vehicle-hours (veh·h): time spent driving beyond free-flow travel time on the modelled "
        "roads, summed over vehicles. Its arrow compares the last 15 min's growth with the "
        "15 min before.",
    ),
    KpiSpec(
        "spectators_on_site",
        "Spectators on site",
        "",
        worse="neither",
        definition="Everyone who has arrived for the event and not yet left: walking across the park, "
        "queueing at a park gate or venue entrance, or inside a venue.",
    ),
    KpiSpec(
        "peak_density_ppm2",
        "Peak crowd density",
        "p/m²",
        digits=1,
        bands=theme.DENSITY_BANDS_PPM2,
        definition="The highest crowd density anywhere in the park now, persons per square metre.",
    ),
    KpiSpec(
        "worst_wait_s",
        "Worst checkpoint wait",
        "min",
        scale=1 / 60,
        bands=tuple(b / 60 for b in theme.WAIT_BANDS_S),
        definition="The longest wait now at any park gate or venue entrance for someone joining its "
        "queue: the queue over the screening rate of the open lanes, plus the time until "
        "the doors open.",
    ),
    KpiSpec(
        "open_alerts",
        "Open alerts",
        "",
        bands=(1.0, 5.0, 10.0),
        definition="Open alerts count every alert: a grouped line (×N) counts N; shelved alerts "
        "are not counted.",
    ),
)
TREND_LOOKBACK_S = 900.0
TREND_TOLERANCE = 0.02


def format_value(value: float, digits: int = 0) -> str:
    """``value`` with thousands separators, or an em dash when it is missing."""
    if value is None or not math.isfinite(value):
        return "—"
    return (
        f"{value:,.{digits}f}".replace("-", "")
        if round(value, digits) == 0
        else f"{value:,.{digits}f}"
    )


def level_of(value: float, spec: KpiSpec) -> int:
    """0 (normal) to 3 (critical) by the KPI's bands."""
    if spec.bands is None or value is None or not math.isfinite(value):
        return 0
    if spec.worse == "down":
        return sum(value <= b for b in spec.bands)
    return sum(value >= b for b in spec.bands)


def trend(times_s: np.ndarray, values: np.ndarray, *, lookback_s: float = TREND_LOOKBACK_S) -> str:
    """``"up"``, ``"down"`` or ``"flat"``: the last value against the one ``lookback_s`` earlier."""
    finite = np.isfinite(values)
    if finite.sum() < 2:
        return "flat"
    t, v = times_s[finite], values[finite]
    earlier = v[np.searchsorted(t, t[-1] - lookback_s, side="left")]
    scale = max(abs(earlier), abs(v[-1]), 1e-9)
    change = (v[-1] - earlier) / scale
    return "flat" if abs(change) < TREND_TOLERANCE else ("up" if change > 0 else "down")


def sparkline_svg(
    times_s: np.ndarray,
    values: np.ndarray,
    *,
    window_s: float = 3600.0,
    width: int = 120,
    height: int = 30,
    colour: str = "#8b98a8",
) -> str:
    """An SVG sparkline of the last ``window_s`` (empty frame when there are < 2 points)."""
    finite = np.isfinite(values)
    t, v = np.asarray(times_s)[finite], np.asarray(values)[finite]
    body = ""
    if len(t) >= 2:
        x = width * (t - (t[-1] - window_s)) / window_s
        span = float(v.max() - v.min())
        y = (height - 3) - (height - 6) * (
            (v - v.min()) / span if span > 0 else np.full(len(v), 0.5)
        )
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
        body = (
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6" '
            f'stroke-linejoin="round"/><circle cx="{x[-1]:.1f}" cy="{y[-1]:.1f}" r="2.2" '
            f'fill="{colour}"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none">{body}</svg>'
    )


ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}


def running_rate(
    times_s: np.ndarray, values: np.ndarray, *, lookback_s: float = TREND_LOOKBACK_S
) -> tuple[np.ndarray, np.ndarray]:
    """A running total's growth over each ``lookback_s`` window ending at a sample: times and
    increments, for the samples at least ``lookback_s`` after the first."""
    finite = np.isfinite(values)
    t, v = np.asarray(times_s)[finite], np.asarray(values)[finite]
    if len(t) < 2:
        return np.array([]), np.array([])
    start = np.searchsorted(t, t - lookback_s, side="left")
    whole = t - t[start] >= lookback_s - 1e-6
    return t[whole], (v - v[start])[whole]


def trend_meaning(spec: KpiSpec, direction: str) -> str:
    """``"worse"``, ``"better"``, ``"neutral"`` (a count neither good nor bad) or ``"steady"``
    (``"unknown"`` is given by :func:`kpi_trend` while the history is shorter than the lookback)."""
    if direction == "flat":
        return "steady"
    if spec.worse not in ("up", "down"):
        return "neutral"
    return "worse" if direction == spec.worse else "better"


def trend_tooltip(spec: KpiSpec, direction: str, meaning: str, times_s: np.ndarray) -> str:
    """What the arrow says, in words: ``worse than 15 min ago (more is worse)``."""
    minutes = f"{TREND_LOOKBACK_S / 60:.0f} min"
    if len(times_s) < 2 or times_s[-1] - times_s[0] < TREND_LOOKBACK_S - 1e-6:
        return f"not enough history yet to compare with {minutes} ago"
    rule = {"up": "more is worse", "down": "less is worse"}.get(spec.worse, "neither good nor bad")
    if spec.running_total:
        what = f"growing {'faster' if direction == 'up' else 'slower'} than {minutes} ago"
        return f"{meaning}: {what}" if meaning != "steady" else f"growing as fast as {minutes} ago"
    if meaning == "steady":
        return f"about the same as {minutes} ago"
    word = {"worse": "worse", "better": "better"}.get(
        meaning, "higher" if direction == "up" else "lower"
    )
    return f"{word} than {minutes} ago ({'up' if direction == 'up' else 'down'}; {rule})"


def kpi_trend(spec: KpiSpec, times_s: np.ndarray, series: np.ndarray) -> html.Span:
    """The arrow, coloured by what the change means for this KPI, with a tooltip saying so."""
    t, v = running_rate(times_s, series) if spec.running_total else (times_s, series)
    known = len(t) >= 2 and t[-1] - t[0] >= TREND_LOOKBACK_S - 1e-6
    direction = trend(t, v) if known else "flat"  # no claim before there is history for one
    meaning = trend_meaning(spec, direction) if known else "unknown"
    text = trend_tooltip(spec, direction, meaning, t)
    return html.Span(
        ARROWS[direction],
        className=f"kpi-trend trend-{direction} trend-{meaning}",
        title=text,
        role="img",
        **{"aria-label": text, "data-meaning": meaning},
    )


def kpi_card(
    spec: KpiSpec, value: float, times_s: np.ndarray, series: np.ndarray, *, where: str = ""
) -> html.Div:
    """One KPI card."""
    shown = value * spec.scale if value is not None and math.isfinite(value) else math.nan
    level = level_of(shown, spec)
    colour = theme.SEVERITY_HEX.get(level, "#8b98a8")
    svg = sparkline_svg(times_s, series * spec.scale, colour=colour)
    return html.Div(
        className=f"kpi level-{level}",
        **{"data-kpi": spec.name},
        children=[
            html.Div(spec.label, className="kpi-label", title=spec.definition or None),
            html.Div(
                className="kpi-row",
                children=[
                    html.Span(format_value(shown, spec.digits), className="kpi-value"),
                    html.Span(spec.unit, className="kpi-unit"),
                    kpi_trend(spec, times_s, series),
                ],
            ),
            html.Div(where, className="kpi-where") if where else None,
            html.Img(
                src="data:image/svg+xml;utf8," + quote(svg),
                className="kpi-spark",
                alt=f"{spec.label}, last hour",
            ),
        ],
    )


def kpi_strip(
    values: Mapping[str, float],
    history: Mapping[str, Any],
    *,
    where: Mapping[str, str] | None = None,
) -> list[html.Div]:
    """The strip's cards from current values and the KPI history (``time_s`` + one series per
    KPI name)."""
    times = np.asarray(history.get("time_s", np.array([])), dtype=float)
    where = where or {}
    cards = []
    for spec in KPIS:
        series = np.asarray(history.get(spec.name, np.full(len(times), np.nan)), dtype=float)
        cards.append(
            kpi_card(
                spec, values.get(spec.name, math.nan), times, series, where=where.get(spec.name, "")
            )
        )
    return cards
