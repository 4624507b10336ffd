"""Import an OpenStreetMap XML extract into the network part of a scenario folder.

``import_osm(osm_path, facilities_path, out_dir)`` writes ``network.gpkg`` (layers ``nodes``,
``links``, ``buildings``, ``areas``), ``movements.csv``, ``signals.csv``, ``facilities.geojson``,
``zones.csv``, ``import_report.json`` and ``ATTRIBUTION.md`` as specified in
``docs/scenario-format.md``. It never writes ``schedule.csv`` or ``scenario.toml`` and keeps
them (and any other file) when it re-imports into an existing scenario folder.

Pipeline
--------
1. Parse the XML with ElementTree. Keep the ways whose ``highway`` is a drivable class of
   :mod:`twin.io.osm.roadclass` (not ``access=no|private``, not ``area=yes``, not parking aisles or
   driveways). A clipped extract references nodes it does not hold: each way is cut into its
   runs of present nodes and runs shorter than 2 nodes are dropped (all counted).
2. Resolve ``oneway`` (a ``-1`` way is reversed) and write the road ways to a temporary OSM
   file that ``osmnx.graph_from_xml`` reads (offline), so osmnx never sees buildings or
   missing nodes. Traffic attributes come from our own way table, not from osmnx.
3. Simplify (osmnx; a named ``junction=yes`` node stays a node even where the crossing road
   is not in the extract, e.g. the Olympic Park gates on Gangdong-daero), project to ``crs_m``
   (UTM 52N, EPSG:32652, by default) and consolidate junction clusters
   (``osmnx.consolidate_intersections`` with ``tolerance = consolidate_tolerance_m``, a buffer
   radius: nodes up to twice that apart merge; dead ends are kept because boundary stubs are
   the gateways). The traffic model needs links not much shorter than 15-20 m; 10 m makes the
   shortest link of the Seoul extract 20.7 m. The report gives the shortest link.
4. Gateways (``is_gateway``): where traffic enters or leaves the modelled area. A node is a
   gateway when a road of class trunk/primary/secondary/tertiary (or motorway, or a ``*_link``
   of those) *ends* there because the extract ends: the node touches a link of such a class
   and is a dead end of the road graph (a single neighbouring node, or only incoming, or only
   outgoing links). In an extract clipped to a box these ends lie on the box edge; an
   Overpass extract returns whole ways around its query box, so its major roads also end
   inside the bounding box of its nodes. The report counts the gateways within
   ``gateway_edge_m`` (150 m) of the bounding box edge (``<bounds>``, else the extent of all
   nodes) and those inside apart. Minor roads are never gateways. Weight = the gateway's
   lanes (in + out) over the lanes of all gateways.
5. Keep the largest strongly connected component M, plus the nodes on a path from an entry
   gateway into M or from M to an exit gateway (the outside world acts as one node that joins
   exits to entries). Everything else is dropped and reported (nodes, links, km, components).
6. Links: one row per direction, ``reverse_link_id`` pairs the two directions of a two-way
   road. A link merged from several OSM ways takes the class and lanes that cover most of its
   length, the capacity and jam density of that class, and the free speed that keeps its
   free-flow travel time (length / sum(length_i / speed_i)).
7. Movements and phases from :mod:`twin.io.osm.junctions`. Signals: *tagged* when an OSM node
   ``highway=traffic_signals`` or a signalised crossing (``highway=crossing`` +
   ``crossing=traffic_signals``, the pedestrian lights of a signalised junction) lies within
   ``signal_snap_m`` (25 m) of the node, each OSM node counting for its nearest network node
   only; else *guessed* by the rule in :mod:`twin.io.osm.junctions`. The report counts both.
8. Default fixed-time plans by :mod:`twin.models.webster`. Assumption: the design-hour demand of
   each approach is ``design_flow_ratio`` (0.45) of its capacity; its saturation flow is the
   HCM 6th ed. base 1,900 pc/h/ln per lane, so y = 0.45 x capacity_vphpl / 1,900 and a phase's
   critical y is the largest of its approaches. Intergreen 5 s (3 s amber + 2 s all-red),
   cycle 40-150 s, offset 0 (no coordination). Minimum green per phase: 7 s, or the
   pedestrian green of the crossing that runs with the phase (7 s + crossing length at
   1.0 m/s, crossing length = lanes crossed x 3.25 m, Korean urban lane width), rounded up
   to whole seconds. Plans are rounded to whole seconds.
9. Facilities: each feature of the facts file gets ``node_id``, the nearest node where a car
   can stop and go on (a node on a street, i.e. with a link that is not motorway, trunk or a
   ``*_link``; not a gateway; with a link in and a link out in the largest strongly connected
   set of links under the turning movements, so that it is reachable from every gateway that
   feeds the network) and ``snap_distance_m``; snaps over 300 m are listed under
   ``warnings`` in the report. Zones: the gateways (kind ``gateway``, weight as above), one
   ``parking`` zone per parking facility and one ``dropoff`` zone per venue, each at its
   facility's node (weight 0: only gateways share boundary traffic). The report warns about
   gateways whose traffic cannot reach (or be reached from) those links.
10. Base-map layers: ``buildings`` from closed ``building=*`` ways and multipolygon
    relations; ``areas`` from ``leisure=park|garden``, ``natural=water|wood|scrub|grassland|
    wetland``, ``landuse=*`` and ``amenity=parking`` polygons (an empty layer if none).

Everything is written to a temporary folder next to ``out_dir`` and moved into place only
when all files are complete. Re-running on the same inputs gives byte-identical files, the
GeoPackage included (rows sorted, floats rounded to 0.01 m / 0.1 km/h / 1e-7 deg, a fixed
``last_change`` date in the GeoPackage).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import itertools
import json
import math
import os
import shutil
import tempfile
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from twin.errors import ScenarioError
from twin.io.osm import junctions
from twin.io.osm.roadclass import GATEWAY_CLASSES, ROAD_CLASSES, road_class, way_traffic
from twin.models import webster

CRS_WGS84 = "EPSG:4326"
CRS_M = "EPSG:32652"
SATURATION_FLOW_PCPHPL = 1900.0
DESIGN_FLOW_RATIO = 0.45
LANE_WIDTH_M = 3.25
FAR_SNAP_M = 300.0
GPKG_DATE = "2000-01-01T00:00:00.000Z"  # gpkg_contents.last_change, fixed for reproducibility
NON_STREET_CLASSES = frozenset({"motorway", "trunk"}) | {
    h for h in ROAD_CLASSES if h.endswith("_link")
}
EXCLUDED_ACCESS = frozenset({"no", "private"})
EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "private", "emergency_access"})
AREA_TAGS = {
    "leisure": {"park", "garden"},
    "natural": {"water", "wood", "scrub", "grassland", "wetland"},
    "landuse": None,
    "amenity": {"parking"},
}
IMPORTER_FILES = (
    "network.gpkg",
    "movements.csv",
    "signals.csv",
    "facilities.geojson",
    "zones.csv",
    "import_report.json",
    "ATTRIBUTION.md",
)
SCENARIO_FILES = frozenset(IMPORTER_FILES) | {"schedule.csv", "scenario.toml"}
ODBL_NOTICE = (
    "© OpenStreetMap contributors — data available under the Open Database License (ODbL),\n"
    "https://www.openstreetmap.org/copyright"
)


# --------------------------------------------------------------------------------------------
# public entry point


def import_osm(
    osm_path: str | Path,
    facilities_path: str | Path,
    out_dir: str | Path,
    *,
    consolidate_tolerance_m: float = 10.0,
    gateway_edge_m: float = 150.0,
    signal_snap_m: float = junctions.SIGNAL_SNAP_M,
    design_flow_ratio: float = DESIGN_FLOW_RATIO,
    intergreen_s: float = webster.INTERGREEN_S,
    crs_m: str = CRS_M,
) -> dict[str, Any]:
    """Import an OSM XML extract and a facts file into the scenario folder ``out_dir``.

    Parameters
    ----------
    osm_path
        OSM XML file (``.osm``, ``.osm.gz`` or ``.osm.bz2``).
    facilities_path
        GeoJSON FeatureCollection of Point facilities, each with properties ``id`` and
        ``kind`` (``venue``, ``parking``, ...).
    out_dir
        Scenario folder to write; it may be absent, empty, or a scenario folder (files the
        importer does not write are kept).
    consolidate_tolerance_m
        Buffer radius for merging junction clusters, m.
    gateway_edge_m
        Distance from the bounding box edge within which a road end counts as on the edge, m.
    signal_snap_m
        Largest distance from an OSM signal node to the node it signalises, m.
    design_flow_ratio
        Design-hour demand of an approach as a share of its capacity (Webster plans).
    intergreen_s
        Amber + all-red per phase change, s.
    crs_m
        Projected CRS in metres for lengths and ``x_m``/``y_m``.

    Returns
    -------
    report
        The content of ``import_report.json``.

    Raises
    ------
    ScenarioError
        For unreadable or unusable input, or an ``out_dir`` that is not a scenario folder;
        ``out_dir`` is then left as it was.
    """
    _check_options(
        consolidate_tolerance_m, gateway_edge_m, signal_snap_m, design_flow_ratio, intergreen_s
    )
    osm_path, facilities_path, out_dir = Path(osm_path), Path(facilities_path), Path(out_dir)
    _check_out_dir(out_dir)
    osm = read_osm(osm_path)
    facts = read_facilities(facilities_path)
    with _staging(out_dir) as stage:
        network = build_network(
            osm,
            stage / "_work",
            crs_m=crs_m,
            consolidate_tolerance_m=consolidate_tolerance_m,
            gateway_edge_m=gateway_edge_m,
            signal_snap_m=signal_snap_m,
        )
        signals = signal_plans(
            network, design_flow_ratio=design_flow_ratio, intergreen_s=intergreen_s
        )
        facilities, zones = snap_facilities(network, facts, crs_m=crs_m)
        buildings, areas = base_layers(osm)
        report = _report(osm, facts, network, signals, facilities, zones, buildings, areas, crs_m)
        _write_all(stage, network, signals, facts, facilities, zones, buildings, areas, report, osm)
    return report


def _check_options(
    tolerance_m: float, edge_m: float, snap_m: float, ratio: float, intergreen_s: float
) -> None:
    for name, value in (
        ("consolidate_tolerance_m", tolerance_m),
        ("gateway_edge_m", edge_m),
        ("signal_snap_m", snap_m),
        ("intergreen_s", intergreen_s),
    ):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name!r} should be a finite number >= 0, got {value!r}")
    if not (isinstance(ratio, (int, float)) and 0 < ratio < 1):
        raise ValueError(f"'design_flow_ratio' should be between 0 and 1, got {ratio!r}")


# --------------------------------------------------------------------------------------------
# reading the OSM file


@dataclass
class OsmExtract:
    """What the importer needs from an OSM XML file."""

    path: Path
    nodes: pd.DataFrame  # index osm node id; columns lon, lat
    node_tags: dict[int, dict[str, str]]
    ways: dict[int, tuple[list[int], dict[str, str]]]
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]]
    header: dict[str, str]
    bounds: tuple[float, float, float, float] | None  # min lon, min lat, max lon, max lat
    counts: Counter = field(default_factory=Counter)


def read_osm(osm_path: Path) -> OsmExtract:
    """Parse an OSM XML file; ScenarioError names the file and the parser's line and column."""
    if not osm_path.is_file():
        raise ScenarioError(f"OSM file {str(osm_path)!r} does not exist or is not a file")
    if osm_path.stat().st_size == 0:
        raise ScenarioError(f"OSM file {str(osm_path)!r} is empty (0 bytes)")
    try:
        with _open_text(osm_path) as stream:
            root = ET.parse(stream).getroot()
    except ET.ParseError as error:
        line, column = error.position
        raise ScenarioError(
            f"OSM file {str(osm_path)!r} is not well-formed XML: line {line}, column {column}: "
            f"{expat.ErrorString(error.code)}"
        ) from error
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ScenarioError(f"OSM file {str(osm_path)!r} cannot be read: {error}") from error
    if root.tag != "osm":
        raise ScenarioError(
            f"OSM file {str(osm_path)!r}: root element should be <osm>, got <{root.tag}>"
        )
    return _extract(osm_path, root)


@contextmanager
def _open_text(path: Path) -> Iterator[IO[bytes]]:
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    with opener(path, "rb") as stream:
        yield stream


def _extract(path: Path, root: ET.Element) -> OsmExtract:
    counts: Counter = Counter()
    ids, lons, lats, node_tags = [], [], [], {}
    for element in root.iter("node"):
        try:
            osm_id, lon, lat = (
                int(element.get("id")),
                float(element.get("lon")),
                float(element.get("lat")),
            )
        except (TypeError, ValueError):
            counts["nodes_without_id_or_coordinates"] += 1
            continue
        ids.append(osm_id)
        lons.append(lon)
        lats.append(lat)
        tags = _tags(element)
        if tags:
            node_tags[osm_id] = tags
    nodes = pd.DataFrame({"lon": lons, "lat": lats}, index=pd.Index(ids, name="osm_id"))
    try:
        ways, relations = _ways(root), _relations(root)
    except ValueError as error:
        raise ScenarioError(
            f"OSM file {str(path)!r}: a way or relation has a non-integer id or reference: {error}"
        ) from error
    counts.update(nodes=len(nodes), ways=len(ways), relations=len(relations))
    header = {"generator": root.get("generator", "")}
    note, meta = root.find("note"), root.find("meta")
    if note is not None:
        header["note"] = (note.text or "").strip()
    if meta is not None:
        header["meta"] = meta.get("osm_base", "")
    return OsmExtract(path, nodes, node_tags, ways, relations, header, _bounds(root), counts)


def _ways(root: ET.Element) -> dict[int, tuple[list[int], dict[str, str]]]:
    return {
        int(w.get("id")): ([int(nd.get("ref")) for nd in w.iter("nd") if nd.get("ref")], _tags(w))
        for w in root.iter("way")
        if w.get("id")
    }


def _relations(root: ET.Element) -> dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]]:
    return {
        int(r.get("id")): (
            [
                (m.get("type"), int(m.get("ref")), m.get("role") or "")
                for m in r.iter("member")
                if m.get("ref")
            ],
            _tags(r),
        )
        for r in root.iter("relation")
        if r.get("id")
    }


def _tags(element: ET.Element) -> dict[str, str]:
    return {
        tag.get("k"): tag.get("v") for tag in element.findall("tag") if tag.get("k") is not None
    }


def _bounds(root: ET.Element) -> tuple[float, float, float, float] | None:
    element = root.find("bounds")
    if element is None:
        return None
    try:
        return tuple(float(element.get(k)) for k in ("minlon", "minlat", "maxlon", "maxlat"))  # type: ignore[return-value]
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# reading the facilities file


@dataclass
class Facts:
    """The facts file: its raw JSON (written back with node ids) and a projected table."""

    path: Path
    raw: dict[str, Any]
    table: pd.DataFrame  # id, kind, name, lon, lat


def read_facilities(facilities_path: Path) -> Facts:
    """Read and check the facilities GeoJSON (a FeatureCollection of Points with id and kind)."""
    where = f"facilities file {str(facilities_path)!r}"
    if not facilities_path.is_file():
        raise ScenarioError(f"{where} does not exist or is not a file")
    try:
        raw = json.loads(facilities_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ScenarioError(
            f"{where} is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    except UnicodeDecodeError as error:
        raise ScenarioError(f"{where} is not UTF-8 text: {error}") from error
    if (
        not isinstance(raw, dict)
        or raw.get("type") != "FeatureCollection"
        or not isinstance(raw.get("features"), list)
    ):
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        raise ScenarioError(
            f"{where} should be a GeoJSON FeatureCollection with a 'features' list, got {kind!r}"
        )
    rows = [_facility_row(feature, k, where) for k, feature in enumerate(raw["features"])]
    table = pd.DataFrame(rows, columns=["id", "kind", "name", "lon", "lat"])
    duplicated = table["id"][table["id"].duplicated()]
    if len(duplicated):
        raise ScenarioError(f"{where}: feature id {duplicated.iloc[0]!r} is not unique")
    return Facts(facilities_path, raw, table)


def _facility_row(feature: Any, k: int, where: str) -> tuple[str, str, str, float, float]:
    props = feature.get("properties") if isinstance(feature, dict) else None
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(props, dict) or not isinstance(geometry, dict):
        raise ScenarioError(
            f"{where}: feature {k} should be a GeoJSON Feature with properties and geometry"
        )
    fid = props.get("id", feature.get("id"))
    if not isinstance(fid, str) or not fid or not isinstance(props.get("kind"), str):
        raise ScenarioError(
            f"{where}: feature {k} needs string properties 'id' and 'kind', "
            f"got {fid!r}, {props.get('kind')!r}"
        )
    coords = geometry.get("coordinates")
    if geometry.get("type") != "Point" or not _is_lonlat(coords):
        raise ScenarioError(
            f"{where}: feature {fid!r} should have a Point geometry [lon, lat] in degrees, "
            f"got {geometry.get('type')!r} {coords!r}"
        )
    name = props.get("name_en") or props.get("name") or fid
    return fid, props["kind"], str(name), float(coords[0]), float(coords[1])


def _is_lonlat(coords: Any) -> bool:
    return (
        isinstance(coords, list)
        and len(coords) >= 2
        and all(isinstance(c, (int, float)) and math.isfinite(c) for c in coords[:2])
        and -180 <= coords[0] <= 180
        and -90 <= coords[1] <= 90
    )


# --------------------------------------------------------------------------------------------
# the out folder and atomic writes


def _check_out_dir(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ScenarioError(f"out_dir {str(out_dir)!r} exists and is not a folder")
    entries = {entry.name for entry in out_dir.iterdir() if not entry.name.startswith(".")}
    if entries and not entries & SCENARIO_FILES:
        raise ScenarioError(
            f"out_dir {str(out_dir)!r} exists and is not a scenario folder: it should be empty or "
            f"hold scenario files such as network.gpkg or scenario.toml; "
            f"found {sorted(entries)[:5]}"
        )


@contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    """A temporary folder next to ``out_dir``; its files replace ``out_dir``'s on success."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.import-", dir=out_dir.parent))
    try:
        yield stage
        shutil.rmtree(stage / "_work", ignore_errors=True)
        _commit(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _commit(stage: Path, out_dir: Path) -> None:
    """Move the staged files into ``out_dir``; restore the old ones if a move fails."""
    if not out_dir.exists():
        os.rename(stage, out_dir)
        return
    backup = stage / "_previous"
    backup.mkdir()
    moved: list[str] = []
    try:
        for name in IMPORTER_FILES:
            if (out_dir / name).exists():
                os.replace(out_dir / name, backup / name)
            os.replace(stage / name, out_dir / name)
            moved.append(name)
    except OSError:
        for name in IMPORTER_FILES:
            if (backup / name).exists():
                os.replace(backup / name, out_dir / name)
            elif name in moved:
                (out_dir / name).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# road ways -> graph


def road_ways(osm: OsmExtract) -> pd.DataFrame:
    """The drivable ways, cut to their runs of present nodes, with traffic attributes.

    One row per run: ``way_id``, ``nodes`` (in the direction of travel for one-way roads),
    ``oneway``, ``lanes_along``/``lanes_against`` (against is 0 for one-way), ``highway``,
    ``free_speed_kph``, ``road`` (name, else ref, else ``way <id>``), ``name``, and flags of
    the defaults used.
    """
    present = set(osm.nodes.index)
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
        rows += [_way_row(way_id, run, tags, traffic) for run in runs]
    return pd.DataFrame(rows)


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


def _way_row(way_id: int, run: list[int], tags: dict[str, str], traffic: Any) -> dict[str, Any]:
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
    signal_report = _mark_signals(nodes, links, osm, crs_m, signal_snap_m)
    movements = _movements(nodes, links)
    report = {
        "graph": sizes,
        "components": dropped,
        "gateways": gateway_report,
        "signals": signal_report,
        "tags": _tag_report(roads),
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
            "name": names,
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
    table["name"] = ways.loc[main_way, "name"].to_numpy()
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
    into_core = _reach(graph, core, backward=True)
    from_core = _reach(graph, core)
    from_entries = _reach(graph, gateways)
    to_exits = _reach(graph, gateways, backward=True)
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


def _reach(graph: nx.MultiDiGraph, sources: set[int], *, backward: bool = False) -> set[int]:
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


# --------------------------------------------------------------------------------------------
# signals and movements


def _legs(
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


def _mark_signals(
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


def _movements(nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame) -> pd.DataFrame:
    incoming, outgoing = _legs(nodes, links)
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
    incoming, outgoing = _legs(nodes, links)
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


# --------------------------------------------------------------------------------------------
# facilities, zones, base layers


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
    core = _link_core(links, network.movements)
    is_street = ~links["highway"].isin(NON_STREET_CLASSES).to_numpy()
    street, core_in, core_out = (np.zeros(len(nodes), dtype=bool) for _ in range(3))
    street[links["from_node"].to_numpy()[is_street]] = True
    street[links["to_node"].to_numpy()[is_street]] = True
    core_in[links["to_node"].to_numpy()[core]] = True
    core_out[links["from_node"].to_numpy()[core]] = True
    stop = street & core_in & core_out & ~nodes["is_gateway"].to_numpy()
    return stop if stop.any() else np.ones(len(nodes), dtype=bool)


def _link_core(links: gpd.GeoDataFrame, movements: pd.DataFrame) -> np.ndarray:
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
    lanes = _gateway_lanes(links, gateway_ids)
    weights = _shares([lanes[g][0] + lanes[g][1] for g in gateway_ids])
    rows = [
        ("gateway", int(g), _gateway_name(links, g), "", weight)
        for g, weight in zip(gateway_ids, weights, strict=True)
    ]
    for kind, source in (("parking", "parking"), ("dropoff", "venue")):
        chosen = facilities[facilities["kind"] == source].sort_values("id")
        rows += [(kind, int(f.node_id), f.name, f.id, 0.0) for f in chosen.itertuples(index=False)]
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


def _gateway_lanes(links: gpd.GeoDataFrame, gateway_ids: np.ndarray) -> dict[int, tuple[int, int]]:
    """(entry lanes, exit lanes) per gateway: lanes of its out-links and of its in-links."""
    entry = links.groupby("from_node")["lanes"].sum()
    exit_ = links.groupby("to_node")["lanes"].sum()
    return {int(g): (int(entry.get(g, 0)), int(exit_.get(g, 0))) for g in gateway_ids}


def _gateway_name(links: gpd.GeoDataFrame, node: int) -> str:
    touching = links[(links["from_node"] == node) | (links["to_node"] == node)]
    names = sorted({n for n in touching["name"] if n})
    return names[0] if names else f"unnamed {touching['highway'].iloc[0]}"


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


# --------------------------------------------------------------------------------------------
# report and writing


def _tag_report(roads: pd.DataFrame) -> dict[str, int]:
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


def _report(
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
    lanes = _gateway_lanes(links, gateways["node_id"].to_numpy())
    return {
        "inputs": {"osm": _file_facts(osm.path), "facilities": _file_facts(facts.path)},
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
    core = set(np.flatnonzero(_link_core(links, movements)).tolist())
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(links)))
    graph.add_edges_from(zip(movements["from_link"], movements["to_link"], strict=True))
    reaches_core = _reach(graph, core, backward=True)
    reached = _reach(graph, core)
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


def _file_facts(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _write_all(
    stage: Path,
    network: Network,
    signals: pd.DataFrame,
    facts: Facts,
    facilities: pd.DataFrame,
    zones: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    report: dict[str, Any],
    osm: OsmExtract,
) -> None:
    _write_gpkg(stage / "network.gpkg", network, buildings, areas)
    _write_csv(stage / "movements.csv", network.movements)
    _write_csv(
        stage / "signals.csv",
        signals[["node_id", "cycle_s", "offset_s", "intergreen_s", "greens_s", "min_greens_s"]],
    )
    _write_csv(stage / "zones.csv", zones)
    _write_text(stage / "facilities.geojson", _facilities_json(facts, facilities))
    _write_text(
        stage / "import_report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    _write_text(stage / "ATTRIBUTION.md", _attribution(osm, facts, report))


NODE_COLUMNS = [
    "node_id",
    "osm_id",
    "x_m",
    "y_m",
    "signalised",
    "signal_source",
    "name",
    "is_gateway",
]
LINK_COLUMNS = [
    "link_id",
    "from_node",
    "to_node",
    "osm_way_ids",
    "name",
    "highway",
    "lanes",
    "length_m",
    "free_speed_kph",
    "capacity_vphpl",
    "jam_density_vpkm",
    "reverse_link_id",
]


def _write_gpkg(
    path: Path, network: Network, buildings: gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> None:
    nodes = network.nodes.assign(node_id=np.arange(len(network.nodes)))[[*NODE_COLUMNS, "geometry"]]
    links = network.links[[*LINK_COLUMNS, "geometry"]]
    with _gpkg_settings():
        for name, layer, kind in (
            ("nodes", nodes, "Point"),
            ("links", links, "LineString"),
            ("buildings", buildings, "Polygon"),
            ("areas", areas, "Polygon"),
        ):
            layer = layer.to_crs(CRS_WGS84)
            layer = layer.set_geometry(shapely.set_precision(layer.geometry.to_numpy(), 1e-7))
            layer.to_file(path, layer=name, driver="GPKG", engine="pyogrio", geometry_type=kind)
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


@contextmanager
def _gpkg_settings() -> Iterator[None]:
    """GDAL settings while writing the staged GeoPackage: no per-transaction fsync (one fsync
    at the end instead, the file is moved into place only once complete; 5x faster) and a
    fixed ``last_change`` date so that re-imports give byte-identical files."""
    import pyogrio

    settings = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_CURRENT_DATE": GPKG_DATE}
    previous = {key: pyogrio.get_gdal_config_option(key) for key in settings}
    pyogrio.set_gdal_config_options(settings)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(previous)


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    path.write_text(table.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _facilities_json(facts: Facts, facilities: pd.DataFrame) -> str:
    raw = json.loads(json.dumps(facts.raw))
    snapped = facilities.set_index("id")
    for feature in raw["features"]:
        props = feature["properties"]
        fid = props.get("id", feature.get("id"))
        props["node_id"] = int(snapped.at[fid, "node_id"])
        props["snap_distance_m"] = float(snapped.at[fid, "snap_distance_m"])
    return json.dumps(raw, indent=1, ensure_ascii=False) + "\n"


def _attribution(osm: OsmExtract, facts: Facts, report: dict[str, Any]) -> str:
    inputs = report["inputs"]
    lines = [
        "# Attribution and provenance",
        "",
        "## OpenStreetMap data (ODbL 1.0)",
        "",
        "The road network (`network.gpkg` layers `nodes`, `links`), the movements, the signal",
        "list, the `buildings` and `areas` layers and the facilities snapped to them are derived",
        "from OpenStreetMap data:",
        "",
        *(f"    {line}" for line in ODBL_NOTICE.splitlines()),
        "",
        "This folder's network is a derived database: if you publish it, publish it under the ODbL",
        "too (share-alike). A map or screenshot made from it is a Produced Work and needs only the",
        "attribution above.",
        "",
        "## Source files",
        "",
        "| input | file | bytes | sha256 |",
        "| --- | --- | --- | --- |",
        *(
            f"| {role} | `{f['file']}` | {f['bytes']:,} | `{f['sha256']}` |"
            for role, f in inputs.items()
        ),
        "",
        (
            f"- OSM file header: generator `{osm.header.get('generator', '')}`, "
            f"osm_base `{osm.header.get('meta', '')}`."
        ),
    ]
    if osm.header.get("note"):
        lines.append(f'- OSM file note: "{osm.header["note"]}"')
    metadata = facts.raw.get("metadata", {}) if isinstance(facts.raw.get("metadata"), dict) else {}
    if metadata.get("osm_attribution"):
        lines.append(f"- Facilities file: {metadata['osm_attribution']}")
    if metadata.get("compiled"):
        lines.append(f"- Facilities file compiled: {metadata['compiled']}")
    lines.append(
        "- Facilities keep their own source and quality fields in `facilities.geojson`; each "
        "fact is under its source's licence (e.g. CC BY-SA for Wikipedia-derived facts)."
    )
    provenance = osm.path.parent / "PROVENANCE.md"
    if provenance.is_file():
        lines.append(
            f"- How the source files were obtained: `{provenance.name}` next to them "
            f"(sha256 `{_file_facts(provenance)['sha256']}`)."
        )
    return "\n".join([*lines, ""])
