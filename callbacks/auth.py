"""Sign-in, sessions and role enforcement on the server, for one Dash app.

``install_auth(app, config)`` wires everything onto ``app.server`` (Flask):

- ``/login`` (GET form, POST) with a per user-name-and-IP rate limit
  (``429`` with ``Retry-After``), ``/logout`` (GET asks, POST signs out), and on
  127.0.0.1/localhost only, a clearly marked local demo sign-in (``/login/demo``);
- sessions in Flask's signed cookie (secret from ``config["secret_key"]``), with an
  idle timeout (cookie age) and an absolute one (sign-in time); a disabled user or a
  changed role ends the session on its next request;
- one ``before_request`` guard: no session, no access (pages redirect to the
  sign-in page, everything else gets ``403``); pages a role may not see redirect
  to its home page; a POST to ``/_dash-update-component`` runs only if the
  callback's roles include the user's (see :func:`protect`); every refusal is
  written to the security log;
- security headers on every response (see :func:`content_security_policy`).

Callbacks read the signed-in user with :func:`current_user`. Paths assume the app
is served at ``/`` (Dash's default ``routes_pathname_prefix``).

Cross-site request forgery: the session cookie is ``SameSite=Lax``; Dash updates
must be ``application/json`` (a cross-site page cannot send that without a CORS
preflight, which this app never grants); other state-changing requests must carry
the session's CSRF token (form field ``csrf_token`` or header ``X-CSRFToken``).
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from hashlib import sha256
from typing import Any
from urllib.parse import urlencode, urlsplit

import dash
from flask import Response, g, has_request_context, jsonify, redirect, request, session

from layouts.signin import signin_page, signout_page
from twin.audit import AuditLog
from twin.users import Role, UserError, UserStore

__all__ = [
    "ALL_ROLES",
    "DEFAULT_HOME_PAGES",
    "DEFAULT_PAGE_ROLES",
    "Auth",
    "LoginRateLimiter",
    "SignedInUser",
    "content_security_policy",
    "current_user",
    "get_auth",
    "install_auth",
    "protect",
]

logger = logging.getLogger("venuetwin.security")

ALL_ROLES: tuple[str, ...] = tuple(r.value for r in Role)
# Page path prefix -> roles that may open it; the longest matching prefix wins.
DEFAULT_PAGE_ROLES: dict[str, tuple[str, ...]] = {
    "/": ("operator",),  # live control
    "/map": ("operator", "planner", "executive"),  # read-only map
    "/replay": ("planner",),
    "/summary": ALL_ROLES,
    "/admin": ("admin",),
}
DEFAULT_HOME_PAGES: dict[str, str] = {
    "operator": "/",
    "planner": "/replay",
    "executive": "/summary",
    "admin": "/admin/audit",
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_SECRET_KEY_CHARS = 32
_PUBLIC_PATHS = frozenset({"/login", "/login/demo", "/_favicon.ico"})
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
    rate_limit_cache: Any = None
    callback_roles: Mapping[str, Iterable[str]] = field(default_factory=dict)
    callback_default_roles: Iterable[str] = ALL_ROLES
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


class LoginRateLimiter:
    """Failed sign-ins per key in a sliding window; thread-safe.

    In-process by default; pass a flask-caching ``Cache`` (Redis in scaled mode)
    to share the counts between workers. The cache read-modify-write is not
    atomic across processes, so a burst may pass a few extra attempts there.
    """

    def __init__(self, max_failures: int, window_s: float, *, cache: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._cache, self._clock = cache, clock
        self._local: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, key: str) -> int:
        """Seconds until `key` may try again; 0 if it may try now."""
        with self._lock:
            times = self._recent(key)
        if len(times) < self.max_failures:
            return 0
        return max(1, math.ceil(times[-self.max_failures] + self.window_s - self._clock()))

    def failed(self, key: str) -> None:
        """Count one failed attempt for `key`."""
        with self._lock:
            times = self._recent(key) + [self._clock()]
            self._save(key, times[-self.max_failures:])

    def reset(self, key: str) -> None:
        """Forget the failures of `key` (after a successful sign-in)."""
        with self._lock:
            self._save(key, [])

    def _recent(self, key: str) -> list[float]:
        stored = (self._cache.get(_cache_key(key)) if self._cache is not None
                  else self._local.get(key)) or []
        cutoff = self._clock() - self.window_s
        return [t for t in stored if t > cutoff]

    def _save(self, key: str, times: list[float]) -> None:
        if self._cache is not None:
            self._cache.set(_cache_key(key), times, timeout=math.ceil(self.window_s))
            return
        if times:
            self._local[key] = times
        else:
            self._local.pop(key, None)
        if len(self._local) > 10_000:  # bound memory under a spray of names
            cutoff = self._clock() - self.window_s
            self._local = {k: v for k, v in self._local.items() if v[-1] > cutoff}


def _cache_key(key: str) -> str:
    return "venuetwin-login-failures:" + sha256(key.encode()).hexdigest()


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
        keys = [k for k, cb in app.callback_map.items()
                if getattr(cb.get("callback"), "__wrapped__", None) is target]
        if not keys:
            raise ValueError(f"'target' must be a callback registered on this app, got {target!r}")
    elif isinstance(target, dict):
        keys = [dash.Output(target, "children").component_id_str()]
    elif isinstance(target, str) and target:
        keys = [target]
    else:
        raise ValueError(
            f"'target' must be a component id, callback key or function, got {target!r}")
    for key in keys:
        _policy(app)[key] = allowed


def current_user() -> SignedInUser | None:
    """The signed-in user of the current request, or None (also outside requests)."""
    return g.get("venuetwin_user") if has_request_context() else None


def get_auth(app: dash.Dash) -> Auth:
    """The :class:`Auth` that :func:`install_auth` put on `app`."""
    try:
        return app.server.extensions[_AUTH_KEY]
    except KeyError:
        raise RuntimeError("install_auth(app, config) has not been called on this app") from None


def content_security_policy(script_hashes: Iterable[str], *, allow_eval: bool = False,
                            extra_sources: Mapping[str, Iterable[str]] | None = None) -> str:
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
    ``rate_limit_cache`` a flask-caching ``Cache`` to share those counts (scaled mode);
    ``callback_roles`` ``{output id, "id.prop" or callback key: roles}``, as :func:`protect`;
    ``callback_default_roles`` roles for callbacks with no entry (default: every role);
    ``page_roles`` ``{path prefix: roles}`` and ``home_pages`` ``{role: path}``
    (defaults :data:`DEFAULT_PAGE_ROLES`, :data:`DEFAULT_HOME_PAGES`);
    ``csp_allow_eval`` and ``csp_extra_sources`` see :func:`content_security_policy`.
    """
    known = AuthSettings.__dataclass_fields__.keys()  # other app settings are ignored
    host = config.get("host", AuthSettings.host)
    if config.get("demo_login") and host not in LOOPBACK_HOSTS:
        warnings.warn(f"demo_login is off: host {host!r} is not a loopback address",
                      stacklevel=2)
    settings = AuthSettings(**{k: v for k, v in config.items() if k in known})
    if getattr(app, "_enable_mcp", False) or getattr(app.backend, "websocket_capability", False):
        raise ValueError("install_auth supports the Flask backend without MCP or websocket"
                         " callbacks: those paths would bypass the role guard")
    auth = Auth(app, settings)
    app.server.extensions[_AUTH_KEY] = auth
    return auth


class Auth:
    """Sign-in and role enforcement installed on one app; see :func:`install_auth`."""

    def __init__(self, app: dash.Dash, settings: AuthSettings) -> None:
        self.app, self.settings = app, settings
        self.users = UserStore(settings.auth_db)
        self.audit = AuditLog(settings.auth_db)
        self.limiter = LoginRateLimiter(settings.login_max_failures, settings.login_window_s,
                                        cache=settings.rate_limit_cache)
        self._page_roles = {p: _roles(r) for p, r in settings.page_roles.items()}
        self._default_roles = _roles(settings.callback_default_roles)
        for target, roles in settings.callback_roles.items():
            protect(app, target, roles=roles)
        self._update_path = app.config.routes_pathname_prefix + "_dash-update-component"
        self._configure_server()

    # -- policy ----------------------------------------------------------------
    def protect(self, target: Any, *, roles: Iterable[str] | str) -> None:
        """Same as :func:`protect` on this app."""
        protect(self.app, target, roles=roles)

    def roles_for_callback(self, callback_key: str) -> frozenset[str]:
        """Roles allowed to run the callback with this key (``body["output"]``)."""
        policy = _policy(self.app)
        matches = [policy[n] for n in {callback_key} | _output_names(callback_key) if n in policy]
        return frozenset.intersection(*matches) if matches else self._default_roles

    def unprotected_callbacks(self) -> list[str]:
        """Keys of server callbacks that fall back to ``callback_default_roles``."""
        policy = _policy(self.app)
        return sorted(k for k, cb in self.app.callback_map.items()
                      if "callback" in cb and not ({k} | _output_names(k)) & policy.keys())

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
        server.add_url_rule("/login/demo", "venuetwin_demo_login", self._demo_login,
                            methods=["POST"])
        server.add_url_rule("/logout", "venuetwin_logout", self._logout, methods=["GET", "POST"])

    # -- request guard -----------------------------------------------------------
    def _guard(self) -> Response | None:
        path = request.path
        if path in _PUBLIC_PATHS or path.startswith("/assets/"):
            return None
        user = self._load_user()
        if path == self._update_path and request.method == "POST":
            return self._guard_callback(user)
        if user is None:
            if request.method == "GET" and not path.startswith("/_"):
                return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
            return self._refuse(None, "request.refused", path, "no session")
        if request.method not in _SAFE_METHODS and not self._csrf_ok():
            return self._refuse(user, "request.refused", path, "missing or wrong CSRF token")
        if path == "/logout" or path.startswith("/_"):
            return None
        if not self.page_allowed(path, user.role):
            if request.method == "GET":
                return redirect(self.home_page(user.role))
            return self._refuse(user, "request.refused", path, f"page not open to {user.role}")
        return None

    def _guard_callback(self, user: SignedInUser | None) -> Response | None:
        body = request.get_json(silent=True)  # parsed once: Dash reuses Flask's cache
        key = body.get("output") if isinstance(body, dict) else None
        target = "" if key is None else str(key)[:200]
        if user is None:
            return self._refuse(None, "callback.refused", target, "no session")
        if not isinstance(key, str) or "callback" not in self.app.callback_map.get(key, {}):
            return self._refuse(user, "callback.refused", target,
                                "not a JSON request for a known server callback", status=400)
        allowed = self.roles_for_callback(key)
        if user.role not in allowed:
            return self._refuse(user, "callback.refused", key,
                                f"role {user.role} not in {sorted(allowed)}")
        return None

    def _load_user(self) -> SignedInUser | None:
        name, role = session.get("user"), session.get("role")
        if not name:
            return None
        user = None
        if time.time() - session.get("iat", 0) <= self.settings.session_max_age_s:
            if session.get("demo"):
                user = SignedInUser(name, role, demo=True) if self.demo_enabled else None
            else:
                stored = self.users.get(name)
                if stored is not None and stored.active and stored.role.value == role:
                    user = SignedInUser(stored.name, role)
        if user is None:
            session.clear()
        g.venuetwin_user = user
        return user

    def _csrf_ok(self) -> bool:
        token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken", "")
        return _same_token(token, session.get("csrf", ""))

    def _refuse(self, user: SignedInUser | None, event: str, target: str, reason: str,
                *, status: int = 403) -> Response:
        self._log(event, user, target, reason, result="refused")
        response = jsonify(error="forbidden" if status == 403 else "bad request", reason=reason)
        response.status_code = status
        return response

    def _log(self, event: str, user: SignedInUser | None, target: str, detail: str,
             *, result: str, name: str = "") -> None:
        name = user.name if user else name
        role = user.role if user else ""
        logger.log(logging.INFO if result == "ok" else logging.WARNING,
                   "%s user=%r role=%r target=%r ip=%s result=%s %s",
                   event, name, role, target, request.remote_addr, result, detail)
        self.audit.record_security(event, user=name, role=role, target=target, result=result,
                                   ip=request.remote_addr or "", detail=detail)

    def _security_headers(self, response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(
            self.app.csp_hashes(), allow_eval=self.settings.csp_allow_eval,
            extra_sources=self.settings.csp_extra_sources))
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
            demo_roles=ALL_ROLES if self._demo_request_ok() else (),
        )

    def _login(self) -> Any:
        if request.method == "GET":
            user = self._load_user()
            return redirect(self.home_page(user.role)) if user else self._signin_html()
        username = request.form.get("username", "").strip()[:64]
        if not self._login_csrf_ok():
            self._log("login.refused", None, "", "sign-in form token missing or stale",
                      result="refused")
            return self._signin_html(error="The sign-in form expired. Please try again."), 400
        key = f"{username.casefold()}|{request.remote_addr}"
        retry_s = self.limiter.retry_after_s(key)
        if retry_s:
            self._log("login.rate_limited", None, "", f"retry after {retry_s} s",
                      result="refused", name=self._known_name(username))
            html = self._signin_html(
                error=f"Too many failed sign-ins. Try again in {retry_s} s.", username=username)
            return html, 429, {"Retry-After": str(retry_s)}
        user = self.users.verify(username, request.form.get("password", ""))
        if user is None:
            self.limiter.failed(key)
            known = self._known_name(username)
            self._log("login.failed", None, "", "" if known else "unknown user name",
                      result="failed", name=known)
            return self._signin_html(error="Wrong user name or password.", username=username), 401
        self.limiter.reset(key)
        return self._start_session(user.name, user.role.value, demo=False)

    def _demo_login(self) -> Any:
        if not self._demo_request_ok():
            return jsonify(error="not found"), 404
        role = request.form.get("role", "")
        if not self._login_csrf_ok() or role not in ALL_ROLES:
            return self._signin_html(error="The sign-in form expired. Please try again."), 400
        return self._start_session(f"demo-{role}", role, demo=True)

    def _start_session(self, name: str, role: str, *, demo: bool) -> Response:
        next_path = _safe_next(request.form.get("next"))
        session.clear()
        session.permanent = True
        session.update(user=name, role=role, demo=demo, iat=time.time(),
                       csrf=secrets.token_urlsafe(32))
        user = SignedInUser(name, role, demo)
        self._log("login.demo" if demo else "login.ok", user, "", "", result="ok")
        target = next_path if next_path and self.page_allowed(next_path, role) else None
        return redirect(target or self.home_page(role))

    def _logout(self) -> Any:
        user = current_user()
        if request.method == "GET":
            return signout_page(csrf_token=self.csrf_token(), user_name=user.name,
                                role=user.role)
        self._log("logout", user, "", "", result="ok")
        session.clear()
        return redirect("/login")

    def _login_csrf_ok(self) -> bool:
        return _same_token(request.form.get("csrf_token", ""), session.get("login_csrf", ""))

    def _known_name(self, username: str) -> str:
        """`username` if such a user exists; never log unknown names (often a password)."""
        user = self.users.get(username) if username else None
        return user.name if user else ""

    def _demo_request_ok(self) -> bool:
        return (self.demo_enabled and request.remote_addr in ("127.0.0.1", "::1")
                and not any(h in request.headers for h in _FORWARDING_HEADERS))


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
