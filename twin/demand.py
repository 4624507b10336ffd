"""Travel demand of the event day: vehicle trips between zones and spectators on foot.

Spectators of a session arrive on the arrival curve before its start and leave on the
departure curve after its end (cumulative shares at minutes from start/end, in
``scenario.toml``). The mode split divides them: car, taxi and bus spectators are vehicle trips
(persons / occupancy) from the boundary gateways to the car park nearest their venue (cars) or
to the venue's drop-off (taxis and buses, which then leave empty); subway and walking
spectators appear at the nearest station or park gate and are handed to the crowd model.
Background traffic enters at every gateway by an hour-of-day profile and leaves at the others,
in proportion to gateway weights. A seeded lognormal factor per (time bin, origin) varies
background flows from day to day; ``noise_sigma = 0`` removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.errors import ScenarioError

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
            if curve.ndim != 2 or np.any(np.diff(curve[:, 0]) <= 0) or np.any(np.diff(curve[:, 1]) < 0):
                raise ScenarioError(f"scenario.toml [demand] {name}: minutes must increase, shares not decrease")
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
                background_vph=float(table["background_vph"]),
                background_hourly_share=tuple(float(v) for v in table["background_hourly_share"]),
                noise_sigma=float(table.get("noise_sigma", 0.0)),
            )
        except KeyError as error:
            raise ScenarioError(f"scenario.toml [demand] is missing {error.args[0]!r}") from error


@dataclass(frozen=True)
class Demand:
    """Vehicle trip rates ``rate_vps[bin, origin_zone, dest_zone]`` (vehicles/s) over the day,
    and spectators on foot ``foot_pps[bin, venue, direction]`` (persons/s; direction 0 =
    arriving, 1 = leaving), with the station or gate they use in ``foot_source``."""

    bin_s: float
    rate_vps: FloatArray
    venue_ids: tuple[str, ...]
    foot_pps: FloatArray
    foot_source: tuple[str, ...]

    def rates_at(self, time_s: float) -> FloatArray:
        """(O, D) vehicles/s at ``time_s`` (seconds since midnight; wraps after a day)."""
        return self.rate_vps[int(time_s % DAY_S // self.bin_s)]


def build_demand(scenario: Any, *, seed: int) -> Demand:
    """Demand of ``scenario`` for the whole day, with background noise from ``seed``."""
    params = DemandParams.from_dict(scenario.params.get("demand", {}))
    zones = scenario.zones
    n_bins = int(round(DAY_S / params.bin_s))
    bin_edges_s = np.arange(n_bins + 1) * params.bin_s
    rate = _background(params, zones, bin_edges_s, np.random.default_rng(seed))
    venue_ids = tuple(scenario.schedule["venue_id"].unique())
    foot = np.zeros((n_bins, len(venue_ids), 2))
    for session in scenario.schedule.itertuples(index=False):
        arrive = _curve_share(params.arrival_curve_min, session.start_s, bin_edges_s)
        leave = _curve_share(params.departure_curve_min, session.end_s, bin_edges_s)
        lead_bins = int(round(params.drive_lead_min * 60 / params.bin_s))
        _add_event_trips(rate, params, zones, scenario, session, np.roll(arrive, -lead_bins), leave)
        on_foot = session.expected_attendance * sum(params.mode_split[m] for m in FOOT_MODES)
        v = venue_ids.index(session.venue_id)
        foot[:, v, 0] += on_foot * arrive / params.bin_s
        foot[:, v, 1] += on_foot * leave / params.bin_s
    sources = tuple(_nearest_station(scenario, venue) for venue in venue_ids)
    return Demand(params.bin_s, rate, venue_ids, foot, sources)


def _curve_share(curve_min: tuple[tuple[float, float], ...], anchor_s: float, edges_s: FloatArray) -> FloatArray:
    """Share of a cumulative curve (minutes from ``anchor_s``) falling in each time bin."""
    points = np.array(curve_min, dtype=float)
    cumulative = np.interp((edges_s - anchor_s) / 60.0, points[:, 0], points[:, 1], left=0.0, right=1.0)
    return np.diff(cumulative)


def _background(params: DemandParams, zones: pd.DataFrame, edges_s: FloatArray, rng: np.random.Generator) -> FloatArray:
    n_bins, n_zones = len(edges_s) - 1, len(zones)
    is_gateway = (zones["kind"] == "gateway").to_numpy()
    weight = np.where(is_gateway, zones["weight"].to_numpy(float), 0.0)
    if weight.sum() <= 0:
        raise ScenarioError("zones.csv: no gateway with a positive weight (background traffic needs one)")
    share_in = weight / weight.sum()
    to_others = weight[None, :] * (1.0 - np.eye(n_zones))
    to_others = np.divide(to_others, to_others.sum(axis=1, keepdims=True),
                          out=np.zeros_like(to_others), where=to_others.sum(axis=1, keepdims=True) > 0)
    hour = (edges_s[:-1] // 3600).astype(int) % 24
    inflow_vps = params.background_vph / 3600.0 * np.asarray(params.background_hourly_share)[hour]
    noise = rng.lognormal(-0.5 * params.noise_sigma**2, params.noise_sigma, size=(n_bins, n_zones))
    return inflow_vps[:, None, None] * (share_in[None, :] * noise)[:, :, None] * to_others[None, :, :]


def _add_event_trips(
    rate: FloatArray, params: DemandParams, zones: pd.DataFrame, scenario: Any, session: Any,
    arrive_share: FloatArray, leave_share: FloatArray,
) -> None:
    """Add one session's car, taxi and bus trips to ``rate`` (vehicles/s), in place."""
    gateway = (zones["kind"] == "gateway").to_numpy()
    gate_share = np.where(gateway, zones["weight"].to_numpy(float), 0.0)
    gate_share = gate_share / gate_share.sum()
    parking = _nearest_zone(scenario, session.venue_id, "parking")
    dropoff = _nearest_zone(scenario, session.venue_id, "dropoff")
    for mode in VEHICLE_MODES:
        vehicles = session.expected_attendance * params.mode_split[mode] / params.occupancy[mode]
        arrive_vps = vehicles * arrive_share / params.bin_s
        leave_vps = vehicles * leave_share / params.bin_s
        target = parking if mode == "car" else dropoff
        rate[:, :, target] += arrive_vps[:, None] * gate_share[None, :]
        rate[:, target, :] += leave_vps[:, None] * gate_share[None, :]
        if mode != "car":  # taxis and buses leave empty after a drop-off, come in empty to pick up
            rate[:, target, :] += arrive_vps[:, None] * gate_share[None, :]
            rate[:, :, target] += leave_vps[:, None] * gate_share[None, :]


def _venue_xy(scenario: Any, venue_id: str) -> tuple[float, float]:
    facilities = scenario.facilities
    row = facilities[facilities["id"] == venue_id]
    node = int(row["node_id"].iloc[0])
    nodes = scenario.nodes
    return float(nodes["x_m"].iloc[node]), float(nodes["y_m"].iloc[node])


def _nearest_zone(scenario: Any, venue_id: str, kind: str) -> int:
    zones = scenario.zones
    if kind == "dropoff":
        match = zones[(zones["kind"] == "dropoff") & (zones["facility_id"] == venue_id)]
        if len(match):
            return int(match["zone_id"].iloc[0])
    candidates = zones[zones["kind"].isin([kind, "dropoff"] if kind == "parking" else [kind])]
    if candidates.empty:
        raise ScenarioError(f"zones.csv: no {kind} zone for venue {venue_id!r}")
    x, y = _venue_xy(scenario, venue_id)
    nodes = scenario.nodes
    cx = nodes["x_m"].to_numpy()[candidates["node_id"].to_numpy()]
    cy = nodes["y_m"].to_numpy()[candidates["node_id"].to_numpy()]
    return int(candidates["zone_id"].iloc[int(np.argmin(np.hypot(cx - x, cy - y)))])


def _nearest_station(scenario: Any, venue_id: str) -> str:
    facilities = scenario.facilities
    stations = facilities[facilities["kind"] == "transit"]
    venue = facilities[facilities["id"] == venue_id]
    if stations.empty or venue.empty:
        return ""
    metric = stations.geometry.to_crs(scenario.params.get("crs_m", "EPSG:32652"))
    here = venue.geometry.to_crs(scenario.params.get("crs_m", "EPSG:32652")).iloc[0]
    return str(stations["id"].iloc[int(np.argmin(metric.distance(here).to_numpy()))])
