"""Spectators on foot in the engine: crowd grid, venue checkpoints, occupancy, crush alerts.

Wiring (every ``CROWD_DT_S`` seconds of simulated time, as an engine step hook):

- Arrivals (``Demand.foot_pps``): rail and walking spectators appear at the station nearest
  their venue, car/taxi/bus spectators at the park gate nearest it (where drop-offs and car
  parks meet the park). Each walks down the distance field to its venue's entrance checkpoint.
- Every spectator is screened once, at the venue entrance (:mod:`twin.checkpoints`): persons
  reaching the entrance cell join its queue; the open lanes serve it; served persons are inside
  the venue (occupancy). Park gates are where the crowd enters the grid, not screening points.
- The queue occupies space: its persons are laid out over the walkable cells nearest the
  entrance (by walking distance) at :data:`QUEUE_DENSITY_PPM2`, within a pen of
  :data:`QUEUE_PEN_M`; a queue longer than the pen holds raises the pen's density, which the
  crush watch sees.
- Departures: after a session the departure curve releases spectators from the venue (never
  more than are inside) at its entrance; they walk to their station or gate and leave.

The crowd grid covers the park (venues, gates and the stations used, plus
``GRID_MARGIN_M``) at ``CELL_M`` cells. Walkable space follows :mod:`twin.walkable`'s rule.
Persons are conserved: offered = on the grid + waiting at sources + in queues + inside venues
+ gone (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from twin import checkpoints, crowd, walkable
from twin.actions import action_result, register_action
from twin.errors import ActionError

FloatArray = npt.NDArray[np.float64]
CELL_M = 20.0
"""Crowd cell side (m). Coarser than a crowd study's 0.5-1 m: zone densities for a control room."""
CROWD_DT_S = 10.0
GRID_MARGIN_M = 250.0
QUEUE_DENSITY_PPM2 = 2.0
"""Density of an orderly standing queue (p/m², Fruin queuing LOS C/D)."""
QUEUE_PEN_M = 80.0
WAIT_TARGET_S = 600.0
"""Default wait target at a checkpoint (s)."""
KEY = "pedestrians"


@dataclass(frozen=True, eq=False)
class Layout:
    """Static side of the pedestrians: grid, groups, sources, sinks, checkpoints."""

    network: crowd.CrowdNetwork
    specs: tuple[checkpoints.CheckpointSpec, ...]
    venue_ids: tuple[str, ...]  # demand's venue order; venue v has arrival group v
    venue_checkpoint: npt.NDArray[np.int64]  # (V,) checkpoint index of each venue
    station_source: npt.NDArray[np.int64]  # (V,) source index of arrivals by rail/foot
    gate_source: npt.NDArray[np.int64]  # (V,) source index of arrivals by road
    leave_rail_source: npt.NDArray[np.int64]  # (V,) source index of leavers to the station
    leave_road_source: npt.NDArray[np.int64]  # (V,) source index of leavers to the gate
    queue_cells: tuple[npt.NDArray[np.int64], ...]  # per checkpoint: pen cells, nearest first
    cell_centre_lonlat: FloatArray  # (C, 2) for the map

    @property
    def n_venues(self) -> int:
        return len(self.venue_ids)


@dataclass
class PedestrianState:
    crowd: crowd.CrowdState
    checkpoints: checkpoints.CheckpointState
    watch: crowd.CrushWatch
    inside: FloatArray  # (V,) persons inside each venue
    released: FloatArray  # (V,) cumulative persons released after sessions
    gone: float
    pending_s: float
    alerts: list[Any]
    arrived_under_target: FloatArray  # (N,) persons whose wait at joining was within the target

    def __deepcopy__(self, memo: dict) -> PedestrianState:
        return PedestrianState(self.crowd.copy(), self.checkpoints.copy(), self.watch.copy(),
                               self.inside.copy(), self.released.copy(), self.gone,
                               self.pending_s, list(self.alerts), self.arrived_under_target.copy())


# ---------------------------------------------------------------- building
def build_layout(scenario: Any, demand: Any) -> Layout | None:
    """The pedestrian layout of a scenario with venues; None when it has none."""
    facilities = scenario.facilities
    if facilities is None or not len(demand.venue_ids):
        return None
    crs = scenario.params.get("crs_m", "EPSG:32652")
    points = facilities.to_crs(crs).set_index("id").geometry
    open_share = float(scenario.params.get("checkpoints", {}).get("open_share", 1.0))
    specs = _venue_checkpoints(facilities, crs, demand.venue_ids, open_share)
    stations = [s for s in demand.foot_source]
    gates = [_nearest_gate(points, facilities, v) for v in demand.venue_ids]
    grid = _grid(scenario, crs, points, [*demand.venue_ids, *stations, *gates])
    venue_cells = [_cell(grid, specs[i].x_m, specs[i].y_m) for i in range(len(specs))]
    exits = sorted(set(stations) | set(gates))
    exit_cells = {e: _cell(grid, points[e].x, points[e].y) for e in exits}
    n_v = len(demand.venue_ids)
    targets = [np.array([c]) for c in venue_cells] + [np.array([exit_cells[e]]) for e in exits]
    exit_group = {e: n_v + k for k, e in enumerate(exits)}
    src_group, src_cell = [], []

    def source(group: int, cell: tuple[int, int]) -> int:
        src_group.append(group)
        src_cell.append(cell)
        return len(src_group) - 1

    station_src = [source(v, exit_cells[stations[v]]) for v in range(n_v)]
    gate_src = [source(v, exit_cells[gates[v]]) for v in range(n_v)]
    leave_rail = [source(exit_group[stations[v]], venue_cells[v]) for v in range(n_v)]
    leave_road = [source(exit_group[gates[v]], venue_cells[v]) for v in range(n_v)]
    sink_groups = list(range(n_v)) + [exit_group[e] for e in exits]
    sink_cells = venue_cells + [exit_cells[e] for e in exits]
    net = crowd.build_network(grid, targets=targets, source_groups=src_group, source_cells=src_cell,
                              sink_groups=sink_groups, sink_cells=sink_cells)
    queue_cells = tuple(_pen(net, v) for v in range(n_v))
    x, y = walkable.cell_centre_m(grid, net.cell_row, net.cell_col)
    from twin.geometry import m_to_lonlat

    return Layout(net, specs, tuple(demand.venue_ids), np.arange(n_v), np.array(station_src),
                  np.array(gate_src), np.array(leave_rail), np.array(leave_road), queue_cells,
                  m_to_lonlat(scenario, x, y))


def _venue_checkpoints(facilities: Any, crs: str, venue_ids: tuple[str, ...],
                       open_share: float) -> tuple[checkpoints.CheckpointSpec, ...]:
    """One entrance checkpoint per scheduled venue, placed and sized by
    :func:`twin.checkpoints.default_checkpoints`; only ``open_share`` of its planned lanes of
    each kind are open at the start of the day (at least one), the rest can be opened."""
    import dataclasses
    import warnings

    with warnings.catch_warnings():  # venues without a capacity: none is scheduled here
        warnings.simplefilter("ignore", UserWarning)
        all_specs = checkpoints.default_checkpoints(facilities, crs_m=crs)
    by_venue = {s.venue_id: s for s in all_specs if s.kind == "venue_entrance"}
    specs = []
    for i, venue in enumerate(venue_ids):
        spec = by_venue[venue]
        face = int(round(spec.lanes_face * open_share))
        manual = max(int(round(spec.lanes_manual * open_share)), 0 if face else 1)
        specs.append(dataclasses.replace(spec, checkpoint_id=i, lanes_face=face, lanes_manual=manual))
    return tuple(specs)


def _nearest_gate(points: Any, facilities: Any, venue_id: str) -> str:
    gates = facilities.loc[facilities["kind"] == "gate", "id"].tolist()
    return min(gates, key=lambda g: points[g].distance(points[venue_id]))


def _grid(scenario: Any, crs: str, points: Any, ids: list[str]) -> walkable.CrowdGrid:
    polygon = walkable.scenario_walkable_polygon(scenario.links, scenario.buildings, scenario.facilities, crs_m=crs)
    here = shapely.MultiPoint([points[i] for i in ids])
    # stations may sit in a building footprint or off the buffered roads: keep a plaza round each
    polygon = shapely.union(polygon, shapely.buffer(here, 2 * CELL_M))
    minx, miny, maxx, maxy = here.bounds
    bounds = (minx - GRID_MARGIN_M, miny - GRID_MARGIN_M, maxx + GRID_MARGIN_M, maxy + GRID_MARGIN_M)
    grid = walkable.build_grid(shapely.clip_by_rect(polygon, *bounds), cell_m=CELL_M, bounds_m=bounds)
    return _largest_component(grid)


def _largest_component(grid: walkable.CrowdGrid) -> walkable.CrowdGrid:
    """The grid with only its largest 8-connected walkable area: islands (a pavement cut off by
    buildings at the grid's edge) would hold sources nobody can walk away from."""
    import dataclasses

    import scipy.ndimage as ndi

    labels, count = ndi.label(grid.walkable, structure=np.ones((3, 3)))
    if count <= 1:
        return grid
    largest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    return dataclasses.replace(grid, walkable=labels == largest)


def _cell(grid: walkable.CrowdGrid, x_m: float, y_m: float) -> tuple[int, int]:
    row, col = walkable.nearest_walkable_cell(grid, x_m, y_m)
    return int(row), int(col)


def _pen(net: crowd.CrowdNetwork, group: int) -> npt.NDArray[np.int64]:
    distance = net.distance_m[group][net.cell_row, net.cell_col]
    inside = np.flatnonzero(distance <= QUEUE_PEN_M)
    return inside[np.argsort(distance[inside], kind="stable")]


def new_state(layout: Layout, time_s: float) -> PedestrianState:
    net = layout.network
    return PedestrianState(
        crowd=crowd.new_state(net, time_s=time_s),
        checkpoints=checkpoints.new_state(layout.specs, time_s=time_s),
        watch=crowd.new_watch(net.grid),
        inside=np.zeros(layout.n_venues), released=np.zeros(layout.n_venues),
        gone=0.0, pending_s=0.0, alerts=[], arrived_under_target=np.zeros(len(layout.specs)),
    )


# ---------------------------------------------------------------- stepping (engine hook)
def attach(engine: Any) -> None:
    """Build the layout for ``engine`` and register the step hook (no-op without venues)."""
    layout = build_layout(engine.scenario, engine.demand)
    engine.pedestrians = layout
    if layout is None:
        return
    engine.state.extras[KEY] = new_state(layout, engine.time_s)
    engine.add_step_hook(step_hook)


def step_hook(engine: Any, dt_s: float) -> None:
    state: PedestrianState = engine.state.extras[KEY]
    state.pending_s += dt_s
    if state.pending_s < CROWD_DT_S - 1e-9:
        return
    advance(engine.pedestrians, state, engine.demand, engine.time_s - state.pending_s, state.pending_s)
    state.pending_s = 0.0


def advance(layout: Layout, state: PedestrianState, demand: Any, start_s: float, dt_s: float) -> None:
    """Advance the pedestrians over ``[start_s, start_s + dt_s)``."""
    net, n_v = layout.network, layout.n_venues
    foot = demand.persons_between(start_s, start_s + dt_s)  # (V, direction, mode) persons
    source = np.zeros(len(net.source_group))
    source[layout.station_source] += foot[:, 0, 0]
    source[layout.gate_source] += foot[:, 0, 1]
    leaving = np.minimum(foot[:, 1, :].sum(axis=1), state.inside)
    share_rail = np.divide(foot[:, 1, 0], foot[:, 1, :].sum(axis=1), out=np.zeros(n_v), where=foot[:, 1, :].sum(axis=1) > 0)
    source[layout.leave_rail_source] += leaving * share_rail
    source[layout.leave_road_source] += leaving * (1.0 - share_rail)
    state.inside -= leaving
    state.released += leaving
    sink_capacity = np.full(len(net.sink_group), 1e9)
    before = state.crowd.removed_persons.copy()
    crowd.step(net, state.crowd, dt_s=dt_s, source_persons=source, sink_capacity_pps=sink_capacity)
    removed = state.crowd.removed_persons - before
    arrivals = removed[:n_v]
    state.gone += float(removed[n_v:].sum())
    # a person joining a fluid FIFO queue waits (queue ahead) / (service capacity)
    capacity = checkpoints.capacity_pps(layout.specs, state.checkpoints)
    wait_at_join = np.divide(state.checkpoints.queue_persons, capacity, out=np.full(n_v, np.inf), where=capacity > 0)
    state.arrived_under_target += np.where(wait_at_join <= WAIT_TARGET_S, arrivals, 0.0)
    served = checkpoints.step(layout.specs, state.checkpoints, arrivals, dt_s)
    state.inside += served
    density = density_grid(layout, state)
    state.alerts = crowd.update_watch(state.watch, net.grid, density, dt_s)


def density_cells(layout: Layout, state: PedestrianState) -> FloatArray:
    """Persons/m² per walkable cell: the walking crowd plus the checkpoint queues laid out."""
    net = layout.network
    area = net.grid.cell_area_m2
    persons = state.crowd.persons.sum(axis=0)
    for spec, cells in zip(layout.specs, layout.queue_cells, strict=True):
        queue = float(state.checkpoints.queue_persons[spec.checkpoint_id])
        if queue <= 0 or len(cells) == 0:
            continue
        per_cell = QUEUE_DENSITY_PPM2 * area
        fill = np.clip(queue - per_cell * np.arange(len(cells)), 0.0, per_cell)
        overflow = max(queue - fill.sum(), 0.0)
        persons[cells] += fill + overflow / len(cells)
    return persons / area


def density_grid(layout: Layout, state: PedestrianState) -> FloatArray:
    """(H, W) density map (p/m²) for the crush watch."""
    return crowd.to_grid(layout.network, density_cells(layout, state))


# ---------------------------------------------------------------- reading
def summary(engine: Any, layout: Layout, state: PedestrianState) -> dict[str, Any]:
    """Plain figures for views: per checkpoint and venue, peak density, alerts."""
    density = density_cells(layout, state)
    peak = int(np.argmax(density)) if len(density) else 0
    cp = state.checkpoints
    wait = checkpoints.mean_wait_now_s(layout.specs, cp)
    return {
        "density_ppm2": density,
        "peak_density_ppm2": float(density[peak]) if len(density) else 0.0,
        "peak_lonlat": layout.cell_centre_lonlat[peak].tolist() if len(density) else None,
        "on_site_persons": float(state.crowd.persons.sum() + cp.queue_persons.sum() + state.inside.sum()),
        "checkpoints": {
            "name": [s.name for s in layout.specs],
            "venue_id": [s.venue_id for s in layout.specs],
            "queue_persons": cp.queue_persons.copy(),
            "wait_s": wait,
            "lanes_face": cp.lanes_face.copy(), "lanes_manual": cp.lanes_manual.copy(),
            "max_lanes": np.array([s.max_lanes for s in layout.specs]),
            "arrived_persons": cp.arrived_persons.copy(), "served_persons": cp.served_persons.copy(),
            "arrived_under_target": state.arrived_under_target.copy(), "wait_target_s": WAIT_TARGET_S,
        },
        "venues": {"venue_id": list(layout.venue_ids), "inside_persons": state.inside.copy()},
        "crush_alerts": [vars(a) for a in state.alerts],
    }


def walk_time_s(layout: Layout, source: int, group: int) -> float:
    """Free walking time (s) from a source's cell to a group's target."""
    net = layout.network
    cell = net.source_cell[source]
    distance = net.distance_m[group][net.cell_row[cell], net.cell_col[cell]]
    return float(distance / crowd.DEFAULT_WALK.free_speed_mps)


def arrival_forecast_pps(engine: Any, horizon_s: float, dt_s: float = 60.0) -> FloatArray:
    """(T, N) modelled arrivals at each entrance over the horizon: the scheduled arrivals on foot
    delayed by the free walk from their station or gate (an input a turnstile feed may replace)."""
    layout = engine.pedestrians
    times = engine.time_s + np.arange(0.0, horizon_s, dt_s)
    rates = np.zeros((len(times), layout.n_venues))
    for v in range(layout.n_venues):
        for mode, source in enumerate((layout.station_source[v], layout.gate_source[v])):
            walked = times - walk_time_s(layout, source, v)
            bins = (walked % 86400 // engine.demand.bin_s).astype(int)
            rates[:, v] += engine.demand.foot_pps[bins, v, 0, mode]
    return rates


def checkpoint_table(engine: Any, *, target_wait_s: float = WAIT_TARGET_S) -> list[dict[str, Any]]:
    """Per checkpoint: lanes, last-5-minute arrivals/throughput, queue, waits now/+15/+30, advice,
    and ``predicted_wait_s``: the predicted wait (s) minute by minute over the next 30 minutes."""
    layout, state = engine.pedestrians, engine.state.extras[KEY]
    cp = state.checkpoints
    forecast = arrival_forecast_pps(engine, 1800.0)
    predicted = checkpoints.predict_wait_s(layout.specs, cp, forecast, dt_s=60.0)
    advice = checkpoints.recommended_lanes(layout.specs, cp, forecast, dt_s=60.0, target_wait_s=target_wait_s)
    recent = checkpoints.history(cp)
    last5 = slice(-5, None)
    wait_now = checkpoints.mean_wait_now_s(layout.specs, cp)
    rows = []
    for i, spec in enumerate(layout.specs):
        rows.append({
            "checkpoint_id": i, "name": spec.name, "venue_id": spec.venue_id,
            "lanes_face": int(cp.lanes_face[i]), "lanes_manual": int(cp.lanes_manual[i]),
            "max_lanes": int(spec.max_lanes),
            "arrivals_5min": float(recent["arrived_persons"][last5, i].sum()) if len(recent["minute"]) else 0.0,
            "throughput_5min": float(recent["served_persons"][last5, i].sum()) if len(recent["minute"]) else 0.0,
            "queue_persons": float(cp.queue_persons[i]),
            "wait_now_s": float(wait_now[i]),
            "wait_15_s": float(predicted[14, i]), "wait_30_s": float(predicted[29, i]),
            "recommended_face": int(advice.lanes_face[i]), "recommended_manual": int(advice.lanes_manual[i]),
            "status": _status(max(wait_now[i], predicted[29, i]), target_wait_s),
            "predicted_wait_s": [float(w) for w in predicted[:, i]],
        })
    return rows


def _status(wait_s: float, target_s: float) -> str:
    return "ok" if wait_s <= 0.5 * target_s else "watch" if wait_s <= target_s else "over"


# ---------------------------------------------------------------- action
@register_action
@dataclass(frozen=True)
class SetLanes:
    """Open or close lanes: set checkpoint ``checkpoint_id``'s ``lane_type`` lanes to ``count``."""

    checkpoint_id: int
    lane_type: str
    count: int
    kind: str = "set_lanes"

    def check(self, engine: Any) -> None:
        if getattr(engine, "pedestrians", None) is None:
            raise ActionError("this scenario has no checkpoints")
        trial = engine.state.extras[KEY].checkpoints.copy()
        checkpoints.set_lanes(engine.pedestrians.specs, trial, self.checkpoint_id, self.lane_type, self.count)

    def execute(self, engine: Any) -> dict[str, Any]:
        state = engine.state.extras[KEY].checkpoints
        before = checkpoints.set_lanes(engine.pedestrians.specs, state, self.checkpoint_id, self.lane_type, self.count)
        name = engine.pedestrians.specs[self.checkpoint_id].name
        return action_result(self, f"{name} {self.lane_type} lanes", before, self.count)
