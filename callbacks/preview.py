"""The preview's lifecycle on the wall: the banner shows while a preview is on the map; when
the preview ends (its store set to ``None`` by Apply, Revert, another junction or tab, or "End
preview") the banner goes and the map's preview colours and route are cleared."""

from __future__ import annotations

from dash import Input, Output, no_update

from callbacks.services import services
from layouts import ids
from layouts.deck import preview_message


def register_callbacks(app) -> None:
    if services(app).commands is None:  # a read-only worker has no operator panels
        return
    n_links = len(services(app).scene.links)

    @app.callback(
        Output(ids.PREVIEW_BANNER, "hidden"),
        Output(ids.PREVIEW_TEXT, "children"),
        Output(ids.MAP_PREVIEW, "data", allow_duplicate=True),
        Input(ids.PREVIEW_STATE, "data"),
        prevent_initial_call=True,
    )
    def show_preview(state):
        if isinstance(state, dict) and isinstance(state.get("text"), str):
            return False, state["text"][:200], no_update
        return True, "", preview_message(n_links=n_links)

    @app.callback(
        Output(ids.PREVIEW_STATE, "data", allow_duplicate=True),
        Output(ids.SIG_RESULT, "children", allow_duplicate=True),
        Output(ids.COR_PLAN, "children", allow_duplicate=True),
        Input(ids.PREVIEW_CLEAR, "n_clicks"),
        prevent_initial_call=True,
    )
    def end_preview(_clicks):
        return None, [], []
