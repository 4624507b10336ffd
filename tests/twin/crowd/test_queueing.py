"""Erlang C and the fluid queue against published values and hand calculations."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.crowd.queueing import (
    erlang_b_blocking_probability,
    erlang_c_mean_wait_s,
    erlang_c_wait_probability,
    fewest_servers_for_wait,
    fluid_queue,
)


def closed_form_erlang_c(load: float, servers: int) -> float:
    """Textbook formula: (A^c/c! * c/(c-A)) / (sum_{k<c} A^k/k! + A^c/c! * c/(c-A))."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


def test_published_value_6_erlang_10_servers():
    # Erlang C tables (e.g. Cooper, Introduction to Queueing Theory): A = 6, c = 10 -> 0.1013
    assert erlang_c_wait_probability(6.0, 10) == pytest.approx(0.1013, abs=5e-5)


def test_hand_computed_2_erlang_3_servers():
    # A = 2, c = 3: A^3/3! * 3/(3-2) = 4; sum_{k<3} 2^k/k! = 1 + 2 + 2 = 5; C = 4 / 9
    assert closed_form_erlang_c(2.0, 3) == pytest.approx(4 / 9)
    assert erlang_c_wait_probability(2.0, 3) == pytest.approx(4 / 9, rel=1e-12)


def test_erlang_b_hand_value():
    # B(A=1, c=1) = 1/2; B(A=1, c=2) = (1 * 1/2) / (2 + 1/2) = 1/5
    assert erlang_b_blocking_probability(1.0, 1) == pytest.approx(0.5)
    assert erlang_b_blocking_probability(1.0, 2) == pytest.approx(0.2)


@given(servers=st.integers(1, 40), utilisation=st.floats(0.01, 0.99))
@settings(max_examples=60, deadline=None)
def test_recursion_matches_closed_form(servers, utilisation):
    load = utilisation * servers
    assert erlang_c_wait_probability(load, servers) == pytest.approx(
        closed_form_erlang_c(load, servers), rel=1e-9, abs=1e-12
    )


def test_stable_for_hundreds_of_servers():
    # the closed form overflows (A^c / c!) here; the recursion must not
    value = erlang_c_wait_probability(450.0, 500)
    assert 0.0 < value < 1.0


def test_mean_wait_mm1_and_mm3():
    # M/M/1: Wq = rho / (mu - lambda) = 0.5 / (1 - 0.5) = 1 s
    assert erlang_c_mean_wait_s(0.5, 1.0, 1) == pytest.approx(1.0)
    # M/M/3 with A = 2: Wq = C / (c mu - lambda) = (4/9) / (3 - 2) for mu = 1
    assert erlang_c_mean_wait_s(2.0, 1.0, 3) == pytest.approx(4 / 9)
    assert erlang_c_mean_wait_s(0.0, 1.0, 3) == 0.0


@pytest.mark.parametrize("load, servers", [(3.0, 3), (4.0, 3)])
def test_unstable_load_raises(load, servers):
    message = r"unstable queue: offered load .* must be below the number of servers"
    with pytest.raises(ValueError, match=message):
        erlang_c_wait_probability(load, servers)
    with pytest.raises(ValueError, match="unstable queue"):
        erlang_c_mean_wait_s(load, 1.0, servers)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: erlang_c_wait_probability(-1.0, 3),
            "'offered_load_erl' must be a finite number >= 0",
        ),
        (lambda: erlang_c_wait_probability(1.0, 0), "'servers' must be a whole number >= 1"),
        (lambda: erlang_c_wait_probability(1.0, 2.5), "'servers' must be a whole number >= 1"),
        (
            lambda: erlang_c_mean_wait_s(1.0, 0.0, 3),
            "'service_rate_pps' must be a finite number > 0",
        ),
        (lambda: fewest_servers_for_wait(1.0, 1.0, -1.0, max_servers=5), "'target_wait_s' must be"),
    ],
)
def test_bad_inputs_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_fewest_servers_for_wait():
    # A = 2 erlang: c = 3 gives Wq = 4/9 s (mu = 1); c = 4 gives less
    assert fewest_servers_for_wait(2.0, 1.0, 0.5, max_servers=10) == 3
    wait_4 = erlang_c_mean_wait_s(2.0, 1.0, 4)
    assert fewest_servers_for_wait(2.0, 1.0, wait_4, max_servers=10) == 4
    assert fewest_servers_for_wait(0.0, 1.0, 0.0, max_servers=10) == 0
    with pytest.raises(ValueError, match="no server count up to max_servers=3"):
        fewest_servers_for_wait(2.0, 1.0, 0.01, max_servers=3)


def test_fluid_growth_is_arrivals_minus_capacity_times_t():
    # 2 lanes x 0.1 p/s against 0.5 p/s for 600 s: grows (0.5 - 0.2) * t
    lanes, rate, arrivals, dt_s = 2, 0.1, 0.5, 10.0
    steps = 60
    queue = fluid_queue(0.0, np.full(steps, arrivals), np.full(steps, lanes * rate), dt_s)
    t_s = dt_s * np.arange(1, steps + 1)
    np.testing.assert_allclose(queue, (arrivals - lanes * rate) * t_s)


def test_fluid_queue_drains_to_zero_and_never_negative():
    # 100 persons, no arrivals, capacity 1 p/s, dt 30 s: 70, 40, 10, 0, 0
    queue = fluid_queue(100.0, np.zeros(5), np.ones(5), 30.0)
    np.testing.assert_allclose(queue, [70, 40, 10, 0, 0])


def test_fluid_queue_several_checkpoints():
    arrivals = np.array([[1.0, 0.0], [0.0, 2.0], [0.5, 0.0]])
    capacity = np.array([0.5, 1.0])
    queue = fluid_queue(np.array([0.0, 5.0]), arrivals, capacity, 10.0)
    # by hand: q1 = 0+5=5, 5-5=0, 0+0=0 ; q2 = max(0,5-10)=0, 0+10=10, 10-10=0
    np.testing.assert_allclose(queue, [[5, 0], [0, 10], [0, 0]])


@given(
    rates=st.lists(st.tuples(st.floats(0, 5), st.floats(0, 5)), min_size=1, max_size=40),
    queue0=st.floats(0, 100),
    dt_s=st.floats(0.1, 60),
)
@settings(max_examples=80, deadline=None)
def test_fluid_queue_matches_lindley_loop(rates, queue0, dt_s):
    arrivals, capacity = (np.array(column) for column in zip(*rates, strict=True))
    expected, queue = [], queue0
    for a, s in zip(arrivals, capacity, strict=True):
        queue = max(0.0, queue + (a - s) * dt_s)
        expected.append(queue)
    np.testing.assert_allclose(fluid_queue(queue0, arrivals, capacity, dt_s), expected, atol=1e-9)


def test_fluid_queue_rejects_bad_input():
    with pytest.raises(ValueError, match="'dt_s' must be a finite number > 0"):
        fluid_queue(0.0, np.ones(3), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="'arrival_rate_pps' must be finite and >= 0"):
        fluid_queue(0.0, np.array([1.0, -1.0]), np.ones(2), 1.0)
