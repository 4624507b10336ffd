"""Map coordinates of a scenario: links in metres, snapping a point to the road network.

Geometry ops come from shapely/geopandas and projections from pyproj (through geopandas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, Point

from twin.errors import ActionError

DEFAULT_CRS_M = "EPSG:32652"
AREA_MARGIN_M = 250.0
"""A point this far outside the network's bounding box still counts as inside the scenario."""


@dataclass(frozen=True)
class Snap:
    """A point snapped to the nearest link: ``link_id``, distance (m) and the point in metres."""

    link_id: int
    distance_m: float
    x_m: float
    y_m: float


def crs_m(scenario: Any) -> str:
    return str(scenario.params.get("crs_m", DEFAULT_CRS_M))


def link_lines_m(scenario: Any) -> gpd.GeoSeries:
    """Link geometries in the scenario's metric CRS, in ``link_id`` order.

    Straight lines between the end nodes when the scenario has no link geometry.
    """
    links = scenario.links
    if isinstance(links, gpd.GeoDataFrame) and links.geometry.notna().all():
        return links.geometry.to_crs(crs_m(scenario)).reset_index(drop=True)
    x = scenario.nodes["x_m"].to_numpy()
    y = scenario.nodes["y_m"].to_numpy()
    lines = [
        LineString([(x[a], y[a]), (x[b], y[b])])
        for a, b in zip(links["from_node"], links["to_node"], strict=True)
    ]
    return gpd.GeoSeries(lines, crs=crs_m(scenario))


def lonlat_to_m(scenario: Any, lon: float, lat: float) -> tuple[float, float]:
    """Project WGS84 ``lon, lat`` (degrees) to the scenario's metres."""
    point = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326").to_crs(crs_m(scenario)).iloc[0]
    return float(point.x), float(point.y)


def m_to_lonlat(scenario: Any, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """(N, 2) lon/lat degrees of metric points."""
    points = gpd.GeoSeries(gpd.points_from_xy(x_m, y_m), crs=crs_m(scenario)).to_crs("EPSG:4326")
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


def snap_to_link(scenario: Any, lines: gpd.GeoSeries, lat: float, lon: float) -> Snap:
    """The link nearest to ``lat, lon``; refuses points outside the scenario's area."""
    for name, value, low, high in (("lat", lat, -90, 90), ("lon", lon, -180, 180)):
        if (
            not isinstance(value, (int, float))
            or not np.isfinite(value)
            or not low <= value <= high
        ):
            raise ActionError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    x, y = lonlat_to_m(scenario, lon, lat)
    minx, miny, maxx, maxy = lines.total_bounds
    if not (
        minx - AREA_MARGIN_M <= x <= maxx + AREA_MARGIN_M
        and miny - AREA_MARGIN_M <= y <= maxy + AREA_MARGIN_M
    ):
        raise ActionError(
            f"incident at lat {lat:.5f}, lon {lon:.5f} is outside the scenario's road network "
            f"(more than {AREA_MARGIN_M:.0f} m beyond its bounding box)"
        )
    point = Point(x, y)
    nearest = lines.sindex.nearest(point, return_all=False)[1][0]
    return Snap(int(nearest), float(lines.iloc[nearest].distance(point)), x, y)


def path_lonlat(scenario: Any, lines: gpd.GeoSeries, link_ids: list[int]) -> list[list[float]]:
    """Lon/lat vertices of a path of links, in travel order (for drawing a route)."""
    coords = [xy for link in link_ids for xy in lines.iloc[link].coords]
    if not coords:
        return []
    xy = np.array(coords)
    return m_to_lonlat(scenario, xy[:, 0], xy[:, 1]).round(6).tolist()
