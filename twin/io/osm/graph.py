"""Stages 1-6: road ways to an osmnx graph, then node and link tables, gateways and the
connected network (rules in :mod:`twin.io.osm.importer`)."""

from __future__ import annotations

import itertools
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from twin.errors import ScenarioError
from twin.io.osm import junctions
from twin.io.osm.constants import CRS_M, CRS_WGS84, EXCLUDED_ACCESS, EXCLUDED_SERVICE
from twin.io.osm.plans import mark_signals, movements_table
from twin.io.osm.read import OsmExtract
from twin.io.osm.roadclass import GATEWAY_CLASSES, ROAD_CLASSES, road_class, way_traffic
from twin.io.osm.romanize import Glossary

# --------------------------------------------------------------------------------------------
# road ways -> graph


def road_ways(osm: OsmExtract) -> pd.DataFrame:
    """The drivable ways, cut to their runs of present nodes, with traffic attributes.

    One row per run: ``way_id``, ``nodes`` (in the direction of travel for one-way roads),
    ``oneway``, ``lanes_along``/``lanes_against`` (against is 0 for one-way), ``highway``,
    ``free_speed_kph``, ``road`` (name, else ref, else ``way <id>``), ``name`` (OSM, local),
    ``street`` (English, see :mod:`twin.io.osm.names`), and flags of the defaults used.
    """
    present = set(osm.nodes.index)
    glossary = english_glossary(osm)
    rows = []
    for way_id in sorted(osm.ways):
        refs, tags = osm.ways[way_id]
        if "highway" in tags:
            osm.counts["highway_ways"] += 1
        if not _drivable(tags, osm.counts):
            continue
        traffic = way_traffic(tags)
        if traffic.oneway == "reverse":
            refs = refs[::-1]
        runs = _present_runs(refs, present, osm.counts)
        osm.counts["drivable_ways"] += 1
        osm.counts["ways_dropped_missing_nodes"] += not runs
        osm.counts["ways_cut_missing_nodes"] += len(runs) > 0 and sum(map(len, runs)) < len(refs)
        street = street_name(tags, glossary)
        rows += [_way_row(way_id, run, tags, traffic, street) for run in runs]
    return pd.DataFrame(rows)


def english_glossary(osm: OsmExtract) -> Glossary:
    """English names the extract itself gives (``name`` / ``name:en`` of its ways and nodes)."""
    tags = [t for _, t in osm.ways.values()] + list(osm.node_tags.values())
    return Glossary.learn((t["name"], t["name:en"]) for t in tags if "name" in t and "name:en" in t)


def street_name(tags: dict[str, str], glossary: Glossary) -> str:
    """A way's English street name: ``name:en``, else its ``name`` in English; "" if unnamed."""
    if not tags.get("name"):
        return ""
    return tags.get("name:en") or glossary.english(tags["name"])


def _drivable(tags: dict[str, str], counts: Counter) -> bool:
    highway = tags.get("highway")
    if highway is None:
        return False
    if highway not in ROAD_CLASSES:
        counts[f"highway_not_drivable:{highway}"] += 1
        return False
    excluded = (
        tags.get("access") in EXCLUDED_ACCESS
        or tags.get("motor_vehicle") in EXCLUDED_ACCESS
        or tags.get("area") == "yes"
        or tags.get("service") in EXCLUDED_SERVICE
    )
    counts["drivable_ways_excluded_access_area_service"] += excluded
    return not excluded


def _present_runs(refs: list[int], present: set[int], counts: Counter) -> list[list[int]]:
    """Maximal runs of consecutive present nodes (duplicates in a row removed), >= 2 nodes."""
    refs = [ref for ref, _ in itertools.groupby(refs)]
    missing = [ref not in present for ref in refs]
    counts["missing_node_refs"] += sum(missing)
    runs = [
        list(group)
        for is_missing, group in itertools.groupby(refs, key=lambda r: r not in present)
        if not is_missing
    ]
    return [run for run in runs if len(run) >= 2]


def _way_row(
    way_id: int, run: list[int], tags: dict[str, str], traffic: Any, street: str
) -> dict[str, Any]:
    reverse = traffic.oneway == "reverse"
    return {
        "way_id": way_id,
        "nodes": run,
        "oneway": traffic.oneway != "no",
        "lanes_along": traffic.lanes_bwd if reverse else traffic.lanes_fwd,
        "lanes_against": traffic.lanes_fwd if reverse else traffic.lanes_bwd,
        "highway": traffic.highway,
        "free_speed_kph": traffic.free_speed_kph,
        "name": tags.get("name", ""),
        "street": street,
        "road": tags.get("name") or tags.get("ref") or f"way {way_id}",
        "lanes_default": traffic.lanes_default,
        "maxspeed_default": traffic.maxspeed_default,
        "lanes_unparsed": traffic.lanes_unparsed,
        "maxspeed_unparsed": traffic.maxspeed_unparsed,
        "oneway_unparsed": traffic.oneway_unparsed,
        "unnamed": "name" not in tags,
    }


def _road_graph(
    osm: OsmExtract, roads: pd.DataFrame, work_dir: Path, crs_m: str, tolerance_m: float
) -> tuple[nx.MultiDiGraph, dict[str, int]]:
    """Read the road ways with osmnx, then simplify, project and consolidate."""
    import osmnx as ox

    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "roads.osm"
    _write_road_xml(path, osm, roads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    sizes = {"raw_nodes": len(graph), "raw_edges": len(graph.edges)}
    for _, _, data in graph.edges(data=True):
        data["segs"] = ((int(data["osmid"]), bool(data["reversed"]), float(data["length"])),)
    for node, data in graph.nodes(data=True):
        tags = osm.node_tags.get(node, {})
        if tags.get("junction") == "yes" and tags.get("name"):
            data["named_junction"] = True
    graph = ox.simplify_graph(
        graph,
        node_attrs_include=["named_junction"],
        edge_attr_aggs={"length": sum, "segs": _concat},
    )
    sizes.update(simplified_nodes=len(graph), simplified_edges=len(graph.edges))
    if len(graph.edges) == 0:
        raise ScenarioError(
            f"OSM file {str(osm.path)!r}: no road network is left after simplification "
            "(only isolated rings or single points)"
        )
    graph = ox.project_graph(graph, to_crs=crs_m)
    graph = ox.consolidate_intersections(
        graph, tolerance=tolerance_m, dead_ends=True, rebuild_graph=True
    )
    sizes.update(consolidated_nodes=len(graph), consolidated_edges=len(graph.edges))
    return graph, sizes


def _concat(values: list[tuple]) -> tuple:
    return tuple(itertools.chain.from_iterable(values))


def _write_road_xml(path: Path, osm: OsmExtract, roads: pd.DataFrame) -> None:
    """A minimal OSM file of the road ways (oneway normalised to yes/no, node order = travel)."""
    root = ET.Element("osm", version="0.6", generator="VenueTwin road filter")
    used = sorted(set(itertools.chain.from_iterable(roads["nodes"])))
    coords = osm.nodes.loc[used]
    for osm_id, lon, lat in zip(used, coords["lon"], coords["lat"], strict=True):
        ET.SubElement(root, "node", id=str(osm_id), lat=repr(lat), lon=repr(lon))
    for row in roads.itertuples(index=False):
        way = ET.SubElement(root, "way", id=str(row.way_id))
        for ref in row.nodes:
            ET.SubElement(way, "nd", ref=str(ref))
        ET.SubElement(way, "tag", k="highway", v=row.highway)
        ET.SubElement(way, "tag", k="oneway", v="yes" if row.oneway else "no")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------------------------
# graph -> node and link tables


@dataclass
class Network:
    """The imported road network, projected (``crs_m``), ids contiguous from 0."""

    nodes: gpd.GeoDataFrame
    links: gpd.GeoDataFrame
    movements: pd.DataFrame
    report: dict[str, Any]


def build_network(
    osm: OsmExtract,
    work_dir: Path,
    *,
    crs_m: str = CRS_M,
    consolidate_tolerance_m: float = 10.0,
    gateway_edge_m: float = 150.0,
    signal_snap_m: float = junctions.SIGNAL_SNAP_M,
) -> Network:
    """Nodes, links and movements of the extract's drivable roads (steps 1-7)."""
    roads = road_ways(osm)
    if roads.empty:
        raise ScenarioError(
            f"OSM file {str(osm.path)!r} has no drivable highway ways ({', '.join(ROAD_CLASSES)}); "
            f"it holds {osm.counts['ways']} ways, {osm.counts['highway_ways']} with a highway tag"
            + (
                f", {osm.counts['missing_node_refs']} references to missing nodes"
                if osm.counts["missing_node_refs"]
                else ""
            )
        )
    graph, sizes = _road_graph(osm, roads, work_dir, crs_m, consolidate_tolerance_m)
    nodes, links = _graph_tables(graph, roads, osm, crs_m)
    nodes["is_gateway"], gateway_report = _gateways(nodes, links, osm, crs_m, gateway_edge_m)
    nodes, links, dropped = _keep_connected(nodes, links)
    if links.empty:
        raise ScenarioError(
            f"OSM file {str(osm.path)!r}: no connected road network is left after import"
        )
    links = _pair_reverse(links)
    signal_report = mark_signals(nodes, links, osm, crs_m, signal_snap_m)
    movements = movements_table(nodes, links)
    report = {
        "graph": sizes,
        "components": dropped,
        "gateways": gateway_report,
        "signals": signal_report,
        "tags": tag_report(roads),
    }
    return Network(nodes, links, movements, report)


def _graph_tables(
    graph: nx.MultiDiGraph, roads: pd.DataFrame, osm: OsmExtract, crs_m: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    import osmnx as ox

    node_gdf, edge_gdf = ox.graph_to_gdfs(graph)
    nodes = _node_table(node_gdf, osm, crs_m)
    ways = roads.drop_duplicates("way_id").set_index("way_id")
    attributes = _link_attributes(edge_gdf["segs"], ways)
    links = gpd.GeoDataFrame(
        {
            "from_node": nodes.index.get_indexer(edge_gdf.index.get_level_values(0)),
            "to_node": nodes.index.get_indexer(edge_gdf.index.get_level_values(1)),
            **{column: attributes[column].to_numpy() for column in attributes},
        },
        geometry=shapely.set_precision(edge_gdf.geometry.to_numpy(), 0.001),
        crs=crs_m,
    )
    links["length_m"] = np.round(links.geometry.length, 2)
    nodes = nodes.reset_index(drop=True)
    return nodes, _sort_links(links)


def _node_table(node_gdf: gpd.GeoDataFrame, osm: OsmExtract, crs_m: str) -> gpd.GeoDataFrame:
    """One row per consolidated node, sorted by its smallest OSM id (index: graph node)."""
    members = [sorted(m) if isinstance(m, list) else [int(m)] for m in node_gdf["osmid_original"]]
    names = [_first_name(ids, osm.node_tags) for ids in members]
    nodes = gpd.GeoDataFrame(
        {
            "osm_id": [ids[0] for ids in members],
            "x_m": np.round(node_gdf["x"].to_numpy(float), 2),
            "y_m": np.round(node_gdf["y"].to_numpy(float), 2),
            "name_local": names,
        },
        geometry=gpd.points_from_xy(node_gdf["x"], node_gdf["y"]),
        crs=crs_m,
        index=node_gdf.index,
    )
    nodes["members"] = members
    return nodes.sort_values(["osm_id", "x_m", "y_m"], kind="stable")


def _first_name(osm_ids: list[int], node_tags: dict[int, dict[str, str]]) -> str:
    return next((node_tags[i]["name"] for i in osm_ids if "name" in node_tags.get(i, {})), "")


def _link_attributes(segs: pd.Series, ways: pd.DataFrame) -> pd.DataFrame:
    """Class, lanes, speed, capacity of each link from its OSM segments (module docstring)."""
    seg = pd.DataFrame(
        [(link, *s) for link, link_segs in enumerate(segs) for s in link_segs],
        columns=["link", "way_id", "reversed", "seg_m"],
    )
    seg = seg.join(ways, on="way_id")
    seg["seg_m"] += 1e-9
    seg["lanes"] = np.where(seg["reversed"], seg["lanes_against"], seg["lanes_along"]).clip(min=1)
    seg["free_time_h"] = seg["seg_m"] / seg["free_speed_kph"]
    grouped = seg.groupby("link", sort=True)
    table = pd.DataFrame(
        {
            "osm_way_ids": grouped["way_id"].agg(lambda w: ";".join(map(str, dict.fromkeys(w)))),
            "highway": _longest(seg, "highway"),
            "lanes": _longest(seg, "lanes").astype(int),
            "free_speed_kph": np.round(grouped["seg_m"].sum() / grouped["free_time_h"].sum(), 1),
        }
    )
    main_way = _longest(seg, "way_id")
    table["name_local"] = ways.loc[main_way, "name"].to_numpy()
    table["street"] = ways.loc[main_way, "street"].to_numpy()
    table["road"] = ways.loc[main_way, "road"].to_numpy()
    defaults = [road_class(h) for h in table["highway"]]
    table["capacity_vphpl"] = [d.capacity_vphpl for d in defaults]
    table["jam_density_vpkm"] = [d.jam_density_vpkm for d in defaults]
    return table.reset_index(drop=True)


def _longest(seg: pd.DataFrame, column: str) -> pd.Series:
    """Per link, the value of ``column`` that covers the most length (ties: smallest value)."""
    totals = seg.groupby(["link", column], sort=True)["seg_m"].sum().round(6).reset_index()
    totals = totals.sort_values(
        ["link", "seg_m", column], ascending=[True, False, True], kind="stable"
    )
    return totals.drop_duplicates("link").set_index("link")[column]


def _sort_links(links: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    order = links.sort_values(
        ["from_node", "to_node", "osm_way_ids", "length_m"], kind="stable"
    ).index
    return links.loc[order].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# gateways and the connected network


def _gateways(
    nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame, osm: OsmExtract, crs_m: str, edge_m: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """``is_gateway`` per node (rule in the module docstring) and its report."""
    n = len(nodes)
    n_out = np.bincount(links["from_node"].to_numpy(), minlength=n)
    n_in = np.bincount(links["to_node"].to_numpy(), minlength=n)
    neighbours = pd.concat(
        [
            links[["from_node", "to_node"]],
            links[["to_node", "from_node"]].set_axis(["from_node", "to_node"], axis=1),
        ]
    )
    n_neighbours = np.bincount(neighbours.drop_duplicates()["from_node"], minlength=n)
    dead_end = (n_neighbours == 1) | (n_in == 0) | (n_out == 0)
    major = links["highway"].isin(GATEWAY_CLASSES).to_numpy()
    on_major = np.zeros(n, dtype=bool)
    on_major[links["from_node"].to_numpy()[major]] = True
    on_major[links["to_node"].to_numpy()[major]] = True
    box_m, source = _extract_box(osm, crs_m)
    near_edge = shapely.distance(nodes.geometry.to_numpy(), box_m.exterior) <= edge_m
    gateway = dead_end & on_major
    report = {
        "rule": "dead end of a trunk/primary/secondary/tertiary (or motorway, *_link) road",
        "bbox_source": source,
        "bbox_wgs84": _box_wgs84(box_m, crs_m),
        "edge_m": edge_m,
        "candidates_near_bbox_edge": int((gateway & near_edge).sum()),
        "candidates_inside": int((gateway & ~near_edge).sum()),
    }
    nodes["_near_edge"] = near_edge
    return gateway, report


def _extract_box(osm: OsmExtract, crs_m: str) -> tuple[shapely.Polygon, str]:
    if osm.bounds is not None:
        bounds, source = osm.bounds, "<bounds> element"
    else:
        bounds = (
            osm.nodes["lon"].min(),
            osm.nodes["lat"].min(),
            osm.nodes["lon"].max(),
            osm.nodes["lat"].max(),
        )
        source = "extent of all nodes"
    box = gpd.GeoSeries([shapely.box(*bounds)], crs=CRS_WGS84).to_crs(crs_m).iloc[0]
    return box, source


def _box_wgs84(box_m: shapely.Polygon, crs_m: str) -> list[float]:
    bounds = gpd.GeoSeries([box_m], crs=crs_m).to_crs(CRS_WGS84).total_bounds
    return [round(float(v), 7) for v in bounds]


def _keep_connected(
    nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, Any]]:
    """Largest SCC plus gateway feeders and outlets (step 5); renumber nodes and links."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(len(nodes)))
    graph.add_edges_from(zip(links["from_node"], links["to_node"], strict=True))
    core = max(nx.strongly_connected_components(graph), key=lambda c: (len(c), -min(c)))
    gateways = set(np.flatnonzero(nodes["is_gateway"].to_numpy()).tolist())
    into_core = reach(graph, core, backward=True)
    from_core = reach(graph, core)
    from_entries = reach(graph, gateways)
    to_exits = reach(graph, gateways, backward=True)
    keep = core | (into_core & from_entries) | (from_core & to_exits)
    kept_link = links["from_node"].isin(keep).to_numpy() & links["to_node"].isin(keep).to_numpy()
    report = _dropped_report(graph, keep, links, kept_link)
    old_ids = np.array(sorted(keep))
    new_id = np.full(len(nodes), -1)
    new_id[old_ids] = np.arange(len(old_ids))
    nodes = nodes.iloc[old_ids].reset_index(drop=True)
    links = links[kept_link].copy()
    links["from_node"], links["to_node"] = new_id[links["from_node"]], new_id[links["to_node"]]
    return nodes, _sort_links(links), report


def reach(graph: nx.MultiDiGraph, sources: set[int], *, backward: bool = False) -> set[int]:
    """Nodes reachable from ``sources`` (or that reach them, if ``backward``), sources included."""
    step = graph.predecessors if backward else graph.successors
    seen, frontier = set(sources), list(sources)
    while frontier:
        for nxt in step(frontier.pop()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def _dropped_report(
    graph: nx.MultiDiGraph, keep: set[int], links: gpd.GeoDataFrame, kept_link: np.ndarray
) -> dict[str, Any]:
    dropped = graph.subgraph(set(graph) - keep)
    sizes = sorted((len(c) for c in nx.weakly_connected_components(dropped)), reverse=True)
    return {
        "kept_nodes": len(keep),
        "kept_links": int(kept_link.sum()),
        "kept_km": round(float(links.loc[kept_link, "length_m"].sum()) / 1000, 2),
        "dropped_nodes": len(graph) - len(keep),
        "dropped_links": int((~kept_link).sum()),
        "dropped_km": round(float(links.loc[~kept_link, "length_m"].sum()) / 1000, 2),
        "dropped_component_sizes_nodes": sizes,
    }


def _pair_reverse(links: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``reverse_link_id``: the link with the same nodes reversed and the reversed geometry."""
    links["link_id"] = np.arange(len(links))
    coords = [tuple(map(tuple, np.round(shapely.get_coordinates(g), 1))) for g in links.geometry]
    first: dict[tuple, list[int]] = {}
    for link_id, (u, v, xy) in enumerate(
        zip(links["from_node"], links["to_node"], coords, strict=True)
    ):
        first.setdefault((u, v, xy), []).append(link_id)
    reverse = np.full(len(links), -1)
    for link_id, (u, v, xy) in enumerate(
        zip(links["from_node"], links["to_node"], coords, strict=True)
    ):
        partners = [p for p in first.get((v, u, xy[::-1]), []) if reverse[p] in (-1, link_id)]
        if partners and reverse[link_id] == -1:
            reverse[link_id], reverse[partners[0]] = partners[0], link_id
    links["reverse_link_id"] = reverse
    return links


def tag_report(roads: pd.DataFrame) -> dict[str, int]:
    ways = roads.drop_duplicates("way_id")
    return {
        "drivable_ways": len(ways),
        "lanes_default_used": int(ways["lanes_default"].sum()),
        "maxspeed_default_used": int(ways["maxspeed_default"].sum()),
        "lanes_not_understood": int(ways["lanes_unparsed"].sum()),
        "maxspeed_not_understood": int(ways["maxspeed_unparsed"].sum()),
        "oneway_not_understood": int(ways["oneway_unparsed"].sum()),
        "unnamed_ways": int(ways["unnamed"].sum()),
        "oneway_ways": int(ways["oneway"].sum()),
    }
