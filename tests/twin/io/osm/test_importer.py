"""The OSM importer on tiny hand-made extracts whose answers are worked out on paper."""

import json
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from twin.errors import ScenarioError
from twin.io.osm.importer import IMPORTER_FILES, import_osm

EARTH_RADIUS_M = 6_371_009.0
LAT0, LON0 = 37.5, 127.0
NODE_COLUMNS = [
    "node_id",
    "osm_id",
    "x_m",
    "y_m",
    "signalised",
    "signal_source",
    "name",
    "name_local",
    "is_gateway",
]
LINK_COLUMNS = [
    "link_id",
    "from_node",
    "to_node",
    "osm_way_ids",
    "name",
    "street",
    "name_local",
    "highway",
    "lanes",
    "length_m",
    "free_speed_kph",
    "capacity_vphpl",
    "jam_density_vpkm",
    "reverse_link_id",
]

# A crossing of two primary roads at C (osm 1). A-ro runs N (2) - C - S (3), 0.002 deg of
# latitude each way (222.4 m), lanes=4 -> 2 per direction. B-ro runs W (5) - C - E (4),
# 0.0025 deg of longitude each way (220.5 m at 37.5 N), no lanes tag -> primary default 3.
CROSSING_NODES = {
    1: (LAT0, LON0, {}),
    2: (LAT0 + 0.002, LON0, {}),
    3: (LAT0 - 0.002, LON0, {}),
    4: (LAT0, LON0 + 0.0025, {}),
    5: (LAT0, LON0 - 0.0025, {}),
}
CROSSING_WAYS = {
    10: ([2, 1, 3], {"highway": "primary", "name": "A-ro", "lanes": "4"}),
    11: ([5, 1, 4], {"highway": "primary", "name": "B-ro"}),
}


def haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def osm_xml(nodes, ways, relations=""):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="hand">']
    for osm_id, (lat, lon, tags) in nodes.items():
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        parts.append(f'<node id="{osm_id}" lat="{lat}" lon="{lon}">{inner}</node>')
    for osm_id, (refs, tags) in ways.items():
        inner = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(
            f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()
        )
        parts.append(f'<way id="{osm_id}">{inner}</way>')
    parts += [relations, "</osm>"]
    return "\n".join(parts)


def facilities_geojson(features):
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"id": fid, "kind": kind, "name_en": fid.title()},
                }
                for fid, kind, lat, lon in features
            ],
        }
    )


# a venue 0.0005 deg north of C (55.5 m), a car park on C, a hospital 2 km east
FACILITIES = [
    ("venue_dome", "venue", LAT0 + 0.0005, LON0),
    ("parking_lot", "parking", LAT0, LON0),
    ("hospital_far", "hospital", LAT0, LON0 + 0.0225),
]


@pytest.fixture
def write(tmp_path):
    def _write(name, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def facilities(write):
    return write("facilities.geojson", facilities_geojson(FACILITIES))


def import_crossing(folder):
    osm, facts = folder / "crossing.osm", folder / "facilities.geojson"
    osm.write_text(osm_xml(CROSSING_NODES, CROSSING_WAYS))
    facts.write_text(facilities_geojson(FACILITIES))
    out = folder / "scenario"
    return out, import_osm(osm, facts, out)


@pytest.fixture(scope="module")
def crossing_read_only(tmp_path_factory):
    """One import of the crossing shared by the tests that only read it."""
    return import_crossing(tmp_path_factory.mktemp("crossing"))


@pytest.fixture
def crossing(tmp_path):
    """A fresh import of the crossing for tests that change the folder."""
    return import_crossing(tmp_path)


def read_layers(out):
    nodes = gpd.read_file(out / "network.gpkg", layer="nodes")
    links = gpd.read_file(out / "network.gpkg", layer="links")
    return nodes, links


def test_crossing_writes_every_file_and_the_contract_columns(crossing_read_only):
    out, _ = crossing_read_only
    assert sorted(p.name for p in out.iterdir()) == sorted(IMPORTER_FILES)
    nodes, links = read_layers(out)
    assert list(nodes.columns) == [*NODE_COLUMNS, "geometry"]
    assert list(links.columns) == [*LINK_COLUMNS, "geometry"]
    assert list(pd.read_csv(out / "movements.csv").columns) == [
        "movement_id",
        "node_id",
        "from_link",
        "to_link",
        "turn",
        "phase",
    ]
    assert list(pd.read_csv(out / "signals.csv").columns) == [
        "node_id",
        "cycle_s",
        "offset_s",
        "intergreen_s",
        "greens_s",
        "min_greens_s",
    ]
    assert list(pd.read_csv(out / "zones.csv").columns) == [
        "zone_id",
        "kind",
        "node_id",
        "name",
        "facility_id",
        "weight",
    ]
    assert nodes.crs.to_epsg() == 4326 and links.crs.to_epsg() == 4326


def test_crossing_nodes_links_and_lengths(crossing_read_only):
    out, report = crossing_read_only
    nodes, links = read_layers(out)
    assert len(nodes) == 5 and len(links) == 8  # 4 arms x 2 directions
    assert nodes["osm_id"].tolist() == [1, 2, 3, 4, 5]  # ids sorted by OSM id
    assert (links["reverse_link_id"] >= 0).all()
    assert (
        links.loc[links["reverse_link_id"], "reverse_link_id"].to_numpy()
        == links["link_id"].to_numpy()
    ).all()
    a_ro, b_ro = links[links["street"] == "A-ro"], links[links["street"] == "B-ro"]
    assert a_ro["lanes"].tolist() == [2] * 4 and b_ro["lanes"].tolist() == [3] * 4
    assert set(links["free_speed_kph"]) == {50.0} and set(links["capacity_vphpl"]) == {1900.0}
    # Haversine on the 6,371,009 m sphere: 0.002 deg of latitude = 222.39 m, 0.0025 deg of
    # longitude at 37.5 N = 220.55 m. The importer measures in UTM 52N on the WGS84 ellipsoid,
    # where at 37.5 N the meridian radius is M = a (1 - e2) / (1 - e2 sin2)^1.5 = 6,359,083 m
    # and the prime-vertical radius N = a / (1 - e2 sin2)^0.5 = 6,386,063 m: 221.97 m and
    # 221.06 m (the UTM scale factor 2 deg off the central meridian is 0.99998).
    north_m = haversine_m(LAT0, LON0, LAT0 + 0.002, LON0)
    east_m = haversine_m(LAT0, LON0, LAT0, LON0 + 0.0025)
    assert north_m == pytest.approx(222.39, abs=0.01) and east_m == pytest.approx(220.55, abs=0.01)
    a, e2, sin2 = 6_378_137.0, 0.00669437999, math.sin(math.radians(LAT0)) ** 2
    meridian_m = a * (1 - e2) / (1 - e2 * sin2) ** 1.5 * math.radians(0.002)
    parallel_m = a / (1 - e2 * sin2) ** 0.5 * math.cos(math.radians(LAT0)) * math.radians(0.0025)
    assert (meridian_m, parallel_m) == pytest.approx((221.97, 221.06), abs=0.01)
    assert a_ro["length_m"].to_numpy() == pytest.approx([meridian_m] * 4, abs=0.02)
    assert b_ro["length_m"].to_numpy() == pytest.approx([parallel_m] * 4, abs=0.02)
    assert a_ro["length_m"].to_numpy() == pytest.approx(
        [north_m] * 4, rel=3e-3
    )  # sphere vs ellipsoid
    assert report["network"]["shortest_link"]["length_m"] == pytest.approx(parallel_m, abs=0.02)
    assert report["components"]["dropped_nodes"] == 0


def test_crossing_movements_phases_and_signal(crossing_read_only):
    out, report = crossing_read_only
    nodes, links = read_layers(out)
    movements = pd.read_csv(out / "movements.csv")
    centre = int(nodes.loc[nodes["osm_id"] == 1, "node_id"].iloc[0])
    at_centre = movements[movements["node_id"] == centre]
    assert len(at_centre) == 12 and "uturn" not in set(at_centre["turn"])
    assert at_centre["turn"].value_counts().to_dict() == {"left": 4, "through": 4, "right": 4}
    # the 4 arm ends are dead ends: their only movement is the U-turn
    assert (movements[movements["node_id"] != centre]["turn"] == "uturn").sum() == 4
    # from the south arm (heading north) to the east arm is a right turn (driving on the right)
    south, east = (int(nodes.loc[nodes["osm_id"] == i, "node_id"].iloc[0]) for i in (3, 4))
    from_south = int(
        links[(links["from_node"] == south) & (links["to_node"] == centre)]["link_id"].iloc[0]
    )
    to_east = int(
        links[(links["from_node"] == centre) & (links["to_node"] == east)]["link_id"].iloc[0]
    )
    assert (
        at_centre.set_index(["from_link", "to_link"]).loc[(from_south, to_east), "turn"] == "right"
    )
    # two phases: the approaches of one road share one
    phase_by_road = at_centre.merge(
        links[["link_id", "street"]], left_on="from_link", right_on="link_id"
    )
    assert phase_by_road.groupby("street")["phase"].nunique().tolist() == [1, 1]
    assert sorted(phase_by_road.groupby("street")["phase"].first()) == [0, 1]
    assert (movements[movements["node_id"] != centre]["phase"] == -1).all()
    # guessed: two distinct primary roads meet; nothing is tagged
    assert nodes.loc[centre, "signalised"] and nodes.loc[centre, "signal_source"] == "guessed"
    assert nodes["signalised"].sum() == 1
    assert (report["signals"]["tagged_nodes"], report["signals"]["guessed_nodes"]) == (0, 1)
    # y = 0.45 x 1900 / 1900 per phase, Y = 0.9: C0 = (1.5 x 10 + 5) / 0.1 = 200 -> 150 s,
    # greens (150 - 10) / 2 = 70 s (pedestrian minimums 20 s and 27 s are lower: 7 s + 1 s per
    # metre over 4 and 6 lanes of 3.25 m = 20 s and 26.5 -> 27 s; phase 0's walkers cross the
    # wider road)
    signals = pd.read_csv(out / "signals.csv", dtype={"greens_s": str, "min_greens_s": str})
    assert signals.to_dict("records") == [
        {
            "node_id": centre,
            "cycle_s": 150,
            "offset_s": 0,
            "intergreen_s": 5.0,
            "greens_s": "70 70",
            "min_greens_s": "27 20",
        }
    ]


def test_crossing_gateways_zones_and_facilities(crossing_read_only):
    out, _ = crossing_read_only
    nodes, _ = read_layers(out)
    assert nodes.loc[nodes["is_gateway"], "osm_id"].tolist() == [2, 3, 4, 5]
    zones = pd.read_csv(out / "zones.csv", keep_default_na=False)
    gateways = zones[zones["kind"] == "gateway"]
    # lanes in + out: A-ro ends 2 + 2 = 4, B-ro ends 3 + 3 = 6; total 20
    weight = dict(zip(nodes.loc[gateways["node_id"], "osm_id"], gateways["weight"], strict=True))
    assert weight == {2: 0.2, 3: 0.2, 4: 0.3, 5: 0.3}
    centre = int(nodes.loc[nodes["osm_id"] == 1, "node_id"].iloc[0])
    rest = zones[zones["kind"] != "gateway"][["kind", "node_id", "facility_id", "weight"]]
    assert rest.to_dict("records") == [
        {"kind": "parking", "node_id": centre, "facility_id": "parking_lot", "weight": 0.0},
        {"kind": "dropoff", "node_id": centre, "facility_id": "venue_dome", "weight": 0.0},
    ]
    assert zones["zone_id"].tolist() == list(range(6))
    features = json.loads((out / "facilities.geojson").read_text())["features"]
    snapped = {f["properties"]["id"]: f["properties"] for f in features}
    # 0.0005 deg of latitude = 6,359,083 m x 8.7266e-6 = 55.49 m on the ellipsoid (55.60 m on
    # the sphere); the centre is the only node where a car can stop (the others are gateways)
    assert snapped["venue_dome"]["node_id"] == centre
    assert snapped["venue_dome"]["snap_distance_m"] == pytest.approx(55.49, abs=0.02)
    assert snapped["parking_lot"]["snap_distance_m"] == 0.0
    assert snapped["hospital_far"]["name_en"] == "Hospital_Far"  # the facts are kept


@pytest.mark.parametrize(
    ("tags", "from_to", "lanes"),
    [
        ({"highway": "primary", "oneway": "yes", "lanes": "2"}, [1, 2], 2),
        ({"highway": "secondary", "oneway": "-1"}, [2, 1], 2),  # against the node order; default
    ],
)
def test_one_way_road_yields_one_link(tmp_path, write, facilities, tags, from_to, lanes):
    # a single way from node 1 to node 2, 0.003 deg (333 m) north
    nodes = {1: (LAT0, LON0, {}), 2: (LAT0 + 0.003, LON0, {})}
    out = tmp_path / "oneway"
    import_osm(write("oneway.osm", osm_xml(nodes, {7: ([1, 2], tags)})), facilities, out)
    nodes_out, links = read_layers(out)
    osm_id = nodes_out["osm_id"].to_numpy()
    assert [osm_id[links["from_node"][0]], osm_id[links["to_node"][0]]] == from_to
    assert (len(links), links["lanes"][0], links["reverse_link_id"][0]) == (1, lanes, -1)
    # both ends are gateways (an entry and an exit), so the road is kept
    assert nodes_out["is_gateway"].all()


# The crossing with extras: a signal node 0.0001 deg (11.1 m) north of C on A-ro, a signalised
# pedestrian crossing 0.0001 deg (8.8 m) east of C on B-ro, A-ro also referencing a missing
# node 999, a service way whose nodes are all missing, a closed building square (0.0002 deg
# sides), and an unclosed building way.
SQUARE = {
    100 + i: (LAT0 + 0.0010 + dy, LON0 + 0.0010 + dx, {})
    for i, (dy, dx) in enumerate([(0, 0), (0, 0.0002), (0.0002, 0.0002), (0.0002, 0)])
}
EXTRA_NODES = {
    **CROSSING_NODES,
    6: (LAT0 + 0.0001, LON0, {"highway": "traffic_signals"}),
    7: (LAT0, LON0 + 0.0001, {"highway": "crossing", "crossing": "traffic_signals"}),
    **SQUARE,
}
EXTRA_WAYS = {
    10: ([2, 6, 1, 3, 999], CROSSING_WAYS[10][1]),
    11: ([5, 1, 7, 4], CROSSING_WAYS[11][1]),
    12: ([998, 997], {"highway": "service"}),
    20: ([100, 101, 102, 103, 100], {"building": "yes", "name": "Hall"}),
    21: ([100, 101, 102], {"building": "yes"}),
}


@pytest.fixture(scope="module")
def extras(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extras")
    osm, facts = folder / "extras.osm", folder / "facilities.geojson"
    osm.write_text(osm_xml(EXTRA_NODES, EXTRA_WAYS))
    facts.write_text(facilities_geojson(FACILITIES))
    out = folder / "scenario"
    return out, import_osm(osm, facts, out)


def test_missing_nodes_are_cut_and_counted(extras):
    report = extras[1]
    assert report["osm"]["missing_node_refs"] == 3
    assert report["osm"]["ways_cut_missing_nodes"] == 1
    assert report["osm"]["ways_dropped_missing_nodes"] == 1
    assert report["network"]["links"] == 8


def test_tag_defaults_are_counted(crossing_read_only):
    tags = crossing_read_only[1]["tags"]
    assert (tags["drivable_ways"], tags["lanes_default_used"], tags["maxspeed_default_used"]) == (
        2,
        1,
        2,
    )


def test_tagged_signal_within_25_m_wins_over_the_guess(extras):
    out, report = extras
    nodes_out = read_layers(out)[0]
    assert nodes_out.loc[nodes_out["signalised"], "osm_id"].tolist() == [1]
    assert nodes_out.loc[nodes_out["signalised"], "signal_source"].tolist() == ["osm_tag"]
    signals = report["signals"]
    assert (signals["tagged_nodes"], signals["guessed_nodes"]) == (1, 0)
    assert (
        signals["nodes_tagged_by_traffic_signals"],
        signals["nodes_tagged_by_signal_crossings"],
    ) == (1, 1)


def test_buildings_and_areas(extras):
    out, report = extras
    buildings = gpd.read_file(out / "network.gpkg", layer="buildings")
    assert buildings[["osm_id", "name"]].to_dict("records") == [{"osm_id": 20, "name": "Hall"}]
    assert buildings.geom_type.tolist() == ["Polygon"]
    assert report["osm"]["polygons_unclosed_or_incomplete"] == 1
    areas = gpd.read_file(out / "network.gpkg", layer="areas")  # none in the extract: empty layer
    assert len(areas) == 0 and list(areas.columns) == [
        "osm_id",
        "osm_type",
        "kind",
        "name",
        "geometry",
    ]


def test_reimport_is_byte_identical_and_keeps_hand_made_files(
    tmp_path, write, facilities, crossing
):
    out, _ = crossing
    (out / "scenario.toml").write_text('name = "hand made"\n')
    (out / "schedule.csv").write_text("session_id\n")
    before = {name: (out / name).read_bytes() for name in IMPORTER_FILES}
    import_osm(write("crossing.osm", osm_xml(CROSSING_NODES, CROSSING_WAYS)), facilities, out)
    after = {name: (out / name).read_bytes() for name in before}
    assert after == before
    assert (out / "scenario.toml").read_text() == 'name = "hand made"\n'
    assert (out / "schedule.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_attribution_names_odbl_and_input_hashes(crossing_read_only):
    out, report = crossing_read_only
    text = (out / "ATTRIBUTION.md").read_text()
    assert "© OpenStreetMap contributors" in text and "Open Database License (ODbL)" in text
    assert (
        report["inputs"]["osm"]["sha256"] in text
        and report["inputs"]["facilities"]["sha256"] in text
    )


# ---------------------------------------------------------------------------------------------
# bad input: ScenarioError, and the out folder is absent or unchanged


def assert_nothing_written(tmp_path, out):
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"OSM file '.*bad.osm' is empty \(0 bytes\)"),
        (
            '<osm version="0.6">\n<node id="1" lat="37.5"\n',
            r"OSM file '.*bad.osm' is not well-formed XML: line 2, column 0: unclosed token$",
        ),
        (
            '<osm><node id="1" lat="1" lon="1"></way></osm>',
            r"not well-formed XML: line 1, column 36: mismatched tag$",
        ),
        ("<gpx></gpx>", r"root element should be <osm>, got <gpx>"),
        (
            osm_xml({1: (LAT0, LON0, {})}, {5: ([1, 1], {"building": "yes"})}),
            r"has no drivable highway ways \(motorway, .*\); it holds 1 ways, 0 with a highway tag",
        ),
        (
            osm_xml({}, {5: ([1, 2], {"highway": "primary"})}),
            r"has no drivable highway ways .* 2 references to missing nodes",
        ),
        (
            osm_xml(
                {1: (LAT0, LON0, {}), 2: (LAT0 + 0.003, LON0, {})},
                {5: ([1, 2], {"highway": "residential", "oneway": "yes"})},
            ),
            r"no connected road network is left",
        ),
    ],
)
def test_bad_osm_file(tmp_path, write, facilities, text, message):
    out = tmp_path / "scenario"
    with pytest.raises(ScenarioError, match=message):
        import_osm(write("bad.osm", text), facilities, out)
    assert_nothing_written(tmp_path, out)


def test_missing_osm_file(tmp_path, facilities):
    with pytest.raises(
        ScenarioError, match=r"OSM file '.*nowhere.osm' does not exist or is not a file"
    ):
        import_osm(tmp_path / "nowhere.osm", facilities, tmp_path / "scenario")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, r"facilities file '.*facilities.geojson' does not exist or is not a file"),
        ('{"type": "FeatureCollection",\n "features": [}', r"is not valid JSON: line 2, column 15"),
        (
            '{"type": "Feature"}',
            r"should be a GeoJSON FeatureCollection with a 'features' list, got 'Feature'",
        ),
        (
            (
                '{"type": "FeatureCollection", "features": [{"type": "Feature", '
                '"properties": {"id": "a"}, '
                '"geometry": {"type": "Point", "coordinates": [127, 37]}}]}'
            ),
            r"feature 0 needs string properties 'id' and 'kind', got 'a', None",
        ),
        (
            (
                '{"type": "FeatureCollection", "features": [{"type": "Feature", '
                '"properties": {"id": "a", "kind": "venue"}, '
                '"geometry": {"type": "LineString", "coordinates": [[127, 37], [127, 38]]}}]}'
            ),
            r"feature 'a' should have a Point geometry \[lon, lat\] in degrees, got 'LineString'",
        ),
    ],
)
def test_bad_facilities_file(tmp_path, write, text, message):
    osm = write("crossing.osm", osm_xml(CROSSING_NODES, CROSSING_WAYS))
    path = tmp_path / "facilities.geojson"
    if text is not None:
        path.write_text(text)
    out = tmp_path / "scenario"
    with pytest.raises(ScenarioError, match=message):
        import_osm(osm, path, out)
    assert_nothing_written(tmp_path, out)


def test_out_dir_that_is_not_a_scenario_folder_is_refused(tmp_path, write, facilities):
    osm = write("crossing.osm", osm_xml(CROSSING_NODES, CROSSING_WAYS))
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(
        ScenarioError, match=r"out_dir '.*documents' exists and is not a scenario folder"
    ):
        import_osm(osm, facilities, out)
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]
    with pytest.raises(ScenarioError, match="exists and is not a folder"):
        import_osm(osm, facilities, out / "thesis.docx")


def test_failed_reimport_leaves_the_scenario_unchanged(tmp_path, write, facilities, crossing):
    out, _ = crossing
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ScenarioError, match="not well-formed XML"):
        import_osm(write("broken.osm", "<osm><way></osm>"), facilities, out)
    with pytest.raises(ScenarioError, match="no drivable highway ways"):
        import_osm(write("roadless.osm", osm_xml(CROSSING_NODES, {})), facilities, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_options_are_refused(tmp_path, facilities):
    with pytest.raises(
        ValueError, match="'consolidate_tolerance_m' should be a finite number >= 0, got -1"
    ):
        import_osm(Path("x.osm"), facilities, tmp_path / "s", consolidate_tolerance_m=-1)
    with pytest.raises(ValueError, match="'design_flow_ratio' should be between 0 and 1, got 1.5"):
        import_osm(Path("x.osm"), facilities, tmp_path / "s", design_flow_ratio=1.5)
