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
  ``DependencyException``, which Flask would answer with ``500``);
- a ``/_dash-update-component`` body whose shape does not fit the callback it names
  (unknown output, inputs or state of the wrong number or kind, ...) is ``400``, where
  Dash would raise ``KeyError``, ``TypeError`` or ``CallbackException`` (``500``). The
  check wraps Dash's view, so it runs after every before-request check (the session).

Call it once per server, after the Dash app is built on it (``dash.Dash(server=server)``),
before or after ``callbacks.auth.install_auth``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

import flask
from dash.exceptions import CallbackException, DependencyException
from flask.json.provider import JSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "install_request_limits",
    "json_depth",
    "update_body_problem",
]

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a Dash update of the control room is a few kB
MAX_JSON_DEPTH = 100  # Dash layouts sent back as State nest a few dozen levels at most
_INSTALLED_KEY = "venuetwin.request_limits"


def install_request_limits(
    server: flask.Flask,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_json_depth: int = MAX_JSON_DEPTH,
) -> None:
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
                f"The request body is {length} bytes; at most {max_body_bytes} are accepted."
            )
        return None

    # First of all before-request functions: it reads only a header.
    server.before_request_funcs.setdefault(None, []).insert(0, refuse_large_body)
    server.register_error_handler(DependencyException, _unknown_component_file)
    server.register_error_handler(CallbackException, _callback_mismatch)
    for rule in list(server.url_map.iter_rules()):
        dash_app = _dash_app_of(server, rule.rule)
        if dash_app is not None:
            view = server.view_functions[rule.endpoint]
            server.view_functions[rule.endpoint] = _checked_update(view, dash_app)


def _dash_app_of(server: flask.Flask, rule: str) -> Any:
    """The Dash app whose update route is `rule`, or None if `rule` is not one.

    Dash serves ``<prefix>_dash-layout`` with a bound method of the app.
    """
    suffix = "_dash-update-component"
    if not rule.endswith("/" + suffix):
        return None
    view = server.view_functions.get(rule[: -len(suffix)] + "_dash-layout")
    app = getattr(view, "__self__", None)
    return app if isinstance(getattr(app, "callback_map", None), dict) else None


def _checked_update(view: Callable[..., Any], dash_app: Any) -> Callable[..., Any]:
    """Dash's update view, answering 400 to a body that does not fit its callback."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        body = flask.request.get_json()  # 400/415 from Flask if not JSON; cached for Dash
        problem = update_body_problem(body, dash_app.callback_map)
        if problem:
            return flask.jsonify(error="bad request", reason=problem), 400
        return view(*args, **kwargs)

    return checked


def _unknown_component_file(_error: DependencyException) -> Any:
    return flask.jsonify(error="not found", reason="no such component file"), 404


def _callback_mismatch(error: CallbackException) -> Any:
    """Dash's own checks of a request against a callback's definition raise the base
    class; its subclasses (a callback returning a wrong value, ...) are server faults."""
    if type(error) is not CallbackException:
        raise error
    return flask.jsonify(error="bad request", reason="does not match the callback"), 400


def _dependency_problem(name: str, items: Any, spec: list[Mapping[str, Any]]) -> str | None:
    if not isinstance(items, list) or len(items) != len(spec):
        return f"'{name}' must be a list of {len(spec)} items"
    for item, dependency in zip(items, spec, strict=True):
        wildcard = _wildcard(dependency.get("id", ""))
        entries = item if wildcard in ("ALL", "ALLSMALLER") else [item]
        if not isinstance(entries, list) or not all(_is_prop(e) for e in entries):
            return f"'{name}' items must be {{id, property}} objects as the callback defines"
    return None


def _wildcard(component_id: str) -> str | None:
    if not component_id.startswith("{"):
        return None
    try:
        values = json.loads(component_id).values()
    except (ValueError, AttributeError):
        return None
    kinds = {v[0] for v in values if isinstance(v, list) and v}
    return next((k for k in ("ALL", "ALLSMALLER", "MATCH") if k in kinds), None)


def _is_prop(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("property"), str)
        and isinstance(entry.get("id"), (str, dict))
    )


def _outputs_problem(outputs: Any, spec: Any) -> str | None:
    """What is wrong with a body's ``outputs`` for the callback's output ``spec`` (one Output,
    or a list of them), or None: one item per output, a list of {id, property} objects for a
    wildcard (ALL) output, one object otherwise. Dash answers 500 to a shape it did not expect."""
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    items = outputs if isinstance(spec, (list, tuple)) else [outputs]
    if not isinstance(items, list) or len(items) != len(specs):
        return f"'outputs' must be {len(specs)} {{id, property}} item(s) as the callback defines"
    for item, output in zip(items, specs, strict=True):
        many = _wildcard(output.component_id_str()) in ("ALL", "ALLSMALLER")
        entries = item if many else [item]
        if not isinstance(entries, list) or not all(_is_prop(e) for e in entries):
            return "'outputs' items must be {id, property} objects as the callback defines"
    return None


def update_body_problem(body: Any, callback_map: Mapping[str, Any]) -> str | None:
    """What is wrong with a ``/_dash-update-component`` body for `callback_map`, or None.

    Checks the envelope only (names, counts and kinds); values are the callback's to check.
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    callback = callback_map.get(output) if isinstance(output, str) else None
    if not callback or "callback" not in callback:
        return "'output' must name a server callback of this app"
    problem = _dependency_problem(
        "inputs", body.get("inputs"), callback["inputs"]
    ) or _dependency_problem("state", body.get("state", []), callback["state"])
    if problem:
        return problem
    if not callback.get("no_output"):
        problem = _outputs_problem(body.get("outputs"), callback["output"])
        if problem:
            return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "'changedPropIds' must be a list of strings"
    return None


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
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
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
            b"{" if isinstance(s, bytes) else "{"
        )
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
