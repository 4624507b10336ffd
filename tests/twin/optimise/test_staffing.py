"""Checkpoint staffing (:mod:`twin.optimise`).

Truths used: plans worked out by hand on a two-checkpoint, two-slot case (arrivals, lane rates
and budgets chosen so every queue is a straight line); a full enumeration of every plan of a
small case; the staff rule re-counted with plain loops, staff member by staff member; a full
engine run (traffic and crowd) with the same lane actions as the crowd-only fork; the engine's
state before and after a refused request.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from twin import scenario as scenario_module
from twin.crowd import pedestrians
from twin.engine import Engine
from twin.optimise import plan_run, proposal
from twin.optimise.staffing import (
    StaffingError,
    StaffingProblem,
    feasible,
    optimise,
    score,
)

BUNDLED = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"
RATE_PPS = 5.0 / 60.0  # one manual lane: 5 persons/min


def two_gates(*, budget: int, move_slots: int = 0, lanes0=(2, 1), free_start=False, gates=(0, 0)):
    """Checkpoints A and B, always open, two 10-minute slots; A gets 15 persons/min in slot 0
    and none in slot 1, B the reverse. Manual lanes serve 5/min with 1 staff each; face lanes
    (only where ``gates``) 20/min with 1 staff."""
    arrivals = np.zeros((20, 2))
    arrivals[:10, 0] = 15.0 / 60.0
    arrivals[10:, 1] = 15.0 / 60.0
    return StaffingProblem(
        arrival_pps=arrivals,
        open_share=np.ones((20, 2)),
        wait_counts=np.ones((20, 2), dtype=bool),
        queue0_persons=np.zeros(2),
        face_rate_pps=np.full(2, 20.0 / 60.0),
        manual_rate_pps=np.full(2, RATE_PPS),
        face_gates=np.array(gates),
        max_lanes=np.full(2, 4),
        lanes0_face=np.zeros(2, dtype=np.int64),
        lanes0_manual=np.array(lanes0),
        staff_per_face_lane=1,
        staff_per_manual_lane=1,
        total_staff=budget,
        slot_min=10,
        move_slots=move_slots,
        free_start=free_start,
    )


def test_three_staff_follow_the_crowd_from_a_to_b():
    # By hand: 15/min needs 3 lanes of 5/min for no queue. With 3 staff and moves taking no
    # time, A gets all 3 in slot 0 and B all 3 in slot 1: nobody waits. Any other split leaves
    # a queue somewhere.
    plan = optimise(two_gates(budget=3, free_start=True))
    assert plan.lanes_manual.tolist() == [[3, 0], [0, 3]]
    assert plan.worst_wait_s == pytest.approx(0.0)
    assert plan.total_wait_person_s == pytest.approx(0.0)


def test_two_staff_share_the_second_slot():
    # By hand, 2 staff: slot 0 gives A both (B has nobody yet); A's queue grows 5/min to 50 at
    # minute 10, wait 50 / (10/min) = 5 min. Slot 1: any checkpoint without a lane keeps its
    # queue forever, so one lane each: A clears its 50 at 5/min by minute 20 (wait at minute 11:
    # 45 / 5 = 9 min), B grows 10/min to 100, wait 100 / 5 = 20 min, the worst.
    # Total: A 5*(1+...+10) + (45+40+...+0) = 275 + 225, B 10*(1+...+10) = 550 person-minutes.
    plan = optimise(two_gates(budget=2, free_start=True))
    assert plan.lanes_manual.tolist() == [[2, 0], [1, 1]]
    assert plan.worst_wait_s == pytest.approx(20 * 60.0)
    assert plan.total_wait_person_s == pytest.approx((275 + 225 + 550) * 60.0)


def test_a_move_that_takes_a_slot_keeps_staff_in_place():
    # By hand, staff at A 2 and B 1 now, 3 in all, moves take one slot: nobody can join a
    # checkpoint in slot 0, and whoever joins B in slot 1 walks during slot 0, leaving A short
    # in its rush. Keeping A 2 / B 1: A's queue 50 at minute 10 (wait 50 / 10 = 5 min), then
    # cleared by its 2 lanes; B grows 10/min to 100 (wait 20 min). Moving one from A to B:
    # A serves 5/min in slot 0, queue 100, wait 100 / 5 = 20 min too, and A's queue is longer.
    plan = optimise(two_gates(budget=3, move_slots=1))
    assert plan.lanes_manual.tolist() == [[2, 1], [2, 1]]
    assert plan.worst_wait_s == pytest.approx(20 * 60.0)


@pytest.mark.parametrize(
    "budget,move_slots,free_start", [(2, 0, True), (3, 1, False), (4, 1, False)]
)
def test_no_plan_is_better_than_the_optimisers_on_a_small_case(budget, move_slots, free_start):
    problem = two_gates(budget=budget, move_slots=move_slots, free_start=free_start, gates=(1, 0))
    plan = optimise(problem)
    best = None
    for face_a in itertools.product(range(2), repeat=2):  # A's one e-gate, per slot
        for values in itertools.product(range(5), repeat=4):
            face = np.array([[face_a[0], 0], [face_a[1], 0]])
            manual = np.array(values).reshape(2, 2)  # (slot, checkpoint)
            if not feasible(problem, face, manual):
                continue
            trial = score(problem, face, manual)
            key = (round(trial.worst_wait_s), trial.total_wait_person_s)
            best = key if best is None or key < best else best
    assert best is not None
    assert round(plan.worst_wait_s) == best[0]
    assert plan.total_wait_person_s == pytest.approx(best[1])


def _recount(problem: StaffingProblem, face: np.ndarray, manual: np.ndarray) -> None:
    """The staff rule, one slot and one checkpoint at a time: staff at posts plus those walking
    to a post they join within ``move_slots`` never exceed the budget; nobody joins before the
    first move could end; lanes within the gates and positions."""
    k_slots, n = len(face), len(face[0])
    staff = [
        [
            problem.staff_per_face_lane * face[k][j] + problem.staff_per_manual_lane * manual[k][j]
            for j in range(n)
        ]
        for k in range(k_slots)
    ]
    joining = []
    for k in range(k_slots):
        count = 0
        for j in range(n):
            before = (
                (staff[0][j] if problem.free_start else problem.staff0[j])
                if k == 0
                else staff[k - 1][j]
            )
            count += max(0, staff[k][j] - before)
        joining.append(count)
    for k in range(k_slots):
        walking = sum(joining[k + 1 : k + 1 + problem.move_slots])
        assert sum(staff[k]) + walking <= problem.total_staff
        if k < problem.move_slots:
            assert joining[k] == 0
        for j in range(n):
            assert 0 <= face[k][j] <= problem.face_gates[j]
            assert 0 <= manual[k][j] and face[k][j] + manual[k][j] <= problem.max_lanes[j]


@pytest.mark.parametrize("seed", range(12))
def test_a_plan_never_exceeds_its_staff(seed):
    rng = np.random.default_rng(seed)
    n, slot_min, k = 4, 5, 6
    arrivals = rng.uniform(0.0, 0.6, size=(k * slot_min, n)) * rng.integers(
        0, 2, size=(k, n)
    ).repeat(slot_min, 0)
    lanes0_face = rng.integers(0, 3, size=n)
    problem = StaffingProblem(
        arrival_pps=arrivals,
        open_share=np.ones_like(arrivals),
        wait_counts=np.ones(arrivals.shape, dtype=bool),
        queue0_persons=rng.uniform(0, 200, size=n),
        face_rate_pps=np.full(n, 20.0 / 60.0),
        manual_rate_pps=np.full(n, 5.0 / 60.0),
        face_gates=np.full(n, 3),
        max_lanes=np.full(n, 8),
        lanes0_face=lanes0_face,
        lanes0_manual=rng.integers(0, 4, size=n),
        staff_per_face_lane=int(rng.integers(0, 2)),
        staff_per_manual_lane=int(rng.integers(1, 3)),
        total_staff=int(rng.integers(0, 30)),
        slot_min=slot_min,
        move_slots=int(rng.integers(0, 3)),
        free_start=bool(rng.integers(0, 2)),
    )
    plan = optimise(problem)
    _recount(problem, plan.lanes_face.tolist(), plan.lanes_manual.tolist())
    assert plan.peak_staff <= problem.total_staff


# ------------------------------------------------------------------------------ the bundled day
@pytest.fixture(scope="module")
def evening() -> Engine:
    """The bundled day at 17:00 (Art Hall's doors open, its queue of 330 waiting)."""
    return Engine(scenario_module.load(BUNDLED), seed=0, start_s=17 * 3600)


def _state(engine: Engine) -> tuple:
    cp = engine.state.extras[pedestrians.KEY].checkpoints
    return (
        engine.time_s,
        cp.lanes_face.tolist(),
        cp.lanes_manual.tolist(),
        cp.queue_persons.tolist(),
        float(engine.state.vehicles.sum()),
    )


@pytest.mark.parametrize(
    "options,code,words",
    [
        ({"total_staff": -3}, "bad_staff", "total staff must be a whole number"),
        ({"staff_per_manual_lane": 0}, "bad_staff", "staff per manual lane"),
        ({"face_gates": {12: 2}}, "unknown_checkpoint", "checkpoint '12' does not exist"),
        ({"face_gates": {5: 999}}, "bad_staff", "exceed its 63 lane positions"),
        (
            {"horizon_min": 240},
            "out_of_range",
            "horizon must be a whole number of minutes from 15 to 120",
        ),
        ({"horizon_min": 60, "slot_min": 7}, "out_of_range", "whole number of 7-minute slots"),
        ({"move_s": -60.0}, "bad_staff", "move time must be"),
    ],
)
def test_bad_input_is_refused_by_name_and_changes_nothing(evening, options, code, words):
    before = _state(evening)
    with pytest.raises(StaffingError, match=words) as refused:
        proposal.propose(evening, **options)
    assert refused.value.code == code
    assert _state(evening) == before


def test_the_crowd_only_fork_is_the_engine_run(evening):
    # Set lanes at minute 2 in both: the full engine (traffic and crowd) and the crowd-only fork.
    changes = [(7, 1, 2), (3, 1, 0), (5, 8, 2)]

    def plan(_fork, minute):
        return changes if minute == 2 else None

    run = plan_run.run_lanes(evening, 5, plan)
    full = evening.fork()
    full.run(evening.time_s + 120.0)
    for checkpoint_id, face, manual in changes:
        for lane_type, count in (("manual", manual), ("face", face)):
            full.apply(pedestrians.SetLanes(checkpoint_id, lane_type, count))
    full.run(evening.time_s + 300.0)
    cp = full.state.extras[pedestrians.KEY].checkpoints
    np.testing.assert_allclose(run.queue_persons[-1], cp.queue_persons, rtol=1e-12, atol=1e-9)
    assert run.lanes_face[-1].tolist() == cp.lanes_face.tolist()
    assert run.lanes_manual[-1].tolist() == cp.lanes_manual.tolist()
    np.testing.assert_allclose(
        run.arrived_persons.sum(axis=0),
        cp.arrived_persons - evening.state.extras[pedestrians.KEY].checkpoints.arrived_persons,
    )


def test_the_proposal_is_run_in_the_twin_within_its_staff(evening):
    before = _state(evening)
    result = proposal.propose(evening, horizon_min=30, slot_min=5)
    assert _state(evening) == before
    staff = result.staff
    assert staff.total_staff == 1 * 17 + 2 * 51  # the lanes open at 17:00
    run = result.runs["optimised"]
    # the twin ran exactly the planned lanes, slot by slot
    assert run.lanes_face.tolist() == np.repeat(result.plan.lanes_face, 5, axis=0).tolist()
    assert run.lanes_manual.tolist() == np.repeat(result.plan.lanes_manual, 5, axis=0).tolist()
    used = (
        staff.staff_per_face_lane * run.lanes_face + staff.staff_per_manual_lane * run.lanes_manual
    )
    assert used.sum(axis=1).max() <= staff.total_staff
    # the default keeps the lanes; no plan makes the worst wait worse than holding them here
    assert run.worst_wait_s <= result.runs["default"].worst_wait_s + 1e-9
    assert result.keeps_staff_rule["optimised"] and result.keeps_staff_rule["default"]
    assert result.peak_staff["optimised"] <= staff.total_staff


def test_fewest_staff_meet_the_target_and_one_fewer_do_not(evening):
    target_s = 10 * 60.0
    fewest = proposal.fewest_staff(evening, target_wait_s=target_s, horizon_min=15, slot_min=5)
    assert fewest.staff is not None and fewest.staff > 0
    assert fewest.worst_wait_s <= target_s

    def worst(budget: int) -> float:
        staff = proposal.staff_for(evening, total_staff=budget)
        _, run = proposal.optimise_in_twin(evening, staff, 15, 5, free_start=True, rounds=1)
        return run.worst_wait_s

    assert worst(fewest.staff) <= target_s < worst(fewest.staff - 1)
    short = proposal.fewest_staff(
        evening, target_wait_s=target_s, horizon_min=15, slot_min=5, total_staff=fewest.staff - 3
    )
    assert short.staff == fewest.staff and short.short_by == 3
    assert f"{fewest.staff} staff: 3 more than the {fewest.staff - 3} available" in short.message


def test_open_doors_keep_one_lane_and_shut_doors_none():
    # A has doors open only in slot 1 and nobody arriving; B is open throughout with nobody
    # either. With min_lanes=1 and staff to spare: A opens one lane in slot 1 only, B one lane in
    # both slots; e-gates first (20/min for 1 staff beats 5/min for 1), and nothing more.
    arrivals = np.zeros((20, 2))
    open_share = np.ones((20, 2))
    open_share[:10, 0] = 0.0
    problem = StaffingProblem(
        arrival_pps=arrivals,
        open_share=open_share,
        wait_counts=open_share > 0,
        queue0_persons=np.zeros(2),
        face_rate_pps=np.full(2, 20.0 / 60.0),
        manual_rate_pps=np.full(2, RATE_PPS),
        face_gates=np.array([1, 0]),
        max_lanes=np.full(2, 4),
        lanes0_face=np.zeros(2, dtype=np.int64),
        lanes0_manual=np.zeros(2, dtype=np.int64),
        staff_per_face_lane=1,
        staff_per_manual_lane=1,
        total_staff=10,
        slot_min=10,
        move_slots=0,
        min_lanes=1,
    )
    plan = optimise(problem)
    assert plan.lanes_face.tolist() == [[0, 0], [1, 0]]
    assert plan.lanes_manual.tolist() == [[0, 1], [0, 1]]
