"""Stage 1 input: parse the OSM XML extract and the facilities facts file."""

from __future__ import annotations

import bz2
import gzip
import json
import math
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import pandas as pd

from twin.errors import ScenarioError

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
    name = props.get("name_en") or props.get("name") or name_from_id(fid, props["kind"])
    return fid, props["kind"], str(name), float(coords[0]), float(coords[1])


def _is_lonlat(coords: Any) -> bool:
    return (
        isinstance(coords, list)
        and len(coords) >= 2
        and all(isinstance(c, (int, float)) and math.isfinite(c) for c in coords[:2])
        and -180 <= coords[0] <= 180
        and -90 <= coords[1] <= 90
    )


def name_from_id(fid: str, kind: str) -> str:
    """A readable name for a facility the facts file leaves unnamed, from its id:
    ``hospital_asan_medical_center`` -> "Asan Medical Center" (the kind prefix dropped)."""
    words = fid.removeprefix(f"{kind}_").replace("-", "_").split("_")
    return " ".join(word.capitalize() for word in words if word) or kind.capitalize()
