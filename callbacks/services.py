"""What the callbacks of one app talk to: the store, the live twin and the static scene.

:func:`app.create_app` builds one :class:`Services` per app and keeps it in
``app.server.extensions["venuetwin"]``; callbacks fetch it with :func:`services` when they are
registered (no module-level state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layouts.deck import Scene

EXTENSION_KEY = "venuetwin"


@dataclass(frozen=True)
class Services:
    """The twin services and static data of one app.

    ``live`` is ``None`` for a web worker that only reads a store another process fills.
    """

    store: Any
    live: Any
    scene: Scene
    plans: dict[int, str]
    sessions: list[dict[str, Any]]


def services(app: Any) -> Services:
    """The :class:`Services` of ``app`` (a Dash app made by ``create_app``)."""
    return app.server.extensions[EXTENSION_KEY]
