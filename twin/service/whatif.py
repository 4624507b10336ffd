"""Signal-plan what-if: Webster's suggestion from current flows, and candidate vs current plan.

A what-if runs two forecasts from the live state, one under the current plans and one with the
candidate actions applied first, and reports the differences (candidate minus current) per road,
per junction and for the network at each forecast mark. The live state is not touched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.actions import SetSignalPlan
from twin.engine import FORECAST_MARKS_S, Engine, TwinView
from twin.errors import ActionError
from twin.models import webster


def approach_flow_ratios(engine: Engine, node_id: int) -> np.ndarray:
    """Critical flow ratio y per phase at ``node_id``: the largest approach arrival flow over its
    saturation flow (capacity per lane x lanes), from the smoothed flows of the live state.

    The arrival flow of an approach is the larger of the flows leaving its first and its last
    cell, so an approach whose queue holds vehicles back still shows what arrives.
    """
    plans, net, state = engine.state.plans, engine.net, engine.state
    row = plans.row(node_id)
    into_node = engine.signal_movements(node_id)
    links = net.mv_from_link[into_node]
    phases = net.mv_phase[into_node]
    flow_vps = np.maximum(
        state.smooth_outflow_vps[net.link_first_cell[links]],
        state.smooth_outflow_vps[net.link_last_cell[links]],
    )
    saturation_vps = net.cell_capacity_veh[net.link_last_cell[links]] / net.dt_s
    ratios = np.zeros(int(plans.n_phases[row]))
    np.maximum.at(ratios, phases, flow_vps / saturation_vps)
    return ratios


def suggest_plan(engine: Engine, node_id: int) -> SetSignalPlan:
    """Webster's plan for ``node_id`` from current flows, within the junction's bounds.

    Oversaturated junctions (sum of y >= 1) get the longest allowed cycle with greens in
    proportion to y. Greens are whole seconds; the offset is kept.
    """
    plans = engine.state.plans
    row = plans.row(node_id)
    intergreen = float(plans.intergreen_s[row])
    n_phases = int(plans.n_phases[row])
    minimums = plans.min_green_s[row, :n_phases]
    ratios = approach_flow_ratios(engine, node_id)
    cycle, greens = webster.webster_plan(
        ratios, intergreen_s=intergreen, min_green_s=minimums, clamp=True
    )
    cycle_s, greens_s = webster.whole_seconds(cycle, greens, n_phases * intergreen)
    offset = float(plans.offset_s[row]) % cycle_s
    return SetSignalPlan(int(node_id), float(cycle_s), tuple(float(g) for g in greens_s), offset)


def what_if(
    engine: Engine,
    candidate: list[Any],
    *,
    horizon_s: float = 3600.0,
    marks_s: tuple[int, ...] = FORECAST_MARKS_S,
) -> dict[str, Any]:
    """Differences (candidate minus current) at each mark: per road, per junction and in total.

    ``candidate`` is a list of actions (usually :class:`SetSignalPlan`). Refused candidates raise
    :class:`ActionError` before anything runs.
    """
    if not candidate:
        raise ActionError("a what-if needs at least one candidate action")
    fork = engine.fork()
    for action in candidate:
        fork.apply(action)  # checks every action on a copy; the live engine is untouched
    base = engine.forecast(
        horizon_s, marks_s=marks_s, crowd=False
    )  # signal plans move vehicles only
    test = engine.forecast(horizon_s, overrides=candidate, marks_s=marks_s, crowd=False)
    start_delay = engine.state.delay_veh_s / 3600.0
    return {
        "from_s": engine.time_s,
        "marks": {mark: _difference(base[mark], test[mark], start_delay) for mark in base},
    }


def _difference(base: TwinView, test: TwinView, start_delay_vehh: float) -> dict[str, Any]:
    totals = {}
    for name, view in (("current", base), ("candidate", test)):
        totals[name] = {
            "delay_vehh": view.kpis["total_delay_vehh"] - start_delay_vehh,
            "vehicles_in_network": view.kpis["vehicles_in_network"],
            "vehicles_waiting_to_enter": view.kpis["vehicles_waiting_to_enter"],
            "queue_m": float(view.links["queue_m"].sum()),
            "mean_speed_kph": view.kpis["mean_speed_kph"],
        }
    totals["difference"] = {
        k: totals["candidate"][k] - totals["current"][k] for k in totals["current"]
    }
    return {
        "links": {
            "delay_rate_veh": test.links["delay_rate_veh"] - base.links["delay_rate_veh"],
            "queue_m": test.links["queue_m"] - base.links["queue_m"],
        },
        "junctions": {
            "delay_s_per_veh": test.junctions["delay_s_per_veh"]
            - base.junctions["delay_s_per_veh"],
        },
        "totals": totals,
    }
