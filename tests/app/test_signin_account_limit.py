"""Password guessing at one account spread over many addresses is limited per account
(issue 19, point 5: 5 tries from each of 30 addresses were all evaluated), while the real
user's own browser (its device cookie) still signs in."""

from __future__ import annotations

from callbacks.auth import get_auth
from tests.app.test_auth import PASSWORD, sign_in
from tests.app.test_hardening_auth import make_hardened_app, make_users_db, sign_out
from twin.service.audit import AuditFilter

ADDRESSES = [f"10.{n // 200}.{n % 200}.7" for n in range(30)]


def _security(app, action):
    return get_auth(app).audit.query(AuditFilter(action=action, category="security", limit=1000))


def _spray(app, name="olga", tries_each=5):
    statuses = []
    for address in ADDRESSES:
        client = app.server.test_client()  # a new machine: no device cookie
        for n in range(tries_each):
            response = sign_in(
                client, name, f"wrong guess {address} {n}", environ={"REMOTE_ADDR": address}
            )
            statuses.append(response.status_code)
    return statuses


def test_guesses_from_thirty_addresses_meet_the_account_budget(tmp_path):
    app = make_hardened_app(tmp_path, make_users_db(tmp_path / "users.sqlite"))
    statuses = _spray(app)
    evaluated = len(_security(app, "login.failed"))  # each evaluated guess is logged once
    assert statuses.count(401) == evaluated
    assert evaluated == 10  # the 5-minute account budget (DEFAULT_ACCOUNT_LIMITS)
    assert statuses.count(429) == len(ADDRESSES) * 5 - evaluated
    [alert] = _security(app, "alert.account_guessing")  # the admins are told, once
    assert alert.user == "olga" and "account budget" in alert.detail
    # a new browser, even with the right password, waits too: the limit ignores the address
    late = sign_in(app.server.test_client(), "olga", PASSWORD, environ={"REMOTE_ADDR": "10.99.0.1"})
    assert late.status_code == 429 and int(late.headers["Retry-After"]) > 0


def test_the_real_users_own_browser_still_signs_in(tmp_path):
    app = make_hardened_app(tmp_path, make_users_db(tmp_path / "users.sqlite"))
    own = app.server.test_client()
    home = {"REMOTE_ADDR": "192.0.2.10"}
    assert sign_in(own, "olga", PASSWORD, environ=home).status_code == 302  # device cookie set
    sign_out(own)  # the device cookie stays
    _spray(app)
    assert _security(app, "alert.account_guessing")
    mistyped = sign_in(own, "olga", "a typo in her password", environ=home)
    assert mistyped.status_code == 401  # evaluated: her device has its own budget
    assert sign_in(own, "olga", PASSWORD, environ=home).status_code == 302


def test_other_accounts_are_not_affected(tmp_path):
    app = make_hardened_app(tmp_path, make_users_db(tmp_path / "users.sqlite"))
    _spray(app, "olga", tries_each=2)
    client = app.server.test_client()
    assert sign_in(client, "pat", PASSWORD, environ={"REMOTE_ADDR": "10.98.0.1"}).status_code == 302
