"""The detail panel of the selected road, junction, venue or checkpoint."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from dash import html

from layouts import theme
from layouts.deck import Scene, venue_occupancy
from layouts.kpis import format_value
from twin.clock_text import hhmm
from twin.service.live import view_extra


def _rows(pairs: list[tuple[str, str]]) -> html.Table:
    return html.Table(
        className="detail-table",
        children=[html.Tr([html.Th(name), html.Td(value)]) for name, value in pairs],
    )


def _num(value: Any, digits: int = 0, unit: str = "") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    text = format_value(number, digits)
    return f"{text} {unit}".strip() if text != "—" else text


def _los(value: Any) -> str:
    try:
        return theme.LOS_LETTERS[int(value)]
    except (TypeError, ValueError, IndexError):
        return "—"


def road_detail(scene: Scene, frame: Any, link: int) -> list[Any]:
    """Live and predicted figures of link ``link``."""
    row = scene.links[link]
    now = frame.view.links
    pairs = [
        ("Class", f"{row['h']} · {row['l']} lane(s)"),
        ("Length", _num(scene.link_length_m[link], 0, "m")),
        ("Level of service", _los(now["los"][link])),
        (
            "Delay",
            _num(now["delay_s_per_veh"][link] if "delay_s_per_veh" in now else None, 1, "s/veh"),
        ),
        (
            "Speed",
            f"{_num(now['speed_kph'][link], 0, 'km/h')} ({_num(100 * now['speed_ratio'][link], 0, '%')} of free)",
        ),
        ("Flow", _num(now["flow_vph"][link], 0, "veh/h")),
        ("Density", _num(now["density_vpkm"][link], 1, "veh/km")),
        ("Queue", _num(now["queue_m"][link], 0, "m")),
        ("Travel time", _num(now["travel_time_s"][link], 0, "s")),
        ("Vehicles", _num(now["vehicles"][link], 1)),
    ]
    for mark, view in sorted(frame.forecasts.items()):
        pairs.append(
            (
                f"Predicted +{mark // 60} min",
                f"LOS {_los(view.links['los'][link])} · {_num(view.links['speed_kph'][link], 0, 'km/h')}",
            )
        )
    return [html.H3(row["n"]), html.Div(f"Road {link}", className="detail-sub"), _rows(pairs)]


def junction_detail(scene: Scene, frame: Any, node: int, plans: Mapping[int, str]) -> list[Any]:
    """Signal phase, delay and plan of junction ``node``."""
    j = frame.view.junctions
    phase = int(j["phase"][node])
    name = next((s["n"] for s in scene.signals if s["i"] == node), f"Junction {node}")
    pairs = [
        ("Current phase", "all-red" if phase < 0 else str(phase + 1)),
        ("Delay", _num(j["delay_s_per_veh"][node], 1, "s/veh")),
        ("Level of service", _los(j["los"][node])),
    ]
    if "throughput_vph" in j:
        pairs.append(("Throughput", _num(j["throughput_vph"][node], 0, "veh/h")))
    if node in plans:
        pairs.append(("Signal plan", plans[node]))
    return [html.H3(name), html.Div("Signalised junction", className="detail-sub"), _rows(pairs)]


def venue_detail(scene: Scene, frame: Any, index: int, sessions: list[dict[str, Any]]) -> list[Any]:
    """Occupancy and sessions of venue row ``index``."""
    venue = scene.venues[index]
    people = view_extra(frame.view, "pedestrians")
    occupancy = venue_occupancy(scene, people) if people is not None else None
    on_site = float(occupancy[index]) if occupancy is not None else math.nan
    capacity = venue["cap"] or math.nan
    pairs = [
        ("Capacity", _num(capacity, 0, "seats")),
        ("Inside", _num(on_site, 0)),
        ("Occupancy", _num(100 * on_site / capacity, 0, "%")),
    ]
    for session in sessions:
        if session["venue_index"] == index:
            pairs.append((session["when"], session["title"]))
    return [html.H3(venue["n"]), html.Div("Venue", className="detail-sub"), _rows(pairs)]


def checkpoint_detail(scene: Scene, frame: Any, index: int) -> list[Any]:
    """Queue, wait and lanes of checkpoint ``index``."""
    name = scene.checkpoints[index]["n"]
    people = view_extra(frame.view, "pedestrians") or {}
    table = people.get("checkpoints") or {}

    def value(key: str) -> Any:
        column = table.get(key)
        return column[index] if column is not None and index < len(column) else math.nan

    pairs = [
        ("Wait", _num(float(value("wait_s")) / 60, 0, "min")),
        ("Queue", _num(value("queue_persons"), 0, "persons")),
        ("Face e-gates open", _num(value("lanes_face"))),
        ("Manual lanes open", _num(value("lanes_manual"))),
        ("Lane positions", _num(value("max_lanes"))),
        ("Served so far", _num(value("served_persons"), 0, "persons")),
    ]
    kinds = table.get("kind") or ()
    sub = (
        "Park gate checkpoint (screened before the venue entrance)"
        if index < len(kinds) and kinds[index] == "park_gate"
        else "Security checkpoint"
    )
    return [html.H3(name), html.Div(sub, className="detail-sub"), _rows(pairs)]


def detail_panel(
    scene: Scene,
    frame: Any,
    selection: Mapping[str, Any] | None,
    *,
    plans: Mapping[int, str],
    sessions: list[dict[str, Any]],
) -> list[Any]:
    """The panel's content for ``selection`` (``{"kind", "id", "index"}``)."""
    if not selection or frame is None:
        return []
    kind, key = selection.get("kind"), int(selection.get("id", -1))
    if kind == "road" and 0 <= key < len(scene.links):
        body = road_detail(scene, frame, key)
    elif kind == "junction" and 0 <= key < len(frame.view.junctions["phase"]):
        body = junction_detail(scene, frame, key, plans)
    elif kind == "venue" and 0 <= key < len(scene.venues):
        body = venue_detail(scene, frame, key, sessions)
    elif kind == "checkpoint" and 0 <= key < len(scene.checkpoints):
        body = checkpoint_detail(scene, frame, key)
    else:
        return []
    return body


def signal_plans(signals: Any) -> dict[int, str]:
    """Readable plan per signalised node from ``signals.csv`` rows."""
    out = {}
    for row in signals.itertuples(index=False):
        greens = " / ".join(f"{float(g):.0f}" for g in str(row.greens_s).split())
        out[int(row.node_id)] = f"cycle {float(row.cycle_s):.0f} s · greens {greens} s"
    return out


def venue_sessions(schedule: Any, venue_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sessions per venue row for the venue panel (times in seconds since midnight or HH:MM)."""
    index = {vid: k for k, vid in enumerate(venue_ids)}
    out = []
    if schedule is None or len(schedule) == 0:
        return out
    for row in schedule.itertuples(index=False):
        k = index.get(str(row.venue_id))
        if k is None:
            continue
        start, end = (
            hhmm(v) if isinstance(v, (int, float, np.number)) else str(v)
            for v in (row.start, row.end)
        )
        out.append(
            {
                "venue_index": k,
                "when": f"{start}–{end}",
                "title": f"{row.title} ({int(row.expected_attendance):,})",
            }
        )
    return out
