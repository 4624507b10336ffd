"""The executive summary: a few plain figures, each with its unit and a one-line meaning.

Computed from a published :class:`twin.engine.TwinView`, the scenario, alert counts and a
*normal day*: the same network and background traffic with no event (:func:`normal_day`), which
the network delay index is measured against.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
NORMAL_DAY_STEP_S = 300.0


@dataclass(frozen=True)
class NormalDay:
    """Network delay (vehicles delayed, i.e. veh·h lost per hour) every 5 minutes of a day
    without the event."""

    time_s: FloatArray
    delay_rate_veh: FloatArray

    def at(self, time_s: float) -> float:
        return float(np.interp(time_s, self.time_s, self.delay_rate_veh))


def normal_day(scenario: Any, *, seed: int, start_s: float, end_s: float) -> NormalDay:
    """Run the scenario with an empty schedule (background traffic only) from ``start_s`` to
    ``end_s`` and record the network's delay rate every five minutes."""
    from twin.engine import Engine

    quiet = dataclasses.replace(scenario, schedule=scenario.schedule.iloc[0:0])
    engine = Engine(quiet, seed=seed, start_s=start_s)
    times, delays = [], []
    while engine.time_s < end_s:
        engine.run(min(engine.time_s + NORMAL_DAY_STEP_S, end_s))
        times.append(engine.time_s)
        delays.append(float(engine.view().links["delay_rate_veh"].sum()))
    return NormalDay(np.array(times), np.array(delays))


def executive_summary(
    scenario: Any, view: Any, *, normal: NormalDay | None, alert_counts: dict[str, int],
) -> dict[str, Any]:
    """Plain figures for the executive page (see the module docstring)."""
    people = view.extras.get("pedestrians")
    return {
        "time_s": view.time_s,
        "attendance": _attendance(scenario, view.time_s, people),
        "checkpoints": _checkpoints(people),
        "network": _network(view, normal),
        "ambulances": _ambulances(view.extras.get("ambulances", [])),
        "alerts": dict(alert_counts),
        "decisions": needs_decision(view),
    }


def _attendance(scenario: Any, time_s: float, people: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per venue: persons inside against capacity, arrivals against the expected crowd of the
    venue's current or next session, and its spectators queueing (at its entrance and at gates)."""
    if people is None:
        return []
    facilities = scenario.facilities.set_index("id")
    schedule = scenario.schedule
    rows = []
    for v, venue in enumerate(people["venues"]["venue_id"]):
        sessions = schedule[(schedule["venue_id"] == venue) & (schedule["end_s"] > time_s)]
        session = sessions.sort_values("start_s").iloc[0] if len(sessions) else None
        capacity = pd.to_numeric(facilities.loc[venue, "capacity"], errors="coerce")
        rows.append({
            "venue_id": venue,
            "name": str(facilities.loc[venue, "name_en"]).split(" (")[0],
            "inside_persons": float(people["venues"]["inside_persons"][v]),
            "capacity": float(capacity) if np.isfinite(capacity) else None,
            "session": None if session is None else str(session["title"]),
            "starts_s": None if session is None else float(session["start_s"]),
            "expected_persons": None if session is None else int(session["expected_attendance"]),
            "queued_persons": float(people["venues"]["queued_persons"][v]),  # at its gates and entrance
        })
    return rows


def _checkpoints(people: dict[str, Any] | None) -> dict[str, Any]:
    """Worst and queue-weighted mean wait now (s), and the share of arrivals whose wait at joining
    was within the target, over every checkpoint: park gates and venue entrances (a spectator
    screened at a gate and then at the entrance counts at each)."""
    if people is None:
        return {}
    cp = people["checkpoints"]
    wait = np.asarray(cp["wait_s"], dtype=float)
    queue = np.asarray(cp["queue_persons"], dtype=float)
    arrived = float(np.sum(cp["arrived_persons"]))
    worst = int(np.argmax(wait)) if len(wait) else 0
    return {
        "worst_wait_s": float(wait[worst]) if len(wait) else 0.0,
        "worst_name": cp["name"][worst] if len(wait) else "",
        "mean_wait_s": float(np.average(wait, weights=queue)) if queue.sum() > 0 else 0.0,
        "share_under_target": float(np.sum(cp["arrived_under_target"]) / arrived) if arrived > 0 else None,
        "wait_target_s": float(cp["wait_target_s"]),
    }


def _network(view: Any, normal: NormalDay | None) -> dict[str, Any]:
    """Vehicles delayed now and that as a multiple of a normal day at this time."""
    delay_rate = float(view.links["delay_rate_veh"].sum())
    baseline = normal.at(view.time_s) if normal is not None else None
    return {
        "delay_rate_veh": delay_rate,
        "normal_delay_rate_veh": baseline,
        "delay_index": delay_rate / baseline if baseline else None,
        "mean_speed_kph": float(view.kpis["mean_speed_kph"]),
        "total_delay_vehh": float(view.kpis["total_delay_vehh"]),
    }


def _ambulances(ambulances: list[dict[str, Any]]) -> dict[str, Any]:
    """Responses: count, median trip (s), and time saved by corridors against the preview's
    ETA without a corridor (s)."""
    done = [a for a in ambulances if a["arrived_s"] is not None]
    trips = [a["arrived_s"] - a["dispatched_s"] for a in done]
    saved = [a["eta_without_s"] - (a["arrived_s"] - a["dispatched_s"]) for a in done if a["eta_without_s"] is not None]
    return {
        "dispatched": len(ambulances),
        "en_route": sum(a["state"] == "en route" for a in ambulances),
        "arrived": len(done),
        "median_trip_s": float(np.median(trips)) if trips else None,
        "time_saved_s": float(np.sum(saved)) if saved else None,
    }


def needs_decision(view: Any, *, limit: int = 5) -> list[dict[str, Any]]:
    """What needs an operator's or executive's decision now, most urgent first."""
    items: list[tuple[int, dict[str, Any]]] = []
    people = view.extras.get("pedestrians")
    if people is not None:
        cp = people["checkpoints"]
        for i, name in enumerate(cp["name"]):
            if cp["wait_s"][i] > cp["wait_target_s"]:
                items.append((2, {"what": f"{name}: wait {cp['wait_s'][i] / 60:.0f} min, above the "
                                          f"{cp['wait_target_s'] / 60:.0f} min target — open lanes",
                                  "kind": "checkpoint", "id": i}))
        for alert in people["crush_alerts"]:
            items.append((3 if alert["level"] == "critical" else 2, {
                "what": f"Crowd {alert['peak_density_ppm2']:.1f} p/m² ({alert['level']}) — relieve the area",
                "kind": "crowd", "id": f"{alert['row']},{alert['col']}"}))
    for conflict in view.extras.get("corridor_conflicts", []):
        items.append((2, {"what": f"Corridors {conflict['kept']} and {conflict['delayed']} meet at junction "
                                  f"{conflict['node_id']}", "kind": "corridor", "id": conflict["delayed"]}))
    failing = np.flatnonzero((view.junctions["los"] >= 5) & view.junctions["signalised"])
    for node in failing[:3]:
        items.append((1, {"what": f"Junction {int(node)} at level of service F "
                                  f"({view.junctions['delay_s_per_veh'][node]:.0f} s/veh) — review its plan",
                          "kind": "junction", "id": int(node)}))
    items.sort(key=lambda item: -item[0])
    return [item for _, item in items[:limit]]
