"""Apply a recorded batch to the engine (in the loop thread, after recording) and count refusals.

:func:`apply_batch` is what the live loop and a replay both run for an accepted batch: source
status, scan lane times, detector health, then assimilation
(:func:`twin.feeds.traffic_assimilation.assimilate_detectors` with the detectors health still
trusts, :func:`twin.feeds.checkpoint_assimilation.assimilate_checkpoints`), each followed by
the observed-against-modelled history (:mod:`twin.feeds.observations`). It is deterministic
in (state, batch). :func:`count_refusal` adds a refused batch to its source's tally and changes
nothing else.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.feeds import checkpoint_assimilation, health, observations, traffic_assimilation
from twin.feeds.extension import attach_feeds, feed_sites
from twin.feeds.payload import FeedBatch
from twin.feeds.state import FeedState, SourceStatus

if TYPE_CHECKING:
    from twin.engine import Engine

__all__ = ["RATE_WINDOW_S", "apply_batch", "count_refusal"]

RATE_WINDOW_S = 300.0
"""Simulated seconds over which a source's rate (records per minute) is measured."""


def _source(state: FeedState, name: str, now_s: float) -> SourceStatus:
    source = state.sources.get(name)
    if source is None:
        source = state.sources[name] = SourceStatus(name=name, first_s=now_s)
    return source


def apply_batch(engine: Engine, batch: FeedBatch) -> dict[str, Any]:
    """Fold ``batch`` into the feed state and assimilate it; a plain summary."""
    state = attach_feeds(engine)
    sites = feed_sites(engine)
    now_s = float(engine.time_s)
    source = _source(state, batch.source, now_s)
    source.last_message_s = now_s
    last = batch.last_data_s
    if math.isfinite(last):
        source.last_data_s = (
            last if math.isnan(source.last_data_s) else max(source.last_data_s, last)
        )
    source.batches += 1
    source.records += batch.records
    source.scans += batch.scans
    source.synthetic = source.synthetic or batch.synthetic
    source.recent = [(t, n) for t, n in source.recent if t > now_s - RATE_WINDOW_S]
    source.recent.append((now_s, batch.records))
    if batch.lanes is not None:
        lanes = batch.lanes
        idx = (lanes.checkpoint_index, lanes.lane)
        state.scan_last_s[idx] = lanes.last_s
        state.scan_minute[idx] = lanes.minute
        state.scan_minute_count[idx] = lanes.minute_count
    summary: dict[str, Any] = {"source": batch.source, "records": batch.records}
    if batch.detectors is not None:
        source.detector_readings += len(batch.detectors)
        health.record_readings(state, sites, batch.detectors)
    if batch.checkpoints is not None:
        cps = batch.checkpoints
        source.checkpoint_counts += int((~batch.checkpoint_from_scans).sum())
        counted = ~batch.checkpoint_from_scans
        if counted.any():
            idx = (cps.checkpoint_index[counted], cps.lane_type[counted])
            state.cp_last_end_s[idx] = np.fmax(
                state.cp_last_end_s[idx], cps.interval_end_s[counted]
            )
        minute = np.floor((cps.interval_end_s - 1e-6) / 60.0).astype(np.int64)
        health.record_served(state, minute, cps.checkpoint_index, cps.lane_type, cps.served_persons)
    health.evaluate(state, sites, now_s)
    if batch.detectors is not None:
        summary["traffic"] = traffic_assimilation.assimilate_detectors(
            engine, batch.detectors, usable=health.usable(state)
        )
        observations.note_detectors(engine, batch.detectors)
    if batch.checkpoints is not None:
        summary["checkpoints"] = checkpoint_assimilation.assimilate_checkpoints(
            engine, batch.checkpoints
        )
        observations.note_checkpoints(engine, batch.checkpoints)
    return summary


def count_refusal(
    engine: Engine, source: str, code: str, message: str, *, record: int | None = None
) -> None:
    """Add a refused batch of ``source`` to its tally (by ``code``); nothing else changes."""
    state = attach_feeds(engine)
    now_s = float(engine.time_s)
    status = _source(state, source, now_s)
    status.rejected_batches += 1
    status.rejected[code] = status.rejected.get(code, 0) + 1
    status.last_refusal = {
        "time_s": now_s,
        "code": code,
        "message": str(message)[:300],
        "record": record,
    }
