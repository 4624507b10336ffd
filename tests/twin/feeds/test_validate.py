"""Every validation rule: the code, the first bad record named (position and line), and the
limits computed on paper from the hand-made sites (tests/twin/feeds/conftest.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin.feeds.ingest import read_records
from twin.feeds.refusal import FeedError
from twin.feeds.validate import FeedLimits, validate

NOW_S = 18 * 3600.0
LIMITS = FeedLimits()


def reading(detector="D1", t=NOW_S, count=10, **extra):
    return {"detector": detector, "t": t, "interval_s": 60, "count": count, **extra}


def scan(lane=0, t=NOW_S - 30, lane_type="face", checkpoint=0):
    return {"checkpoint": checkpoint, "lane": lane, "lane_type": lane_type, "t": t}


def served(served=10, t=NOW_S, lane_type="manual", **extra):
    return {
        "checkpoint": 0,
        "lane_type": lane_type,
        "t": t,
        "interval_s": 60,
        "served": served,
        **extra,
    }


def check(records, sites, state, now_s=NOW_S):
    return validate(read_records(records), sites, state, now_s=now_s, limits=LIMITS)


def refusal(records, sites, state, now_s=NOW_S) -> FeedError:
    with pytest.raises(FeedError) as info:
        check(records, sites, state, now_s)
    return info.value


def test_a_good_batch_of_each_shape_passes(sites, state):
    checked = check([reading(), reading("D2", count=5), scan(), scan(1), served()], sites, state)
    assert checked.detector_index.tolist() == [0, 1]
    assert checked.scan_lane.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("bad", "code", "words"),
    [
        (reading("D9"), "unknown_detector", "'D9' is not in the scenario's detectors.csv"),
        (scan(checkpoint=3), "unknown_checkpoint", "checkpoint 3 does not exist"),
        (scan(lane=4), "unknown_lane", "lane 4 does not exist at checkpoint 0 (lanes 0 to 3)"),
        (scan(lane_type="x-ray"), "unknown_lane_type", "lane_type must be one of"),
        (served(lanes_in_use=5), "unknown_lane", "more than the 4 manual lane(s)"),
        (reading(count=-1), "negative_count", "count must be 0 or more, got -1"),
        (served(served=-2), "negative_count", "served must be 0 or more"),
        (reading(occupancy=1.5), "bad_value", "occupancy must be a share from 0 to 1"),
        (reading(speed_kph=-3), "bad_value", "speed_kph must be from 0 to 250"),
        ({**reading(), "interval_s": 0}, "bad_value", "interval_s must be over 0"),
        ({**reading(), "count": "many"}, "bad_value", "field 'count' is not a number"),
        ({"detector": "D1", "t": NOW_S, "interval_s": 60}, "bad_value", "'count' is missing"),
        (reading(t=NOW_S + 121), "ahead_of_clock", "121 s ahead of the twin's clock"),
        ({"checkpoint": 0, "t": NOW_S}, "malformed", "a record must be a detector reading"),
    ],
)
def test_each_rule_names_the_record_and_the_rule(sites, state, bad, code, words):
    error = refusal([reading(), bad], sites, state)
    assert error.code == code
    assert error.record == 1
    assert words in str(error)
    assert str(error).startswith("record 1")


def test_ahead_tolerance_is_inclusive_at_the_limit(sites, state):
    check([reading(t=NOW_S + 120)], sites, state)  # 120 s ahead: within the tolerance


def test_detector_capacity_margin_on_paper(sites, state):
    # D1: 2 lanes x 1800 veh/h = 3600 veh/h = 60 veh/min; x 1.5 margin = 90 veh in a minute
    check([reading(count=90)], sites, state)
    error = refusal([reading(count=90.5)], sites, state)
    assert error.code == "above_capacity" and "(90.0 veh: capacity x 1.5)" in str(error)
    # D2 over 300 s: 1200 veh/h -> 100 veh; x 1.5 = 150
    check([{**reading("D2", count=150), "interval_s": 300}], sites, state)
    assert refusal([{**reading("D2", count=151), "interval_s": 300}], sites, state).code == (
        "above_capacity"
    )


def test_a_lane_may_scan_at_most_twice_its_rate_in_a_minute(sites, state):
    # face lane: 20/min x 2 = 40 scans in one minute; the 41st is refused and named
    ok = [scan(0, NOW_S - 60 + i) for i in range(40)]
    check(ok, sites, state)
    error = refusal(ok + [scan(0, NOW_S - 60 + 40.5)], sites, state)
    assert (error.code, error.record) == ("above_capacity", 40)
    assert "screens at most 40 a minute" in str(error)
    # a manual lane: 5/min x 2 = 10
    manual = [scan(2, NOW_S - 60 + i, "manual") for i in range(11)]
    assert refusal(manual, sites, state).record == 10


def test_served_counts_are_capped_by_the_lanes_in_use(sites, state):
    # 2 manual lanes x 5/min x 60 s x 2 = 20 persons
    check([served(20, lanes_in_use=2)], sites, state)
    assert refusal([served(21, lanes_in_use=2)], sites, state).code == "above_capacity"
    # unknown lanes in use: all 4 manual positions -> 40
    check([served(40)], sites, state)


def test_duplicates_and_order_within_a_batch(sites, state):
    error = refusal([reading(t=NOW_S - 60), reading("D2"), reading(t=NOW_S - 60)], sites, state)
    assert (error.code, error.record) == ("duplicate", 2)
    error = refusal([reading(t=NOW_S), reading(t=NOW_S - 60)], sites, state)
    assert (error.code, error.record) == ("out_of_order", 1)
    error = refusal([scan(1, NOW_S - 10), scan(0, NOW_S - 20), scan(1, NOW_S - 12)], sites, state)
    assert (error.code, error.record) == ("out_of_order", 2)
    # other detectors and lanes have their own order
    check([reading(t=NOW_S), reading("D2", t=NOW_S - 60)], sites, state)


def test_order_carries_over_from_what_was_accepted(sites, state):
    state.det_last_end_s[0] = NOW_S - 60
    state.scan_last_s[0, 1] = NOW_S - 5
    assert refusal([reading(t=NOW_S - 60)], sites, state).code == "duplicate"
    assert refusal([reading(t=NOW_S - 120)], sites, state).code == "out_of_order"
    assert refusal([scan(1, NOW_S - 6)], sites, state).code == "out_of_order"
    check([reading(t=NOW_S), scan(1, NOW_S - 4)], sites, state)


def test_the_first_bad_record_wins_whatever_its_rule(sites, state):
    records = [reading(t=NOW_S - 60), reading(count=500), reading("nope")]
    error = refusal(records, sites, state)
    assert (error.code, error.record) == ("above_capacity", 1)


def test_for_one_record_the_first_rule_in_the_stated_order_is_named(sites, state):
    # unknown detector and ahead of the clock: the unknown detector is named
    assert refusal([reading("X", t=NOW_S + 999)], sites, state).code == "unknown_detector"
    # negative and ahead: negative
    assert refusal([reading(count=-1, t=NOW_S + 999)], sites, state).code == "negative_count"


def test_empty_and_too_large_batches(sites, state):
    assert refusal([], sites, state).code == "empty_batch"
    limits = FeedLimits(max_records=2)
    with pytest.raises(FeedError, match="at most 2 per batch") as info:
        validate(read_records([reading()] * 3), sites, state, now_s=NOW_S, limits=limits)
    assert info.value.code == "too_large"


def test_a_malformed_ndjson_line_is_named_by_its_number(sites, state):
    body = "\n".join([json.dumps(reading()), "", json.dumps(reading("D2")), '{"detector": "D1",'])
    with pytest.raises(FeedError, match="line 4 is not valid JSON") as info:
        read_records(body, fmt="ndjson")
    assert info.value.code == "malformed"
    with pytest.raises(FeedError, match="line 2 is not valid JSON"):
        read_records('{"a": 1}\n{"count": NaN}', fmt="ndjson")
    with pytest.raises(FeedError, match=r"record 1 \(line 3\): unknown field 'colour'"):
        read_records(json.dumps(reading()) + "\n\n" + json.dumps({**reading(), "colour": 1}))


def test_ndjson_csv_and_json_read_alike(sites, state):
    records = [reading(), reading("D2", count=3, speed_kph=41.5), scan(2, lane_type="manual")]
    ndjson = "\n".join(json.dumps(r) for r in records)
    csv = (
        "detector,checkpoint,lane,lane_type,t,interval_s,count,speed_kph\n"
        f"D1,,,,{NOW_S},60,10,\n"
        f"D2,,,,18:00:00,60,3,41.5\n"
        f",0,2,manual,{NOW_S - 30},,,\n"
    )
    for data, fmt in ((ndjson, "ndjson"), (json.dumps(records), "json"), (csv, "csv")):
        typed = read_records(data, fmt=fmt)
        assert typed.detectors.count_veh.tolist() == [10.0, 3.0]
        assert typed.detectors.end_s.tolist() == [NOW_S, NOW_S]
        assert np.isnan(typed.detectors.speed_kph[0]) and typed.detectors.speed_kph[1] == 41.5
        assert typed.scans.lane.tolist() == [2.0] and typed.scans.lane_type.tolist() == [1]
    with pytest.raises(FeedError, match=r"record 1 \(line 3\): field 't' must be seconds"):
        read_records(csv.replace("D2,,,,18:00:00", "D2,,,,18h00"), fmt="csv")
