"""``import_report.json``: what was kept, dropped, defaulted and guessed."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from twin.io.osm.constants import FAR_SNAP_M
from twin.io.osm.graph import Network, reach
from twin.io.osm.places import gateway_lanes, link_core
from twin.io.osm.read import Facts, OsmExtract

# --------------------------------------------------------------------------------------------
# report and writing


def import_report(
    osm: OsmExtract,
    facts: Facts,
    network: Network,
    signals: pd.DataFrame,
    facilities: pd.DataFrame,
    zones: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    crs_m: str,
) -> dict[str, Any]:
    nodes, links, movements = network.nodes, network.links, network.movements
    shortest = links.loc[links["length_m"].idxmin()]
    gateways = zones[zones["kind"] == "gateway"]
    lanes = gateway_lanes(links, gateways["node_id"].to_numpy())
    return {
        "inputs": {"osm": file_facts(osm.path), "facilities": file_facts(facts.path)},
        "crs_m": crs_m,
        "osm": dict(sorted((k, int(v)) for k, v in osm.counts.items())),
        **network.report,
        "network": {
            "nodes": len(nodes),
            "links": len(links),
            "km": round(float(links["length_m"].sum()) / 1000, 2),
            "links_by_highway": dict(sorted(Counter(links["highway"]).items())),
            "one_way_links": int((links["reverse_link_id"] == -1).sum()),
            "shortest_link": {
                "link_id": int(shortest["link_id"]),
                "length_m": float(shortest["length_m"]),
                "highway": shortest["highway"],
                "name": shortest["name"],
            },
            "links_shorter_than_20_m": int((links["length_m"] < 20).sum()),
        },
        "movements": {"total": len(movements), **dict(sorted(Counter(movements["turn"]).items()))},
        "signal_plans": {
            "count": len(signals),
            "oversaturated_clamped": int(signals["oversaturated"].sum()),
            "pedestrian_only_phase_1": int(signals["pedestrian_only_phase"].sum()),
            "cycle_s_min": int(signals["cycle_s"].min()) if len(signals) else None,
            "cycle_s_max": int(signals["cycle_s"].max()) if len(signals) else None,
        },
        "zones": {
            "gateways": [
                {
                    "node_id": int(g.node_id),
                    "name": g.name,
                    "weight": float(g.weight),
                    "entry_lanes": lanes[g.node_id][0],
                    "exit_lanes": lanes[g.node_id][1],
                    "near_bbox_edge": bool(nodes.at[g.node_id, "_near_edge"]),
                }
                for g in gateways.itertuples(index=False)
            ],
            **dict(sorted(Counter(zones["kind"]).items())),
        },
        "facilities": [
            {
                "id": f.id,
                "kind": f.kind,
                "node_id": int(f.node_id),
                "snap_distance_m": float(f.snap_distance_m),
            }
            for f in facilities.itertuples(index=False)
        ],
        "warnings": _warnings(facilities, signals) + _gateway_reach_warnings(network),
        "base_layers": {"buildings": len(buildings), "areas": len(areas)},
    }


def _gateway_reach_warnings(network: Network) -> list[str]:
    """Gateways whose entering links cannot reach the link core, or whose exits it cannot reach."""
    links, movements = network.links, network.movements
    core = set(np.flatnonzero(link_core(links, movements)).tolist())
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(links)))
    graph.add_edges_from(zip(movements["from_link"], movements["to_link"], strict=True))
    reaches_core = reach(graph, core, backward=True)
    reached = reach(graph, core)
    notes = []
    for node in np.flatnonzero(network.nodes["is_gateway"].to_numpy()):
        entries = links.index[links["from_node"] == node]
        exits = links.index[links["to_node"] == node]
        if len(entries) and not reaches_core & set(entries):
            notes.append(f"gateway node {node}: traffic entering here cannot reach the network")
        if len(exits) and not reached & set(exits):
            notes.append(f"gateway node {node}: no traffic from the network can leave here")
    return notes


def _warnings(facilities: pd.DataFrame, signals: pd.DataFrame) -> list[str]:
    far = facilities[facilities["snap_distance_m"] > FAR_SNAP_M]
    notes = [
        f"facility {f.id!r} ({f.kind}) is {f.snap_distance_m:.0f} m from its node "
        f"{int(f.node_id)}: "
        "no node where a car can stop is nearer in the extract"
        for f in far.itertuples(index=False)
    ]
    notes += [
        f"node {int(n)}: oversaturated at the design flows, plan clamped to the longest cycle"
        for n in signals.loc[signals["oversaturated"], "node_id"]
    ]
    return notes


def file_facts(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
