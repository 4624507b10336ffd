"""The engine: twin state arrays, stepping, actions, snapshots and forecasts.

One writer: only :meth:`Engine.step` and :meth:`Engine.apply` change the state. Readers take
:meth:`Engine.view` (an immutable copy). The engine is deterministic: the same scenario, seed,
actions and inputs give the same state, which is what replay and forecasts rely on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from twin.crowd import pedestrians
from twin.errors import ActionError, ScenarioError
from twin.models import corridor, metrics, routing
from twin.models.demand import Demand, build_demand
from twin.models.network import Network, choose_dt_s, compile_network
from twin.models.signals import (
    Preemption,
    SignalPlans,
    active_phase,
    movement_green,
    plans_from_table,
)
from twin.models.traffic import Kernel, Readings
from twin.scenario import Scenario

if TYPE_CHECKING:
    import geopandas as gpd

    from twin.crowd.pedestrians import Layout

FloatArray = npt.NDArray[np.float64]
SMOOTHING_S = 60.0
"""Time constant (s) of the smoothing behind displayed flows, speeds and delays."""
FORECAST_MARKS_S = (900, 1800, 3600)


@dataclass
class EngineState:
    """Everything that changes while the twin runs (copied whole by snapshots)."""

    time_s: float
    vehicles: FloatArray  # (cells, destinations)
    split: FloatArray  # (movements, destinations)
    plans: SignalPlans
    preemptions: tuple[Preemption, ...]
    smooth_vehicles: FloatArray  # (cells,)
    smooth_outflow_vps: FloatArray  # (cells,)
    smooth_movement_vps: FloatArray  # (movements,)
    next_route_update_s: float
    generated_veh: float = 0.0
    exited_veh: float = 0.0
    delay_veh_s: float = 0.0
    vehicle_s: float = 0.0  # vehicle-seconds spent in the network, waiting to enter included
    extras: dict[str, Any] = field(default_factory=dict)
    demand_factor: FloatArray | None = None
    """(origin zones,) factor on each origin's demand, estimated by assimilation; None = ones."""
    corrected_veh: float = 0.0
    """Vehicles removed by state corrections (negative: added), so that generated - exited -
    in network (waiting to enter included) - corrected = 0."""


class Action(Protocol):
    """An operator action (:mod:`twin.actions`, lanes, corridors): checks itself, then acts."""

    def check(self, engine: Engine) -> None:
        """Raise :class:`ActionError` if the action breaks a rule (nothing changed)."""
        ...

    def execute(self, engine: Engine) -> dict[str, Any]:
        """Carry it out; ``{"action", "target", "before", "after"}`` for the audit log."""
        ...


class EngineExtension(Protocol):
    """A model that runs inside the engine after every internal step (pedestrians, ambulances).

    Attach one with :meth:`Engine.attach`. Its mutable state lives in
    ``engine.state.extras[name]``, so :meth:`Engine.snapshot`, :meth:`Engine.restore`,
    :meth:`Engine.fork` and the recorder copy it with the rest of the state (it must deep-copy
    and pickle); its static data lives on the extension object, which forks and forecasts share
    and never change.
    """

    @property
    def name(self) -> str:
        """Key of its state in ``engine.state.extras``; unique per engine."""
        ...

    @property
    def crowd(self) -> bool:
        """True for a crowd model: a traffic-only forecast (``forecast(crowd=False)``) keeps it
        as it is instead of stepping it."""
        ...

    def step(self, engine: Engine, dt_s: float) -> None:
        """Advance its state by ``dt_s`` seconds; ``engine.time_s`` is already the step's end."""
        ...

    def view(self, engine: Engine) -> Mapping[str, Any]:
        """Plain copies of its state for readers, merged into :attr:`TwinView.extras`."""
        ...


@dataclass(frozen=True)
class Snapshot:
    """An immutable copy of the engine state at ``time_s``."""

    time_s: float
    state: EngineState


@dataclass(frozen=True)
class TwinView:
    """What readers see: plain arrays aligned with the scenario's link and node rows."""

    time_s: float
    links: MappingProxyType
    junctions: MappingProxyType
    kpis: MappingProxyType
    extras: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))


class Engine:
    """The twin of one scenario.

    Parameters
    ----------
    scenario
        The scenario to simulate.
    seed
        Seed of the background-demand variation.
    start_s
        Simulated start time in seconds since midnight (default: ``scenario.params['start']``
        or 0).
    route_update_s, route_smoothing
        Period (s) and step share of the reactive assignment.
    dt_s
        Time step (s); default ``scenario.params['dt_s']`` or one from the shortest link.
    demand
        Vehicle demand to use instead of the one built from the scenario's schedule.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int = 0,
        start_s: float | None = None,
        route_update_s: float = 60.0,
        route_smoothing: float = 0.5,
        dt_s: float | None = None,
        demand: Demand | None = None,
    ) -> None:
        if not 0.0 < route_smoothing <= 1.0:
            raise ValueError(f"route_smoothing must be in (0, 1], got {route_smoothing}")
        self.scenario = scenario
        self.seed = seed
        self.route_update_s = route_update_s
        self.route_smoothing = route_smoothing
        self.net: Network = compile_network(
            scenario.links,
            scenario.movements,
            scenario.zones,
            dt_s=dt_s or scenario.params.get("dt_s") or choose_dt_s(scenario.links),
        )
        self.demand: Demand = demand if demand is not None else build_demand(scenario, seed=seed)
        self._check_origins()
        # one commodity per distinct destination node that receives trips (zones sharing a node,
        # and entry-only gateways that never receive any, add no work)
        received = self.demand.rate_vps.sum(axis=(0, 1)) > 0
        self.dest_nodes = (
            np.unique(self.net.zone_node[received]) if received.any() else self.net.zone_node[:1]
        )
        self.zone_to_dest = (self.net.zone_node[:, None] == self.dest_nodes[None, :]).astype(float)
        self.exit_mask = routing.destination_exit_mask(self.net, self.dest_nodes)
        self.kernel = Kernel(self.net, self.exit_mask)
        self._reverse_graph = routing.ReverseGraph(self.net, self.dest_nodes)
        self._rate_cache: tuple[int, FloatArray] = (-1, np.zeros(0))
        self._route_cache: tuple[FloatArray, FloatArray] = (np.zeros(0), np.zeros(0))
        self._spare: FloatArray | None = None  # the buffer the next step writes into
        plans = plans_from_table(scenario.signals)
        self.signal_row_of_node = np.full(len(scenario.nodes), -1)
        self.signal_row_of_node[plans.node_ids] = np.arange(len(plans.node_ids))
        self._mv_signal_row = self.signal_row_of_node[self.net.mv_node]
        self._movement_ids = {
            (int(a), int(b)): m
            for m, (a, b) in enumerate(zip(self.net.mv_from_link, self.net.mv_to_link, strict=True))
        }
        self._extensions: dict[str, EngineExtension] = {}
        self._stepping: tuple[EngineExtension, ...] = ()  # the extensions each step advances
        start = float(scenario.params.get("start_s", 0.0) if start_s is None else start_s)
        self.state = self._initial_state(plans, start)
        self.attach(AmbulanceExtension())
        pedestrians.attach(self)  # crowd, checkpoints and venues, when the scenario has venues

    def _check_origins(self) -> None:
        can_leave = np.isin(self.net.origin_zone_link, self.net.mv_from_link)
        sends = self.demand.rate_vps.sum(axis=(0, 2)) > 0
        stuck = np.flatnonzero(sends & ~can_leave)
        if len(stuck):
            raise ScenarioError(
                f"zones.csv: zone_id {stuck.tolist()} has demand but no link leaves its node"
            )

    # ---------------------------------------------------------------- state
    def _initial_state(self, plans: SignalPlans, start_s: float) -> EngineState:
        n_cells, n_mv, n_dest = self.net.n_cells, len(self.net.mv_from_link), len(self.dest_nodes)
        state = EngineState(
            time_s=start_s,
            vehicles=np.zeros((n_cells, n_dest)),
            split=np.zeros((n_mv, n_dest)),
            plans=plans,
            preemptions=(),
            smooth_vehicles=np.zeros(n_cells),
            smooth_outflow_vps=np.zeros(n_cells),
            smooth_movement_vps=np.zeros(n_mv),
            next_route_update_s=start_s,
        )
        free_time = metrics.cell_travel_time_s(self.net, state.vehicles.sum(axis=1))
        state.split = self._next_split(free_time, plans, state.split, 1.0)
        self._check_reachable(free_time)
        return state

    def _check_reachable(self, link_time_s: FloatArray) -> None:
        """Every trip in the demand must have a route from its origin to its destination."""
        cost = self._reverse_graph.cost(link_time_s)
        origin_cost = cost[:, self.net.origin_zone_link].T  # (origin zone, destination node)
        has_trips = (self.demand.rate_vps.sum(axis=0) @ self.zone_to_dest) > 0
        stuck = np.argwhere(has_trips & ~np.isfinite(origin_cost))
        if len(stuck):
            pairs = [(int(o), int(self.dest_nodes[d])) for o, d in stuck[:5]]
            raise ScenarioError(
                f"zones.csv: no route for trips from zone to node (origin zone, destination node) {pairs}"
                f"{' and more' if len(stuck) > 5 else ''}: every destination must be reachable"
            )

    @cached_property
    def lines_m(self) -> gpd.GeoSeries:
        """Link geometries in metres (GeoSeries by link_id), built on first use."""
        from twin.io.geometry import link_lines_m

        return link_lines_m(self.scenario)

    @property
    def time_s(self) -> float:
        return self.state.time_s

    @property
    def dt_s(self) -> float:
        return self.net.dt_s

    def snapshot(self) -> Snapshot:
        """An immutable copy of the whole state."""
        return Snapshot(self.state.time_s, copy.deepcopy(self.state))

    def restore(self, snapshot: Snapshot) -> None:
        """Put the engine back into ``snapshot``'s state (the snapshot stays usable)."""
        self.state = copy.deepcopy(snapshot.state)

    def movement_of(self, from_link: int, to_link: int) -> int:
        """Index of the turning movement from ``from_link`` to ``to_link``."""
        return self._movement_ids[(from_link, to_link)]

    def signal_movements(self, node_id: int) -> npt.NDArray[np.int64]:
        """Indices of the signal-controlled movements into junction ``node_id`` (its approaches
        are ``net.mv_from_link`` of these)."""
        return np.flatnonzero((self.net.mv_node == node_id) & (self.net.mv_phase >= 0))

    # ---------------------------------------------------------------- extensions
    def attach(self, extension: EngineExtension, *, state: object | None = None) -> None:
        """Step ``extension`` after every internal step (in the order attached) and show its
        view to readers; ``state`` (if given) becomes ``state.extras[extension.name]``."""
        if extension.name in self._extensions:
            raise ValueError(f"an extension named {extension.name!r} is already attached")
        self._extensions[extension.name] = extension
        self._stepping = (*self._stepping, extension)
        if state is not None:
            self.state.extras[extension.name] = state

    def extension(self, name: str) -> EngineExtension | None:
        """The extension attached under ``name``, or None."""
        return self._extensions.get(name)

    def extension_state(self, name: str) -> Any:
        """The current state of extension ``name`` (``state.extras[name]``), or None."""
        return self.state.extras.get(name)

    @property
    def pedestrians(self) -> Layout | None:
        """The pedestrians' static layout (None for a scenario without venues)."""
        extension = self._extensions.get(pedestrians.KEY)
        return getattr(extension, "layout", None)

    # ---------------------------------------------------------------- stepping
    def step(self, dt_s: float | None = None) -> None:
        """Advance by ``dt_s`` seconds (rounded to whole internal steps; default one step)."""
        n_steps = 1 if dt_s is None else int(round(dt_s / self.net.dt_s))
        if n_steps < 0:
            raise ValueError(f"dt_s must be >= 0, got {dt_s}")
        for _ in range(n_steps):
            self._one_step()

    def run(
        self,
        until_s: float,
        *,
        progress: Callable[[float], None] | None = None,
        report_every_s: float = 900.0,
    ) -> None:
        """Advance to simulated time ``until_s``; call ``progress(time_s)`` every report period."""
        if until_s < self.state.time_s:
            raise ValueError(f"until_s {until_s} is before the current time {self.state.time_s}")
        next_report = self.state.time_s + report_every_s
        while self.state.time_s < until_s - 1e-9:
            self._one_step()
            if progress is not None and self.state.time_s >= next_report - 1e-9:
                progress(self.state.time_s)
                next_report += report_every_s

    def _one_step(self) -> None:
        state, dt = self.state, self.net.dt_s
        if state.time_s >= state.next_route_update_s - 1e-9:
            self._update_routes()
        entering = self._entering_veh(state.time_s, state.time_s + dt)
        green = self.green_movements(state.time_s)
        readings = Readings(
            state.smooth_vehicles, state.smooth_outflow_vps, state.smooth_movement_vps
        )
        new, tally = self.kernel.step(
            state.vehicles,
            state.split,
            green,
            entering,
            readings,
            dt / SMOOTHING_S,
            out=self._spare,
        )
        self._spare, state.vehicles = state.vehicles, new  # two buffers take turns
        state.generated_veh += tally.entered_veh
        state.exited_veh += tally.exited_veh
        state.delay_veh_s += tally.delay_veh_s
        state.vehicle_s += tally.vehicle_s
        state.time_s = round(state.time_s + dt, 6)
        for extension in self._stepping:
            extension.step(self, dt)

    def _entering_veh(self, start_s: float, end_s: float) -> FloatArray:
        """(origin zones, destinations) vehicles generated in ``[start_s, end_s)``.

        A step inside one demand bin is that bin's rate times the step, cached per bin. Each
        origin's row is scaled by ``state.demand_factor`` when assimilation has set one.
        """
        bin_s = self.demand.bin_s
        index = int(start_s // bin_s)
        factor = self.state.demand_factor
        if end_s > (index + 1) * bin_s + 1e-9:  # the step straddles a bin edge
            entering = self.demand.vehicles_between(start_s, end_s) @ self.zone_to_dest
            return entering if factor is None else entering * factor[:, None]
        cached_index, rate = self._rate_cache
        if cached_index != index:
            rate = self.demand.rates_at(start_s) @ self.zone_to_dest
            self._rate_cache = (index, rate)
        if factor is not None:
            return rate * factor[:, None] * (end_s - start_s)
        return rate * (end_s - start_s)

    def green_movements(self, time_s: float) -> npt.NDArray[np.bool_]:
        """Which turning movements have green at ``time_s`` (plans and pre-emptions now)."""
        phase = active_phase(self.state.plans, time_s, self.state.preemptions)
        return movement_green(phase, self._mv_signal_row, self.net.mv_phase)

    def _update_routes(self) -> None:
        state = self.state
        link_time = metrics.cell_travel_time_s(self.net, state.vehicles.sum(axis=1))
        state.split = self._next_split(link_time, state.plans, state.split, self.route_smoothing)
        state.next_route_update_s = state.time_s + self.route_update_s

    def _next_split(
        self, link_time_s: FloatArray, plans: SignalPlans, old_split: FloatArray, smoothing: float
    ) -> FloatArray:
        link_time = link_time_s + self.signal_wait_s(plans)
        cost = self._cost_to_destinations(link_time)
        return routing.next_hop_split(
            self.net, link_time, cost, old_split, self.exit_mask, smoothing=smoothing
        )

    def _cost_to_destinations(self, link_time_s: FloatArray) -> FloatArray:
        """Seconds to each destination (D, L), reused while every link time is exactly the same
        (in free flow link times do not change: no new fastest paths to search for)."""
        cached_time, cached_cost = self._route_cache
        if np.array_equal(cached_time, link_time_s):
            return cached_cost
        cost = self._reverse_graph.cost(link_time_s)
        self._route_cache = (link_time_s, cost)
        return cost

    def signal_wait_s(self, plans: SignalPlans) -> FloatArray:
        """Mean wait for green (s) on each link's approach: red² / (2 · cycle)."""
        wait = np.zeros(self.net.n_links)
        rows = self._mv_signal_row
        mask = rows >= 0
        cycle = plans.cycle_s[rows[mask]]
        green = plans.greens_s[rows[mask], self.net.mv_phase[mask]]
        np.maximum.at(wait, self.net.mv_from_link[mask], (cycle - green) ** 2 / (2.0 * cycle))
        return wait

    # ---------------------------------------------------------------- actions
    def apply(self, action: Action) -> dict[str, Any]:
        """Check ``action`` against the current state, then carry it out.

        Raises :class:`ActionError` (state unchanged) when the action breaks a rule.
        Returns what changed: ``{"action", "target", "before", "after"}``.
        """
        check = getattr(action, "check", None)
        execute = getattr(action, "execute", None)
        if check is None or execute is None:
            raise ActionError(f"action must be a twin action, got {type(action).__name__}")
        check(self)
        return execute(self)

    # ---------------------------------------------------------------- reading
    def view(self) -> TwinView:
        """An immutable picture of the current state for readers."""
        state, net = self.state, self.net
        total = state.vehicles.sum(axis=1)
        links = metrics.link_metrics(
            net, total, state.smooth_vehicles, state.smooth_outflow_vps, plans=state.plans
        )
        junctions = self._junction_metrics(links)
        real = slice(0, net.n_real_cells)
        vm_per_s = float((state.smooth_outflow_vps[real] * net.cell_length_m[real]).sum())
        smooth_vehicles = float(state.smooth_vehicles[real].sum())
        kpis = {
            "vehicles_in_network": float(total[real].sum()),
            "vehicles_waiting_to_enter": float(total[net.n_real_cells :].sum()),
            "mean_speed_kph": 3.6 * vm_per_s / smooth_vehicles
            if smooth_vehicles > 1e-6
            else float("nan"),
            "total_delay_vehh": state.delay_veh_s / 3600.0,
            "vehicles_generated": state.generated_veh,
            "vehicles_arrived": state.exited_veh,
        }
        for array in (*links.values(), *junctions.values()):
            array.setflags(write=False)
        return TwinView(
            time_s=state.time_s,
            links=MappingProxyType(links),
            junctions=MappingProxyType(junctions),
            kpis=MappingProxyType(kpis),
            extras=MappingProxyType(self._extras_view()),
        )

    def _extras_view(self) -> dict[str, Any]:
        """Plain copies of every extension's state for readers."""
        extras: dict[str, Any] = {}
        for extension in self._extensions.values():
            extras.update(extension.view(self))
        return extras

    def _junction_metrics(self, links: dict[str, FloatArray]) -> dict[str, np.ndarray]:
        n_nodes = len(self.scenario.nodes)
        net = self.net
        to_node = net.link_to_node[: net.n_real_links]
        delay_rate = np.bincount(to_node, links["delay_rate_veh"], n_nodes)
        throughput = np.bincount(to_node, links["flow_vph"] / 3600.0, n_nodes)  # served: on or out
        delay_s = metrics.delay_per_vehicle_s(delay_rate, throughput)  # as each approach's
        phase = np.full(n_nodes, -1, dtype=np.int8)
        plans = self.state.plans
        phase[plans.node_ids] = active_phase(plans, self.state.time_s, self.state.preemptions)
        signalised = self.signal_row_of_node >= 0
        return {
            "phase": phase,
            "delay_s_per_veh": delay_s,
            "throughput_vph": throughput * 3600.0,
            "los": metrics.junction_los(delay_s, signalised),
            "signalised": signalised,
        }

    # ---------------------------------------------------------------- forecasting
    def fork(self) -> Engine:
        """An independent engine with a copy of this state (static parts shared)."""
        twin = copy.copy(self)
        twin.state = copy.deepcopy(self.state)
        twin._spare = None
        twin._extensions = dict(self._extensions)
        return twin

    def forecast(
        self,
        horizon_s: float = 3600.0,
        *,
        overrides: Iterable[Action] = (),
        marks_s: Iterable[float] = FORECAST_MARKS_S,
        crowd: bool = True,
    ) -> dict[int, TwinView]:
        """Predicted views at ``now + mark`` for each mark up to ``horizon_s``; live state untouched.

        ``overrides`` are actions applied to the copy first (e.g. a candidate signal plan).
        ``crowd=False`` forecasts traffic only: the pedestrians stay as they are now.
        """
        future = self.fork()
        if not crowd:
            future._stepping = tuple(e for e in future._stepping if not e.crowd)
        for action in overrides:
            future.apply(action)
        start = future.time_s
        views: dict[int, TwinView] = {}
        for mark in sorted(m for m in marks_s if m <= horizon_s):
            future.run(start + mark)
            views[int(mark)] = future.view()
        return views


@dataclass(frozen=True)
class AmbulanceExtension:
    """Ambulances and their green corridors (:mod:`twin.models.corridor`) as an engine extension.

    Dispatch actions put each trip in ``state.extras['ambulances']``; every step moves them
    through the traffic and refreshes the signal pre-emptions. Readers see ``ambulances`` (one
    status per trip) and ``corridor_conflicts``.
    """

    name: str = corridor.EXTRAS_KEY
    crowd: bool = False

    def step(self, engine: Engine, dt_s: float) -> None:
        corridor.step_hook(engine, dt_s)

    def view(self, engine: Engine) -> dict[str, Any]:
        ambulances = engine.state.extras.get(corridor.EXTRAS_KEY, {})
        return {
            "ambulances": [corridor.status(engine, amb) for amb in ambulances.values()],
            "corridor_conflicts": list(engine.state.extras.get(corridor.CONFLICTS_KEY, [])),
        }
