"""Constants the importer's stages share (CRS, design assumptions, file names)."""

from __future__ import annotations

from twin.io.osm.roadclass import ROAD_CLASSES

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
