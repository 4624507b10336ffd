"""Command line of the twin: ``python -m twin COMMAND ...`` (see ``--help`` of each command)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.clock_text import hhmm
from twin.errors import ScenarioError, TwinError

if TYPE_CHECKING:
    import pandas as pd
    from tqdm import tqdm

    from twin.engine import Engine, TwinView

REPORT_EVERY_S = 900.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_import, _add_simulate, _add_forecast, *_extra_commands()):
        add(commands)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "users":
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        return int(args.run(args, rest) or 0)
    except (
        TwinError
    ) as error:  # scenario, action, recording and input errors: named, nothing changed
        print(f"error: {error}", file=sys.stderr)
        return 2


def _extra_commands() -> list[
    Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
]:
    """Commands of the operations and users modules (registered here to keep one entry)."""
    from twin.cli import days as cli_days
    from twin.cli import ops as cli_ops
    from twin.cli import staffing as cli_staffing

    return [*cli_ops.COMMANDS, *cli_days.COMMANDS, *cli_staffing.COMMANDS, _add_users]


# ------------------------------------------------------------------ import-osm
def _add_import(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "import-osm", help="build a scenario's network from an OSM XML extract"
    )
    cmd.add_argument("osm", type=Path, help="OSM XML file (roads; buildings optional)")
    cmd.add_argument("--facilities", type=Path, required=True, help="venues/facilities GeoJSON")
    cmd.add_argument("--out", type=Path, required=True, help="scenario folder to write")
    cmd.set_defaults(run=_run_import)


def _run_import(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.io.osm.importer import import_osm

    report = import_osm(args.osm, args.facilities, args.out)
    print(json.dumps(report, indent=2, default=str))
    return 0


# ------------------------------------------------------------------ simulate
def _add_scenario_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--scenario", type=Path, default=Path("data/seoul_olympic_park"))
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--json", type=Path, help="write the full series to this JSON file")


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("simulate", help="run the event day and print KPIs every 15 minutes")
    _add_scenario_options(cmd)
    cmd.add_argument("--start", default="16:00", help="simulated start HH:MM")
    cmd.add_argument("--end", default="23:00", help="simulated end HH:MM")
    cmd.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.scenario import parse_clock

    start_s, end_s = parse_clock(args.start), parse_clock(args.end)
    if end_s <= start_s:
        raise ScenarioError(f"--end {args.end} must be after --start {args.start}")
    engine = make_engine(args.scenario, args.seed, start_s)
    series = [report_row(engine)]
    print_header()
    print_row(series[-1])
    with progress_bar(end_s - start_s) as bar:

        def on_report(_t: float) -> None:
            series.append(report_row(engine))
            bar.write(format_row(series[-1]))
            bar.update(REPORT_EVERY_S)

        engine.run(end_s, progress=on_report, report_every_s=REPORT_EVERY_S)
    write_json(
        args.json,
        {
            "scenario": str(args.scenario),
            "seed": args.seed,
            "series": series,
            "links": link_columns(engine),
        },
    )
    return 0


# ------------------------------------------------------------------ forecast
def _add_forecast(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("forecast", help="predict +15/+30/+60 min from a time of the day")
    _add_scenario_options(cmd)
    cmd.add_argument("--at", default="18:30", help="time to forecast from, HH:MM")
    cmd.add_argument("--warmup", type=int, default=120, help="minutes simulated before --at")
    cmd.add_argument("--horizon", type=int, default=60, help="minutes ahead (15, 30, 60 marks)")
    cmd.set_defaults(run=_run_forecast)


def _run_forecast(args: argparse.Namespace, _rest: list[str]) -> int:
    engine = engine_at(args.scenario, args.seed, args.at, args.warmup)
    views = engine.forecast(args.horizon * 60.0)
    rows = [report_row(engine)] + [report_row(engine, view) for view in views.values()]
    print_header()
    for row in rows:
        print_row(row)
    write_json(args.json, {"scenario": str(args.scenario), "from": args.at, "series": rows})
    return 0


# ------------------------------------------------------------------ users
def _add_users(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "users", help="manage sign-in users (add, list, disable)", add_help=False
    )
    cmd.set_defaults(run=lambda _args, rest: __import__("auth.cli", fromlist=["main"]).main(rest))


# ------------------------------------------------------------------ shared helpers
def make_engine(scenario_path: Path, seed: int, start_s: float) -> Engine:
    from twin.engine import Engine
    from twin.scenario import load

    return Engine(load(scenario_path), seed=seed, start_s=start_s)


def engine_at(scenario_path: Path, seed: int, at: str, warmup_min: int) -> Engine:
    """An engine run from ``at - warmup`` up to ``at``."""
    from twin.scenario import parse_clock

    at_s = parse_clock(at)
    if warmup_min < 0:
        raise ScenarioError(f"--warmup must be >= 0 minutes, got {warmup_min}")
    engine = make_engine(scenario_path, seed, at_s - warmup_min * 60.0)
    with progress_bar(warmup_min * 60.0, desc="warm-up") as bar:
        engine.run(
            at_s, progress=lambda _t: bar.update(REPORT_EVERY_S), report_every_s=REPORT_EVERY_S
        )
    return engine


def report_row(engine: Engine, view: TwinView | None = None) -> dict[str, Any]:
    """KPIs and the five roads with the most delay, for one reporting time."""
    view = view or engine.view()
    names = engine.scenario.links.get("name")
    delay = view.links["delay_rate_veh"]
    worst = delay.argsort()[::-1][:5]
    return {
        "time": hhmm(view.time_s),
        "time_s": view.time_s,
        **{k: round(float(v), 3) for k, v in view.kpis.items()},
        "worst_roads": [
            {
                "link_id": int(i),
                "name": road_name(names, int(i)),
                "delay_vehh_per_h": round(float(delay[i]), 2),
                "speed_kph": round(float(view.links["speed_kph"][i]), 1),
            }
            for i in worst
            if delay[i] > 0
        ],
    }


def road_name(names: pd.Series | None, link_id: int) -> str:
    """The road's name, or ``link N`` for an unnamed one (ramps are often unnamed in OSM)."""
    if names is None:
        return f"link {link_id}"
    name = names.iloc[link_id]
    return (
        str(name)
        if isinstance(name, str) and name and not name.startswith("unnamed")
        else f"link {link_id}"
    )


def link_columns(engine: Engine) -> dict[str, list[float]]:
    view = engine.view()
    return {k: [round(float(x), 3) for x in v] for k, v in view.links.items()}


HEADER = f"{'time':>5}  {'vehicles':>8}  {'waiting':>7}  {'speed km/h':>10}  {'delay veh·h':>11}  worst roads by delay"


def print_header() -> None:
    print(HEADER)


def format_row(row: dict[str, Any]) -> str:
    worst = ", ".join(f"{r['name']} ({r['delay_vehh_per_h']:.1f})" for r in row["worst_roads"])
    return (
        f"{row['time']:>5}  {row['vehicles_in_network']:>8.0f}  {row['vehicles_waiting_to_enter']:>7.0f}  "
        f"{row['mean_speed_kph']:>10.1f}  {row['total_delay_vehh']:>11.1f}  {worst}"
    )


def print_row(row: dict[str, Any]) -> None:
    print(format_row(row))


def progress_bar(total_s: float, desc: str = "simulating") -> tqdm:
    from tqdm import tqdm

    return tqdm(
        total=total_s,
        desc=desc,
        unit="sim-s",
        file=sys.stderr,
        leave=False,
        disable=None,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float))
    tmp.replace(path)
    print(f"wrote {path}", file=sys.stderr)
