"""Place names on tiny hand-made OSM extracts: English street names (``name:en`` first, else a
Revised Romanization transliteration), junctions by their two main streets, road segments by
their street and nearest cross streets. Expected names are written out by hand from the maps
drawn below and from the official romanization of the Korean names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest

from twin.io.osm.importer import import_osm
from twin.io.osm.romanize import Glossary

LAT0, LON0 = 37.5, 127.0
RAW_NAME = re.compile(r"unnamed|Junction \d+|#\d+|[a-z]+_[a-z_]+|^$")


def osm_xml(nodes: dict, ways: dict) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="hand">']
    for osm_id, (lat, lon, tags) in nodes.items():
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        parts.append(f'<node id="{osm_id}" lat="{lat}" lon="{lon}">{inner}</node>')
    for osm_id, (refs, tags) in ways.items():
        inner = "".join(f'<nd ref="{r}"/>' for r in refs)
        inner += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        parts.append(f'<way id="{osm_id}">{inner}</way>')
    return "\n".join([*parts, "</osm>"])


def facilities(features: list[tuple[str, str, str, float, float]]) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"id": fid, "kind": kind, "name_en": name},
                }
                for fid, kind, name, lat, lon in features
            ],
        }
    )


# A street running west-east (way 10, 올림픽로 with name:en Olympic-ro) crossed by two streets:
# 잠실로 (way 11, no name:en anywhere: transliterated to Jamsil-ro) at J1 and 송파대로 (ways 12
# and 13; only way 12 has name:en Songpa-daero, which way 13 takes over) at J2. Between them, at
# M, an unnamed service road (way 14) leads south to a dead end S.
#
#             N1 (잠실로)           N2 (송파대로)
#              |                     |
#   W ------- J1 -------- M -------- J2 ------- E      (올림픽로, 0.0015 deg of longitude apart)
#              |          |          |
#             S1          S (service) S2
STREET_NODES = {
    1: (LAT0, LON0 - 0.003, {}),  # W
    2: (LAT0, LON0 - 0.0015, {}),  # J1
    3: (LAT0, LON0, {}),  # M
    4: (LAT0, LON0 + 0.0015, {}),  # J2
    5: (LAT0, LON0 + 0.003, {}),  # E
    6: (LAT0 + 0.0015, LON0 - 0.0015, {}),  # N1
    7: (LAT0 - 0.0015, LON0 - 0.0015, {}),  # S1
    8: (LAT0 + 0.0015, LON0 + 0.0015, {}),  # N2
    9: (LAT0 - 0.0015, LON0 + 0.0015, {}),  # S2
    20: (LAT0 - 0.001, LON0, {}),  # S, end of the service road
}
STREET_WAYS = {
    10: ([1, 2, 3, 4, 5], {"highway": "primary", "name": "올림픽로", "name:en": "Olympic-ro"}),
    11: ([6, 2, 7], {"highway": "secondary", "name": "잠실로"}),
    12: ([8, 4], {"highway": "primary", "name": "송파대로", "name:en": "Songpa-daero"}),
    13: ([4, 9], {"highway": "primary", "name": "송파대로"}),
    14: ([3, 20], {"highway": "service"}),
}


@pytest.fixture(scope="module")
def streets(tmp_path_factory) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    folder: Path = tmp_path_factory.mktemp("names")
    (folder / "streets.osm").write_text(osm_xml(STREET_NODES, STREET_WAYS), encoding="utf-8")
    (folder / "facilities.geojson").write_text(
        facilities([("venue_arena", "venue", "Test Arena (main hall)", LAT0 - 0.0011, LON0)])
    )
    out = folder / "scenario"
    import_osm(folder / "streets.osm", folder / "facilities.geojson", out)
    nodes = gpd.read_file(out / "network.gpkg", layer="nodes")
    links = gpd.read_file(out / "network.gpkg", layer="links")
    return nodes, links


def _node(nodes: gpd.GeoDataFrame, osm_id: int) -> str:
    return str(nodes.loc[nodes["osm_id"] == osm_id, "name"].iloc[0])


def _link(nodes: gpd.GeoDataFrame, links: gpd.GeoDataFrame, a: int, b: int) -> str:
    ids = dict(zip(nodes["osm_id"], nodes["node_id"], strict=True))
    row = links[(links["from_node"] == ids[a]) & (links["to_node"] == ids[b])]
    return str(row["name"].iloc[0])


def test_street_names_prefer_name_en_then_the_extract_then_a_transliteration(streets):
    _, links = streets
    by_way = dict(zip(links["osm_way_ids"], links["street"], strict=False))
    assert by_way["10"] == "Olympic-ro"  # its own name:en
    assert by_way["13"] == "Songpa-daero"  # name:en of another way with the same name
    assert by_way["11"] == "Jamsil-ro"  # Revised Romanization of 잠실 + the road-name suffix
    assert set(links.loc[links["osm_way_ids"] == "11", "name_local"]) == {"잠실로"}


def test_junctions_are_named_by_their_two_main_streets(streets):
    nodes, _ = streets
    # primary before secondary: the main street first
    assert _node(nodes, 2) == "Olympic-ro × Jamsil-ro"
    # two primaries: alphabetical
    assert _node(nodes, 4) == "Olympic-ro × Songpa-daero"
    # one street and a service road: the street between its nearest cross streets
    assert _node(nodes, 3) == "Olympic-ro between Jamsil-ro and Songpa-daero"


def test_road_segments_are_named_by_street_and_cross_streets(streets):
    nodes, links = streets
    # J1 -> M: Jamsil-ro at J1; none at M (only the service road), so on along Olympic-ro to J2
    assert _link(nodes, links, 2, 3) == "Olympic-ro, Jamsil-ro to Songpa-daero"
    assert _link(nodes, links, 3, 2) == "Olympic-ro, Songpa-daero to Jamsil-ro"
    # W -> J1: no cross street behind W (a road end), one ahead
    assert _link(nodes, links, 1, 2) == "Olympic-ro near Jamsil-ro"
    # the unnamed service road: its kind and the street it leaves
    assert _link(nodes, links, 3, 20) == "Service road off Olympic-ro"
    # its dead end takes its road's description
    assert _node(nodes, 20) == "Service road off Olympic-ro"


def test_every_name_is_human(streets):
    nodes, links = streets
    names = [*nodes["name"], *links["name"], *links["street"]]
    assert not [name for name in names if RAW_NAME.search(str(name))], names


@pytest.mark.parametrize(
    ("korean", "english"),
    [
        ("올림픽로35나길", "Olympic-ro 35na-gil"),  # learned part + numbered side street
        ("송파대로46길", "Songpa-daero 46-gil"),
        ("종로", "Jong-ro"),  # the suffix is romanized on its own: Jong-ro, not Jongno
        ("독립문", "Dongnimmun"),  # pronunciation rule: ㄱ+ㄹ -> ng-n, ㅂ+ㅁ -> m-m
        ("올림픽공원북2문", "Olympic Park North Gate 2"),
        ("잠실길지하차도", "Jamsil-gil Underpass"),
        ("풍납사거리", "Pungnap Crossroad"),
        ("Asan", "Asan"),  # no Hangul: unchanged
    ],
)
def test_transliteration_of_place_names(korean, english):
    glossary = Glossary.learn([("올림픽로", "Olympic-ro"), ("송파대로", "Songpa-daero")])
    assert glossary.english(korean) == english


def test_learning_keeps_the_most_frequent_english_name():
    glossary = Glossary.learn(
        [("한가람로", "Hangaram-ro"), ("한가람로", "Hangaram-ro"), ("한가람로", "Hangaramro")]
    )
    assert glossary.english("한가람로") == "Hangaram-ro"


def test_bundled_network_names_every_place():
    root = Path(__file__).resolve().parents[4] / "data" / "seoul_olympic_park"
    nodes = gpd.read_file(root / "network.gpkg", layer="nodes")
    links = gpd.read_file(root / "network.gpkg", layer="links")
    names = [*nodes["name"], *links["name"], *links["street"]]
    assert not [name for name in names if RAW_NAME.search(str(name))]
    assert not [name for name in names if re.search(r"[\uac00-\ud7a3]", str(name))]
    signalised = nodes.loc[nodes["signalised"], "name"]
    assert signalised.is_unique, signalised[signalised.duplicated()].tolist()


@pytest.mark.parametrize(
    ("fid", "kind", "name"),
    [
        ("hospital_asan_medical_center", "hospital", "Asan Medical Center"),
        ("gate_north-2", "gate", "North 2"),
        ("venue", "venue", "Venue"),
    ],
)
def test_an_unnamed_facility_gets_a_readable_name_not_its_id(fid, kind, name):
    from twin.io.osm.read import name_from_id

    assert name_from_id(fid, kind) == name
