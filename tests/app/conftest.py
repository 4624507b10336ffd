"""Browser-test harness: the control room served from a thread on a free port, and headless
Debian Chromium driven by Playwright (never a downloaded browser).

The wall runs the bundled scenario when its network is present (what ships), else a small
signalised grid with the same columns (tests/app/geo_scenario.py); ``VT_WALL_SCENARIO=grid``
or ``=bundled`` chooses explicitly.

A test that needs the twin at a moment of the day never waits for a running clock: it builds a
control room paused there with :func:`serve_at` and moves it on with :meth:`Served.step_to`
(the loop thread steps the engine, publishing a frame every simulated minute), then waits,
with a generous bound, for the page to show what the twin holds.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "data" / "seoul_olympic_park"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("VT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def wall_config(**overrides):
    """Config of the app under test: the bundled day if present, else the geo grid."""
    choice = os.environ.get("VT_WALL_SCENARIO") or (
        "bundled" if (BUNDLED / "network.gpkg").exists() else "grid"
    )
    if choice == "bundled":
        config = {"scenario": BUNDLED, "speed": 30.0, "forecast_period_s": 20.0, "warmup_s": 1800.0}
    else:
        from tests.app.geo_scenario import busy_demand, geo_grid_scenario
        from twin.engine import Engine

        scenario = geo_grid_scenario()
        engine = Engine(scenario, start_s=17 * 3600, demand=busy_demand(scenario))
        engine.run(engine.time_s + 600)
        config = {"scenario": scenario, "engine": engine, "speed": 30.0, "forecast_period_s": 10.0}
    return {**config, **overrides}


def small_wall_config(**overrides):
    """A small geo grid with a venue and a hospital and busy traffic, sign-in off, no forecasts:
    quick to build, for tests of the page's behaviour rather than its figures."""
    from tests.app.geo_scenario import busy_demand, geo_grid_scenario
    from twin.engine import Engine

    scenario = geo_grid_scenario()
    engine = Engine(scenario, start_s=17 * 3600, demand=busy_demand(scenario))
    return {
        "scenario": scenario,
        "engine": engine,
        "speed": 10.0,
        "forecast_period_s": 0,
        "normal_day": False,
        **overrides,
    }


@dataclass
class Served:
    """An app served from a background thread."""

    app: object
    url: str
    _server: object = field(repr=False, default=None)
    _thread: threading.Thread | None = field(repr=False, default=None)

    @property
    def live(self):
        """The app's :class:`twin.service.live.LiveTwin` (``None`` for a web-only worker)."""
        return self.app.server.extensions["venuetwin"].live

    def step_to(self, time_s: float) -> float:
        """Advance the twin to simulated ``time_s`` inside its loop thread (deterministic: what
        a test then reads does not depend on the machine's speed); the time reached."""
        return self.live.step_to(time_s, timeout_s=STEP_BOUND_S)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)
        live = self.app.server.extensions["venuetwin"].live
        if live is not None:
            live.stop()


def serve(app) -> Served:
    """Serve ``app`` (a Dash app) on 127.0.0.1 at a free port, threaded like ``app.run``."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="wall-test-server", daemon=True)
    thread.start()
    return Served(
        app=app, url=f"http://127.0.0.1:{server.server_port}", _server=server, _thread=thread
    )


STEP_BOUND_S = 600.0
"""Safety net on one :meth:`Served.step_to` (a few simulated hours take seconds)."""


def serve_at(time_s: float, **overrides) -> Served:
    """The control room of :func:`wall_config` (``overrides`` on top) with its clock paused at
    simulated ``time_s``: built paused, then stepped there by its own loop thread
    (:meth:`twin.service.live.LiveTwin.step_to`), alerts and KPI history included, so what a test
    reads is the same on any machine, however loaded. Move it on with ``step_to``; stop it."""
    from app import create_app

    served = serve(create_app(wall_config(**{**overrides, "paused": True})))
    try:
        served.step_to(time_s)
    except BaseException:
        served.stop()
        raise
    return served


def clock_text(time_s: float) -> str:
    """``HH:MM:SS`` of a simulated time of day, as the wall's clock shows it (worked out here)."""
    seconds = int(round(time_s)) % 86400
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@pytest.fixture(scope="session")
def wall() -> Iterator[Served]:
    """The control room for the whole session (of an xdist worker), its clock paused a minute
    after its start: the map, KPIs and forecasts are there, and nothing redraws unless a test
    moves the twin (``wall.step_to``). A page on a running clock redraws its map every second,
    which costs a software-WebGL browser about a core: the suite's main cost when it did.

    For tests of the page that do not depend on the moment of the day; a test that needs the
    twin at a moment builds its own with :func:`serve_at`."""
    from app import create_app

    served = serve(create_app(wall_config(paused=True)))
    served.step_to(served.live.engine.time_s + 60.0)
    yield served
    served.stop()


BROWSER_BOUND_MS = 180_000
"""Default bound of every Playwright call in the browser tests (ms)."""


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api

    if not Path(CHROMIUM).exists():  # run_tests.sh installs it: a browser test never skips
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's chromium (bash run_tests.sh does)"
        )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        new_context = browser.new_context

        def generous_context(*args, **kwargs):
            """Every page's clicks and waits time out only after BROWSER_BOUND_MS: a safety net
            against hangs, not a speed limit (a 2-core machine running the suite on 4 workers
            has been seen at a load of 25, where software WebGL takes many seconds a frame)."""
            context = new_context(*args, **kwargs)
            context.set_default_timeout(BROWSER_BOUND_MS)
            return context

        browser.new_context = generous_context
        yield browser
        browser.close()


@dataclass
class PageLog:
    """What a page did: console errors and requests to hosts other than the app."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


PAGE_READY_MS = 180_000
"""Bound on a page's load and first map draw (a loaded 2-core test machine has taken over 60 s)."""


def open_page(
    browser, url: str, *, width: int = 1920, height: int = 1080, log: PageLog | None = None
):
    """A new page of ``width`` x ``height`` CSS pixels at ``url``, logging into ``log``."""
    log = log if log is not None else PageLog()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    app_host = urlparse(url).netloc

    def on_console(message):
        if message.type == "error":
            log.errors.append(message.text)

    def on_request(request):
        log.requests.append(request.url)
        parsed = urlparse(request.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.netloc != app_host:
            log.foreign.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
    page.on("request", on_request)
    page.goto(url, timeout=PAGE_READY_MS)
    page.wait_for_selector("[data-deck-ready='1']", state="attached", timeout=PAGE_READY_MS)
    return page, log


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
