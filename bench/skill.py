"""Forecast skill against a reality the twin did not see: ``python -m bench --only skill``.

Truth
    Eclipse SUMO micro (``--truth sumo``, the default) on the benchmark's 10x10 signalised grid
    (:mod:`bench.grid`, here with two lanes per direction so that a lane can close), or, for the
    short case in CI, a perturbed run of the twin itself (``--truth twin``: the same CTM with the
    truth's demand and the lane closure as a link with one lane fewer; independent of what the
    twin under test is told, not of its model). Trips leave from the 36 boundary nodes (the
    gateways) to boundary nodes at least :data:`MIN_TRIP_BLOCKS` blocks away, departing
    uniformly over the run, on fixed routes drawn from the twin's own free-flow next-hop splits
    (:class:`_Router`). With the benchmark's L-shaped routes, or random shortest lattice paths,
    the open-loop error is dominated by route choice (the twin's assignment counts the mean wait
    for green, so it favours the unsignalised boundary roads), which no assimilation of counts
    into demand removes: routes are part of the model, not of the demand the twin is told.

What the twin is told, and what differs
    The twin runs the same grid with the *base* trips as O-D rates per minute. The truth adds a
    surge (``--surge-factor`` on the trips of ``--surge-origins`` from ``--surge-from-min``,
    extra trips copied from that origin's own trips) and a lane closure (``--closure-link``,
    ``--closure-lanes`` from ``--closure-from-min`` to ``--closure-to-min``; in SUMO a vehicle
    stopped in the kerb lane two thirds along the link, so traffic merges past it), neither of
    which the twin knows.

What the twin sees
    Induction loops (SUMO e1, one per lane, mid-link) on a share ``--loop-share`` of the links
    (drawn with ``--seed``), merged per link into one detector site, reporting count, occupancy
    and mean speed every ``--loop-interval-s``. Each interval's readings reach the twin as a
    :class:`twin.feeds.batch.DetectorCounts` through
    :func:`twin.feeds.traffic_assimilation.assimilate_detectors`, the function the live feed
    path calls, when the twin's clock reaches the interval's end.

Scores
    Every ``--issue-every-min`` minutes from ``--issue-from-min``, the open-loop twin (today's:
    no feeds) and the assimilated one give a nowcast (what the live twin showed over the last
    :data:`WINDOW_MIN` minutes) and forecasts for the windows ending +15 and +30 minutes ahead
    (a fork run from the issue time, no observations). Link means over a window are measured on
    both sides as SUMO's edge data are (:class:`MinuteMeter`): travel time = block length x
    vehicle-seconds / vehicle-metres (free flow where the link held fewer than
    :data:`EMPTY_VEH` vehicles on average), flow = vehicles leaving per hour, density = mean
    vehicles per km. Over every link (observed or not) and issue time: RMSE of travel time,
    RMSE of flow, and density MAPE (mean of ``|model - truth| / truth`` over link-windows whose
    truth density is at least :data:`DENSITY_FLOOR_VPKM`: an almost empty link has no
    meaningful percentage error). JSON keys: ``skill.{open_loop,assimilated}.{nowcast,plus15,
    plus30}.{travel_time_rmse_s,flow_rmse_vph,density_mape}``, with more per horizon:
    ``travel_time_rmse_veh_weighted_s`` (each link-window weighted by the truth's vehicles
    through it: the error an average driver meets; SUMO micro has single vehicles waiting
    minutes for a gap on quiet links, which dominate the plain RMSE), ``travel_time_mape``,
    ``density_rmse_vpkm``; and ``goals``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bench.grid import Grid, Trips, make_grid
from twin.engine import SMOOTHING_S, Engine
from twin.feeds.batch import DetectorCounts
from twin.feeds.traffic_assimilation import (
    DEFAULT_PARAMS,
    AssimilationParams,
    assimilate_detectors,
)
from twin.io.synthetic import grid_scenario, od_demand
from twin.models.demand import Demand
from twin.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
RESULTS = Path("bench/results/skill.json")
MIN_TRIP_BLOCKS = 5
"""Trips go to boundary nodes at least this many blocks (Manhattan) from their origin."""
DENSITY_FLOOR_VPKM = 5.0
"""Link-minutes whose truth density is below this are left out of the density MAPE."""
HORIZONS = {"nowcast": 0, "plus15": 900, "plus30": 1800}
EMPTY_VEH = 0.05
"""A link with fewer vehicles than this on average over the window reads free flow."""
WINDOW_MIN = 5
"""Scores compare 5-minute link means (one vehicle waiting for green makes a 1-minute mean
speed meaningless on a quiet link)."""
BLOCK_M = 200.0
DT_S = 4.0
"""Twin time step (s): whole steps per minute; three 66.7 m cells per block (Courant-safe)."""


@dataclass(frozen=True)
class SkillCase:
    """One skill case (defaults: the issue's case; see the module docstring)."""

    minutes: int = 90
    trips_per_hour: float = 9000.0
    lanes: int = 2
    major_gateways: int = 0  # gateways (drawn by seed) that send ``major_share`` of the trips
    major_share: float = 0.5
    surge_origins: tuple[str, ...] | int = 3
    surge_factor: float = 1.3
    surge_from_min: float = 30.0
    closure_link: str | None = None  # None: the link most used by the base trips
    closure_lanes: int = 1
    closure_from_min: float = 35.0
    closure_to_min: float = 55.0
    loop_share: float = 0.2
    loop_interval_s: int = 60
    seed: int = 1
    issue_from_min: float = 30.0
    issue_every_min: float = 5.0

    def __post_init__(self) -> None:
        if self.minutes < 40:
            raise ValueError(
                f"minutes must be >= 40 (a +30 min forecast needs room), got {self.minutes}"
            )
        if not 0.0 < self.loop_share <= 1.0:
            raise ValueError(f"loop_share must be in (0, 1], got {self.loop_share}")
        if self.loop_interval_s < 1 or 60 % self.loop_interval_s and self.loop_interval_s % 60:
            raise ValueError(
                f"loop_interval_s must divide 60 or be a multiple of 60, got {self.loop_interval_s}"
            )
        if not 0 <= self.closure_lanes < self.lanes:
            raise ValueError(
                f"closure_lanes must leave a lane open (0..{self.lanes - 1}), got {self.closure_lanes}"
            )
        if not self.closure_from_min <= self.closure_to_min:
            raise ValueError("closure_from_min must not be after closure_to_min")
        if not 0 <= self.major_gateways <= 36 or not 0.0 < self.major_share < 1.0:
            raise ValueError("major_gateways must be 0..36 and major_share in (0, 1)")
        if self.surge_factor <= 0:
            raise ValueError(f"surge_factor must be > 0, got {self.surge_factor}")
        if self.issue_from_min + 30 > self.minutes:
            raise ValueError("issue_from_min + 30 must be within the run")

    @property
    def issue_minutes(self) -> list[float]:
        last = self.minutes - 30
        return list(np.arange(self.issue_from_min, last + 1e-9, self.issue_every_min))


@dataclass(frozen=True)
class Setup:
    """The grid, trips, detector sites and the twin's scenario and demand of a case."""

    grid: Grid
    base: Trips
    truth: Trips
    surge_nodes: tuple[int, ...]
    closure_link: int
    loop_links: npt.NDArray[np.int64]
    scenario: Scenario
    base_demand: Demand
    truth_demand: Demand


@dataclass(frozen=True)
class LinkMinutes:
    """Per minute ``m`` (interval ``[60 m, 60 (m + 1))``) and link: vehicle-seconds and
    vehicle-metres spent on the link, vehicles leaving it, mean density (veh/km)."""

    vehicle_s: FloatArray  # (minutes, links)
    vehicle_m: FloatArray
    leaving_veh: FloatArray
    density_vpkm: FloatArray

    def window(
        self, end_minute: int, length_m: FloatArray, free_mps: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Travel time (s), flow (veh/h) and density (veh/km) of each link over the
        :data:`WINDOW_MIN` minutes ending at ``end_minute`` (exclusive): travel time = length x
        vehicle-seconds / vehicle-metres (Little's law; free flow on a link that held fewer than
        :data:`EMPTY_VEH` vehicles on average)."""
        rows = slice(end_minute - WINDOW_MIN, end_minute)
        vehicle_s = self.vehicle_s[rows].sum(axis=0)
        vehicle_m = self.vehicle_m[rows].sum(axis=0)
        used = (vehicle_s / (WINDOW_MIN * 60.0) >= EMPTY_VEH) & (vehicle_m > 0)
        speed = np.divide(vehicle_m, vehicle_s, out=free_mps.copy(), where=used)
        travel_s = length_m / np.clip(speed, 0.1, free_mps)
        flow_vph = self.leaving_veh[rows].sum(axis=0) / WINDOW_MIN * 60.0
        return travel_s, flow_vph, self.density_vpkm[rows].mean(axis=0)


@dataclass(frozen=True)
class Truth:
    """The truth's link minutes and the loops' batches in time order."""

    links: LinkMinutes
    loops: tuple[DetectorCounts, ...]
    info: dict[str, Any]


# ---------------------------------------------------------------- the case
def build_setup(case: SkillCase) -> Setup:
    """Grid, trips (base and truth), loop links and the twin's scenario for ``case``."""
    grid = make_grid(lanes=case.lanes, block_m=BLOCK_M)
    rng = np.random.default_rng(case.seed)
    n_loops = max(1, int(round(case.loop_share * grid.n_links)))
    loop_links = np.sort(rng.choice(grid.n_links, n_loops, replace=False))
    scenario = _twin_scenario(grid, case, loop_links)
    router = _Router(scenario)
    duration_s = case.minutes * 60
    gateways = _boundary_nodes(grid)
    major = np.sort(rng.choice(len(gateways), case.major_gateways, replace=False))
    n_trips = int(round(case.trips_per_hour * duration_s / 3600))
    base = _boundary_trips(grid, router, n_trips, duration_s, rng, major, case.major_share)
    if isinstance(case.surge_origins, int):
        pool = gateways[major] if case.major_gateways >= case.surge_origins else gateways
        surge_nodes = tuple(
            int(n) for n in np.sort(rng.choice(pool, case.surge_origins, replace=False))
        )
    else:
        names = {grid.node_name(n): n for n in range(grid.n_nodes)}
        unknown = [s for s in case.surge_origins if s not in names or names[s] not in gateways]
        if unknown:
            raise ValueError(f"surge origins must be boundary nodes such as r0c4, got {unknown}")
        surge_nodes = tuple(names[s] for s in case.surge_origins)
    truth = _with_surge(grid, base, surge_nodes, case, rng)
    closure = _closure_link(grid, base, case.closure_link)
    zone_of_node = np.full(grid.n_nodes, -1)
    zone_of_node[scenario.zones["node_id"].to_numpy()] = np.arange(len(scenario.zones))
    return Setup(
        grid=grid,
        base=base,
        truth=truth,
        surge_nodes=surge_nodes,
        closure_link=closure,
        loop_links=loop_links,
        scenario=scenario,
        base_demand=_demand(base, zone_of_node, len(scenario.zones)),
        truth_demand=_demand(truth, zone_of_node, len(scenario.zones)),
    )


def _boundary_nodes(grid: Grid) -> npt.NDArray[np.int64]:
    edge = (grid.node_row == 0) | (grid.node_row == grid.rows - 1)
    edge |= (grid.node_col == 0) | (grid.node_col == grid.cols - 1)
    return np.flatnonzero(edge)


def _boundary_trips(
    grid: Grid,
    router: _Router,
    n: int,
    duration_s: int,
    rng: np.random.Generator,
    major: npt.NDArray[np.int64],
    major_share: float,
) -> Trips:
    """Trips between gateways: origins uniform, or ``major_share`` of them from the ``major``
    gateways (rows of :func:`_boundary_nodes`), the rest uniform over the others."""
    nodes = _boundary_nodes(grid)
    rows, cols = grid.node_row[nodes], grid.node_col[nodes]
    blocks = np.abs(rows[:, None] - rows[None, :]) + np.abs(cols[:, None] - cols[None, :])
    weight = np.ones(len(nodes))
    if len(major):
        weight[:] = (1.0 - major_share) / (len(nodes) - len(major))
        weight[major] = major_share / len(major)
    origin_i = rng.choice(len(nodes), n, p=weight / weight.sum())
    dest_i = np.empty(n, dtype=np.int64)
    for i in range(len(nodes)):  # 36 gateways: one draw per origin, not per trip
        mine = np.flatnonzero(origin_i == i)
        far = np.flatnonzero(blocks[i] >= MIN_TRIP_BLOCKS)
        dest_i[mine] = far[rng.integers(0, len(far), len(mine))]
    depart = rng.integers(0, duration_s, n)
    origin, dest = nodes[origin_i], nodes[dest_i]
    routes = [router.route(int(o), int(d), rng) for o, d in zip(origin, dest, strict=True)]
    return _trips(grid, origin, dest, depart, routes)


def _trips(grid: Grid, origin: Any, dest: Any, depart: Any, routes: Any) -> Trips:
    """Trips sorted by departure."""
    order = np.argsort(depart, kind="stable")
    routes = tuple(routes[i] for i in order)
    return Trips(
        origin=np.asarray(origin)[order].astype(np.int64),
        destination=np.asarray(dest)[order].astype(np.int64),
        depart_s=np.asarray(depart)[order].astype(np.int64),
        routes=routes,
        free_flow_time_s=np.array([grid.free_flow_time_s(r) for r in routes]),
    )


class _Router:
    """Routes drawn from the twin's own free-flow next-hop splits: from the origin's gateway,
    each next link with the probability the twin's assignment sends traffic for that
    destination there (fastest paths with the mean wait for green; ties shared equally)."""

    def __init__(self, scenario: Scenario) -> None:
        n = len(scenario.zones)
        every = [(o, d, 60.0, 0.0, 60.0) for o in range(n) for d in range(n) if o != d]
        engine = Engine(scenario, demand=od_demand(n, every), start_s=0.0)
        self.net, self.split = engine.net, engine.state.split
        self.exit_mask, self.dest_nodes = engine.exit_mask, engine.dest_nodes
        self.order, self.start = engine.net.movements_by_from_link
        self.zone_of_node = {int(v): z for z, v in enumerate(scenario.zones["node_id"])}

    def route(self, origin: int, dest: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        net = self.net
        link = int(net.origin_zone_link[self.zone_of_node[origin]])
        d = int(np.searchsorted(self.dest_nodes, dest))
        path: list[int] = []
        while not path or not self.exit_mask[path[-1], d]:
            moves = self.order[self.start[link] : self.start[link + 1]]
            share = np.cumsum(self.split[moves, d])
            pick = min(
                int(np.searchsorted(share, rng.random() * share[-1], side="right")), len(moves) - 1
            )
            link = int(net.mv_to_link[moves[pick]])
            path.append(link)
            if len(path) > 4 * net.n_real_links:
                raise RuntimeError(
                    f"no route from node {origin} to node {dest} in the twin's splits"
                )
        return np.array(path, dtype=np.int64)


def _with_surge(
    grid: Grid, base: Trips, nodes: tuple[int, ...], case: SkillCase, rng: np.random.Generator
) -> Trips:
    """Base trips plus ``factor - 1`` times the surge origins' trips after the surge starts
    (copies of their own trips and routes, departures shifted by up to a minute); a factor
    below 1 drops that share of them instead."""
    after = np.isin(base.origin, nodes) & (base.depart_s >= case.surge_from_min * 60)
    if case.surge_factor <= 1.0:
        index = np.flatnonzero(~after | (rng.random(len(base)) < case.surge_factor))
    else:
        pool = np.flatnonzero(after)
        extra = rng.choice(pool, int(round((case.surge_factor - 1.0) * len(pool))), replace=True)
        index = np.concatenate([np.arange(len(base)), extra])
    depart = base.depart_s[index].copy()
    shifted = np.arange(len(index)) >= len(base)
    depart[shifted] = np.minimum(
        depart[shifted] + rng.integers(0, 60, int(shifted.sum())), case.minutes * 60 - 1
    )
    return _trips(
        grid, base.origin[index], base.destination[index], depart, [base.routes[i] for i in index]
    )


def _closure_link(grid: Grid, base: Trips, name: str | None) -> int:
    if name is None:
        use = np.bincount(np.concatenate(base.routes), minlength=grid.n_links)
        return int(np.argmax(use))
    names = [grid.link_name(link) for link in range(grid.n_links)]
    if name not in names:
        raise ValueError(f"closure link must be a grid link such as r4c4_r4c5, got {name!r}")
    return names.index(name)


def _twin_scenario(grid: Grid, case: SkillCase, loop_links: npt.NDArray[np.int64]) -> Scenario:
    scenario = grid_scenario(
        grid.rows,
        grid.cols,
        block_m=grid.block_m,
        lanes=grid.lanes,
        dt_s=DT_S,
        zones_at="boundary",
        signal_min_legs=4,
    )
    detectors = pd.DataFrame(
        {
            "detector_id": [f"loop_{grid.link_name(link)}" for link in loop_links],
            "link_id": loop_links,
            "position_m": grid.block_m / 2.0,
            "lanes": grid.lanes,
            "measures": "count+occupancy",
            "kind": "counting_station",
        }
    )
    return dataclasses.replace(scenario, detectors=detectors)


def _demand(trips: Trips, zone_of_node: npt.NDArray[np.int64], n_zones: int) -> Demand:
    """Trips per minute as O-D rates between the boundary zones (as the peers bench feeds it)."""
    counts = np.zeros((int(trips.depart_s.max()) // 60 + 1, n_zones, n_zones))
    np.add.at(
        counts,
        (trips.depart_s // 60, zone_of_node[trips.origin], zone_of_node[trips.destination]),
        1.0,
    )
    rows = [
        (int(o), int(d), float(counts[k, o, d]) * 60.0, k * 60.0, (k + 1) * 60.0)
        for k, o, d in np.argwhere(counts)
    ]
    return od_demand(n_zones, rows, bin_s=60.0)


# ---------------------------------------------------------------- truth: SUMO micro
def sumo_truth(setup: Setup, case: SkillCase, workdir: Path | None = None) -> Truth:
    """Run SUMO micro on the case and read its per-minute edge data and loops."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="venuetwin-skill-") as tmp:
            return sumo_truth(setup, case, Path(tmp))
    import subprocess

    from bench.peers import _command, _sumo_env, build_sumo_network, write_sumo_routes

    grid = setup.grid
    started = time.perf_counter()
    net = build_sumo_network(grid, workdir)
    routes = write_sumo_routes(grid, setup.truth, workdir / "truth.rou.xml")
    lane_length = {
        lane.get("id"): float(lane.get("length")) for lane in ET.parse(net).getroot().iter("lane")
    }
    additional = _sumo_additional(setup, case, workdir, lane_length)
    options = {
        "net-file": net,
        "route-files": f"{routes},{additional['closure']}",
        "additional-files": additional["detectors"],
        "step-length": 1,
        "seed": case.seed,
        "end": case.minutes * 60,
        "no-step-log": "true",
        "no-warnings": "true",
        "duration-log.disable": "true",
    }
    done = subprocess.run(
        _command("sumo", options), capture_output=True, text=True, env=_sumo_env(), check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"sumo exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    edges = _read_edge_data(workdir / "edges.xml", grid, case.minutes)
    loops = _read_loops(workdir / "loops.xml", setup, case)
    info = {"truth": "sumo micro", "sumo_wall_s": time.perf_counter() - started}
    return Truth(edges, loops=loops, info=info)


def _sumo_additional(
    setup: Setup, case: SkillCase, folder: Path, lane_length: dict[str, float]
) -> dict[str, Path]:
    grid = setup.grid
    detectors = folder / "detectors.add.xml"
    with detectors.open("w") as f:
        f.write("<additional>\n")
        f.write(
            '  <edgeData id="minute" period="60" file="edges.xml" excludeEmpty="false" vTypes="car"/>\n'
        )
        for j, link in enumerate(setup.loop_links):
            for lane in range(grid.lanes):
                lane_id = f"{grid.link_name(link)}_{lane}"
                f.write(
                    f'  <inductionLoop id="d{j}_{lane}" lane="{lane_id}" '
                    f'pos="{lane_length[lane_id] / 2:.2f}" period="{case.loop_interval_s}" file="loops.xml"'
                    ' vTypes="car"/>\n'
                )
        f.write("</additional>\n")
    closure = folder / "closure.rou.xml"
    edge = grid.link_name(setup.closure_link)
    duration = (case.closure_to_min - case.closure_from_min) * 60
    with closure.open("w") as f:
        f.write("<routes>\n")
        f.write('  <vType id="blocker" length="5" minGap="0" vClass="passenger"/>\n')
        for lane in range(case.closure_lanes if duration > 0 else 0):
            pos = 2.0 / 3.0 * lane_length[f"{edge}_{lane}"]
            f.write(
                f'  <vehicle id="closure{lane}" type="blocker" depart="{case.closure_from_min * 60:g}" '
                f'departLane="{lane}" departPos="{pos:.1f}" departSpeed="0" insertionChecks="none">\n'
                f'    <route edges="{edge}"/>\n'
                f'    <stop lane="{edge}_{lane}" endPos="{pos:.1f}" duration="{duration:g}"/>\n'
                "  </vehicle>\n"
            )
        f.write("</routes>\n")
    return {"detectors": detectors, "closure": closure}


def _read_edge_data(path: Path, grid: Grid, minutes: int) -> LinkMinutes:
    link_of = {grid.link_name(link): link for link in range(grid.n_links)}
    arrays = [np.zeros((minutes, grid.n_links)) for _ in range(4)]
    keys = ("sampledSeconds", "distance", "left", "density")
    for interval in ET.parse(path).getroot().iter("interval"):
        minute = int(round(float(interval.get("begin")) / 60.0))
        if minute >= minutes:
            continue
        for edge in interval.iter("edge"):
            link = link_of.get(edge.get("id"))
            if link is not None:
                for array, key in zip(arrays, keys, strict=True):
                    array[minute, link] = float(edge.get(key, 0.0))
    return LinkMinutes(*arrays)


def _read_loops(path: Path, setup: Setup, case: SkillCase) -> tuple[DetectorCounts, ...]:
    n_intervals = case.minutes * 60 // case.loop_interval_s
    n_det = len(setup.loop_links)
    count = np.zeros((n_intervals, n_det))
    occupancy = np.zeros((n_intervals, n_det))
    speed_sum = np.zeros((n_intervals, n_det))
    for interval in ET.parse(path).getroot().iter("interval"):
        k = int(round(float(interval.get("begin")) / case.loop_interval_s))
        if k >= n_intervals:
            continue
        j = int(interval.get("id")[1:].split("_")[0])
        n = float(interval.get("nVehContrib"))
        count[k, j] += n
        occupancy[k, j] += float(interval.get("occupancy")) / 100.0 / setup.grid.lanes
        speed = float(interval.get("speed"))
        if n > 0 and speed >= 0:
            speed_sum[k, j] += n * speed * 3.6
    speed_kph = np.divide(speed_sum, count, out=np.full_like(count, np.nan), where=count > 0)
    return _batches(case, count, occupancy, speed_kph)


def _batches(
    case: SkillCase, count: FloatArray, occupancy: FloatArray, speed_kph: FloatArray
) -> tuple[DetectorCounts, ...]:
    n_det = count.shape[1]
    index = np.arange(n_det, dtype=np.int64)
    return tuple(
        DetectorCounts(
            source="skill-loops",
            detector_index=index,
            interval_end_s=np.full(n_det, (k + 1.0) * case.loop_interval_s),
            interval_s=np.full(n_det, float(case.loop_interval_s)),
            count_veh=count[k],
            occupancy=occupancy[k],
            speed_kph=speed_kph[k],
        )
        for k in range(len(count))
    )


# ---------------------------------------------------------------- minute means of a twin run
class MinuteMeter:
    """Link means over one minute of a twin run, measured as SUMO's edge data are: travel time
    = length / (vehicle-metres / vehicle-seconds), flow = vehicles leaving per hour, density =
    mean vehicles per km. Each step's outflow of a cell is recovered exactly from its smoothed
    reading (``s' = s + dt / tau (o - s)``)."""

    def __init__(self, engine: Engine) -> None:
        net = engine.net
        self.net, self.blend = net, net.dt_s / SMOOTHING_S
        self.link = net.cell_link[: net.n_real_cells]
        self.last = net.link_last_cell[: net.n_real_links]
        self.reset()

    def reset(self) -> None:
        n = self.net.n_real_cells
        self.content, self.metres, self.leaving, self.steps = np.zeros(n), np.zeros(n), 0.0, 0

    def step(self, engine: Engine) -> None:
        """Advance ``engine`` one step and add it to the minute."""
        n = self.net.n_real_cells
        before = engine.state.smooth_outflow_vps[:n].copy()
        engine.step()
        out_vps = before + (engine.state.smooth_outflow_vps[:n] - before) / self.blend
        self.content = self.content + engine.state.vehicles[:n].sum(axis=1)
        self.metres = self.metres + out_vps * self.net.cell_length_m[:n]
        self.leaving = self.leaving + out_vps[self.last]
        self.steps += 1

    def row(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The steps since the last reset per link: vehicle-seconds, vehicle-metres, vehicles
        leaving, mean density (veh/km); then starts again."""
        net, n_links = self.net, self.net.n_real_links
        dt = net.dt_s
        vehicles = np.bincount(self.link, self.content, n_links)
        row = (
            vehicles * dt,
            np.bincount(self.link, self.metres, n_links) * dt,
            self.leaving * dt,
            vehicles / max(self.steps, 1) / (net.link_length_m[:n_links] / 1000.0),
        )
        self.reset()
        return row

    def run(self, engine: Engine, end_s: float, rows: list[Any]) -> None:
        """Step ``engine`` to ``end_s``, appending a row at every whole minute."""
        while engine.time_s < end_s - 1e-9:
            self.step(engine)
            if abs(engine.time_s / 60.0 - round(engine.time_s / 60.0)) < 1e-9:
                rows.append(self.row())


def _link_minutes(rows: list[Any]) -> LinkMinutes:
    return LinkMinutes(*(np.array(column) for column in zip(*rows, strict=True)))


# ---------------------------------------------------------------- truth: a perturbed twin run
def twin_truth(setup: Setup, case: SkillCase) -> Truth:
    """The twin's own model with the truth's demand and the closure (a link with
    ``closure_lanes`` lanes fewer while closed), measured as the loops would measure it."""
    started = time.perf_counter()
    links = setup.scenario.links.copy()
    lanes = links["lanes"].to_numpy(float)
    lanes[setup.closure_link] -= case.closure_lanes
    links["lanes"] = lanes
    closed_scenario = dataclasses.replace(setup.scenario, links=links)
    open_engine = Engine(setup.scenario, demand=setup.truth_demand, start_s=0.0)
    closed_engine = Engine(closed_scenario, demand=setup.truth_demand, start_s=0.0)
    net = open_engine.net
    sites = setup.scenario.detectors
    first = net.link_first_cell[sites["link_id"].to_numpy()]
    cell = first + (sites["position_m"].to_numpy() // net.cell_length_m[first]).astype(np.int64)
    lane_m = net.cell_length_m[cell] * sites["lanes"].to_numpy(float)
    blend = net.dt_s / SMOOTHING_S
    n_intervals = case.minutes * 60 // case.loop_interval_s
    count = np.zeros((n_intervals, len(cell)))
    occupied = np.zeros((n_intervals, len(cell)))
    rows: list[Any] = []
    engine = open_engine
    meter = MinuteMeter(engine)
    steps = np.zeros(n_intervals)
    for k in range(n_intervals):
        end_s = (k + 1) * case.loop_interval_s
        while engine.time_s < end_s - 1e-9:
            closed = case.closure_from_min * 60 <= engine.time_s < case.closure_to_min * 60
            wanted = closed_engine if closed else open_engine
            if wanted is not engine:  # the state moves between the two networks
                wanted.state, engine = engine.state, wanted
            before = engine.state.smooth_outflow_vps[cell].copy()
            meter.step(engine)
            after = engine.state.smooth_outflow_vps[cell]
            count[k] += (before + (after - before) / blend) * net.dt_s
            occupied[k] += engine.state.vehicles[cell].sum(axis=1) / lane_m
            steps[k] += 1
            if abs(engine.time_s / 60.0 - round(engine.time_s / 60.0)) < 1e-9:  # a minute ends
                rows.append(meter.row())
    effective_m = DEFAULT_PARAMS.effective_length_m
    occupancy = np.minimum(occupied / steps[:, None] * effective_m, 1.0)
    loops = _batches(case, count, occupancy, np.full_like(count, np.nan))
    info = {"truth": "twin (perturbed run)", "truth_wall_s": time.perf_counter() - started}
    return Truth(_link_minutes(rows), loops=loops, info=info)


# ---------------------------------------------------------------- the twins under test
def run_twin(
    setup: Setup,
    case: SkillCase,
    truth: Truth,
    *,
    assimilate: bool,
    params: AssimilationParams = DEFAULT_PARAMS,
) -> dict[str, FloatArray]:
    """The twin told the base demand, with or without the loops; predictions per horizon as
    arrays (issue times, links) of travel time, flow and density."""
    engine = Engine(setup.scenario, demand=setup.base_demand, start_s=0.0)
    length_m = engine.net.link_length_m[: engine.net.n_real_links]
    free_mps = engine.net.link_free_speed_mps[: engine.net.n_real_links]
    issues = [m * 60.0 for m in case.issue_minutes]
    loop_ends = [(k + 1.0) * case.loop_interval_s for k in range(len(truth.loops))]
    events = sorted({*issues, *(t for t in loop_ends if t <= issues[-1])})
    out: dict[str, list[Any]] = {name: [] for name in HORIZONS}
    live: list[Any] = []
    meter = MinuteMeter(engine)
    for t in events:
        meter.run(engine, t, live)
        if assimilate and t in loop_ends:
            assimilate_detectors(engine, truth.loops[loop_ends.index(t)], params=params)
        if t not in issues:
            continue
        out["nowcast"].append(_link_minutes(live).window(len(live), length_m, free_mps))
        future = engine.fork()
        ahead = MinuteMeter(future)
        for name, mark in HORIZONS.items():
            if mark == 0:
                continue
            future.run(t + mark - WINDOW_MIN * 60.0)
            rows: list[Any] = []
            ahead.reset()
            ahead.run(future, t + mark, rows)
            out[name].append(_link_minutes(rows).window(WINDOW_MIN, length_m, free_mps))
    final = {
        "demand_factor": engine.state.demand_factor,
        "corrected_veh": engine.state.corrected_veh,
        "conservation_veh": engine.state.generated_veh
        - engine.state.exited_veh
        - float(engine.state.vehicles.sum())
        - engine.state.corrected_veh,
    }
    return {name: np.array(rows) for name, rows in out.items()} | {"final": final}  # type: ignore[dict-item]


def scores(
    case: SkillCase, setup: Setup, truth: Truth, predicted: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """RMSE and MAPE per horizon over every link and issue time (module docstring)."""
    grid = setup.grid
    free_mps = np.full(grid.n_links, grid.free_speed_mps)
    result = {}
    for name, mark in HORIZONS.items():
        ends = [int(round(m + mark / 60)) for m in case.issue_minutes]
        truths = np.array([truth.links.window(e, grid.link_length_m, free_mps) for e in ends])
        rows = predicted[name]  # (issues, 3, links)
        tt, flow, density = rows[:, 0], rows[:, 1], rows[:, 2]
        t_tt, t_flow, t_den = truths[:, 0], truths[:, 1], truths[:, 2]
        dense = t_den >= DENSITY_FLOOR_VPKM
        weight = t_flow / max(float(t_flow.sum()), 1e-9)
        result[name] = {
            "travel_time_rmse_s": float(np.sqrt(np.mean((tt - t_tt) ** 2))),
            "travel_time_rmse_veh_weighted_s": float(np.sqrt(np.sum(weight * (tt - t_tt) ** 2))),
            "flow_rmse_vph": float(np.sqrt(np.mean((flow - t_flow) ** 2))),
            "density_mape": float(np.mean(np.abs(density[dense] - t_den[dense]) / t_den[dense]))
            if dense.any()
            else float("nan"),
            "travel_time_mape": float(np.mean(np.abs(tt - t_tt) / t_tt)),
            "density_rmse_vpkm": float(np.sqrt(np.mean((density - t_den) ** 2))),
            "pairs": int(tt.size),
            "density_pairs": int(dense.sum()),
        }
    return result


def run_skill(
    case: SkillCase,
    *,
    truth_kind: str = "sumo",
    params: AssimilationParams = DEFAULT_PARAMS,
    truth: Truth | None = None,
) -> dict[str, Any]:
    """The whole harness: truth (or the one given, built from ``case``), both twins, scores."""
    setup = build_setup(case)
    if truth is None:
        truth = sumo_truth(setup, case) if truth_kind == "sumo" else twin_truth(setup, case)
    started = time.perf_counter()
    open_loop = run_twin(setup, case, truth, assimilate=False)
    open_s = time.perf_counter() - started
    assimilated = run_twin(setup, case, truth, assimilate=True, params=params)
    both_s = time.perf_counter() - started
    skill = {
        "open_loop": scores(case, setup, truth, open_loop),
        "assimilated": scores(case, setup, truth, assimilated),
    }
    tt_open = skill["open_loop"]["plus30"]["travel_time_rmse_s"]
    tt_assim = skill["assimilated"]["plus30"]["travel_time_rmse_s"]
    w_open = skill["open_loop"]["plus30"]["travel_time_rmse_veh_weighted_s"]
    w_assim = skill["assimilated"]["plus30"]["travel_time_rmse_veh_weighted_s"]
    grid = setup.grid
    factor = assimilated["final"]["demand_factor"]
    zones = setup.scenario.zones["node_id"].to_numpy()
    return {
        "case": {
            **{k: v for k, v in dataclasses.asdict(case).items()},
            "surge_origin_nodes": [grid.node_name(n) for n in setup.surge_nodes],
            "closure_link_name": grid.link_name(setup.closure_link),
            "loops": len(setup.loop_links),
            "base_trips": len(setup.base),
            "truth_trips": len(setup.truth),
            "issue_minutes": case.issue_minutes,
            "density_floor_vpkm": DENSITY_FLOOR_VPKM,
        },
        "truth": truth.info,
        "skill": skill,
        "goals": {
            "plus30_travel_time_rmse_cut": 1.0 - tt_assim / tt_open
            if tt_open > 0
            else float("nan"),
            "plus30_travel_time_rmse_cut_goal": 0.5,
            "plus30_travel_time_rmse_veh_weighted_cut": 1.0 - w_assim / w_open
            if w_open > 0
            else float("nan"),
            "nowcast_density_mape": skill["assimilated"]["nowcast"]["density_mape"],
            "nowcast_density_mape_goal": 0.15,
        },
        "estimate": {
            "demand_factor_surge_origins": {
                grid.node_name(n): float(factor[np.flatnonzero(zones == n)[0]])
                if factor is not None
                else 1.0
                for n in setup.surge_nodes
            },
            "demand_factor_others_mean": float(
                np.mean(factor[~np.isin(zones, setup.surge_nodes)]) if factor is not None else 1.0
            ),
            "corrected_veh": assimilated["final"]["corrected_veh"],
            "conservation_residual_veh": assimilated["final"]["conservation_veh"],
        },
        "wall_s": {"open_loop_twin": open_s, "assimilated_twin": both_s - open_s},
    }


def print_report(result: dict[str, Any]) -> None:
    case = result["case"]
    print(
        f"  truth: {result['truth']['truth']}; {case['truth_trips']} trips ({case['base_trips']} told), "
        f"surge x{case['surge_factor']:g} from {case['surge_origin_nodes']} at min {case['surge_from_min']:g}, "
        f"closure {case['closure_lanes']} lane(s) of {case['closure_link_name']} min "
        f"{case['closure_from_min']:g}-{case['closure_to_min']:g}, {case['loops']} loop sites"
    )
    print(
        f"  {'':<12}{'horizon':<9}{'TT RMSE s':>10}{'(veh-wtd)':>10}{'flow RMSE':>11}{'dens MAPE':>11}"
    )
    for kind in ("open_loop", "assimilated"):
        for name, row in result["skill"][kind].items():
            print(
                f"  {kind:<12}{name:<9}{row['travel_time_rmse_s']:>10.1f}"
                f"{row['travel_time_rmse_veh_weighted_s']:>10.1f}{row['flow_rmse_vph']:>11.1f}"
                f"{row['density_mape']:>11.1%}"
            )
    goals = result["goals"]
    print(
        f"  +30 min travel-time RMSE cut {goals['plus30_travel_time_rmse_cut']:.1%} (goal 50%); "
        f"nowcast density MAPE {goals['nowcast_density_mape']:.1%} (goal <= 15%)"
    )
    print(
        f"  estimated factors at the surge origins: {result['estimate']['demand_factor_surge_origins']}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The skill case's options (``python -m bench --only skill --help``)."""
    d = SkillCase()
    group = parser.add_argument_group("skill (--only skill)")
    group.add_argument("--truth", choices=["sumo", "twin"], default="sumo")
    group.add_argument("--minutes", type=int, default=d.minutes)
    group.add_argument("--trips-per-hour", type=float, default=d.trips_per_hour)
    group.add_argument(
        "--major-gateways",
        type=int,
        default=d.major_gateways,
        help="gateways sending --major-share of the trips (surge origins drawn among them)",
    )
    group.add_argument("--major-share", type=float, default=d.major_share)
    group.add_argument(
        "--surge-origins",
        default=str(d.surge_origins),
        help="a count (drawn by seed) or node names r0c4,r9c2",
    )
    group.add_argument("--surge-factor", type=float, default=d.surge_factor)
    group.add_argument("--surge-from-min", type=float, default=d.surge_from_min)
    group.add_argument(
        "--closure-link", default=None, help="e.g. r4c4_r4c5 (default: the busiest link)"
    )
    group.add_argument("--closure-lanes", type=int, default=d.closure_lanes)
    group.add_argument("--closure-from-min", type=float, default=d.closure_from_min)
    group.add_argument("--closure-to-min", type=float, default=d.closure_to_min)
    group.add_argument("--loop-share", type=float, default=d.loop_share)
    group.add_argument("--loop-interval-s", type=int, default=d.loop_interval_s)
    group.add_argument("--seed", type=int, default=d.seed)
    group.add_argument("--issue-from-min", type=float, default=d.issue_from_min)
    group.add_argument("--issue-every-min", type=float, default=d.issue_every_min)


def case_from_args(args: argparse.Namespace) -> SkillCase:
    origins = args.surge_origins
    surge: tuple[str, ...] | int = int(origins) if origins.isdigit() else tuple(origins.split(","))
    return SkillCase(
        minutes=args.minutes,
        trips_per_hour=args.trips_per_hour,
        major_gateways=args.major_gateways,
        major_share=args.major_share,
        surge_origins=surge,
        surge_factor=args.surge_factor,
        surge_from_min=args.surge_from_min,
        closure_link=args.closure_link,
        closure_lanes=args.closure_lanes,
        closure_from_min=args.closure_from_min,
        closure_to_min=args.closure_to_min,
        loop_share=args.loop_share,
        loop_interval_s=args.loop_interval_s,
        seed=args.seed,
        issue_from_min=args.issue_from_min,
        issue_every_min=args.issue_every_min,
    )


def bench_skill(args: argparse.Namespace) -> dict[str, Any]:
    case = case_from_args(args)
    print(f"forecast skill ({args.truth} truth, 10x10 grid):")
    result = run_skill(case, truth_kind=args.truth)
    print_report(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.skill", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = bench_skill(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
