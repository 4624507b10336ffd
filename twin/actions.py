"""Operator actions: each checks itself against the engine, then changes it.

``Engine.apply(action)`` calls ``action.check(engine)`` (raises :class:`ActionError`, nothing
changed) and then ``action.execute(engine)``, which returns ``{"action", "target", "before",
"after"}`` for the audit log. Actions are frozen dataclasses of plain values so they can be
recorded as JSON and replayed (:func:`action_from_dict`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from twin.errors import ActionError
from twin.models import signals


@dataclass(frozen=True)
class SetSignalPlan:
    """Replace the fixed-time plan of the signalised junction at ``node_id``.

    ``greens_s`` has one effective green (s) per phase; with the junction's intergreens they
    must add up to ``cycle_s``. ``offset_s`` in [0, cycle_s).
    """

    node_id: int
    cycle_s: float
    greens_s: tuple[float, ...]
    offset_s: float = 0.0
    kind: str = "set_signal_plan"

    def check(self, engine: Any) -> None:
        _check_number("cycle_s", self.cycle_s)
        _check_number("offset_s", self.offset_s)
        for value in self.greens_s:
            _check_number("greens_s", value)
        if engine.state.preemptions and any(
            engine.state.plans.node_ids[p.row] == self.node_id for p in engine.state.preemptions
        ):
            raise ActionError(
                f"node_id {self.node_id} is pre-empted by a green corridor; retry after it"
            )
        signals.check_plan(
            engine.state.plans,
            _as_int("node_id", self.node_id),
            cycle_s=self.cycle_s,
            greens_s=list(self.greens_s),
            offset_s=self.offset_s,
        )

    def execute(self, engine: Any) -> dict[str, Any]:
        before = engine.state.plans.plan_of(self.node_id)
        engine.state.plans = signals.with_plan(
            engine.state.plans,
            self.node_id,
            cycle_s=self.cycle_s,
            greens_s=list(self.greens_s),
            offset_s=self.offset_s,
        )
        return action_result(
            self, f"junction {self.node_id}", before, engine.state.plans.plan_of(self.node_id)
        )


ACTION_TYPES: dict[str, type] = {"set_signal_plan": SetSignalPlan}


def register_action(cls: type) -> type:
    """Make an action class known to :func:`action_from_dict` (by its ``kind`` default)."""
    ACTION_TYPES[cls.kind] = cls
    return cls


def action_to_dict(action: Any) -> dict[str, Any]:
    """Plain JSON-ready form of an action."""
    return asdict(action)


def action_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild an action from :func:`action_to_dict`'s form; unknown kinds or fields are refused."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ActionError("action must be an object with a 'kind' field")
    _register_all()
    cls = ACTION_TYPES.get(data["kind"])
    if cls is None:
        raise ActionError(f"unknown action kind {data['kind']!r}; known: {sorted(ACTION_TYPES)}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ActionError(f"{data['kind']}: unknown field(s) {unknown}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as error:
        raise ActionError(f"{data['kind']}: {error}") from error


def _register_all() -> None:
    """Import the modules whose action kinds register themselves (lanes, corridors)."""
    from twin.models import corridor  # noqa: F401 - imported for their @register_action


def action_result(action: Any, target: str, before: Any, after: Any) -> dict[str, Any]:
    return {"action": action_to_dict(action), "target": target, "before": before, "after": after}


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ActionError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionError(f"{name} must be a whole number, got {value!r}")
    return value
