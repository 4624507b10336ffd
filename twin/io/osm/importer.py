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
10. Place names in English (:mod:`twin.io.osm.names`): streets from ``name:en`` or a
    transliteration (:mod:`twin.io.osm.romanize`), junctions by their two main streets, road
    segments by their street and nearest cross streets; gateway zones take their node's name.
11. Base-map layers: ``buildings`` from closed ``building=*`` ways and multipolygon
    relations; ``areas`` from ``leisure=park|garden``, ``natural=water|wood|scrub|grassland|
    wetland``, ``landuse=*`` and ``amenity=parking`` polygons (an empty layer if none).

The stages live in modules of their own: :mod:`~twin.io.osm.read` (the input files),
:mod:`~twin.io.osm.graph` (steps 1-6), :mod:`~twin.io.osm.plans` (7-8),
:mod:`~twin.io.osm.places` (9-11), :mod:`~twin.io.osm.report` and :mod:`~twin.io.osm.write` (the
files, columns from :mod:`twin.io.schema`), :mod:`~twin.io.osm.folder` (staging and the move
into place); this module runs them in order.

Everything is written to a temporary folder next to ``out_dir`` and moved into place only
when all files are complete. Re-running on the same inputs gives byte-identical files, the
GeoPackage included (rows sorted, floats rounded to 0.01 m / 0.1 km/h / 1e-7 deg, a fixed
``last_change`` date in the GeoPackage).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from twin.io.osm import junctions
from twin.io.osm.constants import CRS_M, DESIGN_FLOW_RATIO, IMPORTER_FILES, SCENARIO_FILES
from twin.io.osm.folder import check_out_dir, staging
from twin.io.osm.graph import Network, build_network
from twin.io.osm.places import base_layers, name_places, snap_facilities
from twin.io.osm.plans import signal_plans
from twin.io.osm.read import Facts, OsmExtract, read_facilities, read_osm
from twin.io.osm.report import import_report
from twin.io.osm.write import write_all
from twin.models import webster

__all__ = [
    "IMPORTER_FILES",
    "SCENARIO_FILES",
    "Facts",
    "Network",
    "OsmExtract",
    "build_network",
    "import_osm",
    "read_facilities",
    "read_osm",
    "signal_plans",
    "snap_facilities",
]

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
    check_out_dir(out_dir)
    osm = read_osm(osm_path)
    facts = read_facilities(facilities_path)
    with staging(out_dir) as stage:
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
        name_places(network, facts, osm, crs_m=crs_m)
        facilities, zones = snap_facilities(network, facts, crs_m=crs_m)
        buildings, areas = base_layers(osm)
        report = import_report(
            osm, facts, network, signals, facilities, zones, buildings, areas, crs_m
        )
        write_all(stage, network, signals, facts, facilities, zones, buildings, areas, report, osm)
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
