"""``python -m twin staffing``: a checkpoint staffing plan for the next hour, as a timeline."""

from __future__ import annotations

import argparse
from typing import Any

from twin.clock_text import hhmm

PLAN_NAMES = {"default": "lanes kept", "advice": "today's advice", "optimised": "this plan"}


def add_staffing(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from twin.cli.ops import _add_common

    cmd = commands.add_parser(
        "staffing",
        help="plan checkpoint lanes and staff for the next hour and judge the plan in the twin",
    )
    _add_common(cmd, "18:00")
    cmd.set_defaults(warmup=60)
    cmd.add_argument("--horizon", type=int, default=90, help="minutes ahead (15-120)")
    cmd.add_argument(
        "--slot", type=int, default=5, help="minutes per slot (lanes change at slot starts)"
    )
    cmd.add_argument(
        "--staff", type=int, default=None, help="staff available (default: those at the open lanes)"
    )
    cmd.add_argument(
        "--move",
        type=float,
        default=None,
        help="minutes to move staff between checkpoints (default: farthest walk)",
    )
    cmd.add_argument(
        "--target",
        type=float,
        default=None,
        help="also find the fewest staff keeping every wait under this many minutes",
    )
    cmd.set_defaults(run=run_staffing)


def run_staffing(args: argparse.Namespace, _rest: list[str]) -> int:
    from twin.cli.main import write_json
    from twin.cli.ops import engine_at
    from twin.optimise import proposal

    engine = engine_at(args.scenario, args.seed, args.at, args.warmup)
    result = proposal.propose(
        engine,
        horizon_min=args.horizon,
        slot_min=args.slot,
        total_staff=args.staff,
        move_s=None if args.move is None else args.move * 60.0,
    )
    plain = result.as_dict()
    staff = plain["staff"]
    print(
        f"staffing from {args.at} for {args.horizon} min in {args.slot}-min slots: {staff['total_staff']} staff "
        f"({staff['staff_per_face_lane']} per e-gate, {staff['staff_per_manual_lane']} per manual lane), "
        f"moves take {staff['move_s'] / 60:.0f} min; {plain['method']}; proposed in {plain['proposal_s']:.1f} s"
    )
    for name, figures in plain["plans"].items():
        rule = "" if figures["keeps_staff_rule"] else "  (opens lanes faster than staff can move)"
        print(
            f"  {PLAN_NAMES[name]:<15} worst wait {_minutes(figures['worst_wait_s'])} at "
            f"{figures['worst_at_checkpoint']} ({hhmm(plain['start_s'] + 60 * figures['worst_at_min'])}), "
            f"peak {figures['peak_staff']} staff{rule}"
        )
    _print_timeline(plain)
    if args.target is not None:
        fewest = proposal.fewest_staff(
            engine,
            target_wait_s=args.target * 60.0,
            horizon_min=args.horizon,
            slot_min=args.slot,
            total_staff=args.staff,
            move_s=None if args.move is None else args.move * 60.0,
        )
        print(f"target: {fewest.message} (staff placed freely now)")
        plain["fewest_staff"] = {**vars(fewest), "message": fewest.message}
    write_json(args.json, plain)
    return 0


def _print_timeline(plain: dict[str, Any]) -> None:
    slots = plain["timeline"][0]["slot_start_min"] if plain["timeline"] else []
    print("lanes open (e-gates+manual) from each slot's start; worst wait kept -> planned")
    print(f"{'checkpoint':<40} " + " ".join(f"{hhmm(plain['start_s'] + 60 * m):>5}" for m in slots))
    for row in plain["timeline"]:
        lanes = " ".join(
            f"{f'{f}+{m}':>5}" for f, m in zip(row["lanes_face"], row["lanes_manual"], strict=True)
        )
        waits = (
            f"{_minutes(row['worst_wait_default_s'])} -> {_minutes(row['worst_wait_optimised_s'])}"
        )
        print(f"{row['name'][:40]:<40} {lanes}  {waits}")


def _minutes(wait_s: float) -> str:
    return "never served" if wait_s == float("inf") else f"{wait_s / 60:.0f} min"


COMMANDS = [add_staffing]
