"""Observed against modelled: the rolling history of detector and checkpoint readings, the
queries for the road and checkpoint panels, the stale-feed rule and the online forecast skill."""

import dataclasses
import zlib
from types import MappingProxyType, SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from twin.crowd import checkpoints, pedestrians
from twin.engine import Engine
from twin.errors import ActionError
from twin.feeds import observations
from twin.feeds.batch import CheckpointCounts, DetectorCounts
from twin.scenario import load
from twin.service import alarms, queries
from twin.service.forecast_skill import ForecastSkill

START_S = 18 * 3600


@pytest.fixture(scope="module")
def scenario():
    base = load("data/seoul_olympic_park")
    links = base.links
    link = int(links["length_m"].idxmax()) if "length_m" in links else 0
    length_m = float(links.loc[link, "length_m"]) if "length_m" in links else 100.0
    sites = pd.DataFrame(
        {
            "detector_id": ["D-end", "D-start"],
            "link_id": [link, link],
            "position_m": [length_m - 0.5, 0.0],
            "lanes": [2, 2],
            "measures": ["count+speed", "count"],
            "kind": ["stop_line", "counting_station"],
        }
    )
    return dataclasses.replace(base, detectors=sites)


@pytest.fixture(scope="module")
def engine(scenario):
    twin = Engine(scenario, start_s=START_S)
    twin.run(START_S + 300)
    return twin


def _detectors(end_s, count, speed=(50.0, np.nan), interval_s=60.0):
    return DetectorCounts(
        source="loops",
        detector_index=np.array([0, 1]),
        interval_end_s=np.full(2, float(end_s)),
        interval_s=np.full(2, interval_s),
        count_veh=np.array(count, dtype=float),
        occupancy=np.full(2, np.nan),
        speed_kph=np.array(speed, dtype=float),
    )


def test_a_detector_reading_is_paired_with_the_twins_value(engine):
    twin = engine.fork()
    link = int(twin.scenario.detectors["link_id"][0])
    assert observations.note_detectors(twin, _detectors(twin.time_s, (30, 12))) == 2
    series = queries.observed_vs_modelled_link(twin, link)
    end, start = series["detectors"]
    assert (end["detector_id"], start["detector_id"]) == ("D-end", "D-start")
    assert end["observed_flow_vph"] == [pytest.approx(30 * 60)]  # 30 in a minute
    assert start["observed_flow_vph"] == [pytest.approx(12 * 60)]
    assert end["observed_speed_kph"] == [50.0] and start["observed_speed_kph"] == [None]
    # the detector at the link's end sees the link's throughput (its last cell), as the map does
    view = twin.view()
    assert end["modelled_flow_vph"][0] == pytest.approx(float(view.links["flow_vph"][link]))
    free_kph = float(twin.net.link_free_speed_mps[link] * 3.6)
    assert 0 < end["modelled_speed_kph"][0] <= free_kph + 1e-9
    assert series["window_s"] == 3600 and series["now_s"] == twin.time_s


def test_the_history_keeps_the_last_hour_oldest_first(engine):
    twin = engine.fork()
    for minute in range(90):  # readings of 90 minutes, the last one now
        observations.note_detectors(twin, _detectors(twin.time_s - 60 * (89 - minute), (minute, 0)))
    link = int(twin.scenario.detectors["link_id"][0])
    reading = queries.observed_vs_modelled_link(twin, link)["detectors"][0]
    assert reading["time_s"] == sorted(reading["time_s"])
    assert reading["time_s"][0] >= twin.time_s - 3600 and reading["time_s"][-1] == twin.time_s
    assert len(reading["time_s"]) == 61  # minutes 29..89, an hour back inclusive
    assert reading["observed_flow_vph"][-1] == pytest.approx(89 * 60)


def test_the_ring_wraps_without_losing_the_newest(engine):
    twin = engine.fork()
    rows = observations.RING_ROWS
    for k in range(rows + 10):
        observations.note_detectors(
            twin, _detectors(twin.time_s - 10 * (rows + 9 - k), (k, 0), interval_s=10.0)
        )
    reading = queries.observed_vs_modelled_link(twin, int(twin.scenario.detectors["link_id"][0]))[
        "detectors"
    ][0]
    assert len(reading["time_s"]) == min(rows, 361)
    assert reading["observed_flow_vph"][-1] == pytest.approx((rows + 9) * 360)


def test_unknown_link_is_refused_with_a_code(engine):
    with pytest.raises(ActionError, match="road link '99999' does not exist") as error:
        queries.observed_vs_modelled_link(engine, 99999)
    assert error.value.code == "unknown_link"
    with pytest.raises(ActionError) as error:
        queries.observed_vs_modelled_checkpoint(engine, 99)
    assert error.value.code == "unknown_checkpoint"


def test_a_checkpoint_reading_pairs_counts_with_the_models_own_minute(engine):
    twin = engine.fork()
    cp = twin.state.extras[pedestrians.KEY].checkpoints
    end_s = 60.0 * (twin.time_s // 60)
    past = checkpoints.history(cp)
    row = int(np.flatnonzero(past["minute"] == end_s // 60 - 1)[0])
    model_served = past["served_persons"][row]
    model_wait = past["wait_s"][row]
    counts = CheckpointCounts(
        source="scanners",
        checkpoint_index=np.array([5, 5]),
        lane_type=np.array([0, 1]),
        interval_end_s=np.full(2, end_s),
        interval_s=np.full(2, 60.0),
        served_persons=np.array([20.0, 7.0]),
        lanes_in_use=np.full(2, np.nan),
        arrived_persons=np.full(2, np.nan),
    )
    assert observations.note_checkpoints(twin, counts) == 1  # lane types summed
    data = queries.observed_vs_modelled_checkpoint(twin, 5)
    assert data["time_s"] == [end_s]
    assert data["observed_served_ppm"] == [pytest.approx(27.0)]
    assert data["modelled_served_ppm"] == [pytest.approx(model_served[5])]
    assert data["modelled_wait_s"] == [pytest.approx(model_wait[5])]
    layout = twin.pedestrians
    assert data["observed_wait_s"] == [
        pytest.approx(checkpoints.mean_wait_now_s(layout.specs, cp)[5])
    ]
    assert data["face_rate_ppm"] == pytest.approx(20.0)  # no rate observed yet: the spec's


def test_a_replay_rebuilds_the_history_bit_for_bit(engine):
    first, second = engine.fork(), engine.fork()
    for twin in (first, second):
        observations.note_detectors(twin, _detectors(twin.time_s, (17, 4)))
    a, b = first.state.extras[observations.KEY], second.state.extras[observations.KEY]
    for name in observations.DETECTOR_FIELDS:
        assert np.array_equal(a.detectors.values[name], b.detectors.values[name], equal_nan=True)
    assert observations.KEY not in engine.state.extras  # the forks' notes left the original alone


def test_the_view_shows_the_newest_readings(engine):
    twin = engine.fork()
    observations.note_detectors(twin, _detectors(twin.time_s, (10, 20)))
    newest = twin.view().extras[observations.KEY]
    np.testing.assert_allclose(newest["detectors"]["observed_flow_vph"], [600, 1200])
    assert observations.last_data_s(newest) == {"detectors": twin.time_s}


def test_a_feed_without_data_for_the_set_time_is_stale():
    quiet = alarms.feed_conditions({"detectors": 1000.0, "checkpoints": 1250.0}, 1300.0)
    assert [c.key for c in quiet] == ["feed:detectors"]  # 300 s without data: stale
    assert quiet[0].level == 2 and "no data for 5 min" in quiet[0].message
    later = alarms.feed_conditions({"detectors": 1000.0}, 1000.0 + 900.0)
    assert later[0].level == 3
    assert alarms.feed_conditions({"x": float("nan")}, 5000.0) == []  # never connected
    faulty = alarms.feed_conditions({}, 0.0, faulty={"D7": "stuck"})
    assert faulty[0].level == 1 and "D7 (stuck)" in faulty[0].message


def test_a_stale_feed_raises_an_alert_through_the_alarm_book():
    book = alarms.AlarmBook(alarms.AlarmSettings(on_delay_s=60.0))
    for now in np.arange(1000.0, 1500.0, 10.0):
        book.update(float(now), alarms.feed_conditions({"detectors": 1000.0}, float(now)))
    keys = [item.get("key") for item in book.feed(1490.0)]
    assert "feed:detectors" in keys


def _future(flow, speed, waits):
    return SimpleNamespace(
        links={"flow_vph": np.array(flow, float), "speed_kph": np.array(speed, float)},
        extras={"pedestrians": {"checkpoints": {"wait_s": np.array(waits, float)}}},
    )


def _now(time_s, detector_time, flows, speeds, wait_time, waits):
    newest = {
        "detectors": {
            "time_s": np.array(detector_time, float),
            "observed_flow_vph": np.array(flows, float),
            "observed_speed_kph": np.array(speeds, float),
        },
        "checkpoints": {"time_s": np.array(wait_time, float), "observed_wait_s": np.array(waits)},
    }
    return SimpleNamespace(time_s=time_s, extras=MappingProxyType({"observations": newest}))


def test_forecast_skill_compares_past_forecasts_with_later_readings():
    skill = ForecastSkill(detector_links=[0, 2])
    views = {
        900: _future([500, 0, 800], [40, 0, 30], [120.0]),
        1800: _future([1, 1, 1], [1, 1, 1], [0]),
    }
    skill.note_forecast(1000.0, views, {900: np.array([300.0])})
    # before the target time nothing is paired
    assert (
        skill.update(_now(1500.0, [1500, 1500], [600, 700], [45, np.nan], [1500], [60]))["links"][
            "plus15"
        ]["samples"]
        == 0
    )
    # at the target (1900) readings arrive: flow errors -100 and +100, speed error -5
    summary = skill.update(_now(1960.0, [1960, 1960], [600, 700], [45, np.nan], [1960], [60.0]))
    plus15 = summary["links"]["plus15"]
    assert plus15["samples"] == 2
    assert plus15["flow_rmse_vph"] == pytest.approx(100.0)
    assert plus15["speed_rmse_kph"] == pytest.approx(5.0)
    assert summary["checkpoints"]["forecast"]["plus15"]["wait_mae_s"] == [pytest.approx(60.0)]
    assert summary["checkpoints"]["panel"]["plus15"]["wait_mae_s"] == [pytest.approx(240.0)]
    assert summary["links"]["plus30"]["samples"] == 0  # its time has not come
    # the same readings are not paired twice, and an hour later they are out of the window
    again = skill.update(_now(1970.0, [1960, 1960], [600, 700], [45, np.nan], [1960], [60.0]))
    assert again["links"]["plus15"]["samples"] == 2
    late = skill.update(_now(1960.0 + 3700, [np.nan, np.nan], [0, 0], [0, 0], [np.nan], [0]))
    assert late["links"]["plus15"]["samples"] == 0


def test_the_history_and_the_lane_rates_survive_a_snapshot(engine):
    from twin.feeds.checkpoint_assimilation import assimilate_checkpoints
    from twin.service.recorder import decode_state, encode_state

    twin = engine.fork()
    end_s = 60.0 * (twin.time_s // 60)
    counts = CheckpointCounts(
        source="scanners",
        checkpoint_index=np.array([5, 5]),
        lane_type=np.array([0, 1]),
        interval_end_s=np.full(2, end_s),
        interval_s=np.full(2, 60.0),
        served_persons=np.array([20.0, 7.0]),
        lanes_in_use=np.array([2.0, 1.0]),
        arrived_persons=np.array([40.0, np.nan]),
    )
    assimilate_checkpoints(twin, counts)
    observations.note_checkpoints(twin, counts)
    observations.note_detectors(twin, _detectors(twin.time_s, (9, 3)))
    restored = decode_state(zlib.compress(encode_state(twin.state)), "pickle5+zlib")
    cp, back = twin.state.extras[pedestrians.KEY].checkpoints, restored.extras[pedestrians.KEY]
    for name in ("face_rate_pps", "manual_rate_pps", "assimilated_added_persons", "queue_persons"):
        assert np.array_equal(getattr(cp, name), getattr(back.checkpoints, name)), name
    mine, theirs = twin.state.extras[observations.KEY], restored.extras[observations.KEY]
    assert np.array_equal(mine.detectors.time_s, theirs.detectors.time_s, equal_nan=True)
    for name in observations.CHECKPOINT_FIELDS:
        assert np.array_equal(
            mine.checkpoints.values[name], theirs.checkpoints.values[name], equal_nan=True
        )


def test_the_forecast_thread_hands_its_forecast_and_the_panels_waits_to_the_skill(engine):
    skill = ForecastSkill.of(engine)
    fork = engine.fork()
    views = fork.forecast(900, marks_s=(900,))
    skill.note_fork(fork, views)
    skill.update(SimpleNamespace(time_s=fork.time_s, extras=MappingProxyType({})))
    kinds = sorted((p.source, p.horizon_s) for p in skill._pending)
    assert kinds == [("forecast", 900), ("panel", 900), ("panel", 1800)]
    assert all(p.target_s == fork.time_s + p.horizon_s for p in skill._pending)
    skill.note_fork(SimpleNamespace(time_s=1.0), views)  # a broken fork: logged, not raised
