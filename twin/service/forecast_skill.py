"""Forecast skill online: each forecast's recent error against what the feeds then showed.

Traffic centres trust a forecast that shows its own error (Aimsun Online tracks prediction quality
against thresholds). The live twin's forecasts (:class:`twin.service.live.LiveTwin`'s background
thread: views at +15/+30/+60 min, and the checkpoint wait prediction of the checkpoint panel,
:func:`twin.crowd.checkpoints.predict_wait_s`) are kept until their time comes; when a feed
reading for that time arrives (the newest readings are in the published view,
:func:`twin.feeds.observations.latest`), the pair becomes an error sample. The summary gives, per
horizon, over the samples whose target time lies in the last :data:`WINDOW_S`:

- links: RMSE and mean absolute error of the forecast flow (veh/h) at detector links against the
  counted flow, and of the speed (km/h) where detectors measure it;
- checkpoints: per checkpoint, the mean absolute error (s) of the predicted wait against the wait
  estimated from the counts (queue and lane rates after assimilation), for the forecast thread's
  views (``forecast``) and for the panel's wait prediction (``panel``).

Forecasts finish when the background thread finishes, so this is an output, like alerts: it
lives in the service (not in the engine state, which must replay bit for bit) and is published
in the frame (``Frame.forecast_skill``). A reading is paired with a forecast when its interval
ends at or after the forecast's target time and within :data:`MATCH_S` of it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Mapping

    from twin.engine import Engine, TwinView

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOW_S = 3600.0
"""Errors are summarised over forecasts whose target time is in the last hour."""
MATCH_S = 300.0
"""A reading pairs with a forecast if its interval ends within this long after the target."""
HORIZONS_S = (900, 1800, 3600)
PANEL_HORIZONS_S = (900, 1800)
"""The checkpoint panel predicts the wait at +15 and +30 min."""
HORIZON_NAMES = {900: "plus15", 1800: "plus30", 3600: "plus60"}
SOURCES = ("forecast", "panel")
QUANTITIES = ("flow_vph", "speed_kph", "wait_s")


@dataclass
class _Pending:
    target_s: float
    horizon_s: int
    source: str  # "forecast" or "panel"
    flow_vph: FloatArray  # (D,) forecast flow on each detector's link (nan: none)
    speed_kph: FloatArray  # (D,)
    wait_s: FloatArray  # (C,) predicted wait per checkpoint
    flow_done: npt.NDArray[np.bool_]
    wait_done: npt.NDArray[np.bool_]


def panel_predictions(engine: Engine) -> dict[int, FloatArray]:
    """The checkpoint panel's predicted waits (s) at +15 and +30 min, by horizon: the fluid-queue
    prediction of :func:`twin.crowd.pedestrians.checkpoint_table` (run on a fork, off the loop)."""
    from twin.crowd import checkpoints, pedestrians

    layout = getattr(engine, "pedestrians", None)
    if layout is None:
        return {}
    state = engine.state.extras[pedestrians.KEY].checkpoints
    forecast = pedestrians.arrival_forecast_pps(engine, max(PANEL_HORIZONS_S))
    predicted = checkpoints.predict_wait_s(layout.specs, state, forecast, dt_s=60.0)
    return {h: predicted[h // 60 - 1].copy() for h in PANEL_HORIZONS_S}


class ForecastSkill:
    """Pairs past forecasts with the readings that arrive for their time; thread-safe.

    Parameters
    ----------
    detector_links
        ``(D,)`` link of each detector of the scenario (row order of ``scenario.detectors``).
    """

    def __init__(self, detector_links: npt.ArrayLike = ()) -> None:
        self._links = np.asarray(detector_links, dtype=np.int64)
        self._lock = threading.Lock()
        self._incoming: deque[tuple[float, dict[int, Any], dict[int, FloatArray]]] = deque(maxlen=4)
        self._pending: list[_Pending] = []
        self._bases: set[float] = set()
        self._chunks: list[dict[str, np.ndarray]] = []  # pairs: columns in chunks
        self._added = 0
        self._cache: tuple[tuple[int, int], dict[str, Any]] | None = None

    @classmethod
    def of(cls, engine: Engine) -> ForecastSkill:
        """A tracker for ``engine``'s scenario (its detector sites)."""
        sites = engine.scenario.detectors
        links = () if sites is None else sites["link_id"].to_numpy(dtype=np.int64)
        return cls(links)

    # ------------------------------------------------------------ feeding
    def note_forecast(
        self, base_s: float, views: Mapping[int, Any], panel: Mapping[int, FloatArray] | None = None
    ) -> None:
        """A finished forecast (from the forecast thread): views by horizon and the panel's
        predicted waits by horizon, both started at ``base_s``."""
        with self._lock:
            self._incoming.append((float(base_s), dict(views), dict(panel or {})))

    def note_fork(self, fork: Engine, views: Mapping[int, Any]) -> None:
        """A finished forecast run from ``fork`` (the forecast thread's copy, still at the
        forecast's start): its views and the panel's predicted waits from the same state. A
        failure is logged, never raised (the forecasts themselves are already published)."""
        try:
            self.note_forecast(fork.time_s, views, panel_predictions(fork))
        except Exception:
            log.exception("forecast skill: the forecast starting at %s was not kept", fork.time_s)

    def update(self, view: TwinView) -> dict[str, Any]:
        """Take new forecasts, pair due ones with ``view``'s newest readings, and summarise
        (in the loop thread, once per published frame)."""
        with self._lock:
            incoming = list(self._incoming)
            self._incoming.clear()
        for base_s, views, panel in incoming:
            self._register(base_s, views, panel)
        newest = view.extras.get("observations") if view.extras is not None else None
        if newest is not None:
            self._resolve(newest, float(view.time_s))
        return self.summary(float(view.time_s))

    def _register(self, base_s: float, views: dict[int, Any], panel: dict[int, FloatArray]) -> None:
        if base_s in self._bases or not math.isfinite(base_s):
            return
        self._bases = {b for b in self._bases if b > base_s - 2 * WINDOW_S} | {base_s}
        n_d = len(self._links)
        for horizon, future in views.items():
            flow = np.asarray(future.links["flow_vph"], dtype=float)[self._links]
            speed = np.asarray(future.links["speed_kph"], dtype=float)[self._links]
            people = future.extras.get("pedestrians") or {}
            wait = np.asarray((people.get("checkpoints") or {}).get("wait_s", ()), dtype=float)
            self._pending.append(
                _Pending(
                    base_s + horizon, int(horizon), "forecast", flow, speed, wait,
                    np.zeros(n_d, dtype=bool), np.zeros(len(wait), dtype=bool),
                )
            )  # fmt: skip
        for horizon, wait in panel.items():
            wait = np.asarray(wait, dtype=float)
            self._pending.append(
                _Pending(
                    base_s + horizon, int(horizon), "panel", np.full(n_d, np.nan),
                    np.full(n_d, np.nan), wait, np.ones(n_d, dtype=bool),
                    np.zeros(len(wait), dtype=bool),
                )
            )  # fmt: skip

    def _resolve(self, newest: Mapping[str, Any], now_s: float) -> None:
        detectors = newest.get("detectors") or {}
        gates = newest.get("checkpoints") or {}
        d_time = np.asarray(detectors.get("time_s", ()), dtype=float)
        c_time = np.asarray(gates.get("time_s", ()), dtype=float)
        with np.errstate(invalid="ignore"):
            newest_s = max(np.nanmax(d_time, initial=-np.inf), np.nanmax(c_time, initial=-np.inf))
        keep = []
        for item in self._pending:
            if item.target_s > newest_s:  # not due yet (most of them): no work
                keep.append(item)
                continue
            self._pair_flows(item, d_time, detectors)
            self._pair_waits(item, c_time, gates)
            open_flows = ~item.flow_done & np.isfinite(item.flow_vph)
            if now_s <= item.target_s + MATCH_S and (open_flows.any() or (~item.wait_done).any()):
                keep.append(item)
        self._pending = keep

    def _due(self, times: FloatArray, target_s: float, done: npt.NDArray[np.bool_]) -> IntArray:
        n = min(len(times), len(done))
        t = times[:n]
        with np.errstate(invalid="ignore"):
            due = ~done[:n] & np.isfinite(t) & (t >= target_s) & (t <= target_s + MATCH_S)
        return np.flatnonzero(due)

    def _pair_flows(self, item: _Pending, times: FloatArray, newest: Mapping[str, Any]) -> None:
        due = self._due(times, item.target_s, item.flow_done)
        if not len(due):
            return
        observed_flow = np.asarray(newest["observed_flow_vph"], dtype=float)[due]
        observed_speed = np.asarray(newest["observed_speed_kph"], dtype=float)[due]
        self._add(item, "flow_vph", due, item.flow_vph[due], observed_flow)
        self._add(item, "speed_kph", due, item.speed_kph[due], observed_speed)
        item.flow_done[due] = True

    def _pair_waits(self, item: _Pending, times: FloatArray, newest: Mapping[str, Any]) -> None:
        due = self._due(times, item.target_s, item.wait_done)
        if not len(due):
            return
        observed = np.asarray(newest["observed_wait_s"], dtype=float)[due]
        self._add(item, "wait_s", due, item.wait_s[due], observed)
        item.wait_done[due] = True

    def _add(
        self,
        item: _Pending,
        quantity: str,
        sensor: IntArray,
        predicted: FloatArray,
        observed: FloatArray,
    ) -> None:
        """Append the finite pairs as a chunk of sample columns."""
        ok = np.isfinite(predicted) & np.isfinite(observed)
        if not ok.any():
            return
        count = int(ok.sum())
        self._chunks.append(
            {
                "target_s": np.full(count, item.target_s),
                "source": np.full(count, SOURCES.index(item.source)),
                "horizon_s": np.full(count, item.horizon_s),
                "quantity": np.full(count, QUANTITIES.index(quantity)),
                "sensor": np.asarray(sensor)[ok],
                "error": (predicted - observed)[ok],
            }
        )
        self._added += 1

    # ------------------------------------------------------------ reading
    def summary(self, now_s: float) -> dict[str, Any]:
        """Errors over the last :data:`WINDOW_S` (plain data, ``None`` where no sample).

        Recomputed only when samples arrived or a simulated minute passed (the loop calls it
        once per frame).

        Returns
        -------
        dict
            ``window_s``; ``links``: per horizon name (``plus15`` ...) ``flow_rmse_vph``,
            ``flow_mae_vph``, ``speed_rmse_kph``, ``samples``; ``checkpoints``: per source
            (``forecast``, ``panel``) and horizon name, ``wait_mae_s`` (a list per checkpoint,
            ``None`` where no sample) and ``samples`` (a list per checkpoint).
        """
        key = (self._added, math.floor(now_s / 60.0))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        if self._chunks:  # one chunk of the samples still in the window
            merged = {k: np.concatenate([c[k] for c in self._chunks]) for k in self._chunks[0]}
            keep = merged["target_s"] >= now_s - WINDOW_S - MATCH_S
            self._chunks = [{k: v[keep] for k, v in merged.items()}] if keep.any() else []
        result = _summarise(self._chunks[0] if self._chunks else None, now_s)
        self._cache = (key, result)
        return result


def _summarise(samples: dict[str, np.ndarray] | None, now_s: float) -> dict[str, Any]:
    links: dict[str, Any] = {}
    gates: dict[str, dict[str, Any]] = {"forecast": {}, "panel": {}}
    if samples is None:
        samples = {k: np.zeros(0) for k in ("target_s", "source", "horizon_s", "quantity")}
        samples.update(sensor=np.zeros(0, dtype=np.int64), error=np.zeros(0))
    target, horizon, error = samples["target_s"], samples["horizon_s"], samples["error"]
    source, quantity, sensor = samples["source"], samples["quantity"], samples["sensor"]
    recent = (target >= now_s - WINDOW_S) & (target <= now_s + MATCH_S)
    waits = quantity == QUANTITIES.index("wait_s")
    n_c = int(sensor[waits].max()) + 1 if waits.any() else 0
    forecast = source == SOURCES.index("forecast")
    for h in HORIZONS_S:
        name = HORIZON_NAMES[h]
        of = recent & (horizon == h)
        flow = error[of & forecast & (quantity == QUANTITIES.index("flow_vph"))]
        speed = error[of & forecast & (quantity == QUANTITIES.index("speed_kph"))]
        links[name] = {
            "flow_rmse_vph": _rmse(flow),
            "flow_mae_vph": _mae(flow),
            "speed_rmse_kph": _rmse(speed),
            "samples": len(flow),
        }
        for kind in gates:
            rows = of & (source == SOURCES.index(kind)) & waits
            if not rows.any():
                continue
            count = np.bincount(sensor[rows].astype(int), minlength=n_c)
            total = np.bincount(sensor[rows].astype(int), np.abs(error[rows]), minlength=n_c)
            gates[kind][name] = {
                "wait_mae_s": [
                    float(t / c) if c else None for t, c in zip(total, count, strict=True)
                ],
                "samples": [int(c) for c in count],
            }
    return {"window_s": WINDOW_S, "links": links, "checkpoints": gates}


def _rmse(error: FloatArray) -> float | None:
    return float(np.sqrt(np.mean(error**2))) if len(error) else None


def _mae(error: FloatArray) -> float | None:
    return float(np.mean(np.abs(error))) if len(error) else None
