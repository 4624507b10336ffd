"""Stages 9-11: English place names, facilities snapped to nodes, zones, base-map layers."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from twin.io.osm.constants import AREA_TAGS, CRS_M, CRS_WGS84, NON_STREET_CLASSES
from twin.io.osm.graph import Network, english_glossary
from twin.io.osm.names import Landmark, place_names
from twin.io.osm.read import Facts, OsmExtract

# --------------------------------------------------------------------------------------------
# facilities, names, zones, base layers


def name_places(network: Network, facts: Facts, osm: OsmExtract, *, crs_m: str = CRS_M) -> None:
    """Fill the English place names of ``network``: ``nodes.name``, ``links.name`` and
    ``links.street`` (rules in :mod:`twin.io.osm.names`), after the node's own OSM name."""
    nodes, links = network.nodes, network.links
    glossary = english_glossary(osm)
    own = [glossary.english(local) if local else "" for local in nodes["name_local"]]
    names = place_names(nodes, links, own, landmarks(facts, crs_m))
    nodes["name"] = names.nodes
    links["name"], links["street"] = names.links, names.streets


LANDMARK_KINDS = ("venue", "gate", "hospital", "transit")
"""Facilities that places are named after ("Olympic-ro near KSPO Dome"); car parks are not."""


def landmarks(facts: Facts, crs_m: str) -> list[Landmark]:
    """The facilities as landmarks in metres, under their English display names."""
    table = facts.table[facts.table["kind"].isin(LANDMARK_KINDS)]
    points = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=CRS_WGS84)
    points = points.to_crs(crs_m)
    return [
        Landmark(display_name(name), float(x), float(y))
        for name, x, y in zip(table["name"], points.x, points.y, strict=True)
    ]


def display_name(name: str) -> str:
    """A facility's name without its parenthesised aside ("KSPO Dome (Olympic Gymnastics
    Arena)" -> "KSPO Dome"), as the map shows it."""
    return str(name).split(" (")[0]


def snap_facilities(
    network: Network, facts: Facts, *, crs_m: str = CRS_M
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``node_id`` and ``snap_distance_m`` per facility, and the zones table (step 9)."""
    nodes = network.nodes
    candidates = np.flatnonzero(_stop_nodes(network))
    table = facts.table.copy()
    points = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=CRS_WGS84).to_crs(
        crs_m
    )
    distance_m, nearest = cKDTree(np.c_[nodes["x_m"], nodes["y_m"]][candidates]).query(
        np.c_[points.x, points.y]
    )
    table["node_id"] = candidates[nearest]
    table["snap_distance_m"] = np.round(distance_m, 2)
    return table, _zones(nodes, network.links, table)


def _stop_nodes(network: Network) -> np.ndarray:
    """Nodes where a car can stop and go on: on a street (a link that is not motorway, trunk
    or a ramp), not a gateway, with a link in and a link out in the largest strongly connected
    set of links under the turning movements (so every gateway that reaches the network
    reaches the node, and the car can go on anywhere). All nodes if there is none."""
    nodes, links = network.nodes, network.links
    core = link_core(links, network.movements)
    is_street = ~links["highway"].isin(NON_STREET_CLASSES).to_numpy()
    street, core_in, core_out = (np.zeros(len(nodes), dtype=bool) for _ in range(3))
    street[links["from_node"].to_numpy()[is_street]] = True
    street[links["to_node"].to_numpy()[is_street]] = True
    core_in[links["to_node"].to_numpy()[core]] = True
    core_out[links["from_node"].to_numpy()[core]] = True
    stop = street & core_in & core_out & ~nodes["is_gateway"].to_numpy()
    return stop if stop.any() else np.ones(len(nodes), dtype=bool)


def link_core(links: gpd.GeoDataFrame, movements: pd.DataFrame) -> np.ndarray:
    """Mask of the links in the largest strongly connected set under the movements."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(links)))
    graph.add_edges_from(zip(movements["from_link"], movements["to_link"], strict=True))
    core = max(nx.strongly_connected_components(graph), key=lambda c: (len(c), -min(c)))
    mask = np.zeros(len(links), dtype=bool)
    mask[list(core)] = True
    return mask


def _zones(
    nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame, facilities: pd.DataFrame
) -> pd.DataFrame:
    gateway_ids = np.flatnonzero(nodes["is_gateway"].to_numpy())
    lanes = gateway_lanes(links, gateway_ids)
    weights = _shares([lanes[g][0] + lanes[g][1] for g in gateway_ids])
    rows = [
        ("gateway", int(g), str(nodes.at[g, "name"]), "", weight)
        for g, weight in zip(gateway_ids, weights, strict=True)
    ]
    for kind, source in (("parking", "parking"), ("dropoff", "venue")):
        chosen = facilities[facilities["kind"] == source].sort_values("id")
        rows += [
            (kind, int(f.node_id), display_name(f.name), f.id, 0.0)
            for f in chosen.itertuples(index=False)
        ]
    zones = pd.DataFrame(rows, columns=["kind", "node_id", "name", "facility_id", "weight"])
    zones.insert(0, "zone_id", np.arange(len(zones)))
    return zones


def _shares(amounts: list[int], *, digits: int = 4) -> list[float]:
    """Shares of ``amounts`` rounded to ``digits`` decimals that add up to exactly 1
    (largest remainders get the last units)."""
    if not amounts or sum(amounts) == 0:
        return [0.0] * len(amounts)
    unit = 10**digits
    exact = np.asarray(amounts, dtype=float) * unit / sum(amounts)
    whole = np.floor(exact).astype(int)
    whole[np.argsort(-(exact - whole), kind="stable")[: unit - whole.sum()]] += 1
    return [round(w / unit, digits) for w in whole.tolist()]


def gateway_lanes(links: gpd.GeoDataFrame, gateway_ids: np.ndarray) -> dict[int, tuple[int, int]]:
    """(entry lanes, exit lanes) per gateway: lanes of its out-links and of its in-links."""
    entry = links.groupby("from_node")["lanes"].sum()
    exit_ = links.groupby("to_node")["lanes"].sum()
    return {int(g): (int(entry.get(g, 0)), int(exit_.get(g, 0))) for g in gateway_ids}


def base_layers(osm: OsmExtract) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Building footprints and areas (parks, water, landuse, parking) in WGS84."""
    lonlat = osm.nodes[["lon", "lat"]].to_numpy()
    row_of = {osm_id: row for row, osm_id in enumerate(osm.nodes.index)}
    layers: dict[str, list[dict[str, Any]]] = {"buildings": [], "areas": []}
    for osm_type, elements in (("way", osm.ways), ("relation", osm.relations)):
        for osm_id, (members, tags) in sorted(elements.items()):
            layer = "buildings" if "building" in tags else "areas" if _area_kind(tags) else None
            if (
                layer is None
                or "highway" in tags
                or (osm_type == "relation" and tags.get("type") != "multipolygon")
            ):
                continue
            polygon = (
                _ring(members, lonlat, row_of)
                if osm_type == "way"
                else _multipolygon(members, osm, lonlat, row_of)
            )
            osm.counts["polygons_unclosed_or_incomplete"] += polygon is None
            if polygon is not None:
                layers[layer].append(_polygon_row(osm_id, osm_type, tags, polygon))
    return (
        _polygon_layer(layers["buildings"], ["osm_id", "osm_type", "building", "name"]),
        _polygon_layer(layers["areas"], ["osm_id", "osm_type", "kind", "name"]),
    )


def _area_kind(tags: dict[str, str]) -> str:
    for key, values in AREA_TAGS.items():
        if key in tags and (values is None or tags[key] in values):
            return f"{key}={tags[key]}"
    return ""


def _coords(refs: list[int], lonlat: np.ndarray, row_of: dict[int, int]) -> np.ndarray | None:
    rows = [row_of.get(ref, -1) for ref in refs]
    return None if -1 in rows else lonlat[rows]


def _ring(refs: list[int], lonlat: np.ndarray, row_of: dict[int, int]) -> shapely.Geometry | None:
    coords = _coords(refs, lonlat, row_of) if len(refs) >= 4 and refs[0] == refs[-1] else None
    if coords is None:
        return None
    polygon = shapely.Polygon(coords)
    return polygon if polygon.is_valid else shapely.make_valid(polygon)


def _multipolygon(
    members: list[tuple[str, int, str]], osm: OsmExtract, lonlat: np.ndarray, row_of: dict[int, int]
) -> shapely.Geometry | None:
    rings: dict[str, list[shapely.LineString]] = {"outer": [], "inner": []}
    for kind, ref, role in members:
        if kind != "way" or ref not in osm.ways:
            continue
        coords = _coords(osm.ways[ref][0], lonlat, row_of)
        if coords is None or len(coords) < 2:
            return None
        rings["inner" if role == "inner" else "outer"].append(shapely.LineString(coords))
    outer, inner = (
        shapely.union_all(list(shapely.polygonize(rings[role]).geoms))
        for role in ("outer", "inner")
    )
    if outer.is_empty:
        return None
    return outer.difference(inner) if not inner.is_empty else outer


def _polygon_row(
    osm_id: int, osm_type: str, tags: dict[str, str], geometry: shapely.Geometry
) -> dict[str, Any]:
    return {
        "osm_id": osm_id,
        "osm_type": osm_type,
        "building": tags.get("building", ""),
        "kind": _area_kind(tags),
        "name": tags.get("name", ""),
        "geometry": geometry,
    }


def _polygon_layer(rows: list[dict[str, Any]], columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, "geometry"]).astype({"osm_id": "int64"})
    for column in columns[1:]:
        frame[column] = frame[column].astype(str)
    layer = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(frame["geometry"].tolist(), crs=CRS_WGS84), crs=CRS_WGS84
    )
    layer = layer.explode(index_parts=False, ignore_index=True)
    return layer[layer.geometry.geom_type == "Polygon"].reset_index(drop=True)
