"""Layout builders and the refresh encoding (no browser)."""

import base64
import math
from types import SimpleNamespace

import numpy as np
import pytest

from layouts.alerts import alert_feed, feed_digest
from layouts.deck import band, build_scene, deck_spec, encode_update, fit_view, layer_values
from layouts.kpis import KPIS, format_value, level_of, sparkline_svg, trend
from tests.app.geo_scenario import geo_grid_scenario
from twin.clock_text import hhmm


def test_band_levels():
    assert band([0.5, 0.85, 0.96, 1.2, math.nan], (0.85, 0.95, 1.0)).tolist() == [0, 1, 2, 3, 0]


def test_fit_view_centres_the_box():
    view = fit_view(127.0, 37.5, 127.1, 37.55)
    assert (view["longitude"], view["latitude"]) == pytest.approx((127.05, 37.525))
    assert 12 < view["zoom"] < 15


def test_encode_update_sends_only_changed_layers():
    values = {
        "congestion": {"los": np.array([0, 5], np.uint8)},
        "signals": {"phase": np.array([1], np.uint8)},
    }
    first, digests = encode_update(values, {"checkpoints": []}, {})
    assert set(first["values"]) == {"congestion", "signals"} and first["rows"] == {
        "checkpoints": []
    }
    assert base64.b64decode(first["values"]["congestion"]["los"]) == bytes([0, 5])
    values["signals"]["phase"] = np.array([2], np.uint8)
    second, _ = encode_update(values, {"checkpoints": []}, digests)
    assert set(second["values"]) == {"signals"} and second["rows"] == {}


def test_encode_update_skips_hidden_layers_and_resends_when_shown():
    values = {"congestion": {"los": np.array([3], np.uint8)}}
    hidden, digests = encode_update(values, {}, {}, visible={"base"})
    assert hidden["values"] == {} and "congestion" not in digests
    shown, _ = encode_update(values, {}, digests, visible={"congestion"})
    assert set(shown["values"]) == {"congestion"}


def test_u16_values_are_little_endian():
    message, _ = encode_update({"congestion": {"f": np.array([258], np.uint16)}}, {}, {})
    assert base64.b64decode(message["values"]["congestion"]["f"]) == bytes([2, 1])


@pytest.fixture(scope="module")
def scene():
    return build_scene(geo_grid_scenario(3, 3))


def test_spec_sends_geometry_once_by_reference(scene):
    spec = deck_spec(scene)
    layers = {layer["id"]: layer for layer in spec["deck"]["layers"]}
    assert layers["roads"]["data"] == "@@#VT.links"
    assert len(spec["data"]["links"]) == len(scene.links)
    # congestion draws a subset of the same rows, derived in the browser: no geometry of its own
    assert layers["congestion"]["data"] == "@@#VT.congestion" and spec["data"]["congestion"] == []
    assert spec["subsets"]["congestion"]["source"] == "links"
    assert "mapProvider" not in spec["deck"] or spec["deck"]["mapProvider"] is None
    assert all(not str(v).startswith("http") for v in spec["deck"].values())


def test_layer_values_read_optional_keys(scene):
    n = len(scene.links)

    view = SimpleNamespace(
        time_s=0.0,
        extras={},
        junctions={"phase": np.zeros(9, dtype=np.int8)},
        links={
            "los": np.full(n, 5),
            "speed_kph": np.full(n, 12.4),
            "flow_vph": np.full(n, 900.0),
            "queue_m": np.full(n, 40.0),
        },
    )
    values = layer_values(scene, SimpleNamespace(view=view, forecasts={}))
    assert set(values) == {"congestion", "signals", "corridors"}  # no pedestrians: no crowd layers
    assert values["congestion"]["los"].tolist() == [5] * n and values["congestion"]["s"][0] == 12
    assert values["corridors"]["k"].sum() == 0

    view.extras = {
        "pedestrians": {"venues": {"venue_id": ["venue_test_arena"], "inside_persons": [10_800.0]}},
        "ambulances": [
            {
                "state": "en route",
                "route": [1, 2],
                "lon": 127.1,
                "lat": 37.5,
                "corridor_id": "A1",
                "hospital_id": "h",
                "eta_s": 3600.0,
            }
        ],
    }
    values = layer_values(scene, SimpleNamespace(view=view, forecasts={}))
    assert values["venues"]["band"].tolist() == [1] and values["venues"]["pct"].tolist() == [90]
    assert values["corridors"]["k"].nonzero()[0].tolist() == [1, 2]


def test_kpi_helpers():
    assert format_value(math.nan) == "—" and format_value(12345.6) == "12,346"
    speed = next(k for k in KPIS if k.name == "mean_speed_kph")
    assert [level_of(v, speed) for v in (40, 20, 15, 5)] == [0, 1, 2, 3]
    t = np.arange(0, 1200, 60.0)
    assert trend(t, t) == "up" and trend(t, -t) == "down" and trend(t, np.ones_like(t)) == "flat"
    assert "<polyline" in sparkline_svg(t, t) and "<polyline" not in sparkline_svg(t[:1], t[:1])


def test_alert_feed_and_digest():
    alert = {
        "id": 3,
        "kind": "congestion",
        "level": 2,
        "severity": "warning",
        "place": "Olympic-ro",
        "message": "Congested",
        "raised_s": 64800.0,
        "eta_s": 900.0,
        "acked": False,
        "count": 1,
    }
    assert hhmm(64800.0) == "18:00" and hhmm(math.nan) == "--:--"
    item = alert_feed([alert])[0]
    assert "sev-warning" in item.className
    assert feed_digest([alert]) != feed_digest([{**alert, "acked": True}])
    assert feed_digest([alert]) == feed_digest([{**alert, "message": "Congested, queue 300 m"}])


def _cp_row(i, name, kind, **values):
    row = {
        "checkpoint_id": i,
        "name": name,
        "kind": kind,
        "lanes_face": 1,
        "lanes_manual": 2,
        "arrivals_5min": 10.0,
        "throughput_5min": 10.0,
        "queue_persons": 0.0,
        "wait_now_s": 0.0,
        "wait_15_s": 60.0,
        "wait_30_s": 120.0,
        "recommended_face": 1,
        "recommended_manual": 0,
        "status": "ok",
    }
    return {**row, **values}


def test_checkpoint_table_has_a_section_for_the_park_gates():
    from layouts.checkpoint_panel import checkpoint_options, checkpoint_table

    rows = [
        _cp_row(0, "KSPO Dome entrance", "venue_entrance"),
        _cp_row(
            1,
            "Olympic Park North Gate 2 checkpoint",
            "park_gate",
            lanes_face=0,
            lanes_manual=0,
            queue_persons=1400.0,
            wait_now_s=math.inf,
            status="over",
        ),
    ]
    table = checkpoint_table(rows, target_wait_s=600.0)
    trs = table.children[1:]
    assert [tr.className.split()[0] for tr in trs] == ["cp-group", "cp-row", "cp-group", "cp-row"]
    assert (
        "Venue entrances" in trs[0].children.children and "Park gates" in trs[2].children.children
    )
    gate = trs[3]
    assert gate.children[0].children == "North Gate 2" and gate.children[0].title == rows[1]["name"]
    assert (
        gate.children[1].children == "0/0" and gate.children[5].children == "∞"
    )  # queue, no lane open
    assert [o["value"] for o in checkpoint_options(rows)] == [0, 1]


def test_a_shut_entrance_shows_when_its_doors_open():
    from layouts.checkpoint_panel import checkpoint_table

    rows = [
        _cp_row(
            0,
            "KSPO Dome entrance",
            "venue_entrance",
            status="doors",
            doors_open_at_s=64800.0,
            queue_persons=900.0,
            wait_now_s=1200.0,
        ),
        _cp_row(1, "Olympic Hall entrance", "venue_entrance", doors_open_at_s=None),
    ]
    shut, open_ = checkpoint_table(rows, target_wait_s=600.0).children[2:4]
    assert "status-doors" in shut.className and shut.children[-1].children.children == "doors 18:00"
    assert open_.children[-1].children.children == "ok"


def test_checkpoint_table_explains_its_abbreviations():
    from layouts.checkpoint_panel import COLUMNS, checkpoint_table

    table = checkpoint_table([], target_wait_s=600.0)
    head = (
        table.children[0].children if hasattr(table.children[0], "children") else table.children[0]
    )
    cells = head.children if hasattr(head, "children") else head
    titles = {cell.children: getattr(cell, "title", None) for cell in cells}
    for abbreviation in ("Lanes F/M", "Arr /5m", "Thru /5m", "+15", "+30", "Rec F/M"):
        assert abbreviation in COLUMNS and titles[abbreviation], abbreviation
    assert "face-recognition" in titles["Lanes F/M"] and "recommended" in titles["Rec F/M"]
