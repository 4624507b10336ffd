"""The planner's replay page (/replay) in headless Chromium, on a short recorded day
(18:00–19:30 of the bundled scenario with the bundled script's inputs in that span), and the
server-side role checks of forking.

Screenshots go to tests/artifacts/ (git-ignored): look at them after a UI change.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import BUNDLED, open_page, serve, wall_config
from tests.waiting import wait_for
from twin.service.recorder import Recording
from twin.service.replay import (
    ForkChanges,
    compare,
    parse_clock,
    read_script,
    record_day,
    replay_engine,
    state_at,
)

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
START, END = "18:00", "19:30"
SECRET = "r" * 40
PASSWORD = "correct horse battery"


def _wait_for(predicate, timeout_s: float, step_s: float = 0.25):
    return wait_for(predicate, timeout_s, step_s)


def _short_day(folder):
    from twin.scenario import load

    items = [
        i
        for i in json.loads((BUNDLED / "recorded_day.json").read_text())
        if START <= i["at"] <= END
    ]
    return record_day(
        load(BUNDLED),
        out_dir=folder,
        start_s=parse_clock(START),
        end_s=parse_clock(END),
        script=read_script(items),
        day=date(2026, 9, 12),
        name="Short test day",
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replay-recordings")
    return folder, _short_day(folder).stem


@pytest.fixture(scope="module")
def replay(recorded):
    from app import create_app

    folder, _ = recorded
    served = serve(
        create_app(
            wall_config(
                recordings=str(folder), run_engine=False, normal_day=False, bundled_day=False
            )
        )
    )
    yield served
    served.stop()


def _open(browser, replay, recorded, query: str = "", **size):
    page, log = open_page(browser, f"{replay.url}/replay{query}", **size)
    page.wait_for_function(
        "window.vtReplay && window.vtReplay.state().day !== null", timeout=180_000
    )
    _wait_for(lambda: page.evaluate("window.vtReplay.state().frames") > 0, 60)
    return page, log


def _tab(page, name: str) -> None:
    page.locator("#rp-tab label", has_text=re.compile(f"^{name}$")).click()


def _clock(page) -> str:
    return page.inner_text("#rp-clock")


def _replay_t(page) -> float:
    return page.evaluate("window.vtReplay.state().t")


def _action_seq(recorded, name: str) -> int:
    folder, day = recorded
    with Recording.open(folder / f"{day}.sqlite") as recording:
        return next(i.seq for i in recording.inputs(kind="action") if i.name == name)


# ---------------------------------------------------------------- the page
def test_deep_link_opens_the_day_at_the_minute_with_the_map_drawn(browser, replay, recorded):
    page, log = _open(browser, replay, recorded, f"?day={recorded[1]}&t=18:40")
    assert _clock(page) == "18:40:00"
    assert page.url.endswith(f"?day={recorded[1]}&t=18:40")
    _wait_for(lambda: page.evaluate("window.vtDeck.stats().applied") > 0, 60)
    image = Image.open(io.BytesIO(page.locator("#rp-map").screenshot())).convert("RGB")
    assert (
        len(image.getcolors(maxcolors=1 << 20)) > 50
    )  # roads, crowd, venues drawn, not a blank canvas
    assert len(page.query_selector_all("#rp-kpis .kpi")) == 7
    assert "Short test day" in page.inner_text("#rp-title")
    assert len(page.query_selector_all(".rp-mark-input")) >= 3 and page.query_selector_all(
        ".rp-mark-alert"
    )
    page.context.close()
    assert log.errors == [] and log.foreign == []


def test_without_a_day_the_newest_opens_at_its_start(browser, replay, recorded):
    page, _ = _open(browser, replay, recorded)
    assert _clock(page) == "18:00:00"
    assert f"day={recorded[1]}" in page.url and "t=18:00" in page.url
    page.context.close()


def test_play_at_60x_advances_the_time_and_the_url_follows(browser, replay, recorded):
    page, _ = _open(browser, replay, recorded, f"?day={recorded[1]}&t=18:40")
    page.click("[data-speed='60']")
    page.click(".rp-play")
    wall_start, t0 = time.monotonic(), _replay_t(page)
    # two simulated minutes go by (bounded: software WebGL can hold the page's thread while it
    # draws the map, so a busy machine plays slower, never faster)
    assert _wait_for(lambda: _replay_t(page) - t0 >= 120, 180)
    t1, wall_s = _replay_t(page), time.monotonic() - wall_start
    assert t1 - t0 <= 60 * (wall_s + 0.5)  # at most 60 simulated s per wall s
    assert page.inner_text("#rp-playstate") == "PLAYING ×60"
    served = _wait_for(lambda: page.evaluate("window.vtReplay.state().frames") >= 2, 30)
    assert served  # the server answered frames while playing
    page.click(".rp-play")
    minute = page.evaluate("window.vtReplay.state().t")
    time.sleep(1.2)
    assert page.evaluate("window.vtReplay.state().t") == minute  # paused
    hhmm = f"{int(minute // 3600):02d}:{int(minute % 3600 // 60):02d}"
    assert minute >= 18 * 3600 + 42 * 60  # past where it started, however fast the machine
    assert _wait_for(lambda: f"t={hhmm}" in page.url, 60), (page.url, hhmm)  # the URL follows
    page.context.close()


def test_click_an_action_mark_lands_on_its_minute_with_the_log_entry_highlighted(
    browser, replay, recorded
):
    seq = _action_seq(recorded, "set_signal_plan")  # 18:45, park.minho
    page, log = _open(browser, replay, recorded, f"?day={recorded[1]}&t=18:20")
    _tab(page, "Operator log")
    page.wait_for_selector(".rp-log-entry")
    mark = page.locator(f".rp-mark[data-seq='{seq}']")
    mark.hover()
    tip = page.inner_text("#rp-tip")
    assert "18:45" in tip and "park.minho" in tip and "Signal plan" in tip
    mark.click()
    assert _clock(page) == "18:45:00"
    assert page.url.endswith("t=18:45")
    current = _wait_for(
        lambda: page.eval_on_selector_all(
            ".rp-log-entry.current", "els => els.map(e => e.getAttribute('data-seq'))"
        ),
        5,
    )
    assert current == [str(seq)]
    assert "cycle 117 s, greens 52/55" in page.inner_text(f".rp-log-entry[data-seq='{seq}']")
    # Back returns to the previous view; the arrow keys and step buttons move by minutes
    page.go_back()
    _wait_for(lambda: _clock(page) == "18:20:00", 10)
    assert _clock(page) == "18:20:00"
    page.locator("#rp-clock").click()
    page.keyboard.press("ArrowRight")
    assert _clock(page) == "18:21:00"
    page.keyboard.press("Shift+ArrowLeft")
    assert _clock(page) == "18:16:00"
    page.click("[data-step='300']")
    assert _clock(page) == "18:21:00"
    page.context.close()
    assert log.errors == []


def test_log_filters_by_kind_and_user(browser, replay, recorded):
    page, _ = _open(browser, replay, recorded, f"?day={recorded[1]}&t=18:20")
    _tab(page, "Operator log")
    page.wait_for_selector(".rp-log-entry")
    everything = len(page.query_selector_all(".rp-log-entry"))
    page.click("#rp-log-kind")
    page.keyboard.type("Signal")
    page.keyboard.press("Enter")
    _wait_for(lambda: len(page.query_selector_all(".rp-log-entry")) < everything, 10)
    kinds = page.eval_on_selector_all(
        ".rp-log-entry .rp-log-kind", "els => els.map(e => e.textContent)"
    )
    assert kinds and set(kinds) == {"Signal plan"}
    page.context.close()


def test_drag_on_the_timeline_scrubs_and_a_chart_click_jumps(browser, replay, recorded):
    page, _ = _open(browser, replay, recorded, f"?day={recorded[1]}&t=18:00")
    box = page.locator("#rp-track").bounding_box()
    y = box["y"] + box["height"] - 4  # under the marks
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, y, steps=8)
    page.mouse.up()
    assert abs(_replay_t(page) - parse_clock("18:45")) <= 120  # the middle of 18:00–19:30
    page.wait_for_selector("#rp-charts .js-plotly-plot .nsewdrag")
    plot = page.locator("#rp-charts .nsewdrag").first.bounding_box()
    before = _replay_t(page)
    page.mouse.click(plot["x"] + plot["width"] * 0.2, plot["y"] + plot["height"] / 2)
    _wait_for(lambda: _replay_t(page) != before, 5)
    assert parse_clock("18:05") <= _replay_t(page) <= parse_clock("18:30")
    page.context.close()


def test_first_start_records_the_bundled_day_and_the_page_opens_it(browser, tmp_path, monkeypatch):
    """An empty recordings folder: the app records the bundled day in the background (here a
    short span of it), the page says so, then opens it."""
    import callbacks.replay as replay_callbacks
    from app import create_app

    monkeypatch.setattr(replay_callbacks, "BUNDLED_SPAN", ("18:00", "18:20"))
    served = serve(
        create_app(wall_config(recordings=str(tmp_path), run_engine=False, normal_day=False))
    )
    try:
        page, log = open_page(browser, f"{served.url}/replay")
        opened = _wait_for(lambda: page.evaluate("window.vtReplay.state().day"), 120, 0.5)
        assert opened == replay_callbacks.BUNDLED_FILE
        assert "bundled recording" in page.inner_text("#rp-title")
        _wait_for(lambda: _clock(page) == "18:00:00", 10)
        assert _clock(page) == "18:00:00"
        assert (tmp_path / f"{replay_callbacks.BUNDLED_FILE}.sqlite").is_file()
        page.context.close()
        assert log.errors == []
    finally:
        served.stop()


# ---------------------------------------------------------------- fork and compare
def _worst_wait_after(recording, engine, checkpoint: int, from_s: float, to_s: float) -> float:
    """The twin's own reconstruction: the checkpoint's wait every minute after ``from_s``."""
    waits = []
    for t in np.arange(from_s + 60, to_s + 1, 60):
        view = state_at(recording, float(t), engine=engine).view()
        waits.append(view.extras["pedestrians"]["checkpoints"]["wait_s"][checkpoint])
    return float(np.max(waits))


def test_fork_with_two_more_lanes_shortens_the_worst_wait_there(
    browser, replay, recorded, artifacts
):
    folder, day = recorded
    page, log = _open(browser, replay, recorded, f"?day={day}&t=18:40")
    page.click(".rp-fork-here")
    assert page.inner_text("#rp-fork-at") == "18:40"
    page.click("#rp-fk-checkpoint")
    page.keyboard.type("Tennis")
    page.keyboard.press("Enter")
    _wait_for(lambda: page.input_value("#rp-fk-count") != "", 20)
    assert "4 face-recognition" in page.inner_text("#rp-fk-lanes-now")
    assert page.input_value("#rp-fk-count") == "6"  # two more face lanes than at 18:40
    page.click("#rp-fork-add")
    page.wait_for_selector(".rp-change")
    page.fill("#rp-fork-name", "two more lanes at the Tennis Center")
    page.click("#rp-fork-run")
    page.wait_for_selector(".rp-job")
    assert "background" in page.inner_text("#rp-fork-msg")
    _tab(page, "Days")  # the page stays usable while the fork runs
    page.click("[data-step='60']")
    assert _clock(page) == "18:41:00"
    _tab(page, "Fork")
    done = _wait_for(
        lambda: page.query_selector(".rp-job[data-state='done'], .rp-job[data-state='failed']"),
        180,
        0.5,
    )
    assert done is not None and done.get_attribute("data-state") == "done", page.inner_text(
        "#rp-job-list"
    )
    page.click(".rp-job-open")
    page.wait_for_selector(".rp-cp-table", timeout=120_000)
    assert "two more lanes at the Tennis Center" in page.inner_text("#rp-title")
    assert page.inner_text("#rp-clock") == "18:40:00"
    fork_id = re.search(r"day=([^&]+)", page.url).group(1)

    shown = {
        cell: float(
            page.get_attribute(f".rp-cp-row[data-checkpoint='0'] td:nth-child({n})", "data-value")
        )
        for cell, n in (("original", 2), ("fork", 3))
    }
    assert shown["fork"] < shown["original"]
    with (
        Recording.open(folder / f"{day}.sqlite") as original,
        Recording.open(folder / "forks" / f"{fork_id}.sqlite") as fork,  # apart from the days
    ):
        engine = replay_engine(original)
        at_s, end_s = parse_clock("18:40"), parse_clock(END)
        assert shown["original"] == pytest.approx(
            _worst_wait_after(original, engine, 0, at_s, end_s), rel=1e-6
        )
        assert shown["fork"] == pytest.approx(
            _worst_wait_after(fork, engine, 0, at_s, end_s), rel=1e-6
        )
        rows = {r["key"]: r for r in compare(original, fork)["rows"]}
    table_mean = float(
        page.get_attribute("tr[data-key='mean_wait_s'] td:nth-child(3)", "data-value")
    )
    assert table_mean == pytest.approx(rows["mean_wait_s"]["fork"], rel=1e-5)
    assert rows["mean_wait_s"]["fork"] < rows["mean_wait_s"]["original"]
    # both lines on the day charts; the fork is listed under its day
    assert page.evaluate("document.querySelector('#rp-charts .js-plotly-plot').data.length") == 14
    _tab(page, "Days")
    assert page.query_selector(f"a.rp-day-fork[href='/replay?day={fork_id}']")
    page.context.close()
    assert log.errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_the_replay_page_and_the_compare_view(
    browser, replay, recorded, artifacts, size
):
    from callbacks.replay import replay_web

    folder, day = recorded
    service = replay_web(replay.app).service
    fork_id = next(
        (
            f["id"]
            for d in service.days()
            for f in d["forks"]
            if f["name"] == "no signal change at 18:45"
        ),
        None,
    )
    if fork_id is None:  # what if the operator had not retimed 방이사거리 at 18:45?
        job = service.start_fork(
            day,
            parse_clock("18:40"),
            ForkChanges(drop=(_action_seq(recorded, "set_signal_plan"),)),
            name="no signal change at 18:45",
        )
        _wait_for(lambda: job.state in ("done", "failed"), 180, 0.5)
        assert job.state == "done", job.error
        fork_id = job.fork_id
    width, height = SIZES[size]
    page, log = _open(browser, replay, recorded, f"?day={day}&t=19:05", width=width, height=height)
    _tab(page, "Operator log")
    page.wait_for_selector(".rp-log-entry.current")
    time.sleep(2.5)  # the map's last frame drawn
    page.screenshot(path=str(artifacts / f"replay-{size}.png"))
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    page.context.close()

    page, log2 = _open(
        browser, replay, recorded, f"?day={fork_id}&t=19:15", width=width, height=height
    )
    page.wait_for_selector(".rp-compare-table", timeout=120_000)
    page.click("label:has-text('Δ delay vs original')")
    _wait_for(lambda: page.evaluate("(window.vtDeck.rows('whatif') || []).length") > 0, 30)
    time.sleep(2.5)
    page.screenshot(path=str(artifacts / f"replay-compare-{size}.png"))
    page.context.close()
    assert log.errors == [] and log2.errors == []


# ---------------------------------------------------------------- sharing frames
def test_workers_share_reconstructed_frames_through_redis(recorded, redis_url):
    """Two web workers of the scaled mode: a frame one reconstructed is served by the other from
    the Redis cache, without building a replay engine."""
    from app import create_app
    from callbacks.replay import frame_payload, replay_web

    folder, day = recorded
    workers = [
        create_app(
            wall_config(
                recordings=str(folder),
                run_engine=False,
                normal_day=False,
                bundled_day=False,
                start=False,
                store="redis",
                redis_url=redis_url,
            )
        )
        for _ in range(2)
    ]
    first, second = (replay_web(app) for app in workers)
    assert type(first.cache.cache).__name__ == "RedisCache"
    scene = workers[0].server.extensions["venuetwin"].scene
    made = frame_payload(first, scene, day, parse_clock("18:40"))
    shared = frame_payload(second, scene, day, parse_clock("18:40"))
    assert second.service._replayers == {}  # served from the cache, not reconstructed
    assert (
        shared["kpis"] == pytest.approx(made["kpis"], nan_ok=True)
        and shared["alerts"] == made["alerts"]
    )
    assert all(
        np.array_equal(shared["values"][k][c], made["values"][k][c])
        for k in made["values"]
        for c in made["values"][k]
    )


# ---------------------------------------------------------------- roles (server side)
@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory, recorded):
    from app import create_app
    from auth.users import UserStore

    folder = tmp_path_factory.mktemp("roles")
    users = UserStore(folder / "auth.sqlite")
    for name, role in (
        ("olga", "operator"),
        ("pat", "planner"),
        ("eve", "executive"),
        ("ada", "admin"),
    ):
        users.add(name, PASSWORD, role)
    return create_app(
        wall_config(
            recordings=str(recorded[0]),
            run_engine=False,
            normal_day=False,
            bundled_day=False,
            start=False,
            auth_db=str(folder / "auth.sqlite"),
            secret_key=SECRET,
        )
    )


def _sign_in(app, name):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": token, "next": ""}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:200]
    return client


def _callback_key(app, output: str) -> str:
    return next(key for key in app.callback_map if output in key)


def _fork_body(app):
    key = _callback_key(app, "rp-jobs.data")
    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1].split("@")[0]}
        for part in key.strip(".").split("...")
    ]
    state = [
        {"id": i, "property": p, "value": v}
        for i, p, v in (
            (
                "rp-fork-changes",
                "data",
                [
                    {
                        "type": "action",
                        "action": {
                            "kind": "set_lanes",
                            "checkpoint_id": 0,
                            "lane_type": "face",
                            "count": 6,
                        },
                    }
                ],
            ),
            ("rp-fork-name", "value", "x"),
            ("rp-fork-until", "value", "end"),
            ("rp-time", "data", None),
            ("rp-daydata", "data", None),
            ("rp-jobs", "data", []),
        )
    ]
    return {
        "output": key,
        "outputs": outputs,
        "inputs": [{"id": "rp-fork-run", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["rp-fork-run.n_clicks"],
        "state": state,
    }


@pytest.mark.parametrize(
    "name, allowed", [("eve", False), ("pat", True), ("olga", True), ("ada", True)]
)
def test_only_planners_operators_and_admins_may_fork(signed_in_app, name, allowed):
    client = _sign_in(signed_in_app, name)
    response = client.post("/_dash-update-component", json=_fork_body(signed_in_app))
    if allowed:
        assert response.status_code in (200, 204)  # no day open in this request: nothing starts
    else:
        assert response.status_code == 403


def test_a_planner_cannot_act_on_the_live_twin(signed_in_app):
    client = _sign_in(signed_in_app, "pat")
    key = _callback_key(signed_in_app, "wall-pause.children")
    body = {
        "output": key,
        "outputs": {"id": "wall-pause", "property": "children"},
        "inputs": [{"id": "wall-pause", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["wall-pause.n_clicks"],
        "state": [],
    }
    assert client.post("/_dash-update-component", json=body).status_code == 403
    assert client.get("/").status_code == 302  # the live wall is not a planner's page


@pytest.mark.parametrize(
    "name, status, where",
    [("pat", 200, None), ("olga", 200, None), ("ada", 200, None), ("eve", 302, "/summary")],
)
def test_who_may_open_the_replay_page(signed_in_app, name, status, where):
    response = _sign_in(signed_in_app, name).get("/replay?day=x&t=18:40")
    assert response.status_code == status
    if where:
        assert response.location == where


def test_planners_land_on_the_replay_page(signed_in_app):
    client = signed_in_app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": "pat", "password": PASSWORD, "csrf_token": token, "next": ""}
    )
    assert response.location == "/replay"


# ---------------------------------------------------------------- pure builders
NAMES = {
    "junctions": {64: "방이사거리 (#64)"},
    "checkpoints": {5: "KSPO Dome entrance"},
    "hospitals": {"hospital_asan_medical_center": "Asan Medical Center"},
}


@pytest.mark.parametrize(
    "item, text",
    [
        (
            {
                "kind": "action",
                "name": "set_lanes",
                "payload": {"checkpoint_id": 5, "lane_type": "face", "count": 9},
                "before": 5,
            },
            "KSPO Dome entrance: face lanes 5 → 9",
        ),
        (
            {
                "kind": "action",
                "name": "set_signal_plan",
                "payload": {"node_id": 64, "cycle_s": 130, "greens_s": [68, 52]},
                "before": {"cycle_s": 117.0, "greens_s": [52.0, 55.0]},
            },
            "방이사거리 (#64): cycle 117 s, greens 52/55 → cycle 130 s, greens 68/52 s",
        ),
        (
            {
                "kind": "action",
                "name": "dispatch_corridor",
                "payload": {
                    "corridor_id": "AMB-1",
                    "lat": 37.5183,
                    "lon": 127.1152,
                    "hospital_id": "hospital_asan_medical_center",
                },
                "after": {"distance_m": 3222, "signals": 3},
            },
            "Green corridor AMB-1 from 37.5183, 127.1152 to Asan Medical Center (3.2 km, 3 signals)",
        ),
        (
            {
                "kind": "ack",
                "name": "acknowledge",
                "payload": {"alert_id": -3, "group": True},
                "after": {"acked": True, "kind": "congestion", "severity": "critical"},
            },
            "Acknowledged every congestion alert (critical)",
        ),
        ({"kind": "clock", "name": "speed", "payload": {"speed": 30}}, "Clock speed ×30"),
    ],
)
def test_recorded_inputs_are_described_in_the_control_rooms_words(item, text):
    from layouts.replay_day import describe_input

    assert describe_input(item, NAMES) == text


def _input(seq, at, name, user="kim", kind="action", result="ok"):
    return {
        "seq": seq,
        "sim_time_s": parse_clock(at),
        "kind": kind,
        "name": name,
        "user": user,
        "role": "operator",
        "result": result,
        "reason": "" if result == "ok" else "too many lanes",
        "payload": {},
        "before": None,
        "after": None,
    }


def test_timeline_marks_sit_at_their_time_with_kind_and_severity():
    from layouts.replay_day import timeline_marks

    inputs = [
        _input(1, "18:00", "set_lanes"),
        _input(2, "19:00", "set_signal_plan", result="refused"),
        _input(3, "19:30", "speed", kind="clock"),
    ]
    alerts = [
        {
            "time_s": parse_clock("18:30"),
            "severity": "critical",
            "place": "KSPO Dome",
            "message": "Wait 34 min",
        }
    ]
    marks = timeline_marks(inputs, alerts, parse_clock("18:00"), parse_clock("20:00"), NAMES)
    assert [(m.style["left"], m.className) for m in marks] == [
        ("0.000%", "rp-mark rp-mark-input cat-lanes"),
        ("50.000%", "rp-mark rp-mark-input cat-signals refused"),
        ("25.000%", "rp-mark rp-mark-alert sev-critical"),
    ]  # clock changes are in the log, not on the timeline
    assert "REFUSED" in getattr(marks[1], "data-tip") and "KSPO Dome: Wait 34 min" in getattr(
        marks[2], "data-tip"
    )


def test_operator_log_filters_by_kind_and_user():
    from layouts.replay_day import log_filters, operator_log

    inputs = [
        _input(1, "18:00", "set_lanes", "kim"),
        _input(2, "18:10", "set_signal_plan", "park"),
        _input(3, "18:20", "acknowledge", "park", kind="ack"),
    ]
    kinds, users = log_filters(inputs)
    assert [k["value"] for k in kinds] == ["signals", "lanes", "ack"] and [
        u["value"] for u in users
    ] == ["kim", "park"]
    seqs = lambda rows: [getattr(r, "data-seq", None) for r in rows]  # noqa: E731
    assert seqs(operator_log(inputs, NAMES, users=["park"])) == ["2", "3"]
    assert seqs(operator_log(inputs, NAMES, kinds=["lanes"], users=["kim"])) == ["1"]
    assert (
        operator_log(inputs, NAMES, kinds=["clock"])[0].children
        == "No operator inputs match the filter"
    )


def test_compare_table_shows_minutes_and_signed_differences():
    from layouts.replay_fork import compare_table

    rows = [
        {
            "key": "worst_wait_s",
            "label": "worst checkpoint wait (s)",
            "original": 900.0,
            "fork": 600.0,
            "difference": -300.0,
            "verdict": "better",
        },
        {
            "key": "share_under_target",
            "label": "share",
            "original": 0.5,
            "fork": 0.6,
            "difference": 0.1,
            "verdict": "better",
        },
    ]
    body = compare_table({"rows": rows}).children[1].children
    cells = [[c.children for c in row.children] for row in body]
    assert cells == [
        ["worst checkpoint wait (min)", "15.0 min", "10.0 min", "−5.0 min"],
        ["share", "50 %", "60 %", "+10 pt"],
    ]


@pytest.mark.parametrize(
    "kind, fields, message",
    [
        ("lanes", {"checkpoint": None}, "choose a checkpoint"),
        (
            "lanes",
            {"checkpoint": 0, "count": 2.5, "lane_type": "face"},
            "lanes open must be a whole number",
        ),
        (
            "signals",
            {"node": 64, "greens": "60, x", "cycle": 120, "offset": 0},
            "each green must be a number",
        ),
        ("corridor", {"lat": "north", "lon": 127.1, "hospital": None}, "lat must be a number"),
        ("recorded", {"seq": None}, "choose a recorded action"),
        ("nothing", {}, "choose what to change"),
    ],
)
def test_form_values_that_are_not_a_change_are_refused_with_a_reason(kind, fields, message):
    from callbacks.replay import _change

    defaults = dict.fromkeys(
        (
            "node",
            "cycle",
            "greens",
            "offset",
            "checkpoint",
            "lane_type",
            "count",
            "lat",
            "lon",
            "hospital",
            "seq",
            "op",
            "move_to",
        )
    )
    with pytest.raises(ValueError, match=message):
        _change(kind, at_s=parse_clock("18:40"), n=0, **{**defaults, **fields})
