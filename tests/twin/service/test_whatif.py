"""Webster suggestions from live flows, and candidate-versus-current what-if forecasts."""

import numpy as np
import pytest

from twin.actions import SetSignalPlan
from twin.engine import Engine
from twin.errors import ActionError
from twin.io.synthetic import chain_scenario, od_demand
from twin.service.whatif import approach_flow_ratios, suggest_plan, what_if


def _signal_chain(rate_vph):
    scenario = chain_scenario(
        [400.0, 400.0], signal_at=1, cycle_s=60.0, greens_s=(27.0, 27.0), intergreen_s=3.0, dt_s=1.0
    )
    return Engine(scenario, demand=od_demand(2, [(0, 1, rate_vph, 0.0, 7200.0)]))


def test_flow_ratio_is_arrivals_over_saturation_flow():
    engine = _signal_chain(500.0)
    engine.run(1800.0)
    ratios = approach_flow_ratios(engine, 1)
    assert ratios[0] == pytest.approx(500.0 / 1800.0, rel=0.02)
    assert ratios[1] == 0.0


def test_suggestion_follows_websters_formula_and_is_applicable():
    engine = _signal_chain(500.0)
    engine.run(1800.0)
    plan = suggest_plan(engine, 1)
    # L = 2 x 3 s; Y = 0.278: C0 = (1.5 x 6 + 5) / (1 - 0.278) = 19.4 s -> raised to the 40 s
    # minimum cycle; all green to phase 0 except phase 1's minimum (7 s walk + crossing)
    minimum = engine.state.plans.min_green_s[0, 1]
    assert plan.greens_s[1] == pytest.approx(np.ceil(minimum), abs=1.0)
    assert plan.cycle_s == pytest.approx(sum(plan.greens_s) + 6.0)
    assert plan.greens_s[0] == pytest.approx(34.0, abs=1.0)
    engine.apply(plan)  # passes the junction's bounds
    assert engine.state.plans.plan_of(1)["greens_s"] == list(plan.greens_s)


def test_what_if_more_green_for_an_oversaturated_approach_cuts_delay_and_queue():
    engine = _signal_chain(900.0)  # capacity under the plan: 1,800 x 27 / 60 = 810 veh/h
    engine.run(600.0)
    before = engine.state.vehicles.copy()
    result = what_if(engine, [SetSignalPlan(1, 60.0, (40.0, 14.0))])  # 1,200 veh/h
    np.testing.assert_array_equal(before, engine.state.vehicles)
    assert engine.state.plans.plan_of(1)["greens_s"] == [27.0, 27.0]
    for mark in (900, 1800, 3600):
        totals = result["marks"][mark]["totals"]
        assert totals["difference"]["delay_vehh"] < 0
        assert result["marks"][mark]["links"]["queue_m"][0] < 0
    # under the current plan the queue grows at 900 - 810 = 90 veh/h from t = 0 (it spills back
    # to the origin once the 400 m link is full); the candidate holds none. At 600 + 3600 s:
    # 90 x 4200 / 3600 = 105 more vehicles stored (in the network or waiting to enter)
    stored = result["marks"][3600]["totals"]
    held = {k: v["vehicles_in_network"] + v["vehicles_waiting_to_enter"] for k, v in stored.items()}
    assert held["current"] - held["candidate"] == pytest.approx(105.0, rel=0.05)


def test_what_if_refuses_a_bad_candidate_before_running():
    engine = _signal_chain(500.0)
    with pytest.raises(ActionError, match="and 2 intergreens of"):
        what_if(engine, [SetSignalPlan(1, 60.0, (40.0, 40.0))])
    with pytest.raises(ActionError, match="needs at least one candidate"):
        what_if(engine, [])
