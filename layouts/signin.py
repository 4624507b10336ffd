"""Sign-in and sign-out pages: pure functions from plain values to an HTML string.

Plain HTML forms (no Dash, no script), dark like the control-room screens. Every
value is escaped. The local demo block is drawn only when `demo_roles` is given,
in a hazard-striped box that says what it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["signin_page", "signout_page"]

_STYLE = """
:root { color-scheme: dark; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  background: #0b0f14; color: #d7dee8; font: 16px/1.4 system-ui, "Segoe UI", Roboto, sans-serif; }
main { width: min(92vw, 380px); padding: 28px 30px; background: #121923;
  border: 1px solid #253244; border-radius: 10px; box-shadow: 0 12px 40px #0008; }
h1 { margin: 0 0 4px; font-size: 20px; letter-spacing: .04em; }
h1 span { color: #3fb6ff; }
p.sub { margin: 0 0 22px; color: #8797ab; font-size: 13px; }
label { display: block; margin: 14px 0 6px; font-size: 13px; color: #9fb0c4; }
input[type=text], input[type=password] { width: 100%; padding: 10px 12px; font-size: 16px;
  color: #e8eef6; background: #0b1118; border: 1px solid #2c3b50; border-radius: 6px; }
input:focus, button:focus { outline: 2px solid #3fb6ff; outline-offset: 1px; }
button { width: 100%; margin-top: 20px; padding: 11px; font-size: 16px; font-weight: 600;
  color: #06121d; background: #3fb6ff; border: 0; border-radius: 6px; cursor: pointer; }
.error { margin: 0 0 8px; padding: 10px 12px; border-radius: 6px; background: #3a1518;
  border: 1px solid #8b2c33; color: #ffb3b8; font-size: 14px; }
.demo { margin-top: 26px; padding: 14px; border-radius: 8px; border: 2px solid #f2b700;
  background: repeating-linear-gradient(135deg, #2a2300 0 10px, #1d1900 10px 20px); }
.demo strong { color: #ffd23f; letter-spacing: .06em; }
.demo p { margin: 6px 0 4px; font-size: 13px; color: #e9dca0; }
.demo button { margin-top: 8px; color: #1d1900; background: #ffd23f; }
.who { margin: 0 0 6px; }
"""


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def signin_page(
    *,
    csrf_token: str,
    next_path: str = "",
    username: str = "",
    error: str | None = None,
    demo_roles: Sequence[str] = (),
) -> str:
    """The sign-in page.

    Parameters
    ----------
    csrf_token
        Token the form posts back in ``csrf_token``.
    next_path
        Local path to open after signing in (posted back as ``next``).
    username
        Pre-filled user name (after a failed attempt). The password never is.
    error
        Message shown above the form.
    demo_roles
        Roles offered for the local password-less demo; empty hides the block.
    """
    error_html = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    form = (
        '<form method="post" action="/login" autocomplete="on">'
        f"{_hidden('csrf_token', csrf_token)}{_hidden('next', next_path)}"
        '<label for="username">User name</label>'
        f'<input id="username" name="username" type="text" value="{escape(username)}"'
        ' autocomplete="username" autocapitalize="off" spellcheck="false" required autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password"'
        ' autocomplete="current-password" required>'
        '<button id="signin" type="submit">Sign in</button></form>'
    )
    demo = ""
    if demo_roles:
        buttons = "".join(
            f'<button type="submit" name="role" value="{escape(r)}" id="demo-{escape(r)}">'
            f"Demo: sign in as {escape(r)}</button>"
            for r in demo_roles
        )
        demo = (
            '<section class="demo" aria-label="Local demo sign-in">'
            "<strong>LOCAL DEMO ONLY</strong>"
            "<p>No password. Offered only because this server listens on 127.0.0.1;"
            " never on a shared address.</p>"
            f'<form method="post" action="/login/demo">{_hidden("csrf_token", csrf_token)}'
            f"{_hidden('next', next_path)}{buttons}</form></section>"
        )
    body = (
        "<h1>Venue<span>Twin</span></h1>"
        '<p class="sub">Olympic Park control room &middot; sign in</p>'
        f"{error_html}{form}{demo}"
    )
    return _document("Sign in · VenueTwin", body)


def signout_page(*, csrf_token: str, user_name: str, role: str) -> str:
    """Page asking to confirm sign-out (the POST carries the CSRF token)."""
    body = (
        "<h1>Venue<span>Twin</span></h1>"
        f'<p class="sub who">Signed in as <b id="who">{escape(user_name)}</b>'
        f" ({escape(role)})</p>"
        f'<form method="post" action="/logout">{_hidden("csrf_token", csrf_token)}'
        '<button id="signout" type="submit">Sign out</button></form>'
    )
    return _document("Sign out · VenueTwin", body)
