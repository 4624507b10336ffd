"""Ambulance green corridors: route, pre-emption timeline, the ambulance in the traffic, ETAs.

The ambulance moves through the simulated traffic at the speed of the cell it is in (the
cell's fundamental-diagram speed: free speed in free flow, slower in a queue, zero in a jam),
and waits at a red stop line: it cannot pass a queue the corridor has not cleared.

A corridor pre-empts each signal on the route ahead of the ambulance. The window at a junction
opens ``lead`` seconds before the ambulance's free-flow arrival there, where ``lead`` covers the
intergreen plus the time the approach's queue needs to start moving (queue length / wave
speed) plus a margin; it closes :data:`HOLD_AFTER_S` seconds after the ambulance crossed the
stop line, and the plan returns through an intergreen. Windows are recomputed every step from
the ambulance's position (as GPS-driven pre-emption does), and a window that has opened keeps
its start.

Two corridors wanting different phases at the same junction at overlapping times: the one with
the higher ``priority`` (then the earlier dispatch) keeps its window; the other's window starts
two intergreens after it ends, and the conflict is recorded.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.actions import action_result, register_action
from twin.errors import ActionError
from twin.io import geometry
from twin.models import metrics, routing
from twin.models.signals import Preemption

if TYPE_CHECKING:
    from twin.engine import Engine

HOLD_AFTER_S = 3.0
LEAD_MARGIN_S = 5.0
MAX_LEAD_S = 60.0
OFF_NETWORK_SPEED_MPS = 40.0 / 3.6
"""Assumed ambulance speed (m/s) for the stretch from the network's edge to a hospital outside it."""
DETOUR_FACTOR = 1.3
"""Road distance over straight-line distance for that stretch (a common urban circuity)."""
MAX_TRIP_S = 3600.0
EXTRAS_KEY = "ambulances"
CORRIDOR_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
"""What a corridor id may be (it is shown on every wall)."""
CONFLICTS_KEY = "corridor_conflicts"


@dataclass
class Ambulance:
    """One ambulance trip (mutable; lives in ``engine.state.extras['ambulances']``)."""

    corridor_id: str
    route: list[int]
    movements: list[int]
    junction_rows: list[int]
    hospital_id: str
    start_m: float
    off_network_s: float
    priority: int
    with_corridor: bool
    dispatched_s: float
    eta_without_s: float | None = None  # from the dispatcher's preview, for "time saved"
    link_index: int = 0
    position_m: float = 0.0
    arrived_s: float | None = None
    cancelled_s: float | None = None
    windows: dict[int, list[float]] = field(default_factory=dict)
    passed_s: dict[int, float] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.arrived_s is None and self.cancelled_s is None


@dataclass(frozen=True)
class CorridorPlan:
    """A route and its pre-emption timeline, before dispatch."""

    corridor_id: str
    route: list[int]
    movements: list[int]
    junction_rows: list[int]
    hospital_id: str
    start_m: float
    off_network_s: float
    distance_m: float
    free_flow_s: float
    current_s: float
    timeline: list[dict[str, Any]]
    path_lonlat: list[list[float]]
    compute_ms: float


# ---------------------------------------------------------------- planning
def hospitals(engine: Engine) -> dict[str, dict[str, Any]]:
    """Emergency hospitals of the scenario: id -> node, name and off-network distance (m)."""
    facilities = engine.scenario.facilities
    if facilities is None:
        return {}
    excluded = set(engine.scenario.params.get("corridors", {}).get("exclude_hospitals", []))
    rows = facilities[(facilities["kind"] == "hospital") & ~facilities["id"].isin(excluded)]
    return {
        str(r["id"]): {
            "node_id": int(r["node_id"]),
            "name": str(r.get("name_en", r["id"])),
            "snap_distance_m": float(r.get("snap_distance_m", 0.0) or 0.0),
        }
        for _, r in rows.iterrows()
    }


def plan_corridor(
    engine: Engine,
    *,
    corridor_id: str,
    lat: float,
    lon: float,
    hospital_id: str | None = None,
) -> CorridorPlan:
    """Fastest route on current travel times from an incident to a hospital, and its timeline.

    ``hospital_id=None`` picks the hospital reached soonest. Raises :class:`ActionError` for
    coordinates outside the scenario, an unknown hospital, or no route.
    """
    started = time.perf_counter()
    known = hospitals(engine)
    if hospital_id is not None and hospital_id not in known:
        raise ActionError(
            f"hospital_id {hospital_id!r} is not a hospital of this scenario; known: {sorted(known)}"
        )
    if not known:
        raise ActionError("this scenario has no hospital to route to")
    snap = geometry.snap_to_link(engine.scenario, engine.lines_m, lat, lon)
    link_time = _current_link_time_s(engine)
    dist, pred = routing.fastest_tree(engine.net, link_time, snap.link_id)
    options = {hid: _to_hospital(engine.net, dist, h) for hid, h in known.items()}
    chosen = hospital_id or min(options, key=lambda h: options[h][1])
    last, seconds = options[chosen]
    if last < 0:
        raise ActionError(f"no route from the incident to hospital {chosen!r}")
    route = routing.path_to(pred, snap.link_id, last)
    start_m = float(engine.lines_m.iloc[snap.link_id].project(_point(snap)))
    return _plan(engine, corridor_id, route, chosen, start_m, known[chosen], link_time, started)


def _to_hospital(net: Any, dist: np.ndarray, hospital: dict[str, Any]) -> tuple[int, float]:
    last, seconds = routing.best_end_link(net, dist, hospital["node_id"])
    return last, seconds + _off_network_s(hospital)


def _off_network_s(hospital: dict[str, Any]) -> float:
    return hospital["snap_distance_m"] * DETOUR_FACTOR / OFF_NETWORK_SPEED_MPS


def _point(snap: geometry.Snap) -> Any:
    from shapely.geometry import Point

    return Point(snap.x_m, snap.y_m)


def _current_link_time_s(engine: Engine) -> np.ndarray:
    content = engine.state.vehicles.sum(axis=1)
    return metrics.cell_travel_time_s(engine.net, content) + engine.signal_wait_s(
        engine.state.plans
    )


def _plan(
    engine: Engine,
    corridor_id: str,
    route: list[int],
    hospital_id: str,
    start_m: float,
    hospital: dict[str, Any],
    link_time: np.ndarray,
    started: float,
) -> CorridorPlan:
    net = engine.net
    movements = [engine.movement_of(a, b) for a, b in zip(route[:-1], route[1:], strict=True)]
    rows = [int(engine.signal_row_of_node[net.link_to_node[link]]) for link in route[:-1]]
    length = net.link_length_m[route].copy()
    length[0] = max(length[0] - start_m, 0.0)
    free_s = length / net.link_free_speed_mps[route]
    ambulance = Ambulance(
        corridor_id,
        route,
        movements,
        rows,
        hospital_id,
        start_m,
        _off_network_s(hospital),
        1,
        True,
        engine.time_s,
        position_m=start_m,
    )
    windows = _windows_ahead(engine, ambulance, engine.state.vehicles.sum(axis=1))
    timeline = [
        {
            "node_id": int(engine.state.plans.node_ids[rows[j]]),
            "route_index": j,
            "phase": int(net.mv_phase[movements[j]]),
            "start_in_s": round(float(w[0] - engine.time_s), 1),
            "end_in_s": round(float(w[1] - engine.time_s), 1),
        }
        for j, w in sorted(windows.items())
    ]
    return CorridorPlan(
        corridor_id=corridor_id,
        route=route,
        movements=movements,
        junction_rows=rows,
        hospital_id=hospital_id,
        start_m=start_m,
        off_network_s=ambulance.off_network_s,
        distance_m=float(length.sum()),
        free_flow_s=float(free_s.sum() + ambulance.off_network_s),
        current_s=float(link_time[route[1:]].sum() + free_s[0] + ambulance.off_network_s),
        timeline=timeline,
        path_lonlat=geometry.path_lonlat(engine.scenario, engine.lines_m, route),
        compute_ms=(time.perf_counter() - started) * 1000.0,
    )


def ambulance_from_plan(
    plan: CorridorPlan, *, now_s: float, priority: int, with_corridor: bool
) -> Ambulance:
    return Ambulance(
        plan.corridor_id,
        list(plan.route),
        list(plan.movements),
        list(plan.junction_rows),
        plan.hospital_id,
        plan.start_m,
        plan.off_network_s,
        priority,
        with_corridor,
        now_s,
        position_m=plan.start_m,
    )


# ---------------------------------------------------------------- moving (engine step hook)
def step_hook(engine: Engine, dt_s: float) -> None:
    """Move every active ambulance through the traffic and refresh the pre-emptions."""
    ambulances = engine.state.extras.get(EXTRAS_KEY)
    if not ambulances:
        return
    content = engine.state.vehicles.sum(axis=1)
    green = engine.green_movements(engine.time_s)
    for ambulance in ambulances.values():
        if ambulance.active:
            _advance(engine, ambulance, content, green, dt_s)
    engine.state.preemptions = build_preemptions(engine, content)


def _cell_speed_mps(net: Any, cell: int, content: np.ndarray) -> float:
    free = net.link_free_speed_mps[net.cell_link[cell]]
    n = content[cell]
    if n <= net.cell_critical_veh[cell]:
        return float(free)
    wave = net.cell_receive_factor[cell] * net.cell_length_m[cell] / net.dt_s
    return float(min(free, wave * max(net.cell_jam_veh[cell] - n, 0.0) / n))


def _advance(
    engine: Engine, amb: Ambulance, content: np.ndarray, green: np.ndarray, dt_s: float
) -> None:
    net, end_s, remaining = engine.net, engine.time_s, dt_s
    while remaining > 1e-9:
        link = amb.route[amb.link_index]
        length = net.link_length_m[link]
        if amb.position_m >= length - 1e-6:
            if amb.link_index == len(amb.route) - 1:
                amb.arrived_s = end_s - remaining + amb.off_network_s
                return
            if not green[amb.movements[amb.link_index]]:
                return  # red: wait at the stop line
            amb.passed_s[amb.link_index] = end_s - remaining
            amb.link_index += 1
            amb.position_m = 0.0
            continue
        first = net.link_first_cell[link]
        n_cells = net.link_last_cell[link] - first + 1
        cell_len = length / n_cells
        k = min(int(amb.position_m // cell_len), n_cells - 1)
        speed = _cell_speed_mps(net, first + k, content)
        if speed <= 1e-6:
            return  # jammed: wait for the queue to move
        to_cell_end = min((k + 1) * cell_len, length) - amb.position_m
        need_s = max(to_cell_end, 1e-9) / speed
        if need_s <= remaining:
            amb.position_m += to_cell_end + 1e-9
            remaining -= need_s
        else:
            amb.position_m += speed * remaining
            remaining = 0.0


# ---------------------------------------------------------------- pre-emption windows
def _windows_ahead(engine: Engine, amb: Ambulance, content: np.ndarray) -> dict[int, list[float]]:
    """Pre-emption windows per route index for the junctions still ahead (absolute seconds)."""
    net, plans, now = engine.net, engine.state.plans, engine.time_s
    queue_m = metrics.queue_length_m(net, content)
    wave_mps = net.cell_receive_factor * net.cell_length_m / net.dt_s
    eta = now
    windows: dict[int, list[float]] = {}
    for j in range(amb.link_index, len(amb.route) - 1):
        link = amb.route[j]
        ahead_m = net.link_length_m[link] - (amb.position_m if j == amb.link_index else 0.0)
        eta += max(ahead_m, 0.0) / net.link_free_speed_mps[link]
        row = amb.junction_rows[j]
        if row < 0:
            continue
        wave = wave_mps[net.link_last_cell[link]]
        lead = min(
            MAX_LEAD_S, plans.intergreen_s[row] + queue_m[link] / max(wave, 0.1) + LEAD_MARGIN_S
        )
        start, end = eta - lead, max(eta, now) + HOLD_AFTER_S
        old = amb.windows.get(j)
        if old is not None and old[0] <= now:
            start = old[0]
        windows[j] = [start, end]
    return windows


def _refresh_windows(engine: Engine, amb: Ambulance, content: np.ndarray) -> None:
    for j, passed in amb.passed_s.items():
        if j in amb.windows:
            amb.windows[j][1] = passed + HOLD_AFTER_S
    if amb.active:
        amb.windows.update(_windows_ahead(engine, amb, content))
    elif amb.cancelled_s is not None:
        cut = amb.cancelled_s
        amb.windows = {j: [w[0], min(w[1], cut)] for j, w in amb.windows.items() if w[0] < cut}


def build_preemptions(engine: Engine, content: np.ndarray) -> tuple[Preemption, ...]:
    """All corridors' windows, conflicts resolved by priority, as engine pre-emptions."""
    now = engine.time_s
    by_row: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for amb in engine.state.extras.get(EXTRAS_KEY, {}).values():
        if not amb.with_corridor:
            continue
        _refresh_windows(engine, amb, content)
        for j, (start, end) in amb.windows.items():
            row = amb.junction_rows[j]
            if end + engine.state.plans.intergreen_s[row] > now:
                phase = int(engine.net.mv_phase[amb.movements[j]])
                by_row[row].append(
                    (-amb.priority, amb.dispatched_s, amb.corridor_id, start, end, phase)
                )
    result: list[Preemption] = []
    for row, wants in by_row.items():
        result.extend(_resolve(engine, row, sorted(wants)))
    return tuple(result)


def _resolve(engine: Engine, row: int, wants: list[tuple[Any, ...]]) -> list[Preemption]:
    """Keep windows in priority order; push a conflicting later one past the earlier ones."""
    gap = 2.0 * engine.state.plans.intergreen_s[row]
    kept: list[Preemption] = []
    for _, _, corridor_id, start, end, phase in wants:
        for other in kept:
            overlaps = start < other.end_s + gap and other.start_s < end + gap
            if overlaps and other.phase != phase:
                _record_conflict(engine, row, other.corridor_id, corridor_id)
                length = end - start
                start = other.end_s + gap
                end = max(end, start + length)
        same = [k for k in kept if k.phase == phase and start <= k.end_s and k.start_s <= end]
        if same:  # same phase: one window covers both
            merged = same[0]
            kept[kept.index(merged)] = replace(
                merged, start_s=min(merged.start_s, start), end_s=max(merged.end_s, end)
            )
        else:
            kept.append(Preemption(row, phase, start, end, corridor_id))
    return kept


def _record_conflict(engine: Engine, row: int, winner: str, loser: str) -> None:
    conflicts = engine.state.extras.setdefault(CONFLICTS_KEY, [])
    node = int(engine.state.plans.node_ids[row])
    if not any(
        c["node_id"] == node and c["kept"] == winner and c["delayed"] == loser for c in conflicts
    ):
        conflicts.append(
            {"node_id": node, "kept": winner, "delayed": loser, "time_s": engine.time_s}
        )


# ---------------------------------------------------------------- ETAs by forecast
def evaluate(
    engine: Engine, plan: CorridorPlan, *, priority: int = 1, recovery_s: float = 300.0
) -> dict[str, Any]:
    """ETA without and with the corridor, and the delay it costs other traffic (veh·h).

    Runs two forks of the live state forward until the ambulance arrives (live state untouched).
    """
    runs = {}
    for with_corridor in (False, True):
        fork = engine.fork()
        amb = ambulance_from_plan(
            plan, now_s=fork.time_s, priority=priority, with_corridor=with_corridor
        )
        fork.state.extras.setdefault(EXTRAS_KEY, {})[plan.corridor_id] = amb
        while amb.arrived_s is None and fork.time_s - amb.dispatched_s < MAX_TRIP_S:
            fork.step()
        runs[with_corridor] = (fork, amb)
    end = max(f.time_s for f, _ in runs.values()) + recovery_s
    for fork, _ in runs.values():
        fork.run(end)
    eta = {
        w: float(a.arrived_s - a.dispatched_s) if a.arrived_s is not None else float("inf")
        for w, (_, a) in runs.items()
    }
    with_fork, with_amb = runs[True]
    return {
        "eta_without_s": eta[False],
        "eta_with_s": eta[True],
        "time_saved_s": eta[False] - eta[True],
        "cross_traffic_delay_vehh": float(
            with_fork.state.delay_veh_s - runs[False][0].state.delay_veh_s
        )
        / 3600.0,
        "timeline": timeline(with_fork, with_amb),
    }


def timeline(engine: Engine, amb: Ambulance) -> list[dict[str, Any]]:
    """Pre-emption windows per junction on the route, with the time the ambulance passed."""
    plans = engine.state.plans
    return [
        {
            "node_id": int(plans.node_ids[amb.junction_rows[j]]),
            "name": engine.scenario.junction_name(int(plans.node_ids[amb.junction_rows[j]])),
            "route_index": j,
            "phase": int(engine.net.mv_phase[amb.movements[j]]),
            "start_s": round(float(w[0]), 1),
            "end_s": round(float(w[1]), 1),
            "passed_s": round(float(amb.passed_s[j]), 1) if j in amb.passed_s else None,
        }
        for j, w in sorted(amb.windows.items())
    ]


def status(engine: Engine, amb: Ambulance) -> dict[str, Any]:
    """Plain status of one ambulance for views: where it is, ETA, windows."""
    net = engine.net
    link = amb.route[amb.link_index]
    fraction = min(amb.position_m / max(net.link_length_m[link], 1e-9), 1.0)
    line = engine.lines_m.iloc[link]
    point = line.interpolate(fraction, normalized=True)
    lon, lat = geometry.m_to_lonlat(engine.scenario, np.array([point.x]), np.array([point.y]))[0]
    ahead_m = float(net.link_length_m[amb.route[amb.link_index :]].sum() - amb.position_m)
    ahead_s = (
        float(
            (
                net.link_length_m[amb.route[amb.link_index :]]
                / net.link_free_speed_mps[amb.route[amb.link_index :]]
            ).sum()
            - amb.position_m / net.link_free_speed_mps[link]
        )
        + amb.off_network_s
    )
    state = (
        "arrived"
        if amb.arrived_s is not None
        else "cancelled"
        if amb.cancelled_s is not None
        else "en route"
    )
    return {
        "corridor_id": amb.corridor_id,
        "hospital_id": amb.hospital_id,
        "state": state,
        "priority": amb.priority,
        "with_corridor": amb.with_corridor,
        "dispatched_s": amb.dispatched_s,
        "arrived_s": amb.arrived_s,
        "cancelled_s": amb.cancelled_s,
        "eta_without_s": amb.eta_without_s,
        "lon": float(lon),
        "lat": float(lat),
        "remaining_m": max(ahead_m, 0.0),
        "eta_s": None if state != "en route" else engine.time_s + max(ahead_s, 0.0),
        "route": list(amb.route),
        "timeline": timeline(engine, amb),
    }


# ---------------------------------------------------------------- actions
@register_action
@dataclass(frozen=True)
class DispatchCorridor:
    """Dispatch an ambulance from an incident at ``lat, lon`` to ``hospital_id`` (or the nearest)."""

    corridor_id: str
    lat: float
    lon: float
    hospital_id: str | None = None
    priority: int = 1
    eta_without_s: float | None = None
    kind: str = "dispatch_corridor"

    def check(self, engine: Engine) -> None:
        if not isinstance(self.corridor_id, str) or not CORRIDOR_ID.fullmatch(self.corridor_id):
            raise ActionError(
                f"corridor_id must be 1 to 40 letters, digits, '-' or '_', got "
                f"{str(self.corridor_id)[:40]!r}",
                code="bad_value",
            )
        if self.corridor_id in engine.state.extras.get(EXTRAS_KEY, {}):
            raise ActionError(
                f"corridor_id {self.corridor_id!r} already exists (no duplicate corridors)",
                code="corridor_exists",
            )
        if (
            isinstance(self.priority, bool)
            or not isinstance(self.priority, int)
            or not 1 <= self.priority <= 9
        ):
            raise ActionError(f"priority must be a whole number from 1 to 9, got {self.priority!r}")
        eta = self.eta_without_s
        if eta is not None and (
            isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 <= eta < 86400
        ):
            raise ActionError(f"eta_without_s must be empty or seconds in [0, 86400), got {eta!r}")
        plan_corridor(
            engine,
            corridor_id=self.corridor_id,
            lat=self.lat,
            lon=self.lon,
            hospital_id=self.hospital_id,
        )

    def execute(self, engine: Engine) -> dict[str, Any]:
        plan = plan_corridor(
            engine,
            corridor_id=self.corridor_id,
            lat=self.lat,
            lon=self.lon,
            hospital_id=self.hospital_id,
        )
        amb = ambulance_from_plan(
            plan, now_s=engine.time_s, priority=self.priority, with_corridor=True
        )
        amb.eta_without_s = self.eta_without_s
        engine.state.extras.setdefault(EXTRAS_KEY, {})[self.corridor_id] = amb
        engine.state.preemptions = build_preemptions(engine, engine.state.vehicles.sum(axis=1))
        after = {
            "hospital_id": plan.hospital_id,
            "route_links": len(plan.route),
            "distance_m": round(plan.distance_m),
            "signals": len(plan.timeline),
        }
        return action_result(self, f"corridor {self.corridor_id}", None, after)


@register_action
@dataclass(frozen=True)
class CancelCorridor:
    """Cancel an active corridor: its pre-emptions end at once (through an intergreen)."""

    corridor_id: str
    kind: str = "cancel_corridor"

    def check(self, engine: Engine) -> None:
        amb = engine.state.extras.get(EXTRAS_KEY, {}).get(self.corridor_id)
        if amb is None:
            raise ActionError(f"corridor_id {self.corridor_id!r} is not a known corridor")
        if not amb.active:
            raise ActionError(f"corridor {self.corridor_id!r} has already ended")

    def execute(self, engine: Engine) -> dict[str, Any]:
        amb = engine.state.extras[EXTRAS_KEY][self.corridor_id]
        amb.cancelled_s = engine.time_s
        engine.state.preemptions = build_preemptions(engine, engine.state.vehicles.sum(axis=1))
        return action_result(self, f"corridor {self.corridor_id}", "active", "cancelled")
