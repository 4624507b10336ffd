"""The signal panel's queries (issue 14.2): plain data only, each phase's approaches in words
(direction from the road's bearing into the junction, street name), live rows whose LOS is the
one function of :mod:`twin.models.metrics`, and a what-if as plain data."""

import json
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from twin.actions import SetSignalPlan
from twin.engine import Engine
from twin.errors import ActionError
from twin.io.synthetic import grid_scenario, od_demand
from twin.models.metrics import combined_delay_s_per_veh, level_of_service
from twin.service.queries import (
    QUERIES,
    approach_bearing_deg,
    junction_detail,
    serves,
    signal_what_if,
)

CENTRE = 4  # node (row 1, col 1) of the 3 x 3 grid: four legs, signalised


@pytest.fixture(scope="module")
def engine():
    """3 x 3 grid, 150 m blocks; east-west streets named Olympic-ro, north-south Jamsil-ro
    (grid_scenario: phase 0 serves east-west arrivals, phase 1 north-south)."""
    scenario = grid_scenario(3, 3, block_m=150.0, dt_s=2.0, zones_at="boundary")
    links, nodes = scenario.links, scenario.nodes
    y = nodes["y_m"].to_numpy()
    east_west = y[links["from_node"]] == y[links["to_node"]]
    links["street"] = np.where(east_west, "Olympic-ro", "Jamsil-ro")
    n = len(scenario.zones)
    trips = [(o, d, 300.0, 0.0, 3600.0) for o in range(n) for d in range(n) if o != d]
    twin = Engine(scenario, demand=od_demand(n, trips))
    twin.run(900.0)
    return twin


def test_each_phase_lists_its_approaches_by_direction_and_street(engine):
    detail = junction_detail(engine, CENTRE)
    assert [p["serves"] for p in detail["phases"]] == [
        "eastbound and westbound Olympic-ro",
        "northbound and southbound Jamsil-ro",
    ]
    assert [(p["phase"], p["green_s"]) for p in detail["phases"]] == [(1, 27.0), (2, 27.0)]
    # the approach from node 1 (y = 0) travels +y into node 4 (y = 150): northbound
    by_origin = {
        int(engine.scenario.links["from_node"][r["link_id"]]): r["direction"]
        for r in detail["approaches"]
    }
    assert by_origin == {1: "northbound", 7: "southbound", 3: "eastbound", 5: "westbound"}


def test_live_rows_are_plain_and_their_los_is_the_one_function(engine):
    detail = junction_detail(engine, CENTRE)
    json.dumps(detail)  # plain data only
    rows = detail["approaches"]
    assert {r["name"] for r in rows} == {"Olympic-ro", "Jamsil-ro"}
    for row in rows:
        expected = level_of_service(row["delay_s_per_veh"], v_over_c=row["v_over_c"])
        assert row["los"] == "ABCDEF"[int(expected)]
    flows = np.array([r["flow_vph"] for r in rows]) / 3600.0
    delays = np.array([r["delay_s_per_veh"] for r in rows])
    assert flows.min() > 1 / 300  # busy: every approach above the floor, a plain weighted mean
    by_hand = float((delays * flows).sum() / flows.sum())
    assert detail["junction"]["delay_s_per_veh"] == pytest.approx(by_hand, rel=1e-9)
    assert detail["junction"]["los"] == "ABCDEF"[int(level_of_service(by_hand))]
    assert combined_delay_s_per_veh(delays, flows) == pytest.approx(by_hand)
    # the map's junction card reads the engine's view: the same figure
    view = engine.view()
    assert view.junctions["delay_s_per_veh"][CENTRE] == pytest.approx(by_hand, rel=1e-9)
    assert "ABCDEF"[int(view.junctions["los"][CENTRE])] == detail["junction"]["los"]
    assert detail["phase_now"] in (-1, 0, 1)


def test_serves_groups_directions_by_street_in_compass_order():
    rows = [
        {"direction": "southbound", "name": "Olympic-ro"},
        {"direction": "westbound", "name": "Jamsil-ro"},
        {"direction": "northbound", "name": "Olympic-ro"},
        {"direction": "northbound", "name": "Olympic-ro"},
    ]
    assert serves(rows) == "northbound and southbound Olympic-ro, westbound Jamsil-ro"
    assert serves([{"direction": "eastbound", "name": ""}]) == "eastbound"


def test_bearing_into_the_junction_from_geometry_uses_the_last_metres():
    # lon/lat lines near Seoul: due north, due east, due south, due west, and one that runs
    # 200 m north then turns east for its last 100 m (enters its junction eastbound)
    lon, lat = 127.12, 37.52
    dlat = 100.0 / 111_195.0
    dlon = dlat / np.cos(np.radians(lat))
    lines = [
        LineString([(lon, lat), (lon, lat + dlat)]),
        LineString([(lon, lat), (lon + dlon, lat)]),
        LineString([(lon, lat), (lon, lat - dlat)]),
        LineString([(lon, lat), (lon - dlon, lat)]),
        LineString([(lon, lat), (lon, lat + 2 * dlat), (lon + dlon, lat + 2 * dlat)]),
    ]
    scenario = SimpleNamespace(links=gpd.GeoDataFrame(geometry=lines, crs="EPSG:4326"))
    bearing = approach_bearing_deg(scenario, np.arange(5))
    np.testing.assert_allclose(bearing, [0.0, 90.0, 180.0, 270.0, 90.0], atol=0.5)


def test_unknown_junction_is_refused_with_its_code(engine):
    with pytest.raises(ActionError, match="^Junction 99 has no traffic signal") as refused:
        junction_detail(engine, 99)
    assert refused.value.code == "unknown_junction"
    assert QUERIES["junction_detail"] is junction_detail


def test_signal_what_if_returns_plain_data_and_leaves_the_engine_alone(engine):
    before = engine.state.plans.plan_of(CENTRE)
    time_s = engine.time_s
    candidate = SetSignalPlan(CENTRE, 60.0, (40.0, 14.0), 0.0)
    predicted = signal_what_if(engine.fork(), candidate)
    json.dumps(predicted)
    assert len(predicted["delta_delay_veh"]) == engine.net.n_real_links
    last = predicted["marks"][max(predicted["marks"])]["totals"]
    assert predicted["added_delay_vehh"] == pytest.approx(
        last["candidate"]["delay_vehh"] - last["current"]["delay_vehh"]
    )
    assert engine.state.plans.plan_of(CENTRE) == before and engine.time_s == time_s
    with pytest.raises(ActionError) as refused:
        signal_what_if(engine.fork(), SetSignalPlan(CENTRE, 60.0, (51.0, 3.0), 0.0))
    assert refused.value.code == "out_of_range"
    assert str(refused.value).startswith("Green for phase 2 must be at least")
