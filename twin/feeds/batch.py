"""Validated feed batches: the plain arrays that the command path records and the engine uses.

A batch reaches the engine only after validation (every record checked, the whole batch refused
on the first bad record) and after it is durably recorded; replay re-applies the recorded
batches, so everything here must be deterministic plain data (numpy arrays, strings, floats).

Times are simulated seconds since midnight of the day (``interval_end_s``); an interval covers
``[interval_end_s - interval_s, interval_end_s)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LANE_TYPE_CODES = {"face": 0, "manual": 1}
"""Integer code of each checkpoint lane type in :class:`CheckpointCounts.lane_type`."""


@dataclass(frozen=True)
class DetectorCounts:
    """Traffic detector readings, one row per (detector, interval).

    Attributes
    ----------
    source
        Name of the feed source that sent them (``POST /api/v1/feeds/{source}``, a file).
    detector_index
        Row of each reading's detector in ``scenario.detectors`` (0-based).
    interval_end_s, interval_s
        End of each reading's counting interval and its length, seconds.
    count_veh
        Vehicles counted over all lanes the detector covers in the interval.
    occupancy
        Share of the interval the detector was occupied, 0..1 (``nan`` where not measured).
    speed_kph
        Mean speed of the counted vehicles, km/h (``nan`` where not measured).
    """

    source: str
    detector_index: IntArray
    interval_end_s: FloatArray
    interval_s: FloatArray
    count_veh: FloatArray
    occupancy: FloatArray
    speed_kph: FloatArray

    def __len__(self) -> int:
        return len(self.detector_index)


@dataclass(frozen=True)
class CheckpointCounts:
    """Checkpoint throughput, one row per (checkpoint, lane type, interval).

    Scan events (one per person screened) are aggregated to these counts by the ingest.

    Attributes
    ----------
    source
        Name of the feed source.
    checkpoint_index
        Row of the checkpoint in the engine's checkpoint table (0-based, as ``set_lanes`` uses).
    lane_type
        :data:`LANE_TYPE_CODES` code: 0 face-recognition e-gate, 1 manual lane.
    interval_end_s, interval_s
        End of each counting interval and its length, seconds.
    served_persons
        Persons screened (scans) in the interval on lanes of that type.
    lanes_in_use
        Lanes of that type that reported at least one scan in the interval (``nan`` if unknown).
    arrived_persons
        Persons who joined the queue in the interval where a counter measures it (``nan`` else).
    """

    source: str
    checkpoint_index: IntArray
    lane_type: IntArray
    interval_end_s: FloatArray
    interval_s: FloatArray
    served_persons: FloatArray
    lanes_in_use: FloatArray
    arrived_persons: FloatArray

    def __len__(self) -> int:
        return len(self.checkpoint_index)
