"""Per-road and per-junction outputs of the traffic state, and levels of service.

Speeds are space-mean speeds: vehicle-metres travelled per second over vehicles present, both
smoothed over about a minute. Delay is the time lost against free flow:
``vehicles - (vehicle-metres per second) / free speed`` vehicle-seconds per second (Little's
law), so a link in free flow has none. A link's queue is the run of cells above critical
density that reaches its downstream end.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.models.network import Network

FloatArray = npt.NDArray[np.float64]
LOS_LETTERS = "ABCDEF"
ROAD_LOS_SPEED_RATIO = (0.85, 0.67, 0.50, 0.40, 0.30)
"""HCM 2010 urban street LOS: travel speed as a share of base free-flow speed, lower bounds of
A..E (F at or below 30 %)."""
SIGNAL_LOS_DELAY_S = (10.0, 20.0, 35.0, 55.0, 80.0)
"""HCM signalised intersection LOS: control delay (s/veh), upper bounds of A..E."""
UNSIGNAL_LOS_DELAY_S = (10.0, 15.0, 25.0, 35.0, 50.0)
"""HCM unsignalised (two-way/all-way stop) LOS: control delay (s/veh), upper bounds of A..E."""
CONGESTED_MARGIN = 1.05
"""A cell counts as queued above this multiple of its critical content."""


def road_los(speed_ratio: FloatArray) -> npt.NDArray[np.uint8]:
    """Level of service 0..5 (A..F) from speed as a share of free speed."""
    return np.searchsorted(-np.asarray(ROAD_LOS_SPEED_RATIO), -speed_ratio, side="left").astype(
        np.uint8
    )


def junction_los(delay_s: FloatArray, signalised: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Level of service 0..5 (A..F) from control delay per vehicle (s)."""
    signal = np.searchsorted(SIGNAL_LOS_DELAY_S, delay_s, side="left")
    other = np.searchsorted(UNSIGNAL_LOS_DELAY_S, delay_s, side="left")
    return np.where(signalised, signal, other).astype(np.uint8)


def link_metrics(
    net: Network,
    vehicles_cell: FloatArray,
    smooth_vehicles_cell: FloatArray,
    smooth_outflow_vps_cell: FloatArray,
) -> dict[str, FloatArray]:
    """Outputs per real link (arrays of length ``net.n_real_links``).

    Parameters
    ----------
    vehicles_cell
        Vehicles now in each cell.
    smooth_vehicles_cell, smooth_outflow_vps_cell
        Smoothed cell content (vehicles) and outflow (vehicles/s).
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
    ratio = speed_mps / free_mps
    return {
        "vehicles": vehicles,
        "flow_vph": smooth_outflow_vps_cell[net.link_last_cell[:n_links]] * 3600.0,
        "density_vpkm": vehicles / (length_m / 1000.0),
        "speed_kph": speed_mps * 3.6,
        "speed_ratio": ratio,
        "travel_time_s": length_m / speed_mps,
        "queue_m": queue_length_m(net, vehicles_cell),
        "delay_rate_veh": np.maximum(smooth_vehicles - vm_per_s / free_mps, 0.0),
        "los": road_los(ratio),
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
