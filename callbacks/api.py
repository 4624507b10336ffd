"""The HTTP API for other systems (and tests): JSON under ``/api/v1``.

``register_api(app)`` adds a Flask blueprint to the Dash app's server:

- ``GET /api/v1/state``: simulated time, clock, KPIs, signal plans, checkpoint lanes, active
  corridors and open alerts of the live twin (read-only queries, :mod:`twin.service.queries`);
- ``POST /api/v1/actions``: one action as JSON. The body is read with a size limit, parsed
  strictly (no NaN, no duplicate keys) and validated with ``jsonschema`` against the schemas of
  the OpenAPI document (:mod:`callbacks.api_schema`) before it reaches the one command path
  (:class:`twin.service.commands.CommandPath`), which checks it against the twin, writes the audit row
  and the recording row to disk, applies it, and only then is ``200`` sent. A twin refusal is
  ``422`` with the twin's code (recorded as refused; nothing changed);
- ``GET /api/v1/recordings`` and ``GET /api/v1/recordings/{id}/state?t=HH:MM``: the recorded
  days, and one of them reconstructed at a time (:func:`twin.service.replay.state_at`, one replay
  engine per recording, reused across seeks under a lock);
- ``GET /api/v1/openapi.json``: the OpenAPI 3.1 document.

Who acts: :func:`callbacks.services.who` (the signed-in user or bearer token's user; without
sign-in ``local``). Sign-in itself (401, CSRF for session cookies, tokens) is ``callbacks.auth``'s
guard, which runs before any of this. Who may read what and submit which kind is the one
permission table (:mod:`twin.service.permissions`): ``403`` otherwise, written to the security
log, nothing changed (the command path checks the same table again).

Errors are always JSON ``{"error": {"code", "message", ...}}``, never a 5xx for bad input.
A recording id from a URL is only ever looked up among the files of the recordings folder,
never joined onto a path.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import HTTPException

from callbacks.api_schema import ACTION_KINDS, OPENAPI, SCHEMA_URI, openapi_document
from callbacks.services import EXTENSION_KEY, who
from twin.service import permissions
from twin.service.replay_service import FORKS_FOLDER

if TYPE_CHECKING:
    import dash

    from callbacks.services import Services
    from twin.scenario import Scenario
    from twin.service.commands import CommandPath, CommandResult

__all__ = ["MAX_BODY_BYTES", "PREFIX", "action_errors", "register_api"]

log = logging.getLogger("venuetwin.api")

PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
"""An action is a few hundred bytes; anything over this is refused (413) unread."""
MAX_REPLAY_ENGINES = 2
"""Replay engines kept (one per recording, least recently used dropped): each holds a scenario's state."""
INPUT_KIND = {"clock": "clock", "acknowledge": "acknowledge"}
"""Body kind -> input kind of the permission table (operator actions are their own kind)."""
_API_INPUTS = tuple(INPUT_KIND.get(kind, kind) for kind in ACTION_KINDS)
RECORDING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
_STATE_KEY = "venuetwin.api"
_MAX_LISTED_ERRORS = 20


# ---------------------------------------------------------------- schema validation
def _validator(schema_name: str) -> Draft202012Validator:
    registry = Registry().with_resource(
        SCHEMA_URI, Resource.from_contents(OPENAPI, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{SCHEMA_URI}#/components/schemas/{schema_name}"},
        registry=registry,
        format_checker=FormatChecker(),
    )


_KIND_VALIDATOR = _validator("ActionKind")
_ACTION_VALIDATORS = {kind: _validator(name) for kind, name in ACTION_KINDS.items()}
_ACTION_SCHEMAS = {
    kind: OPENAPI["components"]["schemas"][name] for kind, name in ACTION_KINDS.items()
}


class ApiError(Exception):
    """A request the API refuses: HTTP ``status`` and the JSON error object."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.body, self.headers = (
            status,
            {"code": code, "message": message, **extra},
            headers or {},
        )


def _field(path: Any, name: Any = None) -> str:
    text = ""
    for part in [*path, *([] if name is None else [name])]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)
_COMPARISONS = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def _json_type(value: Any) -> str:
    return next(name for cls, name in _JSON_TYPES if isinstance(value, cls))


def _describe(error: ValidationError) -> dict[str, str]:
    """``field``, ``rule`` and a message naming both, for one schema error."""
    rule, value, limit, schema = (
        error.validator,
        error.instance,
        error.validator_value,
        error.schema,
    )
    field = _field(error.absolute_path)
    if rule == "required":
        missing = [name for name in limit if isinstance(value, dict) and name not in value] or list(
            limit
        )
        field = _field(error.absolute_path, missing[0])
        text = f"required field{'s' if len(missing) > 1 else ''} missing" + (
            f" (also {', '.join(missing[1:])})" if len(missing) > 1 else ""
        )
    elif rule == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        extra = sorted(set(value) - set(known)) if isinstance(value, dict) else []
        field = _field(error.absolute_path, extra[0] if extra else None)
        text = f"unknown field (this kind takes {', '.join(known)})"
    elif rule == "type":
        wanted = limit if isinstance(limit, list) else [limit]
        text = f"must be {' or '.join(wanted)}, got {_json_type(value)} {_short(value)}"
    elif rule == "const":
        text = f"must be {_short(limit)}, got {_short(value)}"
    elif rule == "enum":
        text = f"must be one of {', '.join(_short(v) for v in limit)}, got {_short(value)}"
    elif rule in _COMPARISONS:
        text = f"must be {_COMPARISONS[rule]} {limit:g}, got {_short(value)}"
    elif rule in ("minItems", "maxItems"):
        text = f"must have {'at least' if rule == 'minItems' else 'at most'} {limit} items, got {len(value)}"
    elif rule in ("minLength", "maxLength"):
        text = f"must have {'at least' if rule == 'minLength' else 'at most'} {limit} characters, got {len(value)}"
    elif rule == "pattern":
        text = f"must match {limit} ({schema.get('description', 'pattern')}), got {_short(value)}"
    elif rule == "oneOf" and "x-message" in schema:
        text = schema["x-message"]
    else:
        text = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return {
        "field": field or "(body)",
        "rule": str(rule),
        "message": f"{field or 'body'}: {text} (rule: {rule})",
    }


def action_errors(body: Any) -> list[dict[str, str]]:
    """Schema errors of an action body (empty when valid), most relevant first."""
    errors = list(_KIND_VALIDATOR.iter_errors(body))
    if not errors:
        errors = list(_ACTION_VALIDATORS[body["kind"]].iter_errors(body))
    if not errors:
        return []
    first = best_match(errors)
    out: list[dict[str, str]] = []
    for error in [first, *(e for e in errors if e is not first)]:
        described = _describe(error)
        if described not in out:  # one "required" error per missing field names them all
            out.append(described)
    return out[:_MAX_LISTED_ERRORS]


def _coerce_integers(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Whole numbers sent as ``3.0`` (valid JSON Schema integers) become ``3`` for the twin."""
    props = _ACTION_SCHEMAS[kind].get("properties", {})
    return {
        k: int(v) if props.get(k, {}).get("type") == "integer" and isinstance(v, float) else v
        for k, v in body.items()
    }


# ---------------------------------------------------------------- request and response
def _clean(value: Any) -> Any:
    """JSON-ready: non-finite floats become null, numpy values Python values, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    return str(value)


def _json(payload: Any, status: int = 200) -> Response:
    response = Response(
        json.dumps(_clean(payload), allow_nan=False, ensure_ascii=False),
        status=status,
        mimetype="application/json",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_response(error: ApiError) -> Response:
    response = _json({"error": error.body}, error.status)
    response.headers.update(error.headers)
    return response


def _not_a_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:40]!r}")
        out[key] = value
    return out


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or :class:`ApiError` (415, 413, 400) saying why."""
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the action as Content-Type: application/json, got {request.mimetype or 'none'!r}",
        )
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise ApiError(
            413, "too_large", f"the body is {length} bytes; at most {MAX_BODY_BYTES} are accepted"
        )
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(
            413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes, the most accepted"
        )
    if not raw.strip():
        raise ApiError(400, "invalid_json", "the body is empty; send one action as a JSON object")
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_constant=_not_a_json_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError as error:
        raise ApiError(
            400, "invalid_json", f"the body is not UTF-8 text (byte {error.start})"
        ) from None
    except RecursionError:
        raise ApiError(
            400, "invalid_json", "the body is not valid JSON: it nests too deeply"
        ) from None
    except ValueError as error:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON: {str(error)[:200]}"
        ) from None
    if not isinstance(value, dict):
        raise ApiError(
            400,
            "invalid_body",
            f"the body must be a JSON object (one action), got {_json_type(value)}",
        )
    return value


# ---------------------------------------------------------------- replay engines
class _Replays:
    """One replay engine per recording (least recently used dropped), each used under its lock."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._fingerprint: str | None = None
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int, int], dict[str, Any]] = OrderedDict()

    def fingerprint(self) -> str | None:
        if self.scenario is None:
            return None
        with self._lock:
            if self._fingerprint is None:
                from twin.service.recorder import scenario_fingerprint

                self._fingerprint = scenario_fingerprint(self.scenario)
            return self._fingerprint

    def entry(self, path: Path) -> dict[str, Any]:
        stat = path.stat()
        key = (
            str(path),
            stat.st_ino,
            stat.st_dev,
        )  # a file replaced under the same name is a new entry
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = {
                    "lock": threading.Lock(),
                    "recording": None,
                    "engine": None,
                }
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_REPLAY_ENGINES:
                self._entries.popitem(last=False)  # closed when its last user lets go
        return entry

    def state(self, path: Path, time_s: float) -> dict[str, Any]:
        from twin.service.alarms import open_count
        from twin.service.live import wall_kpis
        from twin.service.recorder import Recording
        from twin.service.replay import hhmm, replay_engine, state_at

        entry = self.entry(path)
        with entry["lock"]:
            if entry["recording"] is None:
                entry["recording"] = Recording.open(path)
            recording = entry["recording"]
            if entry["engine"] is None:
                same = recording.header.get("scenario_hash") == self.fingerprint()
                entry["engine"] = replay_engine(recording, self.scenario if same else None)
            engine = state_at(recording, time_s, engine=entry["engine"])
            alerts = recording.alerts_at(engine.time_s)
            kpis = wall_kpis(
                engine.view(), open_alerts=open_count(alerts)
            )  # the wall's counting rule
            actions = [
                {
                    "seq": i.seq,
                    "sim_time_s": i.sim_time_s,
                    "time": hhmm(i.sim_time_s),
                    "name": i.name,
                    "payload": i.payload,
                    "user": i.user,
                    "role": i.role,
                    "audit_id": i.audit_id,
                    "before": i.before,
                    "after": i.after,
                }
                for i in recording.inputs(until_s=engine.time_s + 1e-6, kind="action")
                if i.result == "ok"
            ]
            return {
                "recording_id": path.stem,
                "time_s": float(engine.time_s),
                "kpis": kpis,
                "actions": actions,
                "alerts": alerts,
            }


def _recording_path(folder: Path, recording_id: str) -> Path | None:
    """The file of ``recording_id`` among the recordings in ``folder`` (never a path built from it)."""
    if not RECORDING_ID.fullmatch(recording_id):
        return None
    for where in (folder, folder / FORKS_FOLDER):  # live days, and forks kept apart
        root = where.resolve()
        for path in where.glob("*.sqlite"):
            if path.stem == recording_id:
                real = path.resolve()
                return real if real.parent == root and real.is_file() else None
    return None


_RECORDING_STATUS = {"unknown_recording": 404, "out_of_range": 400, "bad_time": 400}


# ---------------------------------------------------------------- the endpoints
def _services() -> Services:
    return current_app.extensions[EXTENSION_KEY]


def _commands() -> CommandPath:
    commands = _services().commands
    if commands is None:
        raise ApiError(
            503,
            "no_twin",
            "this worker runs no live twin (read-only web worker); ask the engine host",
        )
    return commands


def _twin_call(fn: Callable[[], Any]) -> Any:
    """Run a call into the live twin, turning a stopped or silent twin into 503."""
    try:
        return fn()
    except FutureTimeout:
        raise ApiError(
            503, "timeout", "the twin did not answer in time; check GET /api/v1/state"
        ) from None
    except RuntimeError as error:
        raise ApiError(503, "stopped", f"the twin is not running ({error})") from None


STATE_ALERT_KEYS = (
    "id",
    "kind",
    "level",
    "severity",
    "place",
    "message",
    "raised_s",
    "acked",
    "count",
)
"""The fields of each open alert in ``GET /state``."""
STATE_CORRIDOR_KEYS = (
    "corridor_id",
    "hospital_id",
    "state",
    "priority",
    "dispatched_s",
    "eta_s",
    "eta_without_s",
    "remaining_m",
    "lat",
    "lon",
)
"""The fields of each ambulance en route in ``GET /state``."""


def _get_state() -> Response:
    _require_read("live")
    svc, commands = _services(), _commands()
    state = _twin_call(lambda: commands.query("api_state"))  # one consistent read in the loop
    frame = svc.store.latest()
    live = svc.live
    return _json(
        {
            "time_s": state["time_s"],
            "clock": {"paused": bool(live.paused), "speed": float(live.speed)},
            "kpis": dict(frame.kpis) if frame is not None else {},
            "kpis_time_s": frame.time_s if frame is not None else None,
            "signal_plans": state["signal_plans"],
            "checkpoint_lanes": state["checkpoint_lanes"],
            "corridors": [
                {k: c.get(k) for k in STATE_CORRIDOR_KEYS}
                for c in state["corridors"]
                if c.get("state") == "en route"
            ],
            "alerts": [
                {k: a.get(k) for k in STATE_ALERT_KEYS}
                for a in (frame.alerts if frame is not None else ())
            ],
        }
    )


def _require_read(data_kind: str) -> None:
    """403 unless the request's role may read ``data_kind`` (the permission table)."""
    user = who()
    if not permissions.may_read(user["role"], data_kind):
        raise _forbidden(
            user,
            f"role {user['role']} may not read {data_kind} data",
            f"the role {user['role']} may not read this ({data_kind} data)",
        )


def _forbidden(user: dict[str, str], reason: str, message: str) -> ApiError:
    audit = getattr(_services().commands, "audit", None)
    log.warning(
        "api.forbidden user=%r role=%r ip=%s %s",
        user["user"],
        user["role"],
        user["ip"],
        request.path,
    )
    if audit is not None:
        audit.record_security(
            "api.forbidden",
            user=user["user"],
            role=user["role"],
            target=request.path,
            ip=user["ip"],
            detail=reason,
        )
    return ApiError(403, "forbidden", message)


def _post_action() -> Response:
    user = who()
    raw = read_json_object()
    _require_input(user, raw.get("kind"))  # before the schema: no hints for those refused
    body = _valid_action_body(raw)
    commands = _commands()
    result = _run_action(commands, body, user)
    if not result.ok:
        raise ApiError(
            422,
            result.code or "refused",
            result.reason,
            audit_id=result.audit_id,
            seq=result.seq,
            sim_time_s=result.sim_time_s,
        )
    return _json(_acknowledgement(result))


def _require_input(user: dict[str, str], body_kind: Any) -> None:
    """403 unless the role may submit ``body_kind`` (the permission table); a kind the API
    does not know is left to the schema (400) when the role may act at all."""
    known = isinstance(body_kind, str) and body_kind in ACTION_KINDS
    kind = INPUT_KIND.get(body_kind, body_kind) if known else None
    if kind is not None and permissions.may(user["role"], kind):
        return
    if kind is None and any(permissions.may(user["role"], k) for k in _API_INPUTS):
        return
    allowed = sorted(permissions.roles_for(f"input:{kind}") - {permissions.LOCAL})
    raise _forbidden(
        user,
        f"role {user['role']} may not submit {kind or 'actions'}",
        f"the role {user['role']} may not submit {body_kind if known else 'actions'}; "
        f"only {' and '.join(allowed) or 'no one'} may"
        if known
        else f"the role {user['role']} may not submit actions",
    )


def _valid_action_body(body: dict[str, Any]) -> dict[str, Any]:
    """The request's action, checked against the schema (400 naming the first error)."""
    errors = action_errors(body)
    if errors:
        first = errors[0]
        raise ApiError(
            400,
            "invalid_action",
            first["message"],
            field=first["field"],
            rule=first["rule"],
            errors=errors,
        )
    return _coerce_integers(body["kind"], body)


def _run_action(commands: CommandPath, body: dict[str, Any], user: dict[str, str]) -> CommandResult:
    """Submit the action through the command path; 503 when it could not be recorded."""
    kind = body["kind"]
    try:
        if kind == "clock":
            return _twin_call(
                lambda: commands.clock(paused=body.get("paused"), speed=body.get("speed"), **user)
            )
        if kind == "acknowledge":
            group = bool(body.get("group", False))
            return _twin_call(lambda: commands.acknowledge(body["alert_id"], group=group, **user))
        return _twin_call(lambda: commands.submit(body, **user))
    except ApiError:
        raise
    except Exception:  # noqa: BLE001 - the audit or recording write failed: not acknowledged
        log.exception("action not recorded: %s", _short(body, 200))
        raise ApiError(
            503,
            "not_recorded",
            "the action could not be recorded durably and was not applied; see the server log",
        ) from None


def _acknowledgement(result: CommandResult) -> dict[str, Any]:
    """The 200 answer: what was applied, with its audit and recording references."""
    ack = {
        "ok": True,
        "kind": result.kind,
        "target": result.target,
        "audit_id": result.audit_id,
        "seq": result.seq,
        "sim_time_s": result.sim_time_s,
        "before": result.before,
        "after": result.after,
    }
    if result.warning:
        ack["warning"] = result.warning
    return ack


def _list_recordings() -> Response:
    from twin.service.recorder import list_recordings

    _require_read("replay")
    folder = _services().recordings
    if folder is None or not Path(folder).is_dir():
        return _json({"recording": folder is not None, "recordings": []})
    rows = []
    forks = Path(folder) / FORKS_FOLDER
    found = list_recordings(folder) + (list_recordings(forks) if forks.is_dir() else [])
    for row in found:
        path = Path(row.pop("path"))  # server paths stay on the server
        rows.append({**row, "id": path.stem})
    return _json({"recording": True, "recordings": rows})


def _recording_state(recording_id: str) -> Response:
    from twin.errors import TwinError
    from twin.service.recorder import RecordingError
    from twin.service.replay import parse_clock

    _require_read("replay")
    folder = _services().recordings
    if folder is None:
        raise ApiError(
            503, "no_recordings", "this app keeps no recordings (start it with --recordings DIR)"
        )
    path = _recording_path(Path(folder), recording_id)
    if path is None:
        raise ApiError(
            404,
            "unknown_recording",
            f"no recording {_short(recording_id, 60)}; GET {PREFIX}/recordings lists them",
        )
    text = request.args.get("t")
    if text is None:
        raise ApiError(
            400, "bad_time", "query parameter t is required: the time as HH:MM", field="t"
        )
    try:
        time_s = parse_clock(text, name="t")
    except TwinError as error:  # bad_time, out_of_range
        raise ApiError(400, error.code, str(error), field="t") from None
    try:
        out = current_app.extensions[_STATE_KEY].state(path, time_s)
    except RecordingError as error:
        raise ApiError(_RECORDING_STATUS.get(error.code, 422), error.code, str(error)) from None
    except TwinError as error:  # the recording's scenario folder cannot be loaded here
        raise ApiError(
            422, error.code, f"recording {recording_id} cannot be replayed here: {error}"
        ) from None
    except FileNotFoundError:  # removed since it was found
        raise ApiError(404, "unknown_recording", f"no recording {recording_id}") from None
    return _json({**out, "t": text})


def _not_found(rest: str) -> Response:
    known = {"state": "GET", "actions": "POST", "recordings": "GET", "openapi.json": "GET"}
    if rest in known:
        raise ApiError(
            405,
            "method_not_allowed",
            f"{PREFIX}/{rest} takes {known[rest]} only, not {request.method}",
            headers={"Allow": known[rest]},
        )
    raise ApiError(404, "not_found", f"no endpoint {PREFIX}/{rest[:60]}; see {PREFIX}/openapi.json")


def _http_error(error: HTTPException) -> Response:
    """Errors Flask raises inside the API (size limit, bad request) as JSON."""
    code = {413: "too_large", 400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
        error.code or 500, "http_error"
    )
    return _error_response(ApiError(error.code or 500, code, error.description or error.name))


def guarded(fn: Callable[..., Response]) -> Callable[..., Response]:
    """An API view that answers an :class:`ApiError` as its JSON error response."""

    def view(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except ApiError as error:
            return _error_response(error)

    view.__name__ = fn.__name__.lstrip("_")
    return view


def register_api(app: dash.Dash) -> Blueprint:
    """Register the ``/api/v1`` blueprint on ``app.server`` (a Dash app made by ``create_app``)."""
    server = app.server
    services = server.extensions[EXTENSION_KEY]
    server.extensions[_STATE_KEY] = _Replays(services.scenario)
    blueprint = Blueprint("venuetwin_api", __name__, url_prefix=PREFIX)

    blueprint.add_url_rule("/state", view_func=guarded(_get_state), methods=["GET"])
    blueprint.add_url_rule("/actions", view_func=guarded(_post_action), methods=["POST"])
    blueprint.add_url_rule("/recordings", view_func=guarded(_list_recordings), methods=["GET"])
    blueprint.add_url_rule(
        "/recordings/<recording_id>/state", view_func=guarded(_recording_state), methods=["GET"]
    )
    blueprint.add_url_rule(
        "/openapi.json",
        view_func=lambda: _json(openapi_document()),
        endpoint="openapi",
        methods=["GET"],
    )
    blueprint.add_url_rule(
        "/",
        view_func=lambda: _json({"openapi": f"{PREFIX}/openapi.json"}),
        endpoint="index",
        methods=["GET"],
    )
    blueprint.add_url_rule(
        "/<path:rest>",
        view_func=guarded(_not_found),
        endpoint="not_found",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    )
    blueprint.register_error_handler(HTTPException, _http_error)
    server.register_blueprint(blueprint)
    __import__("callbacks.api_feeds").api_feeds.register_feed_api(app)  # POST /feeds/{source}
    return blueprint
