"""Spectators on foot on the bundled scenario: the crowds inside at the start, conservation,
two-stage screening (park gate, then venue entrance), queues in space, lane actions."""

import copy
import dataclasses

import numpy as np
import pytest

from twin.crowd import checkpoints, pedestrians
from twin.crowd.pedestrians import SetLanes
from twin.engine import Engine
from twin.errors import ActionError
from twin.models.demand import build_demand
from twin.scenario import load

START_S = (
    17 * 3600
)  # a new engine has nobody walking or queueing; its venues hold the sessions in progress
KSPO, NORTH_2 = 5, 7  # checkpoint ids: venues in schedule order, then the gates crossed
TENNIS, VELODROME = 0, 1


@pytest.fixture(scope="module")
def scenario():
    return load("data/seoul_olympic_park")


@pytest.fixture(scope="module")
def evening(scenario):
    engine = Engine(scenario, start_s=START_S)
    engine.run(19 * 3600)
    return engine


@pytest.fixture(scope="module")
def gates_closed(scenario):
    """From 17:00 to 18:20 with every lane of every park gate closed."""
    engine = Engine(scenario, start_s=START_S)
    for gate in engine.pedestrians.gate_checkpoint:
        engine.apply(SetLanes(int(gate), "face", 0))
        engine.apply(SetLanes(int(gate), "manual", 0))
    engine.run(18 * 3600 + 1200)
    return engine


def _offered(engine, mode=slice(None)):
    """(V,) spectators arriving since the start, by rail/foot (mode 0), by road (1) or both."""
    return (
        engine.demand.persons_between(START_S, engine.time_s)[:, 0, mode]
        .reshape(engine.pedestrians.n_venues, -1)
        .sum(axis=1)
    )


def _balance(engine):
    """offered (inside and queueing at the start + arriving since) - (on grid + waiting at
    sources + in every queue + inside + gone)."""
    people = engine.state.extras[pedestrians.KEY]
    on_grid = people.crowd.persons.sum()
    at_sources = people.crowd.backlog_persons.sum() + people.passed_gate_persons.sum()
    queued = people.checkpoints.queue_persons.sum()  # gates and entrances
    offered = people.inside_at_start.sum() + people.queued_at_start.sum() + _offered(engine).sum()
    return offered - (on_grid + at_sources + queued + people.inside.sum() + people.gone)


def _in_flight(layout, people):
    """(V,) spectators walking to or queueing for each venue: on the grid, at its station's or
    gates' sources, in gate queues, past a gate, in its entrance queue."""
    crowd = people.crowd
    flight = (
        crowd.persons[: layout.n_venues].sum(axis=1) + crowd.backlog_persons[layout.station_source]
    )
    flight += (
        people.gate_queue_persons.sum(axis=0)
        + people.checkpoints.queue_persons[layout.venue_checkpoint]
    )
    for a, v in enumerate(layout.approach_venue):  # walking from a station to a gate on the way
        flight[v] += crowd.persons[layout.n_venues + a].sum()
    for g, v in zip(*np.nonzero(layout.gate_source >= 0), strict=True):
        source = layout.gate_source[g, v]
        flight[v] += people.passed_gate_persons[source] + crowd.backlog_persons[source]
    return flight


# Inside each venue and queueing at its entrance at the start, by hand from schedule.csv and
# scenario.toml: attendance x mode split (rail+walk 0.75, road 0.25: the two shares sum to the whole
# crowd) x (share arrived - share gone). Arrival shares at minutes from the start (-150 0, -90 .10,
# -60 .30, -30 .70, 0 .95, 20 1), departure shares at minutes from the end (0 0, 10 .35, 20 .65,
# 40 .90, 75 1), linear between. Doors (doors_open to end): Tennis Center 10:30-16:30 and
# 18:30-22:30, Velodrome 14:30-18:30, Olympic Hall 17:30-20:30, Art Hall 17:00-20:00, Ticketlink
# Live Arena 18:00-21:30, KSPO Dome 18:00-22:00. Spectators who arrived since the doors last shut
# queue at the entrance; the others are inside.
# Venues: Tennis Center, Velodrome, Olympic Hall, Art Hall, Ticketlink Live Arena, KSPO Dome.
START_CROWDS = [
    (
        "09:00:00",
        [0.0] * 6,
        [0.0] * 6,
    ),  # before the first arrival (tennis day session: 12:00 - 150 min = 09:30)
    (
        "10:00:00",
        [0.0] * 6,
        [7200 * 0.10 * 30 / 60, 0, 0, 0, 0, 0],
    ),  # doors at 10:30: all 360 queue
    (
        "12:10:00",
        [7200 * (0.95 + 0.05 * 10 / 20), 0, 0, 0, 0, 0],
        [0.0] * 6,
    ),  # mid-session: +10 min, 6840
    (
        "17:12:30",
        [
            7200
            * (1 - (0.90 + 0.10 * 2.5 / 35)),  # day session, 42.5 min after its 16:30 end: 668.6
            5400 * 1.0,  # 16:00-18:30: everyone in (mid-session)
            0,
            1100
            * (
                0.30 + 0.40 * 12.5 / 30
            ),  # Olympic Hall's doors are shut; the Art Hall's open: 513.3
            0,
            0,
        ],
        [
            8500
            * 0.10
            * 12.5
            / 60,  # night session, 137.5 min before its 19:30 start, doors at 18:30: 177.1
            0,
            2300 * (0.10 + 0.20 * 12.5 / 30),  # 77.5 min before 18:30, doors at 17:30: 421.7
            0,
            4800 * 0.10 * 12.5 / 60,
            14600 * 0.10 * 12.5 / 60,
        ],
    ),  # 137.5 min before 19:30: 100, 304.2
    (
        "19:00:00",
        [
            8500 * 0.70,
            5400 * (1 - (0.65 + 0.25 * 10 / 20)),
            2300 * 1.0,
            1100 * 1.0,
            4800 * 0.70,
            14600 * 0.70,
        ],
        [0.0] * 6,
    ),  # 5950, 1215 (30 min after 18:30), ..., 10220
    (
        "21:00:00",
        [8500, 0, 2300 * (1 - 0.775), 1100 * (1 - (0.90 + 0.10 * 20 / 35)), 4800, 14600],
        [0.0] * 6,
    ),
]


@pytest.mark.parametrize(("clock", "inside", "queued"), START_CROWDS)
def test_an_engine_starts_with_the_crowds_the_curves_delivered_and_nobody_walking(
    scenario, clock, inside, queued
):
    h, m, s = (int(part) for part in clock.split(":"))
    engine = Engine(scenario, start_s=h * 3600 + m * 60 + s)
    people = engine.state.extras[pedestrians.KEY]
    np.testing.assert_allclose(people.inside, inside, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(people.inside_at_start, people.inside)
    cp, entrances = people.checkpoints, engine.pedestrians.venue_checkpoint
    np.testing.assert_allclose(cp.queue_persons[entrances], queued, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(people.queued_at_start, cp.queue_persons[entrances])
    np.testing.assert_array_equal(
        cp.arrived_persons, cp.queue_persons
    )  # the queue counts as arrived
    assert (
        people.crowd.persons.sum()
        == cp.queue_persons[engine.pedestrians.gate_checkpoint].sum()
        == 0.0
    )
    assert people.released.sum() == cp.served_persons.sum() == 0.0
    on_site = engine.view().extras["pedestrians"]["on_site_persons"]
    assert on_site == pytest.approx(sum(inside) + sum(queued), rel=1e-12)


def test_doors_opening_at_the_start_have_admitted_nobody(scenario):
    """At 17:00 the Art Hall's doors open: its 330 (1,100 x 0.30, arrived 16:00-17:00) queue."""
    people = Engine(scenario, start_s=START_S).state.extras[pedestrians.KEY]
    np.testing.assert_allclose(
        people.queued_at_start, [0, 0, 2300 * 0.10, 1100 * 0.30, 0, 0], rtol=1e-12
    )
    np.testing.assert_allclose(people.inside, [7200 * (1 - 0.775), 5400, 0, 0, 0, 0], rtol=1e-12)


def test_a_venue_starts_at_most_full(scenario):
    engine = Engine(scenario, start_s=19 * 3600)
    small = dataclasses.replace(engine.pedestrians, venue_capacity_persons=np.full(6, 2000.0))
    message = (
        "exceed the venue's capacity, starting at capacity: venue_olympic_tennis_center 5950 > 2000, "
        "venue_olympic_hall 2300 > 2000, venue_ticketlink_live_arena 3360 > 2000, venue_kspo_dome 10220 > 2000$"
    )
    with pytest.warns(UserWarning, match=message) as caught:
        inside = pedestrians.inside_at_start(small, engine.demand, 19 * 3600)
    assert len(caught) == 1
    np.testing.assert_allclose(inside, [2000, 1215, 2000, 1100, 2000, 2000])


def test_the_day_session_leaving_takes_out_only_the_day_crowd(scenario):
    """Started at 17:00, the Tennis Center holds the day session's last 1,620 (7,200 x (1 -
    0.775)); its departure curve (until 17:45) releases exactly those, and every night-session
    spectator screened at the entrance (from 18:30, when its doors open) stays inside."""
    engine = Engine(scenario, start_s=START_S)
    people = engine.state.extras[pedestrians.KEY]
    served = people.checkpoints.served_persons
    assert people.inside[TENNIS] == pytest.approx(7200 * (1 - 0.775), rel=1e-12)
    for minute in range(5, 125, 5):
        engine.run(START_S + minute * 60)
        day_gone = 7200 * (np.interp(30 + minute, [20, 40, 75], [0.65, 0.90, 1.0]) - 0.775)
        assert people.released[TENNIS] == pytest.approx(day_gone, rel=1e-9)
        assert people.inside[TENNIS] == pytest.approx(1620 - day_gone + served[TENNIS], rel=1e-9)
        assert (
            people.inside[TENNIS] >= served[TENNIS] - 1e-9
        )  # the night crowd so far, none released
        assert (served[TENNIS] > 0) == (minute > 90)  # the doors open at 18:30
    assert people.released[TENNIS] == pytest.approx(1620, rel=1e-12) and served[TENNIS] > 500
    assert _balance(engine) == pytest.approx(0.0, abs=1e-9 * _offered(engine).sum())


def test_a_start_state_matches_a_run_from_midnight_but_for_those_in_flight(scenario, evening):
    """The pedestrians run from 00:00 to 17:00 (the engine's step hook calls :func:`advance`
    every ``CROWD_DT_S``; the traffic is left out) end with the start state's crowds inside and
    queueing less those still walking or queueing at 17:00: all 230 of Olympic Hall's and 330 of
    the Art Hall's (their doors open at 17:30 and 17:00: the run has admitted nobody), whom the
    start state has queueing at the entrances. The run also has 487 day-session spectators
    walking away, whom the start state counts as gone."""
    layout, demand = evening.pedestrians, evening.demand
    run = pedestrians.new_state(layout, demand, 0.0)
    assert run.inside.sum() == 0.0
    for step in range(int(START_S / pedestrians.CROWD_DT_S)):
        pedestrians.advance(
            layout, run, demand, step * pedestrians.CROWD_DT_S, pedestrians.CROWD_DT_S
        )
    start = pedestrians.new_state(layout, demand, START_S)
    arrived = start.inside + start.queued_at_start
    np.testing.assert_allclose(arrived - run.inside, _in_flight(layout, run), atol=1e-6)
    np.testing.assert_allclose(run.released, [7200 * 0.775, 0, 0, 0, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(start.inside, [1620, 5400, 0, 0, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(start.queued_at_start, [0, 0, 230, 330, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(run.inside, [1620, 5400, 0, 0, 0, 0], atol=1e-6)
    served = run.checkpoints.served_persons[layout.venue_checkpoint]
    assert served[2] == served[3] == 0.0
    leaving = run.crowd.persons[layout.n_venues + len(layout.approach_gate) :].sum()  # exit groups
    assert leaving == pytest.approx(487, abs=1.0)
    assert leaving == pytest.approx(7200 * 0.775 - run.gone, rel=1e-9)  # released and not yet gone


def test_checkpoints_are_the_venue_entrances_then_the_gates_spectators_cross(evening):
    layout = evening.pedestrians
    kinds = [s.kind for s in layout.specs]
    assert kinds == ["venue_entrance"] * 6 + ["park_gate"] * 2
    assert [s.venue_id for s in layout.specs[:6]] == list(layout.venue_ids)
    assert layout.gate_ids == ("gate_world_peace_gate", "gate_north_2")  # North Gate 1 is nobody's
    assert layout.specs[KSPO].name == "KSPO Dome entrance"
    assert layout.specs[NORTH_2].name == "Olympic Park North Gate 2 checkpoint"
    # by road: through the gate nearest the venue (the Velodrome is the one behind World Peace Gate)
    velodrome = layout.venue_ids.index("venue_olympic_velodrome")
    assert [layout.gate_ids[g] for g in layout.road_gate] == [
        "gate_world_peace_gate" if v == velodrome else "gate_north_2" for v in range(6)
    ]
    # by rail: Olympic Park and Hanseong Baekje stations reach the park by gates not in the data
    assert np.all(layout.rail_gate == -1)
    for spec, gate in zip(layout.specs[6:], layout.gate_ids, strict=True):
        assert (
            spec.facility_id == gate
            and spec.venue_id is None
            and len(layout.queue_cells[spec.checkpoint_id])
        )


def test_persons_are_conserved(evening):
    people = evening.state.extras[pedestrians.KEY]
    assert _offered(evening).sum() > 10_000  # the evening's arrivals are under way
    assert people.inside_at_start.sum() == pytest.approx(1620 + 5400)  # see START_CROWDS
    assert people.queued_at_start.sum() == pytest.approx(230 + 330)
    assert _balance(evening) == pytest.approx(0.0, abs=1e-9 * _offered(evening).sum())
    on_site = evening.view().extras["pedestrians"]["on_site_persons"]
    at_start = people.inside_at_start.sum() + people.queued_at_start.sum()
    assert on_site == pytest.approx(at_start + _offered(evening).sum() - people.gone, rel=1e-12)
    # at 19:00 the day session's last 1,620 and 4,185 of the Velodrome's 5,400 (30 min after its
    # 18:30 end: 0.775) are released; the Velodrome's 1,215 others are inside, as in START_CROWDS
    np.testing.assert_allclose(
        people.released[[TENNIS, VELODROME]], [1620, 5400 * 0.775], rtol=1e-9
    )
    assert people.inside[VELODROME] == pytest.approx(1215, rel=1e-9)
    # the gate stage carried persons, and each gate queue's mix by venue adds up to the queue
    gates = evening.pedestrians.gate_checkpoint
    assert people.checkpoints.served_persons[gates].sum() > 1000
    np.testing.assert_allclose(
        people.gate_queue_persons.sum(axis=1), people.checkpoints.queue_persons[gates], atol=1e-9
    )


def test_a_closed_gate_holds_everyone_arriving_by_road(gates_closed):
    engine, layout = gates_closed, gates_closed.pedestrians
    people = engine.state.extras[pedestrians.KEY]
    cp = people.checkpoints
    by_road, by_rail = _offered(engine, 1), _offered(engine, 0)
    gates = layout.gate_checkpoint
    assert cp.served_persons[gates].sum() == 0.0
    for g, gate in enumerate(gates):  # each gate holds the road arrivals of the venues behind it
        assert cp.queue_persons[gate] == pytest.approx(
            by_road[layout.road_gate == g].sum(), rel=1e-12
        )
    assert cp.queue_persons[NORTH_2] > 1000
    # the entrances saw only the rail and walking crowd (besides the queues at 17:00): arrived +
    # still walking = offered by rail
    walking = (
        people.crowd.persons[: layout.n_venues].sum()
        + people.crowd.backlog_persons[layout.station_source].sum()
    )
    reached = cp.arrived_persons[: layout.n_venues].sum() - people.queued_at_start.sum()
    assert reached + walking == pytest.approx(by_rail.sum(), rel=1e-9)
    assert people.passed_gate_persons.sum() == 0.0
    assert _balance(engine) == pytest.approx(0.0, abs=1e-9 * _offered(engine).sum())


def test_opening_a_closed_gate_serves_its_queue_at_the_lanes_capacity(gates_closed):
    engine = gates_closed.fork()
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    served_before = cp.served_persons[NORTH_2]
    table = pedestrians.checkpoint_table(engine)[NORTH_2]
    assert table["wait_now_s"] == np.inf and table["status"] == "over"
    assert table["recommended_face"] + table["recommended_manual"] > 0
    engine.apply(SetLanes(NORTH_2, "manual", 2))  # 2 x 5/min: a bottleneck of 10 persons/min
    assert pedestrians.checkpoint_table(engine)[NORTH_2]["wait_now_s"] < np.inf
    engine.run(engine.time_s + 600)
    assert cp.queue_persons[NORTH_2] > 0  # still a queue: the lanes ran at capacity throughout
    assert cp.served_persons[NORTH_2] - served_before == pytest.approx(2 * 5 / 60 * 600, rel=1e-9)
    assert _balance(engine) == pytest.approx(0.0, abs=1e-9 * _offered(engine).sum())


def test_a_spectator_screened_at_a_gate_walks_on_to_the_venue_entrance(scenario):
    """Road arrivals only (rail and foot removed from the demand): every person is counted by
    hand, per venue, through gate queue -> past the gate -> walking -> entrance -> inside."""
    demand = build_demand(scenario, seed=0)
    road_only = demand.foot_pps.copy()
    road_only[..., 0] = 0.0
    engine = Engine(
        scenario, start_s=START_S, demand=dataclasses.replace(demand, foot_pps=road_only)
    )
    engine.run(18 * 3600 + 1200)  # before any session ends: nobody leaves
    layout, people = engine.pedestrians, engine.state.extras[pedestrians.KEY]
    cp, offered = people.checkpoints, _offered(engine, 1)
    gates = layout.gate_checkpoint
    np.testing.assert_allclose(
        cp.arrived_persons[gates], np.bincount(layout.road_gate, offered), rtol=1e-12
    )
    for v in range(layout.n_venues):
        g = layout.road_gate[v]
        source = layout.gate_source[g, v]
        past_gate = offered[v] - people.gate_queue_persons[g, v]
        walking = (
            people.passed_gate_persons[source]
            + people.crowd.backlog_persons[source]
            + people.crowd.persons[v].sum()
        )
        reached = (
            cp.arrived_persons[v] - people.queued_at_start[v]
        )  # the queue at 17:00 counts as arrived
        assert past_gate == pytest.approx(walking + reached, rel=1e-9, abs=1e-9)
        # served = inside + released - inside at the start (the venues hold the road share of
        # the sessions in progress at 17:00, and the tennis day session's leave until 17:45)
        served = people.inside[v] + people.released[v] - people.inside_at_start[v]
        assert cp.arrived_persons[v] == pytest.approx(
            cp.queue_persons[v] + served, rel=1e-12, abs=1e-9
        )
    # the gates' throughput is the venues' flow past them; KSPO's crowd went through both stages
    past = offered - people.gate_queue_persons.sum(axis=0)
    np.testing.assert_allclose(
        cp.served_persons[gates], np.bincount(layout.road_gate, past), rtol=1e-9
    )
    assert cp.served_persons[NORTH_2] > 1000 and cp.arrived_persons[KSPO] > 500


def test_a_station_behind_a_gate_sends_its_crowd_through_the_gate(scenario):
    """Rule check: KSPO's rail crowd sent from Mongchontoseong station (next to the World Peace
    Gate) crosses that gate on its way; from its usual station it crosses none."""
    demand = build_demand(scenario, seed=0)
    kspo = demand.venue_ids.index("venue_kspo_dome")
    sources = tuple(
        "transit_mongchontoseong_station" if v == kspo else s
        for v, s in enumerate(demand.foot_source)
    )
    engine = Engine(
        scenario, start_s=START_S, demand=dataclasses.replace(demand, foot_source=sources)
    )
    layout = engine.pedestrians
    peace = layout.gate_ids.index("gate_world_peace_gate")
    assert layout.rail_gate[kspo] == peace and np.sum(layout.rail_gate >= 0) == 1
    engine.run(18 * 3600 + 1200)
    people = engine.state.extras[pedestrians.KEY]
    cp = people.checkpoints
    # World Peace Gate's arrivals: the Velodrome's road crowd + KSPO's rail crowd that reached it
    approach = layout.n_venues  # KSPO's walk to the gate is the first approach group
    station = layout.station_source[kspo]
    reached = (
        _offered(engine, 0)[kspo]
        - people.crowd.persons[approach].sum()
        - people.crowd.backlog_persons[station]
    )
    velodrome_by_road = _offered(engine, 1)[layout.road_gate == peace].sum()
    assert reached > 100
    assert cp.arrived_persons[layout.gate_checkpoint[peace]] == pytest.approx(
        velodrome_by_road + reached, rel=1e-9
    )
    assert people.gate_queue_persons[peace, kspo] >= 0 and layout.gate_source[peace, kspo] >= 0
    assert _balance(engine) == pytest.approx(0.0, abs=1e-9 * _offered(engine).sum())


def test_a_gate_serves_its_mix_of_venues_in_proportion():
    queue = np.array([[10.0, 30.0], [4.0, 0.0]])  # two gates, two venues
    passed = pedestrians.serve_well_mixed(
        queue, np.array([[0.0, 10.0], [0.0, 0.0]]), np.array([25.0, 4.0])
    )
    np.testing.assert_allclose(
        passed, [[5.0, 20.0], [4.0, 0.0]]
    )  # 25 of 50: half of each venue's 10 and 40
    np.testing.assert_allclose(queue, [[5.0, 20.0], [0.0, 0.0]])


@pytest.mark.parametrize("checkpoint", [KSPO, NORTH_2])
def test_queue_occupies_space_in_the_density_map(evening, checkpoint):
    layout = evening.pedestrians
    people = copy.deepcopy(evening.state.extras[pedestrians.KEY])
    people.checkpoints.queue_persons[:] = 0.0
    empty = pedestrians.density_cells(layout, people)
    people.checkpoints.queue_persons[checkpoint] = 3000.0
    queued = pedestrians.density_cells(layout, people)
    area = layout.network.grid.cell_area_m2
    assert (queued - empty).sum() * area == pytest.approx(3000.0)
    pen = layout.queue_cells[checkpoint]
    assert np.all(np.isin(np.flatnonzero(queued - empty > 1e-12), pen))  # only in the pen
    # 3,000 persons at 2 p/m² on 400 m² cells fill 3.75 cells: the nearest three are at 2 p/m²
    np.testing.assert_allclose((queued - empty)[pen[:3]], pedestrians.QUEUE_DENSITY_PPM2)


def test_gate_pen_is_round_the_gate(evening):
    layout = evening.pedestrians
    spec = layout.specs[NORTH_2]
    net = layout.network
    from twin.crowd.grid import cell_centre_m

    x, y = cell_centre_m(
        net.grid,
        net.cell_row[layout.queue_cells[NORTH_2]],
        net.cell_col[layout.queue_cells[NORTH_2]],
    )
    assert (
        np.hypot(x - spec.x_m, y - spec.y_m).max()
        <= pedestrians.QUEUE_PEN_M + 2 * pedestrians.CELL_M
    )


def test_throughput_never_exceeds_open_lane_capacity(evening):
    rows = pedestrians.checkpoint_table(evening)
    assert {r["kind"] for r in rows} == {"venue_entrance", "park_gate"}
    for row in rows:
        capacity_5min = (row["lanes_face"] * 20 / 60 + row["lanes_manual"] * 5 / 60) * 300
        assert row["throughput_5min"] <= capacity_5min + 1e-6


def test_opening_lanes_cuts_the_predicted_wait(evening):
    engine = evening.fork()
    before = pedestrians.checkpoint_table(engine)[KSPO]
    assert before["queue_persons"] > 0
    result = engine.apply(SetLanes(KSPO, "face", before["lanes_face"] + 6))
    after = pedestrians.checkpoint_table(engine)[KSPO]
    assert result["before"] == before["lanes_face"] and result["after"] == before["lanes_face"] + 6
    assert after["wait_now_s"] < before["wait_now_s"]


def test_a_held_gate_crowd_reaches_the_entrance_forecast_when_the_gate_opens(gates_closed):
    """The entrance forecast carries the gate's throughput, a walk later."""
    engine = gates_closed.fork()
    closed = pedestrians.arrival_forecast_pps(engine, 1800.0)
    engine.apply(SetLanes(NORTH_2, "face", 20))
    opened = pedestrians.arrival_forecast_pps(engine, 1800.0)
    extra = (opened - closed)[:, KSPO] * 60.0
    walk_s = pedestrians.walk_time_s(
        engine.pedestrians, engine.pedestrians.gate_source[1, KSPO], KSPO
    )
    assert extra.sum() > 100 and np.all(extra >= -1e-9)
    assert extra[: int(walk_s // 60)].sum() == 0.0  # nobody before the walk from the gate


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            SetLanes(99, "face", 1),
            r"checkpoint_id: 99 is not a checkpoint \(expected a whole number 0..7\)",
        ),
        (SetLanes(KSPO, "drone", 1), "lane_type"),
        (SetLanes(KSPO, "face", -1), "count"),
        (SetLanes(KSPO, "manual", 1000), "max_lanes"),
        (
            SetLanes(NORTH_2, "manual", 1000),
            r"max_lanes=\d+ at checkpoint 7 'Olympic Park North Gate 2 checkpoint'",
        ),
        (SetLanes(NORTH_2, "face", 2.5), "count: must be a whole number"),
    ],
)
def test_bad_lane_changes_are_refused_and_change_nothing(evening, action, message):
    engine = evening.fork()
    before = engine.state.extras[pedestrians.KEY].checkpoints.copy()
    with pytest.raises(ActionError, match=message):
        engine.apply(action)
    after = engine.state.extras[pedestrians.KEY].checkpoints
    np.testing.assert_array_equal(before.lanes_face, after.lanes_face)
    np.testing.assert_array_equal(before.lanes_manual, after.lanes_manual)
    np.testing.assert_array_equal(before.queue_persons, after.queue_persons)


def test_gate_lanes_open_and_close_like_entrance_lanes(evening):
    engine = evening.fork()
    result = engine.apply(SetLanes(NORTH_2, "manual", 0))
    assert (
        result["target"] == "Olympic Park North Gate 2 checkpoint manual lanes"
        and result["after"] == 0
    )
    assert engine.state.extras[pedestrians.KEY].checkpoints.lanes_manual[NORTH_2] == 0
    assert (
        evening.state.extras[pedestrians.KEY].checkpoints.lanes_manual[NORTH_2]
        == result["before"]
        > 0
    )


def test_view_carries_pedestrian_figures(evening):
    figures = evening.view().extras["pedestrians"]
    assert figures["on_site_persons"] > 0
    assert len(figures["density_ppm2"]) == evening.pedestrians.network.n_cells
    assert figures["checkpoints"]["kind"][NORTH_2] == "park_gate"
    people = evening.state.extras[pedestrians.KEY]
    queued = people.checkpoints.queue_persons[:6] + people.gate_queue_persons.sum(axis=0)
    np.testing.assert_allclose(figures["venues"]["queued_persons"], queued)
    assert checkpoints.LANE_TYPES == ("face", "manual")


def test_forecast_with_the_crowd_is_deterministic_and_leaves_the_twin_alone(gates_closed):
    engine = gates_closed.fork()
    queue = engine.state.extras[pedestrians.KEY].checkpoints.queue_persons.copy()
    first = engine.forecast(900.0, marks_s=(900,), overrides=[SetLanes(NORTH_2, "face", 20)])
    second = engine.forecast(900.0, marks_s=(900,), overrides=[SetLanes(NORTH_2, "face", 20)])
    a, b = first[900].extras["pedestrians"], second[900].extras["pedestrians"]
    np.testing.assert_array_equal(
        a["checkpoints"]["queue_persons"], b["checkpoints"]["queue_persons"]
    )
    assert (
        a["checkpoints"]["queue_persons"][NORTH_2] < queue[NORTH_2]
    )  # the override opened the gate
    np.testing.assert_array_equal(
        engine.state.extras[pedestrians.KEY].checkpoints.queue_persons, queue
    )


def test_checkpoints_command_lists_the_gates(capsys, tmp_path):
    import json

    from twin.cli.main import main

    out = tmp_path / "cp.json"
    assert main(["checkpoints", "--at", "18:10", "--warmup", "20", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    gate_lines = [line for line in printed.splitlines() if " gate " in line]
    assert [line.split(" checkpoint")[0] for line in gate_lines] == [
        "Olympic Park World Peace Gate",
        "Olympic Park North Gate 2",
    ]
    rows = json.loads(out.read_text())["checkpoints"]
    assert [r["checkpoint_id"] for r in rows if r["kind"] == "park_gate"] == [6, 7]
    assert rows[NORTH_2]["arrivals_5min"] > 0 and len(rows[NORTH_2]["predicted_wait_s"]) == 30


@pytest.fixture(scope="module")
def before_doors(scenario):
    """From 17:00 to 18:00, when the KSPO Dome's and the Ticketlink Live Arena's doors open."""
    engine = Engine(scenario, start_s=START_S)
    engine.run(18 * 3600)
    return engine


def test_an_entrance_admits_nobody_before_its_doors_open(before_doors):
    """KSPO's arrivals start at 17:00 (19:30 - 150 min): by 18:00 (-90 min) 14,600 x 0.10 = 1,460
    have arrived, every one still walking or queueing at the shut entrance."""
    layout, people = before_doors.pedestrians, before_doors.state.extras[pedestrians.KEY]
    cp = people.checkpoints
    assert layout.specs[KSPO].open_windows_s == (
        (18 * 3600.0, 24 * 3600.0),
    )  # doors 18:00; last session: open till midnight
    assert layout.specs[NORTH_2].open_windows_s is None  # park gates are open all day
    assert cp.served_persons[KSPO] == 0.0 and people.inside[KSPO] == 0.0
    assert cp.queue_persons[KSPO] == cp.arrived_persons[KSPO] > 1000
    assert _in_flight(layout, people)[KSPO] == pytest.approx(14600 * 0.10, rel=1e-9)
    assert _balance(before_doors) == pytest.approx(0.0, abs=1e-9 * _offered(before_doors).sum())
    # the queue stands in the entrance's pen at 2 p/m² (800 a 400 m² cell), and the crush watch
    # is fed that density map
    density = pedestrians.density_cells(layout, people)
    assert density[layout.queue_cells[KSPO][0]] >= pedestrians.QUEUE_DENSITY_PPM2
    grid = pedestrians.density_grid(layout, people)
    assert grid.max() == pytest.approx(density.max())


def test_an_entrance_serves_at_its_lanes_capacity_once_its_doors_open(before_doors):
    engine = before_doors.fork()
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    lanes_pps = (
        cp.lanes_face[KSPO] * 20 + cp.lanes_manual[KSPO] * 5
    ) / 60  # 5 x 20/min + 15 x 5/min
    assert lanes_pps == pytest.approx(175 / 60)
    engine.run(18 * 3600 + 300)
    assert cp.queue_persons[KSPO] > 0  # not cleared yet: the lanes ran at capacity throughout
    assert cp.served_persons[KSPO] == pytest.approx(lanes_pps * 300, rel=1e-9)
    engine.run(18 * 3600 + 1800)
    assert cp.queue_persons[KSPO] < 1.0 < cp.served_persons[KSPO] < lanes_pps * 1800  # cleared
    assert _balance(engine) == pytest.approx(0.0, abs=1e-9 * _offered(engine).sum())


def test_the_predicted_wait_before_the_doors_open_counts_the_time_until_they_open(scenario):
    engine = Engine(scenario, start_s=START_S)
    engine.run(17 * 3600 + 1800)
    people = engine.state.extras[pedestrians.KEY]
    row = pedestrians.checkpoint_table(engine)[KSPO]
    joined_s = people.checkpoints.time_s + 60.0 * np.arange(1, 31)  # a visitor joining each minute
    predicted = np.array(row["predicted_wait_s"])
    assert np.all(predicted >= 18 * 3600 - joined_s)  # all before 18:00
    assert row["wait_15_s"] >= 15 * 60 and row["wait_now_s"] >= 30 * 60 - pedestrians.CROWD_DT_S
    # the advice is the lanes that clear the queue at the doors within the target, not all lanes
    assert (
        row["recommended_face"] + row["recommended_manual"]
        < engine.pedestrians.specs[KSPO].max_lanes
    )


@pytest.mark.parametrize("action", [SetLanes(KSPO, "face", -1), SetLanes(KSPO, "manual", 1000)])
def test_bad_lane_changes_before_the_doors_open_change_nothing(before_doors, action):
    engine = before_doors.fork()
    before = engine.state.extras[pedestrians.KEY].checkpoints.copy()
    with pytest.raises(ActionError):
        engine.apply(action)
    after = engine.state.extras[pedestrians.KEY].checkpoints
    for name in ("lanes_face", "lanes_manual", "queue_persons", "served_persons"):
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))


def test_doors_follow_the_schedule_and_the_last_session_is_never_locked_out(scenario):
    """schedule.csv: Tennis day session doors 10:30, end 16:30; night doors 18:30, end 22:30.
    Between the sessions the doors are shut; after the night session they stay open to midnight
    so that whoever still queues gets in (the Art Hall's one open lane cannot clear its queue by
    its 20:00 end: those people are not held until the next day)."""
    demand = build_demand(scenario, seed=0)
    windows = pedestrians.door_windows_s(scenario.schedule, demand.venue_ids)
    tennis = demand.venue_ids.index("venue_olympic_tennis_center")
    art_hall = demand.venue_ids.index("venue_woori_financial_art_hall")
    h = 3600.0
    assert windows[tennis] == ((10.5 * h, 16.5 * h), (18.5 * h, 24 * h))
    assert windows[art_hall] == ((17 * h, 24 * h),)


def test_the_table_says_when_shut_doors_open_instead_of_a_wait_status(scenario):
    """At 17:45 (schedule.csv) the KSPO Dome (doors 18:00) and the Tennis Center's night session
    (doors 18:30) are shut, the Olympic Hall (doors 17:30) is open; gates are always open."""
    engine = Engine(scenario, start_s=START_S)
    engine.run(17.75 * 3600)
    rows = {r["checkpoint_id"]: r for r in pedestrians.checkpoint_table(engine)}
    assert rows[KSPO]["status"] == "doors" and rows[KSPO]["doors_open_at_s"] == 18 * 3600
    assert rows[TENNIS]["status"] == "doors" and rows[TENNIS]["doors_open_at_s"] == 18.5 * 3600
    olympic_hall = next(r for r in rows.values() if r["venue_id"] == "venue_olympic_hall")
    assert olympic_hall["doors_open_at_s"] is None and olympic_hall["status"] in (
        "ok",
        "watch",
        "over",
    )
    assert rows[NORTH_2]["doors_open_at_s"] is None


def test_engines_of_one_scenario_share_one_walkable_grid_equal_to_a_fresh_build():
    import gc

    scenario = load("data/seoul_olympic_park")
    first, second = Engine(scenario, start_s=START_S), Engine(scenario, start_s=START_S + 60)
    grid = first.pedestrians.network.grid
    assert second.pedestrians.network.grid is grid
    other = dataclasses.replace(scenario)  # another scenario object: its own grid, built anew
    third = Engine(other, start_s=START_S)
    assert third.pedestrians.network.grid is not grid
    assert np.array_equal(third.pedestrians.network.grid.walkable, grid.walkable)
    assert third.pedestrians.network.grid.origin_x_m == grid.origin_x_m
    keys = [k for k in pedestrians._GRIDS if k[0] == id(other)]
    assert keys
    del third, other
    gc.collect()
    assert not any(k in pedestrians._GRIDS for k in keys)  # gone with its scenario
