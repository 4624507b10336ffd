"""Travel demand of the event day: vehicle trips between zones and spectators on foot.

Spectators of a session arrive on the arrival curve before its start and leave on the
departure curve after its end (cumulative shares at minutes from start/end, in
``scenario.toml``). The mode split divides them: car, taxi and bus spectators are vehicle trips
(persons / occupancy) from the boundary gateways to the parking and drop-off zones nearest their
venue (cars, taxis and buses alike; taxis and buses then leave empty). A venue's vehicles are
shared over its ``spread_zones`` nearest such zones with weights 1, 1/2, 1/3, ... (drivers use
several gates and streets round a park; one zone would funnel a whole arena into one junction); subway and walking
spectators appear at the nearest station or park gate and are handed to the crowd model.
Background traffic enters at every gateway by an hour-of-day profile and leaves at the others.
A gateway's share of entering traffic is its share of the lanes entering the network there, and
its share of leaving traffic its share of the lanes leaving (a one-way carriageway is only one
of the two). Where a trip leaves depends also on distance: destination weight = exit lanes x
straight-line distance from the origin, so most traffic passes through the area (an expressway's
traffic mostly stays on it) and few trips turn back near where they came in. A seeded lognormal
factor per (time bin, origin) varies
background flows from day to day; ``noise_sigma = 0`` removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twin.errors import ScenarioError

if TYPE_CHECKING:
    from twin.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
DAY_S = 24 * 3600
VEHICLE_MODES = ("car", "taxi", "bus")
FOOT_MODES = ("subway", "walk")


@dataclass(frozen=True)
class DemandParams:
    """Demand parameters (from ``scenario.toml`` table ``[demand]``); see module docstring."""

    bin_s: float
    mode_split: dict[str, float]
    occupancy: dict[str, float]
    arrival_curve_min: tuple[tuple[float, float], ...]
    departure_curve_min: tuple[tuple[float, float], ...]
    drive_lead_min: float
    spread_zones: int
    background_vph: float
    background_hourly_share: tuple[float, ...]
    noise_sigma: float

    def __post_init__(self) -> None:
        if set(self.mode_split) != set(VEHICLE_MODES + FOOT_MODES):
            raise ScenarioError(
                f"scenario.toml [demand] mode_split needs exactly {VEHICLE_MODES + FOOT_MODES}, "
                f"got {tuple(self.mode_split)}"
            )
        if not np.isclose(sum(self.mode_split.values()), 1.0):
            raise ScenarioError(
                f"scenario.toml [demand] mode_split must sum to 1, got {sum(self.mode_split.values()):g}"
            )
        if len(self.background_hourly_share) != 24:
            raise ScenarioError("scenario.toml [demand] background_hourly_share needs 24 values")
        for name in ("arrival_curve_min", "departure_curve_min"):
            curve = np.array(getattr(self, name), dtype=float)
            if (
                curve.ndim != 2
                or np.any(np.diff(curve[:, 0]) <= 0)
                or np.any(np.diff(curve[:, 1]) < 0)
            ):
                raise ScenarioError(
                    f"scenario.toml [demand] {name}: minutes must increase, shares not decrease"
                )
            if not (np.isclose(curve[0, 1], 0.0) and np.isclose(curve[-1, 1], 1.0)):
                raise ScenarioError(f"scenario.toml [demand] {name}: shares must run from 0 to 1")

    @classmethod
    def from_dict(cls, table: dict[str, Any]) -> DemandParams:
        try:
            return cls(
                bin_s=float(table.get("bin_s", 300)),
                mode_split=dict(table["mode_split"]),
                occupancy=dict(table["occupancy"]),
                arrival_curve_min=tuple(tuple(p) for p in table["arrival_curve_min"]),
                departure_curve_min=tuple(tuple(p) for p in table["departure_curve_min"]),
                drive_lead_min=float(table.get("drive_lead_min", 0.0)),
                spread_zones=int(table.get("spread_zones", 3)),
                background_vph=float(table["background_vph"]),
                background_hourly_share=tuple(float(v) for v in table["background_hourly_share"]),
                noise_sigma=float(table.get("noise_sigma", 0.0)),
            )
        except KeyError as error:
            raise ScenarioError(f"scenario.toml [demand] is missing {error.args[0]!r}") from error


@dataclass(frozen=True)
class Demand:
    """Vehicle trip rates ``rate_vps[bin, origin_zone, dest_zone]`` (vehicles/s) over the day,
    and spectators walking to and from each venue ``foot_pps[bin, venue, direction, mode]``
    (persons/s; direction 0 = arriving, 1 = leaving; mode 0 = by rail or on foot, from the
    venue's nearest station ``foot_source``; mode 1 = by car, taxi or bus, from the road)."""

    bin_s: float
    rate_vps: FloatArray
    venue_ids: tuple[str, ...]
    foot_pps: FloatArray
    foot_source: tuple[str, ...]

    def rates_at(self, time_s: float) -> FloatArray:
        """(O, D) vehicles/s at ``time_s`` (seconds since midnight; wraps after a day)."""
        return self.rate_vps[int(time_s % DAY_S // self.bin_s) % len(self.rate_vps)]

    def vehicles_between(self, start_s: float, end_s: float) -> FloatArray:
        """(O, D) vehicles departing in ``[start_s, end_s)``."""
        return integrate_bins(self.rate_vps, self.bin_s, start_s, end_s)

    def persons_between(self, start_s: float, end_s: float) -> FloatArray:
        """(venue, direction, mode) spectators on foot in ``[start_s, end_s)``."""
        return integrate_bins(self.foot_pps, self.bin_s, start_s, end_s)


def integrate_bins(rates: FloatArray, bin_s: float, start_s: float, end_s: float) -> FloatArray:
    """Integral over ``[start_s, end_s)`` of piecewise-constant ``rates[bin, ...]`` (per second):
    exact also when the interval straddles bin edges (a step need not divide a bin). Times are
    seconds since midnight and wrap after a day."""
    total = np.zeros(rates.shape[1:])
    t = start_s
    while t < end_s - 1e-9:
        until = min((np.floor(t / bin_s + 1e-9) + 1.0) * bin_s, end_s)
        total += rates[int(t % DAY_S // bin_s) % len(rates)] * (until - t)
        t = until
    return total


def build_demand(scenario: Scenario, *, seed: int) -> Demand:
    """Demand of ``scenario`` for the whole day, with background noise from ``seed``."""
    params = DemandParams.from_dict(scenario.params.get("demand", {}))
    n_bins = int(round(DAY_S / params.bin_s))
    bin_edges_s = np.arange(n_bins + 1) * params.bin_s
    entry, exit_ = gateway_shares(scenario)
    destination = _through_weights(scenario, exit_)
    rate = _background(params, entry, destination, bin_edges_s, np.random.default_rng(seed))
    venue_ids = tuple(scenario.schedule["venue_id"].unique())
    foot = np.zeros((n_bins, len(venue_ids), 2, 2))
    for session in scenario.schedule.itertuples(index=False):
        arrive = _curve_share(params.arrival_curve_min, session.start_s, bin_edges_s)
        leave = _curve_share(params.departure_curve_min, session.end_s, bin_edges_s)
        lead_bins = int(round(params.drive_lead_min * 60 / params.bin_s))
        _add_event_trips(
            rate, params, (entry, exit_), scenario, session, np.roll(arrive, -lead_bins), leave
        )
        v = venue_ids.index(session.venue_id)
        for mode, modes in enumerate((FOOT_MODES, VEHICLE_MODES)):
            persons = session.expected_attendance * sum(params.mode_split[m] for m in modes)
            foot[:, v, 0, mode] += persons * arrive / params.bin_s
            foot[:, v, 1, mode] += persons * leave / params.bin_s
    sources = tuple(_nearest_station(scenario, venue) for venue in venue_ids)
    return Demand(params.bin_s, rate, venue_ids, foot, sources)


def _curve_share(
    curve_min: tuple[tuple[float, float], ...], anchor_s: float, edges_s: FloatArray
) -> FloatArray:
    """Share of a cumulative curve (minutes from ``anchor_s``) falling in each time bin."""
    points = np.array(curve_min, dtype=float)
    cumulative = np.interp(
        (edges_s - anchor_s) / 60.0, points[:, 0], points[:, 1], left=0.0, right=1.0
    )
    return np.diff(cumulative)


def gateway_shares(scenario: Scenario) -> tuple[FloatArray, FloatArray]:
    """Each zone's share of entering and of leaving gateway traffic (zero for other zones).

    Shares are proportional to the lanes of the links that leave (enter) the gateway's node.
    """
    zones, links = scenario.zones, scenario.links
    gateway = (zones["kind"] == "gateway").to_numpy()
    node = zones["node_id"].to_numpy()
    lanes_out = np.bincount(links["from_node"], links["lanes"], len(scenario.nodes))[node]
    lanes_in = np.bincount(links["to_node"], links["lanes"], len(scenario.nodes))[node]
    entry = np.where(gateway, lanes_out, 0.0)
    exit_ = np.where(gateway, lanes_in, 0.0)
    if entry.sum() <= 0 or exit_.sum() <= 0:
        raise ScenarioError("zones.csv: needs gateways with links entering and leaving the network")
    return entry / entry.sum(), exit_ / exit_.sum()


def _through_weights(scenario: Scenario, exit_: FloatArray) -> FloatArray:
    """(origin zone, destination zone) weights: exit share x distance between the zones' nodes."""
    node = scenario.zones["node_id"].to_numpy()
    x = scenario.nodes["x_m"].to_numpy(float)[node]
    y = scenario.nodes["y_m"].to_numpy(float)[node]
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    return exit_[None, :] * distance


def _background(
    params: DemandParams,
    entry: FloatArray,
    destination: FloatArray,
    edges_s: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Background trips (bins, O, D) in vehicles/s; ``destination`` (O, D) are relative weights."""
    n_bins, n_zones = len(edges_s) - 1, len(entry)
    to_others = destination * (1.0 - np.eye(n_zones))
    total = to_others.sum(axis=1, keepdims=True)
    to_others = np.divide(to_others, total, out=np.zeros_like(to_others), where=total > 0)
    hour = (edges_s[:-1] // 3600).astype(int) % 24
    inflow_vps = params.background_vph / 3600.0 * np.asarray(params.background_hourly_share)[hour]
    noise = rng.lognormal(-0.5 * params.noise_sigma**2, params.noise_sigma, size=(n_bins, n_zones))
    return inflow_vps[:, None, None] * (entry[None, :] * noise)[:, :, None] * to_others[None, :, :]


def _add_event_trips(
    rate: FloatArray,
    params: DemandParams,
    shares: tuple[FloatArray, FloatArray],
    scenario: Scenario,
    session: Any,
    arrive_share: FloatArray,
    leave_share: FloatArray,
) -> None:
    """Add one session's car, taxi and bus trips to ``rate`` (vehicles/s), in place."""
    entry, exit_ = shares
    targets, target_share = _venue_zones(scenario, session.venue_id, params.spread_zones)
    for mode in VEHICLE_MODES:
        vehicles = session.expected_attendance * params.mode_split[mode] / params.occupancy[mode]
        for target, share in zip(targets, target_share, strict=True):
            arrive_vps = share * vehicles * arrive_share / params.bin_s
            leave_vps = share * vehicles * leave_share / params.bin_s
            rate[:, :, target] += arrive_vps[:, None] * entry[None, :]
            rate[:, target, :] += leave_vps[:, None] * exit_[None, :]
            if (
                mode != "car"
            ):  # taxis and buses leave empty after a drop-off, come in empty to pick up
                rate[:, target, :] += arrive_vps[:, None] * exit_[None, :]
                rate[:, :, target] += leave_vps[:, None] * entry[None, :]


def _venue_xy(scenario: Scenario, venue_id: str) -> tuple[float, float]:
    facilities = scenario.facilities
    row = facilities[facilities["id"] == venue_id]
    node = int(row["node_id"].iloc[0])
    nodes = scenario.nodes
    return float(nodes["x_m"].iloc[node]), float(nodes["y_m"].iloc[node])


def _venue_zones(scenario: Scenario, venue_id: str, count: int) -> tuple[list[int], FloatArray]:
    """The ``count`` parking/drop-off zones with distinct nodes nearest the venue, and shares."""
    zones = scenario.zones
    candidates = zones[zones["kind"].isin(["parking", "dropoff"])].drop_duplicates("node_id")
    if candidates.empty:
        raise ScenarioError(f"zones.csv: no parking or dropoff zone for venue {venue_id!r}")
    x, y = _venue_xy(scenario, venue_id)
    nodes = scenario.nodes
    cx = nodes["x_m"].to_numpy()[candidates["node_id"].to_numpy()]
    cy = nodes["y_m"].to_numpy()[candidates["node_id"].to_numpy()]
    nearest = np.argsort(np.hypot(cx - x, cy - y), kind="stable")[:count]
    weight = 1.0 / np.arange(1, len(nearest) + 1)
    return candidates["zone_id"].to_numpy()[nearest].tolist(), weight / weight.sum()


def _nearest_station(scenario: Scenario, venue_id: str) -> str:
    facilities = scenario.facilities
    stations = facilities[facilities["kind"] == "transit"]
    venue = facilities[facilities["id"] == venue_id]
    if stations.empty or venue.empty:
        return ""
    metric = stations.geometry.to_crs(scenario.params.get("crs_m", "EPSG:32652"))
    here = venue.geometry.to_crs(scenario.params.get("crs_m", "EPSG:32652")).iloc[0]
    return str(stations["id"].iloc[int(np.argmin(metric.distance(here).to_numpy()))])
