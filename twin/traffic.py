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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import numba

from twin.network import Network

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class StepResult:
    """Flows of one step, in vehicles (not per second)."""

    vehicles: FloatArray  # (C, D) new content
    content_before: FloatArray  # (C,) vehicles present during the step
    cell_outflow: FloatArray  # (C,) vehicles that left each cell
    movement_flow: FloatArray  # (M,) vehicles through each movement
    exited: FloatArray  # (D,) vehicles that reached their destination


class Kernel:
    """Pre-computed incidence of the network, reused every step."""

    def __init__(self, net: Network, exit_mask: BoolArray) -> None:
        self.net = net
        self.mv_last_cell = net.link_last_cell[net.mv_from_link]
        self.mv_first_cell = net.link_first_cell[net.mv_to_link]
        exit_links, exit_dests = np.nonzero(exit_mask[: net.n_real_links])
        self.exit_cell = net.link_last_cell[exit_links]
        self.exit_dest = exit_dests

    def step(self, vehicles: FloatArray, split: FloatArray, green: BoolArray) -> StepResult:
        """Advance ``vehicles`` (C, D) by one step; ``split`` (M, D); ``green`` (M,)."""
        net = self.net
        new, total, outflow, movement_flow, exited = _ctm_step(
            vehicles, split, green, net.cell_send_factor, net.cell_receive_factor,
            net.cell_capacity_veh, net.cell_jam_veh, net.interior_cells, self.exit_cell,
            self.exit_dest, self.mv_last_cell, self.mv_first_cell, net.mv_to_link,
            net.link_first_cell,
        )
        return StepResult(new, total, outflow, movement_flow, exited)


@numba.njit(cache=True)
def _ctm_step(vehicles, split, green, send_factor, receive_factor, capacity, jam, interior,
              exit_cell, exit_dest, mv_last_cell, mv_first_cell, mv_to_link,
              link_first_cell):  # pragma: no cover - compiled
    n_cells, n_dest = vehicles.shape
    total = np.zeros(n_cells)
    for c in range(n_cells):
        acc = 0.0
        for d in range(n_dest):
            acc += vehicles[c, d]
        total[c] = acc
    send = np.minimum(total * send_factor, capacity)
    receive = np.minimum(capacity, receive_factor * np.maximum(jam - total, 0.0))
    # share of its content a cell sends; inf - inf in virtual cells never reaches here
    sent_share = np.where(total > 0.0, send / np.maximum(total, 1e-300), 0.0)
    new = vehicles.copy()
    outflow = np.zeros(n_cells)
    for i in interior:
        passed = min(send[i], receive[i + 1])
        if passed > 0.0:
            share = passed / total[i]
            for d in range(n_dest):
                q = vehicles[i, d] * share
                new[i, d] -= q
                new[i + 1, d] += q
            outflow[i] = passed
    exited = np.zeros(n_dest)
    for k in range(len(exit_cell)):
        c, d = exit_cell[k], exit_dest[k]
        q = vehicles[c, d] * sent_share[c]
        if q > 0.0:
            new[c, d] -= q
            exited[d] += q
            outflow[c] += q
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
        for d in range(n_dest):
            q = vehicles[c, d] * split[m, d] * scale
            new[c, d] -= q
            new[target, d] += q
            movement_flow[m] += q
        outflow[c] += movement_flow[m]
    for c in range(n_cells):  # split shares may sum to 1 + 1e-16: clear the rounding residue
        for d in range(n_dest):
            if new[c, d] < 0.0:
                new[c, d] = 0.0
    return new, total, outflow, movement_flow, exited
