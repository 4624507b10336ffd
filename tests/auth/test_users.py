"""Tests for auth.users (UserStore, roles, password hashing) and auth.cli."""

import io
import sqlite3

import pytest
from werkzeug.security import check_password_hash

from auth import cli as users_cli
from auth.users import Role, User, UserError, UserStore
from twin.service.audit import AuditFilter, AuditLog

GOOD = "correct horse battery"


@pytest.fixture
def store(tmp_path):
    return UserStore(tmp_path / "auth.sqlite", clock=lambda: 1000.0)


def _rows(store):
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT name, role, password_hash, active FROM users").fetchall()


def test_add_then_get_list(store):
    user = store.add("alice", GOOD, "operator")
    assert user == User("alice", Role.OPERATOR, True, 1000.0)
    assert store.get("alice") == user
    assert store.get("ALICE") == user  # names are case-insensitive
    assert store.get("bob") is None
    store.add("bob", GOOD, Role.PLANNER)
    assert [u.name for u in store.list()] == ["alice", "bob"]


def test_password_is_hashed_not_stored(store):
    store.add("alice", GOOD, "admin")
    ((_, _, password_hash, _),) = _rows(store)
    assert GOOD not in password_hash
    assert password_hash.startswith("scrypt:")
    assert check_password_hash(password_hash, GOOD) is True
    assert check_password_hash(password_hash, GOOD + "!") is False


def test_verify(store):
    store.add("alice", GOOD, "executive")
    assert store.verify("alice", GOOD) == store.get("alice")
    assert store.verify("alice", "wrong password!") is None
    assert store.verify("nobody", GOOD) is None
    assert store.verify("alice", "") is None


def test_disable_blocks_sign_in_and_enable_restores(store):
    store.add("alice", GOOD, "operator")
    assert store.disable("alice").active is False
    assert store.verify("alice", GOOD) is None
    assert store.enable("alice").active is True
    assert store.verify("alice", GOOD) is not None


def test_set_password(store):
    store.add("alice", GOOD, "operator")
    store.set_password("alice", "another long secret")
    assert store.verify("alice", GOOD) is None
    assert store.verify("alice", "another long secret") is not None


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        (
            "alice",
            GOOD,
            "boss",
            r"^'role' must be one of operator, planner, executive, admin, feed, got 'boss'$",
        ),
        ("alice", "", "operator", r"^'password' must not be empty$"),
        ("alice", "short pw", "operator", r"^'password' must be at least 12 characters, got 8$"),
        ("alice", "x" * 257, "operator", r"^'password' must be at most 256 characters, got 257$"),
        ("", GOOD, "operator", r"^'name' must be 2-32 characters"),
        ("al ice", GOOD, "operator", r"^'name' must be 2-32 characters.*got 'al ice'$"),
        ("-alice", GOOD, "operator", r"^'name' must be 2-32 characters"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(store, name, password, role, message):
    with pytest.raises(UserError, match=message):
        store.add(name, password, role)
    assert _rows(store) == []


def test_error_never_echoes_the_password(store):
    with pytest.raises(UserError) as info:
        store.add("alice", "tooshort", "operator")
    assert "tooshort" not in str(info.value)


def test_duplicate_name_is_refused_and_changes_nothing(store):
    store.add("alice", GOOD, "operator")
    before = _rows(store)
    with pytest.raises(UserError, match=r"^'name' must be unique: user 'Alice' already exists$"):
        store.add("Alice", "a different password", "admin")
    assert _rows(store) == before


def test_unknown_user_for_disable(store):
    with pytest.raises(UserError, match=r"^'name' must name an existing user, got 'ghost'$"):
        store.disable("ghost")


# -- CLI -------------------------------------------------------------------------------


def test_cli_add_from_stdin_list_disable(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "auth.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "\n"))
    assert users_cli.main(["add", "alice", "--role", "admin", "--password-stdin", "--db", db]) == 0
    assert UserStore(db).verify("alice", GOOD) is not None
    assert users_cli.main(["list", "--db", db]) == 0
    assert "alice" in capsys.readouterr().out
    assert users_cli.main(["disable", "alice", "--db", db]) == 0
    assert UserStore(db).get("alice").active is False
    actions = [e.action for e in AuditLog(db).query(AuditFilter())]
    assert actions == ["user.disable", "user.add"]
    assert GOOD not in AuditLog(db).to_csv()


def test_cli_prompts_twice_with_getpass(tmp_path, monkeypatch):
    db = str(tmp_path / "auth.sqlite")
    answers = iter([GOOD, GOOD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert users_cli.main(["add", "bob", "--role", "planner", "--db", db]) == 0
    assert UserStore(db).get("bob").role is Role.PLANNER


def test_cli_mismatched_prompt(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "auth.sqlite")
    answers = iter([GOOD, GOOD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert users_cli.main(["add", "bob", "--role", "planner", "--db", db]) == 2
    assert "'password' must be typed the same twice" in capsys.readouterr().err
    assert UserStore(db).list() == []


@pytest.mark.parametrize(
    ("argv_tail", "stdin", "message"),
    [
        (["--role", "boss"], GOOD, "'role' must be one of"),
        (["--role", "operator"], "short", "'password' must be at least 12 characters, got 5"),
        (["--role", "operator"], "", "'password' must not be empty"),
    ],
)
def test_cli_bad_input(tmp_path, monkeypatch, capsys, argv_tail, stdin, message):
    db = str(tmp_path / "auth.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
    code = users_cli.main(["add", "carol", *argv_tail, "--password-stdin", "--db", db])
    assert code == 2
    assert message in capsys.readouterr().err
    assert UserStore(db).list() == []
    assert AuditLog(db).query() == []


def test_cli_duplicate(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "auth.sqlite")
    UserStore(db).add("carol", GOOD, "operator")
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "\n"))
    assert users_cli.main(["add", "carol", "--role", "admin", "--password-stdin", "--db", db]) == 2
    assert "'name' must be unique: user 'carol' already exists" in capsys.readouterr().err
    assert UserStore(db).get("carol").role is Role.OPERATOR


# -- sessions and API tokens --------------------------------------------------------------


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def timed(tmp_path):
    clock = Clock()
    store = UserStore(tmp_path / "auth.sqlite", clock=clock)
    store.add("alice", GOOD, "operator")
    store.add("bob", GOOD, "planner")
    return store, clock


def test_session_lifecycle(timed):
    store, _ = timed
    session_id = store.start_session("alice", "operator", max_age_s=3600)
    assert len(session_id) >= 43
    session = store.resume_session(session_id, idle_s=600)
    assert (session.name, session.role, session.demo) == ("alice", "operator", False)
    assert store.resume_session("not-" + session_id, idle_s=600) is None
    assert store.end_session(session_id) is True
    assert store.resume_session(session_id, idle_s=600) is None
    assert store.end_session(session_id) is False  # already ended


def test_session_idle_and_absolute_timeouts(timed):
    store, clock = timed
    session_id = store.start_session("alice", "operator", max_age_s=10_000)
    clock.now += 500
    assert store.resume_session(session_id, idle_s=600) is not None  # touched at 1500
    clock.now += 450
    assert store.resume_session(session_id, idle_s=600) is not None  # 450 s idle
    clock.now += 601
    assert store.resume_session(session_id, idle_s=600) is None  # idle too long
    other = store.start_session("alice", "operator", max_age_s=1000)
    for used in (True, True, True, False):  # used every 300 s: the absolute limit ends it
        clock.now += 300
        assert (store.resume_session(other, idle_s=600) is not None) is used


def test_session_ends_when_user_is_disabled_or_role_changes(timed):
    store, _ = timed
    first = store.start_session("alice", "operator", max_age_s=3600)
    store.disable("alice")
    store.enable("alice")
    assert store.resume_session(first, idle_s=600) is None  # disable revoked it for good
    stale_role = store.start_session("alice", "planner", max_age_s=3600)
    assert store.resume_session(stale_role, idle_s=600) is None  # alice is an operator
    with pytest.raises(UserError, match="'name' must name an existing user, got 'nobody'"):
        store.start_session("nobody", "operator", max_age_s=3600)
    store.disable("bob")
    with pytest.raises(UserError, match="'name' must name an active user, got 'bob'"):
        store.start_session("bob", "planner", max_age_s=3600)
    with pytest.raises(UserError, match="'max_age_s' must be > 0, got 0"):
        store.start_session("alice", "operator", max_age_s=0)


def test_revoke_sessions_counts_and_spares_others(timed):
    store, _ = timed
    a1 = store.start_session("alice", "operator", max_age_s=3600)
    store.start_session("alice", "operator", max_age_s=3600)
    b1 = store.start_session("bob", "planner", max_age_s=3600)
    demo = store.start_session("demo-admin", "admin", max_age_s=3600, demo=True)
    assert [s.name for s in store.sessions("alice")] == ["alice", "alice"]
    assert store.revoke_sessions("ALICE") == 2
    assert store.revoke_sessions("alice") == 0
    assert store.resume_session(a1, idle_s=600) is None
    assert store.resume_session(b1, idle_s=600) is not None
    assert store.resume_session(demo, idle_s=600).demo is True
    assert store.revoke_sessions("demo-admin") == 1


def test_ended_sessions_are_purged_a_day_later(timed):
    store, clock = timed
    old = store.start_session("alice", "operator", max_age_s=60)
    store.end_session(old)
    clock.now += 86_401
    store.start_session("alice", "operator", max_age_s=60)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)


def test_tokens_issue_use_revoke(timed):
    store, _ = timed
    token = store.issue_token("alice")
    assert token.startswith("vt_") and len(token) >= 46
    assert store.user_for_token(token) == store.get("alice")
    assert store.user_for_token(token + "x") is None
    assert store.user_for_token("") is None and store.user_for_token(None) is None
    second = store.issue_token("alice")
    assert store.token_count("alice") == 2
    with sqlite3.connect(store.path) as conn:
        dump = "\n".join(conn.iterdump())
    assert token not in dump and second not in dump
    assert store.revoke_tokens("alice") == 2
    assert store.user_for_token(token) is None and store.user_for_token(second) is None
    with pytest.raises(UserError, match="'name' must name an existing user"):
        store.issue_token("nobody")


def test_disable_makes_tokens_useless_for_good(timed):
    store, _ = timed
    token = store.issue_token("bob")
    store.disable("bob")
    assert store.user_for_token(token) is None
    with pytest.raises(UserError, match="'name' must name an active user, got 'bob'"):
        store.issue_token("bob")
    store.enable("bob")
    assert store.user_for_token(token) is None


def test_cli_token_prints_it_alone_on_the_last_line(tmp_path, capsys):
    db = str(tmp_path / "auth.sqlite")
    UserStore(db).add("alice", GOOD, "operator")
    assert users_cli.main(["token", "alice", "--db", db]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    assert UserStore(db).user_for_token(token).name == "alice"
    assert users_cli.main(["revoke-tokens", "alice", "--db", db]) == 0
    assert "alice: 1 API tokens revoked" in capsys.readouterr().out
    assert UserStore(db).user_for_token(token) is None
    assert users_cli.main(["revoke-sessions", "nobody", "--db", db]) == 2
    assert "'name' must name an existing user, got 'nobody'" in capsys.readouterr().err
    actions = [e.action for e in AuditLog(db).query(AuditFilter(category="action"))]
    assert actions == ["user.revoke-tokens", "user.token"]
    assert token not in AuditLog(db).to_csv()
