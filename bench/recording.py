"""Recording figures for ``python -m bench`` (issue 10): seek time, recording overhead on
the live loop, size of a recorded day, time of a fork.

Every figure is measured on the bundled scenario in this run; nothing here is asserted.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "seoul_olympic_park"
# goals of issue 23 (speed)
FORK_GOAL_S = 2.0  # fork 18:30 -> 23:00 with pedestrians
MANY_FORKS_GOAL_S = 10.0  # 10 forks of one minute to the day's end, in all, on 2 cores
RECORDING_OVERHEAD_GOAL_PCT = 5.0  # live loop CPU with recording, over without


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_recording(
    *,
    day_start_s: float = 16 * 3600,
    day_end_s: float = 23 * 3600,
    seeks: int = 40,
    overhead_min: float = 60.0,
    seed: int = 0,
    forks_of_one_minute: int = 0,
) -> dict[str, Any]:
    """Record a day, then seek at random minutes, time the loop with and without recording, and
    fork 18:30 to the day's end with pedestrians (and, when ``forks_of_one_minute`` > 0, that
    many forks of the same minute one after the other: issue 23's "10 forks" figure)."""
    from bench.twin_bench import against_goal, goal_text
    from twin.engine import Engine
    from twin.scenario import load
    from twin.service.commands import CommandPath  # noqa: F401 - the headless day uses the command path
    from twin.service.live import LiveSettings, LiveTwin
    from twin.service.recorder import Recorder, Recording
    from twin.service.replay import (
        ForkChanges,
        ScriptedInput,
        day_header,
        fork_day,
        record_day,
        replay_engine,
        state_at,
    )

    scenario = load(BUNDLED)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="venuetwin-bench-") as folder:
        started = time.perf_counter()
        path = record_day(
            scenario,
            out_dir=folder,
            start_s=day_start_s,
            end_s=day_end_s,
            seed=seed,
            day=date(2026, 8, 1),
        )
        out["record_day_s"] = time.perf_counter() - started
        out["day_hours"] = (day_end_s - day_start_s) / 3600
        out["size_mb"] = path.stat().st_size / 1e6
        print(
            f"  recorded {out['day_hours']:.0f} h headless in {out['record_day_s']:.1f} s; file "
            f"{out['size_mb']:.1f} MB (goal <= 50 MB)"
        )

        recording = Recording.open(path)
        out["snapshots"] = len(recording.snapshot_times())
        engine = replay_engine(recording)
        rng = np.random.default_rng(seed)
        minutes = rng.integers(int(day_start_s // 60), int(day_end_s // 60), size=seeks)
        times = []
        for minute in minutes:
            started = time.perf_counter()
            state_at(recording, float(minute * 60), engine=engine).view()
            times.append(time.perf_counter() - started)
        out["seek_ms"] = {
            "p50": 1000 * _percentile(times, 50),
            "p95": 1000 * _percentile(times, 95),
            "max": 1000 * max(times),
            "n": seeks,
        }
        print(
            f"  seek to a random minute (state + view): p50 {out['seek_ms']['p50']:.0f} ms, "
            f"p95 {out['seek_ms']['p95']:.0f} ms, max {out['seek_ms']['max']:.0f} ms over {seeks} "
            f"(goal p95 <= 200 ms; snapshots every 5 min: {out['snapshots']})"
        )

        # The loop thread's own CPU time per step (time.thread_time: what the live clock waits
        # for), with and without recording, alternated three times; the writer thread's CPU
        # (compression and SQLite, off the loop) is reported beside it.
        start = 18 * 3600.0
        loop: dict[str, list[float]] = {"without": [], "with": []}
        writer: list[float] = []
        for repeat in range(3):
            for label, recorded in (("without", False), ("with", True)):
                engine = Engine(scenario, seed=seed, start_s=start)
                recorder = None
                if recorded:
                    header = day_header(
                        scenario,
                        seed=seed,
                        start_s=start,
                        warmup_s=0,
                        live_start_s=start,
                        kind="live",
                        engine=engine,
                    )
                    recorder = Recorder.create(Path(folder) / f"overhead-{repeat}.sqlite", header)
                live = LiveTwin(
                    engine, settings=LiveSettings(forecast_period_s=0), recorder=recorder
                )
                steps = 60 * overhead_min / engine.dt_s
                thread0, process0 = time.thread_time(), time.process_time()
                live.run_until(start + 60 * overhead_min)
                if recorder is not None:
                    recorder.flush()
                thread_s, process_s = time.thread_time() - thread0, time.process_time() - process0
                loop[label].append(thread_s / steps)
                if recorded:
                    writer.append((process_s - thread_s) / steps)
                live.stop(close_day=False)
        step = {k: min(v) for k, v in loop.items()}
        out["loop_step_ms"] = {k: 1000 * v for k, v in step.items()}
        out["writer_cpu_per_step_ms"] = 1000 * min(writer)
        out["recording_overhead_pct"] = 100 * (step["with"] / step["without"] - 1)
        out["recording_overhead_goal"] = against_goal(
            out["recording_overhead_pct"], RECORDING_OVERHEAD_GOAL_PCT, unit="%"
        )
        print(
            f"  live loop thread CPU per step ({overhead_min:.0f} simulated min, best of 3): "
            f"{out['loop_step_ms']['without']:.3f} ms without recording, {out['loop_step_ms']['with']:.3f} ms "
            f"with: overhead {out['recording_overhead_pct']:+.1f} % (goal <= 5 %); the writer thread adds "
            f"{out['writer_cpu_per_step_ms']:.3f} ms CPU per step off the loop"
        )

        lanes = ScriptedInput(
            18.5 * 3600, {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 6}
        )
        forks, fork_cpus = [], []
        for _ in range(2):
            started, cpu = time.perf_counter(), time.process_time()
            fork_day(recording, 18.5 * 3600, ForkChanges(add=(lanes,)))
            forks.append(time.perf_counter() - started)
            fork_cpus.append(time.process_time() - cpu)
        out["fork_1830_to_end_s"] = min(forks)
        out["fork_1830_to_end_cpu_s"] = min(fork_cpus)
        out["fork_1830_to_end_goal"] = against_goal(min(forks), FORK_GOAL_S)
        out["fork_span_h"] = (day_end_s - 18.5 * 3600) / 3600
        print(
            f"  fork 18:30 -> {int(day_end_s // 3600)}:00 with pedestrians ({out['fork_span_h']:.1f} h, "
            f"best of 2): {out['fork_1830_to_end_s']:.2f} s, CPU {out['fork_1830_to_end_cpu_s']:.2f} s "
            f"({goal_text(out['fork_1830_to_end_goal'])})"
        )
        if forks_of_one_minute:
            started = time.perf_counter()
            for _ in range(forks_of_one_minute):
                fork_day(recording, 18.5 * 3600, ForkChanges(add=(lanes,)))
            out["forks_of_one_minute"] = forks_of_one_minute
            out["forks_of_one_minute_goal"] = against_goal(  # 10 in 10 s: scaled to the count
                time.perf_counter() - started, MANY_FORKS_GOAL_S * forks_of_one_minute / 10
            )
            print(
                f"  {forks_of_one_minute} forks of 18:30 to the day's end, one after the other in "
                f"one process (no pool yet): {out['forks_of_one_minute_goal']['value']:.1f} s "
                f"({goal_text(out['forks_of_one_minute_goal'])})"
            )
        recording.close()
    out["seek_times_ms"] = [1000 * t for t in times]
    out["seek_mean_ms"] = 1000 * statistics.fmean(times)
    return out
