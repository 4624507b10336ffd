"""The benchmark grid: one definition of the signalised grid and its trips.

Every simulator in the side-by-side benchmark (the twin, UXsim, SUMO) is fed
from the objects built here, so the network, the signal plans, the trips and
their routes are the same for all of them.

Network (defaults = the benchmark case)
    ``rows × cols`` nodes on a square lattice, ``block_m`` apart; node ``i`` is
    row ``i // cols``, column ``i % cols``, at ``x = col * block_m``,
    ``y = row * block_m`` (the numbering of ``twin.io.synthetic.grid_scenario``).
    Every pair of lattice neighbours is joined by two directed links (one each
    way), one lane each, free speed 13.89 m/s (50 km/h), capacity
    1,800 veh/h/lane, jam density 150 veh/km. A 10×10 grid has 100 nodes and
    360 directed links. Links are numbered as in ``grid_scenario``: the
    eastbound links row by row, the northbound (+y) links row by row, then the
    reverse of each of those in the same order.

Signals
    Every interior node (4 legs; ``signals_at="interior"``, the default) or
    every node with at least 3 legs (``signals_at="junctions"``, as
    ``grid_scenario`` does) has the same fixed-time two-phase plan: phase 0
    serves the east–west approaches for 27 s, then 3 s intergreen (all red in
    UXsim, amber in SUMO), phase 1 serves the north–south approaches for 27 s,
    then 3 s intergreen; cycle 60 s, offset 0 everywhere. The other nodes have
    no signal (SUMO: priority junctions; UXsim: plain merges).

Trips (the documented choice)
    Origins and destinations are drawn uniformly from *all* nodes, with the
    destination uniform over the nodes other than the origin. Departure times
    are whole seconds drawn uniformly from ``[0, duration_s)`` and the trips are
    sorted by departure time. A vehicle departs at the start of the first link
    of its route and arrives at the end of the last one (its destination node).

Routes
    Each trip follows a free-flow shortest path fixed in advance (no en-route
    re-routing, so every simulator moves the same vehicles over the same links).
    On a lattice many shortest paths tie; each trip takes one of its two
    L-shaped shortest paths (east–west first or north–south first, at most one
    turn), chosen by a fair coin from the same seeded generator.

Randomness comes only from ``numpy.random.default_rng(seed)``: the node
coordinates are the fixed lattice, the generator draws the trips and the
route coins, so ``make_trips(grid, seed=s)`` is identical on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

FREE_SPEED_MPS = 50.0 / 3.6
CAPACITY_VPH_PER_LANE = 1800.0
JAM_DENSITY_VPKM = 150.0

AXIS_EW = 0
"""Link runs east–west (same row); its movements are served in signal phase 0."""
AXIS_NS = 1
"""Link runs north–south (same column); its movements are served in signal phase 1."""

SIGNALS_AT = ("interior", "junctions")


@dataclass(frozen=True)
class SignalPlan:
    """Fixed-time two-phase plan shared by every signalised node.

    Phase ``p`` serves the approaches whose ``link_axis`` is ``p`` (0 east–west,
    1 north–south); each green is followed by ``intergreen_s`` during which no
    approach may enter.
    """

    green_s: tuple[float, float] = (27.0, 27.0)
    intergreen_s: float = 3.0
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if len(self.green_s) != 2 or min(self.green_s) <= 0:
            raise ValueError(f"'green_s' should be two positive greens, got {self.green_s!r}")
        if self.intergreen_s < 0:
            raise ValueError(f"'intergreen_s' should be >= 0, got {self.intergreen_s!r}")

    @property
    def cycle_s(self) -> float:
        """Cycle length: both greens plus two intergreens."""
        return float(sum(self.green_s) + 2 * self.intergreen_s)


@dataclass(frozen=True, eq=False)
class Grid:
    """A signalised lattice compiled to plain arrays (see the module docstring).

    Attributes
    ----------
    node_xy_m
        ``(n_nodes, 2)`` node coordinates.
    node_row, node_col
        Lattice position of each node.
    node_signalised
        True for the nodes that carry ``signal``.
    link_from, link_to
        Start and end node of each directed link.
    link_length_m
        Link length (``block_m`` for every link).
    link_axis
        ``AXIS_EW`` (0) or ``AXIS_NS`` (1): the signal phase that serves the link at its end node.
    """

    rows: int
    cols: int
    block_m: float
    lanes: int
    free_speed_mps: float
    capacity_vph_per_lane: float
    jam_density_vpkm: float
    signal: SignalPlan
    node_xy_m: npt.NDArray[np.float64] = field(repr=False)
    node_row: npt.NDArray[np.int64] = field(repr=False)
    node_col: npt.NDArray[np.int64] = field(repr=False)
    node_signalised: npt.NDArray[np.bool_] = field(repr=False)
    link_from: npt.NDArray[np.int64] = field(repr=False)
    link_to: npt.NDArray[np.int64] = field(repr=False)
    link_length_m: npt.NDArray[np.float64] = field(repr=False)
    link_axis: npt.NDArray[np.int64] = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy_m.shape[0])

    @property
    def n_links(self) -> int:
        return int(self.link_from.shape[0])

    def node_name(self, node: int) -> str:
        """Stable node id used in every peer's input files, e.g. ``r3c7``."""
        return f"r{self.node_row[node]}c{self.node_col[node]}"

    def link_name(self, link: int) -> str:
        """Stable link id, e.g. ``r3c7_r3c8`` (never starts with '-', which SUMO reserves)."""
        return f"{self.node_name(self.link_from[link])}_{self.node_name(self.link_to[link])}"

    def link_index(
        self, from_nodes: npt.ArrayLike, to_nodes: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Index of the link from each ``from_nodes`` to the matching ``to_nodes`` entry.

        Raises
        ------
        ValueError
            If some pair of nodes is not joined by a link.
        """
        order, keys = self._link_keys
        wanted = np.asarray(from_nodes, dtype=np.int64) * self.n_nodes + np.asarray(to_nodes)
        pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        if np.any(keys[pos] != wanted):
            raise ValueError("'from_nodes'/'to_nodes' should be pairs of adjacent nodes")
        return order[pos]

    @cached_property
    def _link_keys(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        keys = self.link_from * self.n_nodes + self.link_to
        order = np.argsort(keys)
        return order, keys[order]

    def free_flow_time_s(self, links: npt.ArrayLike) -> float:
        """Free-flow travel time over a sequence of links (length / free speed)."""
        return float(self.link_length_m[np.asarray(links)].sum() / self.free_speed_mps)


@dataclass(frozen=True, eq=False)
class Trips:
    """Trips with fixed routes, sorted by departure time.

    Attributes
    ----------
    origin, destination
        Node indices.
    depart_s
        Scheduled departure, whole seconds from the start of the run.
    routes
        For each trip, the link indices from origin to destination.
    free_flow_time_s
        Route length / free speed for each trip (the zero of delay).
    """

    origin: npt.NDArray[np.int64] = field(repr=False)
    destination: npt.NDArray[np.int64] = field(repr=False)
    depart_s: npt.NDArray[np.int64] = field(repr=False)
    routes: tuple[npt.NDArray[np.int64], ...] = field(repr=False)
    free_flow_time_s: npt.NDArray[np.float64] = field(repr=False)
    seed: int = 0

    def __len__(self) -> int:
        return int(self.origin.shape[0])

    def od_counts(self, n_nodes: int, *, bin_s: float = 60.0) -> npt.NDArray[np.int64]:
        """Trips per ``(departure bin, origin node, destination node)``.

        For engines fed by O-D rates rather than single trips: bin ``k`` covers
        departures in ``[k * bin_s, (k + 1) * bin_s)``.
        """
        if bin_s <= 0:
            raise ValueError(f"'bin_s' should be > 0, got {bin_s!r}")
        n_bins = int(self.depart_s.max() // bin_s) + 1
        counts = np.zeros((n_bins, n_nodes, n_nodes), dtype=np.int64)
        np.add.at(
            counts,
            ((self.depart_s // bin_s).astype(np.int64), self.origin, self.destination),
            1,
        )
        return counts


def make_grid(
    rows: int = 10,
    cols: int = 10,
    *,
    block_m: float = 200.0,
    lanes: int = 1,
    free_speed_mps: float = FREE_SPEED_MPS,
    capacity_vph_per_lane: float = CAPACITY_VPH_PER_LANE,
    jam_density_vpkm: float = JAM_DENSITY_VPKM,
    signal: SignalPlan | None = None,
    signals_at: str = "interior",
) -> Grid:
    """Build the signalised lattice (defaults: the 10×10 benchmark grid).

    ``signals_at`` is ``"interior"`` (4-leg nodes) or ``"junctions"`` (nodes
    with 3 or more legs). Link indices follow ``twin.io.synthetic.grid_scenario``
    (see the module docstring), so they are stable for given ``rows``/``cols``.
    """
    if rows < 2 or cols < 2:
        raise ValueError(f"'rows' and 'cols' should be >= 2, got {rows!r} and {cols!r}")
    if block_m <= 0 or free_speed_mps <= 0 or capacity_vph_per_lane <= 0:
        raise ValueError("'block_m', 'free_speed_mps' and 'capacity_vph_per_lane' should be > 0")
    if signals_at not in SIGNALS_AT:
        raise ValueError(f"'signals_at' should be one of {SIGNALS_AT}, got {signals_at!r}")
    if lanes < 1:
        raise ValueError(f"'lanes' should be >= 1, got {lanes!r}")
    if jam_density_vpkm * free_speed_mps * 3.6 <= capacity_vph_per_lane:
        raise ValueError("'jam_density_vpkm' too low for a triangular diagram with that capacity")

    node = np.arange(rows * cols).reshape(rows, cols)
    node_row, node_col = np.divmod(node.ravel(), cols)
    xy = np.column_stack([node_col, node_row]).astype(np.float64) * block_m

    west, east = node[:, :-1].ravel(), node[:, 1:].ravel()
    south, north = node[:-1, :].ravel(), node[1:, :].ravel()
    forward_from, forward_to = (
        np.concatenate([west, south]),
        np.concatenate([east, north]),
    )
    link_from = np.concatenate([forward_from, forward_to])
    link_to = np.concatenate([forward_to, forward_from])
    forward_axis = np.concatenate([np.full(west.size, AXIS_EW), np.full(south.size, AXIS_NS)])
    axis = np.concatenate([forward_axis, forward_axis])
    legs = np.bincount(link_to, minlength=rows * cols)
    signalised = legs >= (4 if signals_at == "interior" else 3)

    return Grid(
        rows=rows,
        cols=cols,
        block_m=float(block_m),
        lanes=int(lanes),
        free_speed_mps=float(free_speed_mps),
        capacity_vph_per_lane=float(capacity_vph_per_lane),
        jam_density_vpkm=float(jam_density_vpkm),
        signal=signal if signal is not None else SignalPlan(),
        node_xy_m=xy,
        node_row=node_row.astype(np.int64),
        node_col=node_col.astype(np.int64),
        node_signalised=signalised,
        link_from=link_from.astype(np.int64),
        link_to=link_to.astype(np.int64),
        link_length_m=np.full(link_from.size, float(block_m)),
        link_axis=axis.astype(np.int64),
    )


def make_trips(
    grid: Grid,
    n_trips: int = 6000,
    *,
    duration_s: int = 3600,
    seed: int = 2024,
) -> Trips:
    """Draw ``n_trips`` trips over ``duration_s`` and fix their routes.

    See the module docstring for the distribution. The same ``grid`` shape and
    ``seed`` give the same trips on every run and every machine.
    """
    if n_trips < 1:
        raise ValueError(f"'n_trips' should be >= 1, got {n_trips!r}")
    if duration_s < 1:
        raise ValueError(f"'duration_s' should be >= 1, got {duration_s!r}")
    rng = np.random.default_rng(seed)
    n = grid.n_nodes
    origin = rng.integers(0, n, size=n_trips)
    other = rng.integers(0, n - 1, size=n_trips)
    destination = other + (other >= origin)
    depart_s = rng.integers(0, duration_s, size=n_trips)
    east_west_first = rng.random(n_trips) < 0.5

    order = np.argsort(depart_s, kind="stable")
    origin, destination = origin[order], destination[order]
    depart_s, east_west_first = depart_s[order], east_west_first[order]

    routes = tuple(
        _l_route(grid, int(o), int(d), bool(c))
        for o, d, c in zip(origin, destination, east_west_first, strict=True)
    )
    free_flow = np.array([grid.free_flow_time_s(r) for r in routes])
    return Trips(
        origin=origin.astype(np.int64),
        destination=destination.astype(np.int64),
        depart_s=depart_s.astype(np.int64),
        routes=routes,
        free_flow_time_s=free_flow,
        seed=int(seed),
    )


def _l_route(
    grid: Grid, origin: int, destination: int, east_west_first: bool
) -> npt.NDArray[np.int64]:
    """Links of the L-shaped shortest path: along the row first, or along the column first."""
    r0, c0 = divmod(origin, grid.cols)
    r1, c1 = divmod(destination, grid.cols)
    cols = range(c0, c1 + (1 if c1 >= c0 else -1), 1 if c1 >= c0 else -1)
    rows = range(r0, r1 + (1 if r1 >= r0 else -1), 1 if r1 >= r0 else -1)
    if east_west_first:
        cells = [(r0, c) for c in cols] + [(r, c1) for r in rows[1:]]
    else:
        cells = [(r, c0) for r in rows] + [(r1, c) for c in cols[1:]]
    nodes = np.array([r * grid.cols + c for r, c in cells], dtype=np.int64)
    return grid.link_index(nodes[:-1], nodes[1:])
