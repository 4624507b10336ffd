"""A validated batch as it travels: :class:`FeedBatch`, and its compact plain-JSON form for
the recording (aggregated arrays, not the raw records).

The JSON form round-trips exactly (floats are written with ``repr``; ``NaN`` as ``null``), so a
replay applies bit-identical arrays; the live loop applies the decoded form too, so live and
replay run the very same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.feeds.batch import CheckpointCounts, DetectorCounts

__all__ = ["FeedBatch", "LaneTimes", "decode", "encode"]

FORMAT = 1


@dataclass(frozen=True)
class LaneTimes:
    """Per checkpoint lane touched by a batch's scans: the last scan time and the scans of that
    lane in the minute of it (so order and per-minute capacity carry over to the next batch)."""

    checkpoint_index: npt.NDArray[np.int64]
    lane: npt.NDArray[np.int64]
    last_s: npt.NDArray[np.float64]
    minute: npt.NDArray[np.int64]
    minute_count: npt.NDArray[np.int64]


@dataclass(frozen=True)
class FeedBatch:
    """One validated, aggregated batch of a source.

    Attributes
    ----------
    source
        Feed source name.
    records, scans
        Records in the batch as sent, and how many were scan events.
    detectors, checkpoints
        Detector readings and checkpoint counts (scans aggregated), or None.
    checkpoint_from_scans
        Per checkpoint row: counted from scans (True) or sent as a count record (False).
    lanes
        Lane times after the batch's scans, or None.
    synthetic
        The source says its data is synthetic (a generated feed, not a field measurement).
    """

    source: str
    records: int
    scans: int
    detectors: DetectorCounts | None
    checkpoints: CheckpointCounts | None
    checkpoint_from_scans: npt.NDArray[np.bool_] | None
    lanes: LaneTimes | None
    synthetic: bool = False

    @property
    def last_data_s(self) -> float:
        """Newest timestamp of the batch's data (interval ends, scan times), s."""
        times = [
            float(x.max())
            for x in (
                None if self.detectors is None else self.detectors.interval_end_s,
                None if self.lanes is None else self.lanes.last_s,
                None
                if self.checkpoints is None or self.checkpoint_from_scans is None
                else self.checkpoints.interval_end_s[~self.checkpoint_from_scans],
            )
            if x is not None and len(x)
        ]
        return max(times) if times else float("nan")


def _floats(array: np.ndarray) -> list[float | None]:
    values = np.asarray(array, dtype=np.float64)
    out = values.tolist()
    if np.isnan(values).any():
        out = [None if v != v else v for v in out]
    return out


def _ints(array: np.ndarray) -> list[int]:
    return np.asarray(array, dtype=np.int64).tolist()


def _array(values: list[Any], dtype: type) -> np.ndarray:
    if dtype is np.float64:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.array(values, dtype=dtype)


_DET = (
    ("detector_index", np.int64),
    ("interval_end_s", np.float64),
    ("interval_s", np.float64),
    ("count_veh", np.float64),
    ("occupancy", np.float64),
    ("speed_kph", np.float64),
)
_CP = (
    ("checkpoint_index", np.int64),
    ("lane_type", np.int64),
    ("interval_end_s", np.float64),
    ("interval_s", np.float64),
    ("served_persons", np.float64),
    ("lanes_in_use", np.float64),
    ("arrived_persons", np.float64),
)
_LANES = (
    ("checkpoint_index", np.int64),
    ("lane", np.int64),
    ("last_s", np.float64),
    ("minute", np.int64),
    ("minute_count", np.int64),
)


def _columns(obj: Any, spec) -> dict[str, list[Any]]:
    return {
        name: (_ints if dtype is np.int64 else _floats)(getattr(obj, name)) for name, dtype in spec
    }


def encode(batch: FeedBatch) -> dict[str, Any]:
    """The recording's payload of ``batch``: plain JSON (lists of numbers, ``None`` for NaN)."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "source": batch.source,
        "records": int(batch.records),
        "scans": int(batch.scans),
        "synthetic": bool(batch.synthetic),
    }
    if batch.detectors is not None:
        out["detectors"] = _columns(batch.detectors, _DET)
    if batch.checkpoints is not None:
        out["checkpoints"] = _columns(batch.checkpoints, _CP)
        out["checkpoints"]["from_scans"] = [bool(x) for x in batch.checkpoint_from_scans]
    if batch.lanes is not None:
        out["lanes"] = _columns(batch.lanes, _LANES)
    return out


def decode(payload: dict[str, Any]) -> FeedBatch:
    """The :class:`FeedBatch` of a recorded payload (:func:`encode`'s output)."""
    source = str(payload["source"])
    det = payload.get("detectors")
    cp = payload.get("checkpoints")
    lanes = payload.get("lanes")
    return FeedBatch(
        source=source,
        records=int(payload["records"]),
        scans=int(payload["scans"]),
        detectors=None
        if det is None
        else DetectorCounts(source, *(_array(det[name], dtype) for name, dtype in _DET)),
        checkpoints=None
        if cp is None
        else CheckpointCounts(source, *(_array(cp[name], dtype) for name, dtype in _CP)),
        checkpoint_from_scans=None if cp is None else np.array(cp["from_scans"], dtype=bool),
        lanes=None if lanes is None else LaneTimes(*(_array(lanes[n], d) for n, d in _LANES)),
        synthetic=bool(payload.get("synthetic", False)),
    )
