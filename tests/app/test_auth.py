"""Server-side sign-in and role enforcement (callbacks/auth.py, callbacks/audit.py).

Each test builds a fresh small Dash app here, with state-changing callbacks
registered by ``app.callback`` and protected by role, and talks to it directly
(Flask test client), the way an attacker would: straight to
``/_dash-update-component``. The browser tests at the end sign in through the page
in headless Chromium, one role at a time.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time

import dash
import plotly.graph_objects as go
import pytest
from dash import Input, Output, dcc, html
from werkzeug.serving import make_server

from auth.users import UserStore
from callbacks import audit as audit_callbacks
from callbacks.auth import (
    ALL_ROLES,
    LoginLimits,
    content_security_policy,
    current_user,
    get_auth,
    install_auth,
    protect,
)
from layouts.audit import IDS as AUDIT_IDS
from layouts.audit import audit_page
from twin.service.audit import AuditFilter
from twin.service.permissions import HUMAN_ROLES

PASSWORD = "correct horse battery"
SECRET = "s" * 40
USERS = {"olga": "operator", "pat": "planner", "eve": "executive", "ada": "admin"}
HOMES = {"operator": "/", "planner": "/replay", "executive": "/summary", "admin": "/admin/audit"}


# -- a small app with the shape of the real one ------------------------------------------


def _pages(app):
    return {
        "/": html.Div(
            [
                html.H2("Live control"),
                html.Button("Apply plan", id="apply-plan"),
                html.Div(id="plan-status"),
            ]
        ),
        "/replay": html.Div(
            [html.H2("Replay"), html.Button("Fork day", id="fork-day"), html.Div(id="fork-status")]
        ),
        "/summary": html.Div(
            [
                html.H2("Executive summary"),
                dcc.Graph(id="summary-graph", figure=go.Figure(go.Bar(x=["A", "B"], y=[3, 5]))),
            ]
        ),
        "/admin/audit": audit_page(get_auth(app).audit.facets(), roles=ALL_ROLES),
    }


def make_app(tmp_path, **config):
    """A fresh app: pages per role, two protected state-changing callbacks, the audit page."""
    app = dash.Dash(__name__)
    config = {"auth_db": str(tmp_path / "auth.sqlite"), "secret_key": SECRET, **config}
    auth = install_auth(app, config)
    app.layout = html.Div([dcc.Location(id="url"), html.Div(id="who"), html.Div(id="page")])
    app.validation_layout = html.Div([app.layout, *_pages(app).values()])

    @app.callback(Output("page", "children"), Output("who", "children"), Input("url", "pathname"))
    def route(pathname):
        user = current_user()
        if not auth.page_allowed(pathname or "/"):
            return dcc.Location(id="redirect", href=auth.home_page()), ""
        return _pages(app)[pathname or "/"], f"{user.name} ({user.role})"

    @app.callback(
        Output("plan-status", "children"),
        Input("apply-plan", "n_clicks"),
        prevent_initial_call=True,
    )
    def apply_plan(n_clicks):
        user = current_user()
        auth.audit.record(
            user=user.name,
            role=user.role,
            action="signal.set_plan",
            target="node 12",
            before={"greens_s": [30, 30]},
            after={"greens_s": [40, 20]},
            sim_time_s=66_000.0,
        )
        return f"plan applied ({n_clicks})"

    @app.callback(
        Output("fork-status", "children"), Input("fork-day", "n_clicks"), prevent_initial_call=True
    )
    def fork_day(n_clicks):
        return f"forked ({n_clicks})"

    protect(app, "plan-status", roles=["operator"])
    protect(app, "fork-status", roles="planner")
    protect(app, route, roles=HUMAN_ROLES)  # a callback with no entry runs for nobody
    audit_callbacks.register_callbacks(app, auth.audit)
    return app


@pytest.fixture(scope="session")
def users_db(tmp_path_factory):
    """A database with the four users, hashed once (scrypt is slow on purpose)."""
    path = tmp_path_factory.mktemp("users") / "auth.sqlite"
    store = UserStore(path)
    for name, role in USERS.items():
        store.add(name, PASSWORD, role)
    return path


def add_users(app, users_db):
    """Copy the users of `users_db` into the app's database."""
    with sqlite3.connect(get_auth(app).users.path) as conn:
        conn.execute("ATTACH DATABASE ? AS template", (str(users_db),))
        conn.execute("INSERT INTO users SELECT * FROM template.users")


def _token(html_text):
    return re.search(r'name="csrf_token" value="([^"]+)"', html_text).group(1)


def sign_in(client, name, password=PASSWORD, *, next_path="", environ=None):
    environ = environ or {}
    token = _token(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": next_path},
        environ_base=environ,
    )


def update_body(output, input_id, value=1):
    return {
        "output": output,
        "outputs": {"id": output.split(".")[0], "property": output.split(".")[1]},
        "inputs": [{"id": input_id, "property": "n_clicks", "value": value}],
        "changedPropIds": [f"{input_id}.n_clicks"],
        "state": [],
    }


APPLY = update_body("plan-status.children", "apply-plan")
FORK = update_body("fork-status.children", "fork-day")


def security_log(app, **kw):
    return get_auth(app).audit.query(AuditFilter(category="security", **kw))


@pytest.fixture
def app(tmp_path, users_db):
    app = make_app(tmp_path)
    add_users(app, users_db)
    return app


@pytest.fixture
def client(app):
    return app.server.test_client()


# -- direct requests to the Dash update endpoint -------------------------------------


def test_update_without_session_is_refused_and_logged(app, client):
    response = client.post("/_dash-update-component", json=APPLY)
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden", "reason": "no session"}
    (entry,) = security_log(app, action="callback.refused")
    # Refused before the body is read (issue 12): the target is not known.
    assert (entry.user, entry.target, entry.result, entry.detail) == (
        "",
        "",
        "refused",
        "no session",
    )
    assert get_auth(app).audit.query(AuditFilter(action="signal.set_plan")) == []


@pytest.mark.parametrize(
    ("name", "body"),
    [("eve", APPLY), ("pat", APPLY), ("ada", APPLY), ("eve", FORK), ("olga", FORK)],
)
def test_update_with_wrong_role_is_refused_and_logged(app, client, name, body):
    sign_in(client, name)
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 403
    (entry,) = security_log(app, action="callback.refused")
    assert (entry.user, entry.role, entry.target) == (name, USERS[name], body["output"])
    assert "not in" in entry.detail
    assert get_auth(app).audit.query(AuditFilter(action="signal.set_plan")) == []


@pytest.mark.parametrize(
    ("name", "body", "expected"), [("olga", APPLY, "plan applied (1)"), ("pat", FORK, "forked (1)")]
)
def test_update_with_right_role_runs(app, client, name, body, expected):
    sign_in(client, name)
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)
    assert security_log(app, action="callback.refused") == []


def test_operator_action_is_audited_with_user_and_times(app, client):
    sign_in(client, "olga")
    client.post("/_dash-update-component", json=APPLY)
    (entry,) = get_auth(app).audit.query(AuditFilter(action="signal.set_plan"))
    assert (entry.user, entry.role, entry.sim_time_s, entry.after) == (
        "olga",
        "operator",
        66_000.0,
        {"greens_s": [40, 20]},
    )
    assert abs(entry.wall_time_s - time.time()) < 60


def test_update_must_be_json_for_a_known_callback(app, client):
    sign_in(client, "olga")
    as_form = client.post("/_dash-update-component", data={"output": "plan-status.children"})
    unknown = client.post("/_dash-update-component", json=update_body("nope.children", "x"))
    not_a_dict = client.post("/_dash-update-component", json=["plan-status.children"])
    assert {as_form.status_code, unknown.status_code, not_a_dict.status_code} == {400}
    assert len(security_log(app, action="callback.refused")) == 3


def test_dash_internals_need_a_session(client):
    assert client.get("/_dash-layout").status_code == 403
    assert client.get("/_dash-dependencies").status_code == 403
    sign_in(client, "eve")
    assert client.get("/_dash-layout").status_code == 200


def test_unprotected_callbacks_are_listed_and_run_for_nobody(app, client):
    assert get_auth(app).unprotected_callbacks() == []

    @app.callback(Output("extra", "children"), Input("url", "search"))
    def extra(_search):
        return "ran"

    assert get_auth(app).unprotected_callbacks() == ["extra.children"]
    assert get_auth(app).roles_for_callback("extra.children") == frozenset()
    for name in USERS:
        client = app.server.test_client()
        sign_in(client, name)
        body = {
            "output": "extra.children",
            "outputs": {"id": "extra", "property": "children"},
            "inputs": [{"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["url.search"],
            "state": [],
        }
        assert client.post("/_dash-update-component", json=body).status_code == 403, name


# -- pages --------------------------------------------------------------------------


def test_pages_redirect_without_session(client):
    response = client.get("/replay?day=2")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Freplay%3Fday%3D2"


@pytest.mark.parametrize(
    ("name", "path"),
    [("eve", "/"), ("pat", "/"), ("eve", "/replay"), ("pat", "/admin/audit"), ("olga", "/admin")],
)
def test_pages_a_role_may_not_see_redirect_home(client, name, path):
    sign_in(client, name)
    response = client.get(path)
    assert response.status_code == 302
    assert response.location == HOMES[USERS[name]]


@pytest.mark.parametrize("name", list(USERS))
def test_sign_in_lands_on_the_role_home(client, name):
    response = sign_in(client, name)
    assert response.status_code == 302
    assert response.location == HOMES[USERS[name]]
    assert client.get(HOMES[USERS[name]]).status_code == 200


@pytest.mark.parametrize(
    ("name", "next_path", "expected"),
    [
        ("olga", "/summary", "/summary"),
        ("olga", "/replay", "/replay"),  # operators may look back at a day too
        ("eve", "/replay", "/summary"),  # not open to executives
        ("olga", "//evil.example/", "/"),
        ("olga", "https://evil.example/", "/"),
        ("olga", "/\t/evil.example/", "/"),
        ("olga", "/\\evil.example/", "/"),
        ("olga", "/summary?day=2", "/summary?day=2"),
        ("pat", "/logout", "/replay"),
    ],
)
def test_sign_in_follows_only_safe_next(client, name, next_path, expected):
    assert sign_in(client, name, next_path=next_path).location == expected


def test_router_refuses_a_page_rendered_by_callback(client):
    sign_in(client, "eve")
    body = {
        "output": "..page.children...who.children..",
        "outputs": [{"id": "page", "property": "children"}, {"id": "who", "property": "children"}],
        "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
        "changedPropIds": ["url.pathname"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    page = response.get_json()["response"]["page"]["children"]
    assert (page["type"], page["props"]["href"]) == ("Location", "/summary")


# -- sign-in, sign-out, sessions ---------------------------------------------------------


def test_wrong_password_is_refused_and_logged_without_secrets(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    response = sign_in(client, "olga", "wrong password 123")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.get_data(as_text=True)
    sign_in(client, "Tr0ub4dor&3-typed-as-name", "x")
    sign_in(client, "olga")
    entries = security_log(app)
    assert [(e.action, e.user, e.result) for e in entries] == [
        ("login.ok", "olga", "ok"),
        ("login.failed", "", "failed"),
        ("login.failed", "olga", "failed"),
    ]
    everything = caplog.text + get_auth(app).audit.to_csv()
    for secret in ("wrong password 123", PASSWORD, "Tr0ub4dor", SECRET):
        assert secret not in everything
    assert "venuetwin_session" not in caplog.text


def test_login_form_needs_its_token(app, client):
    response = client.post("/login", data={"username": "olga", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


def test_sign_out_needs_post_with_token(app, client):
    sign_in(client, "olga")
    page = client.get("/logout").get_data(as_text=True)
    assert 'id="who">olga' in page
    assert client.post("/logout").status_code == 403  # no token: refused (CSRF)
    assert client.post("/logout", data={"csrf_token": "jeton-à-moi"}).status_code == 403
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": _token(page)})
    assert (response.status_code, response.location) == (302, "/login")
    assert client.get("/").status_code == 302
    assert [e.action for e in security_log(app)][:3] == [
        "logout",
        "request.refused",
        "request.refused",
    ]


def test_session_expires_after_max_age(app, client):
    sign_in(client, "olga")
    assert client.get("/").status_code == 200
    with sqlite3.connect(get_auth(app).users.path) as conn:  # the session's end is now past
        conn.execute("UPDATE sessions SET expires_s = expires_s - 12 * 3600 - 1")
    assert client.get("/").status_code == 302
    assert client.post("/_dash-update-component", json=APPLY).status_code == 403


def test_session_expires_when_idle(tmp_path, users_db):
    app = make_app(tmp_path, session_idle_s=1)
    add_users(app, users_db)
    client = app.server.test_client()
    sign_in(client, "olga")
    assert client.get("/").status_code == 200
    time.sleep(2.1)  # the cookie's signed timestamp is older than the idle limit
    assert client.get("/").status_code == 302


def test_disabled_user_loses_the_session(app, client):
    sign_in(client, "olga")
    get_auth(app).users.disable("olga")
    assert client.post("/_dash-update-component", json=APPLY).status_code == 403
    assert client.get("/").status_code == 302


def test_session_cookie_flags(client):
    response = sign_in(client, "olga")
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    cookie = cookies["venuetwin_session"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert PASSWORD not in cookie
    device = cookies["venuetwin_device"]  # sent back to the sign-in form only
    assert "HttpOnly" in device and "Path=/login" in device and "SameSite=Strict" in device
    assert "olga" not in device and PASSWORD not in device


# -- rate limiting ---------------------------------------------------------------------------


def test_failed_sign_ins_then_429_with_retry_after(tmp_path, users_db):
    app = make_app(tmp_path, login_max_failures=3, login_window_s=60)
    add_users(app, users_db)
    client = app.server.test_client()
    codes = [sign_in(client, "olga", "wrong password 123").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    limited = sign_in(client, "olga")  # even the right password waits
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins" in limited.get_data(as_text=True)
    assert [e.action for e in security_log(app)][0] == "login.rate_limited"
    # Counted per user name and IP: another address, or another name, is not blocked.
    other_ip = {"REMOTE_ADDR": "10.0.0.7"}
    assert sign_in(app.server.test_client(), "olga", environ=other_ip).status_code == 302
    assert sign_in(app.server.test_client(), "pat").status_code == 302


def test_success_resets_the_failure_count(tmp_path, users_db):
    app = make_app(tmp_path, login_max_failures=2)
    add_users(app, users_db)
    client = app.server.test_client()
    sign_in(client, "olga", "wrong password 123")
    assert sign_in(client, "olga").status_code == 302
    client.post("/logout", data={"csrf_token": _token(client.get("/logout").get_data(True))})
    assert sign_in(client, "olga", "wrong password 123").status_code == 401
    assert sign_in(client, "olga", "wrong password 123").status_code == 401
    assert sign_in(client, "olga").status_code == 429


def test_rate_limit_counts_per_client_not_per_cookie(tmp_path, users_db):
    app = make_app(tmp_path, login_max_failures=2)
    add_users(app, users_db)
    for _ in range(2):
        sign_in(app.server.test_client(), "olga", "wrong password 123")
    # A new client (no cookies, same address) is limited too.
    assert sign_in(app.server.test_client(), "olga").status_code == 429


def test_login_limits_count_failures_per_group():
    import flask

    limits = LoginLimits(
        flask.Flask(__name__), per_name="3 per 60 seconds", per_address="5 per minute"
    )
    group = [(limits.per_name, ("name", "10.0.0.1", "k"))]
    other = [(limits.per_name, ("name", "10.0.0.1", "other"))]
    for _ in range(3):
        assert limits.retry_after_s(group) == 0
        limits.failed(group)
    assert 0 < limits.retry_after_s(group) <= 60
    assert limits.retry_after_s(other) == 0
    limits.reset(group)
    assert limits.retry_after_s(group) == 0
    assert limits.first_alert(("address", "10.0.0.1")) is True
    assert limits.first_alert(("address", "10.0.0.1")) is False


# -- security headers ---------------------------------------------------------------------


def test_security_headers(app, client):
    for response in (client.get("/login"), client.get("/")):
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert "unsafe-eval" not in csp
        script_src = re.search(r"script-src ([^;]+)", csp).group(1).split()
        assert script_src == ["'self'", *app.csp_hashes()]
    sign_in(client, "olga")
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"


def test_csp_options():
    policy = content_security_policy(
        ["'sha256-x'"], allow_eval=True, extra_sources={"img-src": ["https://tiles.example"]}
    )
    assert "script-src 'self' 'sha256-x' 'unsafe-eval'" in policy
    assert "img-src 'self' data: blob: https://tiles.example" in policy


def test_hsts_only_with_secure_cookies(tmp_path):
    app = make_app(tmp_path, cookie_secure=True)
    response = app.server.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert (
        "Strict-Transport-Security"
        not in make_app(tmp_path / "b").server.test_client().get("/login").headers
    )


# -- configuration and the local demo ---------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, r"config\['secret_key'\] is required"),
        ({"secret_key": "short"}, r"config\['secret_key'\] must be at least 32 characters, got 5"),
        ({"secret_key": SECRET, "auth_db": ""}, r"config\['auth_db'\] must name"),
        ({"secret_key": SECRET, "login_max_failures": 0}, r"'login_max_failures'\] must be >= 1"),
        (
            {"secret_key": SECRET, "login_address_limits": "lots"},
            r"config\['login_address_limits'\] must be rate limits such as",
        ),
        (
            {"secret_key": SECRET, "home_pages": {"planner": "/"}},
            r"config\['home_pages'\]\['planner'\] must be a page that role may open, got '/'",
        ),
        ({"secret_key": SECRET, "callback_roles": {"x": ["boss"]}}, r"'roles' must be one of"),
    ],
)
def test_bad_config_refuses_to_start(tmp_path, config, message):
    app = dash.Dash(__name__)
    with pytest.raises(ValueError, match=message):
        install_auth(app, {"auth_db": str(tmp_path / "a.sqlite"), **config})


def _demo_app(tmp_path, host):
    app = dash.Dash(__name__)
    app.layout = html.Div("twin")
    install_auth(app, {"auth_db": str(tmp_path / "a.sqlite"), "demo_login": True, "host": host})
    return app


def test_demo_sign_in_on_loopback_without_a_secret(tmp_path):
    app = _demo_app(tmp_path, "127.0.0.1")
    assert len(app.server.secret_key) == 64  # random, per process
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "LOCAL DEMO ONLY" in page and 'value="executive"' in page
    response = client.post("/login/demo", data={"role": "executive", "csrf_token": _token(page)})
    assert (response.status_code, response.location) == (302, "/summary")
    assert client.get("/summary").status_code == 200
    assert [e.action for e in security_log(app)] == ["login.demo"]


def test_demo_sign_in_never_offered_on_other_addresses(tmp_path):
    with (
        pytest.warns(UserWarning, match="demo_login is off: host '0.0.0.0'"),
        pytest.raises(ValueError, match=r"config\['secret_key'\] is required"),
    ):
        _demo_app(tmp_path, "0.0.0.0")
    app = dash.Dash(__name__)
    app.layout = html.Div("twin")
    with pytest.warns(UserWarning, match="demo_login is off"):
        install_auth(
            app,
            {
                "auth_db": str(tmp_path / "b.sqlite"),
                "demo_login": True,
                "host": "0.0.0.0",
                "secret_key": SECRET,
            },
        )
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "DEMO" not in page
    data = {"role": "operator", "csrf_token": _token(page)}
    assert client.post("/login/demo", data=data).status_code == 404


def test_demo_not_offered_through_a_proxy_or_remote(tmp_path):
    app = _demo_app(tmp_path, "localhost")
    client = app.server.test_client()
    proxied = {"headers": {"X-Forwarded-For": "203.0.113.9"}}
    assert "DEMO" not in client.get("/login", **proxied).get_data(as_text=True)
    remote = {"REMOTE_ADDR": "192.168.1.20"}
    page = client.get("/login", environ_base=remote).get_data(as_text=True)
    assert "DEMO" not in page
    response = client.post(
        "/login/demo", environ_base=remote, data={"role": "admin", "csrf_token": _token(page)}
    )
    assert response.status_code == 404


# -- protect() ----------------------------------------------------------------------------


def test_protect_matches_ids_keys_functions_and_intersects(tmp_path):
    app = dash.Dash(__name__)
    auth = install_auth(
        app,
        {
            "auth_db": str(tmp_path / "a.sqlite"),
            "secret_key": SECRET,
            "callback_roles": {"b.value": ["operator", "planner"]},
        },
    )

    @app.callback(Output("a", "children"), Output("b", "value"), Input("x", "n_clicks"))
    def both(_):
        return 1, 2

    @app.callback(Output({"type": "lane", "gate": dash.ALL}, "value"), Input("y", "n_clicks"))
    def lanes(_):
        return []

    @app.callback(Input("z", "n_clicks"))
    def no_output(_):
        return None

    key_both = "..a.children...b.value.."
    key_lanes = '{"gate":["ALL"],"type":"lane"}.value'
    (key_none,) = [k for k in app.callback_map if k not in (key_both, key_lanes)]
    assert auth.roles_for_callback(key_both) == {"operator", "planner"}
    protect(app, "a", roles=["planner", "admin"])
    assert auth.roles_for_callback(key_both) == {"planner"}
    assert auth.roles_for_callback(key_lanes) == set()  # deny by default
    protect(app, {"type": "lane", "gate": dash.ALL}, roles="operator")
    assert auth.roles_for_callback(key_lanes) == {"operator"}
    protect(app, no_output, roles="admin")
    assert auth.roles_for_callback(key_none) == {"admin"}
    assert auth.unprotected_callbacks() == []


@pytest.mark.parametrize(
    ("target", "roles", "message"),
    [
        (
            "a",
            ["boss"],
            r"^'roles' must be one of operator, planner, executive, admin, feed, got 'boss'$",
        ),
        (lambda: None, "admin", r"^'target' must be a callback registered on this app"),
        ("", "admin", r"^'target' must be a component id"),
    ],
)
def test_protect_bad_input(target, roles, message):
    with pytest.raises(ValueError, match=message):
        protect(dash.Dash(__name__), target, roles=roles)


def test_install_refuses_mcp(tmp_path):
    app = dash.Dash(__name__, enable_mcp=True)
    with pytest.raises(ValueError, match="bypass the role guard"):
        install_auth(app, {"auth_db": str(tmp_path / "a.sqlite"), "secret_key": SECRET})


# -- audit page and CSV export ---------------------------------------------------------------


def _audit_body(**values):
    keys = (
        AUDIT_IDS.USER,
        AUDIT_IDS.ROLE,
        AUDIT_IDS.ACTION,
        AUDIT_IDS.CATEGORY,
        AUDIT_IDS.SINCE,
        AUDIT_IDS.UNTIL,
    )
    names = ("user", "role", "action", "category", "since", "until")
    inputs = [
        {"id": k, "property": "value", "value": values.get(n)}
        for k, n in zip(keys, names, strict=True)
    ]
    inputs.append({"id": AUDIT_IDS.REFRESH, "property": "n_clicks", "value": 0})
    outputs = [
        (AUDIT_IDS.TABLE, "children"),
        (AUDIT_IDS.COUNT, "children"),
        (AUDIT_IDS.EXPORT, "href"),
        (AUDIT_IDS.ERROR, "children"),
    ]
    return {
        "output": "..{}..".format("...".join(f"{i}.{p}" for i, p in outputs)),
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": inputs,
        "changedPropIds": [],
        "state": [],
    }


def test_audit_table_filters_for_admin_only(app, client):
    sign_in(client, "eve")
    client.post("/_dash-update-component", json=APPLY)  # refused, logged
    assert client.post("/_dash-update-component", json=_audit_body()).status_code == 403
    client = app.server.test_client()
    sign_in(client, "ada")
    response = client.post(
        "/_dash-update-component", json=_audit_body(category="security", user="eve")
    )
    assert response.status_code == 200
    data = response.get_json()["response"]
    _, tbody = data[AUDIT_IDS.TABLE]["children"]["props"]["children"]
    actions = [
        cell["props"]["children"]
        for row in tbody["props"]["children"]
        for cell in row["props"]["children"]
        if cell["props"]["className"] == "col-action"
    ]
    assert actions == ["callback.refused", "callback.refused", "login.ok"]
    assert data[AUDIT_IDS.EXPORT]["href"] == "/admin/audit.csv?user=eve&category=security"
    bad = client.post("/_dash-update-component", json=_audit_body(since="yesterday"))
    assert (
        "'since' must be a date and time" in bad.get_json()["response"][AUDIT_IDS.ERROR]["children"]
    )


def test_audit_csv_export_admin_only(app, client):
    sign_in(client, "pat")
    assert client.get("/admin/audit.csv").location == "/replay"
    assert client.post("/_dash-update-component", json=APPLY).status_code == 403
    client = app.server.test_client()
    assert client.get("/admin/audit.csv").status_code == 302  # to the sign-in page
    sign_in(client, "ada")
    response = client.get("/admin/audit.csv?category=security&user=pat")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("wall_time_utc,id,")
    assert len(lines) == 3 and all(",pat,planner," in line for line in lines[1:])
    assert client.get("/admin/audit.csv?since=soon").status_code == 400
    assert get_auth(app).audit.query(AuditFilter(action="audit.export"))[0].user == "ada"


def test_audit_csv_route_checks_the_role_itself(tmp_path, users_db):
    open_pages = {"/": ALL_ROLES}
    app = make_app(tmp_path, page_roles=open_pages, home_pages={r: "/" for r in ALL_ROLES})
    add_users(app, users_db)
    client = app.server.test_client()
    sign_in(client, "olga")
    assert client.get("/admin/audit.csv").status_code == 403


# -- in the browser: one signed-in role at a time ----------------------------------------------
# `browser` is tests/app/conftest.py's: Debian's /usr/bin/chromium, headless, through Playwright.


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, users_db):
    app = make_app(tmp_path_factory.mktemp("live"))
    add_users(app, users_db)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page_for(live_server, browser):
    """Open a fresh browser context, sign in through the page as `name`."""
    contexts = []

    def open_as(name):
        _, base = live_server
        context = browser.new_context(base_url=base)
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.goto("/")
        page.wait_for_url("**/login?next=*")
        page.fill("#username", name)
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_selector(f"#who:has-text('{name}')")
        return page

    yield open_as
    for context in contexts:
        context.close()


def _post_update(page, body):
    return page.evaluate(
        """async (body) => (await fetch('/_dash-update-component', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})).status""",
        body,
    )


def _unexpected_problems(page):
    """Console errors other than the 403s of refused requests (CSP errors would be here)."""
    return [m for m in page.problems if "status of 403" not in m]


def _path(page):
    return "/" + page.url.split("/", 3)[3]


def test_browser_operator(page_for):
    page = page_for("olga")
    assert _path(page) == "/"
    page.click("#apply-plan")
    page.wait_for_selector("#plan-status:has-text('plan applied (1)')")
    page.goto("/admin")  # not for operators: back home
    page.wait_for_selector("#apply-plan")
    assert _path(page) == "/"
    assert _post_update(page, FORK) == 403
    page.goto("/summary")
    page.wait_for_selector("#summary-graph .main-svg")
    assert _unexpected_problems(page) == []  # the CSP let Dash and Plotly run


def test_browser_planner(page_for):
    page = page_for("pat")
    assert _path(page) == "/replay"
    page.click("#fork-day")
    page.wait_for_selector("#fork-status:has-text('forked (1)')")
    page.goto("/")
    page.wait_for_selector("#fork-day")
    assert _path(page) == "/replay"
    assert page.locator("#apply-plan").count() == 0
    assert _post_update(page, APPLY) == 403
    assert _unexpected_problems(page) == []


def test_browser_executive(live_server, page_for):
    app, _ = live_server
    page = page_for("eve")
    assert _path(page) == "/summary"
    page.wait_for_selector("#summary-graph .main-svg")
    for path in ("/", "/admin/audit"):  # the other pages: test_pages_a_role_may_not_see...
        page.goto(path)
        page.wait_for_selector("#summary-graph")
        assert _path(page) == "/summary"
    assert page.locator("#apply-plan, #fork-day, #audit-table").count() == 0
    assert _post_update(page, APPLY) == 403
    assert _post_update(page, FORK) == 403
    refused = security_log(app, user="eve", action="callback.refused")
    assert {e.target for e in refused} >= {"plan-status.children", "fork-status.children"}
    assert _unexpected_problems(page) == []


def test_browser_admin(page_for):
    page = page_for("ada")
    assert _path(page) == "/admin/audit"
    page.wait_for_selector("#audit-table td")
    page.click("#audit-filter-category label:has-text('security')")
    # The link and the table come from the same callback response.
    page.wait_for_selector("#audit-export[href='/admin/audit.csv?category=security']")
    actions = page.locator("#audit-table td.col-action").all_inner_texts()
    assert actions and set(actions) <= {
        "login.ok",
        "login.failed",
        "callback.refused",
        "logout",
        "request.refused",
    }
    href = page.get_attribute("#audit-export", "href")
    assert href == "/admin/audit.csv?category=security"
    csv_text = page.evaluate("async (u) => (await fetch(u)).text()", href)
    assert csv_text.startswith("wall_time_utc,")
    assert _post_update(page, APPLY) == 403  # admins do not run live control
    page.goto("/logout")
    page.click("#signout")
    page.wait_for_url("**/login")
    page.goto("/admin/audit")
    page.wait_for_url("**/login?next=*")


# -- the real control room (app.create_app) ------------------------------------------------

# Callbacks of the control room that change live state, and the roles callbacks/live.py and
# callbacks/alerts.py protect them for: the shared clock is the admin's (issue 13), alerts the
# operators'.
LIVE_CONTROL = {
    "toggle_pause": {"admin"},
    "ask_speed": {"admin"},
    "set_speed": {"admin"},
    "acknowledge": {"operator"},
}


@pytest.fixture(scope="module")
def control_room(tmp_path_factory, users_db):
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
            "auth_db": str(tmp_path_factory.mktemp("room") / "auth.sqlite"),
            "secret_key": SECRET,
        }
    )
    add_users(app, users_db)
    keys = {}
    for key, callback in app.callback_map.items():
        function = getattr(callback.get("callback"), "__wrapped__", None)
        if getattr(function, "__name__", "") in LIVE_CONTROL:
            keys[function.__name__] = key
    assert sorted(keys) == sorted(LIVE_CONTROL)
    for name, key in keys.items():
        assert get_auth(app).roles_for_callback(key) == LIVE_CONTROL[name], name
    return app, keys


def _pause_body(key):
    """The confirmed Pause dialog, as the browser posts it."""
    return {
        "output": key,
        "outputs": [
            {"id": "wall-pause", "property": "children"},
            {"id": "wall-clock-msg", "property": "children"},
        ],
        "inputs": [{"id": "wall-pause-confirm", "property": "submit_n_clicks", "value": 1}],
        "changedPropIds": ["wall-pause-confirm.submit_n_clicks"],
        "state": [],
    }


def test_control_room_needs_sign_in(control_room):
    app, _ = control_room
    client = app.server.test_client()
    assert client.get("/").location == "/login?next=%2F"
    assert client.get("/_dash-layout").status_code == 403
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self' 'sha256-" in headers["Content-Security-Policy"]


@pytest.mark.parametrize("name", [None, "eve", "pat", "olga"])
def test_control_room_clock_refused_for_non_admins(control_room, name):
    app, keys = control_room
    live = app.server.extensions["venuetwin"].live
    client = app.server.test_client()
    if name:
        sign_in(client, name)
    paused = live.paused
    response = client.post("/_dash-update-component", json=_pause_body(keys["toggle_pause"]))
    assert response.status_code == 403
    assert live.paused == paused
    entry = security_log(app, action="callback.refused")[0]
    # Without a session the body is not read, so the target is not known.
    assert (entry.user, entry.target) == (name or "", keys["toggle_pause"] if name else "")


def test_control_room_clock_for_admins(control_room):
    app, keys = control_room
    live = app.server.extensions["venuetwin"].live
    client = app.server.test_client()
    sign_in(client, "ada")
    paused = live.paused
    response = client.post("/_dash-update-component", json=_pause_body(keys["toggle_pause"]))
    assert response.status_code == 200
    assert live.paused is not paused
    # The live tick (read-only) is open to every person's role (the map), never to feeds;
    # every callback of the control room has its entry in the permission table.
    assert get_auth(app).unprotected_callbacks() == []
    [tick] = [k for k in app.callback_map if "wall-map-update.data" in k]
    assert get_auth(app).roles_for_callback(tick) == set(HUMAN_ROLES)
    # Clientside callbacks run in the browser; posting one to the server is refused.
    clientside = next(k for k, cb in app.callback_map.items() if "callback" not in cb)
    body = {**_pause_body(clientside), "output": clientside}
    assert client.post("/_dash-update-component", json=body).status_code == 400


def test_browser_control_room_under_the_csp(control_room, browser):
    """An operator signs in to the real control room; deck.gl and Dash run under the CSP."""
    app, _ = control_room
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(base_url=f"http://127.0.0.1:{server.server_port}")
    try:
        page = context.new_page()
        problems = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto("/")
        page.fill("#username", "olga")
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_selector("[data-deck-ready='1']", timeout=180_000)
        assert _path(page) == "/"
        assert problems == []
    finally:
        context.close()
        server.shutdown()
        thread.join()
