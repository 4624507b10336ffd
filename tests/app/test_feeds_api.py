"""``POST /api/v1/feeds/{source}`` and its status, through the HTTP layer (Flask test client) on
the bundled day with the loop thread not started (time moves only by ``run_until``).

Sign-in is off here, so the tests that post as a feed system stand in for a feed token by
replacing :func:`callbacks.services.who` in ``callbacks.api_feeds``; a real feed token (and an
operator's refused) is tried in tests/app/test_permission_table.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from callbacks.api_schema import OPENAPI, SCHEMA_URI
from tests.app.conftest import BUNDLED
from twin.service.recorder import Recording

API = "/api/v1"
START_S = 17 * 3600.0
FEEDER = {"user": "loops-gateway", "role": "feed", "ip": "127.0.0.1"}


def _schema(name):
    registry = Registry().with_resource(
        SCHEMA_URI, Resource.from_contents(OPENAPI, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{SCHEMA_URI}#/components/schemas/{name}"}, registry=registry
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from app import create_app

    tmp = tmp_path_factory.mktemp("feeds")
    return create_app(
        {
            "scenario": BUNDLED,
            "start": False,
            "normal_day": False,
            "forecast_period_s": 0.0,
            "warmup_s": 0.0,
            "start_s": START_S,
            "recordings": str(tmp / "recordings"),
            "audit_db": str(tmp / "audit.sqlite"),
        }
    )


@pytest.fixture
def client(app):
    return app.server.test_client()


@pytest.fixture
def as_feed(monkeypatch):
    monkeypatch.setattr("callbacks.api_feeds.who", lambda: dict(FEEDER))


def _svc(app):
    return app.server.extensions["venuetwin"]


def _inputs(app):
    with Recording.open(_svc(app).live.recorder.path) as recording:
        return [i.as_dict() for i in recording.inputs()]


def _ndjson(records):
    return "\n".join(json.dumps(r) for r in records)


def _minute(app, end_s):
    ids = _svc(app).scenario.detectors["detector_id"].tolist()
    return [
        {"detector": d, "t": end_s, "interval_s": 60, "count": 4 + i % 7} for i, d in enumerate(ids)
    ]


def _post(client, source, body, mimetype="application/x-ndjson"):
    return client.post(f"{API}/feeds/{source}", data=body, content_type=mimetype)


def test_an_operator_may_not_post_a_feed(app, client):
    before = _inputs(app)
    response = _post(client, "loops", _ndjson(_minute(app, START_S)))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert _inputs(app) == before


def test_a_feed_batch_is_recorded_and_applied(app, client, as_feed):
    live = _svc(app).live
    live.run_until(START_S + 60)
    batch = _minute(app, START_S + 60)
    response = _post(client, "loops", _ndjson(batch))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    _schema("FeedAccepted").validate(body)
    assert body["records"] == len(batch) and body["detector_readings"] == len(batch)
    last = _inputs(app)[-1]
    assert (last["kind"], last["result"], last["seq"]) == ("feed", "ok", body["seq"])
    assert last["user"] == "loops-gateway" and last["role"] == "feed"
    scans = [
        {"checkpoint": 0, "lane": lane, "lane_type": "face", "t": START_S + 10 + 3 * k}
        for lane in range(2)
        for k in range(10)
    ]
    response = _post(client, "gates", json.dumps({"records": scans}), "application/json")
    assert response.status_code == 200 and response.get_json()["scans"] == 20
    assert _inputs(app)[-1]["payload"]["checkpoints"]["served_persons"] == [20.0]


def _scan(t, **extra):
    return {"checkpoint": 0, "lane": 0, "lane_type": "face", "t": t, **extra}


BAD_RECORDS = {
    # rule -> (HTTP status, a bad record for a batch whose good part ends at t)
    "unknown_detector": (422, lambda t: {"detector": "XX-1", "t": t, "interval_s": 60, "count": 1}),
    "unknown_checkpoint": (422, lambda t: _scan(t - 1, checkpoint=99)),
    "unknown_lane": (422, lambda t: _scan(t - 1, lane=999)),
    "unknown_lane_type": (422, lambda t: _scan(t - 1, lane_type="x-ray")),
    "negative_count": (
        422,
        lambda t: {"detector": "CS-0072", "t": t + 60, "interval_s": 60, "count": -1},
    ),
    "bad_value": (
        400,
        lambda t: {
            "detector": "CS-0072",
            "t": t + 60,
            "interval_s": 60,
            "count": 1,
            "occupancy": 2,
        },
    ),
    "ahead_of_clock": (422, lambda t: _scan(t + 3600)),
    "duplicate": (422, lambda t: {"detector": "SL-0000", "t": t, "interval_s": 60, "count": 1}),
    "out_of_order": (
        422,
        lambda t: {"detector": "SL-0000", "t": t - 60, "interval_s": 60, "count": 1},
    ),
    "above_capacity": (
        422,
        lambda t: {"detector": "CS-0072", "t": t + 60, "interval_s": 60, "count": 9999},
    ),
}


@pytest.mark.parametrize("rule", sorted(BAD_RECORDS))
def test_every_rule_refuses_the_batch_naming_the_record_and_changes_nothing(
    app, client, as_feed, rule
):
    live = _svc(app).live
    live.run_until(live.engine.time_s + 60)
    t = live.engine.time_s
    good = _minute(app, t)
    status, bad = BAD_RECORDS[rule]
    before = _inputs(app)
    audit_before = [e.id for e in _svc(app).commands.audit.query()]
    vehicles = live.engine.state.vehicles.copy()
    feeds = live.engine.state.extras.get("feeds")
    seen = None if feeds is None else feeds.det_last_end_s.copy()
    response = _post(client, "loops", _ndjson([*good, bad(t)]))
    assert response.status_code == status, response.get_data(as_text=True)
    _schema("ErrorBody").validate(response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == rule and error["rule"]
    assert (error["record"], error["line"]) == (len(good), len(good) + 1)
    assert error["message"].startswith(f"record {len(good)} (line {len(good) + 1}): ")
    after = _inputs(app)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert (after[-1]["kind"], after[-1]["result"]) == ("feed", "refused")
    audit_after = [e.id for e in _svc(app).commands.audit.query()]
    assert set(audit_before) <= set(audit_after) and len(audit_after) == len(audit_before) + 1
    assert (live.engine.state.vehicles == vehicles).all()
    if seen is not None:  # no reading of the good part was taken either
        assert np.array_equal(
            live.engine.state.extras["feeds"].det_last_end_s, seen, equal_nan=True
        )


def test_a_malformed_line_is_named_and_changes_nothing(app, client, as_feed):
    live = _svc(app).live
    live.run_until(live.engine.time_s + 60)
    before = _inputs(app)
    body = _ndjson(_minute(app, live.engine.time_s)).replace("\n", "\n{oops\n", 1)
    response = _post(client, "loops", body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "malformed" and error["message"].startswith("line 2 is not valid JSON")
    assert len(_inputs(app)) == len(before) + 1
    assert _post(client, "loops", "", "application/x-ndjson").get_json()["error"]["code"] == (
        "empty_batch"
    )


def test_the_status_counts_rejections_by_reason(app, client, as_feed):
    live = _svc(app).live
    live.run_until(live.engine.time_s + 60)
    _post(
        client,
        "status-test",
        _ndjson([{"detector": "nope", "t": START_S, "interval_s": 60, "count": 1}]),
    )
    assert (
        _post(client, "status-test", _ndjson(_minute(app, live.engine.time_s))).status_code == 200
    )
    response = client.get(f"{API}/feeds/status-test/status")
    assert response.status_code == 200
    body = response.get_json()
    _schema("FeedStatus").validate(body)
    (row,) = body["sources"]
    assert row["rejected"] == {"unknown_detector": 1} and row["batches"] == 1
    assert row["stale"] is False
    assert client.get(f"{API}/feeds/never-heard/status").status_code == 404


def test_the_openapi_document_lists_the_feed_routes(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert {"/feeds/{source}", "/feeds/{source}/status"} <= set(paths)


def test_app_feed_plays_a_file_into_the_live_twin(app, tmp_path):
    """``python app.py --feed FILE`` wiring: :func:`app.start_feed` reads the file (its meta line
    names the source and says it is synthetic) and submits what is due by the twin's clock."""
    from app import start_feed
    from tests.waiting import wait_for

    live = _svc(app).live
    live.run_until(live.engine.time_s + 60)  # a minute no other test has fed
    now = live.engine.time_s
    records = _minute(app, now) + _minute(app, now + 600)  # due now; due in 10 minutes
    path = tmp_path / "feed.ndjson"
    meta = {"meta": {"source": "file-test", "synthetic": True}}
    path.write_text("\n".join(json.dumps(r) for r in [meta, *records]) + "\n")
    replayer = start_feed(app, str(path))
    try:
        assert wait_for(lambda: replayer.results, 60.0), "the due minute was never submitted"
    finally:
        replayer.stop()
    (result,) = replayer.results  # the minute 10 minutes ahead is not due yet
    assert result.ok and result.after["records"] == len(records) // 2
    assert not replayer.done and replayer.next_due_s() == now + 600
    last = _inputs(app)[-1]
    assert last["user"] == "feed-replayer" and last["payload"]["synthetic"] is True
