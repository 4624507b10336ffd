"""Stages 7-8: signalised nodes, turning movements and default Webster signal plans."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from twin.io.osm import junctions
from twin.io.osm.constants import CRS_WGS84, DESIGN_FLOW_RATIO, LANE_WIDTH_M, SATURATION_FLOW_PCPHPL
from twin.io.osm.read import OsmExtract
from twin.models import webster

if TYPE_CHECKING:
    from twin.io.osm.graph import Network


# --------------------------------------------------------------------------------------------
# signals and movements


def legs(
    nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame
) -> tuple[dict[int, list], dict[int, list]]:
    """Incoming and outgoing :class:`junctions.Leg` per node."""
    start_deg, end_deg = junctions.end_bearings_deg(links.geometry.to_numpy())
    incoming: dict[int, list] = {i: [] for i in range(len(nodes))}
    outgoing: dict[int, list] = {i: [] for i in range(len(nodes))}
    for row, s_deg, e_deg in zip(links.itertuples(index=False), start_deg, end_deg, strict=True):
        incoming[row.to_node].append(
            junctions.Leg(row.link_id, row.from_node, float(e_deg), row.reverse_link_id, row.lanes)
        )
        outgoing[row.from_node].append(
            junctions.Leg(row.link_id, row.to_node, float(s_deg), row.reverse_link_id, row.lanes)
        )
    return incoming, outgoing


def _signal_points(osm: OsmExtract) -> dict[str, list[int]]:
    """OSM nodes that show a signal: ``highway=traffic_signals`` and signalised crossings."""
    found: dict[str, list[int]] = {"traffic_signals": [], "signal_crossings": []}
    for osm_id in sorted(osm.node_tags):
        tags = osm.node_tags[osm_id]
        if tags.get("highway") == "traffic_signals":
            found["traffic_signals"].append(osm_id)
        elif tags.get("highway") == "crossing" and tags.get("crossing") == "traffic_signals":
            found["signal_crossings"].append(osm_id)
    return found


def mark_signals(
    nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame, osm: OsmExtract, crs_m: str, snap_m: float
) -> dict[str, Any]:
    """Fill ``signalised`` and ``signal_source`` (tagged first, then the guessing rule)."""
    tree = cKDTree(np.c_[nodes["x_m"], nodes["y_m"]])
    tagged: set[int] = set()
    report: dict[str, Any] = {"snap_m": snap_m}
    for kind, osm_ids in _signal_points(osm).items():
        points = gpd.GeoSeries(
            gpd.points_from_xy(osm.nodes.loc[osm_ids, "lon"], osm.nodes.loc[osm_ids, "lat"]),
            crs=CRS_WGS84,
        ).to_crs(crs_m)
        distance_m, nearest = (
            tree.query(np.c_[points.x, points.y]) if osm_ids else (np.zeros(0), np.zeros(0, int))
        )
        matched = set(nearest[distance_m <= snap_m].tolist())
        tagged |= matched
        report[f"osm_{kind}"] = len(osm_ids)
        report[f"osm_{kind}_unmatched"] = int((distance_m > snap_m).sum())
        report[f"nodes_tagged_by_{kind}"] = len(matched)
    roads = _node_roads(nodes, links)
    source = np.array([_signal_source(node, tagged, roads[node]) for node in range(len(nodes))])
    nodes["signal_source"], nodes["signalised"] = source, source != ""
    report.update(
        tagged_nodes=int((source == "osm_tag").sum()),
        guessed_nodes=int((source == "guessed").sum()),
        signalised_nodes=int((source != "").sum()),
    )
    return report


def _signal_source(node: int, tagged: set[int], roads: dict[str, Any]) -> str:
    if node in tagged:
        return "osm_tag"
    guessed = junctions.guess_signalised(
        roads["roads"], approaches=roads["approaches"], neighbours=roads["neighbours"]
    )
    return "guessed" if guessed else ""


def _node_roads(nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Per node: the (highway, road) pairs of its links, its approaches and neighbours."""
    info = [{"roads": set(), "approaches": 0, "neighbours": set()} for _ in range(len(nodes))]
    for row in links.itertuples(index=False):
        for node, other in ((row.from_node, row.to_node), (row.to_node, row.from_node)):
            info[node]["roads"].add((row.highway, row.road))
            info[node]["neighbours"].add(other)
        info[row.to_node]["approaches"] += 1
    for item in info:
        item["neighbours"] = len(item["neighbours"])
    return info


def movements_table(nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame) -> pd.DataFrame:
    incoming, outgoing = legs(nodes, links)
    rows = []
    for node in range(len(nodes)):
        phases = junctions.phase_groups(incoming[node]) if nodes.at[node, "signalised"] else {}
        for from_link, to_link, turn in junctions.turning_movements(incoming[node], outgoing[node]):
            rows.append((node, from_link, to_link, turn, phases.get(from_link, -1)))
    movements = pd.DataFrame(rows, columns=["node_id", "from_link", "to_link", "turn", "phase"])
    movements.insert(0, "movement_id", np.arange(len(movements)))
    return movements


def signal_plans(
    network: Network,
    *,
    design_flow_ratio: float = DESIGN_FLOW_RATIO,
    intergreen_s: float = webster.INTERGREEN_S,
) -> pd.DataFrame:
    """Default fixed-time plan of every signalised node (step 8 of the module docstring).

    Columns: those of ``signals.csv`` plus ``oversaturated`` (plan clamped to the longest
    cycle) and ``pedestrian_only_phase`` (phase 1 serves no vehicle approach).
    """
    nodes, links = network.nodes, network.links
    incoming, outgoing = legs(nodes, links)
    capacity = links["capacity_vphpl"].to_numpy(float)
    rows = []
    for node in np.flatnonzero(nodes["signalised"].to_numpy()):
        phases = junctions.phase_groups(incoming[node])
        ratios = np.zeros(2)
        for link_id, phase in phases.items():
            y = design_flow_ratio * capacity[link_id] / SATURATION_FLOW_PCPHPL
            ratios[phase] = max(ratios[phase], y)
        minimums = _pedestrian_minimums(incoming[node], outgoing[node], phases)
        cycle_s, greens_s, clamped = _plan(ratios, minimums, intergreen_s)
        rows.append(
            {
                "node_id": int(node),
                "cycle_s": cycle_s,
                "offset_s": 0,
                "intergreen_s": intergreen_s,
                "greens_s": " ".join(map(str, greens_s)),
                "min_greens_s": " ".join(f"{m:g}" for m in minimums),
                "oversaturated": clamped,
                "pedestrian_only_phase": 1 not in phases.values(),
            }
        )
    columns = [
        "node_id",
        "cycle_s",
        "offset_s",
        "intergreen_s",
        "greens_s",
        "min_greens_s",
        "oversaturated",
        "pedestrian_only_phase",
    ]
    return pd.DataFrame(rows, columns=columns)


def _plan(
    ratios: np.ndarray, minimums: np.ndarray, intergreen_s: float
) -> tuple[int, list[int], bool]:
    """Webster plan in whole seconds; clamped to the longest cycle if oversaturated."""
    clamped = bool(ratios.sum() >= 1)
    cycle, greens = webster.webster_plan(
        ratios, intergreen_s=intergreen_s, min_green_s=minimums, clamp=clamped
    )
    cycle_s, greens_s = webster.whole_seconds(cycle, greens, len(ratios) * intergreen_s)
    return cycle_s, greens_s, clamped


def _pedestrian_minimums(incoming: list, outgoing: list, phases: dict[int, int]) -> np.ndarray:
    """Min green per phase: 7 s or the pedestrians' green across the other phase's legs."""
    lanes = junctions.crossing_lanes(incoming, outgoing)
    minimums = np.full(2, webster.MIN_GREEN_S)
    for phase in (0, 1):
        crossed = [lanes[link] for link, p in phases.items() if p != phase]
        if crossed:
            walk_s = webster.pedestrian_green_s(max(crossed) * LANE_WIDTH_M)
            minimums[phase] = max(minimums[phase], math.ceil(walk_s))
    return minimums
