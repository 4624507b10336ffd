"""Bounded fork work (issue 19, point 4: one planner queued 49 forks, each holding a thread and
writing into the live day's folder): a queue with positions, a per-user and a total limit,
forks written apart from the live days, a disk quota with a clean-up rule."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.twin.service.test_replay_service import day, scenario  # noqa: F401 - fixtures
from twin.errors import TwinError
from twin.service.replay import ForkChanges, ScriptedInput, parse_clock
from twin.service.replay_service import FORKS_FOLDER, ForkLimits, ReplayService

AT_S = parse_clock("18:40")


def _lanes(count: int) -> ForkChanges:
    action = {"kind": "set_lanes", "checkpoint_id": 5, "lane_type": "face", "count": count}
    return ForkChanges(add=(ScriptedInput(AT_S, action),))


def _fork(service, day_id, user, count=6):
    return service.start_fork(
        day_id, AT_S, _lanes(count), until_s=AT_S + 120, user=user, role="planner"
    )


def _wait(jobs, timeout_s=300):
    deadline = time.monotonic() + timeout_s
    while any(j.state not in ("done", "failed") for j in jobs) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(j.state == "done" for j in jobs), [(j.state, j.error) for j in jobs]


def _files(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_the_queue_has_positions_and_per_user_and_total_limits(day, scenario):  # noqa: F811
    folder, day_id = day
    live_files = [n for n in _files(folder) if n.endswith(".sqlite")]
    service = ReplayService(folder, scenario, limits=ForkLimits(per_user=2, total=4))
    service._fork_slot.acquire()  # a fork is running elsewhere: everything queues
    try:
        jobs = [_fork(service, day_id, "pat"), _fork(service, day_id, "pat")]
        with pytest.raises(TwinError) as error:
            _fork(service, day_id, "pat")
        assert error.value.code == "too_many_forks" and "at most 2 per person" in str(error.value)
        jobs += [_fork(service, day_id, "lee"), _fork(service, day_id, "kim")]
        with pytest.raises(TwinError) as error:
            _fork(service, day_id, "sam")
        assert error.value.code == "fork_queue_full" and "(4)" in str(error.value)
        assert [j.state for j in jobs] == ["queued"] * 4
        assert [j.position for j in jobs] == [0, 1, 2, 3]
        assert len(service.jobs()) == 4  # refusals made no job and no thread
    finally:
        service._fork_slot.release()
    _wait(jobs)
    # forks live apart from the days: the live folder holds no fork
    assert [n for n in _files(folder) if n.endswith(".sqlite")] == live_files
    assert not [n for n in _files(folder) if "~fork" in n]
    forks = folder / FORKS_FOLDER
    assert sorted(p.stem for p in forks.glob("*.sqlite")) == sorted(j.fork_id for j in jobs)
    # every fork is listed under its day and readable by id
    (row,) = [d for d in service.days() if d["id"] == day_id]
    assert sorted(f["id"] for f in row["forks"]) == sorted(j.fork_id for j in jobs)
    assert service.comparison(jobs[0].fork_id)["rows"]
    # a finished fork frees its place
    assert _fork(service, day_id, "pat").state in ("queued", "running")


def test_the_clean_up_rule_and_the_quota(day, scenario, tmp_path):  # noqa: F811
    folder, day_id = day
    service = ReplayService(folder, scenario, limits=ForkLimits(busy_s=0.0))
    _wait([_fork(service, day_id, "ann", 3)])
    forks = folder / FORKS_FOLDER
    size = sum(p.stat().st_size for p in forks.iterdir())
    assert service.forks_bytes() == size > 0
    # under the quota and young: kept
    assert service.clean_forks() == size and _files(forks)
    # over a week old: removed
    assert service.clean_forks(now_s=time.time() + 8 * 86400) == 0 and _files(forks) == []
    # the quota: the oldest go first until the folder fits
    first = _fork(service, day_id, "ann", 4)
    _wait([first])
    second = _fork(service, day_id, "ann", 5)
    _wait([second])
    one = sum(p.stat().st_size for p in forks.glob(f"{second.fork_id}*"))
    tight = ReplayService(folder, scenario, limits=ForkLimits(busy_s=0.0, quota_bytes=one + 4096))
    left = tight.clean_forks()
    assert left <= one + 4096 and not list(forks.glob(f"{first.fork_id}*"))
    assert list(forks.glob(f"{second.fork_id}*"))
    # nothing can be cleared (every fork is fresh: busy) and the quota is full: refused
    full = ReplayService(folder, scenario, limits=ForkLimits(busy_s=3600.0, quota_bytes=1))
    with pytest.raises(TwinError) as error:
        _fork(full, day_id, "ann")
    assert error.value.code == "fork_quota" and full.jobs() == []


def test_limits_are_checked():
    with pytest.raises(ValueError, match="per_user must be a whole number >= 1, got 0"):
        ForkLimits(per_user=0)


def test_forks_of_a_scenario_on_disk_run_in_a_worker_process(day, scenario):  # noqa: F811

    from twin.service import replay_service

    folder, day_id = day
    service = ReplayService(folder, scenario)
    assert service.fork_processes  # the bundled scenario was read from its folder
    job = _fork(service, day_id, "wes", 2)
    _wait([job])
    workers = list(replay_service._worker_pool()._processes.values())
    assert workers and all(w.pid != os.getpid() and w.is_alive() for w in workers)
    # the worker yields the CPU to the live loop: its niceness (field 19 of /proc/PID/stat),
    # read from /proc, not from us
    for worker in workers:
        fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(fields[19 - 3]) >= min(19, os.nice(0) + replay_service.WORKER_NICE)
    assert service.comparison(job.fork_id)["rows"]  # kept from the worker's run
    assert ReplayService(folder, scenario, fork_processes=False).fork_processes is False


def test_a_lost_worker_fails_its_fork_and_the_next_fork_starts_a_new_one(day, scenario):  # noqa: F811
    from twin.service import replay_service

    folder, day_id = day
    service = ReplayService(folder, scenario)
    job = service.start_fork(day_id, AT_S, _lanes(3), user="zoe", role="planner")
    deadline = time.monotonic() + 120
    while job.progress == 0.0 and job.state != "done" and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker has reported: it is running the fork
    assert job.state == "running" and 0.0 < job.progress < 0.7
    for worker in list(replay_service._worker_pool()._processes.values()):
        os.kill(worker.pid, signal.SIGKILL)  # the worker dies (out of memory, killed by hand)
    deadline = time.monotonic() + 60
    while job.state not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (job.state, job.code) == ("failed", "worker_lost"), job.error
    assert "worker process stopped" in job.error
    again = _fork(service, day_id, "zoe", 4)
    _wait([again])


def test_a_fork_queued_when_the_app_stops_fails_with_a_message_and_no_traceback(
    day,  # noqa: F811
    scenario,  # noqa: F811
    caplog,
):
    from twin.service import replay_service

    folder, day_id = day
    service = ReplayService(folder, scenario)
    replay_service.stop_fork_workers()  # as app.py does when it stops
    try:
        job = _fork(service, day_id, "una")
        deadline = time.monotonic() + 60
        while job.state not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (job.state, job.code) == ("failed", "stopping"), job.error
        assert "shutting down" in job.error
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        assert replay_service._POOL is None  # no worker was started after the stop
    finally:
        replay_service._POOL_STOPPED = False  # the next tests of this process fork again
