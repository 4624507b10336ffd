"""Who may do what: the one permission table (role x input kind), deny by default.

Consulted by the command path, the Dash callbacks, the HTTP API and the stream consumer alike.
(Contract version: the fault/permission work extends it with pages and data and wires every
entry point to it.)
"""

from __future__ import annotations

ROLES = ("operator", "planner", "executive", "admin", "feed")
"""Every role a user or token can have. ``feed`` may post field feeds and nothing else."""

OPERATOR_ACTIONS = ("set_signal_plan", "set_lanes", "dispatch_corridor", "cancel_corridor")

INPUT_PERMISSIONS: dict[str, frozenset[str]] = {
    **{kind: frozenset({"operator"}) for kind in OPERATOR_ACTIONS},
    "acknowledge": frozenset({"operator"}),
    "shelve": frozenset({"operator"}),
    "clock": frozenset({"admin"}),
    "feed": frozenset({"feed"}),
}
"""Input kind -> roles that may submit it through the command path."""


def may(role: str, input_kind: str) -> bool:
    """Whether ``role`` may submit ``input_kind``; anything not in the table is denied."""
    return role in INPUT_PERMISSIONS.get(input_kind, frozenset())
