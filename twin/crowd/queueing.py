"""Queueing formulas: Erlang C (M/M/c steady state) and the deterministic fluid queue.

Erlang C gives the steady-state chance of waiting and the mean wait when ``c`` parallel
servers of rate ``mu`` serve Poisson arrivals of rate ``lambda`` (offered load
``A = lambda / mu`` erlangs, stable only while ``A < c``). It is computed from the Erlang B
recursion ``B(0) = 1``, ``B(k) = A B(k-1) / (k + A B(k-1))`` and
``C = c B / (c - A (1 - B))``, which never forms ``A**c / c!`` and so stays accurate for
hundreds of servers.

The fluid queue is the transient, deterministic counterpart: over a step with constant
arrival rate ``a`` and capacity ``s`` the queue changes by ``(a - s) dt`` and never goes below
zero (Lindley's recursion ``q[k+1] = max(0, q[k] + (a[k] - s[k]) dt)``). It captures a
surge that exceeds capacity, which steady-state formulas cannot; Erlang C captures the
random waiting below capacity, which the fluid queue cannot.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def erlang_b_blocking_probability(offered_load_erl: float, servers: int) -> float:
    """Erlang B: chance that an arrival finds all ``servers`` busy in a loss system.

    Parameters
    ----------
    offered_load_erl
        Offered load ``A = arrival rate / service rate`` in erlangs, ``>= 0``.
    servers
        Number of servers ``c``, a whole number ``>= 0``.

    Returns
    -------
    float
        Blocking probability in [0, 1].
    """
    _check_load(offered_load_erl)
    _check_servers(servers, "servers")
    blocking = 1.0
    for k in range(1, int(servers) + 1):
        blocking = offered_load_erl * blocking / (k + offered_load_erl * blocking)
    return blocking


def erlang_c_wait_probability(offered_load_erl: float, servers: int) -> float:
    """Erlang C: steady-state chance that an arrival has to wait (M/M/c).

    Parameters
    ----------
    offered_load_erl
        Offered load ``A`` in erlangs; must be below ``servers`` (a stable queue).
    servers
        Number of servers ``c >= 1``.

    Returns
    -------
    float
        ``P(wait > 0)`` in [0, 1]; 0 when the offered load is 0.

    Raises
    ------
    ValueError
        If the load is negative, ``servers < 1`` or ``offered_load_erl >= servers``.
    """
    _check_load(offered_load_erl)
    _check_servers(servers, "servers", minimum=1)
    _check_stable(offered_load_erl, servers)
    blocking = erlang_b_blocking_probability(offered_load_erl, servers)
    return servers * blocking / (servers - offered_load_erl * (1.0 - blocking))


def erlang_c_mean_wait_s(arrival_rate_pps: float, service_rate_pps: float, servers: int) -> float:
    """Mean time in queue (before service) of an M/M/c queue, in seconds.

    ``W_q = C(A, c) / (c mu - lambda)`` with ``A = lambda / mu``.

    Parameters
    ----------
    arrival_rate_pps
        Arrival rate ``lambda`` in persons per second, ``>= 0``.
    service_rate_pps
        Service rate of one server ``mu`` in persons per second, ``> 0``.
    servers
        Number of servers ``c >= 1``; ``lambda < c mu`` is required.

    Returns
    -------
    float
        Mean wait in seconds (0 when there are no arrivals).
    """
    _check_rates(arrival_rate_pps, service_rate_pps)
    _check_servers(servers, "servers", minimum=1)
    load_erl = arrival_rate_pps / service_rate_pps
    _check_stable(load_erl, servers)
    if arrival_rate_pps == 0.0:
        return 0.0
    wait_probability = erlang_c_wait_probability(load_erl, servers)
    return wait_probability / (servers * service_rate_pps - arrival_rate_pps)


def fewest_servers_for_wait(
    arrival_rate_pps: float,
    service_rate_pps: float,
    target_wait_s: float,
    *,
    max_servers: int,
) -> int:
    """Smallest number of servers whose Erlang C mean wait is at most ``target_wait_s``.

    Parameters
    ----------
    arrival_rate_pps
        Arrival rate in persons per second, ``>= 0``.
    service_rate_pps
        Service rate of one server in persons per second, ``> 0``.
    target_wait_s
        Largest acceptable mean wait in seconds, ``>= 0``.
    max_servers
        Largest number of servers that may be opened.

    Returns
    -------
    int
        The fewest servers (0 when there are no arrivals).

    Raises
    ------
    ValueError
        If the inputs break their rules, or no count up to ``max_servers`` meets the target.
    """
    _check_rates(arrival_rate_pps, service_rate_pps)
    if not np.isfinite(target_wait_s) or target_wait_s < 0:
        raise ValueError(f"'target_wait_s' must be a finite number >= 0, got {target_wait_s!r}")
    _check_servers(max_servers, "max_servers")
    if arrival_rate_pps == 0.0:
        return 0
    load_erl = arrival_rate_pps / service_rate_pps
    for servers in range(int(np.floor(load_erl)) + 1, int(max_servers) + 1):
        if erlang_c_mean_wait_s(arrival_rate_pps, service_rate_pps, servers) <= target_wait_s:
            return servers
    raise ValueError(
        f"no server count up to max_servers={max_servers} keeps the mean wait under "
        f"{target_wait_s:g} s (offered load {load_erl:.2f} erlang)"
    )


def fluid_queue(
    queue0_persons: float | FloatArray,
    arrival_rate_pps: FloatArray,
    capacity_pps: FloatArray,
    dt_s: float,
) -> FloatArray:
    """Deterministic queue over time steps: grows at arrivals minus capacity, never negative.

    Exact for rates that are constant within each step. Vectorised (no loop over steps):
    with ``S[k]`` the running sum of ``(a - s) dt``, ``q[k] = S[k] - min(-q0, min_{j<=k} S[j])``.

    Parameters
    ----------
    queue0_persons
        Queue at time 0, scalar or shape ``(N,)`` for ``N`` independent queues, ``>= 0``.
    arrival_rate_pps
        Arrival rate per step in persons per second, shape ``(T,)`` or ``(T, N)``, ``>= 0``.
    capacity_pps
        Service capacity per step in persons per second, broadcastable to the arrivals, ``>= 0``.
    dt_s
        Step length in seconds, ``> 0``.

    Returns
    -------
    numpy.ndarray
        Queue in persons at the end of each step, shape of the arrivals: ``q[k]`` is the
        queue at time ``(k + 1) * dt_s``.
    """
    arrival = np.asarray(arrival_rate_pps, dtype=float)
    capacity = np.broadcast_to(np.asarray(capacity_pps, dtype=float), arrival.shape)
    queue0 = np.asarray(queue0_persons, dtype=float)
    if not (np.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"'dt_s' must be a finite number > 0, got {dt_s!r}")
    if arrival.ndim not in (1, 2):
        raise ValueError(f"'arrival_rate_pps' must have shape (T,) or (T, N), got {arrival.shape}")
    for name, values in (
        ("queue0_persons", queue0),
        ("arrival_rate_pps", arrival),
        ("capacity_pps", capacity),
    ):
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"'{name}' must be finite and >= 0")
    running = np.cumsum((arrival - capacity) * dt_s, axis=0)
    floor = np.minimum(-queue0, np.minimum.accumulate(running, axis=0))
    return np.maximum(running - floor, 0.0)


def _check_load(offered_load_erl: float) -> None:
    if not np.isfinite(offered_load_erl) or offered_load_erl < 0:
        raise ValueError(
            f"'offered_load_erl' must be a finite number >= 0, got {offered_load_erl!r}"
        )


def _check_servers(servers: int, name: str, *, minimum: int = 0) -> None:
    if isinstance(servers, bool) or not isinstance(servers, (int, np.integer)) or servers < minimum:
        raise ValueError(f"'{name}' must be a whole number >= {minimum}, got {servers!r}")


def _check_rates(arrival_rate_pps: float, service_rate_pps: float) -> None:
    if not np.isfinite(arrival_rate_pps) or arrival_rate_pps < 0:
        raise ValueError(
            f"'arrival_rate_pps' must be a finite number >= 0, got {arrival_rate_pps!r}"
        )
    if not np.isfinite(service_rate_pps) or service_rate_pps <= 0:
        raise ValueError(
            f"'service_rate_pps' must be a finite number > 0, got {service_rate_pps!r}"
        )


def _check_stable(offered_load_erl: float, servers: int) -> None:
    if offered_load_erl >= servers:
        raise ValueError(
            f"unstable queue: offered load {offered_load_erl:g} erlang must be below the "
            f"number of servers ({servers}); the queue would grow without bound"
        )
