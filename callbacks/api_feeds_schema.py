"""The feed endpoints' part of the OpenAPI document (merged into :data:`callbacks.api_schema.OPENAPI`)."""

from __future__ import annotations

from typing import Any

from twin.feeds.refusal import RULES

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("ErrorBody")}},
    }


_SOURCE = {
    "name": "source",
    "in": "path",
    "required": True,
    "description": "The feed source's name: 1 to 80 letters, digits, '.', '-' or '_'.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"},
}
_TIME = {
    "oneOf": [
        {"type": "number"},
        {"type": "string", "pattern": "^\\d{1,2}:\\d{2}(:\\d{2}(\\.\\d+)?)?$"},
    ],
    "description": "Simulated seconds since midnight of the event day, or HH:MM[:SS[.fff]].",
}

FEED_SCHEMAS: dict[str, Any] = {
    "DetectorReading": {
        "type": "object",
        "title": "detector reading",
        "description": "One detector's count over an interval ending at t.",
        "required": ["detector", "t", "interval_s", "count"],
        "additionalProperties": False,
        "properties": {
            "detector": {"type": "string", "description": "detector_id of detectors.csv"},
            "t": _TIME,
            "interval_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
            "count": {"type": "number", "minimum": 0, "description": "vehicles, all lanes covered"},
            "occupancy": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "speed_kph": {"type": ["number", "null"], "minimum": 0, "maximum": 250},
        },
    },
    "CheckpointScan": {
        "type": "object",
        "title": "checkpoint scan",
        "description": "One person screened on a lane at time t.",
        "required": ["checkpoint", "lane", "lane_type", "t"],
        "additionalProperties": False,
        "properties": {
            "checkpoint": {"type": "integer", "minimum": 0},
            "lane": {"type": "integer", "minimum": 0},
            "lane_type": {"enum": ["face", "manual"]},
            "t": _TIME,
        },
    },
    "CheckpointCount": {
        "type": "object",
        "title": "checkpoint count",
        "description": "Persons screened on lanes of one type over an interval ending at t.",
        "required": ["checkpoint", "lane_type", "t", "interval_s", "served"],
        "additionalProperties": False,
        "properties": {
            "checkpoint": {"type": "integer", "minimum": 0},
            "lane_type": {"enum": ["face", "manual"]},
            "t": _TIME,
            "interval_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
            "served": {"type": "number", "minimum": 0},
            "lanes_in_use": {"type": ["number", "null"], "minimum": 0},
            "arrived": {"type": ["number", "null"], "minimum": 0},
        },
    },
    "FeedRecord": {
        "oneOf": [_ref("DetectorReading"), _ref("CheckpointScan"), _ref("CheckpointCount")]
    },
    "FeedBatch": {
        "description": 'A JSON list of records, or {"records": [...]}; as application/x-ndjson '
        "one record per line. All or nothing: the first bad record refuses the batch.",
        "oneOf": [
            {"type": "array", "items": _ref("FeedRecord")},
            {
                "type": "object",
                "required": ["records"],
                "properties": {"records": {"type": "array", "items": _ref("FeedRecord")}},
            },
        ],
    },
    "FeedAccepted": {
        "type": "object",
        "required": ["ok", "source", "records"],
        "properties": {
            "ok": {"const": True},
            "source": {"type": "string"},
            "records": {"type": "integer"},
            "scans": {"type": "integer"},
            "detector_readings": {"type": "integer"},
            "checkpoint_rows": {"type": "integer"},
            "audit_id": {"type": ["integer", "null"]},
            "seq": {"type": ["integer", "null"]},
            "sim_time_s": {"type": "number"},
        },
    },
    "FeedRefusal": {
        "type": "object",
        "description": "error of a refused batch: code (" + ", ".join(RULES) + "), the rule in "
        "words, and the first bad record (0-based) and its line (NDJSON).",
        "properties": {
            "code": {"enum": list(RULES)},
            "message": {"type": "string"},
            "rule": {"type": "string"},
            "record": {"type": ["integer", "null"]},
            "line": {"type": ["integer", "null"]},
        },
    },
    "FeedStatus": {
        "type": "object",
        "required": ["time_s", "sources"],
        "properties": {
            "time_s": {"type": "number"},
            "stale_after_s": {"type": "number"},
            "sources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "string"},
                        "synthetic": {"type": "boolean"},
                        "last_message_s": {"type": ["number", "null"]},
                        "last_data_s": {"type": ["number", "null"]},
                        "age_s": {"type": ["number", "null"]},
                        "stale": {"type": "boolean"},
                        "batches": {"type": "integer"},
                        "records": {"type": "integer"},
                        "rate_per_min": {"type": "number"},
                        "rejected_batches": {"type": "integer"},
                        "rejected": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "last_refusal": {"type": ["object", "null"]},
                    },
                },
            },
        },
    },
}

FEED_PATHS: dict[str, Any] = {
    "/feeds/{source}": {
        "post": {
            "operationId": "postFeed",
            "summary": "One batch of detector readings, checkpoint scans or counts (feed role)",
            "description": "Validated whole, then audited, recorded and applied through the one "
            "command path; 200 only once recorded. Content-Type application/x-ndjson or "
            "application/json. Only a token of the feed role may post.",
            "parameters": [_SOURCE],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "application/json": {"schema": _ref("FeedBatch")},
                },
            },
            "responses": {
                "200": {
                    "description": "Recorded and applied",
                    "content": {"application/json": {"schema": _ref("FeedAccepted")}},
                },
                "400": _error("Malformed body or line (error.line names it)"),
                "403": _error("Not a feed token"),
                "413": _error("Body or batch too large"),
                "415": _error("Not NDJSON or JSON"),
                "422": _error("A record broke a rule (error.record, error.rule); nothing changed"),
                "503": _error("Not recorded (not applied)"),
            },
        }
    },
    "/feeds/{source}/status": {
        "get": {
            "operationId": "getFeedStatus",
            "summary": "The source's last message, rate and rejected batches by reason",
            "parameters": [_SOURCE],
            "responses": {
                "200": {
                    "description": "Status (simulated times)",
                    "content": {"application/json": {"schema": _ref("FeedStatus")}},
                },
                "404": _error("No such source yet"),
            },
        }
    },
}
