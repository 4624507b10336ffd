"""The feed screens in a real browser: the Feeds tab (feed health, each forecast's recent error,
a road's and a checkpoint's observed against modelled over the last hour), the +30 min forecast
error on the congestion legend, and the stale-feed alert of the alarm book.

Until the feed plumbing (ingest, command path, apply step) lands, the data is put in by this
test: before the loop thread starts, the twin is advanced minute by minute with
``LiveTwin.run_until`` (the loop body, publishing every simulated minute) and after each minute
a helper calls the feed functions the apply step will call, in the same (single-writer) thread:
``observations.note_detectors``, ``assimilate_checkpoints`` and ``observations.note_checkpoints``,
on a SYNTHETIC feed made from the twin's own values (detectors count 25 % more than the twin
carries and see 15 % lower speeds; checkpoint lanes screen 20 % slower than planned and
10 % more persons arrive than the twin has). Forecasts are given to the skill tracker as the forecast thread gives them
(``note_forecast`` with a real ``Engine.forecast``). The feed status is absent (the plumbing's
``feed_status`` query does not exist yet): the tab must say "No field feeds connected"; a second
part registers a stand-in ``feed_status`` query (plain data in the documented shape) to show the
health table. Truths: the texts on screen against the numbers the twin's queries and frame hold.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from layouts.checkpoint_panel import checkpoint_options
from tests.app.conftest import open_page, serve, wall_config
from tests.waiting import wait_for
from twin.crowd import checkpoints, pedestrians
from twin.feeds import observations
from twin.feeds.batch import CheckpointCounts, DetectorCounts
from twin.feeds.checkpoint_assimilation import assimilate_checkpoints
from twin.service import queries
from twin.service.forecast_skill import panel_predictions

START_S = 18 * 3600
FED_MINUTES = 70
SILENT_MINUTES = 10
DETECTOR_LINKS = (790, 18, 716, 86)  # Olympic-daero, Gangdong-daero, Olympic-ro (both ways)


def _scenario():
    from twin.scenario import load

    base = load(wall_config()["scenario"])
    links = base.links.set_index("link_id")
    sites = pd.DataFrame(
        {
            "detector_id": [f"D-{link}" for link in DETECTOR_LINKS],
            "link_id": list(DETECTOR_LINKS),
            "position_m": [float(links.loc[link, "length_m"]) - 5.0 for link in DETECTOR_LINKS],
            "lanes": [2] * len(DETECTOR_LINKS),
            "measures": ["count+speed"] * len(DETECTOR_LINKS),
            "kind": ["stop_line"] * len(DETECTOR_LINKS),
        }
    )
    return dataclasses.replace(base, detectors=sites)


def _feed_minute(engine) -> None:
    """The synthetic feed of the minute that just ended, through the feed functions."""
    end_s = 60.0 * round(engine.time_s / 60.0)
    flow_vph, speed_kph = observations.modelled_at_detectors(engine)
    n_d = len(flow_vph)
    detectors = DetectorCounts(
        source="synthetic-loops",
        detector_index=np.arange(n_d),
        interval_end_s=np.full(n_d, end_s),
        interval_s=np.full(n_d, 60.0),
        count_veh=np.round(flow_vph / 60.0 * 1.25),
        occupancy=np.full(n_d, np.nan),
        speed_kph=speed_kph * 0.85,
    )
    observations.note_detectors(engine, detectors)
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    last = checkpoints.history(cp)
    served, arrived = last["served_persons"][-1], last["arrived_persons"][-1]
    n = len(served)
    face_pps, manual_pps = (
        np.array([getattr(spec, name) for spec in engine.pedestrians.specs])
        for name in ("face_rate_pps", "manual_rate_pps")
    )
    face_cap, manual_cap = cp.lanes_face * face_pps, cp.lanes_manual * manual_pps
    face_share = face_cap / np.maximum(face_cap + manual_cap, 1e-12)
    # real lanes screen 20 % slower than planned: at that pace while a queue stands, else
    # 20 % fewer than the twin served
    open_s = checkpoints.open_s(engine.pedestrians.specs, end_s - 60.0, 60.0)  # doors open
    busy = cp.queue_persons > 0
    face = np.where(busy, 0.8 * face_cap * open_s, 0.8 * served * face_share)
    manual = np.where(busy, 0.8 * manual_cap * open_s, 0.8 * served * (1 - face_share))
    counts = CheckpointCounts(
        source="synthetic-scanners",
        checkpoint_index=np.repeat(np.arange(n), 2),
        lane_type=np.tile([0, 1], n),
        interval_end_s=np.full(2 * n, end_s),
        interval_s=np.full(2 * n, 60.0),
        served_persons=np.column_stack([face, manual]).ravel(),
        lanes_in_use=np.full(2 * n, np.nan),
        arrived_persons=np.column_stack([arrived * 1.1, np.zeros(n)]).ravel(),
    )
    assimilate_checkpoints(engine, counts)
    observations.note_checkpoints(engine, counts)


@pytest.fixture(scope="module")
def fed_wall():
    """The bundled day fed for 70 minutes from 18:00, then silent for 10: served, clock paused."""
    from app import create_app
    from twin.engine import Engine

    scenario = _scenario()
    engine = Engine(scenario, start_s=START_S)
    app = create_app(
        wall_config(
            scenario=scenario, engine=engine, start=False, normal_day=False, forecast_period_s=0
        )
    )
    live = app.server.extensions["venuetwin"].live
    for minute in range(FED_MINUTES):
        if minute % 10 == 0:  # as the forecast thread would: views at +15/+30/+60 min
            views = engine.forecast(3600, marks_s=(900, 1800, 3600))
            live.forecast_skill.note_forecast(engine.time_s, views, panel_predictions(engine))
        live.run_until(START_S + 60.0 * (minute + 1))
        _feed_minute(engine)
    live.run_until(engine.time_s + 60.0 * SILENT_MINUTES)
    live.apply_clock(paused=True, by="test")
    live.start()
    served = serve(app)
    yield served
    served.stop()


def _frame(served):
    return served.app.server.extensions["venuetwin"].store.latest()


def _open_feeds(browser, served, width, height):
    page, log = open_page(browser, served.url, width=width, height=height)
    page.locator("#ops-tab").get_by_text("Feeds", exact=True).click()
    page.wait_for_selector("#feed-road-chart .js-plotly-plot", timeout=120_000)
    page.wait_for_selector("#feed-cp-chart .js-plotly-plot", timeout=120_000)
    page.wait_for_selector("#feed-skill table", timeout=120_000)
    page.wait_for_timeout(1500)  # the charts' first draw
    return page, log


def test_the_stale_feed_alert_is_raised_after_the_set_time(fed_wall, browser, artifacts):
    frame = _frame(fed_wall)
    keys = [alert.get("key") for alert in frame.alerts]
    assert "feed:detectors" in keys and "feed:checkpoints" in keys  # 10 min silent > 5 min
    page, log = open_page(browser, fed_wall.url, width=1920, height=1080)
    feed = page.locator("#wall-alerts")
    wait_for(lambda: "Stale: no data for" in feed.inner_text(), 60)
    assert "Stale: no data for 10 min" in feed.inner_text()
    page.screenshot(path=str(artifacts / "feeds_stale_alert_1920.png"))
    assert not log.errors and not log.foreign
    page.context.close()


def test_feeds_tab_shows_observed_against_modelled_and_forecast_error(fed_wall, browser, artifacts):
    frame = _frame(fed_wall)
    skill = frame.forecast_skill
    assert skill["links"]["plus15"]["samples"] > 0 and skill["links"]["plus30"]["samples"] > 0
    page, log = _open_feeds(browser, fed_wall, 1920, 1080)
    health = page.locator("#feed-health").inner_text()
    assert "No field feeds connected" in health  # the plumbing's status query is not there yet
    table = page.locator("#feed-skill").inner_text()
    plus30 = skill["links"]["plus30"]["flow_rmse_vph"]
    assert f"±{plus30:,.0f} veh/h" in table
    legend = page.locator("#wall-legend-skill").inner_text()
    assert legend == f"+30 min forecast: ±{plus30:,.0f} veh/h over the last hour"
    live = fed_wall.app.server.extensions["venuetwin"].live
    road = live.query("observed_vs_modelled_link", DETECTOR_LINKS[0])
    readings = road["detectors"][0]
    first_kept = FED_MINUTES + SILENT_MINUTES - 60  # the last hour ends with the silent minutes
    assert len(readings["time_s"]) == FED_MINUTES - first_kept + 1
    observed = np.array(readings["observed_flow_vph"], dtype=float)
    modelled = np.array(readings["modelled_flow_vph"], dtype=float)
    # the synthetic counts: 25 % above the twin, rounded to whole vehicles a minute (±30 veh/h)
    np.testing.assert_allclose(observed, 1.25 * modelled, atol=30.0 + 1e-6)
    cp_text = page.locator("#feed-cp-chart").inner_text()
    assert "(from the scans)" in cp_text
    shown = checkpoint_options(live.query("checkpoint_rows"))[0]["value"]  # the dropdown's first
    data = live.query("observed_vs_modelled_checkpoint", shown)
    assert f"face {data['face_rate_ppm']:.1f}/min" in page.locator("#feed-cp-chart").inner_text()
    assert 16.0 - 1e-6 <= data["face_rate_ppm"] < 20.0  # moved from the plan toward the scans
    page.screenshot(path=str(artifacts / "feeds_tab_1920.png"))
    # a click on a road with detectors picks it (the deck bridge writes the click's store)
    road_names = {r["link_id"]: r["name"] for r in live.query("detector_roads")}
    picked = DETECTOR_LINKS[3]
    page.evaluate(
        f"dash_clientside.set_props('wall-map-click', {{data: {{kind: 'road', id: {picked}}}}})"
    )
    picker = page.locator("#feed-road")
    wait_for(lambda: road_names[picked] in picker.inner_text(), 60)
    assert road_names[picked] in picker.inner_text()
    # the Checkpoints tab says how far to trust its predicted waits
    maes = skill["checkpoints"]["panel"]["plus15"]["wait_mae_s"]
    page.locator("#ops-tab").get_by_text("Checkpoints", exact=True).click()
    line = page.locator("#cp-skill")
    wait_for(lambda: "recent error" in line.inner_text(), 60)
    assert f"+15 min wait ±{maes[shown] / 60:.1f} min over the last hour" in line.inner_text()
    page.screenshot(path=str(artifacts / "feeds_checkpoint_tab_1920.png"))
    assert not log.errors and not log.foreign
    page.context.close()


def test_feed_health_with_a_status_at_4k(fed_wall, browser, artifacts):
    now_s = _frame(fed_wall).time_s
    last_s = START_S + 60.0 * FED_MINUTES

    def stand_in_status(engine):  # the shape of twin.feeds.status.status
        return {
            "stale_after_s": 300.0,
            "sources": [
                {
                    "source": "synthetic-loops",
                    "last_data_s": last_s,
                    "stale": True,
                    "rate_per_min": 4.0,
                    "batches": 280,
                    "detector_readings": 11200,
                    "synthetic": True,
                    "rejected": {"unknown_detector": 3, "out_of_order": 1},
                },
                {
                    "source": "synthetic-scanners",
                    "last_data_s": now_s - 20.0,
                    "stale": False,
                    "rate_per_min": 16.0,
                    "batches": 1120,
                    "scans": 90000,
                    "synthetic": True,
                    "rejected": {},
                },
            ],  # fmt: skip
            "detectors": {
                "faulty": [
                    {"detector_id": "D-86", "road": "Olympic-ro", "reason": "stuck at 12 veh"}
                ]
            },
        }

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(queries.QUERIES, "feed_status", stand_in_status)
        page, log = _open_feeds(browser, fed_wall, 3840, 2160)
        health = page.locator("#feed-health")
        wait_for(lambda: "synthetic-loops" in health.inner_text(), 60)
        text = health.inner_text()
        assert "STALE" in text  # 10 min since the loops' last data, stale after 5
        assert "4 of 284" in text and "3 unknown detector" in text
        assert "D-86 (Olympic-ro): stuck at 12 veh" in text and "1 detector(s) not used" in text
        assert "0 of 1,120" in text
        page.screenshot(path=str(artifacts / "feeds_tab_3840.png"))
        assert not log.errors and not log.foreign
        page.context.close()


def test_without_a_feed_status_the_tab_says_no_feeds_connected():
    from layouts.feed_panel import NO_FEEDS, feed_health, legend_skill, skill_table

    assert NO_FEEDS in str(feed_health(None, 1000.0))
    assert NO_FEEDS in str(feed_health({"sources": []}, 1000.0))
    assert legend_skill({}) == ""  # no sample: nothing claimed on the legend
    empty = {"links": {"plus30": {"samples": 0, "flow_rmse_vph": None}}}
    assert legend_skill(empty) == ""
    assert "No forecast has reached its time" in str(skill_table(empty))
