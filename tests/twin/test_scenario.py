"""Loading the bundled scenario, and bad scenario input refused with the file, row and rule."""

import shutil

import pytest

from twin.engine import Engine
from twin.errors import ScenarioError
from twin.scenario import load

BUNDLED = "data/seoul_olympic_park"


@pytest.fixture()
def folder(tmp_path):
    target = tmp_path / "scenario"
    shutil.copytree(BUNDLED, target)
    return target


def _replace_row(folder, session_id, **fields):
    path = folder / "schedule.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == session_id:
            for key, value in fields.items():
                cells[header.index(key)] = str(value)
            lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def test_bundled_scenario_loads_with_its_sources():
    scenario = load(BUNDLED)
    assert len(scenario.links) > 900 and len(scenario.signals) > 30
    assert "OpenStreetMap contributors" in scenario.attribution
    assert (scenario.schedule["expected_attendance"] > 0).all()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"venue_id": "venue_atlantis"},
            r"schedule.csv row 7 \(session 'S06'\): unknown venue_id 'venue_atlantis'",
        ),
        ({"start": "23:00"}, r"schedule.csv row 7 \(session 'S06'\): times out of order"),
        (
            {"expected_attendance": 15001},
            r"expected_attendance 15001 is above the capacity of 'venue_kspo_dome' \(15000 seats\)",
        ),
        ({"expected_attendance": -5}, r"expected_attendance must be a whole number >= 0"),
        (
            {"doors_open": "6pm"},
            r"schedule.csv row 7 field 'doors_open': expected a time HH:MM, got '6pm'",
        ),
    ],
)
def test_bad_schedule_rows_are_refused_naming_row_and_rule(folder, fields, message):
    _replace_row(folder, "S06", **fields)
    with pytest.raises(ScenarioError, match=message):
        load(folder)


def test_unknown_scenario_folder_and_missing_file(tmp_path, folder):
    with pytest.raises(ScenarioError, match="scenario folder .*nowhere.* does not exist"):
        load(tmp_path / "nowhere")
    (folder / "movements.csv").unlink()
    with pytest.raises(ScenarioError, match="missing scenario file .*movements.csv"):
        load(folder)


def test_broken_toml_is_refused(folder):
    (folder / "scenario.toml").write_text("name = [unclosed\n")
    with pytest.raises(ScenarioError, match="scenario.toml.* is not valid TOML"):
        load(folder)


def test_vehicles_conserved_over_the_whole_event_day():
    engine = Engine(load(BUNDLED), start_s=16 * 3600)
    for hour in range(17, 25):
        engine.run(hour * 3600)
        present = engine.state.vehicles.sum()
        assert engine.state.generated_veh == pytest.approx(
            engine.state.exited_veh + present, rel=1e-9
        )
    assert engine.state.generated_veh > 30_000
    assert engine.state.vehicles.min() >= 0.0


def test_place_names_do_not_enter_the_simulation():
    """Names are for people: the bundled day with every name, street and local name replaced
    gives bit-identical engine state after 30 simulated minutes."""
    named, blank = load(BUNDLED), load(BUNDLED)
    for table, columns in (
        (blank.nodes, ("name", "name_local")),
        (blank.links, ("name", "street", "name_local")),
    ):
        for column in columns:
            table[column] = "x"
    blank.zones["name"] = "x"
    states = []
    for scenario in (named, blank):
        engine = Engine(scenario, seed=0)
        engine.run(engine.time_s + 1800)
        states.append(engine.state)
    for field in (
        "vehicles",
        "split",
        "smooth_vehicles",
        "smooth_outflow_vps",
        "smooth_movement_vps",
    ):
        assert getattr(states[0], field).tobytes() == getattr(states[1], field).tobytes(), field
    assert states[0].delay_veh_s == states[1].delay_veh_s
    assert states[0].generated_veh == states[1].generated_veh


def test_a_missing_required_column_is_refused_naming_file_and_column(folder):
    import pandas as pd

    zones = pd.read_csv(folder / "zones.csv").drop(columns=["weight"])
    zones.to_csv(folder / "zones.csv", index=False)
    with pytest.raises(ScenarioError, match=r"zones.csv: missing column\(s\) \['weight'\]"):
        load(folder)
