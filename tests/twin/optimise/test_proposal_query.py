"""The staffing query (:func:`twin.service.queries.staffing_proposal`) and ``python -m twin
staffing``.

Truths used: the plan's changes replayed from the lanes open now give the timeline; the staff
the open lanes need counted by hand; a real subprocess's exit code, output and JSON file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from twin import scenario as scenario_module
from twin.crowd import pedestrians
from twin.engine import Engine
from twin.errors import ActionError
from twin.service import queries

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = ROOT / "data" / "seoul_olympic_park"


@pytest.fixture(scope="module")
def evening() -> Engine:
    return Engine(scenario_module.load(BUNDLED), seed=0, start_s=17 * 3600)


def test_the_query_is_plain_data_and_its_changes_build_its_timeline(evening):
    cp = evening.state.extras[pedestrians.KEY].checkpoints
    lanes_now = (cp.lanes_face.tolist(), cp.lanes_manual.tolist())
    result = queries.QUERIES["staffing_proposal"](evening, horizon_min=30, slot_min=10)
    assert (cp.lanes_face.tolist(), cp.lanes_manual.tolist()) == lanes_now  # nothing changed
    json.dumps(result)  # plain data
    assert result["staff"]["total_staff"] == 1 * sum(lanes_now[0]) + 2 * sum(lanes_now[1])
    face, manual = list(lanes_now[0]), list(lanes_now[1])
    changes = sorted(result["changes"], key=lambda c: c["at_min"])
    for slot, start_min in enumerate((0, 10, 20)):
        for change in (c for c in changes if c["at_min"] == start_min):
            lanes = face if change["lane_type"] == "face" else manual
            assert lanes[change["checkpoint_id"]] == change["before"]
            lanes[change["checkpoint_id"]] = change["after"]
        for row in result["timeline"]:
            j = row["checkpoint_id"]
            assert (row["lanes_face"][slot], row["lanes_manual"][slot]) == (face[j], manual[j])
    assert set(result["plans"]) == {"default", "advice", "optimised"}
    assert result["plans"]["optimised"]["peak_staff"] <= result["staff"]["total_staff"]


@pytest.mark.parametrize(
    "options,code",
    [
        ({"total_staff": -1}, "bad_staff"),
        ({"horizon_min": 5}, "out_of_range"),
        ({"move_s": "x"}, "bad_staff"),
    ],
)
def test_the_query_refuses_bad_input_with_its_code(evening, options, code):
    with pytest.raises(ActionError) as refused:
        queries.staffing_proposal(evening, **options)
    assert refused.value.code == code


def _twin(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "twin", "staffing", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_command_prints_the_timeline_and_writes_json(tmp_path):
    out = tmp_path / "staffing.json"
    done = _twin(
        "--at", "17:10", "--warmup", "10", "--horizon", "20", "--json", str(out), tmp_path=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "17:10 17:15 17:20 17:25" in done.stdout
    assert "KSPO Dome entrance" in done.stdout
    written = json.loads(out.read_text())
    assert written["horizon_min"] == 20 and len(written["timeline"]) == 8


def test_the_command_refuses_a_horizon_out_of_range(tmp_path):
    done = _twin("--at", "17:00", "--warmup", "0", "--horizon", "200", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "horizon must be a whole number of minutes from 15 to 120" in done.stderr
