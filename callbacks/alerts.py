"""The alert workflow: a click flies the map to the alert (and the home button back to the
overview); the buttons acknowledge and shelve (operators only, checked on the server; every
change goes through the command path, so it is audited with the user and recorded), and each
says what became of it; the shelf and the critical strip follow the frames."""

from __future__ import annotations

import math
from typing import Any

from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.auth import current_user, protect
from callbacks.services import Services, services, who
from layouts import ids
from layouts.alerts import (
    ack_note,
    critical_digest,
    critical_strip,
    note,
    shelf_digest,
    shelve_note,
    shelve_reason,
    shelved_section,
)

OPERATOR_ROLES = ("operator",)
FLY_ZOOM = 16.0

# Keeps each forecast countdown ("in 11 min · 18:29") counting with the page's clock between
# redraws of the feed (which happen only when what it lists changes); the words are those of
# layouts.alerts.countdown.
COUNTDOWN_JS = """
function (clockText) {
    var m = /(\\d\\d):(\\d\\d):(\\d\\d)$/.exec(clockText || '');  // "Sat 21 Nov · 18:40:05"
    if (!m) { return window.dash_clientside.no_update; }
    var now = (+m[1]) * 3600 + (+m[2]) * 60 + (+m[3]);
    var hhmm = function (s) {
        var t = Math.floor(s) % 86400, h = Math.floor(t / 3600), mi = Math.floor(t % 3600 / 60);
        return (h < 10 ? '0' : '') + h + ':' + (mi < 10 ? '0' : '') + mi;
    };
    document.querySelectorAll('.alert-eta[data-predicted-s]').forEach(function (el) {
        var at = parseFloat(el.getAttribute('data-predicted-s'));
        var t = now + (at - now > 43200 ? 86400 : 0);  // the clock ran past midnight
        var eta = at - t, text;
        if (el.getAttribute('data-overdue') === '1' || eta < 0) {
            text = 'due ' + hhmm(at) + ' · not seen yet';
        } else {
            var minutes = Math.ceil(eta / 60 - 1e-9);
            text = minutes >= 1 ? 'in ' + minutes + ' min · ' + hhmm(at) : 'due now · ' + hhmm(at);
        }
        if (el.textContent !== text) { el.textContent = text; }
    });
    return window.dash_clientside.no_update;
}
"""

# A click on the critical strip opens the Alerts tab (when the page has tabs).
OPEN_ALERTS_TAB_JS = """
function (clicks) {
    if ((clicks || []).some(function (n) { return n; })) {
        var tab = document.querySelector('.ops-tabs input[value="alerts"]');
        if (tab && !tab.checked) { tab.click(); }
    }
    return window.dash_clientside.no_update;
}
"""


def _shelve_form(svc: Services, alert_id: Any) -> tuple[Any, ...]:
    """Open the shelve form for ``alert_id`` (hidden, target, title, message), or say that the
    alert has left the list."""
    frame = svc.store.latest()
    alert = next((a for a in frame.alerts if a["id"] == alert_id), None) if frame else None
    if alert is None:
        gone = note("Not shelved: the alert has left the list (it may have cleared)", False)
        return True, None, no_update, gone
    count = alert.get("count", 1)
    title = f"Shelve {count} alerts: {alert['place']}" if count > 1 else f"Shelve: {alert['place']}"
    return False, {"id": alert_id, "group": count > 1, "place": alert["place"]}, title, ""


def _clicked_id() -> int:
    if not ctx.triggered or not ctx.triggered[0]["value"] or not isinstance(ctx.triggered_id, dict):
        raise PreventUpdate  # a feed redraw, not a click
    return int(ctx.triggered_id["id"])


def _can_act() -> bool:
    user = current_user()  # None without sign-in: everyone may act
    return user is None or user.role in OPERATOR_ROLES


def register_callbacks(app) -> None:
    svc = services(app)

    @app.callback(
        Output(ids.MAP_FLY, "data"),
        Input({"type": ids.ALERT_ITEM, "id": ALL}, "n_clicks"),
        Input({"type": ids.CRIT_ITEM, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def fly_to_alert(_clicks, _strip_clicks):
        alert_id = _clicked_id()
        frame = svc.store.latest()
        alert = next((a for a in frame.alerts if a["id"] == alert_id), None) if frame else None
        if alert is None or not (math.isfinite(alert["lon"]) and math.isfinite(alert["lat"])):
            raise PreventUpdate
        return {
            "longitude": alert["lon"],
            "latitude": alert["lat"],
            "zoom": FLY_ZOOM,
            "id": alert_id,
        }

    app.clientside_callback(
        ClientsideFunction(namespace="vt", function_name="home"),
        Output(ids.MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.MAP_HOME, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        COUNTDOWN_JS,
        Output(ids.ALERT_JS_APPLIED, "data"),
        Input(ids.CLOCK, "children"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        OPEN_ALERTS_TAB_JS,
        Output(ids.ALERT_JS_APPLIED, "data", allow_duplicate=True),
        Input({"type": ids.CRIT_ITEM, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output({"type": ids.ALERT_NOTE, "id": MATCH}, "children"),
        Output({"type": ids.ALERT_ACK, "id": MATCH}, "children"),
        Output({"type": ids.ALERT_ACK, "id": MATCH}, "disabled"),
        Input({"type": ids.ALERT_ACK, "id": MATCH}, "n_clicks"),
        prevent_initial_call=True,
    )
    def acknowledge(clicks):
        if not clicks:
            raise PreventUpdate  # a feed redraw, not a click
        alert_id = int(ctx.triggered_id["id"])
        frame = svc.store.latest()
        if svc.commands is None or frame is None:
            return (
                note("Not acknowledged: the twin is not running here", False),
                no_update,
                no_update,
            )
        alert = next((a for a in frame.alerts if a["id"] == alert_id), {})
        result = svc.commands.acknowledge(alert_id, group=alert.get("count", 1) > 1, **who())
        return ack_note(result, alert), ("✓" if result.ok else no_update), result.ok

    protect(app, acknowledge, roles=OPERATOR_ROLES)

    @app.callback(
        Output(ids.SHELVE_FORM, "hidden"),
        Output(ids.SHELVE_TARGET, "data"),
        Output(ids.SHELVE_TITLE, "children"),
        Output(ids.SHELVE_MSG, "children"),
        Input({"type": ids.ALERT_SHELVE, "id": ALL}, "n_clicks"),
        Input(ids.SHELVE_CONFIRM, "n_clicks"),
        Input(ids.SHELVE_CANCEL, "n_clicks"),
        State(ids.SHELVE_TARGET, "data"),
        State(ids.SHELVE_REASON, "value"),
        State(ids.SHELVE_NOTE, "value"),
        State(ids.SHELVE_MINUTES, "value"),
        prevent_initial_call=True,
    )
    def shelve(_asks, _confirm, _cancel, target, choice, words, minutes):
        trigger = ctx.triggered_id
        if trigger == ids.SHELVE_CANCEL:
            return True, None, no_update, ""
        if trigger == ids.SHELVE_CONFIRM:
            if not isinstance(target, dict) or "id" not in target or svc.commands is None:
                raise PreventUpdate  # no alert chosen (or not what this page sent)
            result = svc.commands.shelve(
                target["id"],
                reason=shelve_reason(choice, words),
                minutes=minutes,
                group=target.get("group") is True,
                **who(),
            )
            keep = no_update
            note_ = shelve_note(result, place=str(target.get("place", "")))
            return (True, None, keep, note_) if result.ok else (keep, keep, keep, note_)
        return _shelve_form(svc, _clicked_id())

    protect(app, shelve, roles=OPERATOR_ROLES)

    @app.callback(
        Output(ids.SHELVE_MSG, "children", allow_duplicate=True),
        Input({"type": ids.SHELF_UNSHELVE, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def unshelve(_clicks):
        alert_id = _clicked_id()
        frame = svc.store.latest()
        if svc.commands is None or frame is None:
            raise PreventUpdate
        shelf = frame.alert_stats.get("shelved_items", ())
        place = next((item["place"] for item in shelf if alert_id in item.get("ids", ())), "")
        return shelve_note(svc.commands.unshelve(alert_id, **who()), place=place, unshelve=True)

    protect(app, unshelve, roles=OPERATOR_ROLES)

    @app.callback(
        Output(ids.CRIT_STRIP, "children"),
        Output(ids.CRIT_DIGEST, "data"),
        Output(ids.SHELF, "children"),
        Output(ids.SHELF_DIGEST, "data"),
        Input(ids.FRAME_SEQ, "data"),
        State(ids.CRIT_DIGEST, "data"),
        State(ids.SHELF_DIGEST, "data"),
    )
    def strip_and_shelf(_seq, crit_seen, shelf_seen):
        frame = svc.store.latest()
        if frame is None:
            raise PreventUpdate
        shelf = tuple(frame.alert_stats.get("shelved_items", ()))
        crit, shelf_key = critical_digest(frame.alerts), f"{int(_can_act())}|{shelf_digest(shelf)}"
        if crit == crit_seen and shelf_key == shelf_seen:
            raise PreventUpdate  # redrawn only when what they list changes: no click is lost
        return (
            (critical_strip(frame.alerts), crit) if crit != crit_seen else (no_update, no_update)
        ) + (
            (shelved_section(shelf, can_act=_can_act()), shelf_key)
            if shelf_key != shelf_seen
            else (no_update, no_update)
        )
