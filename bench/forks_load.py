"""Do the planners' forks slow the live twin? (issue 19, point 4: goal, at most 10 %).

``python -m bench --only forks_load [--json FILE]`` (default ``bench/results/forks_load.json``)
prints and writes, on the bundled scenario:

- ``live_ms_per_sim_min``: wall milliseconds the live loop's engine needs per simulated minute
  (``LiveTwin.run_until`` one minute at a time: the compute a live clock at any speed has to
  fit), median over the chunks, without forks and while ``forks`` forks run (the ReplayService's
  own queue and limits, as the replay page starts them);
- ``command_ms``: an operator's request through the one command path (a lane change: check,
  audit, record, apply), median, without and with forks;
- ``slowdown_pct`` of each and whether the 10 % goal is met; the machine's load average.

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


def bench_forks_load(*, forks: int = 2, chunks: int = 12, seed: int = 0) -> dict[str, Any]:
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
    service = ReplayService(
        folder / "days", scenario, limits=ForkLimits(per_user=forks, total=forks)
    )

    engine = Engine(scenario, seed=seed, start_s=parse_clock("18:00"))
    recorder = Recorder.create(folder / "live" / "live.sqlite", {"kind": "live"})
    live = LiveTwin(engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder)
    commands = CommandPath(live, AuditLog(folder / "audit.sqlite"))

    def measure(n: int) -> tuple[list[float], list[float]]:
        step_ms, command_ms = [], []
        for k in range(n):
            t0 = time.perf_counter()
            live.run_until(live.engine.time_s + 60.0)
            step_ms.append(1e3 * (time.perf_counter() - t0))
            body = {
                "kind": "set_lanes",
                "checkpoint_id": 1,
                "lane_type": "manual",
                "count": 2 + k % 3,
            }
            t0 = time.perf_counter()
            result = commands.submit(body, user="bench", role="operator")
            command_ms.append(1e3 * (time.perf_counter() - t0))
            assert result.ok, result.reason
        return step_ms, command_ms

    measure(2)  # warm up (numba, caches)
    base_step, base_cmd = measure(chunks)
    action = {"kind": "set_lanes", "checkpoint_id": 5, "lane_type": "face", "count": 7}
    at_s = parse_clock("18:10")
    jobs = [
        service.start_fork(
            day.stem,
            at_s,
            ForkChanges(add=(ScriptedInput(at_s, {**action, "count": 4 + n}),)),
            user=f"planner{n}",
            role="planner",
        )
        for n in range(forks)
    ]
    time.sleep(1.0)  # the first fork is running
    load_step, load_cmd = [], []
    while any(j.state in ("queued", "running", "comparing") for j in jobs):
        step, cmd = measure(1)
        load_step += step
        load_cmd += cmd
        if len(load_step) >= 4 * chunks:
            break
    recorder.close(None)

    def pct(base: list[float], other: list[float]) -> float:
        return 100.0 * (statistics.median(other) / statistics.median(base) - 1.0)

    figures = {
        "forks": forks,
        "fork_states": [j.state for j in jobs],
        "live_ms_per_sim_min": {
            "without_forks": statistics.median(base_step),
            "with_forks": statistics.median(load_step) if load_step else None,
        },
        "command_ms": {
            "without_forks": statistics.median(base_cmd),
            "with_forks": statistics.median(load_cmd) if load_cmd else None,
        },
        "samples": {"without": len(base_step), "with": len(load_step)},
        "goal_pct": GOAL_PCT,
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
    }
    if load_step:
        figures["live_slowdown_pct"] = pct(base_step, load_step)
        figures["command_slowdown_pct"] = pct(base_cmd, load_cmd)
        figures["goal_met"] = max(
            figures["live_slowdown_pct"], figures["command_slowdown_pct"]
        ) <= (GOAL_PCT)
    step, cmd = figures["live_ms_per_sim_min"], figures["command_ms"]
    print(
        f"  live loop: {step['without_forks']:.0f} ms per simulated minute alone,"
        f" {step['with_forks'] or float('nan'):.0f} ms with {forks} forks"
        f" ({figures.get('live_slowdown_pct', float('nan')):+.0f} %);"
        f" command: {cmd['without_forks']:.1f} ms alone,"
        f" {cmd['with_forks'] or float('nan'):.1f} ms with forks"
        f" ({figures.get('command_slowdown_pct', float('nan')):+.0f} %);"
        f" goal <= {GOAL_PCT:.0f} %: {'met' if figures.get('goal_met') else 'NOT met'};"
        f" load {figures['load_average'][0]:.2f}",
        flush=True,
    )
    return figures
