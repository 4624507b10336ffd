"""Run the benchmark grid on the peer simulators: UXsim and Eclipse SUMO.

Both are optional benchmark dependencies (``pip install -r requirements-bench.txt``),
imported only inside the function that needs them. Each runner takes the
:class:`bench.grid.Grid` and :class:`bench.grid.Trips` built by ``bench.grid``,
so every simulator moves the same vehicles, departing at the same seconds, over
the same fixed routes, through the same fixed-time signal plans.

Measures (identical for every peer; see :func:`summarise`)
    travel time = arrival at the end of the last route link − *scheduled*
    departure (so time spent waiting to enter the network counts); delay =
    travel time − free-flow time of the route (length / free speed). Means and
    totals are over completed trips only; ``trips_completed`` says how many.

Wall times
    ``wall_s`` is the simulation only (UXsim: ``exec_simulation``; SUMO: the
    simulation loop as SUMO reports it in ``--statistic-output``).
    ``wall_total_s`` adds building the peer's model (UXsim: the ``World`` and its
    nodes, links, vehicles; SUMO: the ``sumo`` process from start to exit, which
    loads the network and routes and writes tripinfo), and ``prepare_s`` is the
    one-off input preparation outside that (SUMO: writing XML and netconvert).
    ``cpu_total_s`` is the processor time of the same span as ``wall_total_s``
    (UXsim also gives ``cpu_s`` for the simulation alone): on a shared machine
    it moves less than wall time does.

Every run ends once all trips are completed (UXsim: or at ``horizon_s``,
two hours by default; SUMO stops by itself, and teleports a vehicle stuck for
300 s, so it always does).

Peer settings, chosen to give each peer the grid's road and signal data and
otherwise its own defaults: see :func:`run_uxsim` and :func:`write_sumo_routes`.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.grid import AXIS_EW, AXIS_NS, Grid, Trips

DEFAULT_HORIZON_S = 7200.0
"""Cap on simulated time: the trips depart within the first hour; the second drains them."""

VEHICLE_LENGTH_M = 5.0
"""Vehicle length for SUMO; with ``minGap`` it sets the jam spacing (1 / jam density)."""


def summarise(
    trips: Trips,
    completed: npt.NDArray[np.bool_],
    travel_time_s: npt.NDArray[np.float64],
) -> dict[str, Any]:
    """Common measures over completed trips (travel times aligned with ``trips``).

    Parameters
    ----------
    trips
        The trips that were simulated.
    completed
        True where the trip reached its destination within the horizon.
    travel_time_s
        Arrival − scheduled departure; ignored where not ``completed``.
    """
    if completed.shape != (len(trips),) or travel_time_s.shape != (len(trips),):
        raise ValueError("'completed' and 'travel_time_s' should have one entry per trip")
    tt = travel_time_s[completed]
    delay = tt - trips.free_flow_time_s[completed]
    n = int(completed.sum())
    return {
        "trips": len(trips),
        "trips_completed": n,
        "mean_travel_time_s": float(tt.mean()) if n else float("nan"),
        "mean_free_flow_time_s": float(trips.free_flow_time_s[completed].mean())
        if n
        else float("nan"),
        "mean_delay_s": float(delay.mean()) if n else float("nan"),
        "total_delay_vehh": float(delay.sum() / 3600.0),
        "total_travel_time_vehh": float(tt.sum() / 3600.0),
    }


# ----------------------------------------------------------------------------- UXsim


def run_uxsim(
    grid: Grid,
    trips: Trips,
    cpp: bool,
    *,
    deltan: int = 1,
    horizon_s: float = DEFAULT_HORIZON_S,
    chunk_s: float = 300.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Simulate ``trips`` on ``grid`` with UXsim (Python engine, or C++ with ``cpp=True``).

    Parameters
    ----------
    grid, trips
        From :func:`bench.grid.make_grid` and :func:`bench.grid.make_trips`.
    cpp
        Use UXsim's compiled engine (``World(cpp=True)``).
    deltan
        UXsim platoon size; the time step is ``deltan`` seconds. With 1 (the
        default) every trip is one UXsim vehicle. With ``k > 1`` every k-th trip
        is simulated as a platoon of k vehicles (the same demand and O-D mix, a
        1/k sample of the trips), and every signal phase is rounded to whole
        steps (with k = 5: 25 s green, 5 s intergreen).
    horizon_s
        Stop here even if trips are still on the network.
    chunk_s
        The run advances in chunks of this length and stops after the chunk in
        which the last trip arrives.
    seed
        UXsim's own random seed (it randomises merge order at nodes).

    Returns
    -------
    dict
        :func:`summarise` measures plus ``peer``, ``version``, ``mode``,
        ``wall_s``, ``wall_total_s``, ``simulated_s``, ``deltan``.

    Notes
    -----
    Links get the grid's free speed and jam density; UXsim's own diagram
    (reaction time 1 s) would carry 2,430 veh/h at that jam density, so each
    link's outflow is capped at the grid's capacity (``capacity_out``). Signals:
    east–west links are ``signal_group`` 0, north–south 2, and the node plan is
    ``[green, intergreen, green, intergreen]`` less one step each, because UXsim
    holds a phase one step longer than given (checked: 27/3/27/3 s phases with
    ``deltan=1``, in both engines). Routes are fixed with ``links_prefer``
    (UXsim still runs its route-choice update; at every node the preferred set
    leaves one choice). UXsim has no conflict model inside a junction: turning
    vehicles do not yield to opposing traffic. Vehicle logging is off.
    """
    if deltan < 1:
        raise ValueError(f"'deltan' should be >= 1, got {deltan!r}")
    import uxsim

    t0, c0 = time.perf_counter(), time.process_time()
    world = _uxsim_world(grid, trips, cpp=cpp, deltan=deltan, horizon_s=horizon_s, seed=seed)
    t_built, c_built = time.perf_counter(), time.process_time()
    while True:
        world.exec_simulation(duration_t=chunk_s)
        if not world.check_simulation_ongoing() or not world.VEHICLES_LIVING:
            break
    t_done, c_done = time.perf_counter(), time.process_time()

    sampled = np.arange(0, len(trips), deltan)
    vehicles = list(world.VEHICLES.values())
    completed = np.zeros(len(trips), dtype=bool)
    travel = np.zeros(len(trips))
    for trip, veh in zip(sampled, vehicles, strict=True):
        if veh.state == "end" and veh.travel_time >= 0:
            completed[trip] = True
            # UXsim releases the trip at the start of the step holding its departure
            # second and counts from there: exact when deltan = 1
            travel[trip] = veh.travel_time
    sample_trips = _subset(trips, sampled)
    result = summarise(sample_trips, completed[sampled], travel[sampled])
    if deltan > 1:  # each platoon stands for `deltan` trips
        for key in ("trips", "trips_completed"):
            result[key] *= deltan
        for key in ("total_delay_vehh", "total_travel_time_vehh"):
            result[key] *= deltan
    return {
        "peer": "uxsim",
        "mode": "cpp" if cpp else "python",
        "version": getattr(uxsim, "__version__", metadata.version("uxsim")),
        "deltan": deltan,
        "wall_s": t_done - t_built,
        "wall_total_s": t_done - t0,
        "cpu_s": c_done - c_built,
        "cpu_total_s": c_done - c0,
        "simulated_s": float(world.TIME),
        **result,
    }


def _uxsim_world(
    grid: Grid, trips: Trips, *, cpp: bool, deltan: int, horizon_s: float, seed: int
) -> Any:
    """Build the UXsim ``World`` with nodes, signals, links and route-fixed vehicles."""
    from uxsim import World

    world = World(
        name="venuetwin-bench",
        deltan=deltan,
        reaction_time=1.0,
        tmax=horizon_s,
        print_mode=0,
        save_mode=0,
        show_mode=0,
        random_seed=seed,
        vehicle_logging_timestep_interval=-1,
        cpp=cpp,
    )
    step_s = float(deltan)  # DELTAT = reaction_time * deltan
    plan = grid.signal
    # UXsim holds a phase for `given + step` seconds (it switches once elapsed > given).
    phase_s = [plan.green_s[0], plan.intergreen_s, plan.green_s[1], plan.intergreen_s]
    signal = [max(p - step_s, 0.0) for p in phase_s]
    for node in range(grid.n_nodes):
        world.addNode(
            grid.node_name(node),
            float(grid.node_xy_m[node, 0]),
            float(grid.node_xy_m[node, 1]),
            signal=signal if grid.node_signalised[node] else [0],
            signal_offset=plan.offset_s,
        )
    capacity_vps = grid.capacity_vph_per_lane * grid.lanes / 3600.0
    for link in range(grid.n_links):
        world.addLink(
            grid.link_name(link),
            grid.node_name(grid.link_from[link]),
            grid.node_name(grid.link_to[link]),
            length=float(grid.link_length_m[link]),
            free_flow_speed=grid.free_speed_mps,
            jam_density_per_lane=grid.jam_density_vpkm / 1000.0,
            number_of_lanes=grid.lanes,
            capacity_out=capacity_vps,
            signal_group=[0] if grid.link_axis[link] == AXIS_EW else [2],
        )
    link_names = [grid.link_name(link) for link in range(grid.n_links)]
    for trip in range(0, len(trips), deltan):
        world.addVehicle(
            grid.node_name(trips.origin[trip]),
            grid.node_name(trips.destination[trip]),
            float(trips.depart_s[trip]),
            links_prefer=[link_names[link] for link in trips.routes[trip]],
        )
    return world


def _subset(trips: Trips, index: npt.NDArray[np.int64]) -> Trips:
    return Trips(
        origin=trips.origin[index],
        destination=trips.destination[index],
        depart_s=trips.depart_s[index],
        routes=tuple(trips.routes[i] for i in index),
        free_flow_time_s=trips.free_flow_time_s[index],
        seed=trips.seed,
    )


# ----------------------------------------------------------------------------- SUMO


def run_sumo(
    grid: Grid,
    trips: Trips,
    meso: bool,
    *,
    horizon_s: float | None = None,
    seed: int = 0,
    workdir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Simulate ``trips`` on ``grid`` with Eclipse SUMO (micro, or meso with junction control).

    Parameters
    ----------
    grid, trips
        From :func:`bench.grid.make_grid` and :func:`bench.grid.make_trips`.
    meso
        Run ``--mesosim --meso-junction-control`` instead of the microscopic model.
    horizon_s
        Passed as ``--end`` if given. By default none is given and SUMO stops
        by itself once every vehicle has arrived (its teleporting of vehicles
        stuck for 300 s guarantees that it does); with ``--end`` it would step
        on, idle, to that time.
    seed
        SUMO's ``--seed``.
    workdir
        Where to write the network, routes and outputs (a temporary folder if None).

    Returns
    -------
    dict
        :func:`summarise` measures plus ``peer``, ``version``, ``mode``,
        ``wall_s`` (SUMO's own simulation-loop clock), ``wall_total_s`` (the
        ``sumo`` process), ``prepare_s`` (XML + netconvert), ``simulated_s``,
        ``teleports``.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="venuetwin-sumo-") as tmp:
            return run_sumo(grid, trips, meso, horizon_s=horizon_s, seed=seed, workdir=tmp)
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    net = build_sumo_network(grid, folder)
    routes = write_sumo_routes(grid, trips, folder / "bench.rou.xml")
    prepare_s = time.perf_counter() - t0

    tripinfo, stats = folder / "tripinfo.xml", folder / "stats.xml"
    options = {
        "net-file": net,
        "route-files": routes,
        "step-length": 1,
        "seed": seed,
        "tripinfo-output": tripinfo,
        "statistic-output": stats,
        "no-step-log": "true",
        "no-warnings": "true",
        "duration-log.disable": "true",
    }
    if horizon_s is not None:
        options["end"] = f"{horizon_s:g}"
    if meso:
        options.update({"mesosim": "true", "meso-junction-control": "true"})
    args = _command("sumo", options)
    t1, cpu1 = time.perf_counter(), _children_cpu_s()
    done = subprocess.run(args, capture_output=True, text=True, env=_sumo_env(), check=False)
    wall_total_s = time.perf_counter() - t1
    cpu_total_s = _children_cpu_s() - cpu1
    if done.returncode != 0:
        raise RuntimeError(f"sumo exited with {done.returncode}: {done.stderr.strip()[-2000:]}")

    completed, travel = _read_tripinfo(tripinfo, trips)
    perf = _read_statistics(stats)
    return {
        "peer": "sumo",
        "mode": "meso" if meso else "micro",
        "version": metadata.version("eclipse-sumo"),
        "wall_s": perf["wall_s"],
        "wall_total_s": wall_total_s,
        "cpu_total_s": cpu_total_s,
        "prepare_s": prepare_s,
        "simulated_s": perf["simulated_s"],
        "teleports": perf["teleports"],
        **summarise(trips, completed, travel),
    }


def build_sumo_network(grid: Grid, folder: Path) -> Path:
    """Write ``.nod``/``.edg`` files, run netconvert, and set every signal to ``grid.signal``.

    netconvert builds the junctions and connections (no U-turns); each
    signalised node's ``tlLogic`` is then rewritten to the grid's plan: phase 0
    gives green to the east–west approaches (left turns permissive, ``g``), then
    amber for the intergreen, then the same for north–south. The other nodes are
    unsignalised priority junctions.
    """
    nodes, edges, net = (
        folder / "bench.nod.xml",
        folder / "bench.edg.xml",
        folder / "bench.net.xml",
    )
    with nodes.open("w") as f:
        f.write("<nodes>\n")
        for node in range(grid.n_nodes):
            kind = "traffic_light" if grid.node_signalised[node] else "priority"
            x, y = grid.node_xy_m[node]
            f.write(f'  <node id="{grid.node_name(node)}" x="{x:g}" y="{y:g}" type="{kind}"/>\n')
        f.write("</nodes>\n")
    with edges.open("w") as f:
        f.write("<edges>\n")
        for link in range(grid.n_links):
            f.write(
                f'  <edge id="{grid.link_name(link)}" from="{grid.node_name(grid.link_from[link])}"'
                f' to="{grid.node_name(grid.link_to[link])}" numLanes="{grid.lanes}"'
                f' speed="{grid.free_speed_mps:.4f}"/>\n'
            )
        f.write("</edges>\n")
    options = {
        "node-files": nodes,
        "edge-files": edges,
        "output-file": net,
        "no-turnarounds": "true",
        "tls.default-type": "static",
        "no-warnings": "true",
    }
    args = _command("netconvert", options)
    done = subprocess.run(args, capture_output=True, text=True, env=_sumo_env(), check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"netconvert exited with {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    _set_signal_plans(grid, net)
    return net


def _set_signal_plans(grid: Grid, net: Path) -> None:
    """Replace netconvert's default programs with the grid's two-phase plan."""
    tree = ET.parse(net)
    root = tree.getroot()
    edge_axis = {grid.link_name(link): int(grid.link_axis[link]) for link in range(grid.n_links)}
    links: dict[str, dict[int, tuple[int, str]]] = {}
    for conn in root.iter("connection"):
        tl = conn.get("tl")
        if tl is not None:
            links.setdefault(tl, {})[int(conn.get("linkIndex"))] = (
                edge_axis[conn.get("from")],
                conn.get("dir"),
            )
    plan = grid.signal
    for logic in root.iter("tlLogic"):
        served = links[logic.get("id")]
        size = max(served) + 1
        for phase in list(logic):
            logic.remove(phase)
        for axis, green_s in (
            (AXIS_EW, plan.green_s[0]),
            (AXIS_NS, plan.green_s[1]),
        ):
            green = ["r"] * size
            amber = ["r"] * size
            for index, (link_axis, direction) in served.items():
                if link_axis == axis:
                    green[index] = "g" if direction in ("l", "L") else "G"
                    amber[index] = "y"
            ET.SubElement(logic, "phase", duration=f"{green_s:g}", state="".join(green))
            ET.SubElement(logic, "phase", duration=f"{plan.intergreen_s:g}", state="".join(amber))
        logic.set("offset", f"{plan.offset_s:g}")
        logic.set("type", "static")
    tree.write(net, encoding="utf-8", xml_declaration=True)


def write_sumo_routes(grid: Grid, trips: Trips, path: Path) -> Path:
    """Write one vehicle type and every trip as a vehicle with its explicit route.

    The type matches the grid's triangular diagram: jam spacing ``length + minGap``
    = 1 / jam density, free speed = the edge speed exactly (``speedFactor`` 1,
    no deviation), and the car-following gap ``tau`` chosen so that the
    steady-state flow at free speed equals the capacity per lane.
    Vehicles enter at the start of the first edge at the highest safe speed and
    arrive at the end of the last edge.
    """
    spacing_m = 1000.0 / grid.jam_density_vpkm
    min_gap_m = spacing_m - VEHICLE_LENGTH_M
    if min_gap_m <= 0:
        raise ValueError(
            f"jam density {grid.jam_density_vpkm} veh/km leaves no gap for {VEHICLE_LENGTH_M} m cars"
        )
    tau_s = 3600.0 / grid.capacity_vph_per_lane - spacing_m / grid.free_speed_mps
    names = [grid.link_name(link) for link in range(grid.n_links)]
    with path.open("w") as f:
        f.write("<routes>\n")
        f.write(
            f'  <vType id="car" length="{VEHICLE_LENGTH_M:g}" minGap="{min_gap_m:.4f}" tau="{tau_s:.4f}"'
            f' speedFactor="1" speedDev="0" maxSpeed="{grid.free_speed_mps * 1.5:.4f}"/>\n'
        )
        for i in range(len(trips)):
            edges = " ".join(names[link] for link in trips.routes[i])
            f.write(
                f'  <vehicle id="t{i}" type="car" depart="{trips.depart_s[i]}" departLane="best"'
                f' departPos="base" departSpeed="max" arrivalPos="max">\n'
                f'    <route edges="{edges}"/>\n  </vehicle>\n'
            )
        f.write("</routes>\n")
    return path


def _read_tripinfo(
    path: Path, trips: Trips
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    completed = np.zeros(len(trips), dtype=bool)
    travel = np.zeros(len(trips))
    for info in ET.parse(path).getroot().iter("tripinfo"):
        trip = int(info.get("id")[1:])
        arrival = float(info.get("arrival"))
        if arrival >= 0:
            completed[trip] = True
            travel[trip] = arrival - float(trips.depart_s[trip])
    return completed, travel


def _read_statistics(path: Path) -> dict[str, float]:
    root = ET.parse(path).getroot()
    perf = root.find("performance")
    teleports = root.find("teleports")
    return {
        "wall_s": float(perf.get("clockDuration")),
        "simulated_s": float(perf.get("end", "nan")),
        "teleports": int(teleports.get("total")) if teleports is not None else 0,
    }


def _sumo_home() -> Path:
    import sumo

    return Path(sumo.SUMO_HOME)


def _sumo_binary(name: str) -> str:
    path = _sumo_home() / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"'{name}' not found in {path.parent}; pip install eclipse-sumo")
    return str(path)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(binary: str, options: dict[str, Any]) -> list[str]:
    return [
        _sumo_binary(binary),
        *(part for key, value in options.items() for part in (f"--{key}", str(value))),
    ]


def _sumo_env() -> dict[str, str]:
    return {**os.environ, "SUMO_HOME": str(_sumo_home())}


PEER_CONFIGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("uxsim python", "uxsim", {"cpp": False}),
    ("uxsim cpp", "uxsim", {"cpp": True}),
    ("uxsim python deltan=5", "uxsim", {"cpp": False, "deltan": 5}),
    ("uxsim cpp deltan=5", "uxsim", {"cpp": True, "deltan": 5}),
    ("sumo micro", "sumo", {"meso": False}),
    ("sumo meso", "sumo", {"meso": True}),
)
"""Label, peer and keyword arguments of every configuration :func:`run_peers` knows.

The first four are UXsim; ``deltan=1`` runs exactly the benchmark trips, ``deltan=5``
(UXsim's default platoon size, and its fastest setting) a 1-in-5 sample of them.
"""

REFERENCE = "sumo micro"
"""The configuration the others are compared with (:func:`relative_to`)."""


def run_peers(
    grid: Grid,
    trips: Trips,
    *,
    labels: list[str] | None = None,
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """Run peer configurations and keep, for each, the run with the least ``wall_s``.

    Parameters
    ----------
    labels
        Labels from :data:`PEER_CONFIGS` to run (all by default).
    repeats
        Runs per configuration; the machine may be shared, so the fastest run
        is reported (the measures are the same in every run: each peer is
        deterministic for its seed).

    Returns
    -------
    list of dict
        One dict per configuration with a ``label``; a configuration that could
        not run has ``error`` (the exception's type and message) instead of measures.
    """
    if repeats < 1:
        raise ValueError(f"'repeats' should be >= 1, got {repeats!r}")
    known = {label for label, _, _ in PEER_CONFIGS}
    unknown = sorted(set(labels or ()) - known)
    if unknown:
        raise ValueError(f"'labels' should be among {sorted(known)}, got {unknown}")
    results = []
    for label, peer, kwargs in PEER_CONFIGS:
        if labels is not None and label not in labels:
            continue
        run = run_uxsim if peer == "uxsim" else run_sumo
        try:
            best = min(
                (run(grid, trips, **kwargs) for _ in range(repeats)),
                key=lambda r: r["wall_s"],
            )
        except Exception as error:  # noqa: BLE001 - a missing or broken peer must not stop the others
            results.append(
                {
                    "label": label,
                    "peer": peer,
                    "error": f"{type(error).__name__}: {error}",
                }
            )
            continue
        results.append({"label": label, "repeats": repeats, **best})
    return results


def relative_to(result: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Wall-time ratio and differences in mean travel time and total delay against ``reference``.

    Returns
    -------
    dict
        ``wall_ratio`` (result / reference, < 1 is faster),
        ``mean_travel_time_diff_pct`` and ``total_delay_diff_pct``
        (100 × (result − reference) / reference).
    """

    def pct(key: str) -> float:
        return 100.0 * (result[key] - reference[key]) / reference[key]

    return {
        "wall_ratio": result["wall_s"] / reference["wall_s"],
        "mean_travel_time_diff_pct": pct("mean_travel_time_s"),
        "total_delay_diff_pct": pct("total_delay_vehh"),
    }


def format_table(results: list[dict[str, Any]], reference: str = REFERENCE) -> str:
    """Plain-text table of :func:`run_peers` results, with ratios against ``reference``."""
    ref = next((r for r in results if r.get("label") == reference and "error" not in r), None)
    head = (
        f"{'peer':<22} {'wall s':>8} {'total s':>8} {'done':>6} {'mean TT s':>10} "
        f"{'delay veh-h':>12} {'wall/ref':>9} {'TT diff':>8} {'delay diff':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(f"{r['label']:<22} FAILED {r['error']}")
            continue
        rel = relative_to(r, ref) if ref is not None else None
        tail = (
            f"{rel['wall_ratio']:>9.3f} {rel['mean_travel_time_diff_pct']:>+7.1f}% "
            f"{rel['total_delay_diff_pct']:>+9.1f}%"
            if rel
            else ""
        )
        lines.append(
            f"{r['label']:<22} {r['wall_s']:>8.3f} {r['wall_total_s']:>8.3f} {r['trips_completed']:>6d} "
            f"{r['mean_travel_time_s']:>10.1f} {r['total_delay_vehh']:>12.1f} {tail}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.peers [--repeats N] [--json PATH] [LABEL ...]``: run the peers alone."""
    import argparse
    import json

    from bench.grid import SIGNALS_AT, make_grid, make_trips

    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=main.__doc__)
    parser.add_argument(
        "labels",
        nargs="*",
        help=f"configurations to run, from {[c[0] for c in PEER_CONFIGS]}",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs per configuration; the fastest is kept",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--signals-at", choices=SIGNALS_AT, default="interior")
    parser.add_argument("--trips", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=2024, help="trip seed")
    args = parser.parse_args(argv)

    grid = make_grid(signals_at=args.signals_at)
    trips = make_trips(grid, args.trips, seed=args.seed)
    results = run_peers(grid, trips, labels=args.labels or None, repeats=args.repeats)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "grid": f"10x10, 200 m, 1 lane, signals at {args.signals_at}",
                    "trips": len(trips),
                    "seed": trips.seed,
                    "peers": results,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
