"""Operator actions: each checks itself against the engine, then changes it.

``Engine.apply(action)`` calls ``action.check(engine)`` (raises :class:`ActionError`, nothing
changed) and then ``action.execute(engine)``, which returns ``{"action", "target", "before",
"after"}`` for the audit log. Actions are frozen dataclasses of plain values so they can be
recorded as JSON and replayed (:func:`action_from_dict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from twin.errors import ActionError
from twin.models import signals

if TYPE_CHECKING:
    from twin.engine import Engine


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

    def check(self, engine: Engine) -> None:
        """Refuse (with a code and a message in the operator's words) a plan that breaks a rule:
        see :func:`twin.models.signals.check_plan`; ``preempted`` while a green corridor holds
        the junction."""
        node = _junction_number(self.node_id)
        plans = engine.state.plans
        row = plans.row(node)
        for pre in engine.state.preemptions:
            if pre.row == row:
                raise ActionError(
                    f"{engine.scenario.junction_name(node)} is held green for corridor "
                    f"{pre.corridor_id or 'an ambulance'}"
                    " right now: try again once the ambulance has passed",
                    code="preempted",
                )
        signals.check_plan(
            plans,
            node,
            cycle_s=self.cycle_s,
            greens_s=list(self.greens_s) if isinstance(self.greens_s, tuple) else self.greens_s,
            offset_s=self.offset_s,
        )

    def execute(self, engine: Engine) -> dict[str, Any]:
        before = engine.state.plans.plan_of(self.node_id)
        engine.state.plans = signals.with_plan(
            engine.state.plans,
            self.node_id,
            cycle_s=self.cycle_s,
            greens_s=list(self.greens_s),
            offset_s=self.offset_s,
        )
        return action_result(
            self,
            engine.scenario.junction_name(self.node_id),
            before,
            engine.state.plans.plan_of(self.node_id),
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
    from twin.crowd import pedestrians  # noqa: F401 - imported for their @register_action
    from twin.models import corridor  # noqa: F401


def action_result(action: Any, target: str, before: Any, after: Any) -> dict[str, Any]:
    return {"action": action_to_dict(action), "target": target, "before": before, "after": after}


def _junction_number(value: Any) -> int:
    if value is None:
        raise ActionError(
            "No junction chosen: pick one on the map or from the list", code="empty_value"
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionError(
            f"The junction must be a junction number from the list (got {str(value)[:40]!r})",
            code="bad_value",
        )
    return value


def signal_plan_from_form(
    node_id: Any, greens_s: Sequence[Any] | None, cycle_s: Any, offset_s: Any
) -> SetSignalPlan:
    """The signal editor's fields as an action; a field left empty is refused here (code
    ``empty_value``, "Phase 1 green is empty: type a number of seconds") before it reaches the
    command path, so an unfinished form changes nothing and writes no audit row. Every other
    rule is checked by :meth:`SetSignalPlan.check` on the command path."""
    if node_id is None:
        _junction_number(node_id)
    for k, green in enumerate(greens_s or ()):
        signals.require_value(f"Phase {k + 1} green", green)
    signals.require_value("The cycle", cycle_s)
    signals.require_value("The offset", offset_s)
    return SetSignalPlan(node_id, cycle_s, tuple(greens_s or ()), offset_s)
