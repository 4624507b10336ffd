"""Benchmark of the twin: ``python -m bench [--quick] [--peers] [--json PATH]``.

Prints figures and writes them as JSON (default ``bench/results/twin_bench.json``). Speed is
never asserted in tests; it is measured here. Wall times are the best of ``--repeats`` runs
(the machine may be shared; the best run is the least disturbed one).

1. The bundled scenario: cell-updates per second and wall time of a 60-minute forecast.
2. Synthetic signalised grids of about 10k, 100k and 1M cells with 16 destination zones:
   seconds per simulated hour and per cell (the cost should grow linearly with cells).
3. ``--peers``: the same 10x10 grid and 6,000 trips in UXsim (Python and C++) and Eclipse SUMO
   (micro and meso with junction control), from ``bench/`` (``pip install -r
   requirements-bench.txt``): wall-time ratios and mean travel time / total delay against SUMO
   micro.
4. Green corridor: time to compute a route and its pre-emption plan on the bundled scenario,
   and to estimate both ETAs by forecast.
5. Recordings (``bench/recording.py``): a recorded 7-hour day's size, seek p50/p95 to a random
   minute, the live loop's step time with and without recording, a fork 18:30 to the day's end.
   ``--only recording`` runs this part alone.
6. Feeds (``bench/feeds_bench.py``, ``--only feeds`` alone, written to
   ``bench/results/feeds_bench.json``): checkpoint scans per second through the feed command
   path, and the live loop's time per simulated minute with and without feeds.
7. ``--only skill``: forecast skill against a truth the twin did not see (SUMO micro on the 10x10
   grid with a surge and a lane closure; :mod:`bench.skill`), open loop against assimilated;
   writes ``bench/results/skill.json`` unless ``--json`` says otherwise.
8. ``--only staffing`` (``bench/staffing_bench.py``, written to
   ``bench/results/staffing_bench.json``): checkpoint staffing on the bundled day from 17:00 and
   18:00, the worst wait under the default lanes, today's advice and the optimised plan, and the
   fewest staff keeping every wait under 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from twin.engine import Engine
from twin.io.synthetic import grid_scenario, od_demand

SCENARIO = Path("data/seoul_olympic_park")
RESULTS = Path("bench/results/twin_bench.json")
GRID_BLOCK_M = 200.0
GRID_DT_S = GRID_BLOCK_M / (50.0 / 3.6) / 3  # three cells per block at free speed
# goals of issue 23 (speed), printed and written beside the figures
FORECAST_GOAL_S = 0.15  # 60-min forecast of the bundled day at 18:30, with pedestrians
ROUTING_1M_GOAL_US = 30.0  # reactive routing at 1M cells, µs per cell-hour
UXSIM_RATIO_GOAL = 0.5  # twin wall / UXsim C++ wall on the 10x10 race, fixed routes
DELTAN_RATIO_GOAL = 2.0  # twin wall / UXsim C++ deltan=5 wall
TRAVEL_TIME_GOAL = 0.05  # |mean travel time / SUMO micro's - 1|


def best_of(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Smallest wall time (s) of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def best_cpu_of(repeats: int, run: Callable[[], Any]) -> tuple[float, float]:
    """Smallest wall time (s) and smallest CPU time of this process (s) of ``repeats`` calls.

    On a shared machine the CPU time is the steadier figure: waiting for a core adds wall
    time, not CPU time (cache and memory contention still add to both).
    """
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def load_1min() -> float:
    """The machine's load average over the last minute (runnable processes; 2 = both cores busy
    on this 2-core machine): printed beside each figure, since other work slows it."""
    return os.getloadavg()[0]


def against_goal(value: float, goal: float, *, unit: str = "s") -> dict[str, Any]:
    """A figure beside its goal (issue 23): ``value / goal`` (<= 1 meets it) and the load."""
    return {
        "value": value,
        "goal": goal,
        "unit": unit,
        "ratio_to_goal": value / goal,
        "met": bool(value <= goal),
        "load_1min": load_1min(),
    }


def goal_text(row: dict[str, Any]) -> str:
    """``goal <= 0.15 s: 3.6x over`` / ``goal met``, and the load, for printed lines."""
    verdict = "met" if row["met"] else f"{row['ratio_to_goal']:.2f}x the goal"
    return f"goal <= {row['goal']:g} {row['unit']}: {verdict}; load {row['load_1min']:.1f}"


# ---------------------------------------------------------------- bundled scenario
def bench_scenario(repeats: int) -> dict[str, Any]:
    from twin.scenario import load

    scenario = load(SCENARIO)
    engine = Engine(scenario, start_s=18 * 3600)
    engine.run(18.5 * 3600)
    engine.forecast(900.0)  # compile and warm caches
    load = load_1min()
    wall, cpu = best_cpu_of(repeats, lambda: engine.forecast(3600.0))
    traffic_wall, traffic_cpu = best_cpu_of(repeats, lambda: engine.forecast(3600.0, crowd=False))
    steps = 3600.0 / engine.dt_s
    return {
        "load_1min_before": load,
        "forecast_60min_goal": against_goal(wall, FORECAST_GOAL_S),
        "forecast_60min_cpu_s": cpu,
        "forecast_60min_traffic_only_cpu_s": traffic_cpu,
        "forecast_60min_traffic_only_s": traffic_wall,
        "cells": engine.net.n_cells,
        "destinations": len(engine.dest_nodes),
        "movements": len(engine.net.mv_from_link),
        "dt_s": engine.dt_s,
        "forecast_60min_s": wall,
        "cell_updates_per_s": engine.net.n_cells * steps / traffic_wall,
        "cell_destination_updates_per_s": engine.net.n_cells
        * len(engine.dest_nodes)
        * steps
        / traffic_wall,
    }


# ---------------------------------------------------------------- scaling
def grid_for_cells(target_cells: int) -> tuple[int, Any]:
    """A square grid with about ``target_cells`` cells (3 per 200 m block) and 16 zones."""
    rows = int(round((1 + np.sqrt(1 + target_cells / 3.0)) / 2))
    scenario = grid_scenario(
        rows, rows, block_m=GRID_BLOCK_M, dt_s=GRID_DT_S, zones_at="boundary", n_zones=16
    )
    return rows, scenario


def bench_scaling(sizes: list[int], horizon_s: float, repeats: int) -> list[dict[str, Any]]:
    """Seconds per simulated hour on growing grids, with reactive routing (every 60 s) and with
    the routes held fixed: the CTM step is linear in cells; a route update (Dijkstra per
    destination) grows as cells x log(cells)."""
    rows_out = []
    for target in sizes:
        rows, scenario = grid_for_cells(target)
        n = len(scenario.zones)
        trips = [(o, d, 40.0, 0.0, 7200.0) for o in range(n) for d in range(n) if o != d]
        started = time.perf_counter()
        engine = Engine(scenario, demand=od_demand(n, trips))
        build_s = time.perf_counter() - started
        engine.step(60.0)
        wall, _ = best_of(repeats, lambda e=engine: e.forecast(horizon_s, marks_s=(horizon_s,)))
        fixed, _ = best_of(repeats, lambda e=engine: _run_fixed_routes(e, horizon_s))
        per_hour, fixed_per_hour = wall * 3600.0 / horizon_s, fixed * 3600.0 / horizon_s
        rows_out.append(
            {
                "grid": f"{rows}x{rows}",
                "cells": engine.net.n_cells,
                "build_s": build_s,
                "horizon_s": horizon_s,
                "wall_s": wall,
                "s_per_sim_hour": per_hour,
                "us_per_cell_hour": per_hour / engine.net.n_cells * 1e6,
                "fixed_routes_s_per_sim_hour": fixed_per_hour,
                "fixed_routes_us_per_cell_hour": fixed_per_hour / engine.net.n_cells * 1e6,
            }
        )
        row = rows_out[-1]
        if engine.net.n_cells >= 500_000:  # the 1M-cell city of issue 23
            row["reactive_goal"] = against_goal(
                row["us_per_cell_hour"], ROUTING_1M_GOAL_US, unit="µs/cell-hour"
            )
        print(
            f"  {row['grid']:>9}  {engine.net.n_cells:>9,} cells  build {build_s:6.2f} s  "
            f"{per_hour:8.2f} s per simulated hour ({row['us_per_cell_hour']:6.1f} µs/cell/h); "
            f"routes fixed {fixed_per_hour:8.2f} s ({row['fixed_routes_us_per_cell_hour']:6.1f} µs/cell/h)"
        )
        if "reactive_goal" in row:
            print(f"    reactive routing at {rows}x{rows}: {goal_text(row['reactive_goal'])}")
    return rows_out


def _run_fixed_routes(engine: Engine, horizon_s: float) -> None:
    """Run a fork of ``engine`` for ``horizon_s`` keeping its current next-hop splits."""
    future = engine.fork()
    future.route_update_s = future.state.next_route_update_s = float("inf")
    future.run(future.time_s + horizon_s)


# ---------------------------------------------------------------- peers
TWIN_FIXED = "twin, fixed routes"
TWIN_REACTIVE = "twin, reactive routes"


def run_twin_on_grid(
    grid_trips: Any, signals_at: str, *, route_update_s: float = 60.0
) -> dict[str, Any]:
    """The twin on the peers' grid and trips: O-D counts per minute as rates, run to the end.

    ``route_update_s=inf`` keeps the free-flow fastest next hops of the start, as the peers
    keep each trip's free-flow route; the default re-routes every minute (the twin's default).
    """
    _, trips = grid_trips
    scenario = grid_scenario(
        10,
        10,
        block_m=GRID_BLOCK_M,
        dt_s=GRID_DT_S,
        zones_at="all",
        signal_min_legs=3 if signals_at == "junctions" else 4,
    )
    counts = trips.od_counts(100, bin_s=60.0)
    rows = [
        (o, d, float(c) * 60.0, k * 60.0, (k + 1) * 60.0)
        for k, o, d in np.argwhere(counts)
        for c in [counts[k, o, d]]
    ]
    demand = od_demand(100, rows, bin_s=60.0)
    engine = Engine(scenario, demand=demand, start_s=0.0, route_update_s=route_update_s)
    started = time.perf_counter()
    engine.run(3600.0)
    while engine.state.vehicles.sum() > 0.5 and engine.time_s < 4 * 3600:
        engine.step(60.0)
    wall = time.perf_counter() - started
    n_trips, vehicle_s = engine.state.exited_veh, engine.state.vehicle_s
    mean_tt = vehicle_s / n_trips
    return {
        "wall_s": wall,
        "trips_completed": n_trips,
        "mean_travel_time_s": mean_tt,
        "total_delay_vehh": (vehicle_s - n_trips * trips.free_flow_time_s.mean()) / 3600.0,
    }


def bench_peers(repeats: int, signals_at: str) -> dict[str, Any]:
    from bench.grid import make_grid, make_trips
    from bench.peers import run_sumo, run_uxsim

    grid = make_grid(signals_at=signals_at)
    trips = make_trips(grid)
    configs = {
        TWIN_FIXED: lambda: run_twin_on_grid(
            (grid, trips), signals_at, route_update_s=float("inf")
        ),
        TWIN_REACTIVE: lambda: run_twin_on_grid((grid, trips), signals_at),
        "UXsim Python": lambda: run_uxsim(grid, trips, cpp=False),
        "UXsim C++": lambda: run_uxsim(grid, trips, cpp=True),
        "UXsim C++ deltan=5": lambda: run_uxsim(grid, trips, cpp=True, deltan=5),
        "SUMO micro": lambda: run_sumo(grid, trips, meso=False),
        "SUMO meso": lambda: run_sumo(grid, trips, meso=True),
    }
    results = {}
    for name, run in configs.items():
        try:
            best = min(
                (run() for _ in range(repeats if name != "UXsim Python" else 1)),
                key=lambda r: r["wall_s"],
            )
        except Exception as error:  # a missing or broken peer is reported, not fatal
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        results[name] = {
            k: best[k]
            for k in ("wall_s", "trips_completed", "mean_travel_time_s", "total_delay_vehh")
        }
    ref = results.get("SUMO micro", {})
    twin_wall = results[TWIN_FIXED].get("wall_s")  # like for like: every peer keeps fixed routes
    for name, row in results.items():
        if "error" in row:
            print(f"  {name:<20} not run: {row['error']}")
            continue
        if "mean_travel_time_s" in ref:
            row["travel_time_vs_sumo_micro"] = (
                row["mean_travel_time_s"] / ref["mean_travel_time_s"] - 1
            )
            row["delay_vs_sumo_micro"] = row["total_delay_vehh"] / ref["total_delay_vehh"] - 1
        row["wall_ratio_to_twin"] = row["wall_s"] / twin_wall
        row["load_1min"] = load_1min()
        print(
            f"  {name:<20} wall {row['wall_s']:7.3f} s ({row['wall_ratio_to_twin']:6.2f}x twin)  "
            f"trips {row['trips_completed']:7.0f}  mean travel time {row['mean_travel_time_s']:6.1f} s"
            f" ({row.get('travel_time_vs_sumo_micro', float('nan')):+.1%})  delay {row['total_delay_vehh']:6.1f} veh·h"
            f" ({row.get('delay_vs_sumo_micro', float('nan')):+.1%})"
        )
    goals = _peer_goals(results)
    for name, row in goals.items():
        print(f"  goal, {name}: {row['value']:.3f} ({goal_text(row)})")
    return {"signals_at": signals_at, "results": results, "goals": goals}


def _peer_goals(results: dict[str, Any]) -> dict[str, Any]:
    """Issue 23's race goals from one run's results: the twin's wall time over UXsim C++'s
    (fixed routes on both sides) and over UXsim C++ with platoons of 5, and the twin's mean
    travel time against SUMO micro's."""
    twin = results.get(TWIN_FIXED, {})
    goals: dict[str, Any] = {}
    if "wall_s" not in twin:
        return goals
    cpp, platoons = results.get("UXsim C++", {}), results.get("UXsim C++ deltan=5", {})
    if "wall_s" in cpp:
        goals["twin / UXsim C++ wall"] = against_goal(
            twin["wall_s"] / cpp["wall_s"], UXSIM_RATIO_GOAL, unit="x"
        )
    if "wall_s" in platoons:
        goals["twin / UXsim C++ deltan=5 wall"] = against_goal(
            twin["wall_s"] / platoons["wall_s"], DELTAN_RATIO_GOAL, unit="x"
        )
    if "travel_time_vs_sumo_micro" in twin:
        goals["|twin travel time / SUMO micro - 1|"] = against_goal(
            abs(twin["travel_time_vs_sumo_micro"]), TRAVEL_TIME_GOAL, unit=""
        )
    return goals


# ---------------------------------------------------------------- corridor
def bench_corridor(repeats: int) -> dict[str, Any]:
    from twin.models import corridor
    from twin.scenario import load

    engine = Engine(load(SCENARIO), start_s=21 * 3600)
    engine.run(21 * 3600 + 40 * 60)
    incident = (37.5205, 127.1000)  # Songpa-daero near Jamsil, west of the park
    wall, plan = best_of(
        repeats,
        lambda: corridor.plan_corridor(engine, corridor_id="b", lat=incident[0], lon=incident[1]),
    )
    eval_wall, result = best_of(1, lambda: corridor.evaluate(engine, plan))
    print(
        f"  route + pre-emption plan: {wall * 1000:.1f} ms ({len(plan.route)} links, {plan.distance_m / 1000:.2f} km, "
        f"{len(plan.timeline)} signals); ETAs by forecast: {eval_wall:.2f} s "
        f"(without {result['eta_without_s']:.0f} s, with {result['eta_with_s']:.0f} s)"
    )
    return {
        "plan_ms": wall * 1000,
        "evaluate_s": eval_wall,
        "route_links": len(plan.route),
        "signals": len(plan.timeline),
        "eta_without_s": result["eta_without_s"],
        "eta_with_s": result["eta_with_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="10k and 100k cells only, short horizons"
    )
    parser.add_argument(
        "--peers", action="store_true", help="also run UXsim and SUMO on the 10x10 grid"
    )
    parser.add_argument("--signals-at", default="interior", choices=["interior", "junctions"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help=f"default {RESULTS}")
    parser.add_argument(
        "--only",
        choices=["recording", "feeds", "skill", "forks_load", "staffing"],
        help="run one part alone",
    )
    parser.add_argument(
        "--forks",
        type=int,
        default=0,
        help="also time this many forks of 18:30 to the day's end, one after the other "
        "(issue 23 asks for 10 in <= 10 s; default %(default)s: not run)",
    )
    parser.add_argument(
        "--scans",
        type=int,
        default=2_000_000,
        help="scans sent by --only feeds (default %(default)s)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=10_000,
        help="scans per batch (one POST) for --only feeds (default %(default)s)",
    )
    from bench import skill

    skill.add_arguments(parser)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.only == "skill":
        return _write(args.json or skill.RESULTS, skill.bench_skill(args))
    args.json = args.json or RESULTS
    if args.only == "recording":
        return _write(args.json, {"recording": _bench_recording(args.forks)})
    if args.only == "staffing":
        from bench.staffing_bench import bench_staffing

        print("checkpoint staffing on the bundled day (90 min, 5-min slots):")
        path = args.json if args.json != RESULTS else RESULTS.with_name("staffing_bench.json")
        return _write(path, {"staffing": bench_staffing()})
    if args.only == "feeds":
        from bench.feeds_bench import bench_feeds

        path = args.json if args.json != RESULTS else RESULTS.with_name("feeds_bench.json")
        return _write(path, {"feeds": bench_feeds(args.scans, args.batch)})
    if args.only == "forks_load":  # needs a quiet machine: see bench/forks_load.py
        from bench.forks_load import bench_forks_load

        print("forks against the live loop (bundled scenario):")
        path = args.json if args.json != RESULTS else RESULTS.with_name("forks_load.json")
        return _write(path, {"forks_load": bench_forks_load()})
    print("bundled scenario (forecast 60 min from 18:30):")
    figures["scenario"] = bench_scenario(args.repeats)
    s = figures["scenario"]
    print(
        f"  {s['cells']:,} cells x {s['destinations']} destinations, dt {s['dt_s']} s: forecast 60 min "
        f"{s['forecast_60min_s']:.3f} s with pedestrians (CPU {s['forecast_60min_cpu_s']:.3f} s; "
        f"{goal_text(s['forecast_60min_goal'])}), {s['forecast_60min_traffic_only_s']:.3f} s traffic only "
        f"(CPU {s['forecast_60min_traffic_only_cpu_s']:.3f} s), "
        f"{s['cell_updates_per_s'] / 1e6:.2f} M cell-updates/s "
        f"({s['cell_destination_updates_per_s'] / 1e6:.1f} M cell x destination updates/s)"
    )
    print("synthetic signalised grids (16 destinations):")
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    figures["scaling"] = bench_scaling(
        sizes, 600.0 if args.quick else 1800.0, 1 if args.quick else 2
    )
    print("green corridor on the bundled scenario:")
    figures["corridor"] = bench_corridor(args.repeats)
    if args.peers:
        print(f"10x10 grid, 6,000 trips, signals at {args.signals_at} nodes:")
        figures["peers"] = bench_peers(args.repeats, args.signals_at)
    figures["recording"] = _bench_recording(args.forks)
    return _write(args.json, figures)


def _bench_recording(forks_of_one_minute: int = 0) -> dict[str, Any]:
    from bench.recording import bench_recording

    print("recordings (bundled day 16:00-23:00):")
    return bench_recording(forks_of_one_minute=forks_of_one_minute)


def _write(path: Path, figures: dict[str, Any]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=1, default=float))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
