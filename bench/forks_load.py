"""Do the planners' forks slow the live twin? (issue 19, point 4: goal, at most 10 %).

``python -m bench --only forks_load [--json FILE]`` (default ``bench/results/forks_load.json``)
prints and writes, on the bundled scenario:

- ``live_ms_per_sim_min``: wall milliseconds the live loop's engine needs per simulated minute
  (``LiveTwin.run_until`` one minute at a time: the compute a live clock at any speed has to
  fit), median over the minutes, without forks and while a fork runs (the ReplayService's own
  queue and worker process, as the replay page starts them);
- ``command_ms``: an operator's request through the one command path (a lane change: check,
  audit, record, apply), median, without and with a fork;
- ``slowdown_pct`` of each and whether the 10 % goal is met; the machine's load average.

Paired: each round restores the same snapshot twice and runs the same simulated minutes with
the same requests, once alone and once while a fork runs (in turn first and second), so the
evening's growing traffic does not pass for a slowdown; a minute counts as loaded only while
the fork is still running. The slowdown is the median over minutes of (loaded / alone) - 1, and
the total time of the loaded minutes over the same minutes alone, - 1; the goal holds when both
(and the commands') do.

Needs a quiet machine: every figure is wall time on shared cores.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "seoul_olympic_park"
GOAL_PCT = 10.0


def bench_forks_load(*, rounds: int = 10, minutes: int = 20, seed: int = 0) -> dict[str, Any]:
    from twin.engine import Engine
    from twin.scenario import load
    from twin.service.audit import AuditLog
    from twin.service.commands import CommandPath
    from twin.service.live import LiveSettings, LiveTwin
    from twin.service.recorder import Recorder
    from twin.service.replay import ForkChanges, ScriptedInput, parse_clock, record_day
    from twin.service.replay_service import ForkLimits, ReplayService

    scenario = load(BUNDLED)
    folder = Path(tempfile.mkdtemp(prefix="forks-load-"))
    start_s, end_s = parse_clock("18:00"), parse_clock("19:30")
    print("  recording a day 18:00-19:30 to fork ...", flush=True)
    day = record_day(
        scenario, out_dir=folder / "days", start_s=start_s, end_s=end_s, day=date(2026, 9, 12)
    )
    service = ReplayService(folder / "days", scenario, limits=ForkLimits(per_user=99, total=99))
    engine = Engine(scenario, seed=seed, start_s=start_s)
    audit = AuditLog(folder / "audit.sqlite")
    segments = iter(range(10**6))

    def run_minutes(snapshot, fork_job=None) -> tuple[list[float], list[float]]:
        """The same simulated minutes from ``snapshot``: engine ms per minute and command ms
        per request (only while ``fork_job`` runs, when one is given)."""
        engine.restore(snapshot)
        recorder = Recorder.create(folder / "live" / f"live-{next(segments)}.sqlite", {})
        live = LiveTwin(engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder)
        commands = CommandPath(live, audit)
        step_ms, command_ms = [], []
        for k in range(minutes):
            if fork_job is not None and fork_job.state not in ("running", "comparing"):
                break
            t0 = time.perf_counter()
            live.run_until(live.engine.time_s + 60.0)
            step_ms.append(1e3 * (time.perf_counter() - t0))
            body = {"kind": "set_lanes", "checkpoint_id": 1, "lane_type": "manual"}
            t0 = time.perf_counter()
            result = commands.submit({**body, "count": 2 + k % 3}, user="bench", role="operator")
            command_ms.append(1e3 * (time.perf_counter() - t0))
            assert result.ok, result.reason
        recorder.close(None)
        return step_ms, command_ms

    run_minutes(engine.snapshot())  # warm up (numba, caches)
    engine.restore(Engine(scenario, seed=seed, start_s=start_s).snapshot())
    snapshot = engine.snapshot()
    at_s = parse_clock("18:10")
    step_ratio, command_ratio = [], []
    paired_alone_ms = paired_loaded_ms = 0.0
    alone_step, alone_cmd, loaded_step, loaded_cmd = [], [], [], []
    for n in range(rounds):
        if n % 2 == 0:  # alone first in even rounds, after the fork in odd ones (drift cancels)
            step, cmd = run_minutes(snapshot)
        action = {"kind": "set_lanes", "checkpoint_id": 5, "lane_type": "face", "count": 4 + n}
        job = service.start_fork(
            day.stem,
            at_s,
            ForkChanges(add=(ScriptedInput(at_s, action),)),
            user=f"planner{n}",
            role="planner",
        )
        deadline = time.monotonic() + 120
        while job.state in ("queued",) or job.progress < 0.05:  # the fork is computing
            if time.monotonic() > deadline or job.state in ("done", "failed"):
                break
            time.sleep(0.02)
        step_f, cmd_f = run_minutes(snapshot, job)
        while job.state not in ("done", "failed"):
            time.sleep(0.1)
        if n % 2 == 1:
            step, cmd = run_minutes(snapshot)
        paired_alone_ms += sum(step[: len(step_f)])
        paired_loaded_ms += sum(step_f)
        step_ratio += [b / a for a, b in zip(step, step_f, strict=False)]
        command_ratio += [b / a for a, b in zip(cmd, cmd_f, strict=False)]
        alone_step += step[: len(step_f)]
        alone_cmd += cmd[: len(cmd_f)]
        loaded_step += step_f
        loaded_cmd += cmd_f

    figures = {
        "rounds": rounds,
        "minutes_per_round": minutes,
        "live_ms_per_sim_min": {
            "without_forks": statistics.median(alone_step) if alone_step else None,
            "with_forks": statistics.median(loaded_step) if loaded_step else None,
        },
        "command_ms": {
            "without_forks": statistics.median(alone_cmd) if alone_cmd else None,
            "with_forks": statistics.median(loaded_cmd) if loaded_cmd else None,
        },
        "samples": {"paired_minutes": len(step_ratio)},
        "goal_pct": GOAL_PCT,
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
    }
    if step_ratio:
        figures["live_slowdown_pct"] = 100.0 * (statistics.median(step_ratio) - 1.0)
        figures["command_slowdown_pct"] = 100.0 * (statistics.median(command_ratio) - 1.0)
        figures["live_total_slowdown_pct"] = 100.0 * (paired_loaded_ms / paired_alone_ms - 1.0)
        figures["goal_met"] = max(
            figures["live_slowdown_pct"],
            figures["live_total_slowdown_pct"],
            figures["command_slowdown_pct"],
        ) <= (GOAL_PCT)
    step, cmd = figures["live_ms_per_sim_min"], figures["command_ms"]
    print(
        f"  live loop: {step['without_forks'] or float('nan'):.1f} ms per simulated minute alone,"
        f" {step['with_forks'] or float('nan'):.1f} ms while a fork runs"
        f" ({figures.get('live_slowdown_pct', float('nan')):+.0f} %, median of"
        f" {len(step_ratio)} paired minutes, {figures.get('live_total_slowdown_pct', float('nan')):+.0f} %"
        f" in total over them); command: {cmd['without_forks'] or float('nan'):.1f}"
        f" ms alone, {cmd['with_forks'] or float('nan'):.1f} ms with a fork"
        f" ({figures.get('command_slowdown_pct', float('nan')):+.0f} %);"
        f" goal <= {GOAL_PCT:.0f} %: {'met' if figures.get('goal_met') else 'NOT met'};"
        f" load {figures['load_average'][0]:.2f}",
        flush=True,
    )
    return figures
