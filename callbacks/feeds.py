"""Field feeds on the wall: the Feeds tab (feed health, forecast error, a road's and a
checkpoint's observed against modelled, picked in the tab's lists or by a click on the map) and
the +30 min forecast error on the congestion legend.

Everything comes from the published frame (``forecast_skill``) and the twin's read-only queries
(``feed_status`` once the feed plumbing provides it, ``observed_vs_modelled_link``,
``observed_vs_modelled_checkpoint``). The Feeds tab refreshes only while it is open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.operator import operator_callback
from callbacks.services import services
from layouts import ids
from layouts.feed_panel import (
    checkpoint_feed_panel,
    feed_health,
    legend_skill,
    refusal,
    road_panel,
    skill_table,
    wait_error_line,
)
from twin.errors import ActionError

if TYPE_CHECKING:
    from dash import Dash

    from callbacks.services import Services

FEED_STATUS_QUERY = "feed_status"
"""The feed plumbing's query of per-source status (absent until it lands: "No feeds")."""


def _skill(svc: Services) -> dict[str, Any]:
    frame = svc.store.latest()
    return {} if frame is None else dict(frame.forecast_skill)


def _status(svc: Services) -> tuple[dict[str, Any] | None, float]:
    """The feed status (None where the twin offers none) and the twin's time."""
    try:
        status = svc.commands.query(FEED_STATUS_QUERY)
    except KeyError:  # no such query yet
        status = None
    return status, float(svc.commands.query("time_s"))


def register_callbacks(app: Dash) -> None:
    svc = services(app)

    @app.callback(Output(ids.LEGEND_SKILL, "children"), Input(ids.FRAME_SEQ, "data"))
    def legend_error(_seq):
        return legend_skill(_skill(svc))

    if svc.commands is None:
        return
    guarded = operator_callback(app)

    @guarded(
        Output(ids.FEED_HEALTH, "children"),
        Output(ids.FEED_SKILL, "children"),
        Input(ids.OPS_TICK, "n_intervals"),
        Input(ids.OPS_TAB, "value"),
    )
    def health(_n, tab):
        if tab != "feeds":
            raise PreventUpdate  # a hidden tab costs nothing
        status, now_s = _status(svc)
        return feed_health(status, now_s), skill_table(_skill(svc))

    @guarded(
        Output(ids.FEED_ROAD_CHART, "children"),
        Input(ids.FEED_ROAD, "value"),
        Input(ids.OPS_TICK, "n_intervals"),
        State(ids.OPS_TAB, "value"),
    )
    def road(link_id, _n, tab):
        if tab != "feeds" or link_id is None:
            raise PreventUpdate
        try:
            return road_panel(svc.commands.query("observed_vs_modelled_link", link_id))
        except ActionError as error:  # a value the dropdown never offers
            return refusal(str(error))

    @guarded(
        Output(ids.FEED_CP_CHART, "children"),
        Input(ids.FEED_CP, "value"),
        Input(ids.OPS_TICK, "n_intervals"),
        State(ids.OPS_TAB, "value"),
    )
    def checkpoint(index, _n, tab):
        if tab != "feeds" or index is None:
            raise PreventUpdate
        try:
            data = svc.commands.query("observed_vs_modelled_checkpoint", index)
        except ActionError as error:
            return refusal(str(error))
        return checkpoint_feed_panel(data, _skill(svc))

    @guarded(
        Output(ids.CP_SKILL, "children"),
        Input(ids.CP_SELECT, "value"),
        Input(ids.OPS_TICK, "n_intervals"),
        State(ids.OPS_TAB, "value"),
    )
    def checkpoint_error(index, _n, tab):
        if tab != "checkpoints" or not isinstance(index, int) or isinstance(index, bool):
            raise PreventUpdate
        return wait_error_line(_skill(svc), index)

    @guarded(
        Output(ids.FEED_ROAD, "value"),
        Output(ids.FEED_CP, "value"),
        Input(ids.MAP_CLICK, "data"),
        State(ids.OPS_TAB, "value"),
        State(ids.FEED_ROAD, "options"),
        prevent_initial_call=True,
    )
    def map_pick(click, tab, roads):
        """A click on a road with detectors or on a checkpoint opens its panel in the tab."""
        if tab != "feeds" or not isinstance(click, dict):
            raise PreventUpdate
        kind, key = click.get("kind"), click.get("id")
        offered = {o.get("value") for o in roads or () if isinstance(o, dict)}
        if kind == "road" and isinstance(key, int) and key in offered:
            return key, no_update
        if kind == "checkpoint" and isinstance(key, int) and not isinstance(key, bool):
            return no_update, key
        raise PreventUpdate
