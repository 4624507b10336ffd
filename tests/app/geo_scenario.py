"""A small signalised grid with real-looking geometry (next to Olympic Park) for app tests.

Busy enough that queues and alerts form within a few simulated minutes.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString

from twin.io.synthetic import grid_scenario, od_demand

ORIGIN_M = (332_000.0, 4_153_500.0)  # EPSG:32652, near Olympic Park
CRS_M = "EPSG:32652"


def geo_grid_scenario(rows: int = 4, cols: int = 5, *, block_m: float = 250.0):
    """The grid scenario with EPSG:4326 geometry, names, classes and two facilities."""
    base = grid_scenario(rows, cols, block_m=block_m, zones_at="boundary", dt_s=2.0)
    x = base.nodes["x_m"].to_numpy() + ORIGIN_M[0]
    y = base.nodes["y_m"].to_numpy() + ORIGIN_M[1]
    nodes = gpd.GeoDataFrame(
        base.nodes.assign(
            signalised=np.isin(base.nodes["node_id"], base.signals["node_id"]), name=""
        ),
        geometry=gpd.points_from_xy(x, y),
        crs=CRS_M,
    ).to_crs("EPSG:4326")
    links = base.links
    lines = [
        LineString([(x[a], y[a]), (x[b], y[b])])
        for a, b in zip(links["from_node"], links["to_node"])
    ]
    horizontal = np.isclose(y[links["from_node"]], y[links["to_node"]])
    reverse = {(a, b): i for i, (a, b) in enumerate(zip(links["from_node"], links["to_node"]))}
    links = gpd.GeoDataFrame(
        links.assign(
            name=np.where(
                horizontal,
                [
                    f"East-west road {int(y[a] - ORIGIN_M[1]) // int(block_m)}"
                    for a in links["from_node"]
                ],
                [
                    f"North-south road {int(x[a] - ORIGIN_M[0]) // int(block_m)}"
                    for a in links["from_node"]
                ],
            ),
            highway=np.where(horizontal, "primary", "secondary"),
            reverse_link_id=[
                reverse.get((b, a), -1) for a, b in zip(links["from_node"], links["to_node"])
            ],
        ),
        geometry=lines,
        crs=CRS_M,
    ).to_crs("EPSG:4326")
    centre = (x.mean(), y.mean())
    fx, fy = np.array([centre[0] + 40, x.max() + 120]), np.array([centre[1] + 40, y.min() - 80])
    gap_m = np.hypot(fx[:, None] - x[None, :], fy[:, None] - y[None, :])  # like the importer's snap
    facilities = gpd.GeoDataFrame(
        {
            "id": ["venue_test_arena", "hospital_test"],
            "kind": ["venue", "hospital"],
            "name_en": ["Test Arena", "Test Hospital"],
            "capacity": [12000, None],
            "node_id": gap_m.argmin(axis=1),
            "snap_distance_m": gap_m.min(axis=1),
        },
        geometry=gpd.points_from_xy(fx, fy),
        crs=CRS_M,
    ).to_crs("EPSG:4326")
    return dataclasses.replace(
        base,
        nodes=nodes,
        links=links,
        facilities=facilities,
        params={**base.params, "crs_m": CRS_M},
        attribution="© OpenStreetMap contributors (test geometry)",
    )


def busy_demand(scenario, *, vph: float = 1500.0):
    """Heavy through traffic between opposite boundary zones, all day."""
    n = len(scenario.zones)
    trips = [(k, n - 1 - k, vph, 0.0, 86400.0) for k in range(n) if k != n - 1 - k]
    return od_demand(n, trips)
