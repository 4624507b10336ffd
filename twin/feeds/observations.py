"""Observed against modelled: a rolling history of what the feeds counted and what the twin had.

For the operator's road and checkpoint panels ("observed against modelled over the last hour")
and for the online forecast skill (:mod:`twin.service.forecast_skill`). The apply step of a feed
batch calls :func:`note_detectors` / :func:`note_checkpoints` right after assimilating it, in the
loop thread; the history lives in ``engine.state.extras[KEY]`` (so snapshots, forks and replays
carry it, and a replay re-applying the recorded batches rebuilds it bit for bit).

What is paired, per reading:

- **detector** (per detector and interval): observed flow ``count_veh / interval_s x 3600``
  (veh/h) and the reported mean speed (km/h, ``nan`` where the sensor gives none) against the
  twin's smoothed outflow and speed of the cell holding the detector
  (:data:`twin.engine.SMOOTHING_S` time constant) when the reading arrived;
- **checkpoint** (per checkpoint and interval, lane types summed): observed served persons per
  minute against the model's own served persons over the same interval (the per-minute
  history of :mod:`twin.crowd.checkpoints`, which holds the model's dynamics and never a
  correction: the "innovation" of the assimilation), and the wait: the model's wait at the end of
  the interval (the history row, written before the batch was applied) against the wait
  estimated from the counts (the queue and lane rates after assimilation).

Each series is a ring of :data:`RING_ROWS` readings per detector or checkpoint; the queries
return the readings of the last :data:`WINDOW_S` seconds, oldest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin.crowd import checkpoints, pedestrians
from twin.feeds.checkpoint_assimilation import modelled_counts

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.feeds.batch import CheckpointCounts, DetectorCounts

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KEY = "observations"
WINDOW_S = 3600.0
"""The panels show the last hour."""
RING_ROWS = 256
"""Readings kept per detector or checkpoint (an hour at 15 s intervals)."""
DETECTOR_FIELDS = (
    "observed_flow_vph",
    "modelled_flow_vph",
    "observed_speed_kph",
    "modelled_speed_kph",
)
CHECKPOINT_FIELDS = (
    "observed_served_ppm",
    "modelled_served_ppm",
    "observed_wait_s",
    "modelled_wait_s",
)


@dataclass
class Series:
    """Rings of readings of ``n`` sensors: ``time_s`` ``(n, R)`` (interval ends, ``nan`` =
    empty), one ``(n, R)`` array per field, and ``next_row`` ``(n,)`` (row written next)."""

    time_s: FloatArray
    values: dict[str, FloatArray]
    next_row: IntArray

    @classmethod
    def empty(cls, n: int, fields: tuple[str, ...], rows: int = RING_ROWS) -> Series:
        return cls(
            time_s=np.full((n, rows), np.nan),
            values={name: np.full((n, rows), np.nan) for name in fields},
            next_row=np.zeros(n, dtype=np.int64),
        )

    def copy(self) -> Series:
        return replace(
            self,
            time_s=self.time_s.copy(),
            values={k: v.copy() for k, v in self.values.items()},
            next_row=self.next_row.copy(),
        )

    def __deepcopy__(self, memo: dict) -> Series:
        return self.copy()

    def write(self, sensor: IntArray, time_s: FloatArray, values: dict[str, FloatArray]) -> None:
        """Append readings (any order; each sensor's in order of time), vectorised."""
        if len(sensor) == 0:
            return
        order = np.lexsort((time_s, sensor))
        sensor, time_s = sensor[order], time_s[order]
        first = np.r_[True, sensor[1:] != sensor[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(sensor)), 0))
        rows = self.time_s.shape[1]
        slot = (self.next_row[sensor] + np.arange(len(sensor)) - start) % rows
        self.time_s[sensor, slot] = time_s
        for name, array in self.values.items():
            array[sensor, slot] = np.asarray(values[name], dtype=float)[order]
        np.add.at(self.next_row, sensor, 1)
        self.next_row %= rows

    def last(self, sensor: int, since_s: float) -> dict[str, list[float]]:
        """The readings of ``sensor`` at or after ``since_s``, oldest first, as plain lists."""
        times = self.time_s[sensor]
        keep = np.flatnonzero(np.isfinite(times) & (times >= since_s))
        keep = keep[np.argsort(times[keep], kind="stable")]
        out = {"time_s": [float(t) for t in times[keep]]}
        for name, array in self.values.items():
            out[name] = [_plain(v) for v in array[sensor, keep]]
        return out

    def newest(self) -> dict[str, FloatArray]:
        """Each sensor's newest reading: ``time_s`` and every field, ``(n,)`` (``nan`` if none)."""
        rows = self.time_s.shape[1]
        row = (self.next_row - 1) % rows
        sensors = np.arange(len(row))
        out = {"time_s": self.time_s[sensors, row].copy()}
        for name, array in self.values.items():
            out[name] = array[sensors, row].copy()
        return out


def _plain(value: float) -> float | None:
    """A float for JSON and charts; ``None`` for a missing value."""
    return float(value) if math.isfinite(value) else None


@dataclass
class ObservationState:
    """The rolling histories (``engine.state.extras[KEY]``)."""

    detectors: Series
    checkpoints: Series

    def __deepcopy__(self, memo: dict) -> ObservationState:
        return ObservationState(self.detectors.copy(), self.checkpoints.copy())


@dataclass(frozen=True, eq=False)
class ObservationsExtension:
    """Shows the newest observed and modelled values in the published view (readers, the
    forecast skill); the history changes only through :func:`note_detectors` and
    :func:`note_checkpoints`."""

    name: str = KEY
    crowd: bool = False

    def step(self, engine: Engine, dt_s: float) -> None:
        return None

    def view(self, engine: Engine) -> dict[str, Any]:
        return {KEY: latest(engine)}


def attach(engine: Engine) -> ObservationState:
    """Attach the observation history to ``engine`` (once; later calls return it)."""
    state = engine.state.extras.get(KEY)
    if state is None:
        n_detectors = 0 if engine.scenario.detectors is None else len(engine.scenario.detectors)
        layout = getattr(engine, "pedestrians", None)
        n_checkpoints = 0 if layout is None else len(layout.specs)
        state = ObservationState(
            detectors=Series.empty(n_detectors, DETECTOR_FIELDS),
            checkpoints=Series.empty(n_checkpoints, CHECKPOINT_FIELDS),
        )
        engine.state.extras[KEY] = state
    if engine.extension(KEY) is None:
        engine.attach(ObservationsExtension())
    return state


def detector_cells(engine: Engine) -> IntArray:
    """``(D,)`` cell of each detector of the scenario: the cell of its link holding its position."""
    sites = engine.scenario.detectors
    if sites is None or not len(sites):
        return np.zeros(0, dtype=np.int64)
    net = engine.net
    link = sites["link_id"].to_numpy(dtype=np.int64)
    first, last = net.link_first_cell[link], net.link_last_cell[link]
    cell_m = net.cell_length_m[first]
    along = np.floor(sites["position_m"].to_numpy(dtype=float) / cell_m).astype(np.int64)
    return np.clip(first + along, first, last)


def modelled_at_detectors(engine: Engine) -> tuple[FloatArray, FloatArray]:
    """``(flow_vph, speed_kph)`` of the twin at each detector's cell now (smoothed)."""
    cells = detector_cells(engine)
    state, net = engine.state, engine.net
    outflow = state.smooth_outflow_vps[cells]
    vehicles = state.smooth_vehicles[cells]
    free_mps = net.link_free_speed_mps[net.cell_link[cells]]
    speed_mps = np.where(
        vehicles > 1e-6,
        np.minimum(free_mps, outflow * net.cell_length_m[cells] / np.maximum(vehicles, 1e-12)),
        free_mps,
    )
    return outflow * 3600.0, speed_mps * 3.6


def note_detectors(engine: Engine, counts: DetectorCounts) -> int:
    """Add a (validated) detector batch's readings, with the twin's values, to the history.

    Returns
    -------
    int
        Readings added.
    """
    state = attach(engine)
    index = np.asarray(counts.detector_index, dtype=np.int64)
    if len(index) == 0:
        return 0
    flow_vph, speed_kph = modelled_at_detectors(engine)
    interval_s = np.asarray(counts.interval_s, dtype=float)
    state.detectors.write(
        index,
        np.asarray(counts.interval_end_s, dtype=float),
        {
            "observed_flow_vph": np.asarray(counts.count_veh, dtype=float) / interval_s * 3600.0,
            "modelled_flow_vph": flow_vph[index],
            "observed_speed_kph": np.asarray(counts.speed_kph, dtype=float),
            "modelled_speed_kph": speed_kph[index],
        },
    )
    return len(index)


def note_checkpoints(engine: Engine, counts: CheckpointCounts) -> int:
    """Add a (validated, assimilated) checkpoint batch to the history: one reading per
    checkpoint and interval (lane types summed).

    Returns
    -------
    int
        Readings added.
    """
    state = attach(engine)
    layout = getattr(engine, "pedestrians", None)
    if layout is None or len(counts) == 0:
        return 0
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    index = np.asarray(counts.checkpoint_index, dtype=np.int64)
    end_s = np.asarray(counts.interval_end_s, dtype=float)
    keys, inverse = np.unique(np.column_stack([end_s, index]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    served = np.bincount(inverse, np.asarray(counts.served_persons, dtype=float), len(keys))
    interval_s = np.zeros(len(keys))
    np.maximum.at(interval_s, inverse, np.asarray(counts.interval_s, dtype=float))
    ends, which = keys[:, 0], keys[:, 1].astype(np.int64)
    n = len(layout.specs)
    start = np.full((len(keys), n), np.nan)
    start[:] = (ends - interval_s)[:, None]
    _, model_served, covered = modelled_counts(cp, start, np.repeat(ends[:, None], n, axis=1))
    rows = np.arange(len(keys))
    minutes = np.maximum(interval_s * covered[rows, which], 1e-9) / 60.0
    state.checkpoints.write(
        which,
        ends,
        {
            "observed_served_ppm": served / np.maximum(interval_s, 1e-9) * 60.0,
            "modelled_served_ppm": np.where(
                covered[rows, which] > 0, model_served[rows, which] / minutes, np.nan
            ),
            "observed_wait_s": checkpoints.mean_wait_now_s(layout.specs, cp)[which],
            "modelled_wait_s": _history_wait_s(cp, ends, which),
        },
    )
    return len(keys)


def _history_wait_s(
    cp: checkpoints.CheckpointState, end_s: FloatArray, which: IntArray
) -> FloatArray:
    """The model's wait written at the minute boundary closing each interval (``nan`` if the
    ring holds no such row)."""
    minute = np.floor(end_s / 60.0).astype(np.int64) - 1
    match = cp.history_minute[None, :] == minute[:, None]  # (K, R)
    found = match.any(axis=1)
    row = np.argmax(match, axis=1)
    return np.where(found, cp.history_wait_s[row, which], np.nan)


# ---------------------------------------------------------------- reading
def link_series(
    engine: Engine, link_id: int, *, window_s: float = WINDOW_S
) -> list[dict[str, Any]]:
    """Per detector on ``link_id``: its id, kind, position and readings of the last window."""
    state = engine.state.extras.get(KEY)
    sites = engine.scenario.detectors
    if sites is None or not len(sites):
        return []
    since = engine.time_s - window_s
    out = []
    for d in np.flatnonzero(sites["link_id"].to_numpy() == link_id):
        row = sites.iloc[int(d)]
        readings = (
            state.detectors.last(int(d), since)
            if state is not None
            else {"time_s": [], **{f: [] for f in DETECTOR_FIELDS}}
        )
        out.append(
            {
                "detector_id": str(row["detector_id"]),
                "kind": str(row.get("kind", "")),
                "position_m": float(row["position_m"]),
                **readings,
            }
        )
    return out


def checkpoint_series(engine: Engine, index: int, *, window_s: float = WINDOW_S) -> dict[str, Any]:
    """The readings of checkpoint ``index`` over the last window."""
    state = engine.state.extras.get(KEY)
    if state is None or index >= state.checkpoints.time_s.shape[0]:
        return {"time_s": [], **{f: [] for f in CHECKPOINT_FIELDS}}
    return state.checkpoints.last(index, engine.time_s - window_s)


def latest(engine: Engine) -> dict[str, Any]:
    """The newest reading of each detector and checkpoint (plain arrays, ``nan`` where none):
    ``{"detectors": {"time_s", <DETECTOR_FIELDS>}, "checkpoints": {"time_s", ...}}``."""
    state = engine.state.extras.get(KEY)
    if state is None:
        return {"detectors": {"time_s": np.zeros(0)}, "checkpoints": {"time_s": np.zeros(0)}}
    return {"detectors": state.detectors.newest(), "checkpoints": state.checkpoints.newest()}


def last_data_s(newest: Any) -> dict[str, float]:
    """Per feed kind (``detectors``, ``checkpoints``) that ever delivered: the time of its newest
    reading, from :func:`latest`'s output (for :func:`twin.service.alarms.feed_conditions`)."""
    out = {}
    for kind in ("detectors", "checkpoints"):
        times = np.asarray(((newest or {}).get(kind) or {}).get("time_s", ()), dtype=float)
        if np.isfinite(times).any():
            out[kind] = float(np.nanmax(times))
    return out
