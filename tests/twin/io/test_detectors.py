"""Detector sites: the bundled Seoul set (stop-line loops on every signalised approach, counting
stations on the gateway roads only) and the checks of ``detectors.csv``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twin.errors import ScenarioError
from twin.io.detectors import site_detectors
from twin.scenario import SCENARIO_FILES, load, read_detectors

BUNDLED = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"


@pytest.fixture(scope="module")
def seoul():
    return load(BUNDLED)


def test_the_bundled_sites_are_what_the_siting_code_makes(seoul):
    made = site_detectors(seoul.links, seoul.movements, seoul.signals, seoul.zones)
    pd.testing.assert_frame_equal(made, seoul.detectors, check_dtype=False)
    assert "detectors.csv" in SCENARIO_FILES  # part of the scenario's identity


def test_stop_line_loops_on_signalised_approaches_and_stations_on_gateway_roads(seoul):
    table = seoul.detectors
    links = seoul.links.set_index("link_id")
    stop = table[table["kind"] == "stop_line"]
    signalised = set(seoul.signals["node_id"])
    assert stop["link_id"].is_unique
    assert set(links.loc[stop["link_id"], "to_node"]) <= signalised
    lengths = links.loc[stop["link_id"], "length_m"].to_numpy()
    setback = lengths - stop["position_m"].to_numpy()
    assert ((setback > 4.9) & (setback < 5.1)).all()  # 5 m before the stop line, to 0.1 m
    gateways = set(seoul.zones.loc[seoul.zones["kind"] == "gateway", "node_id"])
    station = table[table["kind"] == "counting_station"]
    ends = links.loc[station["link_id"], ["from_node", "to_node"]]
    assert (ends["from_node"].isin(gateways) | ends["to_node"].isin(gateways)).all()
    assert len(table["link_id"].unique()) < len(seoul.links) / 5  # not one on every link
    assert (table["lanes"].to_numpy() == links.loc[table["link_id"], "lanes"].to_numpy()).all()


def _write(tmp_path, rows):
    path = tmp_path / "detectors.csv"
    header = "detector_id,link_id,position_m,lanes,measures,kind\n"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "X,999,10,1,count,stop_line",
            r"row 3 \(detector 'X'\): link_id must be a link of the network \(0 to ",
        ),
        (
            "X,0,99999,1,count,stop_line",
            r"row 3 \(detector 'X'\): position_m must be between 0 and the length of link 0",
        ),
        ("X,0,-1,1,count,stop_line", "position_m must be between 0"),
        (
            "X,0,10,9,count,stop_line",
            r"lanes must be a whole number from 1 to the 2 lane\(s\) of link 0",
        ),
        ("X,0,10,1.5,count,stop_line", "lanes must be a whole number"),
        ("X,0,10,1,radar,stop_line", "measures must be one of"),
        ("X,0,10,1,count,camera", "kind must be one of"),
        ("A,0,10,1,count,stop_line", "detector_id must be unique; 'A' is used twice"),
        (",0,10,1,count,stop_line", "row 3: detector_id must be a non-empty name"),
    ],
)
def test_each_rule_of_detectors_csv_names_the_file_row_and_rule(seoul, tmp_path, row, message):
    assert int(seoul.links.loc[0, "lanes"]) == 2
    path = _write(tmp_path, ["A,0,10,1,count,stop_line", row])
    with pytest.raises(
        ScenarioError, match="detectors.csv " + message if message.startswith("row") else message
    ):
        read_detectors(path, seoul.links)


def test_a_missing_column_is_named(seoul, tmp_path):
    path = tmp_path / "detectors.csv"
    path.write_text("detector_id,link_id,position_m,lanes,kind\nA,0,1,1,stop_line\n")
    with pytest.raises(ScenarioError, match=r"detectors.csv: missing column\(s\) \['measures'\]"):
        read_detectors(path, seoul.links)
