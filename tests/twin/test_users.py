"""Tests for twin.users (UserStore, roles, password hashing) and twin.users_cli."""

import io
import sqlite3

import pytest
from werkzeug.security import check_password_hash

from twin import users_cli
from twin.audit import AuditFilter, AuditLog
from twin.users import Role, User, UserError, UserStore

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
    (_, _, password_hash, _), = _rows(store)
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
        ("alice", GOOD, "boss",
         r"^'role' must be one of operator, planner, executive, admin, got 'boss'$"),
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
