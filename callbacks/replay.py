"""The planner's replay page (/replay): open a recorded day, serve its frames, fork and compare.

Playback runs in the browser (``assets/replay.js``): a clientside timer advances the replay
time and asks for one frame at a time through the ``RP_TIME`` store; the server only
reconstructs frames (:class:`twin.service.replay_service.ReplayService`), so a planner's speed never
touches the live twin. Frames are cached with flask-caching (in-process ``SimpleCache``; the
scaled mode's ``RedisCache``), keyed by scenario, day and time, so planners scrubbing the same
day share them. Forking runs in a background thread; only planners, operators and admins may
start one (checked on the server).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import numpy as np
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.auth import protect
from callbacks.services import services, who
from layouts import ids
from layouts.alerts import feed_digest
from layouts.deck import (
    delta_classes,
    dynamic_rows,
    encode_update,
    layer_values,
    peak_density_place,
)
from layouts.kpis import kpi_strip
from layouts.replay import replay_page
from layouts.replay_day import (
    alert_head,
    day_charts,
    day_list,
    hhmm,
    log_filters,
    operator_log,
    replay_alerts,
    timeline_marks,
    timeline_ticks,
)
from layouts.replay_fork import change_label, change_list, compare_view, job_list, recorded_options
from layouts.signal_panel import junction_options
from twin.errors import TwinError
from twin.service.live import wall_kpis
from twin.service.permissions import LOCAL, roles_for
from twin.service.recorder import RecordingError
from twin.service.replay import parse_clock
from twin.service.replay_service import ForkLimits, ReplayService, fork_changes
from twin.service.store import Frame

if TYPE_CHECKING:
    import dash
    import flask
    from flask_caching import Cache

    from callbacks.services import Services
    from layouts.deck import Scene

FORK_ROLES = tuple(sorted(roles_for("data:fork") - {LOCAL}))
"""Who may fork a day (the permission table; the server refuses everyone else: 403)."""
EXTENSION_KEY = "venuetwin.replay"
FRAME_STEP_S = 10.0
"""Frames are served on this grid of simulated times (the page asks for whole minutes while
scrubbing or playing fast, every 10 s at 1× and 10×)."""
HISTORY_S = 3600.0
BUNDLED_FILE = "bundled_event-day_2026-09-12"
BUNDLED_NAME = "Event day, Sat 12 Sep 2026 (bundled recording)"
BUNDLED_DAY = date(2026, 9, 12)
BUNDLED_SPAN = ("17:00", "23:00")
SCRIPT_NAME = "recorded_day.json"


@dataclass(frozen=True)
class ReplayWeb:
    """What the replay page's callbacks share: the service, the frame cache, display names."""

    service: ReplayService
    cache: Cache
    names: dict[str, dict[Any, str]]
    fork_options: dict[str, Any]


def replay_web(app: dash.Dash) -> ReplayWeb:
    return app.server.extensions[EXTENSION_KEY]


def _frame_cache(server: flask.Flask, config: Mapping[str, Any]) -> Cache:
    from flask_caching import Cache

    settings: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": 6 * 3600}
    if config.get("store") == "redis" and config.get("redis_url"):
        settings.update(
            CACHE_TYPE="RedisCache",
            CACHE_REDIS_URL=config["redis_url"],
            CACHE_KEY_PREFIX="venuetwin:replay:",
        )
    else:
        settings.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=4000)
    return Cache(server, config=settings)


def _names(svc: Services) -> dict[str, dict[Any, str]]:
    """Display names of junctions, checkpoints and hospitals (for the log and the fork form)."""
    hospitals: dict[Any, str] = {}
    facilities = getattr(svc.scenario, "facilities", None)
    if facilities is not None and len(facilities) and "kind" in facilities:
        column = "name_en" if "name_en" in facilities else "name"
        for _, row in facilities[facilities["kind"] == "hospital"].iterrows():
            hospitals[str(row["id"])] = str(row[column]).split(" (")[0]
    return {
        "junctions": {int(s["i"]): s["n"] for s in svc.scene.signals},
        "checkpoints": {int(c["i"]): c["n"] for c in svc.scene.checkpoints},
        "hospitals": hospitals,
    }


def page(app: dash.Dash, spec: Mapping[str, Any]) -> Any:
    """The router's builder of /replay: ``(user bar, nav) -> page``."""
    web, svc = replay_web(app), services(app)
    return lambda bar, nav: replay_page(
        spec=spec,
        attribution=svc.scene.attribution,
        scenario_name=svc.scene.name,
        fork_options=web.fork_options,
        user_bar=bar,
        nav=nav,
    )


def start_bundled_day(app: dash.Dash) -> None:
    """Record the bundled day into the recordings folder in the background, unless it is there."""
    web, svc = replay_web(app), services(app)
    folder = getattr(svc.scenario, "path", None)
    script = Path(folder) / SCRIPT_NAME if folder is not None else None
    if web.service.folder is None or script is None or not script.is_file():
        return
    web.service.ensure_bundled_day(
        script,
        file_name=BUNDLED_FILE,
        name=BUNDLED_NAME,
        day=BUNDLED_DAY,
        start_s=parse_clock(BUNDLED_SPAN[0]),
        end_s=parse_clock(BUNDLED_SPAN[1]),
        seed=int(app.server.config["VENUETWIN"].get("seed", 0)),
    )


# ------------------------------------------------------------------ frames
def _frame_time(value: Any, start_s: float, end_s: float) -> float:
    t = float(value)
    if not math.isfinite(t):
        raise ValueError("time must be finite")
    return min(max(math.floor(t / FRAME_STEP_S) * FRAME_STEP_S, start_s), end_s)


def frame_payload(web: ReplayWeb, scene: Scene, day: str, time_s: float) -> dict[str, Any]:
    """The day's frame at ``time_s``: map values, dynamic rows, KPIs, alerts, delay per road
    (cached: planners scrubbing the same day share reconstructions)."""
    key = f"rp:{web.service.fingerprint[:12]}:{day}:{time_s:.0f}"
    payload = web.cache.get(key)
    if payload is not None:
        return payload
    view = web.service.view_at(day, time_s)
    alerts = web.service.alerts_at(day, time_s)
    frame = Frame(seq=0, wall_s=0.0, view=view)
    payload = {
        "time_s": float(view.time_s),
        "values": layer_values(scene, frame),
        "rows": dynamic_rows(scene, frame),
        "kpis": wall_kpis(view),
        "where": {"peak_density_ppm2": peak_density_place(scene, view)},
        "alerts": alerts,
        "delay_veh": np.asarray(view.links["delay_rate_veh"], dtype=np.float32),
    }
    web.cache.set(key, payload)
    return payload


def _history(samples: Mapping[str, np.ndarray], time_s: float) -> dict[str, np.ndarray]:
    times = np.asarray(samples.get("time_s", ()), dtype=float)
    keep = (times <= time_s + 1e-6) & (times >= time_s - HISTORY_S)
    return {k: np.asarray(v)[keep] for k, v in samples.items()}


def _sample_at(samples: Mapping[str, np.ndarray], name: str, time_s: float) -> float:
    times = np.asarray(samples.get("time_s", ()), dtype=float)
    k = int(np.searchsorted(times, time_s + 1e-6)) - 1
    values = samples.get(name)
    return float(values[k]) if values is not None and k >= 0 else math.nan


def _search(search: str | None) -> tuple[str | None, float | None]:
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    day = (query.get("day") or [None])[0]
    t = None
    if query.get("t"):
        try:
            t = parse_clock(query["t"][0])
        except TwinError:
            t = None
    return day, t


def _daydata(info: Mapping[str, Any], t: float | None) -> dict[str, Any]:
    start, end = float(info["start_s"]), float(info["end_s"])
    t0 = start if t is None else min(max(float(t), start), end)
    return {
        "id": info["id"],
        "name": info["name"],
        "date": info.get("date"),
        "start_s": start,
        "end_s": end,
        "t": t0,
        "kind": info.get("kind"),
        "parent": info.get("parent"),
        "fork_at_s": info.get("fork_at_s"),
        "closed": info.get("closed"),
        "opened": time.time(),
    }


# ------------------------------------------------------------------ registration
def register_callbacks(app: dash.Dash) -> None:
    svc = services(app)
    config = app.server.config["VENUETWIN"]
    service = ReplayService(  # config "fork_limits": ForkLimits fields (per_user, total, ...)
        svc.recordings, svc.scenario, limits=ForkLimits(**(config.get("fork_limits") or {}))
    )
    names = _names(svc)
    fork_options = {
        "junctions": junction_options(svc.scene.signals),
        "checkpoints": [{"label": c["n"], "value": int(c["i"])} for c in svc.scene.checkpoints],
        "hospitals": [{"label": name, "value": hid} for hid, name in names["hospitals"].items()],
    }
    web = ReplayWeb(
        service=service,
        cache=_frame_cache(app.server, config),
        names=names,
        fork_options=fork_options,
    )
    app.server.extensions[EXTENSION_KEY] = web
    _register_browser(app)
    for register in (
        _register_opening,
        _register_frame,
        _register_log,
        _register_form,
        _register_changes,
        _register_runs,
    ):
        register(app, web)


def _day_info(service: ReplayService, daydata: Any) -> dict[str, Any] | None:
    """The open day's information, read on the server (the page only names the day)."""
    day_id = daydata.get("id") if isinstance(daydata, dict) else None
    try:
        return service.day(day_id) if isinstance(day_id, str) else None
    except (RecordingError, TwinError):
        return None


def _register_browser(app: dash.Dash) -> None:
    """The browser side of playback and the map (assets/replay.js)."""

    def rp(name: str) -> ClientsideFunction:
        return ClientsideFunction(namespace="rp", function_name=name)

    app.clientside_callback(
        rp("initMap"),
        Output(ids.RP_MAP_APPLIED, "data"),
        Input(ids.RP_MAP_SPEC, "data"),
        State(ids.RP_MAP, "id"),
        State(ids.RP_MAP_CLICK, "id"),
    )
    app.clientside_callback(
        rp("update"),
        Output(ids.RP_MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.RP_MAP_UPDATE, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        rp("toggles"),
        Output(ids.RP_MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.RP_LAYERS, "value"),
        Input(ids.RP_MAP_MODE, "value"),
        prevent_initial_call="initial_duplicate",
    )
    app.clientside_callback(
        rp("load"),
        Output(ids.RP_MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.RP_DAYDATA, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        rp("urlSeek"),
        Output(ids.RP_MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.RP_SEEK, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        rp("frameDone"),
        Output(ids.RP_MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.RP_FRAME_DONE, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        rp("chartClick"),
        Output(ids.RP_MAP_APPLIED, "data", allow_duplicate=True),
        Input(ids.RP_CHARTS, "clickData"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        rp("panes"), Output({"type": ids.RP_PANE, "tab": ALL}, "hidden"), Input(ids.RP_TAB, "value")
    )
    app.clientside_callback(
        rp("forkForms"),
        Output({"type": ids.RP_FORK_FORM, "kind": ALL}, "hidden"),
        Input(ids.RP_FORK_TYPE, "value"),
    )


def _register_opening(app: dash.Dash, web: ReplayWeb) -> None:
    """Opening a day: from the URL, the day list, Back."""
    service, names = web.service, web.names

    @app.callback(
        Output(ids.RP_DAYDATA, "data"),
        Output(ids.RP_SEEK, "data"),
        Output(ids.RP_TITLE, "children"),
        Output(ids.RP_BADGE, "children"),
        Output(ids.RP_MARKS, "children"),
        Output(ids.RP_TICKS, "children"),
        Output(ids.RP_CHARTS, "figure"),
        Output(ids.RP_LOG_KIND, "options"),
        Output(ids.RP_LOG_USER, "options"),
        Output(ids.RP_MAP_MODE_BOX, "hidden"),
        Output(ids.RP_DAYS, "children"),
        Output(ids.RP_FORK_CHANGES, "data", allow_duplicate=True),
        Output(ids.RP_TAB, "value"),
        Output(ids.RP_FK_HOSPITAL, "options"),
        Output(ids.RP_JOB_TICK, "disabled", allow_duplicate=True),
        Input(ids.RP_URL, "search"),
        State(ids.RP_DAYDATA, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def open_day(search, current):
        day, t = _search(search)
        day = day or service.default_day()
        open_info = _day_info(service, current)
        if open_info is not None and day == open_info["id"]:
            seek = {"t": t if t is not None else open_info["start_s"], "n": time.time()}
            return (no_update, seek, *([no_update] * 13))
        return _open_day_outputs(service, names, day, t)


def _register_frame(app: dash.Dash, web: ReplayWeb) -> None:
    """The frame at the replay time: map, KPIs, alerts."""
    service = web.service
    scene = services(app).scene

    @app.callback(
        Output(ids.RP_MAP_UPDATE, "data"),
        Output(ids.RP_MAP_DIGESTS, "data"),
        Output(ids.RP_KPIS, "children"),
        Output(ids.RP_ALERTS, "children"),
        Output(ids.RP_ALERT_DIGEST, "data"),
        Output(ids.RP_ALERT_HEAD, "children"),
        Output(ids.RP_FRAME_DONE, "data"),
        Input(ids.RP_TIME, "data"),
        Input(ids.RP_LAYERS, "value"),
        Input(ids.RP_MAP_MODE, "value"),
        State(ids.RP_DAYDATA, "data"),
        State(ids.RP_MAP_DIGESTS, "data"),
        State(ids.RP_ALERT_DIGEST, "data"),
    )
    def frame(request, toggles, mode, daydata, digests, alert_digest):
        if not isinstance(request, dict):
            raise PreventUpdate
        done = {"t": request.get("t"), "day": request.get("day"), "n": time.time()}
        info = _day_info(service, daydata)
        if info is None or request.get("day") != info["id"]:
            return (*([no_update] * 6), done)  # a day no longer shown: only say it is done
        try:
            t = _frame_time(request.get("t"), info["start_s"], info["end_s"])
            payload = frame_payload(web, scene, info["id"], t)
            diff = _fork_difference(web, scene, info, t, payload) if mode == "diff" else None
        except (RecordingError, TwinError, TypeError, ValueError) as error:
            return (*([no_update] * 6), {**done, "error": str(error)})
        update, new_digests = _map_update(scene, payload, diff, toggles, digests)
        samples = info["samples"]
        kpis = {**payload["kpis"], "open_alerts": _sample_at(samples, "open_alerts", t)}
        digest = feed_digest(payload["alerts"])
        return (
            update,
            new_digests,
            kpi_strip(kpis, _history(samples, t), where=payload["where"]),
            replay_alerts(payload["alerts"]) if digest != alert_digest else no_update,
            digest,
            alert_head(payload["alerts"]),
            {**done, "t": t, "day": info["id"]},
        )


def _register_log(app: dash.Dash, web: ReplayWeb) -> None:
    """The operator log and the comparison with the original day."""
    service, names = web.service, web.names

    @app.callback(
        Output(ids.RP_LOG, "children"),
        Input(ids.RP_DAYDATA, "data"),
        Input(ids.RP_LOG_KIND, "value"),
        Input(ids.RP_LOG_USER, "value"),
    )
    def log(daydata, kinds, users):
        info = _day_info(service, daydata)
        if info is None:
            return []
        return operator_log(
            info["inputs"], names, kinds=_strings(kinds) or None, users=_strings(users) or None
        )

    @app.callback(Output(ids.RP_COMPARE, "children"), Input(ids.RP_DAYDATA, "data"))
    def comparison(daydata):
        info = _day_info(service, daydata)
        if info is None:
            return compare_view(None, fork=None, original=None, names=names)
        if not (info.get("kind") == "fork" and info.get("parent")):
            row = _find(service.days(), info["id"])
            return compare_view(
                None, fork=None, original=None, names=names, forks=(row or {}).get("forks", ())
            )
        fork = {**info, "changes": info["header"].get("changes")}
        try:
            original = service.day(info["parent"])
            result = service.comparison(info["id"])
        except (RecordingError, TwinError) as error:
            return compare_view(None, fork=fork, original=None, names=names, error=str(error))
        return compare_view(result, fork=fork, original=original, names=names)


def _register_form(app: dash.Dash, web: ReplayWeb) -> None:
    """The fork form: what the day held at the fork minute."""
    service, names = web.service, web.names

    @app.callback(
        Output(ids.RP_FK_CYCLE, "value"),
        Output(ids.RP_FK_GREENS, "value"),
        Output(ids.RP_FK_OFFSET, "value"),
        Output(ids.RP_FK_PLAN, "children"),
        Input(ids.RP_FK_NODE, "value"),
        State(ids.RP_TIME, "data"),
        State(ids.RP_DAYDATA, "data"),
        prevent_initial_call=True,
    )
    def signal_plan(node, request, daydata):
        info = _day_info(service, daydata)
        if node is None or info is None:
            raise PreventUpdate
        t = _fork_minute(request, info)
        try:
            plan = service.query_at(info["id"], t, "signal_plan", node)
        except (TwinError, TypeError, ValueError) as error:
            return no_update, no_update, no_update, f"{error}"
        greens = ", ".join(f"{g:g}" for g in plan["greens_s"])
        minimum = "/".join(f"{g:g}" for g in plan.get("min_green_s", ()))
        return (
            plan["cycle_s"],
            greens,
            plan.get("offset_s", 0),
            f"At {hhmm(t)}: cycle {plan['cycle_s']:g} s, greens {greens} s"
            f"{f' (minimum {minimum} s)' if minimum else ''}, intergreen {plan.get('intergreen_s', 0):g} s",
        )

    @app.callback(
        Output(ids.RP_FK_COUNT, "value"),
        Output(ids.RP_FK_LANES_NOW, "children"),
        Input(ids.RP_FK_CHECKPOINT, "value"),
        Input(ids.RP_FK_LANE_TYPE, "value"),
        State(ids.RP_TIME, "data"),
        State(ids.RP_DAYDATA, "data"),
        prevent_initial_call=True,
    )
    def lanes_now(checkpoint, lane_type, request, daydata):
        info = _day_info(service, daydata)
        if checkpoint is None or info is None:
            raise PreventUpdate
        t = _fork_minute(request, info)
        rows = service.query_at(info["id"], t, "checkpoint_lanes")
        row = next((r for r in rows if r["checkpoint_id"] == checkpoint), None)
        if row is None:
            raise PreventUpdate
        now = row["lanes_face"] if lane_type == "face" else row["lanes_manual"]
        return now + 2, (
            f"At {hhmm(t)}: {row['lanes_face']} face-recognition and {row['lanes_manual']} manual "
            "lanes open"
        )

    @app.callback(
        Output(ids.RP_FK_ACTION, "options"),
        Input(ids.RP_TAB, "value"),
        Input(ids.RP_FRAME_DONE, "data"),
        State(ids.RP_DAYDATA, "data"),
        State(ids.RP_TIME, "data"),
    )
    def recorded_actions(tab, _done, daydata, request):
        info = _day_info(service, daydata)
        if tab != "fork" or info is None:
            raise PreventUpdate
        return recorded_options(info["inputs"], _fork_minute(request, info), names)


def _register_changes(app: dash.Dash, web: ReplayWeb) -> None:
    """The fork's list of changes: add, remove, show."""
    service, names = web.service, web.names

    @app.callback(
        Output(ids.RP_FORK_CHANGES, "data", allow_duplicate=True),
        Output(ids.RP_FORK_MSG, "children"),
        Input(ids.RP_FORK_ADD, "n_clicks"),
        *[State(component, "value") for component in FORK_FORM.values()],
        State(ids.RP_FORK_CHANGES, "data"),
        State(ids.RP_TIME, "data"),
        State(ids.RP_DAYDATA, "data"),
        prevent_initial_call=True,
    )
    def add_change(_n, *values):
        *form_values, changes, request, daydata = values
        info = _day_info(service, daydata)
        if info is None:
            raise PreventUpdate
        form = dict(zip(FORK_FORM, form_values, strict=True))
        at_s = _fork_minute(request, info)
        changes = _changes(changes)
        try:
            change = _change(form.pop("kind"), at_s=at_s, n=len(changes), **form)
            service.check_fork(info["id"], at_s, fork_changes([change], at_s), None)
        except (TwinError, ValueError, TypeError) as error:
            return no_update, _note(f"Not added: {error}", "refused")
        if change.get("seq") is not None:
            change["label"] = _recorded_label(info["inputs"], change["seq"])
        return [*changes, change], _note(f"Added: {change_label(change, names)}", "ok")

    @app.callback(
        Output(ids.RP_FORK_CHANGES, "data", allow_duplicate=True),
        Input({"type": ids.RP_FORK_REMOVE, "index": ALL}, "n_clicks"),
        State(ids.RP_FORK_CHANGES, "data"),
        prevent_initial_call=True,
    )
    def remove_change(clicks, changes):
        trigger = ctx.triggered_id
        if (
            not isinstance(trigger, dict)
            or not isinstance(clicks, list)
            or not any(c for c in clicks if c)
        ):
            raise PreventUpdate
        index = trigger.get("index")
        return [c for n, c in enumerate(_changes(changes)) if n != index]

    @app.callback(Output(ids.RP_FORK_LIST, "children"), Input(ids.RP_FORK_CHANGES, "data"))
    def show_changes(changes):
        return change_list(_changes(changes), names)


def _register_runs(app: dash.Dash, web: ReplayWeb) -> None:
    """Starting forks (planners, operators, admins) and following them."""
    service, names = web.service, web.names

    @app.callback(
        Output(ids.RP_FORK_MSG, "children", allow_duplicate=True),
        Output(ids.RP_JOBS, "data"),
        Output(ids.RP_JOB_TICK, "disabled", allow_duplicate=True),
        Input(ids.RP_FORK_RUN, "n_clicks"),
        State(ids.RP_FORK_CHANGES, "data"),
        State(ids.RP_FORK_NAME, "value"),
        State(ids.RP_FORK_UNTIL, "value"),
        State(ids.RP_TIME, "data"),
        State(ids.RP_DAYDATA, "data"),
        State(ids.RP_JOBS, "data"),
        prevent_initial_call=True,
    )
    def run_fork(_n, changes, name, until, request, daydata, jobs):
        info = _day_info(service, daydata)
        if info is None:
            raise PreventUpdate
        at_s = _fork_minute(request, info)
        person = who()
        try:
            until_s = None if until in (None, "end") else at_s + _number(until, "run until")
            job = service.start_fork(
                info["id"],
                at_s,
                fork_changes(_changes(changes), at_s),
                until_s=until_s,
                name=str(name or "")[:80],
                user=person["user"],
                role=person["role"],
            )
        except (TwinError, ValueError, TypeError) as error:
            return _note(f"Not started: {error}", "refused"), no_update, no_update
        return (
            _note(
                f"“{job.name}” runs from {hhmm(job.at_s)} to {hhmm(job.until_s)} in the background; "
                "the page stays usable.",
                "ok",
            ),
            [*_strings(jobs), job.id],
            False,
        )

    protect(app, run_fork, roles=FORK_ROLES)

    @app.callback(
        Output(ids.RP_JOB_LIST, "children"),
        Output(ids.RP_JOB_TICK, "disabled"),
        Output(ids.RP_DAYS, "children", allow_duplicate=True),
        Output(ids.RP_URL, "search"),
        Input(ids.RP_JOB_TICK, "n_intervals"),
        State(ids.RP_JOBS, "data"),
        State(ids.RP_DAYDATA, "data"),
        prevent_initial_call=True,
    )
    def progress(_n, job_ids, daydata):
        jobs = [j.as_dict() for j in (service.job(i) for i in _strings(job_ids)) if j is not None]
        bundled = service.bundled.as_dict() if service.bundled is not None else None
        running = any(j["state"] in ("queued", "running", "comparing") for j in jobs) or (
            bundled is not None and bundled["state"] == "running"
        )
        info = _day_info(service, daydata)
        current = info["id"] if info is not None else None
        days = day_list(
            service.days(),
            current,
            names=names,
            bundled=bundled,
            folder_set=service.folder is not None,
        )
        search = no_update
        if current is None and not running and service.default_day():
            search = f"?day={service.default_day()}"  # the bundled day is ready: open it
        return job_list(jobs), not running, days, search


FORK_FORM = {
    "kind": ids.RP_FORK_TYPE,
    "node": ids.RP_FK_NODE,
    "cycle": ids.RP_FK_CYCLE,
    "greens": ids.RP_FK_GREENS,
    "offset": ids.RP_FK_OFFSET,
    "checkpoint": ids.RP_FK_CHECKPOINT,
    "lane_type": ids.RP_FK_LANE_TYPE,
    "count": ids.RP_FK_COUNT,
    "lat": ids.RP_FK_LAT,
    "lon": ids.RP_FK_LON,
    "hospital": ids.RP_FK_HOSPITAL,
    "seq": ids.RP_FK_ACTION,
    "op": ids.RP_FK_OP,
    "move_to": ids.RP_FK_MOVE_TO,
}
"""The fork form's fields (names :func:`_change` takes) and the components that hold them."""


# ------------------------------------------------------------------ opening a day
def _no_day_outputs(title: str, days: Any, waiting: bool) -> tuple[Any, ...]:
    """The page's outputs when no day can be shown (``title`` says why)."""
    empty: tuple[Any, ...] = ("", [], [], no_update, [], [], True)
    return (None, None, title, *empty, days, [], "days", no_update, not waiting)


def _open_day_outputs(
    service: ReplayService, names: dict[str, dict[Any, str]], day: str | None, t: float | None
) -> tuple[Any, ...]:
    """The page's outputs after opening ``day`` at ``t`` (its start when None)."""
    bundled = service.bundled.as_dict() if service.bundled is not None else None
    waiting = bundled is not None and bundled["state"] == "running"
    days = day_list(
        service.days(), day, names=names, bundled=bundled, folder_set=service.folder is not None
    )
    if day is None:
        return _no_day_outputs("No recorded day yet", days, waiting)
    try:
        info = service.day(day)
        if not info.get("replayable", True) and info.get("error"):
            raise RecordingError(info["error"], code="not_replayable")
        hospitals = service.query_at(day, info["start_s"], "hospitals")
    except (RecordingError, TwinError) as error:
        return _no_day_outputs(f"Cannot open this day: {error}", days, waiting)
    fork = bool(info.get("kind") == "fork" and info.get("parent"))
    data = _daydata(info, t)
    kinds, users = log_filters(info["inputs"])
    return (
        data,
        None,
        _day_title(info),
        "fork" if fork else _day_badge(info),
        timeline_marks(info["inputs"], info["alert_events"], info["start_s"], info["end_s"], names),
        timeline_ticks(info["start_s"], info["end_s"]),
        _day_charts(service, info, fork, data["t"]),
        kinds,
        users,
        not fork,
        days,
        [],
        "compare" if fork else no_update,
        [{"label": h["name"], "value": hid} for hid, h in hospitals.items()],
        not waiting,
    )


def _day_title(info: Mapping[str, Any]) -> str:
    span = f"{hhmm(info['start_s'])}–{hhmm(info['end_s'])}"
    return f"{info['name']} · {info.get('date', '')} · {span}"


def _day_badge(info: Mapping[str, Any]) -> str:
    return "live day, still recording" if not info.get("closed") else "recorded day"


def _day_charts(
    service: ReplayService, info: Mapping[str, Any], fork: bool, cursor_s: float
) -> Any:
    """The day's charts; a fork's carry its original day's lines too."""
    original = service.day(info["parent"])["samples"] if fork else None
    return day_charts(
        info["samples"],
        day=info.get("date"),
        start_s=info["start_s"],
        end_s=info["end_s"],
        original=original,
        cursor_s=cursor_s,
    )


# ------------------------------------------------------------------ a frame
def _fork_difference(
    web: ReplayWeb, scene: Scene, info: Mapping[str, Any], time_s: float, payload: Mapping[str, Any]
) -> np.ndarray | None:
    """Delay classes of a fork against its original day at ``time_s`` (None for a recorded day)."""
    if not (info.get("kind") == "fork" and info.get("parent")):
        return None
    base = frame_payload(web, scene, info["parent"], time_s)
    return delta_classes(payload["delay_veh"].astype(float) - base["delay_veh"].astype(float))


def _map_update(
    scene: Scene, payload: Mapping[str, Any], diff: np.ndarray | None, toggles: Any, digests: Any
) -> tuple[Any, dict[str, Any]]:
    """The map's update message (``no_update`` when nothing changed) and its new digests."""
    digests = {str(k): v for k, v in digests.items()} if isinstance(digests, dict) else {}
    visible = (
        {str(v) for v in toggles if isinstance(v, str)} if isinstance(toggles, list) else set()
    )
    message, new_digests = encode_update(
        payload["values"], payload["rows"], digests, visible=visible
    )
    if diff is None:
        diff = np.zeros(len(scene.links), dtype=np.uint8)
    overlay, overlay_digests = encode_update({"whatif": {"d": diff}}, {}, digests)
    message["values"].update(overlay["values"])
    update = message if message["values"] or message["rows"] else no_update
    return update, {**new_digests, **overlay_digests}


def _recorded_label(inputs: list[dict[str, Any]], seq: Any) -> str:
    """How the fork list names recorded input ``seq``."""
    item = next(i for i in inputs if i["seq"] == seq)
    return f"#{item['seq']} ({item['name']} at {hhmm(item['sim_time_s'])} by {item['user']})"


def _strings(values: Any) -> list[str]:
    """The strings of a list the page sent (anything else is ignored)."""
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _changes(values: Any) -> list[dict[str, Any]]:
    """The fork changes the page holds (objects only)."""
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _find(days: list[dict[str, Any]], day_id: str) -> dict[str, Any] | None:
    for row in days:
        if row["id"] == day_id:
            return row
        found = _find(row.get("forks", []), day_id)
        if found is not None:
            return found
    return None


def _fork_minute(request: Any, info: Mapping[str, Any]) -> float:
    """The fork minute: the page's replay time, down to the minute, inside the day (its start
    when the page sent no usable time)."""
    t = request.get("t") if isinstance(request, dict) and request.get("day") == info["id"] else None
    try:
        t = float(t)
    except (TypeError, ValueError):
        t = float(info["start_s"])
    if not math.isfinite(t):
        t = float(info["start_s"])
    t = math.floor(t / 60.0) * 60.0
    return min(max(t, float(info["start_s"])), float(info["end_s"]) - 60.0)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a number")
    return number


def _whole(value: Any, name: str) -> int:
    number = _number(value, name)
    if number != int(number):
        raise ValueError(f"{name} must be a whole number")
    return int(number)


def _change(kind: Any, *, at_s: float, n: int, **f: Any) -> dict[str, Any]:
    """The form's values as one change (plain data; the twin checks it before it is added)."""
    if kind == "signals":
        if f["node"] is None:
            raise ValueError("choose a junction")
        parts = [p for p in str(f["greens"] or "").replace(";", ",").split(",") if p.strip()]
        greens = [_number(p, "each green") for p in parts]
        return {
            "type": "action",
            "action": {
                "kind": "set_signal_plan",
                "node_id": _whole(f["node"], "junction"),
                "cycle_s": _number(f["cycle"], "cycle"),
                "greens_s": greens,
                "offset_s": _number(f["offset"] or 0, "offset"),
            },
        }
    if kind == "lanes":
        if f["checkpoint"] is None:
            raise ValueError("choose a checkpoint")
        checkpoint = _whole(f["checkpoint"], "checkpoint")
        return {
            "type": "action",
            "action": {
                "kind": "set_lanes",
                "checkpoint_id": checkpoint,
                "lane_type": str(f["lane_type"] or "face"),
                "count": _whole(f["count"], "lanes open"),
            },
        }
    if kind == "corridor":
        hospital = f["hospital"] if isinstance(f["hospital"], str) else None
        return {
            "type": "action",
            "action": {
                "kind": "dispatch_corridor",
                "corridor_id": f"FORK-{hhmm(at_s).replace(':', '')}-{n + 1}",
                "lat": _number(f["lat"], "lat"),
                "lon": _number(f["lon"], "lon"),
                "hospital_id": hospital,
                "priority": 1,
            },
        }
    if kind == "recorded":
        if f["seq"] is None:
            raise ValueError("choose a recorded action")
        if f["op"] == "move":
            return {
                "type": "move",
                "seq": _whole(f["seq"], "action"),
                "to_s": parse_clock(str(f["move_to"] or ""), name="move to"),
            }
        return {"type": "drop", "seq": _whole(f["seq"], "action")}
    raise ValueError("choose what to change")


def _note(text: str, kind: str) -> Any:
    from dash import html

    return html.Div(text, className=f"ops-note ops-{kind}")
