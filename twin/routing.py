"""Fastest paths on current travel times, and the next-hop splits of reactive assignment.

The routing graph has one vertex per link; a turning movement ``a -> b`` is an arc weighted by
the travel time of ``b``. The time to go from the end of link ``a`` to destination node ``z``
is a shortest-path distance on the reversed graph from every link that ends at ``z``
(``scipy.sparse.csgraph.dijkstra`` with ``min_only``).

Reactive dynamic user optimum (as UXsim's DUO): every ``route_update_s`` each vehicle group
(link, destination) moves a share ``smoothing`` of its split toward the currently fastest next
link. Ties are shared equally. Only moves that go strictly downhill in the current time to
destination stay in a split (the rest of the old split is dropped and renormalised): the time
to destination is a potential, so the next-hop graph never has a cycle and vehicles cannot be
sent round a loop (a loop of jammed links is a gridlock no signal can clear).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from twin.network import Network

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def cost_to_destinations(
    net: Network, link_time_s: FloatArray, dest_nodes: IntArray
) -> FloatArray:
    """Seconds from the end of each link to each destination node, shape (D, L).

    One ``dijkstra`` call on the reversed movement graph, extended by one vertex per
    destination joined to the links that end at it. ``inf`` where a destination cannot be
    reached from that link.
    """
    n_links, n_dest = net.n_links, len(dest_nodes)
    real_end = net.link_to_node[: net.n_real_links]
    dest_of_link, ending = np.nonzero(real_end[None, :] == dest_nodes[:, None])
    tiny = 1e-9  # csgraph drops explicit zeros; a nanosecond stands in for "free"
    rows = np.concatenate([net.mv_to_link, n_links + dest_of_link])
    cols = np.concatenate([net.mv_from_link, ending])
    weight = np.concatenate([link_time_s[net.mv_to_link], np.full(len(ending), tiny)])
    reverse = sp.csr_matrix((weight, (rows, cols)), shape=(n_links + n_dest, n_links + n_dest))
    cost = dijkstra(reverse, directed=True, indices=n_links + np.arange(n_dest))
    return cost[:, :n_links]


def best_next_split(net: Network, link_time_s: FloatArray, cost: FloatArray) -> FloatArray:
    """All-or-nothing split (M, D): 1 on the fastest movement out of each link per destination.

    Ties share equally; a group with no finite option shares equally among all its movements.
    """
    value = (link_time_s[net.mv_to_link][None, :] + cost[:, net.mv_to_link]).T  # (M, D)
    order = np.argsort(net.mv_from_link, kind="stable")
    starts = np.flatnonzero(np.diff(net.mv_from_link[order], prepend=-1))
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(np.diff(net.mv_from_link[order], prepend=-1) != 0) - 1
    best = np.minimum.reduceat(value[order], starts, axis=0)
    is_best = value <= best[group] * (1 + 1e-12) + 1e-6
    counts = np.add.reduceat(is_best[order].astype(float), starts, axis=0)
    return is_best / counts[group]


def destination_exit_mask(net: Network, dest_nodes: IntArray) -> npt.NDArray[np.bool_]:
    """(L, D): vehicles for ``d`` leave the network at the end of link ``l``."""
    mask = net.link_to_node[:, None] == dest_nodes[None, :]
    mask[net.n_real_links :] = False
    return mask


def update_split(
    split: FloatArray, best: FloatArray, exit_mask: npt.NDArray[np.bool_], net: Network,
    cost: FloatArray, *, smoothing: float,
) -> FloatArray:
    """Move ``split`` a share ``smoothing`` toward ``best``, keeping only downhill moves.

    ``cost`` (D, L) is the current time to destination from the end of each link; a move
    ``a -> b`` is downhill for ``d`` when ``cost[d, b] < cost[d, a]``.
    """
    downhill = (cost[:, net.mv_to_link] < cost[:, net.mv_from_link]).T  # (M, D)
    kept = (1.0 - smoothing) * split * downhill
    order = np.argsort(net.mv_from_link, kind="stable")
    starts = np.flatnonzero(np.diff(net.mv_from_link[order], prepend=-1))
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(np.diff(net.mv_from_link[order], prepend=-1) != 0) - 1
    kept_total = np.add.reduceat(kept[order], starts, axis=0)[group]
    new = kept + (1.0 - kept_total) * best  # each group sums to 1 again
    new[exit_mask[net.mv_from_link]] = 0.0
    return new


def fastest_tree(net: Network, link_time_s: FloatArray, from_link: int) -> tuple[FloatArray, IntArray]:
    """Seconds from the end of ``from_link`` to the end of every link, and predecessors."""
    graph = sp.csr_matrix(
        (link_time_s[net.mv_to_link], (net.mv_from_link, net.mv_to_link)),
        shape=(net.n_links, net.n_links),
    )
    dist, pred = dijkstra(graph, directed=True, indices=from_link, return_predecessors=True)
    dist[from_link] = 0.0
    return dist, pred


def best_end_link(net: Network, dist: FloatArray, to_node: int) -> tuple[int, float]:
    """The link ending at ``to_node`` reached soonest, and its time (-1, inf when unreachable)."""
    ends = np.flatnonzero(net.link_to_node[: net.n_real_links] == to_node)
    if len(ends) == 0 or not np.isfinite(dist[ends]).any():
        return -1, float("inf")
    last = int(ends[np.argmin(dist[ends])])
    return last, float(dist[last])


def path_to(pred: IntArray, from_link: int, last: int) -> list[int]:
    """Links from ``from_link`` to ``last`` along the predecessor tree."""
    path = [last]
    while path[-1] != from_link:
        path.append(int(pred[path[-1]]))
    return path[::-1]


def fastest_path(
    net: Network, link_time_s: FloatArray, from_link: int, to_node: int
) -> tuple[list[int], float]:
    """Links of the fastest path from the end of ``from_link`` to ``to_node``, and its time (s).

    The path starts with ``from_link`` itself; the time counts only the links after it.
    An empty path and ``inf`` when ``to_node`` cannot be reached.
    """
    dist, pred = fastest_tree(net, link_time_s, from_link)
    last, seconds = best_end_link(net, dist, to_node)
    return ([], seconds) if last < 0 else (path_to(pred, from_link, last), seconds)
