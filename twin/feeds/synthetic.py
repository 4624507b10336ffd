"""A synthetic feed of the bundled day, from a perturbed run of the twin (SYNTHETIC DATA).

There is no field data for the bundled Seoul day, so this makes a stand-in the twin has not
seen: the twin itself run on a *different* demand than the schedule's (busier origins, a lighter
background, another noise seed) with one detector failing stuck, observed minute by minute the
way the detectors of ``detectors.csv`` and the checkpoint counters would report it:

- every detector: vehicles leaving its link in the minute (its link's outflow integrated over
  the minute's steps, Poisson counting noise, never above 1.4 times its lanes' capacity);
  stop-line loops add occupancy (from the link density), counting stations mean speed;
- every checkpoint and lane type with open lanes: persons screened in the minute (the model's
  served persons split by the lanes' service capacity) and the lanes in use;
- one detector (the busiest stop-line loop of 18:00-19:00) stuck from :data:`STUCK_FROM_S`:
  it repeats its last count, as a frozen controller does.

``python -m twin.feeds.synthetic`` writes ``data/seoul_olympic_park/feeds/synthetic_day.ndjson``
(its first line, a ``meta`` record, says it is synthetic and how it was made); ``python app.py
--feed data/seoul_olympic_park/feeds/synthetic_day.ndjson`` plays it into the twin.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Perturbation", "generate", "write"]

FOLDER = Path(__file__).resolve().parents[2] / "data" / "seoul_olympic_park"
OUT = FOLDER / "feeds" / "synthetic_day.ndjson"
START_S, END_S = 17 * 3600.0, 23 * 3600.0
STUCK_FROM_S = 19.5 * 3600.0
CAP_SHARE = 1.4


@dataclasses.dataclass(frozen=True)
class Perturbation:
    """How the synthetic day's demand differs from the schedule's.

    Attributes
    ----------
    surge_origins
        The busiest origin zones (by vehicles over the day) whose trips are scaled by
        ``surge_factor`` from ``surge_from_s``.
    background_factor
        Scale of every other origin's trips, all day.
    seed
        Seed of the background noise (the twin uses 0) and of the counting noise.
    """

    surge_origins: int = 3
    surge_factor: float = 1.4
    surge_from_s: float = 18.5 * 3600.0
    background_factor: float = 0.85
    seed: int = 7


def _perturbed(scenario, p: Perturbation):
    from twin.models.demand import build_demand

    demand = build_demand(scenario, seed=p.seed)
    rate = demand.rate_vps.copy()
    busiest = np.argsort(rate.sum(axis=(0, 2)))[::-1][: p.surge_origins]
    bins = np.arange(rate.shape[0]) * demand.bin_s
    others = np.setdiff1d(np.arange(rate.shape[1]), busiest)
    rate[:, others, :] *= p.background_factor
    rate[np.ix_(bins >= p.surge_from_s, busiest)] *= p.surge_factor
    return dataclasses.replace(demand, rate_vps=rate), busiest


def generate(p: Perturbation = Perturbation()) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(meta, records)`` of the synthetic day, records in time order."""
    from twin.crowd import pedestrians
    from twin.engine import Engine
    from twin.scenario import load

    scenario = load(FOLDER)
    demand, busiest = _perturbed(scenario, p)
    engine = Engine(scenario, seed=p.seed, start_s=START_S - 1800, demand=demand)
    engine.run(START_S)
    table = scenario.detectors
    net = engine.net
    links = table["link_id"].to_numpy()
    last_cell = net.link_last_cell[links]
    lanes = table["lanes"].to_numpy()
    cap_veh_min = scenario.links["capacity_vphpl"].to_numpy()[links] * lanes / 60.0 * CAP_SHARE
    stop = (table["kind"] == "stop_line").to_numpy()
    rng = np.random.default_rng(p.seed)
    specs = engine.pedestrians.specs
    face_rate = np.array([s.face_rate_pps for s in specs])
    manual_rate = np.array([s.manual_rate_pps for s in specs])
    served_before = engine.state.extras[pedestrians.KEY].checkpoints.served_persons.copy()
    records: list[dict[str, Any]] = []
    counts_by_minute = []
    steps = int(round(60.0 / engine.dt_s))
    stuck, stuck_count = None, None
    t = START_S
    while t < END_S - 1e-9:
        passed = np.zeros(len(table))
        for _ in range(steps):
            engine.step()
            passed += engine.state.smooth_outflow_vps[last_cell] * engine.dt_s
        t = engine.time_s
        count = np.minimum(rng.poisson(np.maximum(passed, 0.0)), np.floor(cap_veh_min))
        counts_by_minute.append(count)
        if stuck is None and t >= STUCK_FROM_S:
            hour = np.array(counts_by_minute[60:120]).sum(axis=0)
            stuck = int(np.argmax(np.where(stop, hour, -1)))
            stuck_count = int(count[stuck])
        if stuck is not None:
            count[stuck] = stuck_count
        view = engine.view()
        density = view.links["density_vpkm"][links] / np.maximum(lanes, 1)
        occupancy = np.clip(density * 7.5 / 1000.0, 0.0, 1.0)
        speed = view.links["speed_kph"][links]
        for i, detector in enumerate(table["detector_id"]):
            row = {"detector": detector, "t": t, "interval_s": 60, "count": int(count[i])}
            if stop[i]:
                row["occupancy"] = round(float(occupancy[i]), 3)
            else:
                row["speed_kph"] = round(float(speed[i]), 1)
            records.append(row)
        cps = engine.state.extras[pedestrians.KEY].checkpoints
        served = np.round(cps.served_persons) - np.round(served_before)
        served_before = cps.served_persons.copy()
        capacity = cps.lanes_face * face_rate + cps.lanes_manual * manual_rate
        share = np.divide(
            cps.lanes_face * face_rate, capacity, out=np.zeros(len(specs)), where=capacity > 0
        )
        face = np.round(served * share)
        for c in range(len(specs)):
            for kind, value, open_lanes in (
                ("face", face[c], cps.lanes_face[c]),
                ("manual", served[c] - face[c], cps.lanes_manual[c]),
            ):
                if open_lanes > 0:
                    records.append(
                        {
                            "checkpoint": c,
                            "lane_type": kind,
                            "t": t,
                            "interval_s": 60,
                            "served": int(max(value, 0)),
                            "lanes_in_use": int(open_lanes),
                        }
                    )
    zone_names = scenario.zones["name"].to_numpy()
    meta = {
        "synthetic": True,
        "source": "synthetic-seoul",
        "description": "SYNTHETIC DATA, not field measurements: a perturbed run of the twin "
        "(a different demand than the schedule's, and one detector failing stuck), observed "
        "per minute by the detectors of detectors.csv and the checkpoint counters.",
        "generator": "python -m twin.feeds.synthetic",
        "scenario": scenario.name,
        "from": "17:00",
        "to": "23:00",
        "perturbation": {
            **dataclasses.asdict(p),
            "surge_origin_names": [str(zone_names[z]) for z in busiest],
        },
        "stuck_detector": str(table["detector_id"].iloc[stuck]) if stuck is not None else None,
        "stuck_from": "19:30",
    }
    return meta, records


def write(path: Path = OUT, p: Perturbation = Perturbation()) -> Path:
    """Generate the synthetic day and write it as NDJSON at ``path``."""
    meta, records = generate(p)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"meta": meta})] + [json.dumps(r, separators=(",", ":")) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twin.feeds.synthetic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=Perturbation.seed)
    args = parser.parse_args(argv)
    path = write(args.out, Perturbation(seed=args.seed))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, synthetic)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
