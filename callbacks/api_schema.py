"""The OpenAPI 3.1 document of the HTTP API (``GET /api/v1/openapi.json``).

The request schemas here are the ones :mod:`callbacks.api` validates with ``jsonschema``
(JSON Schema 2020-12, the dialect of OpenAPI 3.1), so the document and the checks cannot
disagree; the tests validate every response against the response schemas too.

Static rules live here (types, required fields, ranges every scenario shares); rules that
depend on the twin's state (a junction's minimum greens, a checkpoint's lane count, the
allowed clock speeds, a corridor that already exists) are the twin's, and come back as a
refusal (``422``) carrying the twin's ``code``.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["ACTION_KINDS", "OPENAPI", "SCHEMA_URI", "openapi_document"]

SCHEMA_URI = "urn:venuetwin:api:v1"
"""Base URI under which the document is registered for ``$ref`` resolution."""

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("ErrorBody")}},
    }


_NUMBER_OR_NULL = {"type": ["number", "null"]}
_CORRIDOR_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 40,
    "pattern": "^[A-Za-z0-9_-]+$",
    "description": "1 to 40 letters, digits, '-' or '_'",
}

_SCHEMAS: dict[str, Any] = {
    # ------------------------------------------------------------------ actions (requests)
    "SetSignalPlan": {
        "type": "object",
        "title": "set_signal_plan",
        "description": "Replace the fixed-time plan of a signalised junction. With the junction's "
        "intergreens the greens must add up to the cycle, each at least its minimum green "
        "(the twin checks those; see GET /state for each junction's intergreen_s and "
        "min_green_s).",
        "required": ["kind", "node_id", "cycle_s", "greens_s"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "set_signal_plan"},
            "node_id": {
                "type": "integer",
                "minimum": 0,
                "description": "Junction id (GET /state signal_plans).",
            },
            "cycle_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            "greens_s": {
                "type": "array",
                "minItems": 1,
                "maxItems": 16,
                "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
                "description": "One effective green (s) per phase.",
            },
            "offset_s": {
                "type": "number",
                "minimum": 0,
                "maximum": 600,
                "default": 0,
                "description": "In [0, cycle_s).",
            },
        },
        "examples": [
            {
                "kind": "set_signal_plan",
                "node_id": 0,
                "cycle_s": 117,
                "greens_s": [55, 52],
                "offset_s": 0,
            }
        ],
    },
    "SetLanes": {
        "type": "object",
        "title": "set_lanes",
        "description": "Open or close lanes: set a checkpoint's lanes of one type to count (at most the "
        "lanes it has; the twin checks).",
        "required": ["kind", "checkpoint_id", "lane_type", "count"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "set_lanes"},
            "checkpoint_id": {
                "type": "integer",
                "minimum": 0,
                "description": "Checkpoint id (GET /state checkpoint_lanes).",
            },
            "lane_type": {"enum": ["face", "manual"]},
            "count": {"type": "integer", "minimum": 0, "maximum": 1000},
        },
        "examples": [{"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "manual", "count": 8}],
    },
    "DispatchCorridor": {
        "type": "object",
        "title": "dispatch_corridor",
        "description": "Dispatch an ambulance from an incident at lat, lon to a hospital (the one reached "
        "soonest when hospital_id is absent or null), with a green corridor.",
        "required": ["kind", "corridor_id", "lat", "lon"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "dispatch_corridor"},
            "corridor_id": _CORRIDOR_ID,
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "hospital_id": {"type": ["string", "null"], "maxLength": 120},
            "priority": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1},
            "eta_without_s": {
                "type": ["number", "null"],
                "minimum": 0,
                "exclusiveMaximum": 86400,
                "description": "ETA without the corridor from the dispatcher's preview "
                "(s since midnight), for the time saved.",
            },
        },
        "examples": [
            {"kind": "dispatch_corridor", "corridor_id": "AMB-7", "lat": 37.5205, "lon": 127.1}
        ],
    },
    "CancelCorridor": {
        "type": "object",
        "title": "cancel_corridor",
        "description": "Cancel an active corridor: its pre-emptions end at once.",
        "required": ["kind", "corridor_id"],
        "additionalProperties": False,
        "properties": {"kind": {"const": "cancel_corridor"}, "corridor_id": _CORRIDOR_ID},
        "examples": [{"kind": "cancel_corridor", "corridor_id": "AMB-7"}],
    },
    "Clock": {
        "type": "object",
        "title": "clock",
        "description": "Pause or resume the simulated clock, or set its speed (simulated seconds per wall "
        "second; the twin allows 1, 5, 10, 30, 60 and the start speed). Exactly one of "
        "paused and speed.",
        "required": ["kind"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "clock"},
            "paused": {"type": "boolean"},
            "speed": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
        },
        "oneOf": [
            {"required": ["paused"], "not": {"required": ["speed"]}},
            {"required": ["speed"], "not": {"required": ["paused"]}},
        ],
        "x-message": "set exactly one of paused and speed",
        "examples": [{"kind": "clock", "paused": True}, {"kind": "clock", "speed": 30}],
    },
    "Acknowledge": {
        "type": "object",
        "title": "acknowledge",
        "description": "Acknowledge an open alert (with group: its whole flood group).",
        "required": ["kind", "alert_id"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "acknowledge"},
            "alert_id": {"type": "integer", "description": "An id from GET /state alerts."},
            "group": {"type": "boolean", "default": False},
        },
        "examples": [{"kind": "acknowledge", "alert_id": 3}],
    },
    "ActionKind": {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {
                "enum": [
                    "set_signal_plan",
                    "set_lanes",
                    "dispatch_corridor",
                    "cancel_corridor",
                    "clock",
                    "acknowledge",
                ]
            }
        },
        "description": "Every action is an object whose kind picks its schema.",
    },
    "Action": {
        "allOf": [_ref("ActionKind")],
        "oneOf": [
            _ref("SetSignalPlan"),
            _ref("SetLanes"),
            _ref("DispatchCorridor"),
            _ref("CancelCorridor"),
            _ref("Clock"),
            _ref("Acknowledge"),
        ],
        "discriminator": {
            "propertyName": "kind",
            "mapping": {
                "set_signal_plan": _REF + "SetSignalPlan",
                "set_lanes": _REF + "SetLanes",
                "dispatch_corridor": _REF + "DispatchCorridor",
                "cancel_corridor": _REF + "CancelCorridor",
                "clock": _REF + "Clock",
                "acknowledge": _REF + "Acknowledge",
            },
        },
    },
    # ------------------------------------------------------------------ responses
    "Acknowledgement": {
        "type": "object",
        "description": "Sent only after the action is written to the audit log and to the day's recording "
        "(both on disk) and applied.",
        "required": ["ok", "kind", "target", "audit_id", "seq", "sim_time_s", "before", "after"],
        "properties": {
            "ok": {"const": True},
            "kind": {"type": "string"},
            "target": {"type": "string"},
            "audit_id": {"type": ["integer", "null"], "description": "Row of the audit log."},
            "seq": {
                "type": ["integer", "null"],
                "description": "Input number in the day's recording "
                "(null when the app does not record).",
            },
            "sim_time_s": {
                "type": "number",
                "description": "Simulated time it applied (s since midnight).",
            },
            "before": {},
            "after": {},
            "warning": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "string",
                "description": "Stable word to branch on (invalid_json, invalid_action, "
                "forbidden, unknown_recording, the twin's refusal code, ...).",
            },
            "message": {
                "type": "string",
                "description": "For people: names the field and the rule.",
            },
            "field": {
                "type": "string",
                "description": "The offending field (JSON path such as greens_s[1]).",
            },
            "rule": {
                "type": "string",
                "description": "The broken schema rule (type, required, minimum, ...).",
            },
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "rule": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
            "audit_id": {"type": ["integer", "null"]},
            "seq": {"type": ["integer", "null"]},
            "sim_time_s": {"type": ["number", "null"]},
        },
    },
    "ErrorBody": {"type": "object", "required": ["error"], "properties": {"error": _ref("Error")}},
    "Kpis": {
        "type": "object",
        "additionalProperties": _NUMBER_OR_NULL,
        "description": "Control-room KPIs (null where the twin has no value): vehicles_in_network, "
        "mean_speed_kph, total_delay_vehh, spectators_on_site, peak_density_ppm2, "
        "worst_wait_s, open_alerts.",
    },
    "SignalPlan": {
        "type": "object",
        "required": ["node_id", "cycle_s", "offset_s", "greens_s"],
        "properties": {
            "node_id": {"type": "integer"},
            "cycle_s": {"type": "number"},
            "offset_s": {"type": "number"},
            "intergreen_s": {"type": "number"},
            "greens_s": {"type": "array", "items": {"type": "number"}},
            "min_green_s": {"type": "array", "items": {"type": "number"}},
        },
    },
    "CheckpointLanes": {
        "type": "object",
        "required": ["checkpoint_id", "name", "lanes_face", "lanes_manual"],
        "properties": {
            "checkpoint_id": {"type": "integer"},
            "name": {"type": "string"},
            "lanes_face": {"type": "integer"},
            "lanes_manual": {"type": "integer"},
        },
    },
    "Corridor": {
        "type": "object",
        "required": ["corridor_id", "hospital_id", "state"],
        "properties": {
            "corridor_id": {"type": "string"},
            "hospital_id": {"type": "string"},
            "state": {"type": "string"},
            "priority": {"type": "integer"},
            "dispatched_s": {"type": "number"},
            "eta_s": _NUMBER_OR_NULL,
            "eta_without_s": _NUMBER_OR_NULL,
            "remaining_m": {"type": "number"},
            "lat": {"type": "number"},
            "lon": {"type": "number"},
        },
    },
    "Alert": {
        "type": "object",
        "required": ["id", "kind", "severity", "message", "acked"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "level": {"type": "integer"},
            "severity": {"type": "string"},
            "place": {"type": "string"},
            "message": {"type": "string"},
            "raised_s": _NUMBER_OR_NULL,
            "acked": {"type": "boolean"},
            "count": {"type": "integer"},
        },
    },
    "State": {
        "type": "object",
        "required": [
            "time_s",
            "clock",
            "kpis",
            "signal_plans",
            "checkpoint_lanes",
            "corridors",
            "alerts",
        ],
        "properties": {
            "time_s": {
                "type": "number",
                "description": "Simulated time (s since midnight) of the plans, lanes "
                "and corridors.",
            },
            "clock": {
                "type": "object",
                "required": ["paused", "speed"],
                "properties": {"paused": {"type": "boolean"}, "speed": {"type": "number"}},
            },
            "kpis": _ref("Kpis"),
            "kpis_time_s": {
                "type": ["number", "null"],
                "description": "Simulated time of the KPIs and alerts "
                "(the latest published frame).",
            },
            "signal_plans": {"type": "array", "items": _ref("SignalPlan")},
            "checkpoint_lanes": {"type": "array", "items": _ref("CheckpointLanes")},
            "corridors": {
                "type": "array",
                "items": _ref("Corridor"),
                "description": "Active (en route) ones.",
            },
            "alerts": {"type": "array", "items": _ref("Alert")},
        },
    },
    "RecordingSummary": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "description": "Use in /recordings/{id}/state."},
            "name": {"type": "string"},
            "kind": {"type": "string"},
            "date": {"type": "string"},
            "scenario": {"type": "string"},
            "start_s": _NUMBER_OR_NULL,
            "end_s": _NUMBER_OR_NULL,
            "actions": {"type": "integer"},
            "acks": {"type": "integer"},
            "alerts": {"type": "integer"},
            "closed": {"type": "boolean"},
            "parent": {"type": ["string", "null"]},
            "fork_at_s": _NUMBER_OR_NULL,
            "error": {
                "type": "string",
                "description": "Present when the file cannot be read (left untouched).",
            },
            "code": {"type": "string"},
        },
    },
    "RecordingList": {
        "type": "object",
        "required": ["recording", "recordings"],
        "properties": {
            "recording": {"type": "boolean", "description": "Whether this app records its days."},
            "recordings": {"type": "array", "items": _ref("RecordingSummary")},
        },
    },
    "RecordedAction": {
        "type": "object",
        "required": ["seq", "sim_time_s", "time", "name", "payload"],
        "properties": {
            "seq": {"type": "integer"},
            "sim_time_s": {"type": "number"},
            "time": {"type": "string"},
            "name": {"type": "string"},
            "payload": {},
            "user": {"type": "string"},
            "role": {"type": "string"},
            "audit_id": {"type": ["integer", "null"]},
            "before": {},
            "after": {},
        },
    },
    "RecordingState": {
        "type": "object",
        "required": ["recording_id", "time_s", "t", "kpis", "actions"],
        "properties": {
            "recording_id": {"type": "string"},
            "t": {"type": "string"},
            "time_s": {
                "type": "number",
                "description": "Reconstructed time (the request rounded up to the engine's step).",
            },
            "kpis": _ref("Kpis"),
            "actions": {
                "type": "array",
                "items": _ref("RecordedAction"),
                "description": "Operator actions applied up to t, in order.",
            },
            "alerts": {
                "type": "array",
                "items": {"type": "object"},
                "description": "The alert list of the last recorded minute at or before t.",
            },
        },
    },
}

_SECURED = [{"bearerAuth": []}, {"cookieAuth": []}]
_COMMON_ERRORS = {
    "401": _error("Not signed in and no valid bearer token (sign-in on)."),
    "429": _error("Too many failed tokens from this address (Retry-After)."),
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {
        "title": "VenueTwin control-room API",
        "version": "1.0.0",
        "description": (
            "The live twin's state, operator actions through the one command path, and the recorded "
            "days. With sign-in on, authenticate with 'Authorization: Bearer <token>' (python -m twin "
            "users token NAME) or the browser session (then state-changing requests carry the session's "
            "CSRF token in X-CSRFToken); with sign-in off the API is open and acts as user 'local', role "
            "local. Who may read and submit what is the one permission table "
            "(twin/service/permissions.py): operators act, the clock is the admin's, recorded days "
            "are for planners, operators and admins, a token of scope 'read' may only GET, and a "
            "feed account reaches only /feeds. Errors are "
            '{"error": {"code", "message"}}; \'code\' is stable, \'message\' names the field and the rule.'
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": _SECURED,
    "paths": {
        "/state": {
            "get": {
                "operationId": "getState",
                "summary": "The live twin now",
                "responses": {
                    "200": {
                        "description": "Simulated time, clock, KPIs, signal plans, checkpoint lanes, "
                        "active corridors, open alerts.",
                        "content": {"application/json": {"schema": _ref("State")}},
                    },
                    **_COMMON_ERRORS,
                    "503": _error("This worker runs no twin, or the twin did not answer."),
                },
            }
        },
        "/actions": {
            "post": {
                "operationId": "postAction",
                "summary": "Apply one action through the command path",
                "description": "Validated against the Action schema, then checked by the twin, written to the audit "
                "log and the day's recording (durably), applied, and acknowledged. A twin refusal "
                "(422) is recorded as refused and changes nothing. Bodies over 64 KiB are refused.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Action")}},
                },
                "responses": {
                    "200": {
                        "description": "Applied and durably recorded.",
                        "content": {"application/json": {"schema": _ref("Acknowledgement")}},
                    },
                    "400": _error(
                        "Malformed JSON, not an object, or an action breaking the schema "
                        "(code invalid_json, invalid_body or invalid_action; field and rule named)."
                    ),
                    **_COMMON_ERRORS,
                    "403": _error(
                        "The role may not submit this kind (the permission table: operators act, "
                        "the clock is the admin's), a read-only token, or a missing CSRF token."
                    ),
                    "413": _error("The body is larger than 64 KiB."),
                    "415": _error("The body is not application/json."),
                    "422": _error(
                        "The twin refused the action (code is the twin's: refused, out_of_range, "
                        "not_open, bad_value, malformed, ...); recorded as refused, nothing changed."
                    ),
                    "503": _error(
                        "The twin did not acknowledge it: stopped, no answer in time (see GET /state "
                        "for whether it applied), or code not_recorded: the audit row or the "
                        "recording could not be written durably, nothing was applied and the audit "
                        "log says not_recorded."
                    ),
                },
            }
        },
        "/recordings": {
            "get": {
                "operationId": "listRecordings",
                "summary": "The recorded days, newest first",
                "responses": {
                    "200": {
                        "description": "Summaries (unreadable files listed with error and code).",
                        "content": {"application/json": {"schema": _ref("RecordingList")}},
                    },
                    **_COMMON_ERRORS,
                },
            }
        },
        "/recordings/{id}/state": {
            "get": {
                "operationId": "getRecordingState",
                "summary": "A recorded day at a time",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$",
                        },
                        "description": "A recording id from GET /recordings.",
                    },
                    {
                        "name": "t",
                        "in": "query",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": "^[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?$",
                        },
                        "description": "Simulated time HH:MM (or HH:MM:SS) within the recorded day.",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "KPIs at t and the actions applied so far.",
                        "content": {"application/json": {"schema": _ref("RecordingState")}},
                    },
                    "400": _error(
                        "t missing, malformed (bad_time) or outside the recorded day (out_of_range)."
                    ),
                    **_COMMON_ERRORS,
                    "404": _error("No such recording (unknown_recording)."),
                    "422": _error(
                        "The recording cannot be replayed here (corrupt, newer_schema, scenario_mismatch, "
                        "scenario_missing, diverged)."
                    ),
                    "503": _error("This app keeps no recordings folder."),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
                },
            }
        },
    },
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A user's token from python -m twin users token NAME.",
            },
            "cookieAuth": {
                "type": "apiKey",
                "in": "cookie",
                "name": "venuetwin_session",
                "description": "The browser's signed-in session.",
            },
        },
    },
}

ACTION_KINDS: dict[str, str] = {
    kind: ref.removeprefix(_REF)
    for kind, ref in _SCHEMAS["Action"]["discriminator"]["mapping"].items()
}
"""Action ``kind`` → the name of its schema in ``components/schemas``."""


def openapi_document() -> dict[str, Any]:
    """A copy of :data:`OPENAPI` to serve (callers may not change the one the checks use)."""
    return copy.deepcopy(OPENAPI)


def _add_feeds() -> None:
    """The feed endpoints (:mod:`callbacks.api_feeds`) and their schemas."""
    from callbacks.api_feeds_schema import FEED_PATHS, FEED_SCHEMAS

    OPENAPI["paths"].update(FEED_PATHS)
    OPENAPI["components"]["schemas"].update(FEED_SCHEMAS)


_add_feeds()
