"""A preview on the map is visibly a preview: a banner over the map says what is previewed,
carries the preview colours' key, and ends it (Apply, Revert, another junction, another tab or
"End preview" end it too, see callbacks/preview.py)."""

from __future__ import annotations

from dash import dcc, html

from layouts import ids
from layouts.signal_panel import map_key


def preview_banner() -> html.Div:
    """Hidden until a preview starts; the store holds ``{"text": ...}`` or ``None``."""
    return html.Div(
        id=ids.PREVIEW_BANNER,
        className="preview-banner",
        hidden=True,
        role="status",
        children=[
            dcc.Store(id=ids.PREVIEW_STATE),
            html.Span("", id=ids.PREVIEW_TEXT, className="preview-text"),
            html.Span("predicted change in delay:", className="preview-key-title"),
            map_key(),
            html.Button("End preview", id=ids.PREVIEW_CLEAR, n_clicks=0, className="btn"),
        ],
    )


def preview_state(text: str) -> dict[str, str]:
    return {"text": text}
