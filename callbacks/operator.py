"""The operator's action panels: the tab that shows one of them, a map click that fills it, and
what the three feature modules share (:mod:`callbacks.signals`, :mod:`callbacks.corridors`,
:mod:`callbacks.checkpoints`).

Every state change goes through :class:`twin.service.commands.CommandPath` (checked, durably
audited, then applied) and every callback of these modules is protected for the ``operator`` role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dash import ClientsideFunction, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.services import services
from layouts import ids
from layouts.checkpoint_panel import checkpoint_options, checkpoint_pane
from layouts.corridor_panel import corridor_pane, hospital_options
from layouts.feed_panel import feed_pane, road_options
from layouts.signal_panel import junction_options, message, signal_pane

if TYPE_CHECKING:
    from pathlib import Path

    import dash

    from callbacks.services import Services
    from twin.service.commands import CommandPath, CommandResult
    from twin.service.live import LiveTwin

PANES = {
    "alerts": ids.ALERTS_PANE,
    "signals": ids.SIG_PANE,
    "corridor": ids.COR_PANE,
    "checkpoints": ids.CP_PANE,
    "feeds": ids.FEED_PANE,
}
OPERATOR = "operator"


def panes(svc: Services) -> list[Any]:
    """The action panels and the feeds panel (static options read once from the twin)."""
    if svc.commands is None:
        return []
    hospitals, rows = svc.commands.query("hospitals"), svc.commands.query("checkpoint_rows")
    return [
        signal_pane(junction_options(svc.scene.signals)),
        corridor_pane(hospital_options(hospitals)),
        checkpoint_pane(checkpoint_options(rows)),
        feed_pane(road_options(svc.commands.query("detector_roads")), checkpoint_options(rows)),
    ]


def note(result: CommandResult, ok_text: str) -> Any:
    """The message line for a command result: refused, applied with a warning, or applied."""
    if not result.ok:
        return message(f"Refused: {result.reason}", "refused")
    if result.warning:
        return message(f"{ok_text} — warning: {result.warning}", "warn")
    return message(ok_text, "ok")


def operator_callback(app: dash.Dash) -> Callable[..., Callable[[Callable], Callable]]:
    """A decorator like ``app.callback`` that also allows the callback to operators only."""
    from callbacks.auth import protect

    def callback(*args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
        def wrap(fn: Callable) -> Callable:
            registered = app.callback(*args, **kwargs)(fn)
            protect(app, fn, roles=OPERATOR)
            return registered

        return wrap

    return callback


def register_callbacks(app: dash.Dash) -> None:
    svc = services(app)
    if svc.commands is None:
        return
    guarded = operator_callback(app)
    app.clientside_callback(
        ClientsideFunction(namespace="vt", function_name="update"),
        Output(ids.MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.MAP_PREVIEW, "data"),
        prevent_initial_call=True,
    )

    @guarded(
        [Output(pane, "hidden") for pane in PANES.values()]
        + [Output(ids.SIDE, "className"), Output(ids.PREVIEW_STATE, "data", allow_duplicate=True)],
        Input(ids.OPS_TAB, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def show_tab(tab):
        tab = tab if tab in PANES else "alerts"
        end_preview = None if ctx.triggered_id else no_update  # another tab ends a preview
        return [key != tab for key in PANES] + [
            "side" if tab == "alerts" else "side side-wide",
            end_preview,
        ]

    @guarded(
        Output(ids.SIG_NODE, "value"),
        Output(ids.COR_LAT, "value"),
        Output(ids.COR_LON, "value"),
        Output(ids.CP_SELECT, "value"),
        Input(ids.MAP_CLICK, "data"),
        State(ids.OPS_TAB, "value"),
        prevent_initial_call=True,
    )
    def map_pick(click, tab):
        if not click:
            raise PreventUpdate
        out = [no_update] * 4
        if tab == "signals" and click.get("kind") == "junction":
            out[0] = int(click["id"])
        elif tab == "corridor" and click.get("coordinate"):
            out[1], out[2] = round(click["coordinate"][1], 6), round(click["coordinate"][0], 6)
        elif tab == "checkpoints" and click.get("kind") == "checkpoint":
            out[3] = int(click["id"])
        return out


def command_path(
    live: LiveTwin | None, config: dict[str, Any], *, default_db: str | Path
) -> CommandPath | None:
    """The app's :class:`CommandPath` (None for a read-only web worker). Its audit log is the
    sign-in database when sign-in is on (one log for the admin page), else ``audit_db`` or
    ``default_db``."""
    if live is None:
        return None
    from twin.service.audit import AuditLog
    from twin.service.commands import CommandPath

    return CommandPath(
        live, AuditLog(config.get("auth_db") or config.get("audit_db") or default_db)
    )
