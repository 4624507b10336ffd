"""VenueTwin control room: ``python app.py`` opens it on http://127.0.0.1:8050.

:func:`create_app` builds the Dash app from a configuration (see :data:`DEFAULT_CONFIG`). The
embedded default is one process: the scenario's engine runs in a background thread
(:class:`twin.service.live.LiveTwin`) and publishes to an in-process store the callbacks read. Scaled:
``store="redis"`` with ``run_engine=False`` for web workers that only read what an engine
process publishes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dash
import flask
import pydeck
from dash import dcc, html

from callbacks import alerts as alert_callbacks
from callbacks import checkpoints as checkpoint_callbacks
from callbacks import corridors as corridor_callbacks
from callbacks import feeds as feeds_callbacks
from callbacks import live as live_callbacks
from callbacks import map as map_callbacks
from callbacks import operator as operator_callbacks
from callbacks import pages as page_callbacks
from callbacks import preview as preview_callbacks
from callbacks import replay as replay_callbacks
from callbacks import signals as signal_callbacks
from callbacks import summary as summary_callbacks
from callbacks import view_url as view_url_callbacks
from callbacks.api import register_api
from callbacks.limits import install_request_limits
from callbacks.services import EXTENSION_KEY, Services
from layouts import ids
from layouts.clock import clock_controls, clock_state_text
from layouts.deck import build_scene, deck_spec
from layouts.panels import signal_plans, venue_sessions
from layouts.shell import wall_page
from layouts.summary import summary_page
from twin.service.live import Background, LiveSettings, LiveTwin
from twin.service.store import open_store

if TYPE_CHECKING:
    from layouts.deck import Scene
    from twin.engine import Engine
    from twin.scenario import Scenario
    from twin.service.store import Store

HERE = Path(__file__).resolve().parent
DEFAULT_RECORDINGS = HERE / "var" / "recordings"
log = logging.getLogger("venuetwin")
DEFAULT_AUTH_DB = HERE / "instance" / "auth.sqlite"
DEFAULT_AUDIT = HERE / "var" / "audit.sqlite"  # the audit log when sign-in is off
DECK_BUNDLE = Path(pydeck.__file__).parent / "nbextension" / "static" / "index.js"
DECK_ROUTE = f"/_vendor/deckgl/{pydeck.__version__}/index.js"
HEALTH_ROUTE = "/_venuetwin/health"

DEFAULT_CONFIG: dict[str, Any] = {
    "scenario": HERE / "data" / "seoul_olympic_park",  # a folder, or a loaded Scenario
    "seed": 0,
    "start_s": None,  # simulated start (s since midnight); None: the scenario's start_s
    "warmup_s": 600.0,  # simulated seconds run before going live (traffic already on the roads)
    "speed": 10.0,  # simulated seconds per wall second
    "publish_period_s": 1.0,
    "forecast_period_s": 30.0,  # wall seconds between background forecasts (0: none)
    "engine": None,  # an Engine to run instead of building one from the scenario
    "run_engine": True,  # False: a web worker reading a store another process fills
    "start": True,  # start the live loop now (tests may build an app without it)
    "paused": False,  # start the live clock paused (LiveTwin.step_to then moves it by hand)
    "store": "memory",  # or "redis"
    "redis_url": None,
    "tick_ms": 1000,
    "host": "127.0.0.1",
    "port": 8050,
    "debug": False,
    "auth_db": None,  # set to turn on sign-in and roles (callbacks/auth.py)
    "recordings": None,  # folder of the day recordings (python app.py: var/recordings); None: none
    "new_day": False,  # True: close an interrupted day instead of resuming it
    "normal_day": True,  # compute the summary's normal-day baseline in the background at start
    "summary_tick_ms": 5000,
}


def _scenario(value: str | Path | Scenario) -> Scenario:
    if isinstance(value, (str, Path)):
        from twin.scenario import load

        return load(value)
    return value


def _engine(scenario: Scenario, config: dict[str, Any]) -> Engine:
    """The scenario's engine, warmed up when it will run live (a web-only worker builds one
    too, for the static pedestrian layout the map draws)."""
    from twin.engine import Engine

    engine = Engine(scenario, seed=int(config["seed"]), start_s=config["start_s"])
    warmup_s = float(config["warmup_s"] or 0)
    if warmup_s > 0 and config["run_engine"]:
        engine.run(engine.time_s + warmup_s)
    return engine


def _live_twin(scenario: Scenario, store: Store, config: dict[str, Any]) -> LiveTwin:
    """The live twin: resuming the interrupted day or starting a new recorded one when
    ``recordings`` is set (see :mod:`twin.service.days`), else an unrecorded engine."""
    settings = LiveSettings(
        speed=float(config["speed"]),
        publish_period_s=float(config["publish_period_s"]),
        forecast_period_s=float(config["forecast_period_s"]),
    )
    if not config["recordings"]:
        engine = config["engine"] if config["engine"] is not None else _engine(scenario, config)
        return LiveTwin(engine, store, settings=settings, paused=bool(config["paused"]))
    from twin.service.audit import AuditLog
    from twin.service.days import open_live_day

    audit = AuditLog(config.get("auth_db") or config.get("audit_db") or DEFAULT_AUDIT)
    try:  # the resume settles pending audit rows and cross-checks the recording against them
        day = open_live_day(
            config["recordings"],
            scenario,
            seed=int(config["seed"]),
            start_s=config["start_s"],
            warmup_s=float(config["warmup_s"] or 0),
            new_day=bool(config["new_day"]),
            engine=config["engine"],
            audit=audit,
        )
    finally:
        audit.close()
    for note in day.notes:
        log.warning("%s", note)
    return LiveTwin(
        day.engine,
        store,
        settings=settings,
        recorder=day.recorder,
        paused=day.paused or bool(config["paused"]),
        speed=day.speed,
        clock_change=day.clock_change,
    )


def _health(store: Store, live: LiveTwin | None) -> dict[str, Any]:
    """What every page's stale-data banner polls: the newest frame's wall time and age (s)."""
    import time

    if live is not None:
        return live.health()
    frame = store.latest()
    wall_s = None if frame is None else frame.wall_s
    return {
        "frame_seq": None if frame is None else frame.seq,
        "frame_wall_s": wall_s,
        "frame_age_s": None if wall_s is None else time.time() - wall_s,
    }


def _refuse_callback_input(error: Exception) -> None:
    """A callback that raised on what a client sent answers "no update" instead of a 5xx: the
    browser only sends what the screen offers, so this is a clumsy or hostile client. Logged
    with the traceback (a real bug still shows in the log) and written to the security log."""
    from dash import ctx

    outputs = getattr(ctx, "outputs_list", None)
    target = json.dumps(outputs, default=str)[:200] if outputs else "callback"
    log.warning(
        "callback %s refused its input: %s: %s",
        target,
        type(error).__name__,
        str(error)[:200],
        exc_info=error,
    )
    auth = flask.current_app.extensions.get("venuetwin.auth")
    if auth is not None:
        from callbacks.auth import current_user

        user = current_user()
        auth.audit.record_security(
            "callback.refused",
            user=user.name if user else "",
            role=user.role if user else "",
            target=target,
            ip=flask.request.remote_addr or "",
            detail=f"{type(error).__name__}: {str(error)[:300]}",
        )


def _serve_deck_bundle() -> flask.Response:
    return flask.send_file(DECK_BUNDLE, mimetype="application/javascript", max_age=365 * 86400)


def create_app(config: dict[str, Any] | None = None) -> dash.Dash:
    """The control-room app for ``config`` (keys of :data:`DEFAULT_CONFIG`; others are kept in
    ``app.server.config["VENUETWIN"]`` for features such as sign-in)."""
    config = {**DEFAULT_CONFIG, **(config or {})}
    if not DECK_BUNDLE.exists():
        raise FileNotFoundError(f"pydeck's deck.gl bundle is missing: {DECK_BUNDLE}")
    scenario = _scenario(config["scenario"])
    store = open_store(config["store"], redis_url=config["redis_url"])
    live = _live_twin(scenario, store, config) if config["run_engine"] else None
    engine = live.engine if live is not None else (config["engine"] or _engine(scenario, config))
    scene = build_scene(scenario, pedestrians=getattr(engine, "pedestrians", None))

    server = flask.Flask(__name__)
    server.add_url_rule(DECK_ROUTE, "deck_bundle", _serve_deck_bundle)
    server.add_url_rule(HEALTH_ROUTE, "twin_health", lambda: flask.jsonify(_health(store, live)))
    app = dash.Dash(
        __name__,
        server=server,
        title="VenueTwin — control room",
        update_title=None,
        assets_folder=str(HERE / "assets"),
        external_scripts=[DECK_ROUTE],
        suppress_callback_exceptions=False,
        **(
            {"dev_tools_disable_version_check": True}
            if config["debug"]
            else {"on_error": _refuse_callback_input}
        ),
    )
    server.config["VENUETWIN"] = config
    install_request_limits(server)  # 1 MiB bodies, bounded JSON depth, 400/404 for junk, never 5xx
    server.extensions[EXTENSION_KEY] = Services(
        store=store,
        live=live,
        scene=scene,
        plans=signal_plans(scenario.signals),
        sessions=venue_sessions(scenario.schedule, scene.venue_ids),
        scenario=scenario,
        normal_day=_normal_day(scenario, engine, config),
        commands=operator_callbacks.command_path(live, config, default_db=DEFAULT_AUDIT),
        recordings=Path(config["recordings"]) if config["recordings"] else None,
    )
    for module in (
        live_callbacks,
        map_callbacks,
        alert_callbacks,
        operator_callbacks,
        signal_callbacks,
        corridor_callbacks,
        checkpoint_callbacks,
        feeds_callbacks,
        preview_callbacks,
        view_url_callbacks,
        replay_callbacks,
    ):
        module.register_callbacks(app)

    # Sign-in and roles plug in here, and only here (callbacks/auth.py).
    if config["auth_db"]:
        from callbacks.auth import DEFAULT_PAGE_ROLES, install_auth

        # Planners land on /replay (DEFAULT_HOME_PAGES); operators and admins may open it too.
        config.setdefault("page_roles", DEFAULT_PAGE_ROLES)
        install_auth(app, config)
    _mount_pages(app, scenario, scene, config)
    register_api(app)

    if live is not None and config["start"]:
        live.start()
    if config["start"] and config.get("bundled_day", True):
        replay_callbacks.start_bundled_day(app)  # the recorded day planners see first, made once
    return app


def _normal_day(scenario: Scenario, engine: Engine, config: dict[str, Any]) -> Background | None:
    """The executive summary's normal-day baseline, computed once in a background thread."""
    if not config["normal_day"] or not config["start"]:
        return None
    from twin.service.summary import normal_day

    start_s = max(0.0, float(engine.time_s) - float(config["warmup_s"] or 0) - 1800.0)
    ends = scenario.schedule["end_s"] if len(scenario.schedule) else [engine.time_s]
    end_s = min(86400.0, max(float(max(ends)) + 3600.0, float(engine.time_s) + 3600.0))
    return Background(
        lambda: normal_day(scenario, seed=int(config["seed"]), start_s=start_s, end_s=end_s),
        name="normal-day",
    ).start()


def _mount_pages(app: dash.Dash, scenario: Scenario, scene: Scene, config: dict[str, Any]) -> None:
    """The router and its pages: / (wall), /map (read-only), /summary, /admin/audit (sign-in on)."""
    spec = deck_spec(scene)  # geometry built once, sent with the wall page
    ops = operator_callbacks.panes(app.server.extensions[EXTENSION_KEY])  # operator action panels

    signed_in = app.server.extensions.get("venuetwin.auth") is not None

    def wall(read_only: bool) -> Any:
        return lambda bar, nav: wall_page(
            scenario_name=scenario.name,
            spec=spec,
            attribution=scene.attribution,
            speed=float(config["speed"]),
            tick_ms=int(config["tick_ms"]),
            read_only=read_only,
            user_bar=bar,
            nav=nav,
            ops_panes=() if read_only else ops,
            with_clock_controls=not signed_in,
        )  # with sign-in, the clock is the admin's (audit page)

    pages = {
        "/": wall(False),
        "/map": wall(True),
        "/summary": lambda bar, nav: summary_page(
            scenario_name=scenario.name,
            user_bar=bar,
            nav=nav,
            tick_ms=int(config["summary_tick_ms"]),
        ),
        "/replay": replay_callbacks.page(app, spec),
    }
    validation_pages: dict[str, Any] = {}
    auth = app.server.extensions.get("venuetwin.auth")
    if auth is not None:
        from callbacks import audit as audit_callbacks
        from callbacks.auth import ALL_ROLES
        from layouts.audit import audit_page

        def admin_audit(bar: Any, nav: Any, *, facets: Any = None) -> Any:
            frame = app.server.extensions[EXTENSION_KEY].store.latest()
            state = (
                ""
                if frame is None
                else clock_state_text(
                    paused=frame.paused,
                    speed=frame.speed,
                    mode=frame.mode,
                    change=frame.clock_change,
                )
            )
            controls = (
                clock_controls(frame.speed if frame else float(config["speed"]))
                if config["run_engine"]
                else None
            )
            return html.Div(
                className="admin-page",
                children=[
                    html.Header(
                        [
                            html.Span("VenueTwin", className="brand-name"),
                            html.Span(state, className="clock-state admin-clock-state"),
                            controls,
                            nav,
                            bar,
                        ],
                        className="admin-header",
                    ),
                    *_recording_gaps(auth.audit if facets is None else None),
                    audit_page(auth.audit.facets() if facets is None else facets, roles=ALL_ROLES),
                ],
            )

        pages["/admin/audit"] = admin_audit
        validation_pages["/admin/audit"] = lambda bar, nav: admin_audit(bar, nav, facets={})
        audit_callbacks.register_callbacks(app, auth.audit)
    app.layout = page_callbacks.root_layout()
    # Every client receives the validation layout with the page config: it holds each page's
    # components (for callback validation) but no one's data (the audit page without user names).
    # Components that callbacks create on the fly (panels) join through this list.
    extras = app.server.extensions.get("venuetwin.validation", [])
    app.validation_layout = html.Div(
        [
            app.layout,
            dcc.Location(id=ids.REDIRECT),
            *(page(None, None) for page in {**pages, **validation_pages}.values()),
            *extras,
        ]
    )
    page_callbacks.register_callbacks(app, pages)
    summary_callbacks.register_callbacks(app)


def _recording_gaps(audit: Any) -> list[Any]:
    """The admin page's notice of inputs a damaged recording had lost (named on resume, with
    what was re-applied), newest first; none when the recordings are whole."""
    if audit is None:
        return []
    from twin.service.audit import AuditFilter

    rows = audit.query(AuditFilter(action="recording.gap", limit=5))
    return [
        html.Div(
            [html.Strong("Recording damage found on resume: "), html.Span(row.detail)],
            className="admin-alert recording-gap",
            role="alert",
        )
        for row in rows
    ]


def run_engine(config: dict[str, Any]) -> None:
    """Run the live twin alone, publishing to the configured store, until interrupted."""
    import time

    config = {**DEFAULT_CONFIG, **config}
    scenario = _scenario(config["scenario"])
    live = _live_twin(scenario, open_store(config["store"], redis_url=config["redis_url"]), config)
    live.start()
    print(f"VenueTwin engine publishing to {config['store']} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        live.stop(close_day=True)


def sign_in_config(
    host: str, *, auth_db: str | None = None, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """Sign-in settings of ``python app.py``: always on. The users and audit log live in
    ``auth_db`` (else $VENUETWIN_AUTH_DB, else ``instance/auth.sqlite``); the session key comes
    from $VENUETWIN_SECRET_KEY. Without one, only on a loopback address, a random per-process
    key and the clearly marked local demo sign-in; on any other address it refuses to start."""
    from callbacks.auth import LOOPBACK_HOSTS

    path = Path(auth_db or environ.get("VENUETWIN_AUTH_DB") or DEFAULT_AUTH_DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = environ.get("VENUETWIN_SECRET_KEY") or None
    if secret is None and host not in LOOPBACK_HOSTS:
        raise SystemExit(
            f"VENUETWIN_SECRET_KEY must be set (32+ random characters) to serve on {host};"
            " only 127.0.0.1 runs without one, with the local demo sign-in"
        )
    return {"auth_db": str(path), "secret_key": secret, "demo_login": secret is None}


def main(argv: list[str] | None = None) -> None:
    """``python app.py [--port N] [--speed X] [--kiosk-url]``: the embedded control room."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=DEFAULT_CONFIG["host"])
    parser.add_argument("--port", type=int, default=DEFAULT_CONFIG["port"])
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_CONFIG["speed"],
        help="simulated seconds per wall second (default %(default)s)",
    )
    parser.add_argument("--scenario", default=str(DEFAULT_CONFIG["scenario"]))
    parser.add_argument("--start", default=None, help="simulated start time HH:MM")
    parser.add_argument("--store", choices=("memory", "redis"), default="memory")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument(
        "--role",
        choices=("all", "web", "engine"),
        default="all",
        help="all: engine and web in this process (default); web: read a Redis store "
        "only; engine: run the live twin and publish to Redis, no web server",
    )
    parser.add_argument(
        "--auth-db",
        default=None,
        help=f"users and audit log (default $VENUETWIN_AUTH_DB or {DEFAULT_AUTH_DB})",
    )
    parser.add_argument(
        "--recordings",
        default=str(DEFAULT_RECORDINGS),
        help="folder of the day recordings (default %(default)s)",
    )
    parser.add_argument(
        "--new-day",
        action="store_true",
        help="close an interrupted day instead of resuming it, and start a new one",
    )
    parser.add_argument(
        "--feed",
        default=None,
        metavar="FILE",
        help="play a recorded feed (CSV or NDJSON) into the twin in step with its clock",
    )
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    start_s = None
    if args.start:
        hours, minutes = (int(part) for part in args.start.split(":"))
        start_s = hours * 3600 + minutes * 60
    config = {
        "scenario": args.scenario,
        "speed": args.speed,
        "start_s": start_s,
        "debug": args.debug,
        "host": args.host,
        "port": args.port,
        "store": args.store,
        "redis_url": args.redis_url,
        "recordings": args.recordings,
        "new_day": args.new_day,
    }
    if args.role == "engine":
        run_engine(config)
        return
    config.update(sign_in_config(args.host, auth_db=args.auth_db))
    app = create_app({**config, "run_engine": args.role == "all"})
    if args.feed:
        start_feed(app, args.feed)
    print(
        f"VenueTwin control room on http://{args.host}:{args.port}/ (kiosk: ?kiosk=1)", flush=True
    )
    if config.get("demo_login"):
        print(
            "Sign-in: local demo sign-in offered on this machine (no VENUETWIN_SECRET_KEY set);"
            " users: python -m twin users add NAME --role ROLE",
            flush=True,
        )
    serve(app, host=args.host, port=args.port, debug=args.debug)


def start_feed(app: dash.Dash, path: str) -> Any:
    """Play the feed file at ``path`` into ``app``'s live twin in step with its clock
    (:class:`twin.feeds.replayer.FeedReplayer`, through the command path, role ``feed``)."""
    from twin.feeds.refusal import FeedError
    from twin.feeds.replayer import FeedReplayer

    commands = app.server.extensions[EXTENSION_KEY].commands
    if commands is None:
        raise SystemExit("--feed needs the live twin in this process (--role all)")
    try:
        replayer = FeedReplayer.from_file(commands, path)
    except (FeedError, OSError) as error:
        raise SystemExit(f"--feed {path}: {error}") from None
    label = " (synthetic data)" if replayer.synthetic else ""
    print(
        f"Feed {replayer.source}{label}: {replayer.raw.n} records from {path}, in step with "
        "the twin's clock",
        flush=True,
    )
    return replayer.start(lambda: commands.query("time_s"))


def serve(app: dash.Dash, *, host: str, port: int, debug: bool = False) -> None:
    """Serve ``app`` with waitress (a production WSGI server; Flask's own with ``debug``) until
    Ctrl-C or SIGTERM, then stop the live twin cleanly: a clean shutdown closes the day."""
    import signal

    def terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    live = app.server.extensions[EXTENSION_KEY].live
    try:
        if debug:
            app.run(host=host, port=port, debug=True, use_reloader=False)
        else:
            import waitress

            waitress.serve(app.server, host=host, port=port, threads=8, ident="VenueTwin")
    except KeyboardInterrupt:
        pass
    finally:
        from twin.service.replay_service import stop_fork_workers

        stop_fork_workers()  # a fork in its worker process is abandoned, never waited for
        if live is not None:
            live.stop(close_day=True)
            print("VenueTwin stopped; the day is closed", flush=True)


if __name__ == "__main__":
    main()

__all__ = ["DEFAULT_CONFIG", "create_app", "main"]
