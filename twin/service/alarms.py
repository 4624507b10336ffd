"""Alarm management for the control room (EEMUA 191 / ISA-18.2 habits).

Producers state *conditions* every tick ("this key is abnormal now, with this severity and
message"): :func:`road_conditions` (congestion now and forecast) and :func:`pedestrian_conditions`
(crush risk, checkpoint waits, from the engine's pedestrian view). The :class:`AlarmBook` turns conditions
into alerts an operator can live with:

- no duplicates: one alert per key; a condition that persists updates its alert in place;
- hysteresis in time: an alert is raised only after its condition held ``on_delay_s`` and
  cleared only after it was absent ``off_delay_s`` (producers add value deadbands: they keep
  stating a condition with a looser threshold while its key is active, see :func:`road_conditions`);
- flood grouping: when more than ``flood_limit`` alerts of one kind are open, the feed shows
  one group alert for the kind instead of each member;
- acknowledgement by operators (who and when is kept and shown); a cleared alert leaves the
  feed, acknowledged or not; a flood group that gains members keeps the acknowledgement of the
  members already acknowledged and says how many are new;
- shelving (ISA-18.2): an operator takes an alert off the feed for a while, with a reason and an
  expiry; it returns unacknowledged when the shelf time runs out or when it escalates; critical
  alerts cannot be shelved;
- forecast alerts count down to the predicted time (kept from the first forecast, moved only
  earlier), and say when that time has passed without the trouble arriving;
- one counting rule: ``open`` counts alerts, each member of a flood group on its own, shelved
  alerts not (the feed's ``count`` fields add up to it);
- the rate of new alerts is measured (per simulated hour) so it can be tuned to the EEMUA
  benchmark of about one per 10 minutes in steady operation.

Times are simulated seconds since local midnight.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas as gpd

    from twin.engine import Engine

SEVERITIES = ("advisory", "warning", "critical")
"""Severity names by level 1..3 (index = level - 1)."""
SHELVE_MAX_S = 8 * 3600.0
"""Longest shelf time (one shift); an alert shelved for longer would be forgotten."""
COUNTING_RULE = (
    "Open alerts count every alert: a grouped line (×N) counts N; shelved alerts are not counted."
)
"""The one counting rule of the KPI tile, the feed's header and the summary (for tooltips)."""


@dataclass(frozen=True)
class Condition:
    """An abnormal state stated by a producer at one tick.

    ``key`` identifies the thing and the kind of trouble (``"road:Olympic-ro"``); ``kind`` groups
    keys for flood grouping (``"congestion"``); ``level`` is 1..3; ``eta_s`` is set for forecast
    conditions (seconds until it is predicted to happen).
    """

    key: str
    kind: str
    level: int
    place: str
    message: str
    lon: float = float("nan")
    lat: float = float("nan")
    eta_s: float | None = None
    target: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3):
            raise ValueError(f"level must be 1, 2 or 3, got {self.level}")


@dataclass(frozen=True)
class AlarmSettings:
    """Timing and flood rules of the alarm book (seconds of simulated time)."""

    on_delay_s: float = 180.0
    off_delay_s: float = 600.0
    flood_limit: int = 4
    rate_window_s: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("on_delay_s", "off_delay_s", "rate_window_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.flood_limit < 1:
            raise ValueError(f"flood_limit must be >= 1, got {self.flood_limit}")


@dataclass
class _Alert:
    alert_id: int
    condition: Condition
    first_seen_s: float
    raised_s: float | None = None
    last_seen_s: float = 0.0
    acked: bool = False
    acked_by: str = ""
    acked_s: float | None = None
    predicted_s: float | None = (
        None  # when the first forecast said it would happen (moved only earlier)
    )
    forecast_s: float | None = None  # when the newest forecast says it will happen
    shelved_until_s: float | None = None
    shelved_s: float | None = None
    shelved_by: str = ""
    shelved_reason: str = ""
    shelf_batch: int = 0  # alerts shelved by one command share it (a shelved flood group)
    returned_s: float | None = None  # when it came back from the shelf

    @property
    def raised(self) -> bool:
        return self.raised_s is not None

    @property
    def shelved(self) -> bool:
        return self.shelved_until_s is not None

    def ack(self, user: str, time_s: float | None) -> None:
        self.acked, self.acked_by, self.acked_s = True, user, time_s

    def unack(self) -> None:
        self.acked, self.acked_by, self.acked_s = False, "", None

    def unshelve(self, time_s: float) -> None:
        """Back on the feed, to be acknowledged again."""
        self.shelved_until_s = self.shelved_s = None
        self.shelved_by = self.shelved_reason = ""
        self.returned_s = time_s
        self.unack()


def open_count(feed: Any) -> int:
    """Open alerts in a feed (:data:`COUNTING_RULE`: each member of a flood group counts): the
    same number as ``AlarmBook.stats()["open"]``, for a recorded or published feed."""
    return int(sum(int(item.get("count", 1)) for item in feed))


@dataclass
class AlarmBook:
    """Open alerts and their history; updated by the live loop only (one writer)."""

    settings: AlarmSettings = field(default_factory=AlarmSettings)
    _alerts: dict[str, _Alert] = field(default_factory=dict)
    _next_id: int = 0
    _raised_times: deque = field(default_factory=deque)
    _shelf_batches: int = 0
    _now_s: float | None = None  # time of the last update (when an acknowledgement happens)
    raised_total: int = 0
    updates_total: int = 0

    def update(self, time_s: float, conditions: list[Condition]) -> None:
        """Take this tick's conditions: raise, refresh or clear alerts; return shelved alerts
        whose shelf time ran out."""
        self._now_s = time_s
        seen: set[str] = set()
        for condition in conditions:
            if condition.key in seen:
                continue
            seen.add(condition.key)
            alert = self._alerts.get(condition.key)
            if alert is None:
                alert = _Alert(self._next_id, condition, first_seen_s=time_s)
                self._next_id += 1
                self._alerts[condition.key] = alert
            else:
                self.updates_total += 1
                escalated = condition.level > alert.condition.level
                alert.condition = condition
                if escalated and alert.raised:
                    if alert.shelved:
                        alert.unshelve(time_s)  # an escalation takes it off the shelf
                    alert.unack()  # an escalation needs a fresh acknowledgement
            _track_prediction(alert, condition, time_s)
            alert.last_seen_s = time_s
            if alert.raised_s is None and time_s - alert.first_seen_s >= self.settings.on_delay_s:
                alert.raised_s = time_s
                self.raised_total += 1
                self._raised_times.append(time_s)
        for key in [k for k, a in self._alerts.items() if k not in seen]:
            alert = self._alerts[key]
            if alert.raised_s is None or time_s - alert.last_seen_s >= self.settings.off_delay_s:
                del self._alerts[key]
        for alert in self._alerts.values():
            if alert.shelved and time_s >= alert.shelved_until_s:
                alert.unshelve(time_s)  # the shelf time ran out
        while self._raised_times and self._raised_times[0] < time_s - self.settings.rate_window_s:
            self._raised_times.popleft()

    def active(self) -> dict[str, str]:
        """Kind by key of every alert the book holds (raised or waiting out its on-delay)."""
        return {key: alert.condition.kind for key, alert in self._alerts.items()}

    def acknowledge(self, alert_id: int, *, user: str = "", time_s: float | None = None) -> bool:
        """Acknowledge the open (raised, not shelved) alert ``alert_id`` at ``time_s`` (default:
        the last update's time); ``False`` when no such alert is open."""
        hit = False
        for alert in self._open():
            if alert.alert_id == alert_id:
                if not alert.acked:
                    alert.ack(user, self._now_s if time_s is None else time_s)
                hit = True
        return hit

    def acknowledge_kind(self, kind: str, *, user: str = "", time_s: float | None = None) -> int:
        """Acknowledge every open alert of ``kind`` not yet acknowledged (a flood group's new
        members); returns how many."""
        count = 0
        for alert in self._open():
            if alert.condition.kind == kind and not alert.acked:
                alert.ack(user, self._now_s if time_s is None else time_s)
                count += 1
        return count

    def shelve(
        self,
        alert_id: int,
        *,
        time_s: float,
        minutes: float,
        reason: str,
        user: str = "",
        kind: str | None = None,
    ) -> int:
        """Take the open alert ``alert_id`` (with ``kind``: every open alert of that kind, a
        flood group) off the feed for ``minutes`` with ``reason``; returns how many.

        Critical alerts are never shelved (they stay on the feed).
        """
        until_s = time_s + _shelf_s(minutes)
        if not reason.strip():
            raise ValueError("reason must not be empty")
        self._shelf_batches += 1
        count = 0
        for alert in self._open():
            hit = alert.condition.kind == kind if kind is not None else alert.alert_id == alert_id
            if hit and alert.condition.level < 3:
                alert.shelved_until_s, alert.shelved_s = until_s, time_s
                alert.shelved_by, alert.shelved_reason = user, reason.strip()
                alert.shelf_batch = self._shelf_batches
                count += 1
        return count

    def shelvable(self, alert_id: int, *, kind: str | None = None) -> int:
        """How many alerts :meth:`shelve` would take off the feed (critical ones stay)."""
        return sum(
            (a.condition.kind == kind if kind is not None else a.alert_id == alert_id)
            and a.condition.level < 3
            for a in self._open()
        )

    def unshelve(self, alert_id: int, *, time_s: float, batch: bool = False) -> int:
        """Put the shelved alert ``alert_id`` back on the feed (with ``batch``: every alert
        shelved with it); it must be acknowledged again. Returns how many."""
        first = next(
            (a for a in self._alerts.values() if a.alert_id == alert_id and a.shelved), None
        )
        if first is None:
            return 0
        members = [
            a
            for a in self._alerts.values()
            if a.shelved and (a.shelf_batch == first.shelf_batch if batch else a is first)
        ]
        for alert in members:
            alert.unshelve(time_s)
        return len(members)

    def shelved(self, time_s: float) -> tuple[dict[str, Any], ...]:
        """Shelved alerts, those shelved together folded into one item (``count``, ``ids``),
        soonest back first; ``remaining_s`` until each returns."""
        batches: dict[int, list[_Alert]] = {}
        for alert in self._alerts.values():
            if alert.shelved:
                batches.setdefault(alert.shelf_batch, []).append(alert)
        items = []
        for members in batches.values():
            members.sort(key=lambda a: a.alert_id)
            first = members[0]
            item = (
                _item(first, time_s)
                if len(members) == 1
                else _group_item(first.condition.kind, members, time_s)
            )
            item.update(
                id=first.alert_id,
                ids=[a.alert_id for a in members],
                shelved_s=first.shelved_s,
                shelved_until_s=first.shelved_until_s,
                remaining_s=max(0.0, first.shelved_until_s - time_s),
                shelved_by=first.shelved_by,
                shelved_reason=first.shelved_reason,
            )
            items.append(item)
        items.sort(key=lambda item: (item["shelved_until_s"], item["id"]))
        return tuple(items)

    def _open(self) -> list[_Alert]:
        return [a for a in self._alerts.values() if a.raised and not a.shelved]

    def feed(self, time_s: float) -> tuple[dict[str, Any], ...]:
        """Open alerts for the feed (raised, not shelved), flood groups folded, most severe and
        newest first. Each item's ``count`` is how many alerts it stands for, ``new`` how many
        of them are not acknowledged yet."""
        by_kind: dict[str, list[_Alert]] = {}
        for alert in self._open():
            by_kind.setdefault(alert.condition.kind, []).append(alert)
        items = []
        for kind, members in by_kind.items():
            if len(members) > self.settings.flood_limit:
                items.append(_group_item(kind, members, time_s))
            else:
                items.extend(_item(a, time_s) for a in members)
        items.sort(key=lambda item: (-item["level"], -item["raised_s"], item["id"]))
        return tuple(items)

    def stats(self, time_s: float) -> dict[str, Any]:
        """Counters (:data:`COUNTING_RULE`): ``open`` alerts (each member of a flood group
        counts, shelved ones not; the sum of the feed's ``count``), ``unacked`` and
        ``critical_unacked`` among them, ``lines`` and ``groups`` of the feed, ``shelved``
        alerts, raised in total and in the last window (per hour); and ``shelved_items``, the
        shelf (:meth:`shelved`) for the wall's shelved section."""
        window_h = self.settings.rate_window_s / 3600.0
        open_ = self._open()
        feed = self.feed(time_s)
        return {
            "open": float(len(open_)),
            "unacked": float(sum(not a.acked for a in open_)),
            "critical_unacked": float(sum(not a.acked and a.condition.level == 3 for a in open_)),
            "lines": float(len(feed)),
            "groups": float(sum(item["count"] > 1 for item in feed)),
            "shelved": float(sum(a.shelved for a in self._alerts.values())),
            "pending": float(sum(a.raised_s is None for a in self._alerts.values())),
            "raised_total": float(self.raised_total),
            "rate_per_h": len(self._raised_times) / window_h if window_h else float("nan"),
            "updates_total": float(self.updates_total),
            "shelved_items": self.shelved(time_s),
        }


def _shelf_s(minutes: float) -> float:
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, (int, float))
        or not math.isfinite(minutes)
    ):
        raise ValueError(f"minutes must be a number, got {minutes!r}")
    if not 0 < minutes * 60.0 <= SHELVE_MAX_S:
        raise ValueError(
            f"minutes must be more than 0 and at most {SHELVE_MAX_S / 60:.0f}, got {minutes:g}"
        )
    return minutes * 60.0


def _track_prediction(alert: _Alert, condition: Condition, time_s: float) -> None:
    """Keep the predicted time of a forecast condition: the first forecast's, moved only earlier
    (a countdown never runs backwards); the newest forecast's in ``forecast_s``."""
    if condition.eta_s is None:
        alert.predicted_s = alert.forecast_s = None
        return
    at_s = time_s + max(0.0, float(condition.eta_s))
    alert.forecast_s = at_s
    if alert.predicted_s is None or at_s < alert.predicted_s:
        alert.predicted_s = at_s


def _when(alert: _Alert, time_s: float) -> dict[str, Any]:
    """Countdown fields of an item: ``eta_s`` (s until the predicted time, 0 once passed),
    ``predicted_s``, ``forecast_s`` and ``overdue`` (the predicted time has passed)."""
    if alert.predicted_s is None:
        return {"eta_s": None, "predicted_s": None, "forecast_s": None, "overdue": False}
    return {
        "eta_s": max(0.0, alert.predicted_s - time_s),
        "predicted_s": alert.predicted_s,
        "forecast_s": alert.forecast_s,
        "overdue": time_s > alert.predicted_s,
    }


def _item(alert: _Alert, time_s: float) -> dict[str, Any]:
    c = alert.condition
    return {
        "id": alert.alert_id,
        "key": c.key,
        "kind": c.kind,
        "level": c.level,
        "severity": SEVERITIES[c.level - 1],
        "place": c.place,
        "message": c.message,
        "lon": c.lon,
        "lat": c.lat,
        "raised_s": float(alert.raised_s),
        **_when(alert, time_s),
        "acked": alert.acked,
        "acked_by": alert.acked_by,
        "acked_s": alert.acked_s,
        "count": 1,
        "acked_count": int(alert.acked),
        "new": int(not alert.acked),
        "returned_s": alert.returned_s,
        "target": c.target,
    }


def _group_item(kind: str, members: list[_Alert], time_s: float) -> dict[str, Any]:
    worst = max(members, key=lambda a: (a.condition.level, a.raised_s))
    places = sorted({a.condition.place for a in members})
    shown = ", ".join(places[:3]) + (f" +{len(places) - 3}" if len(places) > 3 else "")
    soonest = min(
        (a for a in members if a.predicted_s is not None), key=lambda a: a.predicted_s, default=None
    )
    acked = [a for a in members if a.acked]
    last_ack = max(
        acked, key=lambda a: a.acked_s if a.acked_s is not None else -math.inf, default=None
    )
    return {
        "id": -1 - sum(ord(ch) for ch in kind),
        "key": f"group:{kind}",
        "kind": kind,
        "level": worst.condition.level,
        "severity": SEVERITIES[worst.condition.level - 1],
        "place": shown,
        "places": places,
        "message": f"{len(members)} {kind} alerts (grouped)",
        "lon": worst.condition.lon,
        "lat": worst.condition.lat,
        "raised_s": float(max(a.raised_s for a in members)),
        **(_when(soonest, time_s) if soonest is not None else _when(members[0], time_s)),
        "acked": len(acked) == len(members),
        "acked_by": last_ack.acked_by if last_ack else "",
        "acked_s": last_ack.acked_s if last_ack else None,
        "count": len(members),
        "acked_count": len(acked),
        "new": len(members) - len(acked),
        "returned_s": None,
        "target": worst.condition.target,
    }


# ------------------------------------------------------------------ traffic conditions
MAJOR_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary")


@dataclass(frozen=True)
class RoadGroups:
    """Links grouped by named road (static; built once from the scenario's links).

    ``group`` gives each link's road index (-1: not watched); ``names`` the road names;
    ``lonlat`` a representative point per road (for fly-to).
    """

    group: npt.NDArray[np.int64]
    names: tuple[str, ...]
    lonlat: npt.NDArray[np.float64]


def _place_names(links: gpd.GeoDataFrame) -> list[str]:
    """A name per link: its own, else that of a named road at one of its ends ("near ..."),
    else ``link <id>``."""
    n = len(links)
    raw = (
        links["street" if "street" in links else "name"].fillna("").astype(str).tolist()
        if "name" in links
        else [""] * n
    )
    own = [name if name and name.lower() not in ("none", "nan") else "" for name in raw]
    if "from_node" not in links or "to_node" not in links:
        return [name or f"link {i}" for i, name in enumerate(own)]
    ends = list(zip(links["to_node"].astype(int), links["from_node"].astype(int), strict=True))
    at_node: dict[int, str] = {}
    for i, name in enumerate(own):
        if name:
            for node in ends[i]:
                at_node.setdefault(node, name)
    out = []
    for i, name in enumerate(own):
        near = next((at_node[node] for node in ends[i] if node in at_node), "")
        out.append(name or (f"near {near}" if near else "road without a name"))
    return out


def road_groups(links: gpd.GeoDataFrame, *, min_length_m: float = 80.0) -> RoadGroups:
    """Watched roads: links of a major class, at least ``min_length_m`` long, grouped by name
    (unnamed links under the name of a road at their ends, see :func:`_place_names`)."""
    highway = links["highway"].astype(str) if "highway" in links else None
    watched = np.asarray(links["length_m"], dtype=float) >= min_length_m
    if highway is not None:
        watched = (
            watched & highway.str.replace("_link", "", regex=False).isin(MAJOR_CLASSES).to_numpy()
        )
    labels = _place_names(links)
    label_of = {
        name: k for k, name in enumerate(sorted({labels[i] for i in np.flatnonzero(watched)}))
    }
    group = np.array(
        [label_of[labels[i]] if watched[i] else -1 for i in range(len(links))], dtype=np.int64
    )
    lonlat = np.full((len(label_of), 2), np.nan)
    if "geometry" in links and len(label_of):
        import shapely

        points = shapely.line_interpolate_point(np.asarray(links.geometry), 0.5, normalized=True)
        xs, ys = shapely.get_x(points), shapely.get_y(points)
        for k in range(len(label_of)):
            members = np.flatnonzero(group == k)
            mid = members[len(members) // 2]
            lonlat[k] = xs[mid], ys[mid]
    return RoadGroups(group=group, names=tuple(sorted(label_of, key=label_of.get)), lonlat=lonlat)


FORECAST_ALERT_MAX_S = 1800
"""Forecast marks beyond this (s) colour the map but raise no alert (too uncertain to act on)."""


def road_conditions(
    roads: RoadGroups,
    links_now: Mapping[str, np.ndarray],
    forecasts: dict[int, Any],
    *,
    forecast_age_s: float,
    active: Mapping[str, str],
    set_ratio: float = 0.25,
    clear_ratio: float = 0.40,
    min_queue_m: float = 150.0,
) -> list[Condition]:
    """Congestion conditions per watched road (key ``road:<name>``), live or forecast.

    A road is congested when one of its links runs below ``set_ratio`` of free speed with at
    least ``min_queue_m`` of queue; while its alert of that kind is open the looser
    ``clear_ratio`` and half the queue apply (deadband). A road not congested now but predicted
    to be at a forecast mark up to :data:`FORECAST_ALERT_MAX_S` gets an advisory with ``eta_s``
    (the mark minus the forecast's age; the message carries no time: the alarm book counts down
    to the predicted time, see :meth:`AlarmBook.feed`); when the congestion arrives the same alert escalates
    in place, so a forecast that comes true is one alert, not two. ``active`` maps the keys of
    open alerts to their kind.
    """
    live_open = {key for key, kind in active.items() if kind == "congestion"}
    forecast_open = {key for key, kind in active.items() if kind == "forecast"}
    out: list[Condition] = []
    live = _congested(roads, links_now, live_open, set_ratio, clear_ratio, min_queue_m)
    for k, (ratio, queue) in live.items():
        level = 3 if ratio < 0.10 and queue > 3 * min_queue_m else 2
        out.append(
            _road_condition(
                roads,
                k,
                "congestion",
                level,
                f"Congested: {ratio:.0%} of free speed, queue {queue:,.0f} m",
            )
        )
    predicted: set[int] = set()
    for mark in sorted(m for m in forecasts if m <= FORECAST_ALERT_MAX_S):
        future = _congested(
            roads, forecasts[mark].links, forecast_open, set_ratio, clear_ratio, min_queue_m
        )
        for k, (ratio, _queue) in future.items():
            if k in live or k in predicted:
                continue
            predicted.add(k)
            eta = max(0.0, mark - forecast_age_s)
            out.append(
                _road_condition(
                    roads,
                    k,
                    "forecast",
                    1,
                    f"Forecast congestion: {ratio:.0%} of free speed",
                    eta_s=eta,
                )
            )
    return out


def _congested(
    roads: RoadGroups,
    links: Mapping[str, np.ndarray],
    open_keys: set[str],
    set_ratio: float,
    clear_ratio: float,
    min_queue_m: float,
) -> dict[int, tuple[float, float]]:
    """Worst speed ratio and longest queue per congested road."""
    watched = roads.group >= 0
    if not watched.any():
        return {}
    ratio = np.asarray(links["speed_ratio"], dtype=float)
    queue = np.asarray(links["queue_m"], dtype=float)
    is_open = np.array([f"road:{n}" in open_keys for n in roads.names])[np.maximum(roads.group, 0)]
    bad = watched & np.where(
        is_open,
        (ratio < clear_ratio) & (queue >= 0.5 * min_queue_m),
        (ratio < set_ratio) & (queue >= min_queue_m),
    )
    out: dict[int, tuple[float, float]] = {}
    for i in np.flatnonzero(bad):
        k = int(roads.group[i])
        r, q = out.get(k, (math.inf, 0.0))
        out[k] = (min(r, float(ratio[i])), max(q, float(queue[i])))
    return out


def _road_condition(
    roads: RoadGroups, k: int, kind: str, level: int, message: str, *, eta_s: float | None = None
) -> Condition:
    name = roads.names[k]
    lon, lat = roads.lonlat[k]
    return Condition(
        key=f"road:{name}",
        kind=kind,
        level=level,
        place=name,
        message=message,
        lon=float(lon),
        lat=float(lat),
        eta_s=eta_s,
    )


# ------------------------------------------------------------------ pedestrian conditions
@dataclass(frozen=True)
class Places:
    """Where pedestrian trouble is: checkpoint names and positions, venue names and positions,
    and the scenario's metric-to-lon/lat conversion (static; built once by :func:`places_of`)."""

    checkpoint_names: tuple[str, ...]
    checkpoint_lonlat: npt.NDArray[np.float64]
    venue_names: tuple[str, ...]
    venue_lonlat: npt.NDArray[np.float64]
    to_lonlat: Callable[[npt.ArrayLike, npt.ArrayLike], npt.NDArray[np.float64]]

    def nearest_venue(self, lon: float, lat: float) -> str:
        if not len(self.venue_names):
            return "crowd"
        d = np.hypot(
            (self.venue_lonlat[:, 0] - lon) * math.cos(math.radians(lat)),
            self.venue_lonlat[:, 1] - lat,
        )
        return self.venue_names[int(np.argmin(d))]


def places_of(engine: Engine) -> Places | None:
    """The :class:`Places` of an engine with pedestrians (``None`` without venues)."""
    layout = getattr(engine, "pedestrians", None)
    if layout is None:
        return None
    from twin.io import geometry

    scenario = engine.scenario

    def to_lonlat(x, y):
        return geometry.m_to_lonlat(scenario, np.atleast_1d(x), np.atleast_1d(y))

    specs = layout.specs
    checkpoint_lonlat = to_lonlat(
        np.array([s.x_m for s in specs]), np.array([s.y_m for s in specs])
    )
    facilities = scenario.facilities
    venues = facilities[facilities["kind"] == "venue"] if facilities is not None else None
    names = (
        tuple(str(n).split(" (")[0] for n in venues.get("name_en", venues.get("id")))
        if venues is not None
        else ()
    )
    lonlat = (
        np.column_stack([venues.geometry.x, venues.geometry.y])
        if venues is not None
        else np.zeros((0, 2))
    )
    return Places(tuple(s.name for s in specs), checkpoint_lonlat, names, lonlat, to_lonlat)


def pedestrian_conditions(
    people: Mapping[str, Any],
    places: Places,
    *,
    active: Mapping[str, str],
    set_wait_s: float = 1200.0,
    clear_wait_s: float = 900.0,
    critical_wait_s: float = 1800.0,
) -> list[Condition]:
    """Crush-risk clusters (already debounced by the crowd model's watch) and long checkpoint
    waits (set at ``set_wait_s``, held down to ``clear_wait_s``)."""
    out = []
    for alert in people.get("crush_alerts", ()):
        lon, lat = places.to_lonlat(alert["x_m"], alert["y_m"])[0]
        venue = places.nearest_venue(lon, lat)
        level = 3 if alert.get("level") == "critical" else 2
        out.append(
            Condition(
                key=f"crush:{venue}",
                kind="crowd",
                level=level,
                place=f"Crowd near {venue}",
                message=f"Crush risk: {alert['peak_density_ppm2']:.1f} p/m² over {alert['area_m2']:,.0f} m²",
                lon=float(lon),
                lat=float(lat),
            )
        )
    table = people.get("checkpoints") or {}
    waits = np.asarray(table.get("wait_s", ()), dtype=float)
    queues = np.asarray(table.get("queue_persons", np.zeros(len(waits))), dtype=float)
    for k, wait in enumerate(waits[: len(places.checkpoint_names)]):
        name = places.checkpoint_names[k]
        key = f"checkpoint:{name}"
        if wait >= (clear_wait_s if key in active else set_wait_s):
            lon, lat = places.checkpoint_lonlat[k]
            out.append(
                Condition(
                    key=key,
                    kind="checkpoint",
                    level=3 if wait >= critical_wait_s else 2,
                    place=name,
                    message=f"Wait {wait / 60:.0f} min, queue {queues[k]:,.0f} persons",
                    lon=float(lon),
                    lat=float(lat),
                )
            )
    return out


FEED_STALE_AFTER_S = 300.0
"""A feed that sent data and then none for this long (simulated seconds) is stale."""


FEED_PLACES = {"detectors": "Traffic detector feed", "checkpoints": "Checkpoint scan feed"}
"""How the alert names a feed kind (a source is named as it is)."""


def feed_conditions(
    last_data_s: Mapping[str, float],
    now_s: float,
    *,
    stale_after_s: float = FEED_STALE_AFTER_S,
    faulty: Mapping[str, str] | None = None,
) -> list[Condition]:
    """Field feeds gone quiet, and detectors the health checks stopped trusting.

    Parameters
    ----------
    last_data_s
        Per feed (a source name, or ``detectors`` / ``checkpoints`` for all sources of a kind):
        the simulated time of the newest data it delivered; ``nan`` for a feed that never sent
        any (not stale: it is not connected).
    now_s
        The twin's clock (s since midnight).
    stale_after_s
        Seconds without data after which a feed is stale (a warning; critical after three times
        as long, when the twin has been running blind on it for a while).
    faulty
        Per faulty detector id, why (``stuck``, ``silent``, ``inconsistent with neighbours``):
        one advisory listing them, as operators want one line, not one per loop.
    """
    out = []
    for name, last_s in last_data_s.items():
        silent_s = now_s - float(last_s)
        if not math.isfinite(silent_s) or silent_s < stale_after_s:
            continue
        out.append(
            Condition(
                key=f"feed:{name}",
                kind="feed",
                level=3 if silent_s >= 3 * stale_after_s else 2,
                place=FEED_PLACES.get(name, f"Feed {name}"),
                message=f"Stale: no data for {silent_s / 60:.0f} min "
                f"(stale after {stale_after_s / 60:.0f} min); the twin runs on its model there",
            )
        )
    if faulty:
        listed = ", ".join(f"{d} ({why})" for d, why in sorted(faulty.items())[:4])
        more = f" and {len(faulty) - 4} more" if len(faulty) > 4 else ""
        out.append(
            Condition(
                key="feed:faulty-detectors",
                kind="feed",
                level=1,
                place="Detectors",
                message=f"{len(faulty)} detector(s) not used: {listed}{more}",
            )
        )
    return out


__all__ = [
    "COUNTING_RULE",
    "SEVERITIES",
    "FEED_STALE_AFTER_S",
    "SHELVE_MAX_S",
    "AlarmBook",
    "AlarmSettings",
    "Condition",
    "Places",
    "feed_conditions",
    "RoadGroups",
    "pedestrian_conditions",
    "places_of",
    "road_conditions",
    "road_groups",
]
