"""Request limits for the Flask server under the Dash app, with or without sign-in.

``install_request_limits(server)`` makes what a client sends unable to exhaust the
server or crash a request:

- bodies over :data:`MAX_BODY_BYTES` are refused with ``413`` from their
  ``Content-Length`` before anything reads them (a chunked body is cut off at the
  same size by Flask's ``MAX_CONTENT_LENGTH`` while it is read);
- JSON is parsed lazily, by whoever asks for it (Dash, the sign-in guard), so the
  session check in ``callbacks.auth`` runs before a body is parsed; JSON nested
  deeper than :data:`MAX_JSON_DEPTH` (or deep enough to exhaust Python's recursion)
  is refused with ``400`` instead of a ``RecursionError`` and a ``500``;
- an unknown ``/_dash-component-suites/...`` file is ``404`` (Dash raises
  ``DependencyException``, which Flask would answer with ``500``).

Call it once per server, before or after ``callbacks.auth.install_auth``.
"""

from __future__ import annotations

from typing import Any

import flask
from dash.exceptions import DependencyException
from flask.json.provider import JSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "install_request_limits", "json_depth"]

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a Dash update of the control room is a few kB
MAX_JSON_DEPTH = 100  # Dash layouts sent back as State nest a few dozen levels at most
_INSTALLED_KEY = "venuetwin.request_limits"


def install_request_limits(server: flask.Flask, *, max_body_bytes: int = MAX_BODY_BYTES,
                           max_json_depth: int = MAX_JSON_DEPTH) -> None:
    """Put the body size limit, the bounded JSON parser and the 404 for bad Dash
    component paths on `server` (see the module docstring). Idempotent."""
    if max_body_bytes < 1:
        raise ValueError(f"'max_body_bytes' must be >= 1, got {max_body_bytes}")
    if max_json_depth < 2:
        raise ValueError(f"'max_json_depth' must be >= 2, got {max_json_depth}")
    if server.extensions.get(_INSTALLED_KEY):
        return
    server.extensions[_INSTALLED_KEY] = True
    server.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    server.json = _BoundedJSON(server, server.json, max_depth=max_json_depth)

    def refuse_large_body() -> Any:
        length = flask.request.content_length
        if length is not None and length > max_body_bytes:
            raise RequestEntityTooLarge(
                f"The request body is {length} bytes; at most {max_body_bytes} are accepted.")
        return None

    # First of all before-request functions: it reads only a header.
    server.before_request_funcs.setdefault(None, []).insert(0, refuse_large_body)
    server.register_error_handler(DependencyException, _unknown_component_file)


def _unknown_component_file(_error: DependencyException) -> Any:
    return flask.jsonify(error="not found", reason="no such component file"), 404


def json_depth(value: Any) -> int:
    """How deeply lists and dicts nest in `value` (a scalar is 0, ``[]`` is 1); no recursion."""
    depth, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth = max(depth, level)
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, (dict, list)))
    return depth


class _BoundedJSON(JSONProvider):
    """The app's JSON provider, with ``loads`` refusing over-deep documents.

    A refusal is a ``ValueError``, which Flask's ``request.get_json`` turns into
    ``400 Bad Request`` (or ``None`` with ``silent=True``).
    """

    def __init__(self, app: flask.Flask, inner: JSONProvider, *, max_depth: int) -> None:
        super().__init__(app)
        self._inner, self._max_depth = inner, max_depth

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self._inner.dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> flask.Response:
        return self._inner.response(*args, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        opening = s.count(b"[" if isinstance(s, bytes) else "[") + s.count(
            b"{" if isinstance(s, bytes) else "{")
        try:
            value = self._inner.loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"JSON must nest at most {self._max_depth} levels deep") from None
        # Fewer brackets than the limit cannot nest deeper than it: skip the walk.
        if opening > self._max_depth and json_depth(value) > self._max_depth:
            raise ValueError(f"JSON must nest at most {self._max_depth} levels deep")
        return value

    def __getattr__(self, name: str) -> Any:  # sort_keys, compact, ... of the inner provider
        return getattr(self._inner, name)
