"""Compile a scenario's road graph into the cell arrays of the cell transmission model.

Each directed link is cut into ``n`` equal cells no shorter than the distance a vehicle covers
at free speed in one time step (``free_speed_mps * dt_s``), the Courant condition of Daganzo
(1994). ``dt_s`` comes from the shortest link's free-flow travel time, floored at
``min_dt_s``: links shorter than one step of free flow keep one cell, and the sending function
caps their outflow at their content, so vehicles are still conserved (such a link is crossed
in one step, slightly faster than its free speed).

Every origin zone gets one *virtual* cell and link, appended after the real ones: the place
where generated vehicles wait to enter the network. Its movements lead onto the real links
leaving the zone's node, so entering traffic competes for space with traffic already inside
by the same node model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.errors import ScenarioError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
VIRTUAL_CAPACITY_VPH = 1.0e6
"""Sending capacity of a virtual origin cell: effectively unlimited, the real links decide."""


@dataclass(frozen=True)
class Network:
    """Static arrays of the compiled road network (read-only after compilation).

    Cells ``0..n_real_cells-1`` belong to real links; the rest are virtual origin cells.
    Links ``0..n_real_links-1`` are the scenario's links; the rest are virtual origin links.
    """

    dt_s: float
    n_real_links: int
    n_real_cells: int
    # per link (real + virtual)
    link_first_cell: IntArray
    link_last_cell: IntArray
    link_to_node: IntArray
    link_length_m: FloatArray
    link_free_speed_mps: FloatArray
    link_lanes: FloatArray
    # per cell
    cell_link: IntArray
    cell_length_m: FloatArray
    cell_send_factor: FloatArray  # min(1, free_speed * dt / length): share of content sent
    cell_receive_factor: FloatArray  # wave_speed * dt / length
    cell_capacity_veh: FloatArray  # vehicles per step (all lanes)
    cell_jam_veh: FloatArray  # vehicles at jam density (all lanes)
    cell_critical_veh: FloatArray  # vehicles at critical density (all lanes)
    # interior connections: cell i sends to cell i + 1 of the same link
    interior_cells: IntArray
    # movements (real junction movements first, then virtual origin connectors)
    mv_from_link: IntArray
    mv_to_link: IntArray
    mv_node: IntArray
    mv_phase: IntArray
    # zones
    origin_zone_link: IntArray  # virtual link of each origin zone (by zone_id)
    zone_node: IntArray

    @cached_property
    def movements_by_from_link(self) -> tuple[IntArray, IntArray]:
        """Movements grouped by the link they leave: ``order[start[l]:start[l + 1]]`` leave link ``l``."""
        order = np.argsort(self.mv_from_link, kind="stable")
        start = np.searchsorted(self.mv_from_link[order], np.arange(self.n_links + 1))
        return order, start

    @property
    def n_links(self) -> int:
        return len(self.link_first_cell)

    @property
    def n_cells(self) -> int:
        return len(self.cell_link)


def choose_dt_s(links: pd.DataFrame, *, min_dt_s: float = 1.0, max_dt_s: float = 5.0) -> float:
    """Time step (s) from the shortest link's free-flow travel time, in steps of 0.5 s."""
    travel_s = links["length_m"].to_numpy() / (links["free_speed_kph"].to_numpy() / 3.6)
    return float(np.clip(np.floor(travel_s.min() * 2.0) / 2.0, min_dt_s, max_dt_s))


def compile_network(
    links: pd.DataFrame,
    movements: pd.DataFrame,
    zones: pd.DataFrame,
    *,
    dt_s: float,
) -> Network:
    """Cut links into cells and lay out movements and virtual origin links.

    Parameters
    ----------
    links, movements, zones
        Tables in the scenario format (``docs/scenario-format.md``).
    dt_s
        Time step in seconds.
    """
    if not dt_s > 0:
        raise ScenarioError(f"dt_s must be > 0, got {dt_s}")
    n_real = len(links)
    length_m = links["length_m"].to_numpy(float)
    free_mps = links["free_speed_kph"].to_numpy(float) / 3.6
    lanes = links["lanes"].to_numpy(float)
    capacity_vps = links["capacity_vphpl"].to_numpy(float) * lanes / 3600.0
    jam_vpm = links["jam_density_vpkm"].to_numpy(float) * lanes / 1000.0
    critical_vpm = capacity_vps / free_mps
    if np.any(critical_vpm >= jam_vpm):
        bad = int(np.argmax(critical_vpm >= jam_vpm))
        raise ScenarioError(
            f"links: link_id {bad} has capacity above free speed x jam density "
            "(the triangular fundamental diagram needs capacity/free_speed < jam density)"
        )
    wave_mps = capacity_vps / (jam_vpm - critical_vpm)

    n_cells_per_link = np.maximum(1, np.floor(length_m / (free_mps * dt_s))).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(n_cells_per_link)[:-1]])
    n_real_cells = int(n_cells_per_link.sum())
    cell_link = np.repeat(np.arange(n_real), n_cells_per_link)
    cell_len = (length_m / n_cells_per_link)[cell_link]

    origin_zones = zones["zone_id"].to_numpy(np.int64)
    zone_node = zones["node_id"].to_numpy(np.int64)
    n_virtual = len(origin_zones)
    virtual_links = n_real + np.arange(n_virtual)
    virtual_cells = n_real_cells + np.arange(n_virtual)

    real_mv = movements.sort_values("movement_id")
    connectors = _origin_connectors(links, zone_node, virtual_links)
    mv_from = np.concatenate([real_mv["from_link"].to_numpy(np.int64), connectors[0]])
    mv_to = np.concatenate([real_mv["to_link"].to_numpy(np.int64), connectors[1]])
    mv_node = np.concatenate([real_mv["node_id"].to_numpy(np.int64), connectors[2]])
    mv_phase = np.concatenate(
        [real_mv["phase"].to_numpy(np.int64), -np.ones(len(connectors[0]), np.int64)]
    )

    is_last = np.zeros(n_real_cells, bool)
    is_last[first + n_cells_per_link - 1] = True
    virtual_cap = VIRTUAL_CAPACITY_VPH / 3600.0 * dt_s
    return Network(
        dt_s=float(dt_s),
        n_real_links=n_real,
        n_real_cells=n_real_cells,
        link_first_cell=np.concatenate([first, virtual_cells]),
        link_last_cell=np.concatenate([first + n_cells_per_link - 1, virtual_cells]),
        link_to_node=np.concatenate([links["to_node"].to_numpy(np.int64), zone_node]),
        link_length_m=np.concatenate([length_m, np.zeros(n_virtual)]),
        link_free_speed_mps=np.concatenate([free_mps, np.full(n_virtual, np.inf)]),
        link_lanes=np.concatenate([lanes, np.ones(n_virtual)]),
        cell_link=np.concatenate([cell_link, virtual_links]),
        cell_length_m=np.concatenate([cell_len, np.zeros(n_virtual)]),
        cell_send_factor=np.concatenate(
            [np.minimum(1.0, free_mps[cell_link] * dt_s / cell_len), np.ones(n_virtual)]
        ),
        cell_receive_factor=np.concatenate(
            [np.minimum(1.0, wave_mps[cell_link] * dt_s / cell_len), np.zeros(n_virtual)]
        ),
        cell_capacity_veh=np.concatenate(
            [capacity_vps[cell_link] * dt_s, np.full(n_virtual, virtual_cap)]
        ),
        cell_jam_veh=np.concatenate([jam_vpm[cell_link] * cell_len, np.full(n_virtual, np.inf)]),
        cell_critical_veh=np.concatenate(
            [critical_vpm[cell_link] * cell_len, np.full(n_virtual, np.inf)]
        ),
        interior_cells=np.flatnonzero(~is_last),
        mv_from_link=mv_from,
        mv_to_link=mv_to,
        mv_node=mv_node,
        mv_phase=mv_phase,
        origin_zone_link=virtual_links,
        zone_node=zone_node,
    )


def _origin_connectors(
    links: pd.DataFrame, zone_node: IntArray, virtual_links: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Movements from each zone's virtual link onto every real link leaving the zone's node.

    A zone whose node has no link leaving it can only be a destination.
    """
    from_node = links["from_node"].to_numpy(np.int64)
    pairs = [
        (virtual_link, out_link, node)
        for virtual_link, node in zip(virtual_links, zone_node, strict=True)
        for out_link in np.flatnonzero(from_node == node)
    ]
    columns = np.array(pairs, dtype=np.int64).T
    return columns[0], columns[1], columns[2]
