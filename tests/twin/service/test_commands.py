"""The one command path: check, durable audit row, then apply; refusals change nothing."""

import itertools
import threading

import pytest

from twin.actions import SetSignalPlan
from twin.engine import Engine
from twin.io.synthetic import chain_scenario, od_demand
from twin.service.audit import AuditFilter, AuditLog
from twin.service.commands import CommandPath
from twin.service.live import LiveSettings, LiveTwin


def _engine():
    scenario = chain_scenario(
        [400.0, 400.0], signal_at=1, cycle_s=60.0, greens_s=(27.0, 27.0), intergreen_s=3.0, dt_s=1.0
    )
    engine = Engine(scenario, demand=od_demand(2, [(0, 1, 500.0, 0.0, 7200.0)]))
    engine.run(300.0)
    return engine


@pytest.fixture()
def path(tmp_path):
    live = LiveTwin(
        _engine(), settings=LiveSettings(forecast_period_s=0)
    )  # not started: runs inline
    audit = AuditLog(tmp_path / "audit.sqlite")
    yield CommandPath(live, audit)
    audit.close()


def _plan(path):
    return path.live.engine.state.plans.plan_of(1)


def test_applied_action_is_recorded_before_after_then_live(path):
    result = path.submit(SetSignalPlan(1, 70.0, (32.0, 32.0), 5.0), user="kim", role="operator")
    assert result.ok and result.warning == ""
    assert result.before["cycle_s"] == 60.0 and result.after["cycle_s"] == 70.0
    assert _plan(path)["greens_s"] == [32.0, 32.0]
    [entry] = path.audit.query(AuditFilter(action="twin.set_signal_plan"))
    assert (entry.user, entry.role, entry.result) == ("kim", "operator", "ok")
    assert entry.before["greens_s"] == [27.0, 27.0] and entry.after["greens_s"] == [32.0, 32.0]
    assert entry.id == result.audit_id and entry.sim_time_s == pytest.approx(300.0)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (SetSignalPlan(1, 500.0, (27.0, 27.0), 0.0), "The cycle must be between"),
        (SetSignalPlan(1, 60.0, (27.0,), 0.0), "needs 2 greens"),
        (SetSignalPlan(1, 60.0, (27.0, 27.0), 60.0), "less than the 60 s cycle"),
        (SetSignalPlan(99, 60.0, (27.0, 27.0), 0.0), "Junction 99 has no traffic signal"),
        (SetSignalPlan(1, 60.0, ("x", 27.0), 0.0), "Phase 1 green must be a number of seconds"),
        (
            {
                "kind": "set_signal_plan",
                "node_id": 1,
                "cycle_s": 60,
                "greens_s": [27, 27],
                "hack": 1,
            },
            r"unknown field\(s\) \['hack'\]",
        ),
        ({"kind": "launch_rockets"}, "unknown action kind 'launch_rockets'"),
        ("not an action", "action must be an object with a 'kind' field"),
        ({"kind": "set_signal_plan", "node_id": 1}, "set_signal_plan: .*missing"),
    ],
)
def test_refusal_names_the_rule_is_recorded_and_changes_nothing(path, action, reason):
    before = _plan(path)
    result = path.submit(action, user="kim", role="operator")
    assert not result.ok
    assert __import__("re").search(reason, result.reason), result.reason
    assert _plan(path) == before
    [entry] = path.audit.query(AuditFilter(result="refused"))
    assert entry.detail == result.reason and entry.user == "kim"


def test_stale_based_on_applies_with_a_warning_naming_the_last_writer(path):
    seen = _plan(path)
    assert (
        path.submit(
            SetSignalPlan(1, 70.0, (32.0, 32.0), 0.0), user="lee", role="operator", based_on=seen
        ).warning
        == ""
    )
    result = path.submit(
        SetSignalPlan(1, 80.0, (37.0, 37.0), 0.0), user="kim", role="operator", based_on=seen
    )
    assert result.ok and "changed by lee" in result.warning
    assert _plan(path)["cycle_s"] == 80.0  # last writer wins


def test_repeated_identical_plan_is_fine(path):
    action = SetSignalPlan(1, 70.0, (32.0, 32.0), 0.0)
    first = path.submit(action, user="kim", role="operator", based_on=_plan(path))
    second = path.submit(action, user="kim", role="operator", based_on=first.after)
    assert first.ok and second.ok and second.warning == ""


def test_concurrent_submissions_through_the_loop_thread_lose_nothing(tmp_path):
    live = LiveTwin(_engine(), settings=LiveSettings(speed=5.0, forecast_period_s=0)).start()
    audit = AuditLog(tmp_path / "audit.sqlite")
    path = CommandPath(live, audit)
    results = []
    plans = [SetSignalPlan(1, 60.0 + 2 * k, (27.0 + k, 27.0 + k), 0.0) for k in range(8)]
    threads = [
        threading.Thread(
            target=lambda a=a: results.append(path.submit(a, user="u", role="operator"))
        )
        for a in plans
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(results) == 8 and all(r.ok for r in results)
        entries = audit.query(AuditFilter(result="ok"))
        assert len(entries) == 8
        # each row's before is the previous row's after: no lost update
        ordered = sorted(entries, key=lambda e: e.id)
        for older, newer in itertools.pairwise(ordered):
            assert newer.before == older.after
        assert live.call(lambda e: e.state.plans.plan_of(1)).result(5) == ordered[-1].after
    finally:
        live.stop()
        audit.close()
