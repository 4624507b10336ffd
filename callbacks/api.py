"""The HTTP API for other systems (and tests): JSON under ``/api/v1`` (work in progress)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

__all__ = ["register_api"]

PREFIX = "/api/v1"


def register_api(app: Any) -> Blueprint:
    """Register the ``/api/v1`` blueprint on ``app.server`` (a Dash app made by ``create_app``)."""
    blueprint = Blueprint("venuetwin_api", __name__, url_prefix=PREFIX)
    app.server.register_blueprint(blueprint)
    return blueprint
