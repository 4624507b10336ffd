"""The once-a-second refresh: the latest frame's map values, KPIs, clock and alert feed; the
clock controls (pause, speed: admins only, after a confirmation; checked on the server, and
recorded and audited by the command path)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.auth import current_user, protect
from callbacks.services import services, who
from layouts import ids
from layouts.alerts import alert_feed, alert_stats, feed_digest
from layouts.clock import clock_state_text, day_clock, day_over_banner, kiosk_clock
from layouts.deck import dynamic_rows, encode_update, layer_values, peak_density_place
from layouts.kpis import kpi_strip
from twin.service.queries import day_over, event_day_of

if TYPE_CHECKING:
    from callbacks.services import Services
    from twin.service.store import Frame

OPERATOR_ROLES = ("operator",)
CLOCK_ROLES = ("admin",)  # a pause or a new speed changes every screen: the admin's decision


def _map_update(svc: Services, frame: Frame, horizons: tuple, toggles, digests) -> tuple:
    """The map's changed values (``no_update`` when nothing changed) and the new digests."""
    values = layer_values(
        svc.scene, frame, horizon_s=int(horizons[0] or 900), heat_horizon_s=int(horizons[1] or 0)
    )
    message, new_digests = encode_update(
        values, dynamic_rows(svc.scene, frame), digests, visible=set(toggles or ())
    )
    return (message if message["values"] or message["rows"] else no_update), new_digests


def _kpis_and_clock(svc: Services, frame: Frame, day: dict) -> tuple:
    """KPI strip, header clock, kiosk clock and clock state; the day-over state once the event
    day is over (read from the frame: its time and spectators on site)."""
    time_s = frame.view.time_s
    over = day_over(day, time_s, frame.kpis.get("spectators_on_site", math.nan))
    peak = frame.kpis.get("peak_density_ppm2", 0.0)
    where = {"peak_density_ppm2": peak_density_place(svc.scene, frame.view)} if peak >= 0.05 else {}
    strip = kpi_strip(frame.kpis, frame.history, where=where)
    state = clock_state_text(
        paused=frame.paused,
        speed=frame.speed,
        mode=frame.mode,
        change=frame.clock_change,
        day_over=over,
    )
    return (
        [day_over_banner(day), *strip] if over else strip,
        day_clock(day, time_s, seconds=True, over=over),
        kiosk_clock(day, time_s, over=over),
        state,
    )


def _feed(frame: Frame, seen_digest: str) -> tuple:
    """The alert feed (``no_update`` when unchanged) and its digest."""
    digest = feed_digest(frame.alerts)
    user = current_user()  # None without sign-in: everyone may act
    can_ack = user is None or user.role in OPERATOR_ROLES
    feed = alert_feed(frame.alerts, can_ack=can_ack) if digest != seen_digest else no_update
    return feed, digest


def register_callbacks(app) -> None:
    svc = services(app)
    day = event_day_of(svc.scenario) if svc.scenario is not None else {"end_s": None}

    @app.callback(
        Output(ids.MAP_UPDATE, "data"),
        Output(ids.MAP_DIGESTS, "data"),
        Output(ids.FRAME_SEQ, "data"),
        Output(ids.KPI_STRIP, "children"),
        Output(ids.CLOCK, "children"),
        Output(ids.KIOSK_CLOCK, "children"),
        Output(ids.CLOCK_STATE, "children"),
        Output(ids.ALERT_FEED, "children"),
        Output(ids.ALERT_DIGEST, "data"),
        Output(ids.ALERT_STATS, "children"),
        Input(ids.TICK, "n_intervals"),
        Input(ids.HORIZON, "value"),
        Input(ids.HEAT_HORIZON, "value"),
        Input(ids.LAYERS, "value"),
        State(ids.FRAME_SEQ, "data"),
        State(ids.MAP_DIGESTS, "data"),
        State(ids.ALERT_DIGEST, "data"),
        running=[(Output(ids.TICK, "disabled"), True, False)],  # one refresh in flight per page
    )
    def refresh(_tick, horizon_s, heat_horizon_s, toggles, seq, digests, alert_digest):
        frame = svc.store.latest()
        if frame is None or (frame.version == seq and ctx.triggered_id == ids.TICK):
            raise PreventUpdate  # nothing new (a paused twin's heartbeat included): no redraw
        map_message, new_digests = _map_update(
            svc, frame, (horizon_s, heat_horizon_s), toggles, digests
        )
        feed, digest = _feed(frame, alert_digest)
        return (
            map_message,
            new_digests,
            frame.version,
            *_kpis_and_clock(svc, frame, day),
            feed,
            digest,
            alert_stats(frame.alert_stats),
        )

    @app.callback(
        Output(ids.PAUSE, "children"),
        Output(ids.CLOCK_MSG, "children"),
        Input(ids.PAUSE_CONFIRM, "submit_n_clicks"),
        prevent_initial_call=True,
    )
    def toggle_pause(_confirmed):
        if svc.commands is None:
            raise PreventUpdate
        result = svc.commands.clock(
            paused=not svc.live.paused, **who()
        )  # recorded, audited, applied
        return "Resume" if svc.live.paused else "Pause", _clock_note(result)

    @app.callback(
        Output(ids.SPEED_CONFIRM, "displayed"),
        Output(ids.SPEED_CONFIRM, "message"),
        Input(ids.SPEED, "value"),
        prevent_initial_call=True,
    )
    def ask_speed(speed):
        if svc.live is None or not isinstance(speed, (int, float)) or speed == svc.live.speed:
            raise PreventUpdate
        return (
            True,
            f"Run the simulation at ×{speed:g} on every screen? It is recorded with your name.",
        )

    @app.callback(
        Output(ids.CLOCK_MSG, "children", allow_duplicate=True),
        Output(ids.SPEED, "value"),
        Input(ids.SPEED_CONFIRM, "submit_n_clicks"),
        Input(ids.SPEED_CONFIRM, "cancel_n_clicks"),
        State(ids.SPEED, "value"),
        prevent_initial_call=True,
    )
    def set_speed(_confirmed, _cancelled, speed):
        if svc.commands is None:
            raise PreventUpdate
        if f"{ids.SPEED_CONFIRM}.cancel_n_clicks" in ctx.triggered_prop_ids:
            return "", svc.live.speed
        result = svc.commands.clock(
            speed=speed, **who()
        )  # a speed the screen does not offer is refused
        return _clock_note(result), svc.live.speed

    for control in (toggle_pause, ask_speed, set_speed):
        protect(app, control, roles=CLOCK_ROLES)


def _clock_note(result) -> str:
    if not result.ok:
        return f"Refused: {result.reason}"
    return (
        f"{result.kind.capitalize()}: recorded (audit #{result.audit_id})"
        if result.audit_id
        else result.kind
    )
