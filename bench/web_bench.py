"""Web figures of the control room (benchmark, not a timed test).

``python -m bench.web_bench [--scenario grid] [--refreshes 30] [--day] [--out FILE]`` prints and
writes (JSON):

- server time per refresh: the once-a-second refresh callback, timed end to end through
  Flask's test client (``POST /_dash-update-component``), one call per new frame, the page's
  digests carried over as a browser would (goal < 20 ms);
- bytes per refresh: the response body of those calls, steady state and first refresh
  (goal < 50 KB);
- first-load payload: the page, its scripts and styles (the deck.gl bundle separately), the
  layout (with the map geometry) and the dependencies;
- with ``--day``: the alarm rate over the bundled day (new alerts per hour, the EEMUA 191
  benchmark is about 6 per hour in steady operation), from a headless run of the engine with
  the live loop's alarm book.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from layouts import ids  # noqa: E402 - after the sys.path line above

DEFAULT_OUT = ROOT / "tests" / "artifacts" / "web_bench.json"


def _config(scenario: str) -> dict:
    if scenario == "grid":
        from tests.app.geo_scenario import busy_demand, geo_grid_scenario
        from twin.engine import Engine

        grid = geo_grid_scenario()
        engine = Engine(grid, start_s=17 * 3600, demand=busy_demand(grid))
        return {"scenario": grid, "engine": engine, "warmup_s": 0}
    return {
        "scenario": ROOT / "data" / "seoul_olympic_park"
        if scenario == "bundled"
        else Path(scenario)
    }


def _refresh_body(seq: int, digests: dict, alert_digest: str, toggles: list) -> dict:
    outputs = [
        (ids.MAP_UPDATE, "data"),
        (ids.MAP_DIGESTS, "data"),
        (ids.FRAME_SEQ, "data"),
        (ids.KPI_STRIP, "children"),
        (ids.CLOCK, "children"),
        (ids.KIOSK_CLOCK, "children"),
        (ids.CLOCK_STATE, "children"),
        (ids.ALERT_FEED, "children"),
        (ids.ALERT_DIGEST, "data"),
        (ids.ALERT_STATS, "children"),
    ]
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": ids.TICK, "property": "n_intervals", "value": seq + 1},
            {"id": ids.HORIZON, "property": "value", "value": 900},
            {"id": ids.HEAT_HORIZON, "property": "value", "value": 0},
            {"id": ids.LAYERS, "property": "value", "value": toggles},
        ],
        "state": [
            {"id": ids.FRAME_SEQ, "property": "data", "value": seq},
            {"id": ids.MAP_DIGESTS, "property": "data", "value": digests},
            {"id": ids.ALERT_DIGEST, "property": "data", "value": alert_digest},
        ],
        "changedPropIds": [f"{ids.TICK}.n_intervals"],
    }


def _wait_new_frame(store, seq: int, timeout_s: float = 10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        frame = store.latest()
        if frame is not None and frame.seq != seq:
            return frame
        time.sleep(0.02)
    raise TimeoutError("no new frame")


def refresh_figures(app, n: int) -> dict:
    """Time ``n`` refresh calls, each on a new frame, through Flask's test client."""
    from layouts.deck import DEFAULT_TOGGLES

    client = app.server.test_client()
    store = app.server.extensions["venuetwin"].store
    toggles = list(DEFAULT_TOGGLES)
    seq, digests, alert_digest = -1, {}, ""
    times_ms, sizes = [], []
    for k in range(n + 1):
        frame = _wait_new_frame(store, seq)
        body = _refresh_body(seq, digests, alert_digest, toggles)
        start = time.perf_counter()
        response = client.post("/_dash-update-component", json=body)
        elapsed_ms = 1000 * (time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"refresh failed: {response.status_code} {response.data[:300]!r}")
        payload = response.get_json()["response"]
        digests = payload[ids.MAP_DIGESTS]["data"]
        seq = payload[ids.FRAME_SEQ]["data"]
        alert_digest = payload.get(ids.ALERT_DIGEST, {}).get("data", alert_digest)
        if k == 0:
            first = {"ms": elapsed_ms, "bytes": len(response.data)}
            continue
        times_ms.append(elapsed_ms)
        sizes.append(len(response.data))
    return {
        "refreshes": n,
        "frame_seq_last": frame.seq,
        "server_ms_median": statistics.median(times_ms),
        "server_ms_p95": sorted(times_ms)[int(0.95 * (n - 1))],
        "server_ms_max": max(times_ms),
        "bytes_median": statistics.median(sizes),
        "bytes_max": max(sizes),
        "first_refresh_ms": first["ms"],
        "first_refresh_bytes": first["bytes"],
    }


def first_load_figures(app) -> dict:
    """Bytes a browser fetches to open the wall (without the deck bundle, then the bundle)."""
    client = app.server.test_client()
    index = client.get("/")
    html = index.get_data(as_text=True)
    urls = re.findall(r'<script src="([^"]+)"', html) + re.findall(
        r'<link[^>]+href="([^"]+)"', html
    )
    assets, bundle = 0, 0
    for url in urls:
        size = len(client.get(url).data)
        if "/_vendor/deckgl/" in url:
            bundle += size
        else:
            assets += size
    layout = len(client.get("/_dash-layout").data)
    dependencies = len(client.get("/_dash-dependencies").data)
    return {
        "index_bytes": len(index.data),
        "scripts_styles_bytes": assets,
        "deck_bundle_bytes": bundle,
        "layout_bytes": layout,
        "dependencies_bytes": dependencies,
        "total_bytes": len(index.data) + assets + bundle + layout + dependencies,
    }


def alarm_day(
    scenario_path: Path,
    *,
    tick_s: float = 10.0,
    forecast_every_s: float = 900.0,
    until_s: float | None = None,
) -> dict:
    """Run the bundled day headless with the live loop's alarm book; new alerts per hour."""
    from twin.engine import Engine
    from twin.scenario import load, parse_clock
    from twin.service import alarms
    from twin.service.live import alarm_conditions

    scenario = load(scenario_path)
    engine = Engine(scenario)
    book = alarms.AlarmBook()
    roads = alarms.road_groups(scenario.links)
    places = alarms.places_of(engine)
    ends = [parse_clock(v) if isinstance(v, str) else float(v) for v in scenario.schedule["end"]]
    end = until_s or max(ends) + 2 * 3600
    base_s, forecasts, next_forecast = float("nan"), {}, engine.time_s
    raised_at: list[float] = []
    start_wall = time.perf_counter()
    while engine.time_s < end:
        engine.step(tick_s)
        view = engine.view()
        if forecast_every_s and engine.time_s >= next_forecast:
            base_s, forecasts = engine.time_s, engine.forecast(3600)
            next_forecast = engine.time_s + forecast_every_s
        before = book.raised_total
        book.update(
            view.time_s, alarm_conditions(roads, view, forecasts, base_s, book.active(), places)
        )
        raised_at.extend([view.time_s] * (book.raised_total - before))
    hours = (end - float(scenario.params.get("start_s", 0))) / 3600
    per_hour: dict[str, int] = {}
    for t in raised_at:
        key = f"{int(t // 3600):02d}:00"
        per_hour[key] = per_hour.get(key, 0) + 1
    return {
        "raised_total": len(raised_at),
        "hours": hours,
        "rate_per_h": len(raised_at) / hours,
        "per_hour": per_hour,
        "max_per_10min": _max_in_window(raised_at, 600.0),
        "wall_s": time.perf_counter() - start_wall,
    }


def _max_in_window(times: list[float], window_s: float) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] < t - window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", default="bundled", help="'bundled', 'grid' or a scenario folder"
    )
    parser.add_argument("--refreshes", type=int, default=30)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument(
        "--day", action="store_true", help="also measure the alarm rate over the day"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from app import create_app

    app = create_app({**_config(args.scenario), "speed": args.speed, "publish_period_s": 0.25})
    try:
        results = {
            "scenario": args.scenario,
            "first_load": first_load_figures(app),
            "refresh": refresh_figures(app, args.refreshes),
        }
    finally:
        app.server.extensions["venuetwin"].live.stop()
    if args.day:
        folder = (
            ROOT / "data" / "seoul_olympic_park"
            if args.scenario in ("bundled", "grid")
            else Path(args.scenario)
        )
        results["alarm_day"] = alarm_day(folder)
    r, f = results["refresh"], results["first_load"]
    print(
        f"refresh: server {r['server_ms_median']:.1f} ms median, {r['server_ms_p95']:.1f} ms p95 "
        f"(goal < 20 ms); {r['bytes_median'] / 1024:.1f} KB median, {r['bytes_max'] / 1024:.1f} KB max "
        f"(goal < 50 KB); first refresh {r['first_refresh_bytes'] / 1024:.1f} KB"
    )
    print(
        f"first load: {f['total_bytes'] / 1e6:.2f} MB total = deck.gl bundle "
        f"{f['deck_bundle_bytes'] / 1e6:.2f} MB + Dash scripts/styles {f['scripts_styles_bytes'] / 1e6:.2f} MB "
        f"+ layout with geometry {f['layout_bytes'] / 1e3:.0f} KB"
    )
    if "alarm_day" in results:
        a = results["alarm_day"]
        print(
            f"alarms over the day: {a['raised_total']} new in {a['hours']:.1f} h = {a['rate_per_h']:.1f}/h "
            f"(goal ~6/h), at most {a['max_per_10min']} in any 10 min; per hour {a['per_hour']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
