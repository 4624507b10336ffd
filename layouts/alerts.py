"""The alert feed and its workflow (ISA-18.2 / EEMUA 191 habits): severity, time, place,
message, a countdown to a forecast alert's predicted time, acknowledged state (who, when; a flood
group says how many of its alerts are new), shelving with a reason and an expiry, the shelf, the
critical strip shown over every side tab, and the map's home-view control."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from layouts import ids
from twin.clock_text import hhmm
from twin.service.alarms import (
    COUNTING_RULE,  # the KPI tile, the feed's header and the summary count alike
)

SHELVE_REASONS = (
    ("known", "Known cause, being handled"),
    ("planned", "Planned: event traffic or works"),
    ("nuisance", "Nuisance: not a real problem"),
    ("other", "Other (say what)"),
)
SHELVE_MINUTES = ((15, "15 min"), (30, "30 min"), (60, "1 h"), (120, "2 h"), (240, "4 h"))


def clock_state(paused: bool, speed: float) -> str:
    """``PAUSED`` or ``LIVE ×speed``."""
    return "PAUSED" if paused else f"LIVE ×{speed:g}"


def countdown(
    eta_s: float | None, predicted_s: float | None, *, overdue: bool = False
) -> str | None:
    """``in 11 min · 18:29`` until a forecast alert's predicted time, ``due now · 18:29`` in its
    last seconds, ``due 18:29 · not seen yet`` once it has passed (``assets`` keep the text
    counting between redraws: ``alerts_countdown`` in callbacks/alerts.py does the same)."""
    if eta_s is None:
        return None
    minutes = math.ceil(eta_s / 60.0 - 1e-9)
    if predicted_s is None:  # an item without its predicted time (older recordings)
        return f"in {minutes} min" if minutes >= 1 else "due now"
    at = hhmm(predicted_s)
    if overdue:
        return f"due {at} · not seen yet"
    return f"in {minutes} min · {at}" if minutes >= 1 else f"due now · {at}"


def _status(alert: Mapping[str, Any]) -> str | None:
    """The acknowledged state in words: who and when, or how many of a group are new."""
    count, new = alert.get("count", 1), alert.get("new", 0 if alert.get("acked") else 1)
    by = alert.get("acked_by") or ""
    when = f" {hhmm(alert['acked_s'])}" if alert.get("acked_s") is not None else ""
    if count > 1 and 0 < new < count:
        return f"{count - new} acknowledged · {new} new since{when}"
    if alert.get("acked"):
        return f"✓ Acknowledged{' by ' + by if by else ''}{when}"
    if alert.get("returned_s") is not None:
        return f"Back from the shelf at {hhmm(alert['returned_s'])}"
    return None


def _countdown_data(alert: Mapping[str, Any]) -> dict[str, str]:
    """What the page's countdown needs (see ``COUNTDOWN_JS`` in callbacks/alerts.py)."""
    if alert.get("predicted_s") is None:
        return {}
    return {
        "data-predicted-s": f"{alert['predicted_s']:.0f}",
        "data-overdue": "1" if alert.get("overdue") else "0",
    }


def _ack_label(alert: Mapping[str, Any]) -> str:
    if alert.get("acked"):
        return "✓"
    count, new = alert.get("count", 1), alert.get("new", 1)
    return f"ACK {new} new" if count > 1 and 0 < new < count else "ACK"


def alert_item(alert: Mapping[str, Any], *, can_ack: bool = True) -> html.Div:
    """One feed entry; the body flies the map to the place, the buttons acknowledge and shelve
    (shown only when ``can_ack``: the read-only map has none); the note under them says what
    became of the last click."""
    when = countdown(
        alert.get("eta_s"), alert.get("predicted_s"), overdue=bool(alert.get("overdue"))
    )
    count = alert.get("count", 1)
    new = alert.get("new", 0 if alert.get("acked") else 1)
    status = _status(alert)
    places = alert.get("places")
    message = alert["message"]
    if alert.get("overdue"):
        message = f"{message} (still forecast)"
    critical = alert.get("level") == 3
    classes = ["alert", f"sev-{alert['severity']}"]
    classes += ["acked"] if alert.get("acked") else (["unacked"] if new else [])
    if alert.get("overdue"):
        classes.append("overdue")
    return html.Div(
        className=" ".join(classes),
        **{"data-alert-id": str(alert["id"])},
        children=[
            html.Div(
                id={"type": ids.ALERT_ITEM, "id": alert["id"]},
                n_clicks=0,
                className="alert-body",
                title="Show on the map",
                children=[
                    html.Div(
                        className="alert-head",
                        children=[
                            html.Span(alert["severity"].upper(), className="alert-sev"),
                            html.Span(
                                hhmm(alert["raised_s"]), className="alert-time", title="raised at"
                            ),
                            html.Span(when, className="alert-eta", **_countdown_data(alert))
                            if when
                            else None,
                            html.Span(
                                f"×{count}" + (f" · {new} new" if 0 < new < count else ""),
                                className="alert-count",
                                title=f"{count} alerts in this line (each counts in Open alerts)",
                            )
                            if count > 1
                            else None,
                        ],
                    ),
                    html.Div(
                        alert["place"],
                        className="alert-place",
                        title=", ".join(places) if places else alert["place"],
                    ),
                    html.Div(message, className="alert-msg", title=message),
                    html.Div(status, className="alert-status") if status else None,
                ],
            ),
            html.Div(
                className="alert-actions chrome",
                children=[
                    html.Button(
                        _ack_label(alert),
                        n_clicks=0,
                        id={"type": ids.ALERT_ACK, "id": alert["id"]},
                        className="alert-ack",
                        disabled=bool(alert.get("acked")),
                        title="Acknowledged"
                        if alert.get("acked")
                        else "Acknowledge: you have seen it",
                    ),
                    html.Button(
                        "Shelve",
                        n_clicks=0,
                        id={"type": ids.ALERT_SHELVE, "id": alert["id"]},
                        className="alert-shelve",
                        disabled=critical,
                        title="Critical alerts cannot be shelved"
                        if critical
                        else "Take it off the list for a while, with a reason",
                    ),
                ],
            )
            if can_ack
            else None,
            html.Div(
                id={"type": ids.ALERT_NOTE, "id": alert["id"]},
                className="alert-note chrome",
                role="status",
            )
            if can_ack
            else None,
        ],
    )


def alert_feed(alerts: Sequence[Mapping[str, Any]], *, can_ack: bool = True) -> list[html.Div]:
    """The feed, most severe and newest first (the order the alarm book gives)."""
    if not alerts:
        return [html.Div("No open alerts", className="alert-empty")]
    return [alert_item(alert, can_ack=can_ack) for alert in alerts]


def alert_stats(stats: Mapping[str, Any]) -> html.Span | str:
    """The feed's header: open alerts by :data:`COUNTING_RULE` (the KPI tile's number), how
    many are new (not acknowledged), shelved, and the rate of new alerts."""
    if "open" not in stats:
        return ""
    parts = [f"{stats['open']:.0f} open"]
    if stats.get("unacked"):
        parts.append(f"{stats['unacked']:.0f} new")
    if stats.get("shelved"):
        parts.append(f"{stats['shelved']:.0f} shelved")
    rate = stats.get("rate_per_h", math.nan)
    if isinstance(rate, (int, float)) and math.isfinite(rate):
        parts.append(f"{rate:.0f}/h")
    groups = stats.get("groups", 0)
    rule = COUNTING_RULE + (
        f" Now {stats['open']:.0f} alerts in {stats.get('lines', 0):.0f} lines "
        f"({groups:.0f} grouped)."
        if groups
        else ""
    )
    rule += (
        f" {stats.get('raised_total', 0):.0f} raised today; new alerts per hour over the last hour."
    )
    return html.Span(" · ".join(parts), title=rule, className="feed-count")


def feed_digest(alerts: Sequence[Mapping[str, Any]]) -> str:
    """Identity of what the feed shows: it is re-rendered only when this changes (not for
    every change of a number in a message, nor for each minute of a countdown, which the page
    counts itself, so a click on an entry is never lost to a redraw)."""
    return "|".join(
        f"{a['id']}:{a['level']}:{int(bool(a.get('acked')))}:{a.get('count', 1)}:{a.get('new', '')}:"
        f"{'' if a.get('predicted_s') is None else round(a['predicted_s'])}:{int(bool(a.get('overdue')))}"
        for a in alerts
    )


# ------------------------------------------------------------------ what became of a click
def note(text: str, ok: bool) -> html.Span:
    """A line saying what became of a click: done (green) or refused (red, with the reason)."""
    return html.Span(text, className="note-ok" if ok else "note-refused")


def ack_note(result, alert) -> html.Span:
    """What became of an acknowledgement, in the operator's words."""
    if not result.ok:
        return note(f"Not acknowledged: {result.reason}", False)
    count = alert.get("new", 1) if alert.get("count", 1) > 1 else 1
    return note(
        f"✓ Acknowledged {count} alerts (recorded)" if count > 1 else "✓ Acknowledged (recorded)",
        True,
    )


def shelve_note(result, *, place: str = "", unshelve: bool = False) -> html.Span:
    """What became of a shelve or unshelve of the alert at ``place``, in the operator's words."""
    verb = "unshelved" if unshelve else "shelved"
    if not result.ok:
        return note(f"Not {verb}: {result.reason}", False)
    place = place or "the alert"
    count = (result.after or {}).get("count", 1)
    what = f"{count} alerts ({place})" if count > 1 else place
    if unshelve:
        return note(f"Back on the list: {what}, to be acknowledged again", True)
    return note(f"Shelved until {hhmm(result.after['until_s'])}: {what}", True)


# ------------------------------------------------------------------ critical strip
def critical_alerts(alerts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Critical alerts not yet acknowledged (a group with new members among them counts)."""
    return [a for a in alerts if a.get("level") == 3 and a.get("new", 0 if a.get("acked") else 1)]


def critical_strip(alerts: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The compact strip of new critical alerts shown above every side tab (hidden by the
    stylesheet while the Alerts tab is open, which lists them first); empty when none."""
    critical = critical_alerts(alerts)
    if not critical:
        return []
    head = html.Div(
        className="crit-head",
        children=[
            html.Span(f"{len(critical)} new critical", className="crit-title"),
            html.Span("open Alerts to acknowledge", className="crit-hint"),
        ],
    )
    rows = [
        html.Div(
            id={"type": ids.CRIT_ITEM, "id": a["id"]},
            n_clicks=0,
            className="crit-item",
            title=f"{a['place']}: {a['message']} (show on the map, open Alerts)",
            children=[
                html.Span(hhmm(a["raised_s"]), className="crit-time"),
                html.Span(a["place"], className="crit-place"),
                html.Span(a["message"], className="crit-msg"),
            ],
        )
        for a in critical[:3]
    ]
    more = (
        [html.Div(f"+{len(critical) - 3} more", className="crit-more")] if len(critical) > 3 else []
    )
    return [head, *rows, *more]


def critical_digest(alerts: Sequence[Mapping[str, Any]]) -> str:
    return "|".join(f"{a['id']}:{a.get('new', '')}:{a['message']}" for a in critical_alerts(alerts))


def alert_strip() -> html.Div:
    """The container of :func:`critical_strip`, placed above the side tabs."""
    return html.Div(
        className="crit-wrap",
        children=[
            html.Div(id=ids.CRIT_STRIP, className="crit-strip", role="alert"),
            dcc.Store(id=ids.CRIT_DIGEST, data=""),
            dcc.Store(id=ids.ALERT_JS_APPLIED),
        ],
    )


# ------------------------------------------------------------------ shelving and the shelf
def shelved_section(items: Sequence[Mapping[str, Any]], *, can_act: bool = True) -> list[Any]:
    """The shelf: what is shelved, by whom, why, until when; a button puts it back."""
    head = html.Div(
        className="shelf-head",
        children=[
            html.Span("Shelved", className="panel-title"),
            html.Span(
                f"{sum(i.get('count', 1) for i in items)}" if items else "none",
                className="shelf-count",
                title="Shelved alerts are off the list and not counted; each returns, unacknowledged, "
                "when its time runs out or when it escalates",
            ),
        ],
    )
    rows = []
    for item in items:
        count = item.get("count", 1)
        reason = item.get("shelved_reason", "")
        by = item.get("shelved_by", "")
        rows.append(
            html.Div(
                className=f"shelf-item sev-{item['severity']}",
                **{"data-alert-id": str(item["id"])},
                children=[
                    html.Div(
                        className="shelf-text",
                        children=[
                            html.Div(
                                [
                                    html.Span(
                                        item["place"],
                                        className="shelf-place",
                                        title=", ".join(item.get("places") or [item["place"]]),
                                    ),
                                    html.Span(f" ×{count}", className="alert-count")
                                    if count > 1
                                    else None,
                                ]
                            ),
                            html.Div(
                                f"until {hhmm(item['shelved_until_s'])} · {by + ': ' if by else ''}{reason}",
                                className="shelf-why",
                                title=f"{item['message']}\nShelved at "
                                f"{hhmm(item['shelved_s'])}{' by ' + by if by else ''}: {reason}",
                            ),
                        ],
                    ),
                    html.Button(
                        "Unshelve",
                        n_clicks=0,
                        id={"type": ids.SHELF_UNSHELVE, "id": item["id"]},
                        className="alert-shelve chrome",
                        title="Back on the list now",
                    )
                    if can_act
                    else None,
                ],
            )
        )
    return [head, *rows]


def shelf_digest(items: Sequence[Mapping[str, Any]]) -> str:
    return "|".join(f"{i['id']}:{i.get('count', 1)}:{i['shelved_until_s']:.0f}" for i in items)


def shelve_form() -> html.Div:
    """Shelve an alert: a reason (required) and how long; hidden until a Shelve button asks."""
    return html.Div(
        id=ids.SHELVE_FORM,
        className="shelve-form chrome",
        hidden=True,
        children=[
            html.Div(id=ids.SHELVE_TITLE, className="shelve-title"),
            html.Div("Why", className="panel-title"),
            dcc.RadioItems(
                id=ids.SHELVE_REASON,
                className="shelve-reasons",
                value=None,
                options=[{"label": label, "value": key} for key, label in SHELVE_REASONS],
            ),
            dcc.Input(
                id=ids.SHELVE_NOTE,
                type="text",
                maxLength=160,
                debounce=False,
                className="shelve-note",
                placeholder="What is known (required for Other)",
            ),
            html.Div("For how long", className="panel-title"),
            dcc.RadioItems(
                id=ids.SHELVE_MINUTES,
                className="seg",
                inline=True,
                value=30,
                options=[{"label": label, "value": m} for m, label in SHELVE_MINUTES],
            ),
            html.Div(
                className="shelve-buttons",
                children=[
                    html.Button(
                        "Shelve", id=ids.SHELVE_CONFIRM, n_clicks=0, className="btn btn-primary"
                    ),
                    html.Button("Cancel", id=ids.SHELVE_CANCEL, n_clicks=0, className="btn"),
                ],
            ),
        ],
    )


def shelve_reason(choice: str | None, note: str | None) -> str:
    """The recorded reason: the chosen reason and the operator's words (``""`` when neither
    says anything; Other needs words)."""
    note = note.strip() if isinstance(note, str) else ""
    label = dict(SHELVE_REASONS).get(choice, "") if isinstance(choice, str) else ""
    if choice == "other" or not label:
        return note
    return f"{label}: {note}" if note else label


def alert_tools() -> html.Div:
    """Under the feed: the shelve form, the outcome of the last shelve or unshelve, the shelf."""
    return html.Div(
        className="alert-tools",
        children=[
            shelve_form(),
            html.Div(id=ids.SHELVE_MSG, className="shelve-msg", role="status"),
            html.Div(id=ids.SHELF, className="shelf"),
            dcc.Store(id=ids.SHELVE_TARGET),
            dcc.Store(id=ids.SHELF_DIGEST, data=""),
        ],
    )


def home_button() -> html.Button:
    """The map's home-view control: back to the whole area after a fly-to."""
    return html.Button(
        "⌂ Overview",
        id=ids.MAP_HOME,
        n_clicks=0,
        className="map-home chrome",
        title="Back to the overview of the whole area",
    )
