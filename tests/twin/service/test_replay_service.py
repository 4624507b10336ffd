"""The planner's replay service (twin/replay_service.py) on a short recorded day of the bundled
scenario: listing, seeks that step forward equal to a fresh reconstruction, forks in the
background with their comparison, refusals, the bundled day generated once."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from twin.errors import ActionError, TwinError
from twin.service.recorder import Recording, RecordingError
from twin.service.replay import (
    ForkChanges,
    ScriptedInput,
    parse_clock,
    read_script,
    record_day,
    state_at,
)
from twin.service.replay_service import ReplayService, advance, fork_changes

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = ROOT / "data" / "seoul_olympic_park"
SCRIPT = [
    {
        "at": "18:10",
        "user": "kim",
        "action": {"kind": "set_lanes", "checkpoint_id": 5, "lane_type": "face", "count": 7},
    },
    {
        "at": "18:20",
        "user": "kim",
        "action": {
            "kind": "set_signal_plan",
            "node_id": 64,
            "cycle_s": 130,
            "greens_s": [68, 52],
            "offset_s": 0,
        },
    },
    {"at": "18:30", "user": "park", "acknowledge": "all"},
]


@pytest.fixture(scope="module")
def scenario():
    from twin.scenario import load

    return load(BUNDLED)


@pytest.fixture(scope="module")
def day(tmp_path_factory, scenario):
    folder = tmp_path_factory.mktemp("recordings")
    path = record_day(
        scenario,
        out_dir=folder,
        start_s=parse_clock("18:00"),
        end_s=parse_clock("18:50"),
        script=read_script(SCRIPT),
        day=date(2026, 9, 12),
        name="test day",
    )
    return folder, path.stem


@pytest.fixture(scope="module")
def service(day, scenario):
    return ReplayService(day[0], scenario)


def _same_state(a, b) -> bool:
    return all(
        np.array_equal(np.asarray(a.links[k]), np.asarray(b.links[k]), equal_nan=True)
        for k in a.links
    )


def test_days_list_the_recording_with_its_counts(service, day):
    (row,) = service.days()
    assert (row["id"], row["name"], row["actions"], row["replayable"], row["forks"]) == (
        day[1],
        "test day",
        2,
        True,
        [],
    )
    assert service.default_day() == day[1]
    info = service.day(day[1])
    assert [i["name"] for i in info["inputs"]] == [
        "set_lanes",
        "set_signal_plan",
        *["acknowledge"] * (len(info["inputs"]) - 2),
    ]
    assert (
        info["samples"]["time_s"][0] == parse_clock("18:00")
        and len(info["samples"]["time_s"]) == 51
    )


@pytest.mark.parametrize(
    "first, then", [("18:07", "18:09"), ("18:08", "18:13"), ("18:21", "18:16")]
)
def test_a_seek_equals_a_fresh_reconstruction(service, day, scenario, first, then):
    """Forward from where the engine is (across the 18:10 lanes change too) or back from a
    snapshot: the same state as state_at on a new engine."""
    service.view_at(day[1], parse_clock(first))
    view = service.view_at(day[1], parse_clock(then))
    with Recording.open(service.path_of(day[1])) as recording:
        fresh = state_at(recording, parse_clock(then), scenario=scenario).view()
    assert view.time_s == fresh.time_s and _same_state(view, fresh)
    people, fresh_people = (
        view.extras["pedestrians"]["checkpoints"],
        fresh.extras["pedestrians"]["checkpoints"],
    )
    assert np.array_equal(people["wait_s"], fresh_people["wait_s"])


def test_advance_applies_the_recorded_actions_in_between(day, scenario):
    with Recording.open(day[0] / f"{day[1]}.sqlite") as recording:
        engine = state_at(recording, parse_clock("18:05"), scenario=scenario)
        advance(engine, recording, parse_clock("18:12"), applied_until_s=parse_clock("18:05"))
        from twin.service import queries

        assert queries.lanes(engine, 5, "face") == 7


@pytest.mark.parametrize("bad", ["../secrets", "a/b", "", None, 12, "no-such-day"])
def test_unknown_or_path_like_days_are_refused(service, bad):
    with pytest.raises(RecordingError) as error:
        service.path_of(bad)
    assert error.value.code == "unknown_recording"


def _lanes(count: int, at: str = "18:20") -> ForkChanges:
    return ForkChanges(
        add=(
            ScriptedInput(
                parse_clock(at),
                {"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": count},
            ),
        )
    )


@pytest.mark.parametrize(
    "at, changes, until, code",
    [
        ("18:20", ForkChanges(), None, "no_change"),
        ("17:00", _lanes(6), None, "out_of_range"),
        (
            "18:20",
            ForkChanges(drop=(1,)),
            None,
            "bad_change",
        ),  # #1 is at 18:10, before the fork minute
        ("18:05", ForkChanges(drop=(99,)), None, "bad_change"),
        ("18:05", ForkChanges(move=((2, parse_clock("18:55")),)), None, "out_of_range"),
        ("18:20", _lanes(6), parse_clock("18:20"), "out_of_range"),
    ],
)
def test_forks_that_cannot_run_are_refused_before_starting(service, day, at, changes, until, code):
    with pytest.raises(TwinError) as error:
        service.start_fork(day[1], parse_clock(at), changes, until_s=until)
    assert error.value.code == code
    assert service.jobs(day[1]) == []


def test_a_refused_added_action_is_refused_before_starting(service, day):
    with pytest.raises(ActionError):
        service.start_fork(day[1], parse_clock("18:20"), _lanes(999))


def test_page_changes_become_fork_changes():
    changes = fork_changes(
        [
            {
                "type": "action",
                "action": {
                    "kind": "set_lanes",
                    "checkpoint_id": 0,
                    "lane_type": "face",
                    "count": 6,
                },
            },
            {"type": "drop", "seq": 2},
            {"type": "move", "seq": 3, "to_s": 67000},
        ],
        at_s=66000.0,
    )
    assert (
        changes.add[0].at_s == 66000.0 and changes.drop == (2,) and changes.move == ((3, 67000.0),)
    )
    with pytest.raises(TwinError, match="change 1 is malformed"):
        fork_changes([{"type": "move", "seq": "x"}], at_s=0.0)


def test_fork_runs_in_the_background_and_is_compared(service, day):
    at_s = parse_clock("18:20")
    job = service.start_fork(
        day[1], at_s, _lanes(8), name="two more lanes", user="pat", role="planner"
    )
    assert job.state in ("queued", "running")
    deadline = time.monotonic() + 120
    while job.state not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.state == "done", job.error
    assert job.progress == 1.0
    (row,) = service.days()
    (fork,) = row["forks"]
    assert (fork["id"], fork["name"], fork["fork_at_s"], fork["replayable"]) == (
        job.fork_id,
        "two more lanes",
        at_s,
        True,
    )
    result = service.comparison(job.fork_id)
    assert [r["key"] for r in result["rows"]][:3] == [
        "total_delay_vehh",
        "mean_speed_kph",
        "worst_wait_s",
    ]
    tennis = result["checkpoints"][0]
    assert tennis["name"].startswith("Seoul Olympic Park Tennis Center")
    assert tennis["fork_worst_s"] < tennis["original_worst_s"]  # 4 more face lanes from 18:20
    # the fork replays and can itself be forked
    assert service.view_at(job.fork_id, parse_clock("18:30")).time_s == parse_clock("18:30")
    service.check_fork(job.fork_id, parse_clock("18:30"), _lanes(9, "18:30"), None)


def test_bundled_day_is_recorded_once(tmp_path, scenario):
    service = ReplayService(tmp_path, scenario)
    kwargs = {
        "file_name": "bundled-day",
        "name": "bundled",
        "day": date(2026, 9, 12),
        "start_s": parse_clock("18:00"),
        "end_s": parse_clock("18:06"),
        "background": False,
    }
    status = service.ensure_bundled_day(SCRIPT[:0], **kwargs)
    assert status.state == "ready" and (tmp_path / "bundled-day.sqlite").is_file()
    assert not (tmp_path / ".partial").exists()
    mtime = (tmp_path / "bundled-day.sqlite").stat().st_mtime
    again = ReplayService(tmp_path, scenario).ensure_bundled_day(SCRIPT[:0], **kwargs)
    assert again.state == "ready" and (tmp_path / "bundled-day.sqlite").stat().st_mtime == mtime
    assert ReplayService(tmp_path, scenario).default_day() == "bundled-day"


def test_bundled_script_is_valid():
    script = read_script(BUNDLED / "recorded_day.json")
    kinds = [s.action["kind"] if s.action else "ack" for s in script]
    assert {"set_lanes", "set_signal_plan", "dispatch_corridor", "ack"} <= set(kinds)
    assert all(parse_clock("17:00") <= s.at_s <= parse_clock("23:00") for s in script)
