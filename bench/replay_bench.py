"""Replay figures of the planner's page (benchmark, not a timed test).

``python -m bench.replay_bench [--recordings DIR] [--seeks 60] [--minutes 60] [--out FILE]``
prints and writes (JSON, default ``bench/results/replay_bench.json``):

- random seeks: the server time of the page's frame callback (``POST /_dash-update-component``
  through Flask's test client, so no network) for random times of the bundled recorded day,
  each a reconstruction (nearest snapshot + recorded actions + re-simulation) the first time
  (goal p95 <= 200 ms), then the same times again as a second planner would ask them (served
  from the flask-caching frame cache);
- playback: the frames of consecutive minutes, as the page asks for them while playing at
  300x or 600x (one request in flight; each minute steps the replay engine forward from the
  previous one). At 600x a 7-hour day plays in 42 s and the page asks for up to 10 minute
  frames per wall second, so it shows every minute when a frame takes <= 100 ms; when frames
  take longer the time still advances at 600x and the map shows the newest minute served.

The day is the bundled recorded day (``var/recordings``, made by ``python app.py`` on first
start); without it, it is recorded here first (about 10 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from layouts import ids  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "results" / "replay_bench.json"
DEFAULT_RECORDINGS = ROOT / "var" / "recordings"
PLAYBACK_NEED_MS = {300: 200.0, 600: 100.0}
"""Frame time at which playback shows every minute: 60 s / speed."""


def _bundled_day(folder: Path) -> tuple[Path, str]:
    """The folder holding a replayable bundled day (recorded into a temporary folder if needed)."""
    from callbacks.replay import BUNDLED_DAY, BUNDLED_FILE, BUNDLED_NAME, BUNDLED_SPAN, SCRIPT_NAME
    from twin.scenario import load
    from twin.service.replay import parse_clock
    from twin.service.replay_service import ReplayService

    scenario = load(ROOT / "data" / "seoul_olympic_park")
    service = ReplayService(folder, scenario)
    if folder.is_dir():
        for day in service.days():
            if day["id"] == BUNDLED_FILE and day.get("replayable") and day.get("closed"):
                return folder, day["id"]
    folder = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    print(f"recording the bundled day into {folder} (about 10 s) ...", flush=True)
    status = ReplayService(folder, scenario).ensure_bundled_day(
        ROOT / "data" / "seoul_olympic_park" / SCRIPT_NAME,
        file_name=BUNDLED_FILE,
        name=BUNDLED_NAME,
        day=BUNDLED_DAY,
        start_s=parse_clock(BUNDLED_SPAN[0]),
        end_s=parse_clock(BUNDLED_SPAN[1]),
        background=False,
    )
    if status.state != "ready":
        raise RuntimeError(f"the bundled day could not be recorded: {status.error}")
    return folder, BUNDLED_FILE


def _frame_body(
    app, day: str, time_s: float, digests: dict, alert_digest: str, toggles: list
) -> dict:
    key = next(k for k in app.callback_map if f"{ids.RP_FRAME_DONE}.data" in k)
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in key[2:-2].split("...")
    ]
    return {
        "output": key,
        "outputs": outputs,
        "inputs": [
            {"id": ids.RP_TIME, "property": "data", "value": {"day": day, "t": time_s}},
            {"id": ids.RP_LAYERS, "property": "value", "value": toggles},
            {"id": ids.RP_MAP_MODE, "property": "value", "value": "traffic"},
        ],
        "state": [
            {"id": ids.RP_DAYDATA, "property": "data", "value": {"id": day}},
            {"id": ids.RP_MAP_DIGESTS, "property": "data", "value": digests},
            {"id": ids.RP_ALERT_DIGEST, "property": "data", "value": alert_digest},
        ],
        "changedPropIds": [f"{ids.RP_TIME}.data"],
    }


def _serve_frames(app, day: str, times: list[float]) -> dict:
    """Ask for ``times`` one after the other as one page would (digests carried over)."""
    from layouts.deck import DEFAULT_TOGGLES

    client = app.server.test_client()
    digests, alert_digest, toggles = {}, "", list(DEFAULT_TOGGLES)
    times_ms, sizes = [], []
    for t in times:
        start = time.perf_counter()
        response = client.post(
            "/_dash-update-component", json=_frame_body(app, day, t, digests, alert_digest, toggles)
        )
        elapsed_ms = 1000 * (time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(
                f"frame at {t} failed: {response.status_code} {response.data[:300]!r}"
            )
        payload = response.get_json()["response"]
        if "error" in payload[ids.RP_FRAME_DONE]["data"]:
            raise RuntimeError(f"frame at {t}: {payload[ids.RP_FRAME_DONE]['data']['error']}")
        digests = payload[ids.RP_MAP_DIGESTS]["data"]
        alert_digest = payload.get(ids.RP_ALERT_DIGEST, {}).get("data", alert_digest)
        times_ms.append(elapsed_ms)
        sizes.append(len(response.data))
    ordered = sorted(times_ms)
    return {
        "frames": len(times),
        "server_ms_p50": statistics.median(times_ms),
        "server_ms_p95": ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))],
        "server_ms_max": max(times_ms),
        "server_ms_mean": statistics.fmean(times_ms),
        "bytes_median": statistics.median(sizes),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=DEFAULT_RECORDINGS)
    parser.add_argument("--seeks", type=int, default=60)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from app import create_app
    from callbacks.replay import FRAME_STEP_S, replay_web

    folder, day = _bundled_day(args.recordings)
    app = create_app(
        {"recordings": str(folder), "run_engine": False, "normal_day": False, "bundled_day": False}
    )
    service = replay_web(app).service
    started = time.perf_counter()
    start_s, end_s = service.time_range(day)  # builds the day's replay engine, once per recording
    engine_build_s = time.perf_counter() - started
    service.view_at(day, start_s)

    rng = np.random.default_rng(args.seed)
    seeks = [
        float(np.floor(t / FRAME_STEP_S) * FRAME_STEP_S)
        for t in rng.uniform(start_s, end_s, args.seeks)
    ]
    cold = _serve_frames(app, day, seeks)
    warm = _serve_frames(app, day, seeks)  # a second planner on the same day: cached frames
    play_from = float(np.floor(rng.uniform(start_s, end_s - 60 * args.minutes) / 60) * 60)
    playback = _serve_frames(app, day, [play_from + 60 * k for k in range(1, args.minutes + 1)])
    playback["from_s"] = play_from
    playback["minutes_per_wall_s"] = 1000.0 / playback["server_ms_mean"]
    playback["keeps_every_minute"] = {
        f"{speed}x": playback["server_ms_p95"] <= need for speed, need in PLAYBACK_NEED_MS.items()
    }
    results = {
        "day": day,
        "span": [start_s, end_s],
        "engine_build_s": engine_build_s,
        "random_seeks_cold": cold,
        "random_seeks_cached": warm,
        "playback_minutes": playback,
        "goal_seek_p95_ms": 200.0,
        "playback_need_ms": PLAYBACK_NEED_MS,
    }

    print(
        f"day {day} ({(end_s - start_s) / 3600:.1f} h); replay engine built once in {engine_build_s:.2f} s"
    )
    print(
        f"random seeks ({cold['frames']}): server {cold['server_ms_p50']:.0f} ms p50, {cold['server_ms_p95']:.0f} ms "
        f"p95, {cold['server_ms_max']:.0f} ms max (goal p95 <= 200 ms); {cold['bytes_median'] / 1024:.0f} KB median"
    )
    print(
        f"same times again (cached): {warm['server_ms_p50']:.0f} ms p50, {warm['server_ms_p95']:.0f} ms p95"
    )
    print(
        f"playback, {playback['frames']} consecutive minutes: {playback['server_ms_p50']:.0f} ms p50, "
        f"{playback['server_ms_p95']:.0f} ms p95 = {playback['minutes_per_wall_s']:.1f} simulated minutes served "
        f"per wall second (600x needs 10, 300x needs 5 to show every minute)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
