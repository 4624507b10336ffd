"""Operations commands of ``python -m twin``: corridor, whatif, checkpoints."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from twin.errors import ActionError

if TYPE_CHECKING:
    from pathlib import Path

    from twin.engine import Engine


def _add_common(cmd: argparse.ArgumentParser, at_default: str) -> None:
    from twin.cli.main import _add_scenario_options

    _add_scenario_options(cmd)
    cmd.add_argument("--at", default=at_default, help="time of the day, HH:MM")
    cmd.add_argument("--warmup", type=int, default=120, help="minutes simulated before --at")


# ------------------------------------------------------------------ corridor
def add_corridor(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "corridor", help="plan an ambulance green corridor and estimate its ETAs"
    )
    _add_common(cmd, "21:40")
    cmd.add_argument("--from", dest="origin", required=True, help="incident LAT,LON (degrees)")
    cmd.add_argument(
        "--to", dest="hospital", default=None, help="hospital id (default: nearest by time)"
    )
    cmd.set_defaults(run=run_corridor)


def parse_lat_lon(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError as error:
        raise ActionError(f"--from must be LAT,LON in degrees, got {text!r}") from error
    return lat, lon


def run_corridor(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.cli.main import engine_at, write_json
    from twin.models import corridor

    lat, lon = parse_lat_lon(args.origin)
    engine = engine_at(args.scenario, args.seed, args.at, args.warmup)
    plan = corridor.plan_corridor(
        engine, corridor_id="cli", lat=lat, lon=lon, hospital_id=args.hospital
    )
    result = corridor.evaluate(engine, plan)
    names = corridor.hospitals(engine)
    print(
        f"incident {lat:.5f}, {lon:.5f} at {args.at} -> {names[plan.hospital_id]['name']} ({plan.hospital_id})"
    )
    print(
        f"route: {len(plan.route)} links, {plan.distance_m / 1000:.2f} km, {len(plan.timeline)} signals; "
        f"planned in {plan.compute_ms:.0f} ms"
    )
    print(
        f"ETA without corridor: {_minutes(result['eta_without_s'])}   with corridor: "
        f"{_minutes(result['eta_with_s'])}   saved: {_minutes(result['time_saved_s'])}"
    )
    print(f"delay to other traffic: {result['cross_traffic_delay_vehh']:.2f} veh·h")
    print(
        f"{'junction':>8}  {'phase':>5}  {'pre-empt from':>13}  {'until':>8}  {'ambulance passes':>16}"
    )
    for row in result["timeline"]:
        passed = _hms(row["passed_s"]) if row["passed_s"] is not None else "-"
        print(
            f"{row['node_id']:>8}  {row['phase']:>5}  {_hms(row['start_s']):>13}  {_hms(row['end_s']):>8}  {passed:>16}"
        )
    write_json(args.json, {"plan": {k: v for k, v in vars(plan).items()}, "evaluation": result})
    return 0


def _minutes(seconds: float) -> str:
    return "unreachable" if seconds == float("inf") else f"{seconds / 60:.1f} min"


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ------------------------------------------------------------------ whatif
def add_whatif(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("whatif", help="compare a candidate signal plan with the current one")
    _add_common(cmd, "18:30")
    cmd.add_argument("--junction", type=int, required=True, help="node_id of a signalised junction")
    cmd.add_argument("--cycle", type=float, help="cycle, s (with --greens)")
    cmd.add_argument("--greens", help="greens per phase, s, comma-separated (with --cycle)")
    cmd.add_argument("--offset", type=float, default=None, help="offset, s (default: keep)")
    cmd.add_argument("--suggest", action="store_true", help="use Webster's plan from current flows")
    cmd.set_defaults(run=run_whatif)


def run_whatif(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.actions import SetSignalPlan
    from twin.cli.main import engine_at, road_name, write_json
    from twin.service.whatif import suggest_plan, what_if

    engine = engine_at(args.scenario, args.seed, args.at, args.warmup)
    current = engine.state.plans.plan_of(args.junction)
    if args.suggest:
        candidate = suggest_plan(engine, args.junction)
    else:
        if args.cycle is None or args.greens is None:
            raise ActionError("give --cycle and --greens, or --suggest")
        try:
            greens = tuple(float(g) for g in args.greens.split(","))
        except ValueError as error:
            raise ActionError(
                f"--greens must be numbers separated by commas, got {args.greens!r}"
            ) from error
        offset = current["offset_s"] if args.offset is None else args.offset
        candidate = SetSignalPlan(args.junction, args.cycle, greens, offset)
    result = what_if(engine, [candidate])
    print(
        f"junction {args.junction} at {args.at}: current cycle {current['cycle_s']:g} s greens "
        f"{current['greens_s']}  ->  candidate cycle {candidate.cycle_s:g} s greens {list(candidate.greens_s)}"
    )
    print(
        f"{'ahead':>6}  {'delay veh·h (cur → cand, Δ)':>32}  {'queue m (Δ)':>12}  {'junction delay s/veh (Δ)':>24}"
    )
    names = engine.scenario.links.get("name")
    for mark, diff in result["marks"].items():
        t = diff["totals"]
        print(
            f"{mark // 60:>4} m  {t['current']['delay_vehh']:>10.1f} → {t['candidate']['delay_vehh']:>8.1f} "
            f"({t['difference']['delay_vehh']:+8.1f})  {t['difference']['queue_m']:>+12.0f}  "
            f"{diff['junctions']['delay_s_per_veh'][args.junction]:>+24.1f}"
        )
    last = result["marks"][max(result["marks"])]["links"]["delay_rate_veh"]
    changed = last.argsort()
    print(
        "roads most improved: "
        + ", ".join(f"{road_name(names, int(i))} ({last[i]:+.1f} veh)" for i in changed[:3])
    )
    print(
        "roads most worsened: "
        + ", ".join(f"{road_name(names, int(i))} ({last[i]:+.1f} veh)" for i in changed[::-1][:3])
    )
    write_json(
        args.json,
        {
            "junction": args.junction,
            "current": current,
            "candidate": vars(candidate),
            "marks": {m: {"totals": d["totals"]} for m, d in result["marks"].items()},
        },
    )
    return 0


# ------------------------------------------------------------------ checkpoints
def add_checkpoints(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("checkpoints", help="print the security checkpoint table at a time")
    _add_common(cmd, "19:00")
    cmd.add_argument("--target-wait", type=float, default=10.0, help="wait target, minutes")
    cmd.set_defaults(run=run_checkpoints)


def run_checkpoints(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.cli.main import write_json
    from twin.crowd import pedestrians

    engine = engine_at(args.scenario, args.seed, args.at, args.warmup)
    if engine.pedestrians is None:
        raise ActionError("this scenario has no venues, so no checkpoints")
    rows = pedestrians.checkpoint_table(engine, target_wait_s=args.target_wait * 60.0)
    print(
        f"checkpoints at {args.at} (wait target {args.target_wait:g} min; lanes face+manual; "
        "arrivals by road are screened at a park gate, then at the venue entrance)"
    )
    print(
        f"{'checkpoint':<44} {'kind':<5} {'id':>2} {'lanes':>7} {'arr/5min':>8} {'thru/5min':>9} {'queue':>6} "
        f"{'wait now':>8} {'+15':>6} {'+30':>6} {'advise':>7}  status"
    )
    for r in rows:
        kind = "gate" if r["kind"] == "park_gate" else "venue"
        print(
            f"{r['name'][:44]:<44} {kind:<5} {r['checkpoint_id']:>2} {r['lanes_face']:>3}+{r['lanes_manual']:<3} "
            f"{r['arrivals_5min']:>8.0f} {r['throughput_5min']:>9.0f} {r['queue_persons']:>6.0f} "
            f"{r['wait_now_s'] / 60:>6.1f} m {r['wait_15_s'] / 60:>4.1f} m {r['wait_30_s'] / 60:>4.1f} m "
            f"{r['recommended_face']:>3}+{r['recommended_manual']:<3}  {_status_text(r)}"
        )
    write_json(args.json, {"at": args.at, "checkpoints": rows})
    return 0


def _status_text(row: dict[str, Any]) -> str:
    """The status word, or when a shut entrance's doors open ("doors 18:30")."""
    from twin.clock_text import hhmm

    return (
        f"doors {hhmm(row['doors_open_at_s'])}"
        if row["doors_open_at_s"] is not None
        else row["status"]
    )


def engine_at(scenario_path: Path, seed: int, at: str, warmup_min: int) -> Engine:
    from twin.cli.main import engine_at as run_to

    return run_to(scenario_path, seed, at, warmup_min)


COMMANDS = [add_corridor, add_whatif, add_checkpoints]
