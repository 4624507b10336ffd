"""Sign-in, sessions and role enforcement on the server, for one Dash app.

``install_auth(app, config)`` wires everything onto ``app.server`` (Flask):

- ``/login`` (GET form, POST) with rate limits on failed sign-ins (``429`` with
  ``Retry-After``, see "Rate limits" below), ``/logout`` (GET asks, POST signs out),
  and on 127.0.0.1/localhost only, a clearly marked local demo sign-in (``/login/demo``);
- server-side sessions: a random session id, stored hashed in the auth database
  (``auth.users.UserStore``), travels in Flask's signed cookie and is checked on every
  request. It is rotated at sign-in and revoked at sign-out, when the user is
  disabled, and by ``python -m twin users revoke-sessions NAME``, so a copied cookie
  stops working at once. Idle timeout (server last-use time and cookie age) and an
  absolute one (sign-in time); a changed role also ends the session;
- API bearer tokens: a request to a path under ``/api/`` with ``Authorization: Bearer
  <token>`` (``python -m twin users token NAME``) acts as the token's user, within the
  token's scope (``read``: GET only, else ``403``) and until it expires (set at creation,
  listed by ``users tokens NAME``, extended by ``users renew-token``); without a valid
  token or session it gets a JSON ``401`` (never a redirect);
- one ``before_request`` guard that decides from the resolved Flask endpoint and
  denies by default: without a session only the sign-in routes, the static asset
  endpoints (at their canonical path) and the deck.gl bundle (endpoint ``deck_bundle``)
  are served; pages redirect to the sign-in page, everything else gets ``403``;
  pages a role may not see redirect to its home page; a POST to
  ``/_dash-update-component`` runs only if the callback's roles include the user's:
  the roles of its entry in the one permission table
  (:data:`twin.service.permissions.CALLBACK_PERMISSIONS`) and of any :func:`protect`
  entry; a callback with neither runs for nobody. Its body is read only after the
  session is checked; pages open by ``PAGE_PERMISSIONS`` of the same table; a feed
  account signs in by token only and reaches only ``/api/v1/feeds``;
  every refusal is written to the security log;
- security headers on every response (see :func:`content_security_policy`).

Rate limits (Flask-Limiter's storage and moving-window strategy: in memory in one
process, in Redis when ``rate_limit_storage_uri`` or ``store="redis"`` with
``redis_url`` is configured, so every worker shares them): failed sign-ins per user
name and address (``login_max_failures`` per ``login_window_s``), and a budget of
failed credentials per address across all names, API tokens included
(``login_address_limits``, default 10 a minute and 30 in 15 minutes, so the wait grows
from up to a minute to up to 15 minutes, never longer). The first time an address
exhausts its budget, an ``alert.password_spraying`` entry goes to the security log
for admins. A browser that has signed in as a user before carries a signed device
cookie for that name; from it, that user is limited per device only, so an attacker
sharing the operator's address cannot lock the operator out. Guesses at one account spread
over many addresses meet a budget per account, whatever the address (``login_account_limits``,
default 10 in 5 minutes and 30 an hour); its first exhaustion writes an
``alert.account_guessing`` entry for admins. The real user's device cookie bypasses it too.

Callbacks read the signed-in user with :func:`current_user`. Paths assume the app
is served at ``/`` (Dash's default ``routes_pathname_prefix``).

Cross-site request forgery: the session cookie is ``SameSite=Lax``; Dash updates
must be ``application/json`` (a cross-site page cannot send that without a CORS
preflight, which this app never grants); other state-changing requests with the
session cookie must carry the session's CSRF token (form field ``csrf_token`` or
header ``X-CSRFToken``). Bearer-token requests carry no cookie and need none.

Request body limits and bounded JSON parsing live in :mod:`callbacks.limits`.
"""

from __future__ import annotations

import logging
import math
import os
import posixpath
import re
import secrets
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from hashlib import sha256
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import dash
from flask import Response, g, has_request_context, jsonify, redirect, request, session
from flask_limiter import Limiter
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many

from auth.users import MAX_PASSWORD_CHARS, Role, UserError, UserStore
from layouts.signin import signin_page, signout_page
from twin.service import permissions
from twin.service.audit import AuditLog

if TYPE_CHECKING:
    import flask

__all__ = [
    "ALL_ROLES",
    "DEFAULT_HOME_PAGES",
    "DEFAULT_PAGE_ROLES",
    "Auth",
    "LoginLimits",
    "SignedInUser",
    "content_security_policy",
    "current_user",
    "get_auth",
    "install_auth",
    "protect",
]

logger = logging.getLogger("venuetwin.security")

ALL_ROLES: tuple[str, ...] = tuple(r.value for r in Role)
# Page path prefix -> roles that may open it; the longest matching prefix wins. From the one
# permission table (twin/service/permissions.py).
DEFAULT_PAGE_ROLES: dict[str, tuple[str, ...]] = {
    path: tuple(r for r in ALL_ROLES if r in roles)
    for path, roles in permissions.PAGE_PERMISSIONS.items()
}
DEFAULT_HOME_PAGES: dict[str, str] = {
    "operator": "/",
    "planner": "/replay",
    "executive": "/summary",
    "admin": "/admin/audit",
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_SECRET_KEY_CHARS = 32
# Endpoints served without a session (static ones only at their canonical path).
_PUBLIC_ENDPOINTS = frozenset({"venuetwin_login", "venuetwin_demo_login"})
_STATIC_ENDPOINTS = frozenset({"static", "_dash_assets.static", "deck_bundle"})
_API_PREFIX = "/api/"
DEFAULT_ADDRESS_LIMITS = "10 per minute; 30 per 15 minutes"
DEFAULT_ACCOUNT_LIMITS = "10 per 5 minutes; 30 per hour"
_DEVICE_COOKIE = "venuetwin_device"
_DEVICE_MAX_AGE_S = 90 * 86400
_DEVICE_MAX_NAMES = 8
_FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTH_KEY = "venuetwin.auth"
_POLICY_KEY = "venuetwin.callback_roles"


@dataclass(frozen=True)
class SignedInUser:
    """The user of the current request."""

    name: str
    role: str
    demo: bool = False
    token: bool = False  # signed in by an API bearer token (no cookie, no CSRF)
    scope: str = "act"  # a token's scope: "read" (GET only) or "act"


@dataclass(frozen=True)
class AuthSettings:
    """`install_auth` configuration, validated. See :func:`install_auth` for keys."""

    auth_db: str | os.PathLike
    secret_key: str | None = None
    host: str = "127.0.0.1"
    demo_login: bool = False
    session_max_age_s: float = 12 * 3600
    session_idle_s: float = 3600
    cookie_secure: bool = False
    login_max_failures: int = 5
    login_window_s: float = 300
    login_address_limits: str = DEFAULT_ADDRESS_LIMITS
    login_account_limits: str = DEFAULT_ACCOUNT_LIMITS
    rate_limit_storage_uri: str = "memory://"
    callback_roles: Mapping[str, Iterable[str]] = field(default_factory=dict)
    callback_default_roles: Iterable[str] = ()
    page_roles: Mapping[str, Iterable[str]] = field(default_factory=lambda: DEFAULT_PAGE_ROLES)
    home_pages: Mapping[str, str] = field(default_factory=lambda: DEFAULT_HOME_PAGES)
    csp_allow_eval: bool = False
    csp_extra_sources: Mapping[str, Iterable[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.auth_db:
            raise ValueError("config['auth_db'] must name the SQLite file for users and audit")
        if self.secret_key is not None and len(self.secret_key) < MIN_SECRET_KEY_CHARS:
            raise ValueError(
                f"config['secret_key'] must be at least {MIN_SECRET_KEY_CHARS} characters,"
                f" got {len(self.secret_key)}"
            )
        if self.secret_key is None and not self.demo_enabled:
            raise ValueError(
                "config['secret_key'] is required (at least 32 random characters, the same"
                " on every worker); only the local demo may run without one"
            )
        for name in ("session_max_age_s", "session_idle_s", "login_window_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"config[{name!r}] must be > 0, got {getattr(self, name)}")
        if self.login_max_failures < 1:
            raise ValueError(
                f"config['login_max_failures'] must be >= 1, got {self.login_max_failures}"
            )
        for name in ("login_address_limits", "login_account_limits"):
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ValueError(
                    f"config[{name!r}] must be rate limits such as"
                    f" '10 per minute; 30 per 15 minutes', got {getattr(self, name)!r}"
                ) from None
        for role, home in self.home_pages.items():
            if role not in _match_roles(self.page_roles, home):
                raise ValueError(
                    f"config['home_pages'][{role!r}] must be a page that role may open,"
                    f" got {home!r}"
                )

    @property
    def demo_enabled(self) -> bool:
        """The demo sign-in is on only if asked for and bound to a loopback address."""
        return bool(self.demo_login) and self.host in LOOPBACK_HOSTS


class LoginLimits:
    """Budgets of failed credentials, kept in Flask-Limiter's storage.

    Flask-Limiter is set up on `server` with the moving-window strategy and the
    storage at `storage_uri` (``memory://`` in one process, ``redis://...`` to share
    the counts between workers and hosts; increments there are atomic). Only
    failures are counted (:meth:`failed`); :meth:`retry_after_s` says how long a
    group of keys must wait. A key is a tuple of strings; user names are hashed
    before they reach the storage (a mistyped name is often a password).
    """

    def __init__(
        self,
        server: flask.Flask,
        *,
        per_name: str,
        per_address: str,
        per_account: str = DEFAULT_ACCOUNT_LIMITS,
        storage_uri: str = "memory://",
    ) -> None:
        self.extension = Limiter(
            key_func=lambda: request.remote_addr or "",
            app=server,
            storage_uri=storage_uri,
            strategy="moving-window",
        )
        self.per_name = parse_many(per_name)
        self.per_address = parse_many(per_address)
        self.per_account = parse_many(per_account)
        longest_s = max(item.get_expiry() for item in self.per_address)
        self._alert = parse_many(f"1 per {longest_s} seconds")

    @property
    def _strategy(self) -> Any:
        return self.extension.limiter

    def retry_after_s(self, groups: Iterable[tuple[list[RateLimitItem], tuple[str, ...]]]) -> int:
        """Seconds until every (limits, key) group has room for one more failure; 0 if now."""
        wait_s = 0.0
        for items, key in groups:
            for item in items:
                stats = self._strategy.get_window_stats(item, *key)
                if stats.remaining <= 0:
                    wait_s = max(wait_s, stats.reset_time - time.time(), 1.0)
        return math.ceil(wait_s)

    def failed(self, groups: Iterable[tuple[list[RateLimitItem], tuple[str, ...]]]) -> None:
        """Count one failure against each group."""
        for items, key in groups:
            for item in items:
                self._strategy.hit(item, *key)

    def reset(self, groups: Iterable[tuple[list[RateLimitItem], tuple[str, ...]]]) -> None:
        """Forget the failures of these groups (a right password for that name)."""
        for items, key in groups:
            for item in items:
                self._strategy.clear(item, *key)

    def first_alert(self, key: tuple[str, ...]) -> bool:
        """True once per longest address window for `key`: when to alert the admins."""
        return self._strategy.hit(self._alert[0], "alert", *key)


def _hashed(name: str) -> str:
    return sha256(name.casefold().encode()).hexdigest()[:32]


def _canonical(path: str) -> bool:
    """Whether `path` is a plain absolute path: no empty, ``.`` or ``..`` segment."""
    if path == "/":
        return True
    return (
        path.startswith("/")
        and "//" not in path
        and "\\" not in path
        and posixpath.normpath(path) == path.rstrip("/")
    )


def _match_roles(page_roles: Mapping[str, Iterable[str]], path: str) -> frozenset[str]:
    """Roles of the longest page prefix matching `path` by whole segments."""
    best = None
    for prefix in page_roles:
        base = prefix.rstrip("/")
        if (prefix == "/" or path == base or path.startswith(base + "/")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return frozenset(page_roles[best]) if best is not None else frozenset()


def _roles(value: Iterable[str] | str) -> frozenset[str]:
    values = [value] if isinstance(value, (str, Role)) else list(value)
    try:
        return frozenset(Role.parse(v).value for v in values)
    except UserError as err:
        raise ValueError(str(err).replace("'role'", "'roles'")) from None


def _output_names(callback_key: str) -> set[str]:
    """``id.prop`` and ``id`` of each output named in a Dash callback key."""
    parts = callback_key[2:-2].split("...") if callback_key.startswith("..") else [callback_key]
    names = set()
    for part in parts:
        if "." not in part:  # no-output callbacks are keyed by a hash
            continue
        id_str, prop = part.rsplit(".", 1)
        id_str = id_str.replace("\\.", ".")
        names |= {f"{id_str}.{prop.split('@', 1)[0]}", id_str}
    return names


def _policy(app: dash.Dash) -> dict[str, frozenset[str]]:
    return app.server.extensions.setdefault(_POLICY_KEY, {})


def protect(app: dash.Dash, target: Any, *, roles: Iterable[str] | str) -> None:
    """Allow only `roles` to run the callbacks that `target` names.

    `target` is a callback's output component id (string or pattern-matching
    dict), an ``"id.prop"`` output, a full callback key, or the callback
    function itself (needed for callbacks with no output). When several
    entries match one callback, the user's role must be in all of them.
    May be called before or after :func:`install_auth`.
    """
    allowed = _roles(roles)
    if callable(target):
        keys = [
            k
            for k, cb in app.callback_map.items()
            if getattr(cb.get("callback"), "__wrapped__", None) is target
        ]
        if not keys:
            raise ValueError(f"'target' must be a callback registered on this app, got {target!r}")
    elif isinstance(target, dict):
        keys = [dash.Output(target, "children").component_id_str()]
    elif isinstance(target, str) and target:
        keys = [target]
    else:
        raise ValueError(
            f"'target' must be a component id, callback key or function, got {target!r}"
        )
    for key in keys:
        _policy(app)[key] = allowed


def callback_name(app: dash.Dash, callback_key: str) -> str:
    """``module.function`` of the server callback with this key ('' if none): its name in
    the permission table."""
    fn = app.callback_map.get(callback_key, {}).get("callback")
    fn = getattr(fn, "__wrapped__", fn)
    return f"{fn.__module__}.{fn.__name__}" if fn is not None else ""


def current_user() -> SignedInUser | None:
    """The user of the current request (by session cookie, or by API bearer token under
    ``/api/``: then ``token`` is True), or None (also outside requests)."""
    return g.get("venuetwin_user") if has_request_context() else None


def get_auth(app: dash.Dash) -> Auth:
    """The :class:`Auth` that :func:`install_auth` put on `app`."""
    try:
        return app.server.extensions[_AUTH_KEY]
    except KeyError:
        raise RuntimeError("install_auth(app, config) has not been called on this app") from None


def content_security_policy(
    script_hashes: Iterable[str],
    *,
    allow_eval: bool = False,
    extra_sources: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The Content-Security-Policy for pages of this app.

    Checked in headless Chromium with Dash 4.4, Plotly 7.1 (scatter, bar) and the
    deck.gl 9.3 bundle from pydeck, all served by the app: scripts need only
    ``'self'`` plus the hashes of Dash's inline scripts (``app.csp_hashes()``: the
    renderer start-up line and any clientside callbacks), no ``'unsafe-eval'``.
    Styles need ``'unsafe-inline'``: the Dash renderer, dcc, DataTable and
    plotly.js all insert ``<style>`` elements. Plotly's WebGL traces (``scattergl``
    and the like, through regl) do need ``'unsafe-eval'`` (`allow_eval`). deck.gl
    probes WebAssembly once at load (``wasm-eval`` report, caught, harmless); add
    ``'wasm-unsafe-eval'`` only for layers that decode meshopt/draco models.
    """
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes, *(["'unsafe-eval'"] if allow_eval else [])],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
    for name, sources in (extra_sources or {}).items():
        directives.setdefault(name, []).extend(sources)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def install_auth(app: dash.Dash, config: Mapping[str, Any]) -> Auth:
    """Put sign-in, sessions, role checks and security headers on `app`.

    Config keys (all but ``auth_db`` optional):

    ``auth_db`` SQLite file with users and the audit log;
    ``secret_key`` signs session cookies, >= 32 chars, same on all workers
    (required unless the demo sign-in is on, which then uses a random per-process key);
    ``host`` the address the server binds (default ``127.0.0.1``);
    ``demo_login`` offer password-less demo sign-in per role; honoured only when
    ``host`` is 127.0.0.1/localhost/::1 and the request comes from loopback without
    proxy headers; ``session_max_age_s`` (12 h) and ``session_idle_s`` (1 h);
    ``cookie_secure`` send cookies over HTTPS only and send HSTS;
    ``login_max_failures`` (5) per ``login_window_s`` (300) per user name and IP;
    ``login_address_limits`` failed sign-ins and API tokens per address across names
    (default :data:`DEFAULT_ADDRESS_LIMITS`, Flask-Limiter notation);
    ``login_account_limits`` failed sign-ins per user name across all addresses, except from
    a browser that signed in as that user before (default :data:`DEFAULT_ACCOUNT_LIMITS`);
    ``rate_limit_storage_uri`` where those counts live (default ``memory://``; with
    ``store="redis"`` and a ``redis_url`` the default is that Redis, shared by workers);
    ``callback_roles`` ``{output id, "id.prop" or callback key: roles}``, as :func:`protect`;
    ``callback_default_roles`` roles for callbacks with no entry, neither in the permission
    table (:data:`twin.service.permissions.CALLBACK_PERMISSIONS`) nor by :func:`protect`
    (default: none, deny);
    ``page_roles`` ``{path prefix: roles}`` and ``home_pages`` ``{role: path}``
    (defaults :data:`DEFAULT_PAGE_ROLES`, :data:`DEFAULT_HOME_PAGES`);
    ``csp_allow_eval`` and ``csp_extra_sources`` see :func:`content_security_policy`.
    """
    known = AuthSettings.__dataclass_fields__.keys()  # other app settings are ignored
    if (
        not config.get("rate_limit_storage_uri")
        and config.get("store") == "redis"
        and config.get("redis_url")
    ):
        config = {**config, "rate_limit_storage_uri": config["redis_url"]}
    host = config.get("host", AuthSettings.host)
    if config.get("demo_login") and host not in LOOPBACK_HOSTS:
        warnings.warn(f"demo_login is off: host {host!r} is not a loopback address", stacklevel=2)
    settings = AuthSettings(**{k: v for k, v in config.items() if k in known})
    if getattr(app, "_enable_mcp", False) or getattr(app.backend, "websocket_capability", False):
        raise ValueError(
            "install_auth supports the Flask backend without MCP or websocket"
            " callbacks: those paths would bypass the role guard"
        )
    auth = Auth(app, settings)
    app.server.extensions[_AUTH_KEY] = auth
    return auth


class Auth:
    """Sign-in and role enforcement installed on one app; see :func:`install_auth`."""

    def __init__(self, app: dash.Dash, settings: AuthSettings) -> None:
        self.app, self.settings = app, settings
        self.users = UserStore(settings.auth_db)
        self.audit = AuditLog(settings.auth_db)
        self.limits = LoginLimits(
            app.server,
            storage_uri=settings.rate_limit_storage_uri,
            per_name=f"{settings.login_max_failures} per {math.ceil(settings.login_window_s)}"
            " seconds",
            per_address=settings.login_address_limits,
            per_account=settings.login_account_limits,
        )
        self._page_roles = {p: _roles(r) for p, r in settings.page_roles.items()}
        self._default_roles = _roles(settings.callback_default_roles)
        for target, roles in settings.callback_roles.items():
            protect(app, target, roles=roles)
        prefix = app.config.routes_pathname_prefix
        self._update_endpoint = prefix + "_dash-update-component"
        self._internal_prefix = prefix + "_"
        self._static_endpoints = _STATIC_ENDPOINTS | {prefix + "_favicon.ico"}
        self._configure_server()

    # -- policy ----------------------------------------------------------------
    def protect(self, target: Any, *, roles: Iterable[str] | str) -> None:
        """Same as :func:`protect` on this app."""
        protect(self.app, target, roles=roles)

    def roles_for_callback(self, callback_key: str) -> frozenset[str]:
        """Roles allowed to run the callback with this key (``body["output"]``): those of its
        entry in the permission table, and of every :func:`protect` entry naming it; a
        callback with neither runs for ``callback_default_roles`` (default: nobody)."""
        policy = _policy(self.app)
        matches = [policy[n] for n in {callback_key} | _output_names(callback_key) if n in policy]
        right = permissions.CALLBACK_PERMISSIONS.get(callback_name(self.app, callback_key))
        if right is not None:
            matches.append(permissions.roles_for(right) & frozenset(ALL_ROLES))
        return frozenset.intersection(*matches) if matches else self._default_roles

    def unprotected_callbacks(self) -> list[str]:
        """Keys of server callbacks that fall back to ``callback_default_roles``."""
        policy = _policy(self.app)
        return sorted(
            k
            for k, cb in self.app.callback_map.items()
            if "callback" in cb
            and not ({k} | _output_names(k)) & policy.keys()
            and callback_name(self.app, k) not in permissions.CALLBACK_PERMISSIONS
        )

    def page_allowed(self, path: str, role: str | None = None) -> bool:
        """Whether `role` (default: the current user's) may open the page at `path`."""
        role = role or getattr(current_user(), "role", None)
        return role is not None and role in _match_roles(self._page_roles, urlsplit(path).path)

    def home_page(self, role: str | None = None) -> str:
        """The page `role` (default: the current user's) lands on after sign-in."""
        role = role or getattr(current_user(), "role", None)
        return self.settings.home_pages.get(role, "/login")

    def csrf_token(self) -> str:
        """The session's CSRF token, for forms that POST to this server."""
        return session.setdefault("csrf", secrets.token_urlsafe(32))

    @property
    def demo_enabled(self) -> bool:
        """Whether the local demo sign-in is offered."""
        return self.settings.demo_enabled

    # -- wiring ----------------------------------------------------------------
    def _configure_server(self) -> None:
        server = self.app.server
        server.secret_key = self.settings.secret_key or secrets.token_hex(32)
        server.config.update(
            SESSION_COOKIE_NAME="venuetwin_session",
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=bool(self.settings.cookie_secure),
            PERMANENT_SESSION_LIFETIME=timedelta(seconds=self.settings.session_idle_s),
        )
        server.before_request(self._guard)
        server.after_request(self._security_headers)
        server.add_url_rule("/login", "venuetwin_login", self._login, methods=["GET", "POST"])
        server.add_url_rule(
            "/login/demo", "venuetwin_demo_login", self._demo_login, methods=["POST"]
        )
        server.add_url_rule("/logout", "venuetwin_logout", self._logout, methods=["GET", "POST"])

    # -- request guard -----------------------------------------------------------
    def _guard(self) -> Response | None:
        """Decide from the resolved endpoint; deny by default (see the module docstring)."""
        g.venuetwin_user = None
        endpoint, path = request.endpoint, request.path
        if endpoint in _PUBLIC_ENDPOINTS or (
            endpoint in self._static_endpoints and _canonical(path)
        ):
            return None
        if self._is_api():
            return self._guard_api()
        user = self._load_user()  # before any body is read
        if endpoint == self._update_endpoint and request.method == "POST":
            return self._guard_callback(user)
        internal = self._internal(endpoint)
        if user is None:
            if request.method == "GET" and not internal:
                return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
            return self._refuse(None, "request.refused", path, "no session")
        if request.method not in _SAFE_METHODS and not self._csrf_ok():
            return self._refuse(user, "request.refused", path, "missing or wrong CSRF token")
        if endpoint == "venuetwin_logout" or internal:
            return None
        if not self.page_allowed(path, user.role):
            if request.method == "GET":
                return redirect(self.home_page(user.role))
            return self._refuse(user, "request.refused", path, f"page not open to {user.role}")
        return None

    def _internal(self, endpoint: str | None) -> bool:
        """Dash's own routes (``/_dash-*``, ``/_reload-hash``) or no route at all."""
        rule = request.url_rule
        return endpoint is None or rule is None or rule.rule.startswith(self._internal_prefix)

    def _is_api(self) -> bool:
        rule = request.url_rule
        path = re.sub("/{2,}", "/", request.path)  # '//api/v1/x' is still the API
        return (
            path.startswith(_API_PREFIX)
            or path == _API_PREFIX[:-1]
            or (rule is not None and rule.rule.startswith(_API_PREFIX))
        )

    def _guard_callback(self, user: SignedInUser | None) -> Response | None:
        if user is None:  # refused before the body is read
            return self._refuse(None, "callback.refused", "", "no session")
        body = request.get_json(silent=True)  # parsed once: Dash reuses Flask's cache
        key = body.get("output") if isinstance(body, dict) else None
        target = "" if key is None else str(key)[:200]
        if not isinstance(key, str) or "callback" not in self.app.callback_map.get(key, {}):
            return self._refuse(
                user,
                "callback.refused",
                target,
                "not a JSON request for a known server callback",
                status=400,
            )
        allowed = self.roles_for_callback(key)
        if user.role not in allowed:
            return self._refuse(
                user, "callback.refused", key, f"role {user.role} not in {sorted(allowed)}"
            )
        return None

    def _guard_api(self) -> Response | None:
        """``/api/...``: a bearer token, else the session cookie; JSON errors, no redirects."""
        path = request.path
        header = request.headers.get("Authorization")
        user, refused = (
            self._api_token_user(path, header) if header else self._api_session_user(path)
        )
        if refused is not None:
            return refused
        g.venuetwin_user = user
        if user.token and user.scope != "act" and request.method not in _SAFE_METHODS:
            return self._api_refuse(
                user,
                403,
                "forbidden",
                path,
                "This token is read-only (scope read): it may only GET.",
                reason="read-only token",
            )
        if not self.page_allowed(path, user.role):
            return self._api_refuse(
                user,
                403,
                "forbidden",
                path,
                f"Not open to the role {user.role}.",
                reason=f"not open to {user.role}",
            )
        return None

    def _api_token_user(
        self, path: str, header: str
    ) -> tuple[SignedInUser, None] | tuple[None, Response]:
        """The user of an ``Authorization: Bearer`` header, or the refusal."""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, self._api_refuse(
                None,
                401,
                "unauthenticated",
                path,
                "Send 'Authorization: Bearer <token>'.",
                reason="malformed Authorization header",
            )
        grant = self.users.token_grant(token.strip())
        if grant is None:
            return None, self._token_failed(path)
        stored, scope = grant
        return SignedInUser(stored.name, stored.role.value, token=True, scope=scope), None

    def _api_session_user(self, path: str) -> tuple[SignedInUser, None] | tuple[None, Response]:
        """The user of the session cookie (a CSRF token on writes), or the refusal."""
        user = self._load_user()
        if user is None:
            return None, self._api_refuse(
                None,
                401,
                "unauthenticated",
                path,
                "Sign in, or send 'Authorization: Bearer <token>' (python -m twin users token NAME).",
                reason="no session or token",
            )
        if request.method not in _SAFE_METHODS and not self._csrf_ok():
            return None, self._api_refuse(
                user,
                403,
                "forbidden",
                path,
                "Missing or wrong CSRF token (header X-CSRFToken).",
                reason="missing or wrong CSRF token",
            )
        return user, None

    def _token_failed(self, path: str) -> Response:
        """A wrong bearer token: counted against the address budget like a wrong password."""
        group = [(self.limits.per_address, ("address", request.remote_addr or ""))]
        retry_s = self.limits.retry_after_s(group)
        if retry_s:
            response = self._api_refuse(
                None,
                429,
                "rate_limited",
                path,
                f"Too many failed sign-ins from this address. Try again in {retry_s} s.",
                reason=f"retry after {retry_s} s",
            )
            response.headers["Retry-After"] = str(retry_s)
            return response
        self.limits.failed(group)
        self._alert_if_exhausted()
        response = self._api_refuse(
            None,
            401,
            "unauthenticated",
            path,
            "The bearer token is not valid (unknown or revoked).",
            reason="invalid or revoked token",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="venuetwin", error="invalid_token"'
        return response

    def _api_refuse(
        self,
        user: SignedInUser | None,
        status: int,
        code: str,
        target: str,
        message: str,
        *,
        reason: str,
    ) -> Response:
        self._log("api.refused", user, target, reason, result="refused")
        response = jsonify(error={"code": code, "message": message})
        response.status_code = status
        if status == 401 and "WWW-Authenticate" not in response.headers:
            response.headers["WWW-Authenticate"] = 'Bearer realm="venuetwin"'
        return response

    def _load_user(self) -> SignedInUser | None:
        """The session's user if its server-side record is still valid, else None."""
        session_id, name = session.get("sid"), session.get("user")
        if not session_id and not name:
            return None
        record = (
            self.users.resume_session(session_id, idle_s=self.settings.session_idle_s)
            if isinstance(session_id, str)
            else None
        )
        user = None
        if record is not None and record.name == name and (self.demo_enabled or not record.demo):
            user = SignedInUser(record.name, record.role, demo=record.demo)
        if user is None:
            session.clear()
        g.venuetwin_user = user
        return user

    def _csrf_ok(self) -> bool:
        token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken", "")
        return _same_token(token, session.get("csrf", ""))

    def _refuse(
        self, user: SignedInUser | None, event: str, target: str, reason: str, *, status: int = 403
    ) -> Response:
        self._log(event, user, target, reason, result="refused")
        response = jsonify(error="forbidden" if status == 403 else "bad request", reason=reason)
        response.status_code = status
        return response

    def _log(
        self,
        event: str,
        user: SignedInUser | None,
        target: str,
        detail: str,
        *,
        result: str,
        name: str = "",
    ) -> None:
        name = user.name if user else name
        role = user.role if user else ""
        target = target[:200]  # a client chooses paths and keys: keep the log bounded
        logger.log(
            logging.INFO if result == "ok" else logging.WARNING,
            "%s user=%r role=%r target=%r ip=%s result=%s %s",
            event,
            name,
            role,
            target,
            request.remote_addr,
            result,
            detail,
        )
        self.audit.record_security(
            event,
            user=name,
            role=role,
            target=target,
            result=result,
            ip=request.remote_addr or "",
            detail=detail,
        )

    def _alert_if_exhausted(self) -> None:
        """Alert the admins (security log) the first time an address spends its budget."""
        address = request.remote_addr or ""
        group = [(self.limits.per_address, ("address", address))]
        if self.limits.retry_after_s(group) and self.limits.first_alert(("address", address)):
            budget = "; ".join(str(item) for item in self.limits.per_address)
            logger.error("alert.password_spraying ip=%s budget=%s", address, budget)
            self.audit.record_security(
                "alert.password_spraying",
                target=address,
                result="refused",
                ip=address,
                detail=f"failed sign-ins or API tokens from {address} across user names"
                f" spent the address budget ({budget}); further tries are delayed",
            )

    def _alert_if_account_exhausted(self, username: str, groups: list[Any]) -> None:
        """Alert the admins (security log) the first time guesses at one account, from any
        addresses, spend its budget."""
        key = ("account", _hashed(username))
        account = [g for g in groups if g[1] == key]
        if account and self.limits.retry_after_s(account) and self.limits.first_alert(key):
            name = self._known_name(username)
            budget = "; ".join(str(item) for item in self.limits.per_account)
            logger.error("alert.account_guessing user=%r budget=%s", name, budget)
            self.audit.record_security(
                "alert.account_guessing",
                user=name,
                target=name or "(unknown name)",
                result="refused",
                ip=request.remote_addr or "",
                detail=f"failed sign-ins as {name or 'an unknown name'} from several addresses"
                f" spent the account budget ({budget}); further tries from new devices are"
                " delayed (the user's own browser is not)",
            )

    def _security_headers(self, response: Response) -> Response:
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(
                self.app.csp_hashes(),
                allow_eval=self.settings.csp_allow_eval,
                extra_sources=self.settings.csp_extra_sources,
            ),
        )
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if self.settings.cookie_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response

    # -- sign-in and sign-out ------------------------------------------------------
    def _signin_html(self, *, error: str | None = None, username: str = "") -> str:
        return signin_page(
            csrf_token=session.setdefault("login_csrf", secrets.token_urlsafe(32)),
            next_path=_safe_next(request.values.get("next")),
            username=username,
            error=error,
            demo_roles=permissions.HUMAN_ROLES if self._demo_request_ok() else (),
        )

    def _login(self) -> Any:
        if request.method == "GET":
            user = self._load_user()
            return redirect(self.home_page(user.role)) if user else self._signin_html()
        username = request.form.get("username", "").strip()[:64]
        if not self._login_csrf_ok():
            self._log(
                "login.refused", None, "", "sign-in form token missing or stale", result="refused"
            )
            return self._signin_html(error="The sign-in form expired. Please try again."), 400
        name_group, groups = self._login_groups(username)
        retry_s = self.limits.retry_after_s(groups)
        if retry_s:
            return self._login_rate_limited(username, retry_s)
        password = request.form.get("password", "")[: MAX_PASSWORD_CHARS + 1]
        user = self.users.verify(username, password)
        if user is None:
            return self._login_failed(username, groups)
        if user.role.value not in permissions.HUMAN_ROLES:  # a machine account: tokens only
            self._log("login.refused", None, "", "feed accounts use API tokens", result="refused")
            html = self._signin_html(
                error="This is a feed account: it posts feeds with an API token and has no pages."
            )
            return html, 403
        self.limits.reset([name_group])  # the address budget is not refunded
        response = self._start_session(user.name, user.role.value, demo=False)
        self._remember_device(response, user.name)
        return response

    def _login_rate_limited(self, username: str, retry_s: int) -> Any:
        """Too many failed sign-ins for this name or address: logged, 429 with Retry-After."""
        self._log(
            "login.rate_limited",
            None,
            "",
            f"retry after {retry_s} s",
            result="refused",
            name=self._known_name(username),
        )
        html = self._signin_html(
            error=f"Too many failed sign-ins. Try again in {retry_s} s.", username=username
        )
        return html, 429, {"Retry-After": str(retry_s)}

    def _login_failed(self, username: str, groups: list[Any]) -> Any:
        """A wrong name or password: counted against the budgets, logged, 401."""
        self.limits.failed(groups)
        known = self._known_name(username)
        self._log(
            "login.failed",
            None,
            "",
            "" if known else "unknown user name",
            result="failed",
            name=known,
        )
        self._alert_if_exhausted()
        self._alert_if_account_exhausted(username, groups)
        return self._signin_html(error="Wrong user name or password.", username=username), 401

    def _login_groups(self, username: str) -> tuple[Any, list[Any]]:
        """The rate-limit groups of a sign-in as `username`: per name and device if this
        browser signed in as that name before, else per name and address plus the
        address budget. Returns (the per-name group, all groups)."""
        device = self._device_for(username)
        if device:
            name_group = (self.limits.per_name, ("device", device, _hashed(username)))
            return name_group, [name_group]
        address = request.remote_addr or ""
        name_group = (self.limits.per_name, ("name", address, _hashed(username)))
        account = (self.limits.per_account, ("account", _hashed(username)))
        return name_group, [name_group, (self.limits.per_address, ("address", address)), account]

    def _device_serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.app.server.secret_key, salt="venuetwin-device")

    def _device_cookie(self) -> dict[str, Any]:
        value = request.cookies.get(_DEVICE_COOKIE)
        if not value or len(value) > 4096:
            return {}
        try:
            data = self._device_serializer().loads(value, max_age=_DEVICE_MAX_AGE_S)
        except BadSignature:
            return {}
        ok = (
            isinstance(data, dict)
            and isinstance(data.get("d"), str)
            and isinstance(data.get("u"), list)
        )
        return data if ok else {}

    def _device_for(self, username: str) -> str:
        """This browser's device id if it signed in as `username` before, else ''."""
        data = self._device_cookie()
        return data["d"] if data and _hashed(username) in data["u"] else ""

    def _remember_device(self, response: Response, name: str) -> None:
        data = self._device_cookie() or {"d": secrets.token_urlsafe(16), "u": []}
        names = [n for n in data["u"] if n != _hashed(name)] + [_hashed(name)]
        value = self._device_serializer().dumps({"d": data["d"], "u": names[-_DEVICE_MAX_NAMES:]})
        response.set_cookie(
            _DEVICE_COOKIE,
            value,
            max_age=_DEVICE_MAX_AGE_S,
            path="/login",
            httponly=True,
            samesite="Strict",
            secure=bool(self.settings.cookie_secure),
        )

    def _demo_login(self) -> Any:
        if not self._demo_request_ok():
            return jsonify(error="not found"), 404
        role = request.form.get("role", "")
        if not self._login_csrf_ok() or role not in permissions.HUMAN_ROLES:
            return self._signin_html(error="The sign-in form expired. Please try again."), 400
        return self._start_session(f"demo-{role}", role, demo=True)

    def _start_session(self, name: str, role: str, *, demo: bool) -> Response:
        """A new session id (the old one, if any, is revoked: rotation at sign-in)."""
        next_path = _safe_next(request.form.get("next"))
        old_id = session.get("sid")
        if isinstance(old_id, str):
            self.users.end_session(old_id)
        session.clear()
        session.permanent = True
        session_id = self.users.start_session(
            name, role, demo=demo, max_age_s=self.settings.session_max_age_s
        )
        session.update(
            user=name, role=role, demo=demo, sid=session_id, csrf=secrets.token_urlsafe(32)
        )
        user = SignedInUser(name, role, demo)
        g.venuetwin_user = user
        self._log("login.demo" if demo else "login.ok", user, "", "", result="ok")
        target = next_path if next_path and self.page_allowed(next_path, role) else None
        return redirect(target or self.home_page(role))

    def _logout(self) -> Any:
        user = current_user()
        if request.method == "GET":
            return signout_page(csrf_token=self.csrf_token(), user_name=user.name, role=user.role)
        ended = self.users.end_session(session.get("sid", ""))
        self._log("logout", user, "", "" if ended else "session already ended", result="ok")
        session.clear()
        return redirect("/login")

    def _login_csrf_ok(self) -> bool:
        return _same_token(request.form.get("csrf_token", ""), session.get("login_csrf", ""))

    def _known_name(self, username: str) -> str:
        """`username` if such a user exists; never log unknown names (often a password)."""
        user = self.users.get(username) if username else None
        return user.name if user else ""

    def _demo_request_ok(self) -> bool:
        return (
            self.demo_enabled
            and request.remote_addr in ("127.0.0.1", "::1")
            and not any(h in request.headers for h in _FORWARDING_HEADERS)
        )


def _same_token(given: str, expected: str) -> bool:
    """Constant-time comparison of a posted token with the session's (any text)."""
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def _safe_next(value: str | None) -> str:
    """`value` if it is a plain local path other than the sign-in pages, else ''.

    Browsers drop tabs and newlines from URLs and read a backslash as ``/``, so
    ``/<tab>/evil.example`` would leave the site: such characters refuse the value.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/login", "/logout")):
        return ""
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return ""
    return value
