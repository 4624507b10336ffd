"""The walkable area as a grid of cells, and walking distances over it.

The scenario's OSM extract holds drivable roads and buildings but not the paths inside
Olympic Park, so the walkable area is built by a rule (see :func:`walkable_polygon`):

    walkable = (road centrelines buffered by ``road_buffer_m``)
               ∪ (convex hull of the venue and gate points buffered by ``park_buffer_m``)
               − building footprints

``road_buffer_m = 10`` stands for half a carriageway plus its sidewalk (two lanes of 3.5 m
make 7 m of half-width with a 3 m sidewalk); pedestrians are allowed on the carriageway,
as they are when roads around a venue are closed for an event. The park rule says that the
park between and around the venues (150 m beyond the outermost venue or gate) is open
ground with paths everywhere, which is how Olympic Park is used on event days.

Grid conventions: cell ``(row, col)`` covers ``x`` in ``origin_x_m + [col, col + 1) * cell_m``
and ``y`` in ``origin_y_m + [row, row + 1) * cell_m``: row 0 is the *southern* edge (flip the
rows to draw the array as an image). A cell is walkable when its centre lies in the walkable
polygon. Walkers move to the 8 neighbouring cells; a diagonal move is allowed only when both
orthogonal cells beside it are walkable too (no cutting corners of buildings).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.ndimage as ndi
import scipy.sparse as sp
import shapely
from scipy.sparse import csgraph
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ROAD_BUFFER_M = 10.0
"""Half carriageway plus sidewalk either side of a road centreline (m); an assumption."""
PARK_BUFFER_M = 150.0
"""Margin of open park ground around the hull of venues and gates (m); an assumption."""
DEFAULT_CELL_M = 10.0

DIRECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1),
    (1, 0),
    (0, -1),
    (-1, 0),
    (1, 1),
    (1, -1),
    (-1, 1),
    (-1, -1),
)
"""The 8 moves as ``(d_row, d_col)``: east, north, west, south, then the diagonals."""
STEP_UNITS = np.array([np.hypot(dr, dc) for dr, dc in DIRECTIONS])
"""Length of each move in cells (1 or sqrt 2)."""


@dataclass(frozen=True, eq=False)
class CrowdGrid:
    """A square-cell grid over the walkable area (projected metres, row 0 = south).

    Attributes
    ----------
    origin_x_m, origin_y_m
        Coordinates of the south-west corner of cell ``(0, 0)``.
    cell_m
        Side of a cell in metres.
    walkable
        ``(H, W)`` mask, true where the cell centre lies in the walkable area (read-only).
    cell_area_m2
        Area of one cell, ``cell_m ** 2``.
    """

    origin_x_m: float
    origin_y_m: float
    cell_m: float
    walkable: BoolArray
    cell_area_m2: float = field(init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.cell_m) and self.cell_m > 0):
            raise ValueError(f"'cell_m' must be a finite number > 0, got {self.cell_m!r}")
        mask = np.array(self.walkable, dtype=bool)
        if mask.ndim != 2 or min(mask.shape) < 1:
            raise ValueError(f"'walkable' must be a non-empty 2-D mask, got shape {mask.shape}")
        mask.setflags(write=False)
        object.__setattr__(self, "walkable", mask)
        object.__setattr__(self, "cell_area_m2", float(self.cell_m) ** 2)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``: rows (south to north) and columns (west to east)."""
        return self.walkable.shape  # type: ignore[return-value]


def walkable_polygon(
    roads_m: Iterable[BaseGeometry],
    buildings_m: Iterable[BaseGeometry],
    park_points_m: Iterable[BaseGeometry],
    *,
    road_buffer_m: float = ROAD_BUFFER_M,
    park_buffer_m: float = PARK_BUFFER_M,
) -> BaseGeometry:
    """The walkable area by the module's rule, in projected metres.

    Parameters
    ----------
    roads_m
        Road centrelines (LineStrings) in metres.
    buildings_m
        Building footprints (Polygons) in metres; removed from the area.
    park_points_m
        Venue and gate points in metres; their convex hull, buffered, is the park.
    road_buffer_m
        Walkable half-width either side of a road centreline, ``>= 0``.
    park_buffer_m
        Margin around the hull of the park points, ``>= 0``.

    Returns
    -------
    shapely geometry
        (Multi)Polygon of the walkable area; empty when there are no roads and no points.
    """
    for name, value in (("road_buffer_m", road_buffer_m), ("park_buffer_m", park_buffer_m)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"'{name}' must be a finite number >= 0, got {value!r}")
    roads = np.asarray(list(roads_m), dtype=object)
    points = np.asarray(list(park_points_m), dtype=object)
    buildings = np.asarray(list(buildings_m), dtype=object)
    parts = []
    if len(roads):
        parts.append(shapely.union_all(shapely.buffer(roads, road_buffer_m)))
    if len(points):
        hull = shapely.convex_hull(shapely.union_all(points))
        parts.append(shapely.buffer(hull, park_buffer_m))
    area = shapely.union_all(parts) if parts else shapely.Polygon()
    if len(buildings):
        area = shapely.difference(area, shapely.union_all(shapely.make_valid(buildings)))
    return area


def scenario_walkable_polygon(
    links: object,
    buildings: object | None,
    facilities: object,
    *,
    crs_m: str = "EPSG:32652",
    road_buffer_m: float = ROAD_BUFFER_M,
    park_buffer_m: float = PARK_BUFFER_M,
) -> BaseGeometry:
    """:func:`walkable_polygon` from a scenario's GeoDataFrames (any CRS), in ``crs_m``.

    Parameters
    ----------
    links
        GeoDataFrame of road links (LineStrings).
    buildings
        GeoDataFrame of building footprints, or None.
    facilities
        GeoDataFrame with a ``kind`` column; points of kind ``venue`` and ``gate`` make the park.
    crs_m
        Projected CRS in metres (the scenario's ``crs_m``).
    road_buffer_m, park_buffer_m
        As in :func:`walkable_polygon`.
    """
    import geopandas as gpd

    for name, frame in (("links", links), ("facilities", facilities)):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise TypeError(f"'{name}' should be GeoDataFrame, got {type(frame).__name__}")
    if "kind" not in facilities.columns:  # type: ignore[attr-defined]
        raise ValueError("'facilities' must have a 'kind' column")
    park = facilities[facilities["kind"].isin(["venue", "gate"])]  # type: ignore[index]
    footprints = [] if buildings is None else buildings.to_crs(crs_m).geometry  # type: ignore[attr-defined]
    return walkable_polygon(
        links.to_crs(crs_m).geometry,  # type: ignore[attr-defined]
        footprints,
        park.to_crs(crs_m).geometry,
        road_buffer_m=road_buffer_m,
        park_buffer_m=park_buffer_m,
    )


def build_grid(
    walkable_polygon_m: BaseGeometry,
    *,
    cell_m: float = DEFAULT_CELL_M,
    bounds_m: tuple[float, float, float, float] | None = None,
) -> CrowdGrid:
    """Rasterise the walkable area: a cell is walkable when its centre lies in the polygon.

    Parameters
    ----------
    walkable_polygon_m
        Walkable area in projected metres.
    cell_m
        Cell side in metres, ``> 0``.
    bounds_m
        ``(min_x, min_y, max_x, max_y)`` to cover; default the polygon's bounds. The grid
        starts at ``(min_x, min_y)`` and has enough cells to reach ``max_x`` and ``max_y``.

    Returns
    -------
    CrowdGrid
    """
    if not (np.isfinite(cell_m) and cell_m > 0):
        raise ValueError(f"'cell_m' must be a finite number > 0, got {cell_m!r}")
    if bounds_m is None:
        if walkable_polygon_m.is_empty:
            raise ValueError("'walkable_polygon_m' is empty and no 'bounds_m' was given")
        bounds_m = walkable_polygon_m.bounds
    min_x, min_y, max_x, max_y = (float(b) for b in bounds_m)
    if not (max_x > min_x and max_y > min_y):
        raise ValueError(
            f"'bounds_m' must be (min_x, min_y, max_x, max_y) with max > min, got {bounds_m}"
        )
    n_cols = max(1, int(np.ceil((max_x - min_x) / cell_m)))
    n_rows = max(1, int(np.ceil((max_y - min_y) / cell_m)))
    if n_rows * n_cols > 25_000_000:
        raise ValueError(f"grid of {n_rows} x {n_cols} cells is too large; raise 'cell_m'")
    centre_x = min_x + (np.arange(n_cols) + 0.5) * cell_m
    centre_y = min_y + (np.arange(n_rows) + 0.5) * cell_m
    xx, yy = np.meshgrid(centre_x, centre_y)
    shapely.prepare(walkable_polygon_m)
    mask = shapely.contains_xy(walkable_polygon_m, xx, yy)
    return CrowdGrid(origin_x_m=min_x, origin_y_m=min_y, cell_m=float(cell_m), walkable=mask)


def cell_centre_m(
    grid: CrowdGrid, row: npt.ArrayLike, col: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Projected ``(x_m, y_m)`` of cell centres."""
    x_m = grid.origin_x_m + (np.asarray(col, dtype=float) + 0.5) * grid.cell_m
    y_m = grid.origin_y_m + (np.asarray(row, dtype=float) + 0.5) * grid.cell_m
    return x_m, y_m


def cell_of(grid: CrowdGrid, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """``(row, col)`` of the cells holding points; raises if a point is outside the grid."""
    col = np.floor((np.asarray(x_m, dtype=float) - grid.origin_x_m) / grid.cell_m).astype(np.int64)
    row = np.floor((np.asarray(y_m, dtype=float) - grid.origin_y_m) / grid.cell_m).astype(np.int64)
    height, width = grid.shape
    outside = (row < 0) | (row >= height) | (col < 0) | (col >= width)
    if np.any(outside):
        raise ValueError(f"{int(np.sum(outside))} point(s) lie outside the grid bounds")
    return row, col


def nearest_walkable_cell(
    grid: CrowdGrid, x_m: npt.ArrayLike, y_m: npt.ArrayLike
) -> tuple[IntArray, IntArray]:
    """``(row, col)`` of the walkable cell nearest to each point (points may be off the grid).

    Used to attach station exits, car parks and checkpoints that the extract draws inside a
    building or just outside the walkable area.
    """
    if not grid.walkable.any():
        raise ValueError("the grid has no walkable cell")
    height, width = grid.shape
    col = np.floor((np.asarray(x_m, dtype=float) - grid.origin_x_m) / grid.cell_m).astype(np.int64)
    row = np.floor((np.asarray(y_m, dtype=float) - grid.origin_y_m) / grid.cell_m).astype(np.int64)
    row, col = np.clip(row, 0, height - 1), np.clip(col, 0, width - 1)
    _, (near_row, near_col) = ndi.distance_transform_edt(~grid.walkable, return_indices=True)
    return near_row[row, col].astype(np.int64), near_col[row, col].astype(np.int64)


def move_masks(grid: CrowdGrid) -> BoolArray:
    """``(8, H, W)``: whether a walker may step from each cell in each of :data:`DIRECTIONS`."""
    walk = np.pad(grid.walkable, 1, constant_values=False)
    height, width = grid.shape

    def shifted(d_row: int, d_col: int) -> BoolArray:
        return walk[1 + d_row : 1 + d_row + height, 1 + d_col : 1 + d_col + width]

    masks = np.empty((len(DIRECTIONS), height, width), dtype=bool)
    for k, (d_row, d_col) in enumerate(DIRECTIONS):
        allowed = grid.walkable & shifted(d_row, d_col)
        if d_row and d_col:
            allowed &= shifted(d_row, 0) & shifted(0, d_col)
        masks[k] = allowed
    return masks


def walk_graph(grid: CrowdGrid) -> sp.csr_matrix:
    """Sparse ``(H*W, H*W)`` graph of allowed moves weighted by their length in metres.

    Node ``row * W + col`` is cell ``(row, col)``.
    """
    height, width = grid.shape
    masks = move_masks(grid)
    index = np.arange(height * width).reshape(height, width)
    tails, heads, weights = [], [], []
    for k, (d_row, d_col) in enumerate(DIRECTIONS):
        rows, cols = np.nonzero(masks[k])
        tails.append(index[rows, cols])
        heads.append(index[rows + d_row, cols + d_col])
        weights.append(np.full(len(rows), STEP_UNITS[k] * grid.cell_m))
    return sp.csr_matrix(
        (np.concatenate(weights), (np.concatenate(tails), np.concatenate(heads))),
        shape=(height * width, height * width),
    )


def target_mask(grid: CrowdGrid, target_cells: npt.ArrayLike) -> BoolArray:
    """Boolean ``(H, W)`` mask from a mask or a ``(K, 2)`` array of ``(row, col)``; checked."""
    cells = np.asarray(target_cells)
    if cells.dtype == bool:
        if cells.shape != grid.shape:
            raise ValueError(f"'target_cells' mask must have shape {grid.shape}, got {cells.shape}")
        mask = cells.copy()
    else:
        cells = cells.reshape(-1, 2) if cells.size else np.empty((0, 2), dtype=np.int64)
        if not np.issubdtype(cells.dtype, np.integer):
            raise ValueError("'target_cells' must be a bool mask or integer (row, col) pairs")
        height, width = grid.shape
        rows, cols = cells[:, 0], cells[:, 1]
        if np.any((rows < 0) | (rows >= height) | (cols < 0) | (cols >= width)):
            raise ValueError(f"'target_cells' has cells outside the {height} x {width} grid")
        mask = np.zeros(grid.shape, dtype=bool)
        mask[rows, cols] = True
    if not mask.any():
        raise ValueError("'target_cells' must name at least one cell")
    if np.any(mask & ~grid.walkable):
        raise ValueError("'target_cells' must be walkable cells")
    return mask


def distance_field(
    grid: CrowdGrid,
    target_cells: npt.ArrayLike,
    *,
    graph: sp.csr_matrix | None = None,
) -> FloatArray:
    """Shortest walking distance (m) from every cell to the nearest target cell.

    Dijkstra (``scipy.sparse.csgraph``) on the 8-neighbour graph of :func:`walk_graph`:
    orthogonal steps cost ``cell_m``, diagonal steps ``cell_m * sqrt 2``.

    Parameters
    ----------
    grid
        The grid.
    target_cells
        ``(H, W)`` bool mask or ``(K, 2)`` integer ``(row, col)`` pairs of walkable cells.
    graph
        A precomputed :func:`walk_graph` of ``grid`` to reuse across calls.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` distances in metres; ``inf`` for cells that cannot reach a target
        (including all non-walkable cells).
    """
    mask = target_mask(grid, target_cells)
    if graph is None:
        graph = walk_graph(grid)
    sources = np.flatnonzero(mask)
    dist = csgraph.dijkstra(graph, directed=True, indices=sources, min_only=True)
    return dist.reshape(grid.shape)
