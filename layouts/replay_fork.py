"""The replay page's fork and compare panes: the fork form, the changes added, the runs in
progress and the comparison of a fork with its day. Pure builders."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from layouts import ids
from layouts.replay_day import changes_text, describe_input, hhmm

FORK_TYPES = (
    ("signals", "Signal plan"),
    ("lanes", "Checkpoint lanes"),
    ("corridor", "Corridor dispatch"),
    ("recorded", "Drop or move a recorded action"),
)
UNTIL = (("end", "the end of the day"), ("3600", "+1 h"), ("7200", "+2 h"), ("10800", "+3 h"))
DEFAULT_INCIDENT = (37.5183, 127.1152)  # by the park's World Peace Gate


def _field(label: str, control: Any, *, grow: bool = False) -> html.Label:
    return html.Label([label, control], className=f"field{' rp-field-grow' if grow else ''}")


def _form(kind: str, children: list[Any], *, hidden: bool = True) -> html.Div:
    return html.Div(
        id={"type": ids.RP_FORK_FORM, "kind": kind},
        className="rp-fork-form",
        hidden=hidden,
        children=children,
    )


def fork_pane(
    *,
    junctions: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    hospitals: list[dict[str, Any]],
) -> list[Any]:
    """The fork form: what to change at the fork minute, the list of changes, name, span, run."""
    return [
        html.Div(
            ["Fork the day at ", html.Span("--:--", id=ids.RP_FORK_AT, className="rp-fork-at")],
            className="rp-fork-title",
        ),
        html.Div(
            "Change decisions from this minute and re-run the rest of the day in the background. "
            "Move the replay time to choose the minute.",
            className="ops-hint",
        ),
        dcc.RadioItems(
            id=ids.RP_FORK_TYPE,
            className="seg rp-fork-types",
            value="lanes",
            options=[{"label": label, "value": key} for key, label in FORK_TYPES],
        ),
        _form(
            "signals",
            [
                dcc.Dropdown(
                    id=ids.RP_FK_NODE,
                    options=junctions,
                    placeholder="Junction",
                    className="ops-dropdown",
                    clearable=False,
                ),
                html.Div(id=ids.RP_FK_PLAN, className="sig-plan-text"),
                html.Div(
                    className="field-row",
                    children=[
                        _field(
                            "cycle (s)",
                            dcc.Input(
                                id=ids.RP_FK_CYCLE, type="number", min=30, max=240, className="num"
                            ),
                        ),
                        _field(
                            "greens (s, per phase)",
                            dcc.Input(
                                id=ids.RP_FK_GREENS,
                                type="text",
                                className="num wide",
                                placeholder="60, 50",
                            ),
                        ),
                        _field(
                            "offset (s)",
                            dcc.Input(
                                id=ids.RP_FK_OFFSET, type="number", min=0, value=0, className="num"
                            ),
                        ),
                    ],
                ),
            ],
        ),
        _form(
            "lanes",
            [
                dcc.Dropdown(
                    id=ids.RP_FK_CHECKPOINT,
                    options=checkpoints,
                    placeholder="Checkpoint",
                    className="ops-dropdown",
                    clearable=False,
                ),
                html.Div(id=ids.RP_FK_LANES_NOW, className="sig-plan-text"),
                html.Div(
                    className="field-row",
                    children=[
                        _field(
                            "lane type",
                            dcc.RadioItems(
                                id=ids.RP_FK_LANE_TYPE,
                                className="seg",
                                value="face",
                                inline=True,
                                options=[
                                    {"label": "face recognition", "value": "face"},
                                    {"label": "manual", "value": "manual"},
                                ],
                            ),
                        ),
                        _field(
                            "lanes open",
                            dcc.Input(
                                id=ids.RP_FK_COUNT, type="number", min=0, step=1, className="num"
                            ),
                        ),
                    ],
                ),
            ],
            hidden=False,
        ),
        _form(
            "corridor",
            [
                html.Div(
                    "An ambulance from the incident to a hospital, with signal pre-emption on its route.",
                    className="ops-hint",
                ),
                html.Div(
                    className="field-row",
                    children=[
                        _field(
                            "lat",
                            dcc.Input(
                                id=ids.RP_FK_LAT,
                                type="number",
                                step="any",
                                value=DEFAULT_INCIDENT[0],
                                className="num wide",
                            ),
                        ),
                        _field(
                            "lon",
                            dcc.Input(
                                id=ids.RP_FK_LON,
                                type="number",
                                step="any",
                                value=DEFAULT_INCIDENT[1],
                                className="num wide",
                            ),
                        ),
                    ],
                ),
                dcc.Dropdown(
                    id=ids.RP_FK_HOSPITAL,
                    options=hospitals,
                    value=hospitals[0]["value"] if hospitals else None,
                    className="ops-dropdown",
                    clearable=False,
                ),
            ],
        ),
        _form(
            "recorded",
            [
                dcc.Dropdown(
                    id=ids.RP_FK_ACTION,
                    options=[],
                    placeholder="A recorded action after the fork minute",
                    className="ops-dropdown",
                    clearable=False,
                ),
                html.Div(
                    className="field-row",
                    children=[
                        _field(
                            "",
                            dcc.RadioItems(
                                id=ids.RP_FK_OP,
                                className="seg",
                                value="drop",
                                inline=True,
                                options=[
                                    {"label": "drop it", "value": "drop"},
                                    {"label": "move it to", "value": "move"},
                                ],
                            ),
                        ),
                        _field(
                            "time (HH:MM)",
                            dcc.Input(
                                id=ids.RP_FK_MOVE_TO,
                                type="text",
                                className="num",
                                placeholder="19:10",
                            ),
                        ),
                    ],
                ),
            ],
        ),
        html.Div(
            className="ops-buttons",
            children=[html.Button("Add change", id=ids.RP_FORK_ADD, n_clicks=0, className="btn")],
        ),
        html.Div(id=ids.RP_FORK_LIST, className="rp-fork-list", children=change_list([], {})),
        html.Div(
            className="field-row",
            children=[
                _field(
                    "name",
                    dcc.Input(
                        id=ids.RP_FORK_NAME,
                        type="text",
                        className="num wide",
                        maxLength=80,
                        placeholder="e.g. two more lanes at KSPO Dome",
                    ),
                    grow=True,
                ),
                _field(
                    "run until",
                    dcc.Dropdown(
                        id=ids.RP_FORK_UNTIL,
                        value="end",
                        clearable=False,
                        className="ops-dropdown rp-until",
                        options=[{"label": label, "value": key} for key, label in UNTIL],
                    ),
                ),
            ],
        ),
        html.Div(
            className="ops-buttons",
            children=[
                html.Button("Run fork", id=ids.RP_FORK_RUN, n_clicks=0, className="btn btn-primary")
            ],
        ),
        html.Div(id=ids.RP_FORK_MSG, className="ops-msg"),
        html.Div(id=ids.RP_JOB_LIST, className="rp-jobs"),
    ]


def change_list(
    changes: Sequence[Mapping[str, Any]], names: Mapping[str, Mapping[Any, str]]
) -> list[Any]:
    """The changes added so far, each with a remove button."""
    if not changes:
        return [html.Div("No change yet: pick one above and add it.", className="ops-hint")]
    return [
        html.Div(
            className="rp-change",
            children=[
                html.Span(change_label(change, names), className="rp-change-text"),
                html.Button(
                    "×",
                    id={"type": ids.RP_FORK_REMOVE, "index": n},
                    n_clicks=0,
                    className="btn btn-small",
                    title="Remove this change",
                ),
            ],
        )
        for n, change in enumerate(changes)
    ]


def change_label(change: Mapping[str, Any], names: Mapping[str, Mapping[Any, str]]) -> str:
    """One line for a change of the fork form."""
    try:
        return _change_label(change, names)
    except (TypeError, ValueError, KeyError, AttributeError):
        return "a change the twin will check when the fork runs"


def _change_label(change: Mapping[str, Any], names: Mapping[str, Mapping[Any, str]]) -> str:
    if change.get("type") == "action":
        action = change.get("action") if isinstance(change.get("action"), Mapping) else {}
        return describe_input(
            {"name": action.get("kind"), "payload": action, "kind": "action"}, names
        )
    if change.get("type") == "drop":
        return f"Drop {change.get('label', '#' + str(change.get('seq')))}"
    return f"Move {change.get('label', '#' + str(change.get('seq')))} to {hhmm(change.get('to_s'))}"


def recorded_options(
    inputs: Sequence[Mapping[str, Any]], after_s: float, names: Mapping[str, Mapping[Any, str]]
) -> list[dict[str, Any]]:
    """The recorded operator actions after ``after_s`` a fork may drop or move."""
    return [
        {
            "label": f"#{i['seq']} {hhmm(i['sim_time_s'])} {i.get('user', '')}: {describe_input(i, names)}",
            "value": int(i["seq"]),
        }
        for i in inputs
        if i["kind"] == "action" and i["result"] == "ok" and i["sim_time_s"] > after_s + 1e-9
    ]


def _queue_label(position: int) -> str:
    """A queued fork's place: how many run or wait before it."""
    if not position:
        return "next in the queue"
    return f"queued: {position} fork{'s' if position > 1 else ''} before this one"


def job_list(jobs: Sequence[Mapping[str, Any]]) -> list[Any]:
    """This page's fork runs: progress while running, a link to the result when done."""
    out = []
    for job in jobs:
        state = job["state"]
        head = html.Div(
            [
                html.Span(job["name"], className="rp-job-name"),
                html.Span(
                    f" from {hhmm(job['at_s'])} to {hhmm(job['until_s'])}", className="rp-day-meta"
                ),
            ]
        )
        if state in ("queued", "running", "comparing"):
            label = {
                "queued": _queue_label(job.get("position", 0)),
                "running": "running",
                "comparing": "comparing with the day",
            }[state]
            out.append(
                html.Div(
                    className="rp-job",
                    **{"data-state": state},
                    children=[
                        head,
                        html.Div(
                            className="rp-progress",
                            children=[
                                html.Div(
                                    className="rp-progress-bar",
                                    style={"width": f"{100 * job['progress']:.0f}%"},
                                )
                            ],
                        ),
                        html.Div(
                            f"{label} · {100 * job['progress']:.0f} %", className="rp-day-meta"
                        ),
                    ],
                )
            )
        elif state == "done":
            out.append(
                html.Div(
                    className="rp-job",
                    **{"data-state": state},
                    children=[
                        head,
                        dcc.Link(
                            "Open the fork and compare",
                            className="btn btn-primary rp-job-open",
                            href=f"/replay?day={job['fork_id']}&t={hhmm(job['at_s'])}",
                        ),
                    ],
                )
            )
        else:
            out.append(
                html.Div(
                    className="rp-job",
                    **{"data-state": state},
                    children=[
                        head,
                        html.Div(
                            f"Failed: {job.get('error', '')}", className="ops-note ops-refused"
                        ),
                    ],
                )
            )
    return out


# ---------------------------------------------------------------- compare
def _fmt(key: str, value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if key in ("worst_wait_s", "mean_wait_s", "ambulance_eta_s"):
        return f"{value / 60:,.1f} min"
    if key == "share_under_target":
        return f"{100 * value:.0f} %"
    if key == "peak_density_ppm2":
        return f"{value:.2f} p/m²"
    if key == "mean_speed_kph":
        return f"{value:.1f} km/h"
    if key == "total_delay_vehh":
        return f"{value:,.0f} veh·h"
    return f"{value:,.0f} min" if key == "crush_minutes" else f"{value:,.1f}"


def _diff(key: str, value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) < 1e-9:
        return "0"
    text = _fmt(key, abs(value))
    return ("+" if value > 0 else "−") + (
        text if key != "share_under_target" else f"{100 * abs(value):.0f} pt"
    )


def compare_table(result: Mapping[str, Any]) -> html.Table:
    """:func:`twin.service.replay.compare`'s rows: figure, original, fork, difference (green better, red worse)."""
    return html.Table(
        className="ops-table rp-compare-table",
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th("over the fork's span"),
                        html.Th("original"),
                        html.Th("fork"),
                        html.Th("difference"),
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        className=f"verdict-{row['verdict']}",
                        **{"data-key": row["key"]},
                        children=[
                            html.Td(_label(row)),
                            html.Td(
                                _fmt(row["key"], row["original"]),
                                **{"data-value": _num(row["original"])},
                            ),
                            html.Td(
                                _fmt(row["key"], row["fork"]), **{"data-value": _num(row["fork"])}
                            ),
                            html.Td(
                                _diff(row["key"], row["difference"]),
                                className={"better": "good", "worse": "bad"}.get(
                                    row["verdict"], ""
                                ),
                            ),
                        ],
                    )
                    for row in result["rows"]
                ]
            ),
        ],
    )


def _label(row: Mapping[str, Any]) -> str:
    """The twin's label, with the unit the table shows (waits and trips in minutes)."""
    minutes = row["key"] in ("worst_wait_s", "mean_wait_s", "ambulance_eta_s")
    return row["label"].replace("(s)", "(min)") if minutes else row["label"]


def short_name(name: str) -> str:
    """A checkpoint's name without the park's name and the word entrance (tables are narrow)."""
    for noise in ("Seoul Olympic Park ", "Olympic Park ", " entrance", " checkpoint"):
        name = name.replace(noise, "")
    return name


def _num(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def checkpoint_table(rows: Sequence[Mapping[str, Any]], changed: set[int]) -> html.Table:
    """Each checkpoint's worst wait after the fork minute, original against fork (the mean
    waits in the row's hover text)."""

    def cell(value: float) -> html.Td:
        return html.Td(
            _fmt("worst_wait_s", value).replace(" min", ""), **{"data-value": _num(value)}
        )

    body = []
    for row in rows:
        worst_a, worst_b = row["original_worst_s"], row["fork_worst_s"]
        diff = worst_b - worst_a if math.isfinite(worst_a) and math.isfinite(worst_b) else math.nan
        verdict = (
            "" if not math.isfinite(diff) or abs(diff) < 1 else ("good" if diff < 0 else "bad")
        )
        means = (
            f"mean wait {_fmt('mean_wait_s', row['original_mean_s'])} in the original, "
            f"{_fmt('mean_wait_s', row['fork_mean_s'])} in the fork"
        )
        body.append(
            html.Tr(
                className=f"rp-cp-row{' changed' if row['checkpoint_id'] in changed else ''}",
                title=f"{row['name']}: {means}",
                **{"data-checkpoint": str(row["checkpoint_id"])},
                children=[
                    html.Td(short_name(row["name"])),
                    cell(worst_a),
                    cell(worst_b),
                    html.Td(_diff("worst_wait_s", diff).replace(" min", ""), className=verdict),
                ],
            )
        )
    return html.Table(
        className="ops-table rp-compare-table rp-cp-table",
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th("worst wait (min)"),
                        html.Th("original"),
                        html.Th("fork"),
                        html.Th("difference"),
                    ]
                )
            ),
            html.Tbody(body),
        ],
    )


def compare_view(
    result: Mapping[str, Any] | None,
    *,
    fork: Mapping[str, Any] | None,
    original: Mapping[str, Any] | None,
    names: Mapping[str, Mapping[Any, str]],
    forks: Sequence[Mapping[str, Any]] = (),
    error: str = "",
) -> list[Any]:
    """The compare pane: a fork against its day, or (for a day) its forks to open."""
    if fork is None:
        if not forks:
            return [
                html.Div(
                    "This day has no forks yet. Use “Fork here” to re-run it from any minute with other "
                    "decisions; the fork is then compared with the day here.",
                    className="ops-hint",
                )
            ]
        return [
            html.Div("Forks of this day", className="panel-title"),
            *(
                dcc.Link(
                    [
                        html.Div(f["name"], className="rp-day-name"),
                        html.Div(
                            f"from {hhmm(f.get('fork_at_s'))} · "
                            + "; ".join(changes_text(f.get("changes"), names)),
                            className="rp-day-meta",
                        ),
                    ],
                    href=f"/replay?day={f['id']}&t={hhmm(f.get('fork_at_s'))}",
                    className="rp-day rp-day-fork",
                )
                for f in forks
            ),
        ]
    head = [
        html.Div(
            className="rp-compare-head",
            children=[
                html.Div(
                    [
                        html.Span("fork ", className="rp-day-meta"),
                        html.Span(fork.get("name", ""), className="rp-day-name"),
                    ]
                ),
                html.Div(
                    [
                        html.Span("against ", className="rp-day-meta"),
                        dcc.Link(
                            original.get("name", "") if original else "its day",
                            className="rp-link",
                            href=f"/replay?day={fork.get('parent')}&t={hhmm(fork.get('fork_at_s'))}",
                        ),
                    ]
                ),
            ],
        ),
        html.Div(
            [
                html.Div(line, className="rp-day-change")
                for line in changes_text(
                    fork.get("changes"), names, (original or {}).get("inputs", ())
                )
            ],
            className="rp-compare-changes",
        ),
    ]
    if error:
        return [*head, html.Div(error, className="ops-note ops-refused")]
    if result is None:
        return [*head, html.Div("Comparing with the day…", className="ops-hint rp-comparing")]
    changed = {
        int(a["action"]["checkpoint_id"])
        for a in (fork.get("changes") or {}).get("add", ())
        if (a.get("action") or {}).get("kind") == "set_lanes"
    }
    return [
        *head,
        html.Div(
            f"From {hhmm(result['from_s'])} to {hhmm(result['to_s'])}", className="panel-title"
        ),
        compare_table(result),
        html.Div(f"Checkpoint waits after {hhmm(result['from_s'])}", className="panel-title"),
        checkpoint_table(result.get("checkpoints", ()), changed),
        html.Div(
            "The day charts show the fork (solid) over the original (dotted). On the map, choose "
            "“Δ delay vs original” to colour each road by the change in delay at the replay time.",
            className="ops-hint",
        ),
    ]
