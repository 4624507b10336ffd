"""Feed ingest speed: ``python -m bench --only feeds [--scans N] [--batch N]``.

1. Scan events per second, sustained, through the code the API runs for ``POST
   /api/v1/feeds/{source}`` (:meth:`twin.service.commands.CommandPath.feed`): parse NDJSON, type,
   validate, aggregate per minute, audit (SQLite, durable), record (SQLite WAL, synchronous FULL)
   and apply, batch after batch of :data:`BATCH_SCANS` scans, on the bundled day's checkpoints
   (every lane busy, under its capacity). Goal: 325,000 scans/s (Singles' Day 2017 peak). The
   HTTP layer is left out; the parse is timed apart (the API runs it in the request thread,
   outside the loop).
2. The live loop on the bundled day (17:00-17:30), per simulated minute: the stepping time
   without feeds and with a feed of each minute one batch of all 117 detectors' readings and one
   of the checkpoints' scans, every lane busy (parsed beforehand, as the API does outside the
   loop; goal: stepping within 5 %), and apart the time the loop spends on the two batches
   between steps (validate, aggregate, audit and record durably, apply).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SCENARIO = Path("data/seoul_olympic_park")
BATCH_SCANS = 10_000
"""Scans per batch (one POST)."""
FACE_PER_MIN, MANUAL_PER_MIN = 30, 7
"""Scans per busy lane per minute in the generated data (the rules allow 40 and 10)."""


def _lanes(engine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(checkpoint, lane, lane type) of every lane position of the bundled day."""
    cps, lanes, types = [], [], []
    for spec in engine.pedestrians.specs:
        for lane in range(spec.max_lanes):
            cps.append(spec.checkpoint_id)
            lanes.append(lane)
            types.append(0 if lane < spec.face_lane_limit else 1)
    return np.array(cps), np.array(lanes), np.array(types)


def scan_bodies(
    engine, n_scans: int, batch: int, start_s: float, *, columns: bool = False
) -> list[bytes]:
    """NDJSON bodies (JSON column form with ``columns``) of ``batch`` scans each: every lane
    scanning at its busy rate, times increasing per lane, batches following each other in
    time."""
    cp, lane, kind = _lanes(engine)
    per_min = np.where(kind == 0, FACE_PER_MIN, MANUAL_PER_MIN)
    minute_scans = int(per_min.sum())
    bodies, t0, made = [], start_s, 0
    while made < n_scans:
        minutes = max(1, round(batch / minute_scans))
        rows = []
        for m in range(minutes):
            for c, ln, k, n in zip(cp, lane, kind, per_min, strict=True):
                base = t0 + 60.0 * m + (np.arange(n) + 0.5) * (60.0 / n)
                for t in base:
                    lane_type = ("face", "manual")[k]
                    rows.append(
                        f'{{"checkpoint":{c},"lane":{ln},"lane_type":"{lane_type}","t":{t:.3f}}}'
                    )
        if columns:
            records = [json.loads(r) for r in rows]
            body = {"columns": {k: [r[k] for r in records] for k in records[0]}}
            bodies.append(json.dumps(body).encode())
        else:
            bodies.append("\n".join(rows).encode())
        made += len(rows)
        t0 += 60.0 * minutes
    return bodies


def _twin(tmp: Path, start_s: float):
    from twin.engine import Engine
    from twin.scenario import load
    from twin.service.audit import AuditLog
    from twin.service.commands import CommandPath
    from twin.service.live import LiveSettings, LiveTwin
    from twin.service.recorder import Recorder
    from twin.service.replay import day_header

    scenario = load(SCENARIO)
    engine = Engine(scenario, start_s=start_s)
    header = day_header(
        scenario,
        seed=0,
        start_s=start_s,
        warmup_s=0.0,
        live_start_s=start_s,
        kind="bench",
        engine=engine,
    )
    recorder = Recorder.create(tmp / f"day-{start_s:.0f}.sqlite", header)
    live = LiveTwin(engine, settings=LiveSettings(forecast_period_s=0.0), recorder=recorder)
    return live, CommandPath(live, AuditLog(tmp / f"audit-{start_s:.0f}.sqlite")), scenario


def bench_ingest(n_scans: int, batch: int, *, fmt: str = "ndjson") -> dict[str, Any]:
    from twin.feeds.ingest import read_records

    columns = fmt == "json-columns"
    kind = "json" if columns else "ndjson"
    with tempfile.TemporaryDirectory() as folder:
        live, commands, _ = _twin(Path(folder), 22 * 3600.0)
        bodies = scan_bodies(live.engine, n_scans, batch, 8 * 3600.0, columns=columns)
        sizes = [read_records(b, fmt=kind).n for b in bodies]
        commands.feed(bodies[0], source="warm-up", user="bench", role="feed", fmt=kind)
        started = time.perf_counter()
        results = [
            commands.feed(b, source="gates", user="bench", role="feed", fmt=kind)
            for b in bodies[1:]
        ]
        wall = time.perf_counter() - started
        refused = [r.reason for r in results if not r.ok]
        parse_started = time.perf_counter()
        for body in bodies[1:]:
            read_records(body, fmt=kind)
        parse = time.perf_counter() - parse_started
        live.stop()
    scans = sum(sizes[1:])
    return {
        "format": fmt,
        "batch_scans": batch,
        "batches": len(bodies) - 1,
        "scans": scans,
        "wall_s": wall,
        "scans_per_s": scans / wall,
        "parse_share": parse / wall,
        "refused_batches": len(refused),
        "first_refusal": refused[0] if refused else None,
        "goal_scans_per_s": 325_000,
    }


def bench_loop(minutes: int = 30) -> dict[str, Any]:
    """The two twins (without, with feeds) advance minute by minute in turn, so a load change
    on a shared machine hits both alike."""
    from twin.feeds.ingest import read_records

    start_s = 17 * 3600.0
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        twins = {}
        for mode in ("without", "with"):
            (Path(folder) / mode).mkdir()
            twins[mode] = _twin(Path(folder) / mode, start_s)
            twins[mode][0].run_until(start_s + 60)  # warm-up
        live, _, scenario = twins["with"]
        ids = scenario.detectors["detector_id"].tolist()
        feeds = []
        for m in range(minutes):
            end = start_s + 60.0 * (m + 2)
            loops = [
                {"detector": d, "t": end, "interval_s": 60, "count": 5 + (i + m) % 9}
                for i, d in enumerate(ids)
            ]
            body = scan_bodies(live.engine, 1, 1, end - 60)[0]
            feeds.append((end, read_records(loops), read_records(body)))
        out["scans_per_sim_min"] = feeds[0][2].n
        stepping = {"without": 0.0, "with": 0.0}
        feeding = 0.0
        for end, loops, scans in feeds:
            for mode, (twin, commands, _) in twins.items():
                started = time.perf_counter()
                twin.run_until(end)
                stepping[mode] += time.perf_counter() - started
                if mode == "with":
                    started = time.perf_counter()
                    assert commands.feed(loops, source="loops", user="b", role="feed").ok
                    assert commands.feed(scans, source="gates", user="b", role="feed").ok
                    feeding += time.perf_counter() - started
        for twin, _, _ in twins.values():
            twin.stop()
    without, with_ = (stepping[m] / minutes * 1e3 for m in ("without", "with"))
    out["without_feeds_step_ms_per_sim_min"] = without
    out["with_feeds_step_ms_per_sim_min"] = with_
    out["feed_batches_ms_per_sim_min"] = feeding / minutes * 1e3
    out["step_overhead"] = with_ / without - 1.0
    out["goal_step_overhead"] = 0.05
    out["busy_overhead"] = (with_ + out["feed_batches_ms_per_sim_min"]) / without - 1.0
    return out


def bench_feeds(n_scans: int = 2_000_000, batch: int = BATCH_SCANS) -> dict[str, Any]:
    ingest = {}
    for fmt in ("ndjson", "json-columns"):
        print(f"feed ingest: {n_scans:,} checkpoint scans, {fmt} batches of about {batch:,}:")
        ingest[fmt] = run = bench_ingest(n_scans, batch, fmt=fmt)
        print(
            f"  {run['scans_per_s']:,.0f} scans/s sustained over {run['batches']} batches "
            f"({run['wall_s']:.2f} s; parse {run['parse_share']:.0%} of it; goal 325,000); "
            f"refused batches: {run['refused_batches']}"
        )
    print("live loop per simulated minute, bundled day 17:00-17:30:")
    loop = bench_loop()
    print(
        f"  stepping: {loop['without_feeds_step_ms_per_sim_min']:.1f} ms without feeds, "
        f"{loop['with_feeds_step_ms_per_sim_min']:.1f} ms with ({loop['step_overhead']:+.1%}; "
        f"goal within 5 %); the minute's two feed batches (117 detector readings, "
        f"{loop['scans_per_sim_min']:,} scans; audited and recorded durably) "
        f"{loop['feed_batches_ms_per_sim_min']:.1f} ms more between steps "
        f"({loop['busy_overhead']:+.1%} busy time)"
    )
    return {"ingest": ingest, "loop": loop}
