"""The checkpoint, corridor and event-day queries of :mod:`twin.service.queries`.

Truths used: the preview of a lane count is what the checkpoint table shows once that count is
really applied (the prediction the operator saw is the one they get); a refused count changes
nothing; the bundled day's end is worked out by hand from schedule.csv and scenario.toml.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin import scenario as scenario_module
from twin.crowd import pedestrians
from twin.engine import Engine
from twin.errors import ActionError
from twin.service import queries

BUNDLED = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"


@pytest.fixture(scope="module")
def bundled():
    return scenario_module.load(BUNDLED)


@pytest.fixture(scope="module")
def evening(bundled) -> Engine:
    """The bundled day at 19:10, arrivals building."""
    engine = Engine(bundled, seed=0, start_s=18.5 * 3600)
    engine.run(19 * 3600 + 600)
    return engine


def _lanes(engine: Engine) -> tuple[list[int], list[int]]:
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    return cp.lanes_face.tolist(), cp.lanes_manual.tolist()


def test_lane_preview_is_what_the_table_shows_after_the_change(evening):
    index = 5  # KSPO Dome entrance, the largest venue
    row = queries.checkpoint_rows(evening)[index]
    count = row["lanes_face"] + 3
    before = _lanes(evening)
    preview = queries.lane_preview(evening, index, "face", count)
    assert _lanes(evening) == before  # a preview changes nothing
    assert preview["lanes_now"] == row["lanes_face"] and preview["lanes_new"] == count
    assert preview["now"]["wait_15_s"] == row["wait_15_s"]
    assert preview["now"]["wait_30_s"] == row["wait_30_s"]
    applied = evening.fork()
    applied.apply(pedestrians.SetLanes(checkpoint_id=index, lane_type="face", count=count))
    after = queries.checkpoint_rows(applied)[index]
    assert preview["candidate"]["lanes_face"] == after["lanes_face"] == count
    for key in ("wait_now_s", "wait_15_s", "wait_30_s"):
        assert preview["candidate"][key] == pytest.approx(after[key])
        assert preview["candidate"][key] <= preview["now"][key] + 1e-9  # more lanes, no longer
    json.dumps(preview)  # plain data


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (-1, "count: must be a whole number >= 0, got -1"),
        (999, "count: 999 face lanes exceed"),
        ("abc", "count: must be a whole number >= 0, got 'abc'"),
        (None, "the box is empty or holds no number"),
        (2.5, "got 2.5"),
    ],
)
def test_lane_preview_refuses_bad_counts_and_changes_nothing(evening, count, words):
    before = _lanes(evening)
    with pytest.raises(ActionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        queries.lane_preview(evening, 0, "face", count)
    assert _lanes(evening) == before


def test_lane_preview_names_a_bad_checkpoint_or_lane_type(evening):
    with pytest.raises(ActionError, match="checkpoint_id: 4242 is not a checkpoint"):
        queries.lane_preview(evening, 4242, "face", 2)
    with pytest.raises(ActionError, match="lane_type: must be 'face' or 'manual', got 'robot'"):
        queries.lane_preview(evening, 0, "robot", 2)


def _row(face, manual, rec_face, rec_manual, max_lanes=10):
    return {
        "lanes_face": face,
        "lanes_manual": manual,
        "recommended_face": rec_face,
        "recommended_manual": rec_manual,
        "max_lanes": max_lanes,
    }


@pytest.mark.parametrize(
    ("row", "step"),
    [
        (_row(4, 2, 4, 2), None),
        (_row(4, 2, 6, 2), {"lane_type": "face", "count_now": 4, "count": 6}),
        (_row(4, 2, 4, 0), {"lane_type": "manual", "count_now": 2, "count": 0}),
        # both differ: opening first while it fits under max_lanes
        (_row(4, 3, 6, 0), {"lane_type": "face", "count_now": 4, "count": 6}),  # 6 + 3 <= 10
        # opening 4 face lanes first would make 8 + 5 > 10: close the manual lanes first
        (_row(4, 5, 8, 0), {"lane_type": "manual", "count_now": 5, "count": 0}),
    ],
)
def test_next_lane_step(row, step):
    assert queries.next_lane_step(row) == step


def test_checkpoint_detail_carries_the_next_step_and_target(evening):
    detail = queries.checkpoint_detail(evening, 5)
    assert detail["target_wait_s"] == pedestrians.WAIT_TARGET_S
    assert detail["next_step"] == queries.next_lane_step(detail["rows"][5])


def test_event_day_of_the_bundled_day(bundled):
    day = queries.event_day_of(bundled)
    # schedule.csv: the last session (S07) ends 22:30; the departure curve lasts 75 min;
    # then an hour's stand-down, rounded up to the full hour: 01:00 the next morning.
    assert day["date"] == "2026-11-21"
    assert day["last_end_s"] == 22.5 * 3600
    assert day["gone_s"] == 22.5 * 3600 + 75 * 60
    assert day["end_s"] == 25 * 3600


@pytest.mark.parametrize(
    ("time_s", "on_site", "over"),
    [
        (24.99 * 3600, 0.0, False),  # before 01:00
        (25 * 3600, 0.0, True),
        (25 * 3600, float("nan"), True),  # a scenario without venues
        (25 * 3600, 350.0, False),  # spectators still on site: not over
        (26 * 3600, 0.4, True),  # under one person: a rounding residue
    ],
)
def test_day_over(time_s, on_site, over):
    day = {"end_s": 25 * 3600.0}
    assert queries.day_over(day, time_s, on_site) is over
    assert queries.day_over({"end_s": None}, time_s, 0.0) is False


def test_corridor_preview_is_plain_data_and_changes_nothing(evening):
    time_before = evening.time_s
    preview = queries.corridor_preview(evening, "AMB-T1", 37.5183, 127.1152, None)
    assert evening.time_s == time_before and not evening.state.extras.get("ambulances")
    assert preview["hospital_id"] in queries.hospitals(evening)
    assert np.isfinite(preview["eta_without_s"]) and preview["eta_with_s"] > 0
    assert preview["time_saved_s"] == pytest.approx(
        preview["eta_without_s"] - preview["eta_with_s"]
    )
    assert len(preview["path_lonlat"]) >= 2 and preview["links"] >= 1
    json.dumps(preview)
    with pytest.raises(ActionError, match="lat and lon must be numbers, got 'north'"):
        queries.corridor_preview(evening, "AMB-T2", "north", 127.1, None)


def test_a_repeated_dispatch_is_refused_with_its_code(bundled):
    from twin.service.commands import CommandPath
    from twin.service.live import LiveTwin

    live = LiveTwin(Engine(bundled, seed=0, start_s=19 * 3600))
    path = CommandPath(live)
    action = {"kind": "dispatch_corridor", "corridor_id": "AMB-R1", "lat": 37.5183, "lon": 127.1152}
    first = path.submit(action, user="t", role="operator")
    again = path.submit(action, user="t", role="operator")
    assert first.ok and not again.ok
    assert again.code == "corridor_exists"


def test_lane_preview_shows_opening_lanes_shortening_a_real_queue(evening):
    """KSPO Dome with one face lane at 19:10: a queue builds; six face lanes cut the wait."""
    short = evening.fork()
    short.apply(pedestrians.SetLanes(checkpoint_id=5, lane_type="manual", count=0))
    short.apply(pedestrians.SetLanes(checkpoint_id=5, lane_type="face", count=1))
    short.run(short.time_s + 600)
    preview = queries.lane_preview(short, 5, "face", 6)
    assert preview["now"]["wait_30_s"] > 60.0  # one lane cannot keep up
    assert preview["candidate"]["wait_30_s"] < preview["now"]["wait_30_s"]
    assert preview["candidate"]["wait_15_s"] < preview["now"]["wait_15_s"]
