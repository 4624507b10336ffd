"""Every server callback fed junk through the real HTTP endpoint, as a clumsy or hostile client
would (issue 12): no 5xx; refusals change nothing (the live state at the end equals the
recording replayed, which holds only the accepted inputs); the simulated clock still runs.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app.conftest import serve
from tests.twin.service.test_recorder import assert_same_state

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.just("x" * 20_000),
    st.lists(st.integers(-5, 20), max_size=4),
    st.dictionaries(
        st.sampled_from(["kind", "id", "lat", "lon", "corridor_id"]), st.integers(), max_size=3
    ),
    st.sampled_from([0, 1, 2, 8, 11, -1, "0", "abc", "Infinity", "NaN", 1e308, [0], {}]),
)


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    from app import create_app
    from tests.app.geo_scenario import busy_demand, geo_grid_scenario
    from twin.engine import Engine

    scenario = geo_grid_scenario()
    engine = Engine(scenario, start_s=17 * 3600, demand=busy_demand(scenario))
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        {
            "scenario": scenario,
            "engine": engine,
            "speed": 10.0,
            "forecast_period_s": 0,
            "normal_day": False,
            "recordings": str(folder / "recordings"),
            "audit_db": str(folder / "audit.sqlite"),
        }
    )
    served = serve(app)
    yield served, scenario
    served.stop()


def _spec_entry(spec: dict, draw) -> object:
    cid = spec["id"]
    if cid.startswith("{"):
        pattern = json.loads(cid)
        values = draw(st.lists(JUNK, max_size=3))
        return [
            {
                "id": {
                    k: (i if isinstance(v, list) else v) for k, v in pattern.items()
                },  # wildcards
                "property": spec["property"],
                "value": value,
            }
            for i, value in enumerate(values)
        ]
    return {"id": cid, "property": spec["property"], "value": draw(JUNK)}


def _pattern_outputs(pattern: dict, prop: str, draw) -> object:
    """A pattern-matching output as a client sends it: for ALL, a list of concrete ids whose
    length the fuzz varies (0 to 5: the screen may show another junction's phases); for MATCH,
    one concrete id."""
    wild = [k for k, v in pattern.items() if isinstance(v, list)]
    concrete = lambda i: {k: (i if k in wild else v) for k, v in pattern.items()}  # noqa: E731
    if any(pattern[k] == ["ALL"] for k in wild):
        return [{"id": concrete(i), "property": prop} for i in range(draw(st.integers(0, 5)))]
    return {"id": concrete(draw(st.integers(0, 3))), "property": prop}


def _body(app, key: str, draw) -> dict:
    cb = app.callback_map[key]
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outputs = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        prop = prop.split("@", 1)[0]
        if cid.startswith("{"):
            outputs.append(_pattern_outputs(json.loads(cid), prop, draw))
        else:
            outputs.append({"id": cid, "property": prop})
    inputs = [_spec_entry(s, draw) for s in cb["inputs"]]
    first = cb["inputs"][0]
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": [_spec_entry(s, draw) for s in cb.get("state", [])],
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def _post(url: str, body: dict) -> int:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    try:
        conn.request(
            "POST",
            "/_dash-update-component",
            body=json.dumps(body, allow_nan=True),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_no_callback_answers_5xx_and_refusals_change_nothing(room):
    served, scenario = room
    app = served.app
    svc = app.server.extensions["venuetwin"]
    keys = sorted(k for k, cb in app.callback_map.items() if "callback" in cb)
    statuses: dict[int, int] = {}
    server_errors = []

    @settings(
        max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(data=st.data())
    def poke(data):
        key = data.draw(st.sampled_from(keys))
        body = _body(app, key, data.draw)
        status = _post(served.url, body)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            server_errors.append((key, json.dumps(body)[:300]))

    poke()
    assert not server_errors, f"{len(server_errors)} requests got a 5xx, e.g. {server_errors[:3]}"
    # the clock still runs (a speed the screen offers, not paused)
    svc.commands.clock(paused=False, user="test", role="admin")
    svc.commands.clock(speed=10.0, user="test", role="admin")
    start = svc.store.latest().time_s
    deadline = time.monotonic() + 60
    while svc.store.latest().time_s < start + 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.store.latest().time_s >= start + 30, "the simulated clock stopped after the fuzz"
    assert svc.live.stalls == 0 and svc.live.loop_errors == 0  # the watchdog never saw a stall
    # refusals changed nothing: the live state equals the recording replayed (accepted inputs only)
    from tests.app.geo_scenario import busy_demand
    from twin.engine import Engine
    from twin.service.recorder import Recording
    from twin.service.replay import state_at

    live = svc.live
    snapshot = live.call(lambda e: e.snapshot()).result(30)
    deadline = time.monotonic() + 60  # wait until a sample at or after the snapshot is written
    while time.monotonic() < deadline:
        live.recorder.flush()
        with Recording.open(live.recorder.path) as recording:
            if recording.time_range()[1] >= snapshot.time_s:
                break
        time.sleep(0.2)
    with Recording.open(live.recorder.path) as recording:
        refused = sum(1 for i in recording.inputs() if i.result == "refused")
        rebuilt = state_at(
            recording,
            snapshot.time_s,
            engine=Engine(scenario, start_s=17 * 3600, demand=busy_demand(scenario)),
        )
    assert_same_state(snapshot.state, rebuilt.state)
    print(
        f"fuzz: {sum(statuses.values())} requests, statuses {statuses}, {refused} refusals recorded"
    )
