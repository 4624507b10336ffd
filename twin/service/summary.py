"""The executive summary: a few plain figures, each with its unit and a one-line meaning.

Computed from a published :class:`twin.engine.TwinView`, the scenario, alert counts and a
*normal day*: the same network and background traffic with no event (:func:`normal_day`), which
the network delay index is measured against.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from twin.engine import TwinView
    from twin.scenario import Scenario

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


def normal_day(scenario: Scenario, *, seed: int, start_s: float, end_s: float) -> NormalDay:
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
    scenario: Scenario,
    view: TwinView,
    *,
    normal: NormalDay | None,
    alert_counts: dict[str, int],
) -> dict[str, Any]:
    """Plain figures for the executive page (see the module docstring).

    ``on_site_persons`` is the control-room wall's "Spectators on site" (everyone who arrived for
    the event and has not left), ``crowd`` the walking/queueing/inside split of it, and
    ``decisions`` what needs an executive's decision or attention (:func:`needs_decision`).
    """
    people = view.extras.get("pedestrians")
    attendance = _attendance(scenario, view.time_s, people)
    checkpoints = _checkpoints(people)
    network = _network(view, normal)
    return {
        "time_s": view.time_s,
        "on_site_persons": None if people is None else float(people["on_site_persons"]),
        "crowd": _crowd(people, attendance),
        "attendance": attendance,
        "checkpoints": checkpoints,
        "network": network,
        "ambulances": _ambulances(view.extras.get("ambulances", [])),
        "alerts": dict(alert_counts),
        "decisions": needs_decision(
            view, attendance=attendance, delay_index=network["delay_index"], scenario=scenario
        ),
    }


def _attendance(
    scenario: Scenario, time_s: float, people: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Per venue: persons inside against capacity, arrivals against the expected crowd of the
    venue's current or next session, its spectators queueing (at its entrance and at gates) and
    the wait at its entrance now (s)."""
    if people is None:
        return []
    facilities = scenario.facilities.set_index("id")
    schedule = scenario.schedule
    cp = people["checkpoints"]
    entrance_wait = {
        venue: float(wait)
        for venue, kind, wait in zip(cp["venue_id"], cp["kind"], cp["wait_s"], strict=True)
        if kind == "venue_entrance"
    }
    rows = []
    for v, venue in enumerate(people["venues"]["venue_id"]):
        sessions = schedule[(schedule["venue_id"] == venue) & (schedule["end_s"] > time_s)]
        session = sessions.sort_values("start_s").iloc[0] if len(sessions) else None
        capacity = pd.to_numeric(facilities.loc[venue, "capacity"], errors="coerce")
        rows.append(
            {
                "venue_id": venue,
                "name": str(facilities.loc[venue, "name_en"]).split(" (")[0],
                "inside_persons": float(people["venues"]["inside_persons"][v]),
                "capacity": float(capacity) if np.isfinite(capacity) else None,
                "session": None if session is None else str(session["title"]),
                "starts_s": None if session is None else float(session["start_s"]),
                "expected_persons": None
                if session is None
                else int(session["expected_attendance"]),
                "queued_persons": float(
                    people["venues"]["queued_persons"][v]
                ),  # at its gates and entrance
                "entrance_wait_s": entrance_wait.get(venue),
            }
        )
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
        "share_under_target": float(np.sum(cp["arrived_under_target"]) / arrived)
        if arrived > 0
        else None,
        "wait_target_s": float(cp["wait_target_s"]),
    }


def _network(view: TwinView, normal: NormalDay | None) -> dict[str, Any]:
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
    saved = [
        a["eta_without_s"] - (a["arrived_s"] - a["dispatched_s"])
        for a in done
        if a["eta_without_s"] is not None
    ]
    return {
        "dispatched": len(ambulances),
        "en_route": sum(a["state"] == "en route" for a in ambulances),
        "arrived": len(done),
        "median_trip_s": float(np.median(trips)) if trips else None,
        "time_saved_s": float(np.sum(saved)) if saved else None,
    }


def _crowd(people: dict[str, Any] | None, attendance: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the spectators on site are: inside venues, queueing (at gates and entrances) and
    the rest (walking across the park or waiting to set off); the peak density now."""
    if people is None:
        return {}
    on_site = float(people["on_site_persons"])
    inside = float(sum(r["inside_persons"] for r in attendance))
    queued = float(sum(r["queued_persons"] for r in attendance))
    return {
        "inside_persons": inside,
        "queued_persons": queued,
        "moving_persons": max(on_site - inside - queued, 0.0),
        "peak_density_ppm2": float(people["peak_density_ppm2"]),
        "crush_alerts": len(people["crush_alerts"]),
    }


# ---------------------------------------------------------------- decisions
SESSION_LOOKAHEAD_S = 2700.0
"""A session starting within this time (s) is checked for spectators still outside."""
ROAD_DELAY_INDEX_ESCALATE = 2.0
"""Road delay at this multiple of a normal day is put to the executive (police traffic
control, public-transport advice); below it, failing junctions are the operators' work."""
JUNCTIONS_REPORTED = 3
"""Signalised junctions at level of service F from which the summary mentions them."""
DECIDE, ACTING = "decide", "acting"


def _clock(time_s: float) -> str:
    total = int(time_s) % 86400
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _nearest_venue(scenario: Scenario, x_m: float, y_m: float) -> str:
    """The English short name of the venue nearest a projected point ("the park" without venues)."""
    from twin.io import geometry

    facilities = getattr(scenario, "facilities", None)
    if facilities is None or "kind" not in facilities:
        return "the park"
    venues = facilities[facilities["kind"] == "venue"]
    if venues.empty:
        return "the park"
    points = venues.geometry.to_crs(geometry.crs_m(scenario))
    d = np.hypot(points.x.to_numpy() - x_m, points.y.to_numpy() - y_m)
    return str(venues["name_en"].iloc[int(np.argmin(d))]).split(" (")[0]


def needs_decision(
    view: TwinView,
    *,
    attendance: list[dict[str, Any]] | None = None,
    delay_index: float | None = None,
    scenario: Scenario | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """What an executive should decide or know now, most urgent first: one summarised item per
    kind of trouble, never one per operator task.

    Each item has ``what`` (one line), ``detail`` (why, and who is on it), ``owner``
    (``"decide"``: a decision for the executive, e.g. delaying a session start or asking for
    police traffic control; ``"acting"``: the operators are handling it), ``level`` (1 advisory
    to 3 critical), ``kind`` and ``focus`` (what the map should show: a tab and an index).
    Items for the executive come first.
    """
    items: list[dict[str, Any]] = []
    people = view.extras.get("pedestrians")
    time_s = float(view.time_s)
    for row in attendance or ():
        item = _session_at_risk(row, time_s)
        if item is not None:
            items.append(item)
    if people is not None:
        items += _checkpoint_items(people["checkpoints"])
        items += _crowd_items(people["crush_alerts"], scenario)
    items += _road_items(view, delay_index)
    conflicts = view.extras.get("corridor_conflicts", [])
    if conflicts:
        items.append(
            {
                "what": f"{_plural(len(conflicts), 'pair')} of ambulance corridors cross",
                "detail": "one ambulance is held at the crossing junction; operators are re-timing the signals",
                "owner": ACTING,
                "level": 2,
                "kind": "corridor",
                "focus": {"tab": "corridor"},
            }
        )
    items.sort(key=lambda item: (item["owner"] != DECIDE, -item["level"]))
    return items[:limit]


def _session_at_risk(row: dict[str, Any], time_s: float) -> dict[str, Any] | None:
    """A session about to start while many of its spectators are still outside: the entrance
    queue is longer than the time left, or under half are in with 20 minutes to go."""
    starts_s, expected = row["starts_s"], row["expected_persons"]
    if starts_s is None or not expected:
        return None
    left_s = starts_s - time_s
    if not 0 < left_s <= SESSION_LOOKAHEAD_S:
        return None
    share = row["inside_persons"] / expected
    wait_s = row.get("entrance_wait_s")
    slow_entry = wait_s is not None and wait_s > left_s
    if not (slow_entry or (left_s <= 1200 and share < 0.5)):
        return None
    why = (
        f"the entrance queue takes {wait_s / 60:.0f} min, longer than the time left"
        if slow_entry and np.isfinite(wait_s)
        else "the entrance has no lane open"
        if slow_entry
        else f"{row['queued_persons']:,.0f} still queueing"
    )
    return {
        "what": f"{row['name']}: {row['session']} starts at {_clock(starts_s)} "
        f"with {100 * share:.0f} % of {expected:,} spectators inside",
        "detail": f"{why}: consider delaying the start",
        "owner": DECIDE,
        "level": 3 if left_s <= 900 else 2,
        "kind": "session",
        "focus": {"tab": "checkpoints", "venue": row["venue_id"]},
    }


def _checkpoint_items(cp: dict[str, Any]) -> list[dict[str, Any]]:
    """Checkpoints over the wait target, summarised: the operators open lanes where they can;
    where every lane is open already, more staff is the executive's call."""
    wait = np.asarray(cp["wait_s"], dtype=float)
    over = np.flatnonzero(wait > cp["wait_target_s"])
    if not len(over):
        return []
    lanes = np.asarray(cp["lanes_face"]) + np.asarray(cp["lanes_manual"])
    full = [int(i) for i in over if lanes[i] >= cp["max_lanes"][i]]
    worst = int(over[np.argmax(wait[over])])
    kinds = [cp["kind"][i] for i in over]
    entrances, gates = kinds.count("venue_entrance"), kinds.count("park_gate")
    where = " and ".join(
        part
        for part in (
            _plural(entrances, "venue entrance") if entrances else "",
            _plural(gates, "park gate") if gates else "",
        )
        if part
    )
    worst_wait = f"{wait[worst] / 60:.0f} min" if np.isfinite(wait[worst]) else "no lane open"
    what = (
        f"{where} over the {cp['wait_target_s'] / 60:.0f}-minute wait target "
        f"(worst: {cp['name'][worst]}, {worst_wait})"
    )
    if full:
        names = ", ".join(cp["name"][i] for i in full[:2]) + (
            f" and {len(full) - 2} more" if len(full) > 2 else ""
        )
        return [
            {
                "what": what,
                "detail": f"every lane is already open at {names}: consider more screening "
                "staff or opening doors earlier",
                "owner": DECIDE,
                "level": 3 if len(full) > 1 else 2,
                "kind": "checkpoint",
                "focus": {"tab": "checkpoints", "checkpoint": full[0]},
            }
        ]
    return [
        {
            "what": what,
            "detail": "operators are opening lanes",
            "owner": ACTING,
            "level": 2,
            "kind": "checkpoint",
            "focus": {"tab": "checkpoints", "checkpoint": worst},
        }
    ]


def _crowd_items(alerts: list[dict[str, Any]], scenario: Scenario) -> list[dict[str, Any]]:
    """Crush-risk areas, summarised; a critical one is put to the executive (holding arrivals
    at the gates, announcements)."""
    if not alerts:
        return []
    worst = max(alerts, key=lambda a: a["peak_density_ppm2"])
    critical = sum(a["level"] == "critical" for a in alerts)
    near = (
        _nearest_venue(scenario, worst["x_m"], worst["y_m"]) if scenario is not None else "the park"
    )
    what = f"Crowd density up to {worst['peak_density_ppm2']:.1f} persons/m² near {near}" + (
        f" ({_plural(len(alerts), 'area')})" if len(alerts) > 1 else ""
    )
    if critical:
        return [
            {
                "what": what,
                "detail": "crush risk: consider holding arrivals at the park gates and "
                "a public announcement; stewards are thinning the crowd",
                "owner": DECIDE,
                "level": 3,
                "kind": "crowd",
                "focus": {"tab": "alerts"},
            }
        ]
    return [
        {
            "what": what,
            "detail": "dense but below the crush level; stewards are thinning the crowd",
            "owner": ACTING,
            "level": 2,
            "kind": "crowd",
            "focus": {"tab": "alerts"},
        }
    ]


def _road_items(view: TwinView, delay_index: float | None) -> list[dict[str, Any]]:
    """Road delay against a normal day (the executive's call from ``ROAD_DELAY_INDEX_ESCALATE``)
    and failing signalised junctions (the operators' work)."""
    failing = int(np.count_nonzero((view.junctions["los"] >= 5) & view.junctions["signalised"]))
    junctions = (
        f"{_plural(failing, 'signalised junction')} at level of service F" if failing else ""
    )
    if delay_index is not None and delay_index >= ROAD_DELAY_INDEX_ESCALATE:
        return [
            {
                "what": f"Roads around the park at {delay_index:.1f}× a normal day's delay",
                "detail": (f"{junctions}, operators are re-timing signals; " if junctions else "")
                + "consider police traffic control and advising public transport",
                "owner": DECIDE,
                "level": 3 if delay_index >= 4.0 else 2,
                "kind": "roads",
                "focus": {"tab": "signals"},
            }
        ]
    if failing >= JUNCTIONS_REPORTED:
        return [
            {
                "what": junctions[0].upper() + junctions[1:],
                "detail": "operators are re-timing their signals",
                "owner": ACTING,
                "level": 1,
                "kind": "roads",
                "focus": {"tab": "signals"},
            }
        ]
    return []
