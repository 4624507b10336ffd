"""Feed status for operators, as plain data (read-only: nothing here changes the state).

Per source: last message, newest data, rate, accepted and rejected counts by reason, the last
refusal; per detector: reporting, trusted or flagged and why (in words); the last hour of
observed counts for observed-against-modelled panels. Times are simulated seconds since
midnight; ``age_s`` is measured on the twin's clock.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.feeds import health
from twin.feeds.apply import RATE_WINDOW_S
from twin.feeds.extension import feed_sites, feed_state
from twin.feeds.state import PROBLEMS, FeedState

if TYPE_CHECKING:
    from twin.engine import Engine

__all__ = ["STALE_AFTER_S", "checkpoint_observed", "detector_observed", "status"]

STALE_AFTER_S = 300.0
"""A source without an accepted batch for this many simulated seconds is stale."""


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _source_row(source, now_s: float) -> dict[str, Any]:
    recent = sum(n for t, n in source.recent if t > now_s - RATE_WINDOW_S)
    return {
        "source": source.name,
        "synthetic": bool(source.synthetic),
        "first_s": _num(source.first_s),
        "last_message_s": _num(source.last_message_s),
        "last_data_s": _num(source.last_data_s),
        "age_s": _num(now_s - source.last_message_s),
        "stale": not now_s - source.last_message_s <= STALE_AFTER_S,
        "batches": source.batches,
        "records": source.records,
        "scans": source.scans,
        "detector_readings": source.detector_readings,
        "checkpoint_counts": source.checkpoint_counts,
        "rate_per_min": recent * 60.0 / RATE_WINDOW_S,
        "rejected_batches": source.rejected_batches,
        "rejected": dict(sorted(source.rejected.items())),
        "last_refusal": None if source.last_refusal is None else dict(source.last_refusal),
    }


def _reason(problem: int, state: FeedState, sites, i: int, now_s: float, mean: float) -> str:
    if problem == health.STUCK:
        return (
            f"stuck: the same count ({state.det_last_count[i]:g} veh) for "
            f"{int(state.det_same_run[i]) + 1} intervals in a row"
        )
    if problem == health.SILENT:
        heard = state.det_last_end_s[i]
        if math.isnan(heard):
            return "silent: no reading since the detector feed started"
        return f"silent: no reading for {(now_s - heard) / 60:.0f} min"
    return (
        f"inconsistent: {state.det_flow_vphpl[i]:.0f} veh/h per lane against "
        f"{mean:.0f} on neighbouring detectors"
    )


def status(engine: Engine, source: str | None = None) -> dict[str, Any]:
    """Plain status of every source (or only ``source``) and of the detectors.

    Returns
    -------
    dict
        ``time_s``, ``stale_after_s``; ``sources``: list of per-source dicts (``source``,
        ``synthetic``, ``last_message_s``, ``last_data_s``, ``age_s``, ``stale`` (no accepted
        batch for :data:`STALE_AFTER_S`), ``batches``, ``records``, ``scans``,
        ``rate_per_min`` (records per simulated minute over the last 5 min),
        ``rejected_batches``, ``rejected`` {code: batches}, ``last_refusal``);
        ``detectors``: ``total``, ``reporting``, ``usable``, ``faulty`` (list of
        ``detector_id``, ``index``, ``link_id``, ``road``, ``problem`` (stuck/silent/
        inconsistent), ``reason`` (words), ``since_s``). Omitted for the ``source``-only form.
    """
    now_s = float(engine.time_s)
    state = feed_state(engine)
    out: dict[str, Any] = {"time_s": now_s, "stale_after_s": STALE_AFTER_S, "sources": []}
    if state is not None:
        rows = [_source_row(s, now_s) for name, s in sorted(state.sources.items())]
        out["sources"] = [r for r in rows if source is None or r["source"] == source]
    if source is not None:
        return out
    sites = feed_sites(engine)
    if state is None:
        out["detectors"] = {
            "total": sites.n_detectors,
            "reporting": 0,
            "usable": 0,
            "faulty": [],
        }
        return out
    problem = health.problems(state, sites, now_s)
    flow = state.det_flow_vphpl
    silent_or_stuck = (problem == health.STUCK) | (problem == health.SILENT)
    mean = health.neighbour_flow_vphpl(sites, flow, ~silent_or_stuck & np.isfinite(flow))
    links = engine.scenario.links
    names = links["name"] if "name" in links else None
    faulty = []
    since = state.det_problem_since_s
    for d in np.flatnonzero(problem > 0):
        link = int(sites.detector_link[d])
        faulty.append(
            {
                "detector_id": sites.detector_ids[d],
                "index": int(d),
                "link_id": link,
                "road": str(names.iloc[link]) if names is not None else f"link {link}",
                "problem": PROBLEMS[int(problem[d])],
                "reason": _reason(int(problem[d]), state, sites, int(d), now_s, mean[d]),
                "since_s": _num(since[d]) if problem[d] == state.det_problem[d] else now_s,
            }
        )
    out["detectors"] = {
        "total": sites.n_detectors,
        "reporting": int(np.isfinite(state.det_last_end_s).sum()),
        "usable": int(((problem == 0) & np.isfinite(state.det_last_end_s)).sum()),
        "faulty": faulty,
    }
    return out


def _minutes(state: FeedState) -> tuple[np.ndarray, np.ndarray]:
    """Ring slots holding data, oldest first, and their minute labels."""
    order = np.argsort(state.history_minute, kind="stable")
    order = order[state.history_minute[order] >= 0]
    return order, state.history_minute[order]


def detector_observed(engine: Engine, detector: int) -> dict[str, Any]:
    """The last hour of one detector's observed counts: ``time_s`` (end of each minute),
    ``count_veh`` per minute (None where nothing was received)."""
    sites = feed_sites(engine)
    if not 0 <= int(detector) < sites.n_detectors:
        raise ValueError(f"detector index must be 0 to {sites.n_detectors - 1}, got {detector}")
    state = feed_state(engine)
    if state is None:
        return {"detector_id": sites.detector_ids[detector], "time_s": [], "count_veh": []}
    slots, minutes = _minutes(state)
    return {
        "detector_id": sites.detector_ids[detector],
        "link_id": int(sites.detector_link[detector]),
        "time_s": ((minutes + 1) * 60.0).tolist(),
        "count_veh": [_num(v) for v in state.det_history_veh[detector, slots]],
    }


def checkpoint_observed(engine: Engine, checkpoint: int) -> dict[str, Any]:
    """The last hour of one checkpoint's observed throughput: ``time_s`` (end of each minute),
    ``served_face`` and ``served_manual`` persons per minute (None where nothing came)."""
    sites = feed_sites(engine)
    if not 0 <= int(checkpoint) < sites.n_checkpoints:
        raise ValueError(f"checkpoint must be 0 to {sites.n_checkpoints - 1}, got {checkpoint}")
    state = feed_state(engine)
    if state is None:
        return {"time_s": [], "served_face": [], "served_manual": []}
    slots, minutes = _minutes(state)
    served = state.cp_history_served[checkpoint][:, slots]
    return {
        "time_s": ((minutes + 1) * 60.0).tolist(),
        "served_face": [_num(v) for v in served[0]],
        "served_manual": [_num(v) for v in served[1]],
    }
