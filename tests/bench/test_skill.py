"""The forecast-skill harness (bench/skill.py) on a short case with the twin's own model as the
truth (SUMO, 0.5 GB installed, stays a benchmark peer: ``python -m bench --only skill``).

The truth is a perturbed run the twin under test never sees: more demand from three gateways and
a lane closed for 15 minutes; the twin gets only the loops' counts, through the function the
live feed path calls."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import skill
from bench.twin_bench import main

SHORT = [
    "--truth", "twin", "--minutes", "45", "--trips-per-hour", "12000", "--surge-from-min", "5",
    "--closure-from-min", "10", "--closure-to-min", "25", "--issue-from-min", "10",
]  # fmt: skip


def _run(tmp_path, *extra):
    path = tmp_path / "skill.json"
    assert main(["--only", "skill", *SHORT, *extra, "--json", str(path)]) == 0
    return json.loads(path.read_text())


def test_told_the_truth_the_open_loop_twin_scores_zero(tmp_path):
    # surge x1 and no lane closed: the truth is the twin's own run on the same demand, so every
    # score of the open-loop twin must be zero; any misalignment of links or minutes shows here
    result = _run(tmp_path, "--surge-factor", "1", "--closure-lanes", "0")
    for horizon in ("nowcast", "plus15", "plus30"):
        row = result["skill"]["open_loop"][horizon]
        assert row["travel_time_rmse_s"] == pytest.approx(0.0, abs=1e-9)
        assert row["flow_rmse_vph"] == pytest.approx(0.0, abs=1e-9)
        assert row["density_mape"] == pytest.approx(0.0, abs=1e-9)
        assert row["pairs"] == 2 * 360  # every link at both issue times (10 and 15 min)


def test_short_case_assimilation_finds_the_surge_and_tracks_flows(tmp_path):
    result = _run(tmp_path, "--surge-factor", "1.5")
    skill_ = result["skill"]
    for kind in ("open_loop", "assimilated"):
        for horizon in ("nowcast", "plus15", "plus30"):
            row = skill_[kind][horizon]
            for key in ("travel_time_rmse_s", "flow_rmse_vph", "density_mape"):
                assert np.isfinite(row[key]), (kind, horizon, key)
    estimate = result["estimate"]
    surge = list(estimate["demand_factor_surge_origins"].values())
    assert np.mean(surge) > 1.1  # toward the truth's 1.5, from the schedule's 1
    assert 0.9 < estimate["demand_factor_others_mean"] < 1.1
    assert abs(estimate["conservation_residual_veh"]) < 1e-6
    for horizon in ("nowcast", "plus30"):
        assert (
            skill_["assimilated"][horizon]["flow_rmse_vph"]
            < skill_["open_loop"][horizon]["flow_rmse_vph"]
        )


def test_a_case_that_breaks_a_rule_is_refused():
    with pytest.raises(ValueError, match="closure_lanes must leave a lane open"):
        skill.SkillCase(closure_lanes=2)
    with pytest.raises(ValueError, match="loop_share must be in"):
        skill.SkillCase(loop_share=0.0)
