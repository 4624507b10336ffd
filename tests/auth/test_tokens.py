"""API tokens expire (set at creation, listed, renewable) and carry a scope (issue 19, point 7),
in the store, through the command line and at the HTTP API."""

from __future__ import annotations

import sqlite3

import pytest

from auth.cli import main as users_main
from auth.users import DEFAULT_TOKEN_TTL_S, UserError, UserStore

PASSWORD = "correct horse battery"
DAY_S = 86400.0


class Clock:
    def __init__(self, now_s: float = 1_800_000_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def store(tmp_path):
    clock = Clock()
    store = UserStore(tmp_path / "auth.sqlite", clock=clock)
    store.add("olga", PASSWORD, "operator")
    store.clock = clock
    return store


def test_a_token_works_until_its_expiry_and_renewal_extends_it(store):
    token = store.issue_token("olga", expires_in_s=2 * DAY_S)
    [info] = store.tokens("olga")
    assert info.expires_s == store.clock.now_s + 2 * DAY_S and info.valid
    store.clock.now_s += 2 * DAY_S - 1
    assert store.user_for_token(token).name == "olga"
    store.clock.now_s += 1  # the expiry instant: no longer valid
    assert store.user_for_token(token) is None and not store.tokens("olga")[0].valid
    renewed = store.renew_token("olga", info.id, expires_in_s=DAY_S)
    assert renewed.expires_s == store.clock.now_s + DAY_S and renewed.valid
    assert store.token_grant(token)[0].name == "olga"


def test_scope_is_kept_and_listed(store):
    read = store.issue_token("olga", scope="read")
    act = store.issue_token("olga")
    assert store.token_grant(read)[1] == "read" and store.token_grant(act)[1] == "act"
    assert [t.scope for t in store.tokens("olga")] == ["read", "act"]
    assert all(t.expires_s == t.created_s + DEFAULT_TOKEN_TTL_S for t in store.tokens("olga"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expires_in_s": 0}, r"^'expires_in_s' must be > 0 and at most 366 days, got 0$"),
        ({"expires_in_s": 400 * DAY_S}, r"'expires_in_s' must be > 0 and at most 366 days"),
        ({"expires_in_s": float("nan")}, r"'expires_in_s' must be > 0"),
        ({"expires_in_s": True}, r"'expires_in_s' must be > 0"),
        ({"scope": "admin"}, r"^'scope' must be one of read, act, got 'admin'$"),
    ],
)
def test_bad_token_requests_are_refused_and_change_nothing(store, kwargs, message):
    with pytest.raises(UserError, match=message):
        store.issue_token("olga", **kwargs)
    assert store.tokens("olga") == []


def test_revoked_tokens_cannot_be_renewed(store):
    token = store.issue_token("olga")
    store.revoke_tokens("olga")
    with pytest.raises(UserError, match="'token_id' must name an unrevoked token of olga"):
        store.renew_token("olga", store.tokens("olga")[0].id)
    assert store.user_for_token(token) is None


def test_tokens_made_before_expiry_existed_get_the_default_lifetime(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # the first release's table, one token in it
        conn.executescript(
            "CREATE TABLE api_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL"
            " COLLATE NOCASE, token_hash TEXT NOT NULL UNIQUE, created_s REAL NOT NULL,"
            " last_used_s REAL, revoked_s REAL);"
            "INSERT INTO api_tokens (user, token_hash, created_s) VALUES ('olga', 'x', 1000.0);"
        )
    store = UserStore(path)
    store.add("olga", PASSWORD, "operator")
    [info] = store.tokens("olga")
    assert (info.expires_s, info.scope) == (1000.0 + DEFAULT_TOKEN_TTL_S, "act")


def test_the_command_line_sets_lists_and_renews(tmp_path, capsys):
    db = str(tmp_path / "auth.sqlite")
    UserStore(db).add("eve", PASSWORD, "executive")
    assert users_main(["token", "eve", "--db", db, "--scope", "read", "--expires-days", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "scope read" in out[0] and out[-1].startswith("vt_")
    [info] = UserStore(db).tokens("eve")
    assert info.expires_s == pytest.approx(info.created_s + 3 * DAY_S)
    assert users_main(["tokens", "eve", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert f"#{info.id}" in listed and "read" in listed and "valid" in listed
    assert users_main(["renew-token", "eve", str(info.id), "--db", db, "--expires-days", "10"]) == 0
    [renewed] = UserStore(db).tokens("eve")
    assert renewed.expires_s > info.expires_s + 6 * DAY_S
    assert users_main(["token", "eve", "--db", db, "--expires-days", "0"]) == 2
    assert "expires_in_s" in capsys.readouterr().err
    assert len(UserStore(db).tokens("eve")) == 1


def test_a_read_token_reads_but_cannot_post_and_an_expired_one_is_401(tmp_path):
    from tests.app.test_hardening_auth import make_hardened_app, make_users_db

    app = make_hardened_app(tmp_path, make_users_db(tmp_path / "users.sqlite"))
    users = UserStore(app.server.extensions["venuetwin.auth"].users.path)
    read = users.issue_token("olga", scope="read")
    act = users.issue_token("olga")
    client = app.server.test_client()
    bearer = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    assert client.get("/api/v1/whoami", headers=bearer(read)).status_code == 200
    refused = client.post("/api/v1/whoami", headers=bearer(read))
    assert refused.status_code == 403 and "read-only" in refused.get_json()["error"]["message"]
    assert client.post("/api/v1/whoami", headers=bearer(act)).status_code == 200
    with sqlite3.connect(users.path) as conn:  # its expiry passes
        conn.execute("UPDATE api_tokens SET expires_s = 0")
    expired = client.get("/api/v1/whoami", headers=bearer(act))
    assert expired.status_code == 401
