"""One column list per scenario file: the importer writes exactly the schema's columns in its
order, the reader loads them back unchanged, and the format document describes each one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from twin.io import schema
from twin.io.osm.importer import import_osm
from twin.scenario import load

ROOT = Path(__file__).resolve().parents[3]
LAT0, LON0 = 37.5, 127.0
# a crossing of two named primary roads (arms of 0.002 deg) and a venue beside it
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
<node id="1" lat="37.5" lon="127.0"/><node id="2" lat="37.502" lon="127.0"/>
<node id="3" lat="37.498" lon="127.0"/><node id="4" lat="37.5" lon="127.002"/>
<node id="5" lat="37.5" lon="126.998"/>
<way id="10"><nd ref="2"/><nd ref="1"/><nd ref="3"/><tag k="highway" v="primary"/>
<tag k="name" v="가로"/><tag k="name:en" v="Ga-ro"/></way>
<way id="11"><nd ref="5"/><nd ref="1"/><nd ref="4"/><tag k="highway" v="primary"/>
<tag k="name" v="나로"/></way>
</osm>"""
FACTS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [LON0, LAT0 + 0.0005]},
            "properties": {"id": "venue_hall", "kind": "venue", "name_en": "Hall", "capacity": 100},
        }
    ],
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("schema")
    (folder / "x.osm").write_text(OSM, encoding="utf-8")
    (folder / "facts.geojson").write_text(json.dumps(FACTS), encoding="utf-8")
    out = folder / "scenario"
    import_osm(folder / "x.osm", folder / "facts.geojson", out)
    (out / "scenario.toml").write_text('name = "crossing"\n', encoding="utf-8")
    (out / "schedule.csv").write_text(",".join(schema.SCHEDULE.names) + "\n", encoding="utf-8")
    return out


def test_importer_writes_the_schema_columns_in_order(imported):
    import geopandas as gpd

    for table, layer in ((schema.NODES, "nodes"), (schema.LINKS, "links")):
        written = gpd.read_file(imported / "network.gpkg", layer=layer)
        assert list(written.columns) == [*table.names, "geometry"], layer
    for table in (schema.MOVEMENTS, schema.SIGNALS, schema.ZONES):
        assert list(pd.read_csv(imported / table.where).columns) == list(table.names)


def test_reader_loads_what_the_writer_wrote(imported):
    scenario = load(imported)
    for table, frame in (
        (schema.NODES, scenario.nodes),
        (schema.LINKS, scenario.links),
        (schema.MOVEMENTS, scenario.movements),
        (schema.SIGNALS, scenario.signals),
        (schema.ZONES, scenario.zones),
        (schema.SCHEDULE, scenario.schedule),
    ):
        assert [c for c in frame.columns if c in table.names] == list(table.names), table.where
    # names survive the round trip: the crossing is named by its two streets, in English
    centre = scenario.nodes.loc[scenario.nodes["osm_id"] == 1, "name"].iloc[0]
    assert centre == "Ga-ro × Na-ro"
    assert set(scenario.links["street"]) == {"Ga-ro", "Na-ro"}
    assert set(scenario.links["name_local"]) == {"가로", "나로"}


def test_required_columns_are_a_subset_in_file_order():
    for table in (*schema.IMPORTED_TABLES, schema.SCHEDULE):
        assert set(table.required) <= set(table.names)
        assert len(set(table.names)) == len(table.names), table.where


def test_the_format_document_describes_every_column():
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    for table in (*schema.IMPORTED_TABLES, schema.SCHEDULE):
        missing = [c for c in table.names if not re.search(rf"`{c}`", text)]
        assert not missing, f"{table.where}: {missing}"
