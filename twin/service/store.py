"""The store: the latest published frame of the live twin, for any number of readers.

One writer (the live loop, :mod:`twin.service.live`) publishes an immutable :class:`Frame` about once a
second; readers (web callbacks, the benchmark) take the latest one. Two implementations share
one interface and are chosen by configuration (:func:`open_store`):

- :class:`InProcessStore` (embedded default): a reference swapped under a lock. Frames are
  immutable, so readers share them without copying.
- :class:`RedisStore` (scaled): the frame pickled into one Redis key, plus a sequence key so
  a reader can ask "anything newer than what I have?" without fetching the frame.

The store knows nothing of the web; it never imports dash or flask.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import threading
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from twin.engine import TwinView

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Frame:
    """What the live twin publishes: one moment of the twin, ready for readers.

    Attributes
    ----------
    seq
        Publication number, increasing by one per frame (0 for the first).
    wall_s
        Wall-clock time of publication (``time.time()``), seconds.
    view
        The engine's :class:`twin.engine.TwinView` at ``view.time_s``.
    kpis
        The control-room KPIs of ``view`` (:func:`twin.service.live.wall_kpis`).
    forecasts
        Predicted views by horizon in seconds (900, 1800, 3600), from the latest background
        forecast run; empty until the first run ends.
    forecast_base_s
        Simulated time the forecasts were started from (``nan`` when there are none).
    history
        KPI series of the last simulated hour: ``time_s`` and one array per KPI name.
    alerts
        Managed alerts (see :mod:`twin.service.alarms`), most severe then newest first, as mappings.
    alert_stats
        Counters of the alarm book (raised, suppressed duplicates, rate per hour).
    speed
        Simulated seconds per wall second.
    paused
        Whether the clock is paused.
    mode
        ``"simulation"`` (a demonstration or training run of a scenario day, at ``speed``) or
        ``"live"`` (the twin follows the wall clock; nobody pauses it).
    clock_change
        The last clock change: ``user``, ``action`` (pause, resume, speed), ``speed``,
        ``sim_time_s`` and ``wall_s``; ``None`` when nobody changed it.
    forecast_skill
        Each forecast's recent error against the feeds
        (:meth:`twin.service.forecast_skill.ForecastSkill.summary`); empty before any.
    version
        What the frame shows, numbered: it changes when the simulated time, a command's effect
        or a forecast changes, and stays the same on a paused twin's heartbeat frames (new
        ``seq`` and ``wall_s``, same content), so a screen redraws only when there is news.
    """

    seq: int
    wall_s: float
    view: TwinView
    kpis: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    forecasts: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    forecast_base_s: float = float("nan")
    history: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    alerts: tuple[MappingProxyType, ...] = ()
    alert_stats: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    speed: float = 1.0
    paused: bool = False
    mode: str = "simulation"
    clock_change: MappingProxyType | None = None
    forecast_skill: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    version: int = 0

    @property
    def time_s(self) -> float:
        """Simulated time of the live view (s since local midnight)."""
        return float(self.view.time_s)


class Store(Protocol):
    """Latest-frame store: one writer publishes, many readers read."""

    def publish(self, frame: Frame) -> None:
        """Make ``frame`` the latest frame."""

    def latest(self) -> Frame | None:
        """The latest frame, or ``None`` before the first publication."""

    def seq(self) -> int:
        """Sequence number of the latest frame (-1 before the first publication)."""


class InProcessStore:
    """The embedded store: the latest frame held in memory, swapped under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None

    def publish(self, frame: Frame) -> None:
        if not isinstance(frame, Frame):
            raise TypeError(f"'frame' should be Frame, got {type(frame).__name__}")
        with self._lock:
            self._frame = frame

    def latest(self) -> Frame | None:
        with self._lock:
            return self._frame

    def seq(self) -> int:
        with self._lock:
            return -1 if self._frame is None else self._frame.seq


def _mappingproxy(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


def _reduce_mappingproxy(proxy: MappingProxyType) -> tuple:
    return _mappingproxy, (dict(proxy),)


class _FramePickler(pickle.Pickler):
    """Pickles frames, including the read-only mappings views and frames are made of."""

    dispatch_table: ClassVar[dict] = {
        **copyreg.dispatch_table,
        MappingProxyType: _reduce_mappingproxy,
    }


def dumps_frame(frame: Frame) -> bytes:
    """``frame`` as bytes (read back with ``pickle.loads``)."""
    buffer = io.BytesIO()
    _FramePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(frame)
    return buffer.getvalue()


class RedisStore:
    """The scaled store: the latest frame pickled into Redis under ``{prefix}:frame``.

    Readers keep the last frame they unpickled and fetch again only when ``{prefix}:seq``
    moved, so a poll that finds nothing new costs one small GET.

    Parameters
    ----------
    url
        Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
    prefix
        Key prefix (one per twin when several share a Redis).
    client
        An existing ``redis.Redis`` client to use instead of connecting to ``url``.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "venuetwin",
        client: Any = None,
    ) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url)
        self._redis = client
        self._frame_key = f"{prefix}:frame"
        self._seq_key = f"{prefix}:seq"
        self._lock = threading.Lock()
        self._cached: Frame | None = None

    def publish(self, frame: Frame) -> None:
        if not isinstance(frame, Frame):
            raise TypeError(f"'frame' should be Frame, got {type(frame).__name__}")
        payload = dumps_frame(frame)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._frame_key, payload)
        pipe.set(self._seq_key, frame.seq)
        pipe.execute()

    def seq(self) -> int:
        value = self._redis.get(self._seq_key)
        return -1 if value is None else int(value)

    def latest(self) -> Frame | None:
        seq = self.seq()
        with self._lock:
            if self._cached is not None and self._cached.seq == seq:
                return self._cached
        payload = self._redis.get(self._frame_key)
        if payload is None:
            return None
        frame = pickle.loads(payload)
        with self._lock:
            self._cached = frame
        return frame


def open_store(
    kind: str = "memory", *, redis_url: str | None = None, prefix: str = "venuetwin"
) -> InProcessStore | RedisStore:
    """The store named by configuration: ``"memory"`` (embedded) or ``"redis"`` (scaled)."""
    if kind == "memory":
        return InProcessStore()
    if kind == "redis":
        if not redis_url:
            raise ValueError("store 'redis' needs a redis_url, got none")
        return RedisStore(redis_url, prefix=prefix)
    raise ValueError(f"store must be 'memory' or 'redis', got {kind!r}")
