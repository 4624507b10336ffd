"""What the twin keeps about its feeds (``engine.state.extras["feeds"]``).

Snapshots, forks, the recorder and replay carry it with the rest of the state, so a replay
shows the same source status and detector health the operators saw. Everything here changes only
in the loop thread, through :func:`twin.feeds.apply.apply_batch` (an accepted batch) and
:func:`twin.feeds.apply.count_refusal` (a refused one: its tally and nothing else).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["HISTORY_MINUTES", "KEY", "PROBLEMS", "FeedState", "SourceStatus", "new_state"]

KEY = "feeds"
"""Key of the feed state in ``engine.state.extras``."""
HISTORY_MINUTES = 60
"""Minutes of observed counts kept per detector and checkpoint (observed against modelled)."""
PROBLEMS = ("ok", "stuck", "silent", "inconsistent")
"""Detector health codes (index = code in :attr:`FeedState.det_problem`)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class SourceStatus:
    """One feed source (an API client or a file) as the twin sees it; times are simulated s.

    ``recent`` holds ``(time_s, records)`` of the accepted batches of the last
    :data:`twin.feeds.status.RATE_WINDOW_S`, for the rate.
    """

    name: str
    first_s: float = math.nan
    last_message_s: float = math.nan
    last_data_s: float = math.nan
    batches: int = 0
    records: int = 0
    scans: int = 0
    detector_readings: int = 0
    checkpoint_counts: int = 0
    rejected_batches: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    last_refusal: dict[str, object] | None = None
    synthetic: bool = False
    recent: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class FeedState:
    """Per-source status, detector health and the last hour of observations.

    Detector arrays are ``(D,)`` by detector index; checkpoint arrays ``(N, 2)`` by checkpoint
    and lane type, or ``(N, L)`` by checkpoint and lane number for scans.
    """

    sources: dict[str, SourceStatus]
    det_started_s: float
    det_last_end_s: FloatArray
    det_last_count: FloatArray
    det_same_run: IntArray
    det_readings: IntArray
    det_flow_vphpl: FloatArray
    det_problem: IntArray
    det_problem_since_s: FloatArray
    det_history_veh: FloatArray  # (D, HISTORY_MINUTES) counts per minute, ring by minute
    cp_last_end_s: FloatArray  # (N, 2) last interval end of counts records
    scan_last_s: FloatArray  # (N, L) last scan time per lane
    scan_minute: IntArray  # (N, L) minute of the last scan per lane
    scan_minute_count: IntArray  # (N, L) scans of that lane in that minute so far
    cp_history_served: FloatArray  # (N, 2, HISTORY_MINUTES) served per minute, ring by minute
    history_minute: IntArray  # (HISTORY_MINUTES,) minute label of each ring slot, -1 empty


def new_state(n_detectors: int, n_checkpoints: int, max_lanes: int) -> FeedState:
    """An empty feed state for the given numbers of detectors, checkpoints and lane numbers."""
    d, n, lanes = n_detectors, n_checkpoints, max(max_lanes, 1)
    return FeedState(
        sources={},
        det_started_s=math.nan,
        det_last_end_s=np.full(d, np.nan),
        det_last_count=np.full(d, np.nan),
        det_same_run=np.zeros(d, dtype=np.int64),
        det_readings=np.zeros(d, dtype=np.int64),
        det_flow_vphpl=np.full(d, np.nan),
        det_problem=np.zeros(d, dtype=np.int64),
        det_problem_since_s=np.full(d, np.nan),
        det_history_veh=np.full((d, HISTORY_MINUTES), np.nan),
        cp_last_end_s=np.full((n, 2), np.nan),
        scan_last_s=np.full((n, lanes), -np.inf),
        scan_minute=np.full((n, lanes), -1, dtype=np.int64),
        scan_minute_count=np.zeros((n, lanes), dtype=np.int64),
        cp_history_served=np.full((n, 2, HISTORY_MINUTES), np.nan),
        history_minute=np.full(HISTORY_MINUTES, -1, dtype=np.int64),
    )
