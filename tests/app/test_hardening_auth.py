"""Issue 12 (sign-in side) and issue 10 §4 (API bearer tokens), through the HTTP layer.

Revocable server-side sessions, access decided from the resolved endpoint, request limits
(callbacks/limits.py), the per-address budget against password spraying, and bearer tokens.
Most tests use the Flask test client on the small app of tests/app/test_auth.py; the last ones
run against a real werkzeug server on a socket. Each refusal is checked against independent
truth: the audit log's action rows (what the protected callback writes when it runs) and the
server-side session table, never against the response alone.
"""

from __future__ import annotations

import http.client
import io
import json
import sqlite3
import threading
from contextlib import redirect_stdout
from urllib.parse import unquote

import dash
import flask
import pytest
from dash import Input, Output, html
from werkzeug.serving import make_server

from auth import cli as users_cli
from auth.users import UserStore
from callbacks.auth import DEFAULT_PAGE_ROLES, current_user, get_auth
from callbacks.limits import MAX_BODY_BYTES, install_request_limits, json_depth
from tests.app.test_auth import (
    APPLY,
    PASSWORD,
    USERS,
    _token,
    add_users,
    make_app,
    security_log,
    sign_in,
)
from twin.service.audit import AuditFilter

OTHER_ADDRESS = {"REMOTE_ADDR": "10.9.9.9"}


def make_users_db(path):
    """A database with the users of tests/app/test_auth.py (hashed once per session)."""
    store = UserStore(path)
    for name, role in USERS.items():
        store.add(name, PASSWORD, role)
    return path


@pytest.fixture(scope="session")
def users_db(tmp_path_factory):
    return make_users_db(tmp_path_factory.mktemp("users") / "auth.sqlite")


def _api(app):
    """A stand-in for the lead's /api/v1 blueprint: who am I, and an admin-only route."""
    blueprint = flask.Blueprint("test_api", __name__, url_prefix="/api/v1")

    @blueprint.route("/whoami", methods=["GET", "POST"])
    def whoami():
        user = current_user()
        return flask.jsonify(name=user.name, role=user.role, token=user.token)

    @blueprint.route("/admin-only")
    def admin_only():
        return flask.jsonify(ok=True)

    app.server.register_blueprint(blueprint)


def make_hardened_app(tmp_path, users_db, **config):
    pages = {**DEFAULT_PAGE_ROLES, "/api/v1/admin-only": ("admin",)}
    app = make_app(tmp_path, page_roles=pages, **config)
    _api(app)
    install_request_limits(app.server)
    add_users(app, users_db)
    return app


@pytest.fixture
def app(tmp_path, users_db):
    return make_hardened_app(tmp_path, users_db)


@pytest.fixture
def client(app):
    return app.server.test_client()


def plans_applied(app) -> int:
    """Independent truth: the protected callback writes one audit row each time it runs."""
    return len(get_auth(app).audit.query(AuditFilter(action="signal.set_plan")))


def live_sessions(app, name) -> int:
    return len(get_auth(app).users.sessions(name))


def session_cookie(client) -> str:
    return client.get_cookie("venuetwin_session").value


def replay(app, cookie):
    """A new client that carries only a saved session cookie."""
    client = app.server.test_client()
    client.set_cookie("venuetwin_session", cookie)
    return client


def sign_out(client):
    page = client.get("/logout").get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": _token(page)})


# -- revocable sessions ---------------------------------------------------------------------


def test_saved_cookie_is_refused_after_sign_out_and_changes_nothing(app, client):
    sign_in(client, "olga")
    saved = session_cookie(client)
    assert client.post("/_dash-update-component", json=APPLY).status_code == 200
    assert plans_applied(app) == 1 and live_sessions(app, "olga") == 1
    assert sign_out(client).location == "/login"
    assert live_sessions(app, "olga") == 0
    thief = replay(app, saved)
    assert thief.post("/_dash-update-component", json=APPLY).status_code == 403
    assert thief.get("/").status_code == 302
    assert thief.get("/_dash-layout").status_code == 403
    assert plans_applied(app) == 1  # nothing changed
    refused = security_log(app, action="callback.refused")
    assert [(e.user, e.detail) for e in refused] == [("", "no session")]


def test_sign_in_rotates_the_session_id(app, client):
    client.get("/login")
    before = session_cookie(client)  # a cookie planted before sign-in is no session
    sign_in(client, "olga")
    first = session_cookie(client)
    assert replay(app, before).get("/").status_code == 302
    # Posting the sign-in form again (say, another tab) drops the old id.
    with client.session_transaction() as session:
        session["login_csrf"] = "tab-2"
    response = client.post(
        "/login", data={"username": "olga", "password": PASSWORD, "csrf_token": "tab-2"}
    )
    assert response.status_code == 302
    assert session_cookie(client) != first
    assert live_sessions(app, "olga") == 1
    assert replay(app, first).post("/_dash-update-component", json=APPLY).status_code == 403
    assert client.post("/_dash-update-component", json=APPLY).status_code == 200
    assert plans_applied(app) == 1


def test_admin_revokes_sessions_from_the_command_line(app, client, capsys):
    sign_in(client, "olga")
    other = app.server.test_client()
    sign_in(other, "olga", environ=OTHER_ADDRESS)
    sign_in(app.server.test_client(), "pat")
    assert live_sessions(app, "olga") == 2
    db = str(get_auth(app).users.path)
    assert users_cli.main(["revoke-sessions", "olga", "--db", db]) == 0
    assert "olga: 2 sessions revoked" in capsys.readouterr().out
    for c in (client, other):
        assert c.post("/_dash-update-component", json=APPLY).status_code == 403
    assert plans_applied(app) == 0
    assert live_sessions(app, "pat") == 1  # other users keep theirs
    (entry,) = get_auth(app).audit.query(AuditFilter(action="user.revoke-sessions"))
    assert (entry.target, entry.after) == ("olga", {"revoked": 2})


def test_disable_revokes_sessions_even_if_enabled_again(app, client):
    sign_in(client, "olga")
    saved = session_cookie(client)
    users = get_auth(app).users
    users.disable("olga")
    users.enable("olga")
    assert replay(app, saved).post("/_dash-update-component", json=APPLY).status_code == 403
    assert plans_applied(app) == 0


def test_forged_session_id_in_a_signed_cookie_is_refused(app, client):
    sign_in(client, "olga")
    with client.session_transaction() as session:  # signed with the real key
        session["sid"] = "guessed-" + session["sid"][8:]
    assert client.post("/_dash-update-component", json=APPLY).status_code == 403
    assert plans_applied(app) == 0


def test_session_ids_are_stored_hashed(app, client):
    sign_in(client, "olga")
    with client.session_transaction() as session:
        session_id = session["sid"]
    with sqlite3.connect(get_auth(app).users.path) as conn:
        dump = "\n".join(conn.iterdump())
    assert session_id not in dump


# -- access from the resolved endpoint ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/assets//x",
        "/assets/../x",
        "//assets/x",
        "/assets/./x",
        "/assets/%2e%2e/x",
        "/assets/x/../../admin/audit",
        "/assets//admin/audit",
        "/assets/..",
        "//_dash-layout",
        "/login/../admin/audit",
        "/_vendor/deckgl/../../admin/audit",
        "/_dash-layout/",
        "//api/v1/whoami",
        "/api//v1/whoami",
    ],
)
def test_odd_paths_need_a_session(client, path):
    # Sent as is (the test client would read '//assets/x' as a host name).
    response = client.get("/", environ_overrides={"PATH_INFO": unquote(path)})
    assert response.status_code in (302, 401, 403, 404, 308), response.status_code
    if response.status_code == 302:
        assert response.location.startswith("/login?next=")
    if "api" in path:
        assert response.status_code == 401
    assert "_dash-config" not in response.get_data(as_text=True)  # not the app page


def test_public_endpoints_stay_public(tmp_path, users_db):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "theme.css").write_text("body { color: red }")
    app = dash.Dash(__name__, assets_folder=str(assets))
    app.server.add_url_rule("/_vendor/deckgl/9.3/index.js", "deck_bundle", lambda: "deck()")
    from callbacks.auth import install_auth

    install_auth(app, {"auth_db": str(tmp_path / "a.sqlite"), "secret_key": "s" * 40})
    app.layout = html.Div("twin")
    client = app.server.test_client()
    assert client.get("/assets/theme.css").status_code == 200
    assert client.get("/_vendor/deckgl/9.3/index.js").get_data(as_text=True) == "deck()"
    assert client.get("/login").status_code == 200
    assert client.get("/_favicon.ico").status_code == 200
    assert client.get("/assets//theme.css").status_code == 302  # not at its canonical path
    assert client.get("/").status_code == 302


def test_bad_component_suite_paths_are_404(client):
    sign_in(client, "olga")
    for path in (
        "/_dash-component-suites/dash/nope.js",
        "/_dash-component-suites/nope/x.js",
        "/_dash-component-suites/dash/../../etc/passwd",
        "/_dash-component-suites/dash/deps/react@18.v9_9_9m1.js",
    ):
        assert client.get(path).status_code == 404, path


# -- request limits -----------------------------------------------------------------------------


def test_oversized_body_is_413_with_and_without_a_session(app, client):
    body = b"[" + b"0," * (MAX_BODY_BYTES + 1) + b"0]"  # about 2 MB
    headers = {"Content-Type": "application/json"}
    assert client.post("/_dash-update-component", data=body, headers=headers).status_code == 413
    sign_in(client, "olga")
    assert client.post("/_dash-update-component", data=body, headers=headers).status_code == 413
    assert client.post("/login", data=body, headers=headers).status_code == 413
    assert plans_applied(app) == 0


def test_deeply_nested_json_is_400(app, client):
    body = b"[" * 200_000
    headers = {"Content-Type": "application/json"}
    assert client.post("/_dash-update-component", data=body, headers=headers).status_code == 403
    sign_in(client, "olga")
    response = client.post("/_dash-update-component", data=body, headers=headers)
    assert response.status_code == 400
    deep = {"output": "plan-status.children", "inputs": [json.loads("[" * 150 + "]" * 150)]}
    assert client.post("/_dash-update-component", json=deep).status_code == 400
    assert plans_applied(app) == 0
    assert client.post("/_dash-update-component", json=APPLY).status_code == 200


def _plain_dash_app():
    """Sign-in off: a plain Dash app with one callback, limits installed."""
    app = dash.Dash(__name__)
    app.layout = html.Div([html.Button(id="b"), html.Div(id="o")])

    @app.callback(Output("o", "children"), Input("b", "n_clicks"))
    def echo(n_clicks):
        return str(n_clicks)

    install_request_limits(app.server)
    return app


def test_request_limits_work_without_sign_in():
    client = _plain_dash_app().server.test_client()
    headers = {"Content-Type": "application/json"}
    assert (
        client.post("/_dash-update-component", data=b"[" * 200_000, headers=headers).status_code
        == 400
    )
    assert (
        client.post(
            "/_dash-update-component", data=b" " * (2 * 1024 * 1024), headers=headers
        ).status_code
        == 413
    )
    assert client.get("/_dash-component-suites/dash/nope.js").status_code == 404
    body = {
        "output": "o.children",
        "outputs": {"id": "o", "property": "children"},
        "inputs": [{"id": "b", "property": "n_clicks", "value": 3}],
        "changedPropIds": ["b.n_clicks"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.get_json()["response"]["o"]["children"] == "3"


def test_json_depth():
    assert [json_depth(v) for v in (1, [], {}, [[1]], {"a": [{"b": []}]})] == [0, 1, 1, 2, 4]
    assert json_depth(json.loads("[" * 500 + "]" * 500)) == 500


def test_install_request_limits_checks_its_input():
    with pytest.raises(ValueError, match="'max_body_bytes' must be >= 1, got 0"):
        install_request_limits(flask.Flask(__name__), max_body_bytes=0)


# -- password spraying ---------------------------------------------------------------------------


def test_spraying_is_slowed_and_alerted_without_locking_out_the_operator(app):
    # The real operator signed in from this browser before: it holds a device cookie.
    desk = app.server.test_client()
    sign_in(desk, "olga")
    sign_out(desk)
    attacker = app.server.test_client()
    codes, waits = [], []
    for i in range(60):
        response = sign_in(attacker, f"guess{i:03d}", "Winter2026!")
        codes.append(response.status_code)
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
    assert codes[:10] == [401] * 10  # the address budget: 10 a minute ...
    assert codes[10:] == [429] * 50  # ... then every try waits
    assert all(1 <= w <= 15 * 60 for w in waits)  # never locked out for long
    assert sign_in(attacker, "olga").status_code == 429  # even a right password waits
    (alert,) = security_log(app, action="alert.password_spraying")
    assert (alert.target, alert.ip, alert.result) == ("127.0.0.1", "127.0.0.1", "refused")
    assert len(security_log(app, action="login.failed")) == 10
    # The operator from another address, and from the same address on her own desk
    # (device cookie), still signs in.
    assert sign_in(app.server.test_client(), "olga", environ=OTHER_ADDRESS).status_code == 302
    assert sign_in(desk, "olga").status_code == 302
    assert desk.post("/_dash-update-component", json=APPLY).status_code == 200


def test_device_cookie_is_per_user_and_signed(app):
    desk = app.server.test_client()
    sign_in(desk, "olga")
    sign_out(desk)
    for i in range(10):
        sign_in(desk, f"guess{i}", "nope nope nope")  # spends the address budget
    assert sign_in(desk, "pat").status_code == 429  # the cookie vouches for olga only
    assert sign_in(desk, "olga").status_code == 302
    forged = app.server.test_client()
    forged.set_cookie(
        "venuetwin_device",
        desk.get_cookie("venuetwin_device", path="/login").value[:-4] + "AAAA",
        path="/login",
    )
    assert sign_in(forged, "olga").status_code == 429


# -- API bearer tokens ----------------------------------------------------------------------------


def issue_token(app, name) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert users_cli.main(["token", name, "--db", str(get_auth(app).users.path)]) == 0
    return out.getvalue().splitlines()[-1]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_acts_as_its_user_and_is_stored_hashed(app, client):
    token = issue_token(app, "pat")
    response = client.get("/api/v1/whoami", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"name": "pat", "role": "planner", "token": True}
    # No cookie, so no CSRF token needed for a POST.
    assert client.post("/api/v1/whoami", headers=bearer(token)).status_code == 200
    assert client.get_cookie("venuetwin_session") is None
    with sqlite3.connect(get_auth(app).users.path) as conn:
        assert token not in "\n".join(conn.iterdump())
    assert token not in get_auth(app).audit.to_csv()


def test_api_without_credentials_is_json_401_never_a_redirect(app, client):
    for path in ("/api/v1/whoami", "/api/v1/nothing-here", "/api/v1/admin-only"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer vt_wrong", "Basic b2xnYTpwdw==", "Bearer", "Bearer " + "x" * 5000):
        response = client.get("/api/v1/whoami", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthenticated"


def test_api_role_checks_are_the_pages(app, client):
    assert (
        client.get("/api/v1/admin-only", headers=bearer(issue_token(app, "olga"))).status_code
        == 403
    )
    response = client.get("/api/v1/admin-only", headers=bearer(issue_token(app, "ada")))
    assert (response.status_code, response.get_json()) == (200, {"ok": True})


def test_api_with_a_session_cookie_needs_csrf_for_writes(app, client):
    sign_in(client, "olga")
    assert client.get("/api/v1/whoami").get_json()["token"] is False
    assert client.post("/api/v1/whoami").status_code == 403
    with client.session_transaction() as session:
        csrf = session["csrf"]
    assert client.post("/api/v1/whoami", headers={"X-CSRFToken": csrf}).status_code == 200


def test_revoked_and_disabled_tokens_are_refused(app, client, capsys):
    token, other = issue_token(app, "olga"), issue_token(app, "olga")
    assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 200
    db = str(get_auth(app).users.path)
    assert users_cli.main(["revoke-tokens", "olga", "--db", db]) == 0
    assert "olga: 2 API tokens revoked" in capsys.readouterr().out
    assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/whoami", headers=bearer(other)).status_code == 401
    fresh = issue_token(app, "eve")
    assert users_cli.main(["disable", "eve", "--db", db]) == 0
    assert client.get("/api/v1/whoami", headers=bearer(fresh)).status_code == 401
    get_auth(app).users.enable("eve")  # enabling again does not bring the token back
    assert client.get("/api/v1/whoami", headers=bearer(fresh)).status_code == 401
    refused = security_log(app, action="api.refused")
    assert len(refused) == 4 and {e.detail for e in refused} == {"invalid or revoked token"}


def test_bad_tokens_spend_the_address_budget(app, client):
    codes = [
        client.get("/api/v1/whoami", headers=bearer(f"vt_guess{i}")).status_code for i in range(12)
    ]
    assert codes == [401] * 10 + [429] * 2
    response = client.get("/api/v1/whoami", headers=bearer("vt_guess"))
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert len(security_log(app, action="alert.password_spraying")) == 1
    # A valid token is never refused for other clients' failures (256 bits cannot be guessed).
    assert client.get("/api/v1/whoami", headers=bearer(issue_token(app, "pat"))).status_code == 200


def test_current_user_outside_requests_is_none():
    assert current_user() is None


# -- against a real server on a socket ------------------------------------------------------------


@pytest.fixture
def served(tmp_path, users_db):
    app = make_hardened_app(tmp_path, users_db)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_port
    server.shutdown()
    thread.join(10)


def _request(port, method, path, *, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _cookie(headers) -> str:
    return headers["Set-Cookie"].split(";", 1)[0]


def _sign_in_over_http(port, name):
    from urllib.parse import urlencode

    status, headers, body = _request(port, "GET", "/login")
    cookie = _cookie(headers)
    form = urlencode(
        {"username": name, "password": PASSWORD, "csrf_token": _token(body.decode())}
    ).encode()
    status, headers, _ = _request(
        port,
        "POST",
        "/login",
        body=form,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302
    return next(c.split(";", 1)[0] for c in headers_all(headers) if "venuetwin_session=" in c)


def headers_all(headers):
    # http.client folds repeated Set-Cookie headers into one comma-joined value.
    return (
        [part.strip() for part in headers["Set-Cookie"].split(", venuetwin_")]
        if "Set-Cookie" in headers
        else []
    )


def test_real_server_sign_out_limits_and_paths(served):
    app, port = served
    cookie = _sign_in_over_http(port, "olga")
    update = json.dumps(APPLY).encode()
    json_headers = {"Content-Type": "application/json", "Cookie": cookie}
    assert (
        _request(port, "POST", "/_dash-update-component", body=update, headers=json_headers)[0]
        == 200
    )
    # Sign out with the page's token, then replay the saved cookie.
    status, _, page = _request(port, "GET", "/logout", headers={"Cookie": cookie})
    form = f"csrf_token={_token(page.decode())}".encode()
    status, _, _ = _request(
        port,
        "POST",
        "/logout",
        body=form,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302
    assert (
        _request(port, "POST", "/_dash-update-component", body=update, headers=json_headers)[0]
        == 403
    )
    assert plans_applied(app) == 1
    # Limits and odd paths over a real socket.
    fresh = _sign_in_over_http(port, "olga")
    big = b" " * (2 * 1024 * 1024)
    assert (
        _request(
            port,
            "POST",
            "/_dash-update-component",
            body=big,
            headers={**json_headers, "Cookie": fresh},
        )[0]
        == 413
    )
    assert (
        _request(
            port,
            "POST",
            "/_dash-update-component",
            body=b"[" * 200_000,
            headers={**json_headers, "Cookie": fresh},
        )[0]
        == 400
    )
    for path in ("/assets//x", "/assets/../x", "//assets/x"):
        status, _, body = _request(port, "GET", path)
        assert status in (302, 403, 404) and b"_dash-config" not in body
    token = issue_token(app, "pat")
    status, _, body = _request(port, "GET", "/api/v1/whoami", headers=bearer(token))
    assert (status, json.loads(body)["name"]) == (200, "pat")
    assert _request(port, "GET", "/api/v1/whoami")[0] == 401
    assert plans_applied(app) == 1


# -- the real control room, with the limits installed, in the browser --------------------------


def test_browser_control_room_with_request_limits(tmp_path, users_db, browser):
    """Every Dash request of the real wall fits the envelope check: no 400 from the limits."""
    from app import create_app
    from tests.app.geo_scenario import busy_demand, geo_grid_scenario
    from twin.engine import Engine

    scenario = geo_grid_scenario()
    engine = Engine(scenario, start_s=17 * 3600, demand=busy_demand(scenario))
    app = create_app(
        {
            "scenario": scenario,
            "engine": engine,
            "start": False,
            "warmup_s": 0,
            "auth_db": str(tmp_path / "auth.sqlite"),
            "secret_key": "s" * 40,
        }
    )
    install_request_limits(app.server)
    add_users(app, users_db)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(base_url=f"http://127.0.0.1:{server.server_port}")
    statuses = []
    try:
        page = context.new_page()
        page.on(
            "response", lambda r: "_dash-update-component" in r.url and statuses.append(r.status)
        )
        page.goto("/")
        page.fill("#username", "olga")
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_selector("[data-deck-ready='1']", timeout=180_000)
        for _ in range(120):  # bounded wait for the interval callbacks to run a few times
            if len(statuses) >= 8:
                break
            page.wait_for_timeout(250)
    finally:
        context.close()
        server.shutdown()
        thread.join(10)
    assert len(statuses) >= 8
    assert set(statuses) <= {200, 204}, statuses


# -- scaled mode: two workers share the budgets through Redis --------------------------------------


def test_workers_share_the_address_budget_and_sessions_through_redis(tmp_path, users_db, redis_url):
    config = {"store": "redis", "redis_url": redis_url}  # what app.py passes in scaled mode
    first = make_hardened_app(tmp_path / "w", users_db, **config)
    second = dash.Dash(__name__)  # another worker: same database, same Redis, same key
    from callbacks.auth import install_auth

    install_auth(
        second, {"auth_db": str(get_auth(first).users.path), "secret_key": "s" * 40, **config}
    )
    second.layout = html.Div("twin")
    codes = []
    for i in range(12):  # alternate workers, as a load balancer would
        worker = (first, second)[i % 2]
        codes.append(sign_in(worker.server.test_client(), f"guess{i}", "nope").status_code)
    assert codes == [401] * 10 + [429] * 2
    assert len(security_log(first, action="alert.password_spraying")) == 1
    # A session started on one worker and ended on the other is ended everywhere.
    client = first.server.test_client()
    sign_in(client, "olga", environ=OTHER_ADDRESS)
    saved = session_cookie(client)
    assert replay(second, saved).get("/").status_code == 200
    sign_out(replay(second, saved))
    assert replay(first, saved).post("/_dash-update-component", json=APPLY).status_code == 403
