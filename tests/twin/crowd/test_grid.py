"""Walkable area, grid and walking distances on tiny hand-checked geometries."""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from twin.crowd import grid as wk

SQRT2 = math.sqrt(2.0)


def grid_of(mask, cell_m=10.0):
    return wk.CrowdGrid(
        origin_x_m=0.0, origin_y_m=0.0, cell_m=cell_m, walkable=np.array(mask, dtype=bool)
    )


def test_distance_field_open_grid_is_octile_distance():
    grid = grid_of(np.ones((3, 4)))
    dist = wk.distance_field(grid, np.array([[0, 0]]))
    # octile: 10 per straight step, 10 sqrt 2 per diagonal step
    expected = np.array(
        [
            [0, 10, 20, 30],
            [10, 10 * SQRT2, 10 + 10 * SQRT2, 20 + 10 * SQRT2],
            [20, 10 + 10 * SQRT2, 20 * SQRT2, 10 + 20 * SQRT2],
        ]
    )
    np.testing.assert_allclose(dist, expected)


def test_distance_field_walks_around_walls_without_cutting_corners():
    # row 0 is south; W is a wall:  row 2:  .  .  .
    #                               row 1:  .  .  .
    #                               row 0:  T  W  .
    grid = grid_of([[1, 0, 1], [1, 1, 1], [1, 1, 1]])
    dist = wk.distance_field(grid, np.array([[0, 0]]))
    d, diag = 10.0, 10.0 * SQRT2
    expected = np.array(
        [
            [0, np.inf, 4 * d],  # (0,2): the diagonal from (1,1) would cut the wall's corner
            [d, 2 * d, 3 * d],  # (1,1): the diagonal from (0,0) would cut it too
            [2 * d, d + diag, 2 * d + diag],
        ]
    )
    np.testing.assert_allclose(dist, expected)


def test_distance_field_unreachable_and_several_targets():
    grid = grid_of([[1, 1, 0, 1, 1]])
    dist = wk.distance_field(grid, np.array([[0, 0]]))
    np.testing.assert_array_equal(dist, [[0, 10, np.inf, np.inf, np.inf]])
    targets = np.zeros((1, 5), dtype=bool)
    targets[0, [0, 4]] = True
    np.testing.assert_array_equal(wk.distance_field(grid, targets), [[0, 10, np.inf, 10, 0]])


@pytest.mark.parametrize(
    "targets, message",
    [
        (np.array([[0, 9]]), "'target_cells' has cells outside the 1 x 5 grid"),
        (np.array([[0, 2]]), "'target_cells' must be walkable cells"),
        (np.zeros((1, 5), dtype=bool), "'target_cells' must name at least one cell"),
        (np.zeros((2, 2), dtype=bool), r"'target_cells' mask must have shape \(1, 5\)"),
    ],
)
def test_distance_field_checks_targets(targets, message):
    with pytest.raises(ValueError, match=message):
        wk.distance_field(grid_of([[1, 1, 0, 1, 1]]), targets)


def test_move_masks_forbid_corner_cutting():
    grid = grid_of([[1, 0], [1, 1]])
    masks = wk.move_masks(grid)
    north_east = wk.DIRECTIONS.index((1, 1))
    north = wk.DIRECTIONS.index((1, 0))
    assert not masks[north_east, 0, 0]  # (0,0) -> (1,1) passes the wall corner (0,1)
    assert masks[north, 0, 0]
    assert not masks[:, 0, 1].any()  # a wall cell has no moves


def test_build_grid_uses_cell_centres():
    # square 0..30 x 0..20, minus a hole covering the centre of cell (row 1, col 1) only
    area = box(0, 0, 30, 20).difference(box(12, 12, 18, 18))
    grid = wk.build_grid(area, cell_m=10.0)
    assert grid.shape == (2, 3)
    assert grid.cell_area_m2 == 100.0
    np.testing.assert_array_equal(grid.walkable, [[1, 1, 1], [1, 0, 1]])
    with pytest.raises(ValueError):
        grid.walkable[0, 0] = False  # read-only


def test_build_grid_bounds_and_checks():
    grid = wk.build_grid(box(0, 0, 10, 10), cell_m=5.0, bounds_m=(-10, -10, 20, 20))
    assert grid.shape == (6, 6)
    assert grid.walkable.sum() == 4
    with pytest.raises(ValueError, match="'cell_m' must be a finite number > 0"):
        wk.build_grid(box(0, 0, 10, 10), cell_m=0.0)
    with pytest.raises(ValueError, match="'walkable_polygon_m' is empty"):
        wk.build_grid(shapely.Polygon(), cell_m=5.0)


def test_cell_lookup_round_trip():
    grid = wk.CrowdGrid(
        origin_x_m=100.0, origin_y_m=200.0, cell_m=10.0, walkable=np.ones((3, 4), bool)
    )
    x_m, y_m = wk.cell_centre_m(grid, [0, 2], [0, 3])
    np.testing.assert_allclose(x_m, [105, 135])
    np.testing.assert_allclose(y_m, [205, 225])
    rows, cols = wk.cell_of(grid, x_m, y_m)
    assert list(rows) == [0, 2] and list(cols) == [0, 3]
    with pytest.raises(ValueError, match="1 point\\(s\\) lie outside the grid bounds"):
        wk.cell_of(grid, [99.0], [205.0])


def test_nearest_walkable_cell():
    grid = grid_of([[0, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0]])
    rows, cols = wk.nearest_walkable_cell(grid, [5.0, 15.0, -500.0], [5.0, 5.0, 25.0])
    # from (0,0): (2,0) is 2 cells away, (0,3) 3; from (0,1): (0,3) is 2, (2,0) sqrt 5;
    # an off-grid point is first clipped to the edge cell (2,0), which is walkable
    assert [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)] == [(2, 0), (0, 3), (2, 0)]


def test_walkable_polygon_rule():
    road = LineString([(0, 0), (100, 0)])
    building = box(40, 2, 50, 8)  # inside the road buffer: removed
    area = wk.walkable_polygon([road], [building], [], road_buffer_m=10.0)
    # a 100 m segment buffered by 10 m: 100 x 20 + pi 10^2, less the 60 m2 building
    assert area.area == pytest.approx(100 * 20 + math.pi * 100 - 60, rel=2e-3)
    assert not area.contains(Point(45, 5))
    park = wk.walkable_polygon(
        [], [], [Point(0, 0), Point(100, 0), Point(50, 80)], park_buffer_m=150.0
    )
    # a triangle buffered by r: area + perimeter r + pi r^2 (Steiner); shapely draws round
    # corners with 8 segments a quarter circle, 0.64 % short of pi r^2, hence rel=5e-3
    triangle = shapely.Polygon([(0, 0), (100, 0), (50, 80)])
    expected = triangle.area + triangle.length * 150 + math.pi * 150**2
    assert park.area == pytest.approx(expected, rel=5e-3)
    assert park.area < expected
    assert wk.walkable_polygon([], [], []).is_empty


def test_scenario_walkable_polygon_projects_frames():
    gpd = pytest.importorskip("geopandas")
    x0, y0 = 330_000.0, 4_152_000.0
    links = gpd.GeoDataFrame(geometry=[LineString([(x0, y0), (x0 + 200, y0)])], crs="EPSG:32652")
    facilities = gpd.GeoDataFrame(
        {"kind": ["venue", "gate", "hospital"]},
        geometry=[Point(x0, y0 + 500), Point(x0 + 100, y0 + 500), Point(x0 + 5000, y0)],
        crs="EPSG:32652",
    ).to_crs("EPSG:4326")
    area = wk.scenario_walkable_polygon(links.to_crs("EPSG:4326"), None, facilities)
    assert area.contains(Point(x0 + 100, y0 + 5))  # on the road
    assert area.contains(Point(x0 + 50, y0 + 640))  # in the park, 140 m from the hull
    assert not area.contains(Point(x0 + 5000, y0))  # a hospital is not part of the park
