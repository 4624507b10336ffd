"""Typed columns of a batch: raw records split by shape into numpy arrays, fields checked.

:func:`typed` turns :class:`twin.feeds.parse.RawRecords` into three tables (detector readings,
scans, checkpoint counts), each keeping every row's position in the batch (``record``) so a
later rule can name the record. Times (``t``) are simulated seconds since midnight of the day,
as a number or ``HH:MM[:SS[.fff]]``; for readings and counts ``t`` is the end of the interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.feeds.batch import LANE_TYPE_CODES
from twin.feeds.parse import RawRecords
from twin.feeds.refusal import FeedError

__all__ = ["CountRows", "DetectorRows", "ScanRows", "Typed", "typed"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DetectorRows:
    """Detector readings (``detector_id`` as sent; resolved to indices by validation)."""

    record: IntArray
    detector_id: npt.NDArray[np.object_]
    end_s: FloatArray
    interval_s: FloatArray
    count_veh: FloatArray
    occupancy: FloatArray
    speed_kph: FloatArray


@dataclass(frozen=True)
class ScanRows:
    """Checkpoint scans, one per person screened."""

    record: IntArray
    checkpoint: FloatArray
    lane: FloatArray
    lane_type: IntArray  # LANE_TYPE_CODES, -1 unknown
    time_s: FloatArray


@dataclass(frozen=True)
class CountRows:
    """Checkpoint counts per lane type and interval."""

    record: IntArray
    checkpoint: FloatArray
    lane_type: IntArray
    end_s: FloatArray
    interval_s: FloatArray
    served_persons: FloatArray
    lanes_in_use: FloatArray
    arrived_persons: FloatArray


@dataclass(frozen=True)
class Typed:
    """A batch's records by shape; ``raw`` for line numbers."""

    raw: RawRecords
    detectors: DetectorRows
    scans: ScanRows
    counts: CountRows

    @property
    def n(self) -> int:
        return self.raw.n

    def fail(self, record: int, message: str, code: str) -> FeedError:
        """The refusal naming ``record`` (its batch position and line)."""
        return FeedError(message, code=code, record=int(record), line=self.raw.line_of(record))


def typed(raw: RawRecords) -> Typed:
    """Split ``raw`` by record shape and convert the fields to numbers.

    Raises
    ------
    FeedError
        ``malformed`` for a record of no known shape, ``bad_value`` for a missing or
        non-numeric field, naming the first such record.
    """
    n = raw.n
    f = raw.fields

    def present(name: str) -> npt.NDArray[np.bool_]:
        values = f.get(name)
        if values is None:
            return np.zeros(n, dtype=bool)
        if isinstance(values, list):
            missing = values.count(None)
            if missing in (0, n):
                return np.full(n, missing == 0)
        return np.asarray(values, dtype=object) != None  # noqa: E711 - elementwise

    has_detector, has_lane, has_served = present("detector"), present("lane"), present("served")
    has_checkpoint = present("checkpoint")
    kind = np.full(n, -1, dtype=np.int8)
    kind[has_detector & ~has_checkpoint & ~has_lane & ~has_served] = 0
    kind[~has_detector & has_checkpoint & has_lane & ~has_served] = 1
    kind[~has_detector & has_checkpoint & ~has_lane & has_served] = 2
    if (kind < 0).any():
        bad = int(np.flatnonzero(kind < 0)[0])
        raise FeedError(
            "a record must be a detector reading (detector, t, interval_s, count), a scan "
            "(checkpoint, lane, lane_type, t) or a checkpoint count (checkpoint, lane_type, t, "
            "interval_s, served)",
            code="malformed",
            record=bad,
            line=raw.line_of(bad),
        )
    out = Typed(raw, *(_rows(raw, np.flatnonzero(kind == k), k) for k in (0, 1, 2)))
    return out


def _rows(raw: RawRecords, rows: IntArray, kind: int) -> Any:
    def column(name: str) -> list[Any]:
        values = raw.fields.get(name)
        if values is None:
            return [None] * len(rows)
        if isinstance(values, np.ndarray):
            return values[rows].tolist()
        return [values[i] for i in rows] if len(rows) != raw.n else list(values)

    def number(name: str, *, required: bool) -> FloatArray:
        return _numbers(column(name), name, rows, raw, required=required)

    if kind == 0:
        ids = np.asarray(column("detector"), dtype=object)
        return DetectorRows(
            rows,
            ids,
            _times(column("t"), rows, raw),
            number("interval_s", required=True),
            number("count", required=True),
            number("occupancy", required=False),
            number("speed_kph", required=False),
        )
    if kind == 1:
        return ScanRows(
            rows,
            number("checkpoint", required=True),
            number("lane", required=True),
            _lane_types(column("lane_type"), rows, raw),
            _times(column("t"), rows, raw),
        )
    return CountRows(
        rows,
        number("checkpoint", required=True),
        _lane_types(column("lane_type"), rows, raw),
        _times(column("t"), rows, raw),
        number("interval_s", required=True),
        number("served", required=True),
        number("lanes_in_use", required=False),
        number("arrived", required=False),
    )


def _numbers(
    values: list[Any], name: str, rows: IntArray, raw: RawRecords, *, required: bool
) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64) if values else np.zeros(0)
        if array.ndim != 1:
            raise ValueError
    except (TypeError, ValueError):
        array = None
    if array is None or (required and np.isnan(array).any()) or np.isinf(array).any():
        for i, value in enumerate(values):
            if not _is_number(value, required):
                record = int(rows[i])
                what = "missing" if value is None else f"not a number: {str(value)[:30]!r}"
                raise FeedError(
                    f"field {name!r} is {what}",
                    code="bad_value",
                    record=record,
                    line=raw.line_of(record),
                )
    return array


def _is_number(value: Any, required: bool) -> bool:
    if value is None:
        return not required
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) or (not required and math.isnan(number))


def _lane_types(values: list[Any], rows: IntArray, raw: RawRecords) -> IntArray:
    names = np.asarray(values, dtype=object)
    codes = np.full(len(values), -1, dtype=np.int64)
    for name, code in LANE_TYPE_CODES.items():
        codes[names == name] = code
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        record = int(rows[i])
        raise FeedError(
            f"lane_type must be one of {tuple(LANE_TYPE_CODES)}, got {str(values[i])[:30]!r}",
            code="unknown_lane_type",
            record=record,
            line=raw.line_of(record),
        )
    return codes


def _times(values: list[Any], rows: IntArray, raw: RawRecords) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64) if values else np.zeros(0)
        if np.isfinite(array).all():
            return array
    except (TypeError, ValueError):
        pass
    out = np.empty(len(values))
    for i, value in enumerate(values):
        seconds = _clock_s(value)
        if seconds is None:
            record = int(rows[i])
            raise FeedError(
                f"field 't' must be seconds since midnight or HH:MM[:SS], got {str(value)[:30]!r}",
                code="bad_value",
                record=record,
                line=raw.line_of(record),
            )
        out[i] = seconds
    return out


def _clock_s(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    parts = str(value).strip().split(":")
    try:
        if len(parts) == 1:
            number = float(parts[0])
            return number if math.isfinite(number) else None
        if not 2 <= len(parts) <= 3:
            return None
        hours, minutes = int(parts[0]), int(parts[1])
        seconds = float(parts[2]) if len(parts) == 3 else 0.0
    except ValueError:
        return None
    if not (0 <= hours < 48 and 0 <= minutes < 60 and 0.0 <= seconds < 60.0):
        return None
    return hours * 3600.0 + minutes * 60.0 + seconds
