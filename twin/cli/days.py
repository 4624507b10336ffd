"""``python -m twin record | replay | fork``: recorded days on the command line.

- ``record``: a headless day with a scripted list of timed actions, written in the live app's
  recording format (with a progress bar);
- ``replay``: the KPIs at a time of a recording, and the operator actions applied so far;
- ``fork``: re-run a recording from a minute with changed decisions and print the original
  and the fork side by side.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import date
from pathlib import Path

from twin.errors import TwinError
from twin.service.recorder import hhmm

RECORDINGS = Path("var/recordings")


def _recording_path(text: str, folder: Path = RECORDINGS) -> Path:
    """A recording file, or a recording id in ``folder`` (ids never leave the folder)."""
    path = Path(text)
    if path.suffix == ".sqlite" or path.exists():
        return path
    if "/" in text or "\\" in text or text.startswith("."):
        raise TwinError(
            f"recording {text!r} is neither a file nor a recording id", code="unknown_recording"
        )
    return folder / f"{text}.sqlite"


# ------------------------------------------------------------------ record
def add_record(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("record", help="record a headless day with scripted operator actions")
    cmd.add_argument("--scenario", type=Path, default=Path("data/seoul_olympic_park"))
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--start", default="17:00", help="simulated start HH:MM")
    cmd.add_argument("--end", default="23:00", help="simulated end HH:MM")
    cmd.add_argument(
        "--warmup-min", type=float, default=10.0, help="minutes simulated before --start"
    )
    cmd.add_argument("--actions", type=Path, help='JSON list of {"at": "18:40", "action": {...}}')
    cmd.add_argument("--out", type=Path, default=RECORDINGS, help="folder of the recording")
    cmd.add_argument("--name", default="", help="name shown in the recordings list")
    cmd.add_argument("--date", default=None, help="the day's date YYYY-MM-DD (default today)")
    cmd.set_defaults(run=run_record)


def run_record(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.cli.main import progress_bar
    from twin.scenario import load
    from twin.service.replay import parse_clock, read_script, record_day

    start_s, end_s = parse_clock(args.start, name="--start"), parse_clock(args.end, name="--end")
    script = read_script(args.actions) if args.actions else []
    day = _date(args.date)
    scenario = load(args.scenario)
    bar = progress_bar(end_s - start_s, desc="recording")
    last = [start_s]

    def progress(time_s: float) -> None:
        bar.update(time_s - last[0])
        last[0] = time_s

    path = record_day(
        scenario,
        out_dir=args.out,
        start_s=start_s,
        end_s=end_s,
        script=script,
        seed=args.seed,
        warmup_s=60.0 * args.warmup_min,
        name=args.name,
        day=day,
        progress=progress,
    )
    bar.close()
    from twin.service.recorder import Recording

    with Recording.open(path) as recording:
        summary = recording.summary()
        refused = [i for i in recording.inputs() if i.result == "refused"]
    print(
        f"recorded {summary['id']}: {hhmm(summary['start_s'])}–{hhmm(summary['end_s'])}, "
        f"{summary['actions']} actions, {summary['alerts']} alerts, {path.stat().st_size / 1e6:.1f} MB"
    )
    for item in refused:
        print(f"  refused at {hhmm(item.sim_time_s)}: {item.name}: {item.reason}")
    print(path)
    return 0


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TwinError(f"--date must be YYYY-MM-DD, got {text!r}", code="bad_value") from None


# ------------------------------------------------------------------ replay
def add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("replay", help="the twin at a time of a recorded day")
    cmd.add_argument("recording", help="recording file, or id in var/recordings")
    cmd.add_argument("--at", required=True, help="simulated time HH:MM")
    cmd.add_argument("--json", type=Path, help="write the result to this JSON file")
    cmd.set_defaults(run=run_replay)


def run_replay(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.cli.main import write_json
    from twin.service.alarms import open_count
    from twin.service.live import wall_kpis
    from twin.service.recorder import Recording
    from twin.service.replay import parse_clock, state_at

    at_s = parse_clock(args.at, name="--at")
    with Recording.open(_recording_path(args.recording)) as recording:
        engine = state_at(recording, at_s)
        kpis = wall_kpis(engine.view(), open_alerts=open_count(recording.alerts_at(at_s)))
        actions = [i.as_dict() for i in recording.inputs(until_s=at_s) if i.kind == "action"]
        rid = recording.recording_id
    print(f"{rid} at {hhmm(engine.time_s)}")
    for name, value in kpis.items():
        print(f"  {name:<22} {value:>10.1f}")
    print(
        f"operator actions up to {args.at}: {sum(a['result'] == 'ok' for a in actions)} applied, "
        f"{sum(a['result'] == 'refused' for a in actions)} refused"
    )
    for item in actions:
        change = (
            f"{json.dumps(item['before'])} → {json.dumps(item['after'])}"
            if item["result"] == "ok"
            else item["reason"]
        )
        print(
            f"  {hhmm(item['sim_time_s'])}  #{item['seq']:<4} {item['user']:<10} {item['name']:<18} "
            f"{item['result']:<8} {change[:100]}"
        )
    write_json(
        args.json, {"recording": rid, "time_s": engine.time_s, "kpis": kpis, "actions": actions}
    )
    return 0


# ------------------------------------------------------------------ fork
def add_fork(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "fork", help="re-run a recorded day from a minute with other decisions"
    )
    cmd.add_argument("recording", help="recording file, or id in var/recordings")
    cmd.add_argument("--at", required=True, help="fork minute HH:MM")
    cmd.add_argument(
        "--action",
        action="append",
        default=[],
        help='an action (JSON) applied at --at, e.g. \'{"kind": "set_lanes", ...}\'; repeatable',
    )
    cmd.add_argument(
        "--drop",
        action="append",
        type=int,
        default=[],
        help="seq or audit id of a recorded action after --at to leave out; repeatable",
    )
    cmd.add_argument("--until", default=None, help="end of the fork HH:MM (default: the day's end)")
    cmd.add_argument("--name", default="", help="name of the fork")
    cmd.add_argument("--json", type=Path, help="write the comparison to this JSON file")
    cmd.set_defaults(run=run_fork)


def run_fork(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.cli.main import progress_bar, write_json
    from twin.service.recorder import Recording
    from twin.service.replay import ForkChanges, ScriptedInput, compare, fork_day, parse_clock

    at_s = parse_clock(args.at, name="--at")
    until_s = parse_clock(args.until, name="--until") if args.until else None
    added = []
    for n, text in enumerate(args.action):
        try:
            added.append(ScriptedInput(at_s, json.loads(text)))
        except json.JSONDecodeError as error:
            raise TwinError(
                f"--action #{n + 1} is not valid JSON: {error}", code="bad_json"
            ) from None
    with Recording.open(_recording_path(args.recording)) as original:
        end_s = until_s if until_s is not None else original.time_range()[1]
        bar = progress_bar(end_s - at_s, desc="forking")
        last = [at_s]

        def progress(time_s: float) -> None:
            bar.update(time_s - last[0])
            last[0] = time_s

        path = fork_day(
            original,
            at_s,
            ForkChanges(add=tuple(added), drop=tuple(args.drop)),
            until_s=until_s,
            name=args.name,
            progress=progress,
            user="cli",
            role="planner",
        )
        bar.close()
        with Recording.open(path) as fork:
            table = compare(original, fork)
            refused = [i for i in fork.inputs() if i.result == "refused"]
    print(
        f"fork {table['fork_id']} of {table['original_id']}, {hhmm(table['from_s'])}–{hhmm(table['to_s'])}"
    )
    print(f"  {'figure':<44} {'original':>10} {'fork':>10} {'difference':>11}")
    for row in table["rows"]:
        print(
            f"  {row['label']:<44} {_num(row['original']):>10} {_num(row['fork']):>10} "
            f"{_num(row['difference'], sign=True):>11}  {row['verdict']}"
        )
    for item in refused:
        print(f"  refused in the fork at {hhmm(item.sim_time_s)}: {item.name}: {item.reason}")
    print(path)
    write_json(args.json, {**table, "path": str(path)})
    return 0


def _num(value: float, *, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.2f}" if sign else f"{value:.2f}"


COMMANDS = [add_record, add_replay, add_fork]
