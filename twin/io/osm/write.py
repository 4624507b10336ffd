"""Writing the scenario files (byte-identical on re-import) and ``ATTRIBUTION.md``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.io import schema
from twin.io.osm.constants import CRS_WGS84, GPKG_DATE, ODBL_NOTICE
from twin.io.osm.graph import Network
from twin.io.osm.read import Facts, OsmExtract
from twin.io.osm.report import file_facts


def write_all(
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
    """Write every importer file into ``stage``, each table with the columns of
    :mod:`twin.io.schema` in its order."""
    _write_gpkg(stage / "network.gpkg", network, buildings, areas)
    for table_schema, table in (
        (schema.MOVEMENTS, network.movements),
        (schema.SIGNALS, signals),
        (schema.ZONES, zones),
    ):
        _write_csv(stage / table_schema.where, table[list(table_schema.names)])
    _write_text(stage / "facilities.geojson", _facilities_json(facts, facilities))
    _write_text(
        stage / "import_report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    _write_text(stage / "ATTRIBUTION.md", _attribution(osm, facts, report))


def _write_gpkg(
    path: Path, network: Network, buildings: gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> None:
    nodes = network.nodes.assign(node_id=np.arange(len(network.nodes)))
    nodes = nodes[[*schema.NODES.names, "geometry"]]
    links = network.links[[*schema.LINKS.names, "geometry"]]
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
            f"(sha256 `{file_facts(provenance)['sha256']}`)."
        )
    return "\n".join([*lines, ""])
