"""What the callbacks of one app talk to: the store, the live twin and the static scene.

:func:`app.create_app` builds one :class:`Services` per app and keeps it in
``app.server.extensions["venuetwin"]``; callbacks fetch it with :func:`services` when they are
registered (no module-level state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from layouts.deck import Scene

if TYPE_CHECKING:
    from pathlib import Path

    import dash

    from twin.scenario import Scenario
    from twin.service.audit import AuditLog
    from twin.service.commands import CommandPath
    from twin.service.live import Background, LiveTwin
    from twin.service.store import Store

EXTENSION_KEY = "venuetwin"


@dataclass(frozen=True)
class Services:
    """The twin services and static data of one app.

    ``live`` is ``None`` for a web worker that only reads a store another process fills.
    """

    store: Store
    live: LiveTwin | None
    scene: Scene
    plans: dict[int, str]
    sessions: list[dict[str, Any]]
    commands: CommandPath | None = None  # the one path for operator actions (None: read-only)
    scenario: Scenario | None = None
    normal_day: Background | None = None  # of twin.service.summary.normal_day
    recordings: Path | None = None  # the recordings folder


def audit_log(app: dash.Dash) -> AuditLog | None:
    """The app's :class:`twin.service.audit.AuditLog` when sign-in is on, else None."""
    auth = app.server.extensions.get("venuetwin.auth")
    return auth.audit if auth is not None else None


def who() -> dict[str, str]:
    """``user``, ``role`` and ``ip`` of the request, for the command path (without sign-in:
    ``local`` with the role ``local``, see :data:`twin.service.permissions.LOCAL`)."""
    from flask import request

    from callbacks.auth import current_user
    from twin.service.permissions import LOCAL

    user = current_user()
    name, role = (user.name, user.role) if user is not None else ("local", LOCAL)
    return {"user": name, "role": role, "ip": request.remote_addr or ""}


def services(app: dash.Dash) -> Services:
    """The :class:`Services` of ``app`` (a Dash app made by ``create_app``)."""
    return app.server.extensions[EXTENSION_KEY]
