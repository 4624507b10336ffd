"""Tests for twin.service.audit: append-only, durable records, filters and CSV export."""

import csv
import io
import sqlite3

import pytest

from twin.service.audit import AuditError, AuditFilter, AuditLog


class Clock:
    """A hand-set wall clock."""

    def __init__(self, now_s=1_000_000.0):
        self.now_s = now_s

    def __call__(self):
        return self.now_s


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def log(tmp_path, clock):
    return AuditLog(tmp_path / "auth.sqlite", clock=clock)


def _fill(log, clock):
    clock.now_s = 100.0
    log.record(
        user="olga",
        role="operator",
        action="signal.set_plan",
        target="node 12",
        before={"greens_s": [30, 30]},
        after={"greens_s": [40, 20]},
        sim_time_s=66_000.0,
    )
    clock.now_s = 200.0
    log.record(
        user="olga",
        role="operator",
        action="checkpoint.open_lanes",
        target="gate 3",
        before=4,
        after=6,
        sim_time_s=66_060.0,
    )
    clock.now_s = 300.0
    log.record_security(
        "callback.refused",
        user="eve",
        role="executive",
        target="signal-apply.children",
        ip="10.0.0.9",
        detail="role",
    )
    clock.now_s = 400.0
    log.record(
        user="pat",
        role="planner",
        action="replay.fork",
        target="day 2024-07-27",
        after={"minute": 1120},
    )


def test_record_returns_the_committed_entry(log, clock):
    entry = log.record(
        user="olga",
        role="operator",
        action="signal.set_plan",
        target="node 12",
        before={"a": 1},
        after={"a": 2},
        sim_time_s=5.0,
    )
    assert (entry.id, entry.wall_time_s, entry.sim_time_s) == (1, clock.now_s, 5.0)
    # A second, independent connection sees the row: it was committed before return.
    with sqlite3.connect(log.path) as conn:
        row = conn.execute("SELECT user, action, before, after, result FROM audit_log").fetchone()
    assert row == ("olga", "signal.set_plan", '{"a":1}', '{"a":2}', "ok")
    assert log.query() == [entry]


def test_durable_settings(log):
    with sqlite3.connect(log.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert log._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET result = 'ok'",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET user = 'someone' WHERE id = 1",
    ],
)
def test_table_is_append_only(log, clock, statement):
    _fill(log, clock)
    conn = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
        conn.execute(statement)
    conn.close()
    assert len(log.query()) == 4


def test_query_filters(log, clock):
    _fill(log, clock)

    def actions(**kw):
        return [e.action for e in log.query(AuditFilter(**kw))]

    assert actions() == [
        "replay.fork",
        "callback.refused",
        "checkpoint.open_lanes",
        "signal.set_plan",
    ]
    assert actions(user="olga") == ["checkpoint.open_lanes", "signal.set_plan"]
    assert actions(role="planner") == ["replay.fork"]
    assert actions(action="signal.set_plan") == ["signal.set_plan"]
    assert actions(action="signal.") == ["signal.set_plan"]
    assert actions(action="signal") == []
    assert actions(category="security") == ["callback.refused"]
    assert actions(result="refused") == ["callback.refused"]
    assert actions(since_s=200.0, until_s=300.0) == ["callback.refused", "checkpoint.open_lanes"]
    assert actions(limit=1) == ["replay.fork"]


def test_entries_decode_json_values(log, clock):
    _fill(log, clock)
    (entry,) = log.query(AuditFilter(action="signal.set_plan"))
    assert entry.before == {"greens_s": [30, 30]}
    assert entry.after == {"greens_s": [40, 20]}
    assert entry.wall_time_iso == "1970-01-01T00:01:40.000+00:00"


def test_facets(log, clock):
    _fill(log, clock)
    assert log.facets() == {
        "user": ["eve", "olga", "pat"],
        "role": ["executive", "operator", "planner"],
        "action": ["callback.refused", "checkpoint.open_lanes", "replay.fork", "signal.set_plan"],
    }


def test_to_csv(log, clock):
    _fill(log, clock)
    rows = list(csv.DictReader(io.StringIO(log.to_csv(AuditFilter(user="olga")))))
    assert [r["action"] for r in rows] == ["checkpoint.open_lanes", "signal.set_plan"]
    assert rows[1]["before"] == '{"greens_s":[30,30]}'
    assert rows[1]["sim_time_s"] == "66000.0"
    assert rows[1]["wall_time_utc"] == "1970-01-01T00:01:40.000+00:00"
    assert list(rows[0]) == [
        "wall_time_utc",
        "id",
        "wall_time_s",
        "sim_time_s",
        "category",
        "user",
        "role",
        "action",
        "target",
        "before",
        "after",
        "result",
        "ip",
        "detail",
    ]


def test_csv_defuses_spreadsheet_formulas(log):
    log.record(
        user='=HYPERLINK("http://x")', role="admin", action="user.add", target="-2+3", result="ok"
    )
    row = next(csv.DictReader(io.StringIO(log.to_csv())))
    assert row["user"] == '\'=HYPERLINK("http://x")'
    assert row["target"] == "'-2+3"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category": "misc"}, r"^'category' must be one of \('action', 'security'\), got 'misc'$"),
        ({"result": "maybe"}, r"^'result' must be one of .*got 'maybe'$"),
        ({"action": ""}, r"^'action' must not be empty$"),
        ({"before": object()}, r"^'before' must be JSON-serialisable, got object$"),
    ],
)
def test_record_bad_input_changes_nothing(log, kwargs, message):
    args = {"user": "olga", "role": "operator", "action": "signal.set_plan", **kwargs}
    with pytest.raises(AuditError, match=message):
        log.record(**args)
    assert log.query() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category": "x"}, r"^'category' must be one of"),
        ({"limit": 0}, r"^'limit' must be in 1\.\.10000, got 0$"),
        ({"since_s": 5.0, "until_s": 1.0}, r"^'since_s' must not be after 'until_s'"),
    ],
)
def test_filter_bad_input(kwargs, message):
    with pytest.raises(AuditError, match=message):
        AuditFilter(**kwargs)


def test_shares_a_file_with_the_user_store(tmp_path):
    from auth.users import UserStore

    path = tmp_path / "auth.sqlite"
    UserStore(path).add("alice", "correct horse battery", "admin")
    AuditLog(path).record(user="alice", role="admin", action="user.add", target="alice")
    assert UserStore(path).get("alice") is not None
    assert len(AuditLog(path).query()) == 1
