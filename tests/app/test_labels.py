"""Venue names on the map: placed apart at the opening zoom (layouts/labels.py)."""

import itertools

import pytest
import shapely

from layouts import labels
from layouts.deck import build_scene
from twin.scenario import load


def test_mercator_pixels_match_the_web_mercator_definition():
    assert labels.mercator_px(0.0, 0.0, 0) == pytest.approx((256.0, 256.0))
    assert labels.mercator_px(180.0, 0.0, 1)[0] == pytest.approx(1024.0)
    # 85.0511° is the latitude Web Mercator maps to the top edge of the world square
    assert labels.mercator_px(0.0, 85.0511287798, 3)[1] == pytest.approx(0.0, abs=1e-6)


def test_crowded_names_are_moved_apart():
    # three names on one spot: the first stays below, the next go above, then to the right
    offsets = labels.label_offsets(
        [(127.1, 37.5)] * 3, ["Alpha Arena", "Beta Hall", "Gamma"], 15, priority=[3, 2, 1]
    )
    assert offsets[0] == [0.0, labels.GAP_PX]
    assert offsets[1] == [0.0, -labels.GAP_PX - labels.LINE_PX]
    assert offsets[2][0] > 0 and offsets[2][1] == -labels.LINE_PX / 2


def test_bundled_venue_names_do_not_overlap_at_the_opening_zoom():
    scene = build_scene(load("data/seoul_olympic_park"))
    zoom = scene.view["zoom"]
    boxes = []
    for venue in scene.venues:
        x, y = labels.mercator_px(*venue["position"], zoom)
        boxes.append(shapely.box(*labels.label_box(x, y, venue["n"], venue["lo"])))
    for a, b in itertools.combinations(range(len(boxes)), 2):
        assert not boxes[a].intersects(boxes[b]), (scene.venues[a]["n"], scene.venues[b]["n"])
