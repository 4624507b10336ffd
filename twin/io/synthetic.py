"""Small hand-built scenarios: chains and grids whose answers can be computed on paper.

Used by the verification tests and the benchmark. Coordinates are metres; the links carry
no geometry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.models.demand import Demand
from twin.scenario import SCHEDULE_COLUMNS, Scenario

DAY_S = 24 * 3600


def chain_scenario(
    lengths_m: list[float],
    *,
    free_speed_kph: float | list[float] = 36.0,
    capacity_vphpl: float | list[float] = 1800.0,
    lanes: int | list[int] = 1,
    jam_density_vpkm: float = 150.0,
    signal_at: int | None = None,
    cycle_s: float = 60.0,
    greens_s: tuple[float, float] = (27.0, 27.0),
    intergreen_s: float = 3.0,
    dt_s: float | None = None,
) -> Scenario:
    """A one-way chain of links ``0 -> 1 -> ... -> n`` with an origin at node 0, a destination at
    node ``n``, and optionally a two-phase signal at node ``signal_at`` (the chain's movement in
    phase 0; phase 1 serves an absent cross street, so it is red time for the chain)."""
    n = len(lengths_m)
    as_list = lambda v: list(v) if isinstance(v, (list, tuple)) else [v] * n  # noqa: E731
    links = pd.DataFrame(
        {
            "link_id": range(n),
            "from_node": range(n),
            "to_node": range(1, n + 1),
            "length_m": lengths_m,
            "lanes": as_list(lanes),
            "free_speed_kph": as_list(free_speed_kph),
            "capacity_vphpl": as_list(capacity_vphpl),
            "jam_density_vpkm": jam_density_vpkm,
        }
    )
    nodes = pd.DataFrame(
        {"node_id": range(n + 1), "x_m": np.concatenate([[0], np.cumsum(lengths_m)]), "y_m": 0.0}
    )
    movements = pd.DataFrame(
        {
            "movement_id": range(n - 1),
            "node_id": range(1, n),
            "from_link": range(n - 1),
            "to_link": range(1, n),
            "phase": [0 if i + 1 == signal_at else -1 for i in range(n - 1)],
        }
    )
    signals = _signals(
        [signal_at] if signal_at is not None else [], cycle_s, greens_s, intergreen_s
    )
    zones = pd.DataFrame(
        {
            "zone_id": [0, 1],
            "kind": ["gateway", "gateway"],
            "node_id": [0, n],
            "name": ["in", "out"],
            "weight": [1.0, 1.0],
        }
    )
    params = {"dt_s": dt_s} if dt_s else {}
    return Scenario(
        name="chain",
        nodes=nodes,
        links=links,
        movements=movements,
        signals=signals,
        zones=zones,
        schedule=pd.DataFrame(columns=SCHEDULE_COLUMNS),
        params=params,
    )


def grid_scenario(
    rows: int,
    cols: int,
    *,
    block_m: float = 200.0,
    free_speed_kph: float = 50.0,
    capacity_vphpl: float = 1800.0,
    jam_density_vpkm: float = 150.0,
    lanes: int = 1,
    cycle_s: float = 60.0,
    greens_s: tuple[float, float] = (27.0, 27.0),
    intergreen_s: float = 3.0,
    dt_s: float | None = None,
    zones_at: str = "all",
    signal_min_legs: int = 3,
    n_zones: int | None = None,
) -> Scenario:
    """A ``rows x cols`` grid of two-way streets ``block_m`` apart, signalised at every node with
    at least ``signal_min_legs`` legs (east-west movements in phase 0, north-south in phase 1).
    Every node is a zone (``zones_at="all"``) or only the boundary nodes (``"boundary"``);
    ``n_zones`` keeps that many of them, evenly spaced. No U-turns."""
    node_id = np.arange(rows * cols).reshape(rows, cols)
    x, y = np.meshgrid(np.arange(cols) * block_m, np.arange(rows) * block_m)
    pairs = [(node_id[r, c], node_id[r, c + 1]) for r in range(rows) for c in range(cols - 1)]
    pairs += [(node_id[r, c], node_id[r + 1, c]) for r in range(rows - 1) for c in range(cols)]
    both = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    links = pd.DataFrame(both, columns=["from_node", "to_node"])
    links.insert(0, "link_id", range(len(links)))
    links = links.assign(
        length_m=block_m,
        lanes=lanes,
        free_speed_kph=free_speed_kph,
        capacity_vphpl=capacity_vphpl,
        jam_density_vpkm=jam_density_vpkm,
    )
    nodes = pd.DataFrame({"node_id": node_id.ravel(), "x_m": x.ravel(), "y_m": y.ravel()})
    movements = _grid_movements(links, nodes)
    legs = np.bincount(links["to_node"], minlength=len(nodes))
    signalised = np.flatnonzero(legs >= signal_min_legs)
    is_signal = np.isin(movements["node_id"], signalised)
    movements.loc[~is_signal, "phase"] = -1
    boundary = (nodes["x_m"].isin([0, x.max()]) | nodes["y_m"].isin([0, y.max()])).to_numpy()
    zone_nodes = nodes["node_id"].to_numpy() if zones_at == "all" else np.flatnonzero(boundary)
    if n_zones is not None:
        zone_nodes = zone_nodes[np.linspace(0, len(zone_nodes) - 1, n_zones).round().astype(int)]
    zones = pd.DataFrame(
        {
            "zone_id": range(len(zone_nodes)),
            "kind": "gateway",
            "node_id": zone_nodes,
            "name": [f"n{v}" for v in zone_nodes],
            "weight": 1.0,
        }
    )
    params = {"dt_s": dt_s} if dt_s else {}
    return Scenario(
        name=f"grid{rows}x{cols}",
        nodes=nodes,
        links=links,
        movements=movements,
        signals=_signals(list(signalised), cycle_s, greens_s, intergreen_s),
        zones=zones,
        schedule=pd.DataFrame(columns=SCHEDULE_COLUMNS),
        params=params,
    )


def _grid_movements(links: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """All turns at each node except U-turns; phase 0 = arriving east-west, 1 = north-south."""
    pairs = links.merge(links, left_on="to_node", right_on="from_node", suffixes=("_in", "_out"))
    pairs = pairs[pairs["from_node_in"] != pairs["to_node_out"]]
    dy = (
        nodes["y_m"].to_numpy()[pairs["to_node_in"]]
        - nodes["y_m"].to_numpy()[pairs["from_node_in"]]
    )
    return pd.DataFrame(
        {
            "movement_id": range(len(pairs)),
            "node_id": pairs["to_node_in"].to_numpy(),
            "from_link": pairs["link_id_in"].to_numpy(),
            "to_link": pairs["link_id_out"].to_numpy(),
            "phase": (dy != 0).astype(int),
        }
    )


def _signals(
    nodes: list[int], cycle_s: float, greens_s: tuple[float, ...], intergreen_s: float
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "node_id": nodes,
            "cycle_s": cycle_s,
            "offset_s": 0.0,
            "intergreen_s": intergreen_s,
            "greens_s": " ".join(f"{g:g}" for g in greens_s),
        }
    )


def od_demand(
    n_zones: int, trips: list[tuple[int, int, float, float, float]], *, bin_s: float = 60.0
) -> Demand:
    """Demand from ``(origin_zone, dest_zone, rate_vph, from_s, until_s)`` rows (bins of ``bin_s``)."""
    n_bins = int(DAY_S // bin_s)
    rate = np.zeros((n_bins, n_zones, n_zones))
    edges = np.arange(n_bins + 1) * bin_s
    for origin, dest, rate_vph, start_s, end_s in trips:
        overlap = np.clip(np.minimum(edges[1:], end_s) - np.maximum(edges[:-1], start_s), 0, None)
        rate[:, origin, dest] += rate_vph / 3600.0 * overlap / bin_s
    return Demand(bin_s, rate, (), np.zeros((n_bins, 0, 2, 2)), ())


def network_scenario(
    nodes_xy: list[tuple[float, float]],
    links: list[tuple[int, int, float]],
    *,
    free_speed_kph: float | list[float] = 50.0,
    capacity_vphpl: float = 1800.0,
    lanes: int = 1,
    jam_density_vpkm: float = 150.0,
    zone_nodes: tuple[int, ...] = (0,),
    dt_s: float = 1.0,
) -> Scenario:
    """A scenario from hand-placed nodes (metres) and ``(from, to, length_m)`` links; every turn
    except U-turns is allowed, no signals."""
    n = len(links)
    speeds = free_speed_kph if isinstance(free_speed_kph, list) else [free_speed_kph] * n
    table = pd.DataFrame(links, columns=["from_node", "to_node", "length_m"])
    table.insert(0, "link_id", range(n))
    table = table.assign(
        lanes=lanes,
        free_speed_kph=speeds,
        capacity_vphpl=capacity_vphpl,
        jam_density_vpkm=jam_density_vpkm,
    )
    nodes = pd.DataFrame(
        {
            "node_id": range(len(nodes_xy)),
            "x_m": [p[0] for p in nodes_xy],
            "y_m": [p[1] for p in nodes_xy],
        }
    )
    pairs = table.merge(table, left_on="to_node", right_on="from_node", suffixes=("_in", "_out"))
    pairs = pairs[pairs["from_node_in"] != pairs["to_node_out"]]
    movements = pd.DataFrame(
        {
            "movement_id": range(len(pairs)),
            "node_id": pairs["to_node_in"].to_numpy(),
            "from_link": pairs["link_id_in"].to_numpy(),
            "to_link": pairs["link_id_out"].to_numpy(),
            "phase": -1,
        }
    )
    zones = pd.DataFrame(
        {
            "zone_id": range(len(zone_nodes)),
            "kind": "gateway",
            "node_id": list(zone_nodes),
            "name": [f"n{v}" for v in zone_nodes],
            "weight": 1.0,
        }
    )
    return Scenario(
        name="network",
        nodes=nodes,
        links=table,
        movements=movements,
        signals=_signals([], 60.0, (27.0, 27.0), 3.0),
        zones=zones,
        schedule=pd.DataFrame(columns=SCHEDULE_COLUMNS),
        params={"dt_s": dt_s},
    )


def with_hospitals(
    scenario: Scenario, hospital_nodes: dict[str, int], *, crs_m: str = "EPSG:32652"
) -> Scenario:
    """A copy of ``scenario`` with hospitals at the given nodes (metric coordinates in ``crs_m``)."""
    import dataclasses

    import geopandas as gpd

    x = scenario.nodes["x_m"].to_numpy()[list(hospital_nodes.values())]
    y = scenario.nodes["y_m"].to_numpy()[list(hospital_nodes.values())]
    facilities = gpd.GeoDataFrame(
        {
            "id": list(hospital_nodes),
            "kind": "hospital",
            "name_en": list(hospital_nodes),
            "node_id": list(hospital_nodes.values()),
            "snap_distance_m": 0.0,
        },
        geometry=gpd.points_from_xy(x, y),
        crs=crs_m,
    ).to_crs("EPSG:4326")
    return dataclasses.replace(
        scenario, facilities=facilities, params={**scenario.params, "crs_m": crs_m}
    )
