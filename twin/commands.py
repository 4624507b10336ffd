"""The one command path: every operator action is checked, durably recorded, then applied.

:meth:`CommandPath.submit` runs one function in the live loop thread (the only writer), so
nothing can change between the check, the record and the apply:

1. build the action from plain data when a dict arrives (unknown kinds or fields are refused);
2. check it against the live engine (``action.check``); a refusal is recorded in the audit log
   with result ``refused`` and the reason in ``detail``, and nothing changes;
3. compute ``before``/``after`` by applying it to ``engine.fork()``;
4. write the audit row (returns only once it is durable);
5. apply it to the live engine and return a :class:`CommandResult`.

Two operators acting at once: the last writer wins, but when the value the operator saw
(``based_on``) is no longer the current value the result carries a ``warning`` naming who
changed it last (from the audit log).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from twin.actions import action_from_dict, action_to_dict
from twin.audit import AuditFilter
from twin.errors import ActionError

__all__ = ["CommandPath", "CommandResult"]

ACTION_PREFIX = "twin."
"""Audit ``action`` names are ``twin.<kind>`` (``twin.set_signal_plan``)."""


@dataclass(frozen=True)
class CommandResult:
    """What the operator is told: applied or refused (with the reason), and any warning."""

    ok: bool
    kind: str
    target: str
    before: Any = None
    after: Any = None
    reason: str = ""
    warning: str = ""
    audit_id: int | None = None
    sim_time_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CommandPath:
    """Submit operator actions to ``live`` (a :class:`twin.live.LiveTwin`), recording each in
    ``audit`` (a :class:`twin.audit.AuditLog`) before it is applied."""

    def __init__(self, live: Any, audit: Any, *, timeout_s: float = 30.0) -> None:
        self.live = live
        self.audit = audit
        self.timeout_s = timeout_s

    def submit(self, action: Any, *, user: str, role: str, based_on: Any = None,
               ip: str = "") -> CommandResult:
        """Check, record, apply ``action`` (an action object or its dict form); never raises
        :class:`ActionError` (a refusal is a result with ``ok=False``)."""
        if isinstance(action, dict) or action is None or not hasattr(action, "check"):
            try:
                action = action_from_dict(action)
            except ActionError as error:
                kind = action.get("kind") if isinstance(action, dict) else None
                return self._refuse(None, str(kind or "unknown"), "", str(error), user, role, ip)
        future = self.live.call(lambda engine: self._run(engine, action, user, role, based_on, ip))
        return future.result(timeout=self.timeout_s)

    # ------------------------------------------------------------ in the loop thread
    def _run(self, engine: Any, action: Any, user: str, role: str, based_on: Any,
             ip: str) -> CommandResult:
        kind = getattr(action, "kind", type(action).__name__)
        try:
            action.check(engine)
            preview = engine.fork().apply(action)  # before/after without touching the live state
        except ActionError as error:
            return self._refuse(engine, kind, _target(action), str(error), user, role, ip)
        except (TypeError, ValueError, KeyError, IndexError) as error:
            return self._refuse(engine, kind, _target(action), f"malformed {kind}: {error}", user, role, ip)
        before, after, target = _plain(preview["before"]), _plain(preview["after"]), preview["target"]
        warning = ""
        if based_on is not None and not _same(based_on, before):
            warning = self._overwrite_warning(target, user)
        entry = self.audit.record(
            user=user, role=role, action=ACTION_PREFIX + kind, target=target, before=before,
            after=after, result="ok", sim_time_s=float(engine.time_s), ip=ip,
            detail=json.dumps({"action": _plain(action_to_dict(action)), "warning": warning}),
        )
        engine.apply(action)  # checked above in this same loop turn: cannot be refused now
        return CommandResult(True, kind, target, before, after, warning=warning, audit_id=entry.id,
                             sim_time_s=float(engine.time_s))

    def _refuse(self, engine: Any, kind: str, target: str, reason: str, user: str, role: str,
                ip: str) -> CommandResult:
        sim_time_s = float(engine.time_s) if engine is not None else None
        entry = self.audit.record(user=user, role=role, action=ACTION_PREFIX + kind, target=target,
                                  result="refused", sim_time_s=sim_time_s, ip=ip, detail=reason)
        return CommandResult(False, kind, target, reason=reason, audit_id=entry.id, sim_time_s=sim_time_s)

    def _overwrite_warning(self, target: str, user: str) -> str:
        for entry in self.audit.query(AuditFilter(action=ACTION_PREFIX, result="ok", limit=200)):
            if entry.target == target:
                when = datetime.fromtimestamp(entry.wall_time_s, tz=UTC).strftime("%H:%M:%S UTC")
                who = "you" if entry.user == user else entry.user
                return (f"{target} was changed by {who} at {when} after you loaded it; "
                        "your change replaced theirs")
        return f"{target} changed after you loaded it; your change replaced the newer value"

    # ------------------------------------------------------------ reads
    def read(self, fn: Any) -> Any:
        """``fn(engine)`` in the loop thread (for consistent reads such as taking a fork)."""
        return self.live.call(fn).result(timeout=self.timeout_s)


def _target(action: Any) -> str:
    for name in ("node_id", "corridor_id", "checkpoint_id"):
        if hasattr(action, name):
            return f"{name} {getattr(action, name)!r}"
    return ""


def _plain(value: Any) -> Any:
    """JSON-ready copy: tuples to lists, numpy scalars to Python numbers."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _same(a: Any, b: Any) -> bool:
    a, b = _plain(a), _plain(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, abs_tol=1e-6)
    return a == b
