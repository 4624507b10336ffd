"""Per-road and per-junction outputs of the traffic state, and levels of service.

Speeds are space-mean speeds: vehicle-metres travelled per second over vehicles present, both
smoothed over about a minute. Delay is the time lost against free flow:
``vehicles - (vehicle-metres per second) / free speed`` vehicle-seconds per second (Little's
law), so a link in free flow has none. A link's queue is the run of cells above critical
density that reaches its downstream end.

Level of service is computed one way everywhere (roads on the map, approaches, junctions, the
summary): :func:`level_of_service` of the control delay per vehicle, HCM signalised-intersection
thresholds (unsignalised ones for roads into a junction without a signal), and F whenever the
volume exceeds the capacity (v/c > 1). A road's delay per vehicle is its delay rate over its
throughput (:func:`delay_per_vehicle_s`); a junction's is the volume-weighted delay of the roads
into it, i.e. their summed delay rates over their summed throughput.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from twin.models.network import Network

if TYPE_CHECKING:
    from twin.models.signals import SignalPlans

FloatArray = npt.NDArray[np.float64]
LOS_LETTERS = "ABCDEF"
SIGNAL_LOS_DELAY_S = (10.0, 20.0, 35.0, 55.0, 80.0)
"""HCM signalised intersection LOS: control delay (s/veh), upper bounds of A..E (F above 80)."""
UNSIGNAL_LOS_DELAY_S = (10.0, 15.0, 25.0, 35.0, 50.0)
"""HCM unsignalised (two-way/all-way stop) LOS: control delay (s/veh), upper bounds of A..E."""
LOS_F = 5
MIN_THROUGHPUT_VPS = 1.0 / 300.0
"""Throughput (veh/s, 12 veh/h) below which a road counts as carrying nothing: delay per vehicle
is the delay rate over at least this, so a nearly empty road with a trace of delay reads a few
seconds, not minutes, while vehicles stuck behind a closed exit still read as stuck."""
CONGESTED_MARGIN = 1.05
"""A cell counts as queued above this multiple of its critical content."""


def level_of_service(
    delay_s_per_veh: npt.ArrayLike,
    *,
    v_over_c: npt.ArrayLike | None = None,
    signalised: npt.ArrayLike = True,
) -> npt.NDArray[np.uint8]:
    """Level of service 0..5 (A..F) from control delay per vehicle (s).

    HCM signalised intersections: A up to 10 s, B up to 20, C up to 35, D up to 55, E up to 80,
    F above 80 s/veh; F also wherever ``v_over_c`` (volume over capacity) is above 1.
    ``signalised=False`` uses the unsignalised thresholds (10, 15, 25, 35, 50 s). A delay that
    is not a number (no reading) counts as none.
    """
    delay = np.nan_to_num(np.asarray(delay_s_per_veh, dtype=float), nan=0.0, posinf=np.inf)
    signal = np.searchsorted(SIGNAL_LOS_DELAY_S, delay, side="left")
    other = np.searchsorted(UNSIGNAL_LOS_DELAY_S, delay, side="left")
    los = np.where(np.asarray(signalised, dtype=bool), signal, other)
    if v_over_c is not None:
        ratio = np.nan_to_num(np.asarray(v_over_c, dtype=float), nan=0.0)
        los = np.where(ratio > 1.0, LOS_F, los)
    return np.asarray(los, dtype=np.uint8)


def delay_per_vehicle_s(delay_rate_veh: npt.ArrayLike, throughput_vps: npt.ArrayLike) -> FloatArray:
    """Control delay per vehicle (s/veh) by Little's law: vehicles delayed (veh·s/s) over the
    vehicles served per second, the latter taken as at least :data:`MIN_THROUGHPUT_VPS`."""
    rate = np.maximum(np.asarray(delay_rate_veh, dtype=float), 0.0)
    served = np.maximum(np.asarray(throughput_vps, dtype=float), MIN_THROUGHPUT_VPS)
    return rate / served


def combined_delay_s_per_veh(
    delay_s_per_veh: npt.ArrayLike, throughput_vps: npt.ArrayLike
) -> float:
    """A junction's control delay per vehicle (s) from its approaches' delays and throughputs:
    the volume-weighted mean ``sum(d * q) / sum(q)``, which is the approaches' summed delay rates
    over their summed throughput. An approach's weight is its throughput, at least the floor of
    :func:`delay_per_vehicle_s` (the weight its own delay was computed with)."""
    delay = np.asarray(delay_s_per_veh, dtype=float)
    throughput = np.asarray(throughput_vps, dtype=float)
    delay_rate = delay * np.maximum(throughput, MIN_THROUGHPUT_VPS)
    return float(delay_per_vehicle_s(delay_rate.sum(), throughput.sum()))


def junction_los(delay_s: FloatArray, signalised: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Level of service 0..5 (A..F) of junctions from control delay per vehicle (s)."""
    return level_of_service(delay_s, signalised=signalised)


def green_share(net: Network, plans: SignalPlans) -> FloatArray:
    """Share of the cycle each real link may discharge: the greens of the phases its movements
    use over the cycle at a signalised junction, 1 elsewhere."""
    n_links = net.n_real_links
    n_nodes = int(max(net.link_to_node.max(), plans.node_ids.max(initial=0))) + 1
    row_of_node = np.full(n_nodes, -1, dtype=np.int64)
    row_of_node[plans.node_ids] = np.arange(len(plans.node_ids))
    rows = row_of_node[net.mv_node]
    use = (net.mv_phase >= 0) & (rows >= 0) & (net.mv_from_link < n_links)
    width = plans.greens_s.shape[1]
    pairs = np.unique(net.mv_from_link[use] * width + net.mv_phase[use])  # each phase once
    link, phase = pairs // width, pairs % width
    row = row_of_node[net.link_to_node[link]]
    share = np.bincount(link, plans.greens_s[row, phase] / plans.cycle_s[row], n_links)
    signalised = np.zeros(n_links, dtype=bool)
    signalised[link] = True
    return np.where(signalised, share, 1.0)


def signalised_links(net: Network) -> npt.NDArray[np.bool_]:
    """True for real links whose movements into their junction are signal-controlled."""
    flags = np.zeros(net.n_real_links, dtype=bool)
    real = (net.mv_phase >= 0) & (net.mv_from_link < net.n_real_links)
    flags[net.mv_from_link[real]] = True
    return flags


def link_metrics(
    net: Network,
    vehicles_cell: FloatArray,
    smooth_vehicles_cell: FloatArray,
    smooth_outflow_vps_cell: FloatArray,
    *,
    plans: SignalPlans | None = None,
) -> dict[str, FloatArray]:
    """Outputs per real link (arrays of length ``net.n_real_links``).

    Parameters
    ----------
    vehicles_cell
        Vehicles now in each cell.
    smooth_vehicles_cell, smooth_outflow_vps_cell
        Smoothed cell content (vehicles) and outflow (vehicles/s).
    plans
        The signal plans, for each approach's capacity (saturation flow x green share) in
        ``v_over_c``; without them capacity is the saturation flow.
    """
    real = slice(0, net.n_real_cells)
    n_links = net.n_real_links
    link = net.cell_link[real]
    length_m = net.link_length_m[:n_links]
    free_mps = net.link_free_speed_mps[:n_links]
    vehicles = np.bincount(link, vehicles_cell[real], n_links)
    smooth_vehicles = np.bincount(link, smooth_vehicles_cell[real], n_links)
    vm_per_s = np.bincount(link, smooth_outflow_vps_cell[real] * net.cell_length_m[real], n_links)
    speed_mps = np.where(
        smooth_vehicles > 1e-6,
        np.minimum(free_mps, vm_per_s / np.maximum(smooth_vehicles, 1e-12)),
        free_mps,
    )
    speed_mps = np.maximum(speed_mps, 0.1)
    last = net.link_last_cell[:n_links]
    throughput_vps = smooth_outflow_vps_cell[last]
    delay_rate = np.maximum(smooth_vehicles - vm_per_s / free_mps, 0.0)
    delay_s = delay_per_vehicle_s(delay_rate, throughput_vps)
    arrival_vps = np.maximum(smooth_outflow_vps_cell[net.link_first_cell[:n_links]], throughput_vps)
    share = np.ones(n_links) if plans is None else green_share(net, plans)
    capacity_vps = net.cell_capacity_veh[last] / net.dt_s * share
    v_over_c = arrival_vps / np.maximum(capacity_vps, 1e-12)
    return {
        "vehicles": vehicles,
        "flow_vph": throughput_vps * 3600.0,
        "density_vpkm": vehicles / (length_m / 1000.0),
        "speed_kph": speed_mps * 3.6,
        "speed_ratio": speed_mps / free_mps,
        "travel_time_s": length_m / speed_mps,
        "queue_m": queue_length_m(net, vehicles_cell),
        "delay_rate_veh": delay_rate,
        "delay_s_per_veh": delay_s,
        "v_over_c": v_over_c,
        "los": level_of_service(delay_s, v_over_c=v_over_c, signalised=signalised_links(net)),
    }


def queue_length_m(net: Network, vehicles_cell: FloatArray) -> FloatArray:
    """Length (m) of the run of congested cells that ends at each real link's downstream end."""
    n_cells = net.n_real_cells
    congested = vehicles_cell[:n_cells] > CONGESTED_MARGIN * net.cell_critical_veh[:n_cells]
    free_after = np.concatenate([np.cumsum((~congested)[::-1])[::-1], [0]])
    last = net.link_last_cell[: net.n_real_links]
    link = net.cell_link[:n_cells]
    in_queue = (free_after[:n_cells] - free_after[last[link] + 1]) == 0
    return np.bincount(link, in_queue * net.cell_length_m[:n_cells], net.n_real_links)


def cell_travel_time_s(
    net: Network, vehicles_cell: FloatArray, *, cap_s: float = 3600.0
) -> FloatArray:
    """Instantaneous travel time (s) per link from the fundamental diagram of each cell."""
    n_cells = net.n_real_cells
    content = vehicles_cell[:n_cells]
    length = net.cell_length_m[:n_cells]
    free = net.link_free_speed_mps[net.cell_link[:n_cells]]
    wave = net.cell_receive_factor[:n_cells] * length / net.dt_s
    congested_speed = (
        wave * np.maximum(net.cell_jam_veh[:n_cells] - content, 0.0) / np.maximum(content, 1e-9)
    )
    speed = np.maximum(np.minimum(free, congested_speed), length / cap_s)
    per_link = np.bincount(net.cell_link[:n_cells], length / speed, net.n_real_links)
    return np.concatenate([per_link, np.full(net.n_links - net.n_real_links, 1e-3)])
