"""Keeps the operator wall's view in the URL and the URL in the view (layouts/view_url.py).

One callback, both directions: a change of tab, junction, checkpoint, horizons or layers
writes the query string (a new history entry); a new query string (a pasted link, Back,
Forward) sets the controls. The wall carries its own ``dcc.Location`` for this (``ids.VIEW_URL``)
inside the operator panels, so the read-only map and the kiosk switch are untouched.
"""

from __future__ import annotations

from dash import Input, Output, ctx, no_update

from callbacks.services import services
from layouts import ids
from layouts.deck import TOGGLE_LABELS
from layouts.view_url import query_from_view, view_from_query


def register_callbacks(app) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    junctions = [int(s["i"]) for s in svc.scene.signals]
    checkpoints = list(range(len(svc.commands.query("checkpoint_rows"))))
    layers = list(TOGGLE_LABELS)
    controls = (ids.OPS_TAB, ids.SIG_NODE, ids.CP_SELECT, ids.HORIZON, ids.HEAT_HORIZON, ids.LAYERS)
    keys = ("tab", "junction", "checkpoint", "horizon", "heat", "layers")

    @app.callback(Output(ids.VIEW_URL, "search"),
                  *(Output(c, "value", allow_duplicate=True) for c in controls),
                  Input(ids.VIEW_URL, "search"), *(Input(c, "value") for c in controls),
                  prevent_initial_call="initial_duplicate")
    def sync_view(search, *values):
        if ctx.triggered_id == ids.VIEW_URL or not ctx.triggered_id:  # a link, a reload, Back
            view = view_from_query(search, junctions=junctions, checkpoints=checkpoints, layers=layers)
            wanted = [view.get(key, no_update) for key in keys]
            return no_update, *[w if w != v else no_update for w, v in zip(wanted, values, strict=True)]
        view = dict(zip(keys, values, strict=True))
        query = query_from_view(search, view)
        return (query if query != (search or "") else no_update), *([no_update] * len(controls))
