"""Spectators on foot in the engine: crowd grid, gate and venue checkpoints, occupancy, crush alerts.

Wiring (every ``CROWD_DT_S`` seconds of simulated time, as an engine extension, :class:`PedestrianExtension`):

- Arrivals (``Demand.foot_pps``): rail and walking spectators appear at the station nearest
  their venue, car/taxi/bus spectators at the park gate nearest their venue (where drop-offs
  and car parks meet the park).
- Screening is two-stage (:mod:`twin.crowd.checkpoints`): a spectator who enters the park through a
  modelled gate is screened at that gate's checkpoint first (kind ``park_gate``), then walks
  down the distance field to the venue's entrance checkpoint (kind ``venue_entrance``), which
  is always the last one (ticket and bag check). Served persons at the entrance are inside the
  venue (occupancy).
- Doors (the rule): a venue entrance serves only while its venue's doors are open, from a
  session's ``doors_open`` to its ``end`` (the union over the venue's sessions, the last one held
  open until midnight so that whoever still queues at the end gets in: :func:`door_windows_s`;
  times of day in ``CheckpointSpec.open_windows_s``). Before and between
  them arrivals queue at the entrance (its capacity is 0); park gates are open all day. The
  arrival curves begin 150 minutes before a session's start, so a queue builds outside the doors
  (on the bundled day, from 17:00: about 1,300 at the KSPO Dome at its 18:00 doors, 2,300 at the
  Tennis Center at 18:30), standing in the entrance's pen like any queue. Waits count the time
  until the doors open (:mod:`twin.crowd.checkpoints`).
- Who crosses a gate (the rule):

  * arrivals by road always do: they are set down at the gate nearest their venue and join its
    queue there (no walk before it);
  * arrivals by rail or on foot cross a gate only when it lies on their way: when walking
    station → gate → venue is at most :data:`GATE_DETOUR_SHARE` longer (straight lines) than
    station → venue. They walk from the station to the gate, queue, and walk on. Otherwise their
    station opens onto the park through a gate the scenario does not hold, and they are screened
    once, at the venue entrance.

  On the bundled Seoul day no rail arrival crosses a modelled gate: Olympic Park station (at
  the south-east corner) is 0.3-0.5 km from its venues but 0.9 km from the nearest modelled
  gate (North Gate 2), and Hanseong Baekje station (at South Gate 4) reaches the Velodrome in
  0.6 km but 1.0 km through the World Peace Gate. The extract holds only the World Peace Gate
  and North Gates 1 and 2 (the south and east gates next to those stations are not mapped: see
  the facilities file's notes), so rail spectators are screened at the venue only, and car,
  taxi and bus spectators at North Gate 2 (all venues but the Velodrome) or the World Peace
  Gate (the Velodrome), then at the venue. (Mongchontoseong station, which serves the World
  Peace Gate, would route a Memorial Hall crowd through it: 18 % detour.)
- Placement and size (:func:`twin.crowd.checkpoints.default_checkpoints`): a gate checkpoint sits at
  the gate point; only gates that some scheduled spectators cross get one (North Gate 1 does
  not). A gate is sized like an entrance (the design crowd in ``ENTRY_WINDOW_S`` at the manual
  rate), its design crowd being the share of each venue's capacity that crosses it (the
  venue's road share of arrivals, from the demand). ``[checkpoints] open_share`` of the planned
  lanes of every checkpoint are open at the start (at least one); operators open the rest.
- A gate queue holds spectators of several venues: it is one FIFO queue served by the gate's
  lanes, and the persons it serves in a step are split over venues in proportion to the queue's
  mix (a well-mixed approximation of FIFO), kept in ``gate_queue_persons``. Persons served at a
  gate enter the grid at the gate at the next crowd step (``passed_gate_persons``, at most
  ``CROWD_DT_S`` later).
- Every queue occupies space: its persons are laid out over the walkable cells nearest the
  checkpoint (by walking distance) at :data:`QUEUE_DENSITY_PPM2`, within a pen of
  :data:`QUEUE_PEN_M`; a queue longer than the pen holds raises the pen's density, which the
  crush watch sees.
- Departures pass no checkpoint: after a session the departure curve releases spectators from
  the venue (never more than are inside) at its entrance; they walk to their station or gate
  and leave.
- A state created mid-day (the engine starts at any time, the bundled day at 17:00) begins with
  the sessions in progress (:func:`inside_at_start`): each venue holds the spectators the
  demand's own curves delivered from the start of the day until its doors last shut (until the
  start while they are open) minus those its departure curves released until the start
  (``Demand.persons_between`` from midnight, so every session's arrival window that began before
  the start counts), never below zero nor above the venue's capacity. Those delivered since its
  doors last shut (or since midnight) queue at its entrance (:func:`queued_at_start`; doors
  opening at the start instant have admitted nobody yet), counted as the entrance's arrivals. The
  rule, a simplification: everyone who arrived while the doors were open is inside, everyone who
  arrived while they are shut is queueing, and everyone who left is gone; nobody is walking,
  waiting at a source or in a gate queue at the start, and the other checkpoint counters start at
  zero. Against a run from midnight, the start state therefore holds inside those the run still
  has walking or queueing for open doors, and leaves out those the run still has walking away. On
  the bundled day at 17:00 the start state holds 7,020 inside (Tennis Center 1,620, Velodrome
  5,400) and 560 queueing (Olympic Hall 230, doors at 17:30; Art Hall 330, doors at 17:00); the run
  from midnight the same 7,020 inside, the 560 on their way in or queueing, and 487 day-session
  spectators walking away (tested in ``tests/twin/crowd/test_pedestrians.py``). Without the start
  crowds the Tennis Center's day-session departures after 17:00 (the curve runs until 17:45)
  would release night-session spectators who had just come in.

The crowd grid covers the park (venues, gates and the stations used, plus
``GRID_MARGIN_M``) at ``CELL_M`` cells. Walkable space follows :mod:`twin.crowd.grid`'s rule.
Persons are conserved exactly: offered (``inside_at_start`` + ``queued_at_start`` + arrivals since the start) = on the
grid + waiting at sources (crowd backlogs and ``passed_gate_persons``) + in every queue (gates
and venues) + inside venues + gone (tested). Spectators on site are offered minus gone.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely

from twin.actions import action_result, register_action
from twin.crowd import checkpoints
from twin.crowd import flow as crowd
from twin.crowd import grid as walkable
from twin.errors import ActionError, ScenarioError
from twin.models.demand import DAY_S

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from twin.engine import Engine
    from twin.models.demand import Demand
    from twin.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CELL_M = 20.0
"""Crowd cell side (m). Coarser than a crowd study's 0.5-1 m: zone densities for a control room."""
CROWD_DT_S = 10.0
GRID_MARGIN_M = 250.0
QUEUE_DENSITY_PPM2 = 2.0
"""Density of an orderly standing queue (p/m², Fruin queuing LOS C/D)."""
QUEUE_PEN_M = 80.0
WAIT_TARGET_S = 600.0
"""Default wait target at a checkpoint (s)."""
GATE_DETOUR_SHARE = 0.25
"""A rail or walking arrival crosses a park gate when going through it is at most this much
longer (straight lines) than going from its station straight to its venue."""
PASSED_HISTORY_MIN = 60
"""Minutes of per-minute gate throughput (by venue) kept for the entrance arrival forecast."""
KEY = "pedestrians"


@dataclass(frozen=True, eq=False)
class Layout:
    """Static side of the pedestrians: grid, groups, sources, sinks, checkpoints.

    Checkpoints ``0..V-1`` are the venue entrances in the demand's venue order (venue ``v`` has
    crowd group ``v``); checkpoints ``V..V+G-1`` are the park gates in ``gate_ids`` order.
    Gate-indexed arrays (``road_gate``, ``gate_source``, ...) count gates from 0.
    """

    network: crowd.CrowdNetwork
    specs: tuple[checkpoints.CheckpointSpec, ...]
    venue_ids: tuple[str, ...]  # demand's venue order; venue v has arrival group v
    gate_ids: tuple[str, ...]  # facility id of gate g (checkpoint V + g)
    venue_checkpoint: IntArray  # (V,) checkpoint index of each venue
    venue_capacity_persons: (
        FloatArray  # (V,) seats of each venue, inf where the facilities give none
    )
    station_source: IntArray  # (V,) source index of arrivals by rail/foot (at the station)
    road_gate: IntArray  # (V,) gate the venue's arrivals by road cross
    rail_gate: IntArray  # (V,) gate the venue's arrivals by rail/foot cross, -1 for none
    gate_source: (
        IntArray  # (G, V) source (at gate g) of persons past it bound for venue v, -1 for none
    )
    approach_gate: IntArray  # (A,) gate of each approach sink (rail arrivals reaching a gate)
    approach_venue: IntArray  # (A,) venue those persons are bound for
    leave_rail_source: IntArray  # (V,) source index of leavers to the station
    leave_road_source: IntArray  # (V,) source index of leavers to the gate
    queue_cells: tuple[IntArray, ...]  # per checkpoint: pen cells, nearest first
    cell_centre_lonlat: FloatArray  # (C, 2) for the map

    @property
    def n_venues(self) -> int:
        return len(self.venue_ids)

    @property
    def n_gates(self) -> int:
        return len(self.gate_ids)

    @property
    def gate_checkpoint(self) -> IntArray:
        """(G,) checkpoint index of each gate."""
        return self.n_venues + np.arange(self.n_gates)


@dataclass
class PedestrianState:
    crowd: crowd.CrowdState
    checkpoints: checkpoints.CheckpointState
    watch: crowd.CrushWatch
    inside: FloatArray  # (V,) persons inside each venue
    inside_at_start: FloatArray  # (V,) persons inside each venue when the state was created
    queued_at_start: (
        FloatArray  # (V,) persons in each entrance queue (doors shut) when it was created
    )
    released: FloatArray  # (V,) cumulative persons released after sessions
    gone: float
    pending_s: float
    alerts: list[crowd.CrushAlert]
    arrived_under_target: FloatArray  # (N,) persons whose wait at joining was within the target
    gate_queue_persons: (
        FloatArray  # (G, V) persons in each gate's queue by venue (sums to its queue)
    )
    passed_gate_persons: FloatArray  # (S,) served at a gate, entering the grid at the next step
    passed_minute: IntArray  # (R,) minute of the day of each ring row, -1 = empty
    passed_history: FloatArray  # (R, G, V) persons passing gate g for venue v in that minute

    def __deepcopy__(self, memo: dict) -> PedestrianState:
        import dataclasses

        copies = {
            name: value.copy()
            for name, value in vars(self).items()
            if isinstance(value, np.ndarray) or hasattr(value, "copy")
        }
        return dataclasses.replace(self, **copies)


# ---------------------------------------------------------------- building
def build_layout(scenario: Scenario, demand: Demand) -> Layout | None:
    """The pedestrian layout of a scenario with venues; None when it has none."""
    facilities = scenario.facilities
    if facilities is None or not len(demand.venue_ids):
        return None
    crs = scenario.params.get("crs_m", "EPSG:32652")
    points = facilities.to_crs(crs).set_index("id").geometry
    venue_ids, stations = tuple(demand.venue_ids), list(demand.foot_source)
    n_v = len(venue_ids)
    gates, road_gate, rail_gate = _crossings(facilities, points, venue_ids, stations)
    open_share = float(scenario.params.get("checkpoints", {}).get("open_share", 1.0))
    capacity = _venue_capacity_persons(facilities, venue_ids)
    specs = _checkpoint_specs(
        facilities,
        crs,
        venue_ids,
        gates,
        _gate_design_persons(
            np.nan_to_num(capacity, nan=0.0), demand, road_gate, rail_gate, len(gates)
        ),
        open_share,
        door_windows_s(scenario.schedule, venue_ids),
    )
    grid = _grid(scenario, crs, points, [*venue_ids, *stations, *gates])
    venue_cells = [_cell(grid, specs[v].x_m, specs[v].y_m) for v in range(n_v)]
    exits = sorted(set(stations) | set(gates))
    exit_cells = {e: _cell(grid, points[e].x, points[e].y) for e in exits}
    approach = [(int(rail_gate[v]), v) for v in range(n_v) if rail_gate[v] >= 0]
    n_a = len(approach)
    exit_group = {e: n_v + n_a + k for k, e in enumerate(exits)}
    targets = (
        [np.array([c]) for c in venue_cells]
        + [np.array([exit_cells[gates[g]]]) for g, _ in approach]
        + [np.array([exit_cells[e]]) for e in exits]
    )
    src_group: list[int] = []
    src_cell: list[tuple[int, int]] = []

    def source(group: int, cell: tuple[int, int]) -> int:
        src_group.append(group)
        src_cell.append(cell)
        return len(src_group) - 1

    approach_group = {v: n_v + a for a, (_, v) in enumerate(approach)}
    station_src = [source(approach_group.get(v, v), exit_cells[stations[v]]) for v in range(n_v)]
    gate_src = np.full((len(gates), n_v), -1, dtype=np.int64)
    for g, v in sorted({*zip(road_gate.tolist(), range(n_v)), *approach}):
        gate_src[g, v] = source(v, exit_cells[gates[g]])
    leave_rail = [source(exit_group[stations[v]], venue_cells[v]) for v in range(n_v)]
    leave_road = [source(exit_group[gates[road_gate[v]]], venue_cells[v]) for v in range(n_v)]
    sink_groups = list(range(n_v + n_a)) + [exit_group[e] for e in exits]
    sink_cells = (
        venue_cells + [exit_cells[gates[g]] for g, _ in approach] + [exit_cells[e] for e in exits]
    )
    net = crowd.build_network(
        grid,
        targets=targets,
        source_groups=src_group,
        source_cells=src_cell,
        sink_groups=sink_groups,
        sink_cells=sink_cells,
    )
    queue_cells = tuple(
        [_pen(net, v) for v in range(n_v)] + [_pen(net, exit_group[g]) for g in gates]
    )
    x, y = walkable.cell_centre_m(grid, net.cell_row, net.cell_col)
    from twin.io.geometry import m_to_lonlat

    return Layout(
        network=net,
        specs=specs,
        venue_ids=venue_ids,
        gate_ids=tuple(gates),
        venue_checkpoint=np.arange(n_v),
        venue_capacity_persons=np.nan_to_num(capacity, nan=np.inf),
        station_source=np.array(station_src),
        road_gate=road_gate,
        rail_gate=rail_gate,
        gate_source=gate_src,
        approach_gate=np.array([g for g, _ in approach], dtype=np.int64),
        approach_venue=np.array([v for _, v in approach], dtype=np.int64),
        leave_rail_source=np.array(leave_rail),
        leave_road_source=np.array(leave_road),
        queue_cells=queue_cells,
        cell_centre_lonlat=m_to_lonlat(scenario, x, y),
    )


def door_windows_s(
    schedule: pd.DataFrame, venue_ids: tuple[str, ...]
) -> list[tuple[tuple[float, float], ...]]:
    """Per venue, when its doors are open: the union of its sessions' ``[doors_open, end)``
    (seconds since midnight, :func:`twin.crowd.checkpoints.merge_windows`), the last window of the
    day held open until midnight so that nobody still queueing at the last session's end is
    locked out overnight."""
    windows = []
    for venue in venue_ids:
        rows = schedule[schedule["venue_id"] == venue]
        merged = checkpoints.merge_windows(
            list(zip(rows["doors_open_s"], rows["end_s"], strict=True))
        )
        windows.append((*merged[:-1], (merged[-1][0], float(checkpoints.DAY_S))))
    return windows


def _checkpoint_specs(
    facilities: gpd.GeoDataFrame,
    crs: str,
    venue_ids: tuple[str, ...],
    gate_ids: list[str],
    gate_design_persons: FloatArray,
    open_share: float,
    doors_s: list[tuple[tuple[float, float], ...]],
) -> tuple[checkpoints.CheckpointSpec, ...]:
    """One entrance checkpoint per scheduled venue, then one per crossed gate, placed by
    :func:`twin.crowd.checkpoints.default_checkpoints`. Entrances keep its size and serve only within
    ``doors_s`` (per venue, :func:`door_windows_s`); a gate is sized for ``gate_design_persons``
    (the crowd that crosses it, not every venue behind it) and is open all day. Only
    ``open_share`` of the planned lanes of each kind are open at the start of the day (at least
    one), the rest can be opened."""
    import dataclasses
    import warnings

    with warnings.catch_warnings():  # venues without a capacity: none is scheduled here
        warnings.simplefilter("ignore", UserWarning)
        placed = {s.facility_id: s for s in checkpoints.default_checkpoints(facilities, crs_m=crs)}
    planned = [
        dataclasses.replace(placed[v], open_windows_s=doors)
        for v, doors in zip(venue_ids, doors_s, strict=True)
    ] + [
        dataclasses.replace(placed[g], **checkpoints.planned_lanes(float(design)))
        for g, design in zip(gate_ids, gate_design_persons, strict=True)
    ]
    specs = []
    for i, spec in enumerate(planned):
        face = round(spec.lanes_face * open_share)
        manual = max(round(spec.lanes_manual * open_share), 0 if face else 1)
        specs.append(
            dataclasses.replace(spec, checkpoint_id=i, lanes_face=face, lanes_manual=manual)
        )
    return tuple(specs)


def _venue_capacity_persons(facilities: gpd.GeoDataFrame, venue_ids: tuple[str, ...]) -> FloatArray:
    """(V,) the facilities' capacity of each venue, NaN where it gives none."""
    import pandas as pd

    capacity = pd.to_numeric(
        facilities.set_index("id").loc[list(venue_ids), "capacity"], errors="coerce"
    )
    return capacity.to_numpy(float)


def _gate_design_persons(
    capacity: FloatArray, demand: Demand, road_gate: IntArray, rail_gate: IntArray, n_gates: int
) -> FloatArray:
    """(G,) design crowd of each gate: every venue's capacity (persons, 0 where unknown) times the
    share of its arrivals (by the day's demand) that crosses the gate."""
    arriving = demand.foot_pps[:, :, 0, :].sum(axis=0)  # (V, mode)
    share = np.divide(
        arriving,
        arriving.sum(axis=1, keepdims=True),
        out=np.zeros_like(arriving),
        where=arriving.sum(axis=1, keepdims=True) > 0,
    )
    design = np.zeros(n_gates)
    np.add.at(design, road_gate, capacity * share[:, 1])
    crossing = rail_gate >= 0
    np.add.at(design, rail_gate[crossing], (capacity * share[:, 0])[crossing])
    return design


def _crossings(
    facilities: gpd.GeoDataFrame,
    points: gpd.GeoSeries,
    venue_ids: tuple[str, ...],
    stations: list[str],
) -> tuple[list[str], IntArray, IntArray]:
    """The gates crossed (facility ids, in table order) and, per venue, the gate its arrivals by
    road cross and the gate its arrivals by rail cross (-1: none); see the module docstring."""
    all_gates = facilities.loc[facilities["kind"] == "gate", "id"].tolist()
    if not all_gates:
        raise ScenarioError(
            "facilities: spectators arriving by road enter the park at a gate, "
            "but there is no facility of kind 'gate'"
        )
    road = [_nearest_gate(points, all_gates, v) for v in venue_ids]
    rail = [
        _gate_on_the_way(points, all_gates, s, v) for s, v in zip(stations, venue_ids, strict=True)
    ]
    gates = [g for g in all_gates if g in road or g in rail]
    return (
        gates,
        np.array([gates.index(g) for g in road], dtype=np.int64),
        np.array([gates.index(g) if g else -1 for g in rail], dtype=np.int64),
    )


def _nearest_gate(points: gpd.GeoSeries, gates: list[str], venue_id: str) -> str:
    return min(gates, key=lambda g: points[g].distance(points[venue_id]))


def _gate_on_the_way(
    points: gpd.GeoSeries, gates: list[str], station_id: str, venue_id: str
) -> str | None:
    """The gate a walk from the station to the venue crosses (see the module docstring), or None."""
    station, venue = points[station_id], points[venue_id]
    detour = {g: station.distance(points[g]) + points[g].distance(venue) for g in gates}
    best = min(gates, key=detour.__getitem__)
    return best if detour[best] <= (1.0 + GATE_DETOUR_SHARE) * station.distance(venue) else None


_GRIDS: dict[tuple[int, str, tuple[str, ...]], walkable.CrowdGrid] = {}
"""Walkable grids built, by (id of the scenario, CRS, places): every engine of one scenario
(live, each replay, fork and comparison) shares one; an entry goes when its scenario does."""


def _grid(
    scenario: Scenario, crs: str, points: gpd.GeoSeries, ids: list[str]
) -> walkable.CrowdGrid:
    """The walkable grid round ``ids`` (built once per scenario object: the polygon union
    takes most of an engine's start-up; a grid is immutable, so engines share it)."""
    key = (id(scenario), crs, tuple(ids))
    grid = _GRIDS.get(key)
    if grid is None:
        grid = _build_grid(scenario, crs, points, ids)
        _GRIDS[key] = grid
        weakref.finalize(scenario, _GRIDS.pop, key, None)
    return grid


def _build_grid(
    scenario: Scenario, crs: str, points: gpd.GeoSeries, ids: list[str]
) -> walkable.CrowdGrid:
    polygon = walkable.scenario_walkable_polygon(
        scenario.links, scenario.buildings, scenario.facilities, crs_m=crs
    )
    here = shapely.MultiPoint([points[i] for i in ids])
    # stations may sit in a building footprint or off the buffered roads: keep a plaza round each
    polygon = shapely.union(polygon, shapely.buffer(here, 2 * CELL_M))
    minx, miny, maxx, maxy = here.bounds
    bounds = (
        minx - GRID_MARGIN_M,
        miny - GRID_MARGIN_M,
        maxx + GRID_MARGIN_M,
        maxy + GRID_MARGIN_M,
    )
    grid = walkable.build_grid(
        shapely.clip_by_rect(polygon, *bounds), cell_m=CELL_M, bounds_m=bounds
    )
    return _largest_component(grid)


def _largest_component(grid: walkable.CrowdGrid) -> walkable.CrowdGrid:
    """The grid with only its largest connected walkable area: islands (a pavement cut off by
    buildings at the grid's edge) would hold sources nobody can walk away from. Connected means
    4-connected, as walkers move (:func:`twin.crowd.grid.move_masks`: a diagonal step needs both
    side cells walkable, so cells touching only at a corner are not connected)."""
    import dataclasses

    import scipy.ndimage as ndi

    labels, count = ndi.label(grid.walkable)  # the default structure: 4-connected
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


def new_state(layout: Layout, demand: Demand, time_s: float) -> PedestrianState:
    """The pedestrians at ``time_s``: venues hold :func:`inside_at_start`, entrances whose doors
    are shut queue :func:`queued_at_start` (counted as the entrance's arrivals), nobody is
    walking (see the module docstring)."""
    net = layout.network
    n_v, n_g = layout.n_venues, layout.n_gates
    inside, queued = (
        inside_at_start(layout, demand, time_s),
        queued_at_start(layout, demand, time_s),
    )
    gates = checkpoints.new_state(layout.specs, time_s=time_s)
    gates.queue_persons[layout.venue_checkpoint] = queued
    gates.arrived_persons[layout.venue_checkpoint] = queued
    return PedestrianState(
        crowd=crowd.new_state(net, time_s=time_s),
        checkpoints=gates,
        watch=crowd.new_watch(net.grid),
        inside=inside.copy(),
        inside_at_start=inside,
        queued_at_start=queued.copy(),
        released=np.zeros(n_v),
        gone=0.0,
        pending_s=0.0,
        alerts=[],
        arrived_under_target=np.zeros(len(layout.specs)),
        gate_queue_persons=np.zeros((n_g, n_v)),
        passed_gate_persons=np.zeros(len(net.source_group)),
        passed_minute=np.full(PASSED_HISTORY_MIN, -1, dtype=np.int64),
        passed_history=np.zeros((PASSED_HISTORY_MIN, n_g, n_v)),
    )


def inside_at_start(layout: Layout, demand: Demand, time_s: float) -> FloatArray:
    """(V,) spectators inside each venue at ``time_s`` by the demand's curves alone.

    The persons ``demand.foot_pps`` delivers to each venue from the start of the day (midnight
    before ``time_s``) until its doors last closed (:func:`_doors_shut_since_s`; ``time_s`` while
    they are open), minus the persons its departure curves release until ``time_s``, never below
    zero nor above the venue's capacity (a warning names a venue cut to it). Everyone who arrived
    while or before the doors were last open is taken to be inside; those who arrived since
    they shut queue (:func:`queued_at_start`; module docstring).
    """
    import warnings

    day_s = time_s - time_s % DAY_S
    shut_s = _doors_shut_since_s(layout, time_s)
    arrived = np.array(
        [demand.persons_between(day_s, shut_s[v])[v, 0].sum() for v in range(layout.n_venues)]
    )
    left = demand.persons_between(day_s, time_s)[:, 1].sum(axis=1)
    inside = np.maximum(arrived - left, 0.0)
    capacity = layout.venue_capacity_persons
    over = np.flatnonzero(inside > capacity)
    if len(over):
        listed = ", ".join(
            f"{layout.venue_ids[v]} {inside[v]:.0f} > {capacity[v]:.0f}" for v in over
        )
        warnings.warn(
            f"spectators inside at the start by the demand exceed the venue's capacity, "
            f"starting at capacity: {listed}",
            UserWarning,
            stacklevel=2,
        )
    return np.minimum(inside, capacity)


def queued_at_start(layout: Layout, demand: Demand, time_s: float) -> FloatArray:
    """(V,) spectators queueing at each venue entrance at ``time_s`` by the demand's curves: the
    persons delivered since its doors shut (:func:`_doors_shut_since_s`), 0 while they are open."""
    shut_s = _doors_shut_since_s(layout, time_s)
    return np.array(
        [demand.persons_between(shut_s[v], time_s)[v, 0].sum() for v in range(layout.n_venues)]
    )


def _doors_shut_since_s(layout: Layout, time_s: float) -> FloatArray:
    """(V,) when each venue's doors last shut, on the day of ``time_s``: ``time_s`` while they
    are open, else the end of the day's last door window before ``time_s``, else midnight. Doors
    opening at ``time_s`` itself are still shut (they have admitted nobody yet)."""
    day_s, of_day = time_s - time_s % DAY_S, time_s % DAY_S
    since = np.full(layout.n_venues, float(time_s))
    for v in range(layout.n_venues):
        windows = np.array(
            layout.specs[layout.venue_checkpoint[v]].open_windows_s or ((0.0, DAY_S),)
        )
        if not np.any((windows[:, 0] < of_day) & (of_day < windows[:, 1])):
            closed = windows[windows[:, 1] <= of_day, 1]
            since[v] = day_s + (closed.max() if len(closed) else 0.0)
    return since


# ---------------------------------------------------------------- stepping (engine extension)
def attach(engine: Engine) -> None:
    """Attach the pedestrians of ``engine``'s scenario to it (no-op without venues)."""
    layout = build_layout(engine.scenario, engine.demand)
    if layout is None:
        return
    state = new_state(layout, engine.demand, engine.time_s)
    engine.attach(PedestrianExtension(layout), state=state)


@dataclass(frozen=True, eq=False)
class PedestrianExtension:
    """The pedestrians as an engine extension (:class:`twin.engine.EngineExtension`).

    The layout is static (shared by forks); the :class:`PedestrianState` lives in
    ``engine.state.extras[KEY]``. The crowd advances every ``CROWD_DT_S`` of simulated time.
    """

    layout: Layout
    name: str = KEY
    crowd: bool = True

    def step(self, engine: Engine, dt_s: float) -> None:
        state: PedestrianState = engine.state.extras[KEY]
        state.pending_s += dt_s
        if state.pending_s < CROWD_DT_S - 1e-9:
            return
        start_s = engine.time_s - state.pending_s
        advance(self.layout, state, engine.demand, start_s, state.pending_s)
        state.pending_s = 0.0

    def view(self, engine: Engine) -> dict[str, Any]:
        return {KEY: summary(self.layout, engine.state.extras[KEY])}


def advance(
    layout: Layout, state: PedestrianState, demand: Demand, start_s: float, dt_s: float
) -> None:
    """Advance the pedestrians over ``[start_s, start_s + dt_s)``.

    Order: the sources take this step's arrivals on foot and last step's persons past the gates;
    the crowd walks; arrivals by road and the crowd reaching a gate or an entrance join its
    queue; every checkpoint serves its queue once; persons served at a gate wait at the gate's
    source for the next step, persons served at an entrance are inside the venue.
    """
    net, n_v, n_a = layout.network, layout.n_venues, len(layout.approach_gate)
    foot = demand.persons_between(start_s, start_s + dt_s)  # (V, direction, mode) persons
    source = state.passed_gate_persons.copy()
    state.passed_gate_persons[:] = 0.0
    source[layout.station_source] += foot[:, 0, 0]
    leaving = np.minimum(foot[:, 1, :].sum(axis=1), state.inside)
    share_rail = np.divide(
        foot[:, 1, 0],
        foot[:, 1, :].sum(axis=1),
        out=np.zeros(n_v),
        where=foot[:, 1, :].sum(axis=1) > 0,
    )
    source[layout.leave_rail_source] += leaving * share_rail
    source[layout.leave_road_source] += leaving * (1.0 - share_rail)
    state.inside -= leaving
    state.released += leaving
    sink_capacity = np.full(len(net.sink_group), 1e9)
    before = state.crowd.removed_persons.copy()
    crowd.step(net, state.crowd, dt_s=dt_s, source_persons=source, sink_capacity_pps=sink_capacity)
    removed = state.crowd.removed_persons - before
    at_gate = np.zeros((layout.n_gates, n_v))  # (G, V) joining each gate's queue, by venue
    np.add.at(at_gate, (layout.road_gate, np.arange(n_v)), foot[:, 0, 1])
    np.add.at(at_gate, (layout.approach_gate, layout.approach_venue), removed[n_v : n_v + n_a])
    state.gone += float(removed[n_v + n_a :].sum())
    arrivals = np.concatenate([removed[:n_v], at_gate.sum(axis=1)])
    # a person joining a fluid FIFO queue waits (queue ahead) / (service capacity), plus the time
    # the doors stay shut (at least until they open, even behind nobody); forever without a lane
    cp = state.checkpoints
    wait_at_join = np.where(
        checkpoints.capacity_pps(layout.specs, cp) > 0,
        np.maximum(
            checkpoints.mean_wait_now_s(layout.specs, cp),
            checkpoints.until_open_s(layout.specs, cp.time_s),
        ),
        np.inf,
    )
    state.arrived_under_target += np.where(wait_at_join <= WAIT_TARGET_S, arrivals, 0.0)
    served = checkpoints.step(layout.specs, state.checkpoints, arrivals, dt_s)
    state.inside += served[:n_v]
    passed = serve_well_mixed(state.gate_queue_persons, at_gate, served[n_v:])
    flows = layout.gate_source >= 0
    state.passed_gate_persons[layout.gate_source[flows]] += passed[flows]
    _record_passed(state, start_s, passed)
    density = density_grid(layout, state)
    state.alerts = crowd.update_watch(state.watch, net.grid, density, dt_s)


def serve_well_mixed(
    queue_persons: FloatArray, arrivals_persons: FloatArray, served_persons: FloatArray
) -> FloatArray:
    """Split the persons a shared queue served over the destinations in its mix.

    Parameters
    ----------
    queue_persons
        ``(Q, D)`` persons waiting in each queue by destination; updated in place to
        ``queue + arrivals - served``.
    arrivals_persons
        ``(Q, D)`` persons who joined in the step.
    served_persons
        ``(Q,)`` persons each queue served in the step (at most its queue plus arrivals).

    Returns
    -------
    numpy.ndarray
        ``(Q, D)`` persons served by destination: each destination's share of
        ``queue + arrivals`` (a well-mixed queue).
    """
    available = queue_persons + arrivals_persons
    total = available.sum(axis=1)
    share = np.divide(served_persons, total, out=np.zeros_like(total), where=total > 0)
    passed = available * np.minimum(share, 1.0)[:, None]
    queue_persons[:] = available - passed
    return passed


def _record_passed(state: PedestrianState, start_s: float, passed: FloatArray) -> None:
    """Add a step's persons past the gates to the per-minute ring (by the step's start)."""
    minute = int(start_s // 60)
    row = minute % len(state.passed_minute)
    if state.passed_minute[row] != minute:
        state.passed_minute[row] = minute
        state.passed_history[row] = 0.0
    state.passed_history[row] += passed


def density_cells(layout: Layout, state: PedestrianState) -> FloatArray:
    """Persons/m² per walkable cell: the walking crowd plus the checkpoint queues (gates and
    entrances) laid out in their pens."""
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
def summary(layout: Layout, state: PedestrianState) -> dict[str, Any]:
    """Plain figures for views: per checkpoint and venue, peak density, alerts.

    ``on_site_persons`` is everyone offered and not gone: walking, waiting at a source, queueing
    or inside (the crowds inside at the start included). A venue's ``queued_persons`` counts its
    entrance queue and its spectators in gate queues.
    """
    density = density_cells(layout, state)
    peak = int(np.argmax(density)) if len(density) else 0
    cp = state.checkpoints
    wait = checkpoints.mean_wait_now_s(layout.specs, cp)
    on_site = (
        state.crowd.persons.sum()
        + state.crowd.backlog_persons.sum()
        + state.passed_gate_persons.sum()
        + cp.queue_persons.sum()
        + state.inside.sum()
    )  # offered - gone
    return {
        "density_ppm2": density,
        "peak_density_ppm2": float(density[peak]) if len(density) else 0.0,
        "peak_lonlat": layout.cell_centre_lonlat[peak].tolist() if len(density) else None,
        "on_site_persons": float(on_site),
        "checkpoints": {
            "name": [s.name for s in layout.specs],
            "kind": [s.kind for s in layout.specs],
            "venue_id": [s.venue_id for s in layout.specs],
            "queue_persons": cp.queue_persons.copy(),
            "wait_s": wait,
            "lanes_face": cp.lanes_face.copy(),
            "lanes_manual": cp.lanes_manual.copy(),
            "max_lanes": np.array([s.max_lanes for s in layout.specs]),
            "arrived_persons": cp.arrived_persons.copy(),
            "served_persons": cp.served_persons.copy(),
            "arrived_under_target": state.arrived_under_target.copy(),
            "wait_target_s": WAIT_TARGET_S,
        },
        "venues": {
            "venue_id": list(layout.venue_ids),
            "inside_persons": state.inside.copy(),
            "queued_persons": cp.queue_persons[layout.venue_checkpoint]
            + state.gate_queue_persons.sum(axis=0),
        },
        "crush_alerts": [vars(a) for a in state.alerts],
    }


def walk_time_s(layout: Layout, source: int, group: int) -> float:
    """Free walking time (s) from a source's cell to a group's target."""
    net = layout.network
    cell = net.source_cell[source]
    distance = net.distance_m[group][net.cell_row[cell], net.cell_col[cell]]
    return float(distance / crowd.DEFAULT_WALK.free_speed_mps)


def arrival_forecast_pps(engine: Engine, horizon_s: float, dt_s: float = 60.0) -> FloatArray:
    """(T, N) modelled arrivals at each checkpoint over the horizon (an input a turnstile feed
    may replace).

    - a gate: the scheduled arrivals by road of the venues behind it, as scheduled (they are set
      down at the gate), plus rail arrivals crossing it, delayed by the free walk from the station;
    - an entrance: the scheduled rail and walking arrivals that cross no gate, delayed by the
      free walk from the station, plus the persons passing its gates delayed by the free walk
      from the gate. Past gate throughput comes from the recorded minutes; future throughput is
      the gates' queues run forward (well mixed, lanes open now, :func:`serve_well_mixed`).
    """
    layout, state = engine.pedestrians, engine.state.extras[KEY]
    n_v = layout.n_venues
    times = engine.time_s + np.arange(0.0, horizon_s, dt_s)
    rates = np.zeros((len(times), len(layout.specs)))
    gate_rates = np.zeros((len(times), layout.n_gates, n_v))

    def scheduled(v: int, mode: int, walk_s: float) -> FloatArray:
        bins = ((times - walk_s) % 86400 // engine.demand.bin_s).astype(int)
        return engine.demand.foot_pps[bins, v, 0, mode]

    for v in range(n_v):
        gate_rates[:, layout.road_gate[v], v] += scheduled(v, 1, 0.0)
        g = layout.rail_gate[v]
        group = v if g < 0 else n_v + int(np.flatnonzero(layout.approach_venue == v)[0])
        walked = scheduled(v, 0, walk_time_s(layout, layout.station_source[v], group))
        if g < 0:
            rates[:, v] += walked
        else:
            gate_rates[:, g, v] += walked
    rates[:, n_v:] = gate_rates.sum(axis=2)
    centre_s, passing_pps = _gate_passing_pps(layout, state, engine.time_s, gate_rates, dt_s)
    for g, v in zip(*np.nonzero(layout.gate_source >= 0), strict=True):
        walk_s = walk_time_s(layout, layout.gate_source[g, v], v)
        rates[:, v] += np.interp(
            times + dt_s / 2 - walk_s, centre_s, passing_pps[:, g, v], left=0.0, right=0.0
        )
    return rates


def _gate_passing_pps(
    layout: Layout, state: PedestrianState, now_s: float, gate_rates_pps: FloatArray, dt_s: float
) -> tuple[FloatArray, FloatArray]:
    """Persons passing each gate for each venue: ``(centre_s (K,), rate_pps (K, G, V))`` at the
    centres of the recorded minutes before now and of the forecast steps of ``dt_s`` after it
    (the gate queues run forward from their mix with the lanes open now)."""
    capacity = (
        checkpoints.capacity_pps(layout.specs, state.checkpoints)[layout.gate_checkpoint] * dt_s
    )
    queue = state.gate_queue_persons.copy()
    ahead = np.zeros_like(gate_rates_pps)
    for k, rate in enumerate(gate_rates_pps):  # a few gates, 30 steps: the loop is cheap
        arrivals = rate * dt_s
        ahead[k] = serve_well_mixed(
            queue, arrivals, np.minimum((queue + arrivals).sum(axis=1), capacity)
        )
    recorded_until_s = now_s - state.pending_s  # the crowd lags the engine by up to CROWD_DT_S
    labels = state.passed_minute
    rows = np.flatnonzero(labels >= 0)
    rows = rows[np.argsort(labels[rows])]
    start_s = labels[rows] * 60.0
    span_s = np.minimum(start_s + 60.0, recorded_until_s) - start_s
    rows, start_s, span_s = rows[span_s > 0], start_s[span_s > 0], span_s[span_s > 0]
    centre_s = np.concatenate(
        [start_s + span_s / 2, now_s + dt_s * (np.arange(len(gate_rates_pps)) + 0.5)]
    )
    rate_pps = np.concatenate([state.passed_history[rows] / span_s[:, None, None], ahead / dt_s])
    return centre_s, rate_pps


def checkpoint_table(
    engine: Engine, *, target_wait_s: float = WAIT_TARGET_S
) -> list[dict[str, Any]]:
    """Per checkpoint (venue entrances, then park gates): kind, lanes, last-5-minute
    arrivals/throughput, queue, waits now/+15/+30, advice, and ``predicted_wait_s``: the
    predicted wait (s) minute by minute over the next 30 minutes. ``status`` is ok / watch /
    over against ``target_wait_s``, or ``doors`` while the entrance's doors are shut
    (``doors_open_at_s``: when they open, seconds since midnight; None while open)."""
    layout, state = engine.pedestrians, engine.state.extras[KEY]
    cp = state.checkpoints
    forecast = arrival_forecast_pps(engine, 1800.0)
    predicted = checkpoints.predict_wait_s(layout.specs, cp, forecast, dt_s=60.0)
    advice = checkpoints.recommended_lanes(
        layout.specs, cp, forecast, dt_s=60.0, target_wait_s=target_wait_s
    )
    recent = checkpoints.history(cp)
    last5 = slice(-5, None)
    wait_now = checkpoints.mean_wait_now_s(layout.specs, cp)
    doors_in_s = checkpoints.until_open_s(layout.specs, engine.time_s)
    rows = []
    for i, spec in enumerate(layout.specs):
        rows.append(
            {
                "checkpoint_id": i,
                "name": spec.name,
                "kind": spec.kind,
                "facility_id": spec.facility_id,
                "venue_id": spec.venue_id,
                "lanes_face": int(cp.lanes_face[i]),
                "lanes_manual": int(cp.lanes_manual[i]),
                "max_lanes": int(spec.max_lanes),
                "arrivals_5min": float(recent["arrived_persons"][last5, i].sum())
                if len(recent["minute"])
                else 0.0,
                "throughput_5min": float(recent["served_persons"][last5, i].sum())
                if len(recent["minute"])
                else 0.0,
                "queue_persons": float(cp.queue_persons[i]),
                "wait_now_s": float(wait_now[i]),
                "wait_15_s": float(predicted[14, i]),
                "wait_30_s": float(predicted[29, i]),
                "recommended_face": int(advice.lanes_face[i]),
                "recommended_manual": int(advice.lanes_manual[i]),
                # doors shut: a wait lanes cannot shorten; the status says when they open instead
                "doors_open_at_s": float(round(engine.time_s + doors_in_s[i]))
                if doors_in_s[i] > 0
                else None,
                "status": "doors"
                if doors_in_s[i] > 0
                else _status(max(wait_now[i], predicted[29, i]), target_wait_s),
                "predicted_wait_s": [float(w) for w in predicted[:, i]],
            }
        )
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

    def check(self, engine: Engine) -> None:
        if getattr(engine, "pedestrians", None) is None:
            raise ActionError("this scenario has no checkpoints")
        trial = engine.state.extras[KEY].checkpoints.copy()
        checkpoints.set_lanes(
            engine.pedestrians.specs, trial, self.checkpoint_id, self.lane_type, self.count
        )

    def execute(self, engine: Engine) -> dict[str, Any]:
        state = engine.state.extras[KEY].checkpoints
        before = checkpoints.set_lanes(
            engine.pedestrians.specs, state, self.checkpoint_id, self.lane_type, self.count
        )
        name = engine.pedestrians.specs[self.checkpoint_id].name
        return action_result(self, f"{name} {self.lane_type} lanes", before, self.count)
