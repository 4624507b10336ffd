"""The live twin: the engine advancing in a background thread, publishing frames to a store.

:class:`LiveTwin` owns the engine. Its loop thread is the only writer: it applies queued
commands (operator actions, alert acknowledgements), advances the simulated clock by
``speed`` simulated seconds per wall second (unless paused), updates the alarm book and
publishes an immutable :class:`twin.service.store.Frame` about once per wall second. Forecasts run in a
second thread on a fork of the engine taken by the loop, every ``forecast_period_s`` wall
seconds, never inside a reader's request.

Every change reaches the loop through :class:`twin.service.commands.CommandPath` (validate, record,
apply, acknowledge); readers use :meth:`LiveTwin.query` (named read-only queries of
:mod:`twin.service.queries`) or the published frames. With a :class:`twin.service.recorder.Recorder` the loop
also writes a snapshot every :data:`twin.service.recorder.SNAPSHOT_EVERY_S` simulated seconds and the
KPIs and alert list every simulated minute. :meth:`LiveTwin.run_until` runs the same loop body
without a thread and without the wall clock (headless days and forks).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.feeds import observations
from twin.service import alarms, queries
from twin.service.forecast_skill import ForecastSkill
from twin.service.recorder import SAMPLE_EVERY_S, SNAPSHOT_EVERY_S, Recorder
from twin.service.store import Frame, InProcessStore, Store

if TYPE_CHECKING:
    from twin.engine import Engine, TwinView

log = logging.getLogger(__name__)

WALL_KPIS = (
    "vehicles_in_network",
    "mean_speed_kph",
    "total_delay_vehh",
    "spectators_on_site",
    "peak_density_ppm2",
    "worst_wait_s",
    "open_alerts",
)
"""The KPIs of the control-room strip, in display order (also the history series)."""
CLOCK_MODES = ("simulation", "live")
CLOCK_SPEEDS = (1.0, 5.0, 10.0, 30.0, 60.0)
"""Clock speeds (simulated seconds per wall second) an operator may choose; the configured
start speed is allowed as well."""


@dataclass(frozen=True)
class LiveSettings:
    """How the live loop runs.

    Attributes
    ----------
    speed
        Simulated seconds per wall second (1 = real time).
    publish_period_s
        Wall seconds between published frames.
    forecast_period_s
        Wall seconds between background forecast runs (0 disables forecasts).
    forecast_marks_s
        Forecast horizons, simulated seconds ahead.
    history_window_s, history_step_s
        KPI history kept for sparklines: window and sampling step, simulated seconds.
    max_lag_s
        Simulated time the loop may owe before it gives up catching up (the clock then runs
        slower than ``speed`` and ``Frame.view`` says so through its time).
    stall_after_s
        Wall seconds without a new frame after which the watchdog reports the loop stalled
        (logs it, counts it, and restarts the loop thread if it died).
    mode
        ``"simulation"``: a demonstration or training run of a scenario day at ``speed``, which
        an admin may pause or speed up; ``"live"``: the twin follows the wall clock (speed 1,
        clock changes refused).
    """

    speed: float = 10.0
    publish_period_s: float = 1.0
    forecast_period_s: float = 30.0
    forecast_marks_s: tuple[int, ...] = (900, 1800, 3600)
    history_window_s: float = 3600.0
    history_step_s: float = 60.0
    max_lag_s: float = 120.0
    stall_after_s: float = 10.0
    mode: str = "simulation"
    alarm: alarms.AlarmSettings = field(default_factory=alarms.AlarmSettings)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")
        if not self.publish_period_s > 0:
            raise ValueError(f"publish_period_s must be > 0, got {self.publish_period_s}")
        if self.forecast_period_s < 0:
            raise ValueError(f"forecast_period_s must be >= 0, got {self.forecast_period_s}")
        if self.mode not in CLOCK_MODES:
            raise ValueError(f"mode must be one of {CLOCK_MODES}, got {self.mode!r}")
        if not self.stall_after_s > 0:
            raise ValueError(f"stall_after_s must be > 0, got {self.stall_after_s}")
        if not 0 < self.history_step_s <= self.history_window_s:
            raise ValueError(
                "history_step_s must be > 0 and <= history_window_s, "
                f"got {self.history_step_s} and {self.history_window_s}"
            )


# ------------------------------------------------------------------ KPIs
def view_extra(view: TwinView, name: str) -> Any:
    """``view.extras[name]``, or ``None`` when the view does not carry it (yet)."""
    extras = getattr(view, "extras", None) or {}
    return extras.get(name) if hasattr(extras, "get") else None


def _array_max(mapping: Any, name: str) -> tuple[float, int]:
    values = None if mapping is None else (mapping.get(name) if hasattr(mapping, "get") else None)
    if values is None:
        return math.nan, -1
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0 or not np.isfinite(array).any():
        return math.nan, -1
    index = int(np.nanargmax(array))
    return float(array[index]), index


def wall_kpis(view: TwinView, *, open_alerts: int | None = None) -> dict[str, float]:
    """The strip's KPIs from a view; ``nan`` for what the view does not carry.

    Traffic KPIs come from ``view.kpis``; spectators, peak density and the worst checkpoint
    wait from ``view.extras['pedestrians']`` (absent for a scenario without venues).
    """
    kpis = dict(getattr(view, "kpis", {}) or {})
    out = {name: float(kpis.get(name, math.nan)) for name in WALL_KPIS}
    people = view_extra(view, "pedestrians")
    if people is not None:
        out["spectators_on_site"] = float(people.get("on_site_persons", math.nan))
        out["peak_density_ppm2"] = float(people.get("peak_density_ppm2", math.nan))
        out["worst_wait_s"] = _array_max(people.get("checkpoints"), "wait_s")[0]
    if open_alerts is not None:
        out["open_alerts"] = float(open_alerts)
    return out


def sample_kpis(view: TwinView, *, open_alerts: int) -> dict[str, float]:
    """What a recording keeps every simulated minute: the strip's KPIs plus the checkpoint and
    crowd figures a planner compares (persons-weighted mean wait, s; share of arrivals whose
    wait was within the target; crush alerts in force; ambulances en route)."""
    out = wall_kpis(view, open_alerts=open_alerts)
    people = view_extra(view, "pedestrians")
    if people is not None:
        cps = people["checkpoints"]
        queue_p = np.asarray(cps["queue_persons"], dtype=float)
        wait = np.nan_to_num(np.asarray(cps["wait_s"], dtype=float))
        arrived = float(np.sum(cps["arrived_persons"]))
        out["mean_wait_s"] = (
            float((queue_p * wait).sum() / queue_p.sum()) if queue_p.sum() > 1e-9 else 0.0
        )
        out["share_under_target"] = (
            float(np.sum(cps["arrived_under_target"]) / arrived) if arrived > 0 else math.nan
        )
        out["crush_alerts"] = float(len(people.get("crush_alerts", ())))
    ambulances = view_extra(view, "ambulances") or ()
    out["ambulances_en_route"] = float(sum(1 for a in ambulances if a.get("state") == "en route"))
    return out


FORECAST_MAX_AGE_S = 600.0
"""Forecasts older than this (simulated seconds) state no forecast alerts."""


def alarm_conditions(
    roads: alarms.RoadGroups,
    view: TwinView,
    forecasts: dict[int, Any],
    base_s: float,
    active: Mapping[str, str],
    places: alarms.Places | None = None,
) -> list[alarms.Condition]:
    """This tick's alarm conditions: road congestion now and forecast, crush risk and
    checkpoint waits (``view.extras['pedestrians']``, located through ``places``)."""
    age = view.time_s - base_s if forecasts else 0.0
    usable = forecasts if 0 <= age < FORECAST_MAX_AGE_S else {}
    conditions = alarms.road_conditions(
        roads, view.links, usable, forecast_age_s=age, active=active
    )
    people = view_extra(view, "pedestrians")
    if people is not None and places is not None:
        conditions += alarms.pedestrian_conditions(people, places, active=active)
    feeds = observations.last_data_s(view_extra(view, observations.KEY))
    return conditions + alarms.feed_conditions(feeds, view.time_s)


class _History:
    """KPI samples of the last window, one per step of simulated time."""

    def __init__(self, window_s: float, step_s: float) -> None:
        self.step_s = step_s
        self.samples: deque[tuple[float, dict[str, float]]] = deque(
            maxlen=int(window_s // step_s) + 1
        )

    def add(self, time_s: float, values: dict[str, float]) -> bool:
        if self.samples and time_s - self.samples[-1][0] < self.step_s - 1e-9:
            return False
        if self.samples and time_s < self.samples[-1][0]:
            self.samples.clear()  # the clock went back (restore): start again
        self.samples.append((time_s, values))
        return True

    def arrays(self) -> MappingProxyType:
        times = np.array([t for t, _ in self.samples], dtype=float)
        out = {"time_s": times}
        for name in WALL_KPIS:
            out[name] = np.array([v[name] for _, v in self.samples], dtype=float)
        for array in out.values():
            array.setflags(write=False)
        return MappingProxyType(out)


# ------------------------------------------------------------------ the loop
class LiveTwin:
    """Run ``engine`` live and publish frames to ``store``.

    Parameters
    ----------
    engine
        A :class:`twin.engine.Engine` (owned by this object from now on: touch it only through
        :meth:`submit` and :meth:`call`).
    store
        Where frames go (default: a new :class:`twin.service.store.InProcessStore`).
    settings
        Clock, publishing, forecast and history settings.
    recorder
        Where the day is recorded (snapshots and samples from the loop; the command path writes
        the inputs); ``None`` records nothing.
    """

    def __init__(
        self,
        engine: Engine,
        store: Store | None = None,
        *,
        settings: LiveSettings | None = None,
        recorder: Recorder | None = None,
        paused: bool = False,
        speed: float | None = None,
        clock_change: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store if store is not None else InProcessStore()
        self.settings = settings or LiveSettings()
        self.recorder = recorder
        self._speed = float(speed) if speed is not None else self.settings.speed
        self._paused = bool(paused)
        self.clock_change = dict(clock_change) if clock_change else None
        self._commands: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._forecaster: threading.Thread | None = None
        self._forks: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._forecast_lock = threading.Lock()
        self._forecasts: tuple[float, dict[int, Any]] = (math.nan, {})
        self._history = _History(self.settings.history_window_s, self.settings.history_step_s)
        self.alarm_book = alarms.AlarmBook(self.settings.alarm)
        self._roads = alarms.road_groups(engine.scenario.links)
        self._places = alarms.places_of(engine)
        self.forecast_skill = ForecastSkill.of(engine)
        self._seq = -1
        self._changes = 0  # commands and clock changes applied so far (content may have changed)
        self._content_key: tuple | None = None  # what the last frame showed (see _publish)
        self._forecast_key: tuple | None = None  # the state the last forecast started from
        self._forecast_runs = 0  # forecasts finished so far
        self.loop_errors = 0
        self.stalls = 0
        self.loop_restarts = 0
        self._stalled_since: float | None = None
        self._last_frame_wall_s = time.time()
        self._watchdog: threading.Thread | None = None
        self._next_sample_s = self._next_snapshot_s = math.inf

    # ---------------------------------------------------------------- control
    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def allowed_speeds(self) -> tuple[float, ...]:
        """Clock speeds the command path accepts: :data:`CLOCK_SPEEDS` and the start speed."""
        return tuple(sorted({*CLOCK_SPEEDS, float(self.settings.speed)}))

    @property
    def mode(self) -> str:
        return self.settings.mode

    def apply_clock(
        self, *, paused: bool | None = None, speed: float | None = None, by: str = ""
    ) -> None:
        """Change the clock (the command path calls this in the loop thread, after recording);
        ``by`` is who, shown on every screen."""
        if speed is not None:
            if not (isinstance(speed, (int, float)) and math.isfinite(speed) and speed > 0):
                raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
            self._speed = float(speed)
        if paused is not None:
            self._paused = bool(paused)
        action = "speed" if speed is not None else ("pause" if paused else "resume")
        self._changes += 1
        self.clock_change = {
            "user": by,
            "action": action,
            "speed": self._speed,
            "sim_time_s": float(self.engine.time_s),
            "wall_s": time.time(),
        }

    def start(self) -> LiveTwin:
        """Publish a first frame, then start the loop and forecast threads."""
        if self._thread is not None:
            raise RuntimeError("LiveTwin already started")
        self._publish()
        self._begin_recording()  # after the first publish: the first sample has its alerts
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="twin-live", daemon=True)
        self._thread.start()
        self._watchdog = threading.Thread(target=self._watch, name="twin-watchdog", daemon=True)
        self._watchdog.start()
        if self.settings.forecast_period_s > 0:
            self._forecaster = threading.Thread(
                target=self._forecast_worker, name="twin-forecast", daemon=True
            )
            self._forecaster.start()
        return self

    def stop(self, timeout_s: float = 5.0, *, close_day: bool = True) -> None:
        """Stop both threads (pending commands fail with RuntimeError) and close the recording:
        ``close_day`` marks the day closed (a clean shutdown), else it stays open to resume."""
        self._stop.set()
        for thread in (self._thread, self._forecaster, self._watchdog):
            if thread is not None:
                thread.join(timeout_s)
        self._thread = self._forecaster = self._watchdog = None
        while not self._commands.empty():
            _, future = self._commands.get_nowait()
            future.set_exception(RuntimeError("the live twin stopped"))
        if self.recorder is not None and not self.recorder.closed:
            self.recorder.close(self.engine.time_s if close_day else None)

    # ---------------------------------------------------------------- commands and queries
    def call(self, fn: Callable[[Any], Any]) -> Future:
        """Run ``fn(engine)`` in the loop thread; the future gets its result or exception.

        For :class:`twin.service.commands.CommandPath` and :meth:`query` only: the web side never
        passes functions into the loop.
        """
        future: Future = Future()
        self._commands.put((lambda: fn(self.engine), future))
        if self._thread is None:  # not running: apply now, in the caller's thread
            self._drain()
        return future

    def query(self, name: str, *args: Any, timeout_s: float = 30.0) -> Any:
        """The read-only query ``name`` of :data:`twin.service.queries.QUERIES`, run in the loop thread
        so it sees one consistent state. Bad arguments raise :class:`twin.errors.ActionError`."""
        fn = queries.QUERIES.get(name)
        if fn is None:
            raise KeyError(f"unknown query {name!r}; known: {sorted(queries.QUERIES)}")
        return self.call(lambda engine: fn(engine, *args)).result(timeout=timeout_s)

    def _drain(self) -> bool:
        ran = False
        while True:
            try:
                fn, future = self._commands.get_nowait()
            except queue.Empty:
                return ran
            ran = True
            self._changes += 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except Exception as error:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(error)

    # ---------------------------------------------------------------- loop
    def _run(self) -> None:
        period = self.settings.publish_period_s
        last = time.monotonic()
        next_publish = last + period
        next_forecast = last  # first forecast right away
        owed_s = 0.0
        while not self._stop.is_set():
            changed = self._drain()
            now = time.monotonic()
            if not self._paused:
                owed_s = min(owed_s + (now - last) * self._speed, self.settings.max_lag_s)
            last = now
            try:
                owed_s = self._advance(owed_s, deadline=next_publish)
                if self.settings.forecast_period_s > 0 and time.monotonic() >= next_forecast:
                    self._offer_fork()
                    next_forecast = time.monotonic() + self.settings.forecast_period_s
                due = time.monotonic() >= next_publish
                if due or changed:
                    self._publish()
                if due:  # a publish forced by a command does not move the schedule (it used to
                    # push it a period ahead per command: a burst of requests stopped the frames)
                    next_publish = max(next_publish + period, time.monotonic() + 0.5 * period)
            except Exception:
                self.loop_errors += 1
                log.exception("live loop step failed")
                self._stop.wait(period)
            self._stop.wait(max(0.0, min(0.05, next_publish - time.monotonic())))

    # ---------------------------------------------------------------- watchdog
    def _watch(self) -> None:
        """Every second: no frame for ``stall_after_s`` wall seconds is a stall. It is logged and
        counted (pages show "not updating since" from the frame age); a loop thread that died
        is restarted on the engine as it is (its state changes only between whole steps)."""
        while not self._stop.wait(1.0):
            age = time.time() - self._last_frame_wall_s
            if age > self.settings.stall_after_s:
                if self._stalled_since is None:
                    self._stalled_since = self._last_frame_wall_s
                    self.stalls += 1
                    log.error(
                        "live loop stalled: no frame for %.0f s (loop thread %s)",
                        age,
                        "alive" if self._thread is not None and self._thread.is_alive() else "dead",
                    )
                if (
                    self._thread is not None
                    and not self._thread.is_alive()
                    and not self._stop.is_set()
                ):
                    self.loop_restarts += 1
                    log.error(
                        "live loop thread died: restarting it (restart %d)", self.loop_restarts
                    )
                    self._thread = threading.Thread(target=self._run, name="twin-live", daemon=True)
                    self._thread.start()
            elif self._stalled_since is not None:
                log.warning(
                    "live loop publishing again after a stall of %.0f s",
                    self._last_frame_wall_s - self._stalled_since,
                )
                self._stalled_since = None

    def health(self) -> dict[str, Any]:
        """Whether the loop is publishing: newest frame's number, wall time and age (s),
        simulated time, the loop thread's state, stalls and errors so far."""
        frame = self.store.latest()
        return {
            "frame_seq": None if frame is None else frame.seq,
            "frame_wall_s": self._last_frame_wall_s,
            "frame_age_s": time.time() - self._last_frame_wall_s,
            "sim_time_s": None if frame is None else frame.time_s,
            "loop_alive": self._thread is not None and self._thread.is_alive(),
            "stalled_since_wall_s": self._stalled_since,
            "stalls": self.stalls,
            "loop_restarts": self.loop_restarts,
            "loop_errors": self.loop_errors,
        }

    def _advance(self, owed_s: float, *, deadline: float) -> float:
        """Step the engine through the owed simulated time, stopping at ``deadline``."""
        if not math.isfinite(owed_s):
            log.error("live loop owed a non-finite time (%r): reset to 0", owed_s)
            owed_s = 0.0
        dt = float(self.engine.dt_s)
        while owed_s >= dt and time.monotonic() < deadline and not self._stop.is_set():
            self.engine.step(dt)
            self._after_step()
            owed_s -= dt
            if not self._commands.empty():
                self._drain()
        return owed_s

    def run_until(self, until_s: float, *, progress: Callable[[float], None] | None = None) -> None:
        """Advance to simulated ``until_s`` in the caller's thread, as fast as it computes: the
        loop body of a live day (recording, alarms every simulated minute) without the wall
        clock. For headless days and forks; not while the loop thread runs."""
        if self._thread is not None:
            raise RuntimeError("run_until is for a LiveTwin whose loop thread is not running")
        if self._seq < 0:
            self._publish()
            self._begin_recording()
        self._step_to(until_s, progress=progress)

    def step_to(self, until_s: float, *, timeout_s: float = 600.0) -> float:
        """Advance a started (usually paused) twin to simulated ``until_s`` inside the loop
        thread, as :meth:`run_until` does (recording, alarms and a frame every simulated
        minute), then publish a frame at ``until_s``; the simulated time reached.

        Puts the twin at a moment of the day whatever the machine's speed (tests, and a paused
        demonstration moved on by hand); a paused clock stays there afterwards. Like
        :meth:`call`, it runs in the caller's thread when the loop thread is not running.
        """

        def advance(_engine: Engine) -> float:
            if self._seq < 0:
                self._publish()
                self._begin_recording()
            self._step_to(until_s)
            self._publish()
            return float(self.engine.time_s)

        return self.call(advance).result(timeout=timeout_s)

    def _step_to(self, until_s: float, *, progress: Callable[[float], None] | None = None) -> None:
        dt = float(self.engine.dt_s)
        while self.engine.time_s < until_s - 1e-9:
            self.engine.step(dt)
            self._after_step(publish=True)
            if progress is not None and self.engine.time_s % 60.0 < dt:
                progress(self.engine.time_s)

    def prime_alarms(self) -> None:
        """Raise at once the alerts whose conditions hold now (a fork or a resumed day starts
        mid-day with the alerts in force, instead of waiting out the on-delay with none)."""
        view = self.engine.view()
        book = self.alarm_book
        conditions = alarm_conditions(self._roads, view, {}, math.nan, book.active(), self._places)
        book.update(view.time_s - self.settings.alarm.on_delay_s, conditions)

    # ---------------------------------------------------------------- recording
    def _begin_recording(self) -> None:
        """Snapshot the start (or the resumed moment) and set the next sample and snapshot."""
        now = self.engine.time_s
        self._next_sample_s = math.floor(now / SAMPLE_EVERY_S + 1e-9) * SAMPLE_EVERY_S
        self._next_snapshot_s = (math.floor(now / SNAPSHOT_EVERY_S + 1e-9) + 1) * SNAPSHOT_EVERY_S
        if self.recorder is not None:
            self.recorder.record_snapshot(self.engine.state, now)
        self._after_step()

    def _after_step(self, *, publish: bool = False) -> None:
        """Sample every simulated minute and snapshot every few minutes (when recording)."""
        now = self.engine.time_s
        if now >= self._next_sample_s - 1e-9:
            self._next_sample_s = (math.floor(now / SAMPLE_EVERY_S + 1e-9) + 1) * SAMPLE_EVERY_S
            view = self.engine.view() if publish or self.recorder is not None else None
            frame = self._publish(view) if publish else None
            if self.recorder is not None:
                self._record_sample(now, view, frame)
        if self.recorder is not None and now >= self._next_snapshot_s - 1e-9:
            self._next_snapshot_s = (
                math.floor(now / SNAPSHOT_EVERY_S + 1e-9) + 1
            ) * SNAPSHOT_EVERY_S
            self.recorder.record_snapshot(self.engine.state, now)

    def _record_sample(self, now: float, view: TwinView, frame: Frame | None) -> None:
        """KPIs and alert list of this minute (the frame's when one was just published)."""
        feed = frame.alerts if frame is not None else self.alarm_book.feed(now)
        self.recorder.record_sample(
            now, sample_kpis(view, open_alerts=alarms.open_count(feed)), feed
        )

    def _offer_fork(self) -> None:
        if self._forks.full():
            return  # the previous forecast is still running: skip this period
        key = (float(self.engine.time_s), self._changes)
        if key == self._forecast_key:
            return  # a paused twin, untouched since the last forecast: it would say the same
        self._forecast_key = key
        self._forks.put(self.engine.fork())

    def _forecast_worker(self) -> None:
        marks = self.settings.forecast_marks_s
        while not self._stop.is_set():
            try:
                fork = self._forks.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                base = fork.time_s
                views = fork.forecast(max(marks), marks_s=marks)
            except Exception:
                log.exception("forecast failed")
                continue
            with self._forecast_lock:
                self._forecasts = (float(base), dict(views))
                self._forecast_runs += 1
            self.forecast_skill.note_fork(fork, views)  # never raises

    def forecasts(self) -> tuple[float, dict[int, Any]]:
        """Start time and views of the latest finished forecast."""
        with self._forecast_lock:
            return self._forecasts

    def _publish(self, view: TwinView | None = None) -> Frame:
        with self._forecast_lock:
            forecast_run, runs = self._forecasts, self._forecast_runs
        key = (float(self.engine.time_s), self._changes, runs)
        last = self.store.latest() if view is None and key == self._content_key else None
        if last is not None:
            # a heartbeat: nothing a screen shows changed (a paused clock, no command, no new
            # forecast), so the last frame's content goes out again under a new seq and wall
            # time, keeping its version: pages see the twin alive and redraw nothing
            self._seq += 1
            frame = replace(last, seq=self._seq, wall_s=time.time())
            self.store.publish(frame)
            self._last_frame_wall_s = frame.wall_s
            return frame
        self._content_key = key
        view = view if view is not None else self.engine.view()
        base_s, forecasts = forecast_run
        book = self.alarm_book
        book.update(
            view.time_s,
            alarm_conditions(self._roads, view, forecasts, base_s, book.active(), self._places),
        )
        feed = book.feed(view.time_s)
        stats = book.stats(view.time_s)
        kpis = wall_kpis(view, open_alerts=int(stats["open"]))
        self._history.add(view.time_s, kpis)
        self._seq += 1
        frame = Frame(
            seq=self._seq,
            wall_s=time.time(),
            view=view,
            kpis=MappingProxyType(kpis),
            forecasts=MappingProxyType(dict(forecasts)),
            forecast_base_s=base_s,
            history=self._history.arrays(),
            alerts=tuple(MappingProxyType(item) for item in feed),
            alert_stats=MappingProxyType(stats),
            speed=self._speed,
            paused=self._paused,
            mode=self.settings.mode,
            clock_change=MappingProxyType(dict(self.clock_change)) if self.clock_change else None,
            forecast_skill=MappingProxyType(self.forecast_skill.update(view)),
            version=self._seq,
        )
        self.store.publish(frame)
        self._last_frame_wall_s = frame.wall_s
        if self.recorder is not None and self._thread is not None:
            self.recorder.mark_shown(view.time_s)  # a resume never goes back before this
        return frame


class Background:
    """``fn()`` computed once in a daemon thread; :attr:`value` is ``None`` until it is done
    (and stays ``None`` if it failed: :attr:`error` then holds the exception).

    Used for slow, read-only baselines such as :func:`twin.service.summary.normal_day`.
    """

    def __init__(self, fn: Callable[[], Any], *, name: str = "twin-background") -> None:
        self._fn = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Background:
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until computed (or failed); whether it is done."""
        return self._done.wait(timeout_s)

    def _run(self) -> None:
        try:
            self.value = self._fn()
        except Exception as error:  # kept for the reader, and logged
            self.error = error
            log.exception("background computation %s failed", self._thread.name)
        finally:
            self._done.set()
