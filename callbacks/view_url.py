"""Keeps the view in the URL and the URL in the view (layouts/view_url.py).

Two callbacks, each both ways and each with its own ``dcc.Location`` (Dash's Locations follow
one another's history entries): the map's horizons and layers (``ids.VIEW_URL``, in the layer
panel of the wall and of the read-only map) and the operator wall's side tab, junction and
checkpoint (``ids.OPS_URL``, in the operator panels). A change of a control writes its keys
into the query string (a new history entry, other keys kept); a new query string (a pasted
link, Back, Forward) sets the controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import Input, Output, ctx, no_update

from callbacks.services import services
from layouts import ids
from layouts.deck import TOGGLE_LABELS
from layouts.view_url import MAP_KEYS, OPS_KEYS, query_from_view, view_from_query


def register_callbacks(app) -> None:
    svc = services(app)
    junctions = [int(s["i"]) for s in svc.scene.signals]
    checkpoints = (
        list(range(len(svc.commands.query("checkpoint_rows")))) if svc.commands is not None else []
    )
    offered = {"junctions": junctions, "checkpoints": checkpoints, "layers": list(TOGGLE_LABELS)}

    def sync(location: str, controls: Sequence[str], keys: Sequence[str]) -> None:
        @app.callback(
            Output(location, "search"),
            *(Output(c, "value", allow_duplicate=True) for c in controls),
            Input(location, "search"),
            *(Input(c, "value") for c in controls),
            prevent_initial_call="initial_duplicate",
        )
        def sync_view(search: str | None, *values: Any) -> tuple[Any, ...]:
            if ctx.triggered_id == location or not ctx.triggered_id:  # a link, a reload, Back
                view = view_from_query(search, **offered)
                wanted = [view.get(key, no_update) for key in keys]
                return no_update, *[
                    w if w != v else no_update for w, v in zip(wanted, values, strict=True)
                ]
            query = query_from_view(search, dict(zip(keys, values, strict=True)), keys)
            return (query if query != (search or "") else no_update), *([no_update] * len(controls))

    sync(ids.VIEW_URL, (ids.HORIZON, ids.HEAT_HORIZON, ids.LAYERS), MAP_KEYS)
    if svc.commands is not None:
        sync(ids.OPS_URL, (ids.OPS_TAB, ids.SIG_NODE, ids.CP_SELECT), OPS_KEYS)
