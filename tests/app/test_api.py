"""The HTTP API (callbacks/api.py) through its HTTP layer, with the Flask test client.

The app runs the bundled day with its loop thread not started (commands run inline, so the
twin only changes by what a test sends, and time only moves by ``run_until``). Every
response is validated against the OpenAPI document's schema for it, so the document and the
server cannot drift apart. Bad input must change nothing: not the twin, not the audit log,
not the recording.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import threading

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from auth.users import UserStore
from callbacks.api import MAX_BODY_BYTES, action_errors
from callbacks.api_schema import ACTION_KINDS, OPENAPI, SCHEMA_URI
from tests.app.conftest import BUNDLED
from twin.service.audit import AuditFilter
from twin.service.recorder import Recording

API = "/api/v1"
START_S = 17 * 3600.0
PASSWORD = "correct horse battery"
ROLES = {"olga": "operator", "pat": "planner", "eve": "executive", "ada": "admin"}


def _schema(name: str) -> Draft202012Validator:
    registry = Registry().with_resource(
        SCHEMA_URI, Resource.from_contents(OPENAPI, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{SCHEMA_URI}#/components/schemas/{name}"}, registry=registry
    )


def _check(response, status: int, schema: str | None = None) -> dict:
    """The JSON body of ``response`` after checking its status, type and schema (``""``: none)."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = json.loads(
        response.get_data(as_text=True)
    )  # strict: NaN would not parse in other languages
    if schema != "":
        _schema(schema or ("ErrorBody" if status >= 400 else "State")).validate(body)
    return body


def _make_app(tmp_path, **extra):
    from app import create_app

    config = {
        "scenario": BUNDLED,
        "start": False,
        "normal_day": False,
        "forecast_period_s": 0.0,
        "warmup_s": 0.0,
        "start_s": START_S,
        "recordings": str(tmp_path / "recordings"),
        "audit_db": str(tmp_path / "audit.sqlite"),
        **extra,
    }
    return create_app(config)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Sign-in off: the API is open and acts as 'local', an operator."""
    return _make_app(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client()


def _svc(app):
    return app.server.extensions["venuetwin"]


def _snapshot(app, client) -> dict:
    """Everything bad input must leave alone: the twin's state, the audit log, the recording."""
    svc = _svc(app)
    state = _check(client.get(f"{API}/state"), 200)
    audit = svc.commands.audit.query(AuditFilter(limit=10_000))
    with Recording.open(svc.live.recorder.path) as recording:
        inputs = [i.as_dict() for i in recording.inputs()]
    return {
        "plans": state["signal_plans"],
        "lanes": state["checkpoint_lanes"],
        "corridors": state["corridors"],
        "clock": state["clock"],
        "time_s": state["time_s"],
        "audit": [e.id for e in audit],
        "inputs": inputs,
    }


def _post(client, body, **kwargs):
    return client.post(f"{API}/actions", json=body, **kwargs)


def _plan_change(plan: dict, shift_s: float) -> dict:
    """A valid new plan: ``shift_s`` of green moved from phase 1 to phase 0, same cycle."""
    greens = list(plan["greens_s"])
    greens[0] += shift_s
    greens[1] -= shift_s
    assert all(g >= m for g, m in zip(greens, plan["min_green_s"], strict=True))
    return {
        "kind": "set_signal_plan",
        "node_id": plan["node_id"],
        "cycle_s": plan["cycle_s"],
        "greens_s": greens,
        "offset_s": plan["offset_s"],
    }


# ---------------------------------------------------------------- reading and acting
def test_state_has_time_clock_kpis_plans_lanes_corridors(app, client):
    _svc(app).live.run_until(START_S + 60)  # publishes a frame: KPIs
    state = _check(client.get(f"{API}/state"), 200)
    assert state["time_s"] == pytest.approx(START_S + 60)
    assert state["clock"] == {"paused": False, "speed": 10.0}
    assert state["kpis_time_s"] == pytest.approx(START_S + 60)
    assert {"vehicles_in_network", "mean_speed_kph", "worst_wait_s"} <= set(state["kpis"])
    assert len(state["signal_plans"]) == 34 and state["signal_plans"][0]["node_id"] == 0
    first = state["checkpoint_lanes"][0]
    assert (
        set(first) == {"checkpoint_id", "name", "lanes_face", "lanes_manual"}
        and first["checkpoint_id"] == 0
    )
    assert state["corridors"] == []
    assert client.get(f"{API}/state").headers["Cache-Control"] == "no-store"


def test_action_is_acknowledged_after_the_durable_record(app, client):
    before = _snapshot(app, client)
    lanes = before["lanes"][1]
    count = 1 if lanes["lanes_manual"] != 1 else 2
    ack = _check(
        _post(
            client, {"kind": "set_lanes", "checkpoint_id": 1, "lane_type": "manual", "count": count}
        ),
        200,
        "Acknowledgement",
    )
    assert (ack["before"], ack["after"], ack["kind"]) == (lanes["lanes_manual"], count, "set_lanes")
    # the acknowledgement points at rows already on disk: a fresh reader sees them
    [entry] = [
        e for e in _svc(app).commands.audit.query(AuditFilter(limit=50)) if e.id == ack["audit_id"]
    ]
    assert (entry.user, entry.role, entry.action, entry.result) == (
        "local",
        "local",  # sign-in off: the one local user (twin/service/permissions.py LOCAL)
        "twin.set_lanes",
        "ok",
    )
    with Recording.open(_svc(app).live.recorder.path) as recording:
        [row] = [i for i in recording.inputs() if i.seq == ack["seq"]]
    assert (row.audit_id, row.result, row.payload["count"]) == (ack["audit_id"], "ok", count)
    assert row.sim_time_s == ack["sim_time_s"]
    after = _check(client.get(f"{API}/state"), 200)
    assert after["checkpoint_lanes"][1]["lanes_manual"] == count


def test_signal_plan_corridor_and_clock_through_the_api(app, client):
    state = _check(client.get(f"{API}/state"), 200)
    plan = state["signal_plans"][3]
    ack = _check(_post(client, _plan_change(plan, 2.0)), 200, "Acknowledgement")
    assert ack["after"]["greens_s"] == [plan["greens_s"][0] + 2.0, plan["greens_s"][1] - 2.0]
    whole = _plan_change(plan, 2.0) | {"node_id": float(plan["node_id"])}  # 3.0 is a JSON integer
    _check(_post(client, whole), 200, "Acknowledgement")

    ack = _check(
        _post(
            client,
            {"kind": "dispatch_corridor", "corridor_id": "AMB-API", "lat": 37.5205, "lon": 127.1},
        ),
        200,
        "Acknowledgement",
    )
    assert ack["after"]["hospital_id"]
    state = _check(client.get(f"{API}/state"), 200)
    assert [c["corridor_id"] for c in state["corridors"]] == ["AMB-API"]
    again = _check(
        _post(
            client,
            {"kind": "dispatch_corridor", "corridor_id": "AMB-API", "lat": 37.5205, "lon": 127.1},
        ),
        422,
    )
    assert (
        again["error"]["code"] == "corridor_exists"
        and "already exists" in again["error"]["message"]
    )
    _check(
        _post(client, {"kind": "cancel_corridor", "corridor_id": "AMB-API"}), 200, "Acknowledgement"
    )
    assert _check(client.get(f"{API}/state"), 200)["corridors"] == []

    ack = _check(_post(client, {"kind": "clock", "speed": 30}), 200, "Acknowledgement")
    assert ack["after"] == {"paused": False, "speed": 30.0}
    _check(_post(client, {"kind": "clock", "paused": True}), 200, "Acknowledgement")
    assert _check(client.get(f"{API}/state"), 200)["clock"] == {"paused": True, "speed": 30.0}
    _check(_post(client, {"kind": "clock", "paused": False}), 200, "Acknowledgement")
    _check(_post(client, {"kind": "clock", "speed": 10}), 200, "Acknowledgement")


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (
            {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "manual", "count": 999},
            "refused",
            "max_lanes",
        ),
        (
            {"kind": "set_lanes", "checkpoint_id": 99, "lane_type": "face", "count": 1},
            "refused",
            "99",
        ),
        (
            {"kind": "set_signal_plan", "node_id": 0, "cycle_s": 117, "greens_s": [100, 2]},
            "out_of_range",
            "green",
        ),
        (
            {"kind": "set_signal_plan", "node_id": 9999, "cycle_s": 117, "greens_s": [55, 52]},
            "unknown_junction",
            "9999",
        ),
        ({"kind": "cancel_corridor", "corridor_id": "NOPE"}, "refused", "NOPE"),
        (
            {"kind": "dispatch_corridor", "corridor_id": "FAR", "lat": 0.0, "lon": 0.0},
            "refused",
            "",
        ),
        ({"kind": "clock", "speed": 7}, "out_of_range", "speed"),
        ({"kind": "acknowledge", "alert_id": 123456}, "not_open", "123456"),
    ],
)
def test_twin_refusal_is_422_with_its_code_recorded_and_changes_nothing(
    app, client, body, code, words
):
    before = _snapshot(app, client)
    error = _check(_post(client, body), 422)["error"]
    assert error["code"] == code and words in error["message"]
    after = _snapshot(app, client)
    for key in ("plans", "lanes", "corridors", "clock", "time_s"):
        assert after[key] == before[key], key
    # recorded as refused (one audit row and one recording row, nothing else)
    assert (
        len(after["audit"]) == len(before["audit"]) + 1 and error["audit_id"] == after["audit"][0]
    )
    [row] = after["inputs"][len(before["inputs"]) :]
    assert (row["result"], row["seq"], row["audit_id"]) == (
        "refused",
        error["seq"],
        error["audit_id"],
    )


# ---------------------------------------------------------------- bad input changes nothing
BAD_BODIES = [
    # (raw body, content type, status, code, words in the message)
    (b'{"kind": "set_lanes", "count": ', "application/json", 400, "invalid_json", "not valid JSON"),
    (b"", "application/json", 400, "invalid_json", "empty"),
    (b'\xff\xfe{"kind": 1}', "application/json", 400, "invalid_json", "UTF-8"),
    (b'{"kind": "clock", "speed": NaN}', "application/json", 400, "invalid_json", "NaN"),
    (b'{"kind": "clock", "speed": 1e999}', "application/json", 400, "invalid_json", "out of range"),
    (
        b'{"kind": "clock", "kind": "set_lanes"}',
        "application/json",
        400,
        "invalid_json",
        "duplicate key 'kind'",
    ),
    (b"[" * 30000 + b"]" * 30000, "application/json", 400, "", ""),
    (
        b'[{"kind": "clock", "paused": true}]',
        "application/json",
        400,
        "invalid_body",
        "JSON object",
    ),
    (b'"set_lanes"', "application/json", 400, "invalid_body", "got string"),
    (b"null", "application/json", 400, "invalid_body", "got null"),
    (
        b'{"kind": "clock", "paused": true}',
        "text/plain",
        415,
        "unsupported_media_type",
        "application/json",
    ),
    (
        b"kind=clock&paused=true",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
        "",
    ),
    (
        b'{"kind": "clock", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}',
        "application/json",
        413,
        "too_large",
        "bytes",
    ),
]


@pytest.mark.parametrize(
    ("raw", "ctype", "status", "code", "words"),
    BAD_BODIES,
    ids=[f"{s}-{c or 'deep'}-{i}" for i, (_, _, s, c, _) in enumerate(BAD_BODIES)],
)
def test_malformed_bodies_are_4xx_json_and_change_nothing(
    app, client, raw, ctype, status, code, words
):
    before = _snapshot(app, client)
    error = _check(client.post(f"{API}/actions", data=raw, content_type=ctype), status)["error"]
    assert error["code"] == code or (not code and error["code"] in ("invalid_json", "invalid_body"))
    assert words in error["message"]
    assert _snapshot(app, client) == before


BAD_ACTIONS = [
    # (action, field, rule, words)
    ({"count": 3}, "kind", "required", "required field missing"),
    ({"kind": "open_all_gates"}, "kind", "enum", "must be one of"),
    ({"kind": 7}, "kind", "enum", "got 7"),
    (
        {"kind": "set_lanes", "lane_type": "face", "count": 1},
        "checkpoint_id",
        "required",
        "missing",
    ),
    (
        {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "fast", "count": 1},
        "lane_type",
        "enum",
        "'fast'",
    ),
    (
        {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": -1},
        "count",
        "minimum",
        "≥ 0",
    ),
    (
        {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 1.5},
        "count",
        "type",
        "integer",
    ),
    (
        {"kind": "set_lanes", "checkpoint_id": True, "lane_type": "face", "count": 1},
        "checkpoint_id",
        "type",
        "got boolean",
    ),
    (
        {"kind": "set_lanes", "checkpoint_id": "0", "lane_type": "face", "count": 1},
        "checkpoint_id",
        "type",
        "got string",
    ),
    (
        {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 1, "force": True},
        "force",
        "additionalProperties",
        "unknown field",
    ),
    (
        {"kind": "set_signal_plan", "node_id": 0, "cycle_s": "117", "greens_s": [55, 52]},
        "cycle_s",
        "type",
        "number",
    ),
    (
        {"kind": "set_signal_plan", "node_id": 0, "cycle_s": 117, "greens_s": [55, -52]},
        "greens_s[1]",
        "exclusiveMinimum",
        "> 0",
    ),
    (
        {"kind": "set_signal_plan", "node_id": 0, "cycle_s": 117, "greens_s": []},
        "greens_s",
        "minItems",
        "at least 1",
    ),
    (
        {"kind": "set_signal_plan", "node_id": 0, "cycle_s": 117, "greens_s": "55,52"},
        "greens_s",
        "type",
        "array",
    ),
    (
        {"kind": "dispatch_corridor", "corridor_id": "../../etc", "lat": 37.5, "lon": 127.1},
        "corridor_id",
        "pattern",
        "letters, digits",
    ),
    (
        {"kind": "dispatch_corridor", "corridor_id": "A" * 41, "lat": 37.5, "lon": 127.1},
        "corridor_id",
        "maxLength",
        "at most 40",
    ),
    (
        {"kind": "dispatch_corridor", "corridor_id": "A1", "lat": 91, "lon": 127.1},
        "lat",
        "maximum",
        "≤ 90",
    ),
    (
        {
            "kind": "dispatch_corridor",
            "corridor_id": "A1",
            "lat": 37.5,
            "lon": 127.1,
            "priority": 0,
        },
        "priority",
        "minimum",
        "≥ 1",
    ),
    ({"kind": "cancel_corridor"}, "corridor_id", "required", "missing"),
    ({"kind": "clock"}, "(body)", "oneOf", "exactly one of paused and speed"),
    (
        {"kind": "clock", "paused": True, "speed": 30},
        "(body)",
        "oneOf",
        "exactly one of paused and speed",
    ),
    ({"kind": "clock", "paused": "yes"}, "paused", "type", "boolean"),
    ({"kind": "clock", "speed": -10}, "speed", "exclusiveMinimum", "> 0"),
    ({"kind": "acknowledge", "alert_id": "3"}, "alert_id", "type", "integer"),
]


@pytest.mark.parametrize(
    ("action", "field", "rule", "words"),
    BAD_ACTIONS,
    ids=[f"{a.get('kind', 'nokind')}-{f}-{r}" for a, f, r, _ in BAD_ACTIONS],
)
def test_schema_errors_name_the_field_and_rule_and_change_nothing(
    app, client, action, field, rule, words
):
    before = _snapshot(app, client)
    error = _check(_post(client, action), 400)["error"]
    assert (error["code"], error["field"], error["rule"]) == ("invalid_action", field, rule)
    assert words in error["message"] and f"rule: {rule}" in error["message"]
    assert error["message"].startswith(field if field != "(body)" else "body")
    assert _snapshot(app, client) == before


def test_every_schema_error_is_listed(client):
    body = {"kind": "set_lanes", "checkpoint_id": -1, "lane_type": "x", "count": "many", "extra": 1}
    error = _check(_post(client, body), 400)["error"]
    assert {(e["field"], e["rule"]) for e in error["errors"]} == {
        ("checkpoint_id", "minimum"),
        ("lane_type", "enum"),
        ("count", "type"),
        ("extra", "additionalProperties"),
    }


def test_unknown_endpoints_and_methods_are_json(client):
    error = _check(client.get(f"{API}/nothing/here"), 404)["error"]
    assert error["code"] == "not_found" and "/api/v1/nothing/here" in error["message"]
    response = client.get(f"{API}/actions")
    assert (
        _check(response, 405)["error"]["code"] == "method_not_allowed"
        and response.headers["Allow"] == "POST"
    )
    assert _check(client.delete(f"{API}/state"), 405)["error"]["message"].endswith("not DELETE")


# ---------------------------------------------------------------- the OpenAPI document
def test_openapi_document_is_served_and_its_schemas_are_valid(client):
    served = _check(client.get(f"{API}/openapi.json"), 200, "")
    assert served == json.loads(json.dumps(OPENAPI)) and served["openapi"].startswith("3.1")
    for schema in OPENAPI["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError naming the broken keyword
    documented = {
        f"{API}{path}".replace("{id}", "<recording_id>").replace("{source}", "<source>")
        for path in OPENAPI["paths"]
    }
    served_rules = {
        r.rule for r in client.application.url_map.iter_rules() if r.rule.startswith(API)
    }
    assert documented <= served_rules
    assert served_rules - documented == {
        f"{API}/",
        f"{API}/<path:rest>",
    }  # index and the JSON 404/405


@pytest.mark.parametrize(
    "body",
    [
        *(
            example
            for name in ACTION_KINDS.values()
            for example in OPENAPI["components"]["schemas"][name]["examples"]
        ),
        *(action for action, _, _, _ in BAD_ACTIONS),
        {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 2.0},
    ],
)
def test_the_documented_action_schema_agrees_with_the_checks(body):
    """The doc's Action (oneOf with a discriminator) accepts exactly what the API accepts."""
    assert _schema("Action").is_valid(body) == (not action_errors(body))


# ---------------------------------------------------------------- recordings
@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A recorded day with actions at known times: lanes at 17:00, a plan at 17:05, lanes again at 17:09."""
    tmp = tmp_path_factory.mktemp("recorded")
    app = _make_app(tmp)
    client = app.server.test_client()
    live = _svc(app).live
    state = _check(client.get(f"{API}/state"), 200)
    acks = [
        _check(
            _post(
                client, {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "manual", "count": 6}
            ),
            200,
            "Acknowledgement",
        )
    ]
    live.run_until(START_S + 300)
    acks.append(
        _check(_post(client, _plan_change(state["signal_plans"][0], 3.0)), 200, "Acknowledgement")
    )
    live.run_until(START_S + 540)
    acks.append(
        _check(
            _post(
                client, {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "manual", "count": 9}
            ),
            200,
            "Acknowledgement",
        )
    )
    live.run_until(START_S + 720)
    live.recorder.flush()  # samples and snapshots go through the recorder's writer thread
    return {
        "app": app,
        "client": client,
        "acks": acks,
        "folder": tmp / "recordings",
        "id": live.recorder.path.stem,
        "path": live.recorder.path,
        "tmp": tmp,
    }


def test_recordings_are_listed_without_server_paths(recorded):
    listing = _check(recorded["client"].get(f"{API}/recordings"), 200, "RecordingList")
    [day] = listing["recordings"]
    assert listing["recording"] is True and day["id"] == recorded["id"] and day["actions"] == 3
    assert "path" not in day and str(recorded["folder"]) not in json.dumps(listing)


def test_recording_state_has_the_recorded_kpis_and_the_actions_so_far(recorded):
    client, rid = recorded["client"], recorded["id"]
    with Recording.open(recorded["path"]) as recording:
        samples = recording.samples()
    for minute, n_actions in ((3, 1), (7, 2), (11, 3), (0, 1)):
        t = f"17:{minute:02d}"
        out = _check(
            client.get(f"{API}/recordings/{rid}/state", query_string={"t": t}),
            200,
            "RecordingState",
        )
        assert (out["t"], out["time_s"], out["recording_id"]) == (t, START_S + 60 * minute, rid)
        assert [a["seq"] for a in out["actions"]] == [
            a["seq"] for a in recorded["acks"][:n_actions]
        ]
        row = int(list(samples["time_s"]).index(START_S + 60 * minute))
        for name in (
            "vehicles_in_network",
            "mean_speed_kph",
            "total_delay_vehh",
            "peak_density_ppm2",
        ):
            recorded_value = float(samples[name][row])
            expected = (
                recorded_value if math.isfinite(recorded_value) else None
            )  # NaN is sent as null
            assert out["kpis"][name] == expected, (t, name)  # reconstructed = recorded, exactly
    last = _check(client.get(f"{API}/recordings/{rid}/state?t=17:11"), 200, "RecordingState")
    assert last["actions"][-1]["payload"]["count"] == 9 and last["actions"][-1]["user"] == "local"


def test_recording_seeks_from_threads_agree(recorded):
    client, rid = recorded["client"], recorded["id"]
    times = ["17:02", "17:10", "17:06", "17:01", "17:12", "17:04"]
    expected = {
        t: _check(client.get(f"{API}/recordings/{rid}/state?t={t}"), 200, "RecordingState")
        for t in times
    }
    got: dict[str, dict] = {}

    def seek(t):
        got[t] = json.loads(
            recorded["app"]
            .server.test_client()
            .get(f"{API}/recordings/{rid}/state?t={t}")
            .get_data(as_text=True)
        )

    threads = [threading.Thread(target=seek, args=(t,)) for t in times]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert got == expected


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "bad_time"),
        ("?t=", 400, "bad_time"),
        ("?t=18h40", 400, "bad_time"),
        ("?t=17:61", 400, "bad_time"),
        ("?t=16:59", 400, "out_of_range"),
        ("?t=23:00", 400, "out_of_range"),
        ("?t=99:00", 400, "bad_time"),
    ],
)
def test_recording_state_bad_times_are_400(recorded, query, status, code):
    error = _check(
        recorded["client"].get(f"{API}/recordings/{recorded['id']}/state{query}"), status
    )["error"]
    assert error["code"] == code and error["message"]


def test_unknown_recordings_and_path_traversal_are_404(recorded):
    """Ids from URLs never reach outside the recordings folder: only its own files are found."""
    tmp, client, folder = recorded["tmp"], recorded["client"], recorded["folder"]
    outside = tmp / "outside.sqlite"  # a real recording, next to the folder
    shutil.copyfile(recorded["path"], outside)
    secret = tmp / "secret"
    secret.mkdir()
    shutil.copyfile(recorded["path"], secret / "day.sqlite")
    (folder / "link.sqlite").symlink_to(secret / "day.sqlite")  # a link leading out of the folder
    attempts = [
        "no-such-day",
        "outside",
        "..%2Foutside",
        "%2E%2E%2Foutside",
        "..",
        ".",
        "link",
        f"{recorded['id']}.sqlite",
        "..%5Coutside",
        f"%2F{str(outside)[1:]}".replace("/", "%2F"),
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%00",
        "secret%2Fday",
        "-rf",
    ]
    for attempt in attempts:
        response = client.get(f"{API}/recordings/{attempt}/state?t=17:05")
        assert response.status_code == 404, attempt
        assert _check(response, 404)["error"]["code"] in ("unknown_recording", "not_found"), attempt
    for raw in ("/api/v1/recordings/../outside/state", "/api/v1/recordings/../../outside/state"):
        assert client.get(raw + "?t=17:05").status_code == 404
    listing = _check(client.get(f"{API}/recordings"), 200, "RecordingList")
    assert recorded["id"] in {r["id"] for r in listing["recordings"]}
    (folder / "link.sqlite").unlink()


def test_a_damaged_recording_is_named_and_left_untouched(recorded):
    folder, client = recorded["folder"], recorded["client"]
    damaged = folder / "damaged-day.sqlite"
    damaged.write_bytes(recorded["path"].read_bytes()[:20000])
    digest = hashlib.sha256(damaged.read_bytes()).hexdigest()
    error = _check(client.get(f"{API}/recordings/damaged-day/state?t=17:05"), 422)["error"]
    assert (
        error["code"] in ("corrupt", "not_a_recording") and "damaged-day.sqlite" in error["message"]
    )
    listing = _check(client.get(f"{API}/recordings"), 200, "RecordingList")
    [row] = [r for r in listing["recordings"] if r["id"] == "damaged-day"]
    assert row["code"] == error["code"] and "damaged-day.sqlite" in row["error"]
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == digest
    damaged.unlink()


def test_an_app_without_recordings_says_so(tmp_path):
    app = _make_app(tmp_path, recordings=None)
    client = app.server.test_client()
    assert _check(client.get(f"{API}/recordings"), 200, "RecordingList") == {
        "recording": False,
        "recordings": [],
    }
    assert (
        _check(client.get(f"{API}/recordings/x/state?t=17:00"), 503)["error"]["code"]
        == "no_recordings"
    )
    ack = _check(
        _post(client, {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 2}),
        200,
        "Acknowledgement",
    )
    assert ack["seq"] is None and ack["audit_id"] is not None


# ---------------------------------------------------------------- sign-in, tokens and roles
@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """Sign-in on: one user per role, each with an API token."""
    tmp = tmp_path_factory.mktemp("secured")
    db = tmp / "auth.sqlite"
    store = UserStore(db)
    tokens = {}
    for name, role in ROLES.items():
        store.add(name, PASSWORD, role)
        tokens[role] = store.issue_token(name)
    app = _make_app(tmp, auth_db=str(db), secret_key="k" * 40, audit_db=None)
    return {"app": app, "tokens": tokens, "store": store}


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_without_a_token_or_session_the_api_is_401_json(secured):
    client = secured["app"].server.test_client()
    for response in (
        client.get(f"{API}/state"),
        _post(client, {"kind": "clock", "paused": True}),
        client.get(f"{API}/recordings"),
        client.get(f"{API}/openapi.json"),
        client.get(f"{API}/state", headers=_bearer("vt_not-a-real-token")),
        client.get(f"{API}/state", headers={"Authorization": "Basic b2xnYTpwdw=="}),
    ):
        assert response.status_code == 401 and response.is_json
        assert response.get_json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("role", ["planner", "executive", "admin"])
def test_roles_that_may_not_act_read_but_get_403_and_change_nothing(secured, role):
    app = secured["app"]
    client = app.server.test_client()
    headers = _bearer(secured["tokens"][role])
    state = _check(client.get(f"{API}/state", headers=headers), 200)
    audit = _svc(app).commands.audit
    before = [e.id for e in audit.query(AuditFilter(category="action", limit=10_000))]
    with Recording.open(_svc(app).live.recorder.path) as recording:
        inputs = len(recording.inputs())
    error = _check(
        _post(
            client,
            {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 1},
            headers=headers,
        ),
        403,
    )["error"]
    assert (
        error["code"] == "forbidden"
        and role in error["message"]
        and "only operator may" in error["message"]
    )
    assert (
        _check(client.get(f"{API}/state", headers=headers), 200)["checkpoint_lanes"]
        == state["checkpoint_lanes"]
    )
    assert [e.id for e in audit.query(AuditFilter(category="action", limit=10_000))] == before
    with Recording.open(_svc(app).live.recorder.path) as recording:
        assert len(recording.inputs()) == inputs
    [refusal] = audit.query(AuditFilter(action="api.forbidden", role=role, limit=5))
    assert refusal.result == "refused" and refusal.category == "security"
    # recorded days are the replay page's data: not the executive's (issue 19, point 1)
    if role == "executive":
        _check(client.get(f"{API}/recordings", headers=headers), 403)
    else:
        _check(client.get(f"{API}/recordings", headers=headers), 200, "RecordingList")


def test_an_operator_token_acts_as_that_user(secured):
    app = secured["app"]
    client = app.server.test_client()
    ack = _check(
        _post(
            client,
            {"kind": "set_lanes", "checkpoint_id": 2, "lane_type": "face", "count": 2},
            headers=_bearer(secured["tokens"]["operator"]),
        ),
        200,
        "Acknowledgement",
    )
    [entry] = [
        e for e in _svc(app).commands.audit.query(AuditFilter(limit=50)) if e.id == ack["audit_id"]
    ]
    assert (entry.user, entry.role, entry.result) == ("olga", "operator", "ok")
    with Recording.open(_svc(app).live.recorder.path) as recording:
        [row] = [i for i in recording.inputs() if i.seq == ack["seq"]]
    assert (row.user, row.role) == ("olga", "operator")


def test_a_revoked_token_stops_working(secured):
    client = secured["app"].server.test_client()
    store = UserStore(secured["store"].path)
    token = store.issue_token("olga")
    assert client.get(f"{API}/state", headers=_bearer(token)).status_code == 200
    store.revoke_tokens("olga")
    response = client.get(f"{API}/state", headers=_bearer(token))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthenticated"
    secured["tokens"]["operator"] = store.issue_token("olga")


def _sign_in(client, name):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_a_signed_in_operator_session_acts_with_its_csrf_token(secured):
    client = secured["app"].server.test_client()
    _sign_in(client, "olga")
    _check(client.get(f"{API}/state"), 200)
    body = {"kind": "set_lanes", "checkpoint_id": 2, "lane_type": "face", "count": 1}
    response = _post(client, body)  # a session without the CSRF header: refused by the guard
    assert response.status_code == 403 and response.is_json
    with client.session_transaction() as session:
        csrf = session["csrf"]
    ack = _check(_post(client, body, headers={"X-CSRFToken": csrf}), 200, "Acknowledgement")
    assert ack["after"] == 1


def test_a_signed_in_planner_session_is_403(secured):
    client = secured["app"].server.test_client()
    _sign_in(client, "pat")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    error = _check(
        _post(client, {"kind": "clock", "paused": True}, headers={"X-CSRFToken": csrf}), 403
    )["error"]
    assert error["code"] == "forbidden"


def test_users_token_command_prints_a_working_token(secured, capsys):
    from auth.cli import main as users_main

    assert users_main(["token", "eve", "--db", str(secured["store"].path)]) in (0, None)
    token = capsys.readouterr().out.strip().splitlines()[-1]
    client = secured["app"].server.test_client()
    assert _check(client.get(f"{API}/state", headers=_bearer(token)), 200)["time_s"] >= START_S
