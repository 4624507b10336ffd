"""One time step of the multi-commodity cell transmission model (Daganzo 1994, 1995).

State: ``vehicles[c, d]``, the vehicles in cell ``c`` bound for destination zone ``d``.
Each cell sends ``min(n * v_f dt / L, Q dt)`` and receives ``min(Q dt, w dt / L * (N - n))``
(triangular fundamental diagram: free speed ``v_f``, capacity ``Q``, wave speed ``w``, jam
content ``N``). Inside a link, cell ``i`` passes ``min(send_i, receive_{i+1})`` to ``i + 1``.

At junctions a node model splits each link's last-cell sending by destination over the
turning movements (``split[m, d]``, from routing) and gates it by the signal; movements onto
the same link share that link's receiving flow in proportion to their demand. Movements are
independent of each other (turn pockets: vehicles held by one movement do not block the
others). Vehicles whose destination is the link's downstream node leave the network there.
The composition of what a cell sends is the composition of its content.

Every flow is taken from one cell and added to another, so vehicles are conserved exactly
(to floating-point rounding).

The whole step (entering vehicles, flows, the smoothed readings and the delay tally) is one
compiled function: per step the engine makes one call, whatever the network size. It releases
the GIL (``nogil``), as the crowd and routing kernels do: a forecast or a fork running in a thread
of the live process computes beside the live loop instead of taking turns with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from twin.models.network import Network

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Readings:
    """Exponentially smoothed readings the kernel updates in place each step.

    ``blend = dt / time constant``: each step moves a reading that share toward the step's value.
    """

    vehicles: FloatArray  # (C,) vehicles in each cell
    outflow_vps: FloatArray  # (C,) vehicles/s leaving each cell
    movement_vps: FloatArray  # (M,) vehicles/s through each movement


@dataclass(frozen=True)
class StepTally:
    """Totals of one step: vehicles entered and arrived, and vehicle-seconds (s·veh)."""

    entered_veh: float
    exited_veh: float
    delay_veh_s: float  # over real cells: time spent beyond free-flow time
    vehicle_s: float  # vehicles in all cells (waiting to enter included) at the step's end, x dt


class Kernel:
    """Pre-computed incidence of the network, reused every step."""

    def __init__(self, net: Network, exit_mask: BoolArray) -> None:
        self.net = net
        self.mv_last_cell = net.link_last_cell[net.mv_from_link]
        self.mv_first_cell = net.link_first_cell[net.mv_to_link]
        exit_links, exit_dests = np.nonzero(exit_mask[: net.n_real_links])
        self.exit_cell = net.link_last_cell[exit_links]
        self.exit_dest = exit_dests
        self.origin_cell = net.link_first_cell[net.origin_zone_link]
        real = slice(0, net.n_real_cells)
        self.cell_free_time_s = np.zeros(net.n_cells)
        self.cell_free_time_s[real] = (
            net.cell_length_m[real] / net.link_free_speed_mps[net.cell_link[real]]
        )

    def step(
        self,
        vehicles: FloatArray,
        split: FloatArray,
        green: BoolArray,
        entering: FloatArray,
        readings: Readings,
        blend: float,
        out: FloatArray | None = None,
    ) -> tuple[FloatArray, StepTally]:
        """Advance ``vehicles`` (C, D) by one step and return the new content and the tally.

        ``split`` (M, D) next-hop shares; ``green`` (M,) movements allowed to flow;
        ``entering`` (origin zones, D) vehicles generated this step, added to the origin cells
        (``vehicles`` is updated in place by that addition). ``readings`` are smoothed in place.
        ``out``: an array of ``vehicles``' shape to write the new content into (its old values
        are ignored); a big network saves allocating (and page-faulting) one per step.
        """
        net = self.net
        if out is None or out.shape != vehicles.shape or out is vehicles:
            out = np.empty_like(vehicles)
        new, tally = _ctm_step(
            vehicles,
            out,
            split,
            green,
            entering,
            self.origin_cell,
            net.cell_send_factor,
            net.cell_receive_factor,
            net.cell_capacity_veh,
            net.cell_jam_veh,
            net.interior_cells,
            self.exit_cell,
            self.exit_dest,
            self.mv_last_cell,
            self.mv_first_cell,
            net.mv_to_link,
            net.link_first_cell,
            self.cell_free_time_s,
            net.n_real_cells,
            net.dt_s,
            blend,
            readings.vehicles,
            readings.outflow_vps,
            readings.movement_vps,
        )
        return new, StepTally(tally[0], tally[1], tally[2], tally[3])


@numba.njit(cache=True, nogil=True)
def _ctm_step(
    vehicles,
    new,
    split,
    green,
    entering,
    origin_cell,
    send_factor,
    receive_factor,
    capacity,
    jam,
    interior,
    exit_cell,
    exit_dest,
    mv_last_cell,
    mv_first_cell,
    mv_to_link,
    link_first_cell,
    cell_free_time_s,
    n_real_cells,
    dt_s,
    blend,
    smooth_vehicles,
    smooth_outflow,
    smooth_movement,
):  # pragma: no cover - compiled
    n_cells, n_dest = vehicles.shape
    entered = 0.0
    for o in range(len(origin_cell)):
        for d in range(n_dest):
            vehicles[origin_cell[o], d] += entering[o, d]
            entered += entering[o, d]
    # content, sending and receiving per cell; ``new`` starts as a copy of the content
    total = np.empty(n_cells)
    send = np.empty(n_cells)
    receive = np.empty(n_cells)
    sent_share = np.empty(n_cells)  # share of its content a cell sends
    for c in range(n_cells):
        acc = 0.0
        for d in range(n_dest):
            acc += vehicles[c, d]
        total[c] = acc
        send[c] = min(acc * send_factor[c], capacity[c])
        receive[c] = min(capacity[c], receive_factor[c] * max(jam[c] - acc, 0.0))
        sent_share[c] = send[c] / acc if acc > 0.0 else 0.0
    # inside links cell i passes min(send_i, receive_{i+1}) to i + 1, a share of its content
    outflow = np.zeros(n_cells)
    pass_share = np.zeros(n_cells)  # 0 for a link's last cell and a cell that passes nothing
    for i in interior:
        passed = min(send[i], receive[i + 1])
        if passed > 0.0:
            pass_share[i] = passed / total[i]
            outflow[i] = passed
    # ``new`` = content + what came from upstream - what went downstream, in one pass; the same
    # operations in the same order as "copy, then for each interior i in order take q from i
    # and add it to i + 1" (interior cells ascend), so the same result to the bit
    for c in range(n_cells):
        up = pass_share[c - 1] if c > 0 else 0.0
        down = pass_share[c]
        if up > 0.0 and down > 0.0:
            for d in range(n_dest):
                new[c, d] = (vehicles[c, d] + vehicles[c - 1, d] * up) - vehicles[c, d] * down
        elif up > 0.0:
            for d in range(n_dest):
                new[c, d] = vehicles[c, d] + vehicles[c - 1, d] * up
        elif down > 0.0:
            for d in range(n_dest):
                new[c, d] = vehicles[c, d] - vehicles[c, d] * down
        else:
            for d in range(n_dest):
                new[c, d] = vehicles[c, d]
    exited = 0.0
    for k in range(len(exit_cell)):
        c, d = exit_cell[k], exit_dest[k]
        q = vehicles[c, d] * sent_share[c]
        if q > 0.0:
            new[c, d] -= q
            exited += q
            outflow[c] += q
    # node model: movements onto one link share its receiving flow by demand
    n_mv = len(mv_last_cell)
    link_demand = np.zeros(len(link_first_cell))
    for m in range(n_mv):
        if green[m] and sent_share[mv_last_cell[m]] > 0.0:
            c = mv_last_cell[m]
            acc = 0.0
            for d in range(n_dest):
                acc += vehicles[c, d] * split[m, d]
            link_demand[mv_to_link[m]] += acc * sent_share[c]
    movement_flow = np.zeros(n_mv)
    for m in range(n_mv):
        if not green[m] or sent_share[mv_last_cell[m]] == 0.0:
            continue
        to = mv_to_link[m]
        ratio = 1.0
        if link_demand[to] > receive[link_first_cell[to]]:
            ratio = receive[link_first_cell[to]] / link_demand[to]
        c, target = mv_last_cell[m], mv_first_cell[m]
        scale = sent_share[c] * ratio
        flow = 0.0
        for d in range(n_dest):
            if split[m, d] == 0.0:  # nothing for d this way (taking and adding 0 changes nothing)
                continue
            q = vehicles[c, d] * split[m, d] * scale
            # split shares may sum to 1 + 1e-16: never leave a rounding residue below zero
            new[c, d] = max(new[c, d] - q, 0.0)
            new[target, d] += q
            flow += q
        movement_flow[m] = flow
        outflow[c] += flow
    # smoothed readings and the step's vehicle-seconds
    delay = 0.0
    vehicle_s = 0.0
    for c in range(n_cells):
        smooth_vehicles[c] += blend * (total[c] - smooth_vehicles[c])
        smooth_outflow[c] += blend * (outflow[c] / dt_s - smooth_outflow[c])
        vehicle_s += total[c] * dt_s
        if c < n_real_cells:
            delay += total[c] * dt_s - outflow[c] * cell_free_time_s[c]
    for m in range(n_mv):
        smooth_movement[m] += blend * (movement_flow[m] / dt_s - smooth_movement[m])
    # counting the content after the step: a vehicle counts from the step it enters (departs in
    # that step, half a step early on average) to the step before it leaves (arrives during
    # the next, half a step late on average), so the travel-time sum is unbiased
    vehicle_s -= exited * dt_s
    return new, (entered, exited, delay, vehicle_s)
