"""The page router: one ``dcc.Location`` and a page container filled per path and role.

``/`` the operator wall, ``/map`` the read-only map (planners, executives), ``/summary`` the
executive summary (every role), ``/admin/audit`` the audit log (admins; only with sign-in).
With sign-in on, a page the user's role may not open sends them to their home page (the
server's guard does the same for page loads; this covers in-app navigation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dash import Input, Output, dcc, html

from callbacks.auth import current_user
from layouts import ids
from layouts.summary import nav_links, user_bar

PAGE_LABELS = (
    ("/", "Live wall"),
    ("/map", "Map"),
    ("/replay", "Replay"),
    ("/summary", "Summary"),
    ("/admin/audit", "Audit log"),
)

Page = Callable[[Any, Any], Any]  # (user bar, nav) -> component


def root_layout() -> html.Div:
    """The app's layout: the router's location, the stale-data banner (shown by
    assets/stale.js when the twin's newest frame is more than a few seconds old, on every
    page) and the page container."""
    return html.Div(
        [
            dcc.Location(id=ids.PAGE_URL, refresh=False),
            html.Div(id=ids.STALE_BANNER, className="stale-banner", role="alert", hidden=True),
            html.Div(id=ids.PAGE, className="page"),
        ],
        className="app-root",
    )


def not_found(path: str) -> html.Div:
    return html.Div(
        className="not-found",
        children=[
            html.H2("No such page"),
            html.P(f"There is no page at {path}."),
            dcc.Link("Home", href="/"),
        ],
    )


def register_callbacks(app, pages: Mapping[str, Page]) -> None:
    """Route ``pages`` (path -> builder) by the location's path, checking the user's role."""

    def allowed(auth: Any, path: str) -> bool:
        return path in pages and (auth is None or auth.page_allowed(path))

    @app.callback(Output(ids.PAGE, "children"), Input(ids.PAGE_URL, "pathname"))
    def route(pathname):
        auth = app.server.extensions.get("venuetwin.auth")  # sign-in may be installed after
        path = (pathname or "/").rstrip("/") or "/"
        if auth is not None and not auth.page_allowed(path):
            return dcc.Location(id=ids.REDIRECT, href=auth.home_page(), refresh=True)
        if path not in pages:
            return not_found(path)
        user = current_user()
        bar = user_bar(user.name, user.role) if user is not None else None
        nav = nav_links(
            [(href, label) for href, label in PAGE_LABELS if href != path and allowed(auth, href)]
        )
        return pages[path](bar, nav)
