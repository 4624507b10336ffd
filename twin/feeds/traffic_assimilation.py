"""Traffic assimilation: detector counts correct the twin's gateway demand and link states.

The method, in two parts, both run once per batch of detector readings (usually one minute):

1. **Gateway demand: an extended Kalman filter on per-origin demand factors.** The state is the
   factor ``f_o`` on each origin zone's scheduled demand (``engine.state.demand_factor``, which
   :meth:`twin.engine.Engine._entering_veh` applies), modelled as a random walk: boundary flows
   as random-walk states of an extended Kalman filter on a macroscopic model, as in Wang and
   Papageorgiou (2005), "Real-time freeway traffic state estimation based on extended Kalman
   filter: a general approach", *Transportation Research Part B* 39(2), 141-167, here on the
   cell transmission model of an urban network.

   - Observation: the flow each detector counted over its interval. The model's equivalent is
     the mean outflow of the cell that holds the detector over the same interval, recovered
     from the smoothed outflow at the interval's two ends (:func:`_interval_mean_outflow`).
   - Jacobian ``H[j, o]`` (veh/s at ``j`` per unit of ``f_o``): the assignment of the origin's
     recent demand (its mean rate over :attr:`AssimilationParams.demand_window_s`, split by
     destination) over the model's current next-hop splits: expected passages of ``j``'s link
     per vehicle leaving ``o``, from one sparse solve per destination (the split graph has no
     cycle, so ``I - T_d`` is invertible). Transitions out of a link whose queue fills it, or
     out of a gateway whose vehicles wait to enter, are cut: more demand does not pass a
     saturated bottleneck, so counts beyond it say nothing about the demand behind it.
   - Transport lag: a change of ``f`` reaches a detector only after the travel time from the
     gateway, so the predicted observation adds ``H (f - f_lag)``, the part of the latest
     corrections not yet visible in the model (``f_lag``: the factor ``lag_s`` ago).
   - Noise: Poisson counting noise plus a relative model error. Counts where the model or the
     detector sees congestion (content above critical) are left out (there the flow is set by
     capacity, not demand), and so are readings beyond ``gate_sd`` predicted standard
     deviations (innovation gating: a bottleneck the model does not know, or a bad loop).

2. **Densities and speeds on observed links: nudging** (Newtonian relaxation, the steady-state
   form of a Kalman update with a fixed gain; Hoke and Anthes 1976). Where a detector measures
   occupancy (density per lane = occupancy / effective vehicle length) or speed (density =
   flow / speed), each cell of its link moves a share ``density_gain * exp(-d / taper_m)`` of
   the way to that density, ``d`` being the distance from the detector; the cell keeps its mix
   of destinations (an empty cell takes its link's, else the network's). The displayed speed
   (smoothed outflow over smoothed content: speed is not a state of the CTM) is moved the same
   way toward the measured speed (reported, or flow over the occupancy density).

Vehicles stay accounted: every vehicle a correction adds or removes goes into
``state.corrected_veh`` (removed counts positive), so ``generated - exited - in network -
corrected = 0`` holds exactly (to rounding). The filter's own state (covariance, recent factors,
the last smoothed outflow at each site) lives in ``state.extras["assimilation"]``, so
snapshots, forks, forecasts and the recorder carry it; a fork or forecast gets no observations
and runs on the estimated ``demand_factor``. The whole update is plain numpy/scipy arithmetic on
the state: the same batch on the same state gives the same result, bit for bit (replay relies
on it). Measured skill and its limits: ``docs/assimilation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from twin.engine import SMOOTHING_S
from twin.models.metrics import CONGESTED_MARGIN

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.feeds.batch import DetectorCounts

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
EXTRAS_KEY = "assimilation"
"""Key of the filter's state in ``engine.state.extras``."""


@dataclass(frozen=True)
class AssimilationParams:
    """Tuning of :func:`assimilate_detectors` (defaults used by the live loop and the bench).

    Attributes
    ----------
    prior_sd
        Standard deviation of the demand factors before any reading (factor 1 = the schedule).
    drift_sd_per_min
        Random-walk standard deviation of a demand factor per minute of data.
    count_model_error
        Relative error of the model's flow at a detector (on top of Poisson counting noise).
    factor_bounds
        The estimated factors are kept inside these.
    gate_sd
        Readings whose innovation exceeds this many predicted standard deviations are left out
        of the demand update (innovation gating).
    demand_window_s
        Window (s) over which an origin's scheduled rate is averaged for the Jacobian.
    lag_s
        Typical time (s) for a demand change to reach the detectors (see the module docstring).
    density_gain, speed_gain
        Share of the gap to the measured density (speed) closed at the detector's own position.
    taper_m
        Distance (m) over which the density correction fades along the link (e-folding).
    effective_length_m
        Vehicle length plus loop length (m): density per lane = occupancy / this.
    """

    prior_sd: float = 0.3
    drift_sd_per_min: float = 0.1
    count_model_error: float = 0.1
    factor_bounds: tuple[float, float] = (0.5, 3.0)
    gate_sd: float = 3.0
    demand_window_s: float = 300.0
    lag_s: float = 120.0
    density_gain: float = 0.5
    speed_gain: float = 0.5
    taper_m: float = 100.0
    effective_length_m: float = 5.5

    def __post_init__(self) -> None:
        positive = ("prior_sd", "drift_sd_per_min", "demand_window_s", "taper_m", "gate_sd")
        for name in (*positive, "effective_length_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("density_gain", "speed_gain"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        low, high = self.factor_bounds
        if not 0.0 < low <= 1.0 <= high:
            raise ValueError(
                f"factor_bounds must hold 1 between two positive bounds, got {(low, high)}"
            )


DEFAULT_PARAMS = AssimilationParams()


def assimilate_detectors(
    engine: Engine,
    counts: DetectorCounts,
    *,
    usable: npt.NDArray[np.bool_] | None = None,
    params: AssimilationParams = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """Correct ``engine``'s demand factors and observed densities from ``counts``.

    Runs in the loop thread after the batch is recorded (the one writer). ``usable`` masks the
    detectors (rows of ``scenario.detectors``) the health checks still trust; ``None`` trusts
    all. Deterministic: replay applies the same counts to the same state.

    Returns
    -------
    dict
        A plain summary for the audit log and the recording: ``assimilated`` (readings used),
        ``detectors`` (detectors used), ``flow_updates``, ``density_updates``,
        ``corrected_veh`` (vehicles this batch removed, negative if added),
        ``demand_factor_min``/``_max``, ``innovation_rms_vph``.
    """
    sites = engine.scenario.detectors
    if sites is None or len(counts) == 0:
        return {"assimilated": 0, "detectors": 0}
    readings = _per_detector(counts, len(sites), usable)
    if readings is None:
        return {"assimilated": 0, "detectors": 0}
    geometry = _geometry(engine, sites, readings.index)
    density_vpm = _road_density_vpm(engine, geometry, readings, params)
    memory = _memory(engine, params)
    innovation = _update_demand(engine, memory, geometry, readings, density_vpm, params)
    removed = _nudge_density(
        engine, geometry, density_vpm, _speed_mps(readings, geometry, params), params
    )
    _keep_mark(engine, memory)
    factor = engine.state.demand_factor
    return {
        "assimilated": readings.n_readings,
        "detectors": len(readings.index),
        "flow_updates": int(innovation.size),
        "density_updates": int(np.isfinite(density_vpm).sum()),
        "corrected_veh": float(removed),
        "demand_factor_min": float(factor.min()),
        "demand_factor_max": float(factor.max()),
        "innovation_rms_vph": float(np.sqrt(np.mean(innovation**2)) * 3600.0)
        if innovation.size
        else 0.0,
    }


# ---------------------------------------------------------------- readings
@dataclass(frozen=True)
class _Readings:
    """A batch merged per usable detector (rows follow ``index``)."""

    index: IntArray  # detector rows
    seconds: FloatArray  # counting time covered
    flow_vps: FloatArray  # vehicles/s over all the site's lanes
    occupancy: FloatArray  # time-weighted mean, 0..1 (nan: not measured)
    speed_mps: FloatArray  # count-weighted mean (nan: not measured)
    n_readings: int


def _per_detector(
    counts: DetectorCounts, n_sites: int, usable: npt.NDArray[np.bool_] | None
) -> _Readings | None:
    """The batch's readings of usable detectors merged per detector (a batch may hold several
    intervals of one detector); None when no usable reading is left."""
    det = np.asarray(counts.detector_index, dtype=np.int64)
    keep = (det >= 0) & (det < n_sites) & (np.asarray(counts.interval_s, dtype=float) > 0)
    if usable is not None:
        mask = np.asarray(usable, dtype=bool)
        if mask.shape != (n_sites,):
            raise ValueError(
                f"usable must have one flag per detector ({n_sites}), got shape {mask.shape}"
            )
        keep &= mask[np.clip(det, 0, n_sites - 1)]
    if not keep.any():
        return None
    interval_s = np.asarray(counts.interval_s, dtype=float)[keep]
    count = np.asarray(counts.count_veh, dtype=float)[keep]
    occupancy = np.asarray(counts.occupancy, dtype=float)[keep]
    speed_mps = np.asarray(counts.speed_kph, dtype=float)[keep] / 3.6
    index, row = np.unique(det[keep], return_inverse=True)
    n = len(index)
    seconds = np.bincount(row, interval_s, n)
    has_occ = np.isfinite(occupancy)
    occ_s = np.bincount(row, np.where(has_occ, interval_s, 0.0), n)
    occ = np.bincount(row, np.where(has_occ, occupancy, 0.0) * interval_s, n)
    has_speed = np.isfinite(speed_mps) & (speed_mps > 0) & (count > 0)
    speed_n = np.bincount(row, np.where(has_speed, count, 0.0), n)
    speed = np.bincount(row, np.where(has_speed, count * speed_mps, 0.0), n)
    return _Readings(
        index=index,
        seconds=seconds,
        flow_vps=np.bincount(row, count, n) / seconds,
        occupancy=np.divide(occ, occ_s, out=np.full(n, np.nan), where=occ_s > 0),
        speed_mps=np.divide(speed, speed_n, out=np.full(n, np.nan), where=speed_n > 0),
        n_readings=int(keep.sum()),
    )


@dataclass(frozen=True)
class _Geometry:
    index: IntArray  # detector rows
    cell: IntArray  # cell holding each detector
    link: IntArray  # its link
    lanes: FloatArray  # lanes it covers
    position_m: FloatArray


def _geometry(engine: Engine, sites: Any, index: IntArray) -> _Geometry:
    net = engine.net
    link = sites["link_id"].to_numpy(np.int64)[index]
    position = sites["position_m"].to_numpy(float)[index]
    lanes = np.maximum(sites["lanes"].to_numpy(float)[index], 1.0)
    first, last = net.link_first_cell[link], net.link_last_cell[link]
    offset = np.floor(np.clip(position, 0.0, None) / net.cell_length_m[first]).astype(np.int64)
    return _Geometry(index, np.minimum(first + offset, last), link, lanes, position)


def _road_density_vpm(
    engine: Engine, geometry: _Geometry, readings: _Readings, params: AssimilationParams
) -> FloatArray:
    """Measured density over the whole road (all its lanes), veh/m; nan where not measured.

    From occupancy: ``occupancy / effective length`` per covered lane; else from speed:
    ``flow / speed`` over the covered lanes. Either is scaled to the link's lanes.
    """
    site_vpm = np.where(
        np.isfinite(readings.occupancy),
        readings.occupancy / params.effective_length_m * geometry.lanes,
        readings.flow_vps / readings.speed_mps,
    )
    return site_vpm * engine.net.link_lanes[geometry.link] / geometry.lanes


def _speed_mps(readings: _Readings, geometry: _Geometry, params: AssimilationParams) -> FloatArray:
    """Measured mean speed (m/s): as reported, else flow over density from occupancy (nan where
    neither gives one: no vehicle counted, or no occupancy)."""
    site_vpm = readings.occupancy / params.effective_length_m * geometry.lanes
    from_occupancy = np.divide(
        readings.flow_vps,
        site_vpm,
        out=np.full_like(site_vpm, np.nan),
        where=np.isfinite(site_vpm) & (site_vpm > 0) & (readings.flow_vps > 0),
    )
    return np.where(np.isfinite(readings.speed_mps), readings.speed_mps, from_occupancy)


# ---------------------------------------------------------------- the filter's memory
def _memory(engine: Engine, params: AssimilationParams) -> dict[str, Any]:
    """The filter's state in ``state.extras`` (created on the first batch)."""
    state = engine.state
    n_origins = len(engine.net.origin_zone_link)
    if state.demand_factor is None:
        state.demand_factor = np.ones(n_origins)
    memory = state.extras.get(EXTRAS_KEY)
    if memory is None:
        memory = {
            "covariance": np.eye(n_origins) * params.prior_sd**2,
            "last_time_s": state.time_s,
            "history": [],  # (time_s, demand factor) of recent updates, oldest first
            "mark_time_s": np.nan,  # when ``mark_outflow_vps`` was read
            "mark_outflow_vps": np.zeros(0),  # smoothed outflow at every site's cell then
        }
        state.extras[EXTRAS_KEY] = memory
    return memory


def _factor_at(memory: dict[str, Any], time_s: float, current: FloatArray) -> FloatArray:
    """The demand factor in force at ``time_s`` (the latest update at or before it)."""
    factor = np.ones_like(current)
    for when, value in memory["history"]:
        if when <= time_s + 1e-9:
            factor = value
    return factor


# ---------------------------------------------------------------- part 1: demand
def _update_demand(
    engine: Engine,
    memory: dict[str, Any],
    geometry: _Geometry,
    readings: _Readings,
    density_vpm: FloatArray,
    params: AssimilationParams,
) -> FloatArray:
    """One extended-Kalman update of the demand factors; returns the innovations (veh/s)."""
    state, net = engine.state, engine.net
    now = state.time_s
    elapsed_min = max(now - float(memory["last_time_s"]), 0.0) / 60.0
    memory["last_time_s"] = now
    n_origins = len(state.demand_factor)
    covariance = memory["covariance"] + np.eye(n_origins) * (
        params.drift_sd_per_min**2 * max(elapsed_min, 1.0)
    )
    critical = net.cell_critical_veh[geometry.cell]
    content = state.smooth_vehicles[geometry.cell]
    observed_veh = density_vpm * net.cell_length_m[geometry.cell]
    free = (content <= critical) & ~(observed_veh > critical)  # nan (not measured): no evidence
    if not free.any():
        memory["covariance"] = covariance
        return np.zeros(0)
    rate_od = _recent_rates(engine, params.demand_window_s)  # (O, D) veh/s
    jacobian = _assignment(engine, geometry.link[free], rate_od)  # (J, O)
    active = np.flatnonzero(rate_od.sum(axis=1) > 0)
    factor = state.demand_factor
    lagged = _factor_at(memory, now - params.lag_s, factor)
    model = _interval_mean_outflow(engine, memory, geometry, readings)[free]
    predicted = model + jacobian @ (factor - lagged)
    observed = readings.flow_vps[free]
    innovation = observed - predicted
    p = covariance[np.ix_(active, active)]
    counting = np.maximum(observed, 1.0 / readings.seconds[free]) / readings.seconds[free]
    noise = counting + (params.count_model_error * np.maximum(observed, predicted)) ** 2
    # innovation gating: a reading far outside its predicted spread is more likely a bottleneck
    # the model does not know (or a faulty loop) than a demand change; leave it out
    h_all = jacobian[:, active]
    spread = np.sqrt(np.einsum("ja,ab,jb->j", h_all, p, h_all) + noise)
    inside = np.abs(innovation) <= params.gate_sd * spread
    if not inside.any():
        memory["covariance"] = covariance
        return np.zeros(0)
    innovation, noise, h = innovation[inside], noise[inside], h_all[inside]
    s = h @ p @ h.T + np.diag(noise)
    gain = np.linalg.solve(s, h @ p).T  # (A, J), s symmetric
    new = factor.copy()
    new[active] = np.clip(factor[active] + gain @ innovation, *params.factor_bounds)
    reduce = np.eye(len(active)) - gain @ h
    p = reduce @ p @ reduce.T + gain @ np.diag(noise) @ gain.T  # Joseph form: stays symmetric
    covariance[np.ix_(active, active)] = 0.5 * (p + p.T)
    memory["covariance"] = covariance
    state.demand_factor = new
    horizon = now - 4.0 * params.lag_s
    memory["history"] = [(t, f) for t, f in memory["history"] if t >= horizon] + [(now, new)]
    return innovation


def _interval_mean_outflow(
    engine: Engine, memory: dict[str, Any], geometry: _Geometry, readings: _Readings
) -> FloatArray:
    """The model's mean outflow (veh/s) at each detector's cell over its counting interval.

    The smoothed outflow ``s`` follows ``ds/dt = (o - s) / tau`` (tau = ``SMOOTHING_S``), so
    over an interval of length ``T`` the mean of ``o`` is ``(s_end - s_start) tau / T`` plus the
    mean of ``s``, taken as ``(s_start + s_end) / 2``. ``s_start`` is the reading kept at the
    previous batch when it ended where this interval starts; otherwise the smoothed value now.
    """
    now = engine.state.time_s
    end = engine.state.smooth_outflow_vps[geometry.cell]
    mark = memory["mark_outflow_vps"]
    mean = end.copy()
    if mark.shape == (len(engine.scenario.detectors),):
        start = mark[geometry.index]
        aligned = np.abs(memory["mark_time_s"] - (now - readings.seconds)) <= engine.dt_s
        estimate = (end - start) * SMOOTHING_S / readings.seconds + 0.5 * (start + end)
        mean = np.where(aligned, np.maximum(estimate, 0.0), end)
    return mean


def _keep_mark(engine: Engine, memory: dict[str, Any]) -> None:
    """Remember every site's smoothed outflow now (the start of the next interval)."""
    sites = engine.scenario.detectors
    every = _geometry(engine, sites, np.arange(len(sites)))
    memory["mark_time_s"] = engine.state.time_s
    memory["mark_outflow_vps"] = engine.state.smooth_outflow_vps[every.cell].copy()


def _recent_rates(engine: Engine, window_s: float) -> FloatArray:
    """(origin zones, destinations) scheduled rates (veh/s) averaged over the last window."""
    now = engine.state.time_s
    return engine.demand.vehicles_between(now - window_s, now) @ engine.zone_to_dest / window_s


def _blocked_links(engine: Engine, rate_od: FloatArray) -> npt.NDArray[np.bool_]:
    """Links through which more demand cannot pass (the derivative of downstream flow with
    respect to upstream demand is zero there): a real link whose first cell is congested (its
    queue fills it: smoothed content above critical), and a gateway whose vehicles are waiting
    to enter (more than a minute of its demand)."""
    net, state = engine.net, engine.state
    blocked = np.zeros(net.n_links, dtype=bool)
    first = net.link_first_cell[: net.n_real_links]
    blocked[: net.n_real_links] = (
        state.smooth_vehicles[first] > CONGESTED_MARGIN * net.cell_critical_veh[first]
    )
    waiting = state.vehicles[net.link_first_cell[net.origin_zone_link]].sum(axis=1)
    blocked[net.origin_zone_link] = waiting > 60.0 * rate_od.sum(axis=1) + 1.0
    return blocked


def _assignment(engine: Engine, det_link: IntArray, rate_od: FloatArray) -> FloatArray:
    """(detectors, origins): vehicles/s at each detector's link per unit factor of each origin.

    For destination ``d`` the next-hop splits give the link-to-link transition ``T_d``;
    ``(I - T_d) Y = E`` gives ``Y[l, j]``, the expected passages of detector ``j``'s link by a
    vehicle for ``d`` now entering link ``l``; an origin's vehicles enter at its virtual link.
    Transitions out of links more demand cannot pass (:func:`_blocked_links`) are cut.
    """
    net, split = engine.net, engine.state.split
    n_links = net.n_links
    origin_link = net.origin_zone_link
    rhs = np.zeros((n_links, len(det_link)))
    rhs[det_link, np.arange(len(det_link))] = 1.0
    identity = sp.identity(n_links, format="csc")
    jacobian = np.zeros((len(det_link), len(origin_link)))
    passes = ~_blocked_links(engine, rate_od)[net.mv_from_link]
    for d in np.flatnonzero(rate_od.sum(axis=0) > 0):
        transition = sp.csc_matrix(
            (split[:, d] * passes, (net.mv_from_link, net.mv_to_link)), shape=(n_links, n_links)
        )
        passages = splu((identity - transition).tocsc()).solve(rhs)  # (L, J)
        jacobian += passages[origin_link].T * rate_od[:, d][None, :]
    return jacobian


# ---------------------------------------------------------------- part 2: densities
def _nudge_density(
    engine: Engine,
    geometry: _Geometry,
    density_vpm: FloatArray,
    speed_mps: FloatArray,
    params: AssimilationParams,
) -> float:
    """Move the cells of observed links toward the measured density, and the displayed speed
    toward the measured speed; returns the vehicles removed (negative: added)."""
    measured = np.isfinite(density_vpm) | np.isfinite(speed_mps)
    if not measured.any():
        return 0.0
    state, net = engine.state, engine.net
    vehicles = state.vehicles
    before = float(vehicles.sum())
    network_mix = vehicles[: net.n_real_cells].sum(axis=0)
    for j in np.flatnonzero(measured):  # one detector at a time: a handful per link at most
        link = geometry.link[j]
        cells = np.arange(net.link_first_cell[link], net.link_last_cell[link] + 1)
        length = net.cell_length_m[cells]
        centre_m = (np.arange(len(cells)) + 0.5) * length
        taper = np.exp(-np.abs(centre_m - geometry.position_m[j]) / params.taper_m)
        if np.isfinite(density_vpm[j]) and params.density_gain > 0:
            target = np.minimum(density_vpm[j] * length, net.cell_jam_veh[cells])
            _nudge_cells(engine, cells, params.density_gain * taper, target, network_mix)
        weight = params.speed_gain * taper
        if np.isfinite(speed_mps[j]) and params.speed_gain > 0:
            smooth = state.smooth_vehicles[cells]
            has = smooth > 1e-6
            model_mps = np.divide(
                state.smooth_outflow_vps[cells] * length,
                smooth,
                out=np.zeros_like(smooth),
                where=has,
            )
            free_mps = net.link_free_speed_mps[link]
            target_mps = min(float(speed_mps[j]), free_mps)
            speed = np.minimum(model_mps, free_mps) + weight * (
                target_mps - np.minimum(model_mps, free_mps)
            )
            capacity_vps = net.cell_capacity_veh[cells] / net.dt_s
            state.smooth_outflow_vps[cells] = np.where(
                has,
                np.minimum(smooth * speed / length, capacity_vps),
                state.smooth_outflow_vps[cells],
            )
    removed = before - float(vehicles.sum())
    state.corrected_veh += removed
    return removed


def _nudge_cells(
    engine: Engine,
    cells: IntArray,
    weight: FloatArray,
    target_veh: FloatArray,
    network_mix: FloatArray,
) -> None:
    """Move ``cells`` a share ``weight`` of the way to ``target_veh``; each keeps its mix of
    destinations (an empty cell takes its link's, else the network's). The smoothed content
    moves by the same number of vehicles and the smoothed outflow with it at the displayed speed,
    so that speed stays until the speed nudge moves it."""
    state, net = engine.state, engine.net
    length_m = net.cell_length_m[cells]
    free_mps = net.link_free_speed_mps[net.cell_link[cells]]
    capacity_vps = net.cell_capacity_veh[cells] / net.dt_s
    vehicles = state.vehicles
    content = vehicles[cells].sum(axis=1)
    wanted = content + weight * (target_veh - content)
    mix = vehicles[cells].sum(axis=0)
    if mix.sum() <= 0:
        mix = network_mix
    if mix.sum() <= 0:
        return
    mix = mix / mix.sum()
    has = content > 1e-9
    ratio = np.divide(wanted, content, out=np.ones_like(content), where=has)
    scaled = vehicles[cells] * ratio[:, None]
    scaled[~has] = wanted[~has, None] * mix[None, :]
    vehicles[cells] = scaled
    smooth = state.smooth_vehicles[cells]
    speed_mps = np.divide(
        state.smooth_outflow_vps[cells] * length_m, smooth, out=free_mps.copy(), where=smooth > 1e-6
    )
    smooth = np.maximum(smooth + (wanted - content), 0.0)
    state.smooth_vehicles[cells] = smooth
    state.smooth_outflow_vps[cells] = np.minimum(smooth * speed_mps / length_m, capacity_vps)


def assimilation_status(engine: Engine) -> dict[str, Any]:
    """What the assimilation currently believes, as plain data for readers (the feed-health
    panel, a replay's "what the twin believed"): the demand factor of each origin zone (by
    ``zone_id``; 1 = the schedule), the vehicles corrections removed (negative: added), and the
    time of the last batch (``None`` before any)."""
    state = engine.state
    memory = state.extras.get(EXTRAS_KEY)
    factor = state.demand_factor
    zone_ids = engine.scenario.zones["zone_id"].tolist()
    return {
        "demand_factor": {
            int(z): float(factor[i]) if factor is not None else 1.0 for i, z in enumerate(zone_ids)
        },
        "corrected_veh": float(state.corrected_veh),
        "last_batch_s": float(memory["last_time_s"]) if memory is not None else None,
    }
