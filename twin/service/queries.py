"""Read-only queries of the twin, for the web side and the HTTP API.

Each query takes the engine (run in the loop thread by :meth:`twin.service.live.LiveTwin.query`, so it
sees one consistent state) and plain arguments, checks them, and returns plain data or an
independent copy (:func:`forecast_copy`). None of them changes the twin. A bad argument raises
:class:`twin.errors.ActionError` with a ``code`` (``unknown_junction``, ``unknown_checkpoint``,
``bad_lane_type``) and a message naming the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.crowd import checkpoints, pedestrians
from twin.errors import ActionError
from twin.models import corridor
from twin.service import whatif

if TYPE_CHECKING:
    from twin.engine import Engine

__all__ = ["QUERIES"]

LANE_TYPES = ("face", "manual")


def _node(engine: Engine, node_id: Any) -> int:
    if (
        isinstance(node_id, bool)
        or not isinstance(node_id, (int, np.integer))
        or int(node_id) not in set(engine.state.plans.node_ids.tolist())
    ):
        raise ActionError(
            f"junction {str(node_id)[:40]!r} is not a signalised junction of this scenario",
            code="unknown_junction",
        )
    return int(node_id)


def _checkpoint(engine: Engine, index: Any) -> int:
    layout = getattr(engine, "pedestrians", None)
    count = 0 if layout is None else len(layout.specs)
    if (
        isinstance(index, bool)
        or not isinstance(index, (int, np.integer))
        or not 0 <= int(index) < count
    ):
        raise ActionError(
            f"checkpoint {str(index)[:40]!r} does not exist (this scenario has {count}, "
            f"numbered 0 to {count - 1})",
            code="unknown_checkpoint",
        )
    return int(index)


def hospitals(engine: Engine) -> dict[str, dict[str, Any]]:
    """Hospitals a corridor may go to: id -> node, name, off-network distance (m)."""
    return corridor.hospitals(engine)


def checkpoint_rows(engine: Engine) -> list[dict[str, Any]]:
    """The checkpoint table (waits in seconds, lanes, advice); empty without venues."""
    if getattr(engine, "pedestrians", None) is None:
        return []
    return pedestrians.checkpoint_table(engine, target_wait_s=pedestrians.WAIT_TARGET_S)


def junction_detail(engine: Engine, node_id: Any) -> dict[str, Any]:
    """A signalised junction's plan and the link ids of its signal-controlled approaches."""
    node = _node(engine, node_id)
    into = np.unique(engine.net.mv_from_link[engine.signal_movements(node)])
    return {"plan": engine.state.plans.plan_of(node), "approaches": [int(k) for k in into]}


def signal_plan(engine: Engine, node_id: Any) -> dict[str, Any]:
    """The junction's current plan (cycle, offset, intergreen, greens and minimum greens, s)."""
    return engine.state.plans.plan_of(_node(engine, node_id))


def signal_plans(engine: Engine) -> list[dict[str, Any]]:
    """Every signalised junction's current plan."""
    return [engine.state.plans.plan_of(int(n)) for n in engine.state.plans.node_ids]


def suggested_plan(engine: Engine, node_id: Any) -> dict[str, Any]:
    """Webster's plan for the junction from the current flows (not applied)."""
    plan = whatif.suggest_plan(engine, _node(engine, node_id))
    return {
        "node_id": plan.node_id,
        "cycle_s": plan.cycle_s,
        "greens_s": list(plan.greens_s),
        "offset_s": plan.offset_s,
    }


def checkpoint_detail(engine: Engine, index: Any) -> dict[str, Any]:
    """The checkpoint table, the selected checkpoint's wait history and predicted waits (s)."""
    index = _checkpoint(engine, index)
    rows = checkpoint_rows(engine)
    state = engine.state.extras[pedestrians.KEY].checkpoints
    return {
        "rows": rows,
        "history": checkpoints.history(state),
        "predicted": np.asarray(rows[index]["predicted_wait_s"]),
        "now_s": engine.time_s,
    }


def lanes(engine: Engine, index: Any, lane_type: Any) -> int:
    """Open lanes of ``lane_type`` (``face`` or ``manual``) at checkpoint ``index``."""
    index = _checkpoint(engine, index)
    if lane_type not in LANE_TYPES:
        raise ActionError(
            f"lane type must be one of {LANE_TYPES}, got {str(lane_type)[:40]!r}",
            code="bad_lane_type",
        )
    state = engine.state.extras[pedestrians.KEY].checkpoints
    return int((state.lanes_face if lane_type == "face" else state.lanes_manual)[index])


def checkpoint_lanes(engine: Engine) -> list[dict[str, Any]]:
    """Every checkpoint's id, name and open lanes by type."""
    layout = getattr(engine, "pedestrians", None)
    if layout is None:
        return []
    state = engine.state.extras[pedestrians.KEY].checkpoints
    return [
        {
            "checkpoint_id": i,
            "name": spec.name,
            "lanes_face": int(state.lanes_face[i]),
            "lanes_manual": int(state.lanes_manual[i]),
        }
        for i, spec in enumerate(layout.specs)
    ]


def corridors(engine: Engine) -> list[dict[str, Any]]:
    """Ambulance corridors dispatched so far, with their status."""
    return [
        corridor.status(engine, amb)
        for amb in engine.state.extras.get(corridor.EXTRAS_KEY, {}).values()
    ]


def forecast_copy(engine: Engine) -> Engine:
    """An independent copy of the engine for a what-if or a corridor preview (run outside the
    loop; the live twin is untouched)."""
    return engine.fork()


def time_s(engine: Engine) -> float:
    """The engine's simulated time (s since midnight)."""
    return float(engine.time_s)


def api_state(engine: Engine) -> dict[str, Any]:
    """One consistent read for the HTTP API: time (s), plans, checkpoint lanes, corridors."""
    return {
        "time_s": time_s(engine),
        "signal_plans": signal_plans(engine),
        "checkpoint_lanes": checkpoint_lanes(engine),
        "corridors": corridors(engine),
    }


QUERIES: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        hospitals,
        checkpoint_rows,
        junction_detail,
        signal_plan,
        signal_plans,
        suggested_plan,
        checkpoint_detail,
        lanes,
        checkpoint_lanes,
        corridors,
        forecast_copy,
        time_s,
        api_state,
    )
}
"""The queries :meth:`twin.service.live.LiveTwin.query` runs, by name."""
