"""Fastest paths on current travel times, and the next-hop splits of reactive assignment.

The routing graph has one vertex per link; a turning movement ``a -> b`` is an arc weighted by
the travel time of ``b``. The time to go from the end of link ``a`` to destination node ``z``
is a shortest-path distance on the reversed graph from a vertex joined to every link that ends
at ``z`` (:class:`ReverseGraph`: one ``scipy.sparse.csgraph.dijkstra`` call for all destinations).

Reactive dynamic user optimum (as UXsim's DUO): every ``route_update_s`` each vehicle group
(link, destination) moves a share ``smoothing`` of its split toward the currently fastest next
link. Ties are shared equally. Only moves that go strictly downhill in the current time to
destination stay in a split (the rest of the old split is dropped and renormalised): the time
to destination is a potential, so the next-hop graph never has a cycle and vehicles cannot be
sent round a loop (a loop of jammed links is a gridlock no signal can clear).

The period matters more than its cost suggests: the engine re-routes every 60 s (UXsim's default
is 600 s). On the bundled event day a 300 s period let the evening jam lock up (at 20:00 a mean
speed of 3.7 km/h and 5,300 vehicles in the network, against 16 km/h and 2,100 with 60 s).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from twin.models.network import Network

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ReverseGraph:
    """The reversed movement graph toward fixed destination nodes, built once; each call to
    :meth:`cost` only refills the arc weights from the current link times.

    Vertices: one per link, plus one per destination joined to the links that end at it.
    """

    def __init__(self, net: Network, dest_nodes: IntArray) -> None:
        n_links, n_dest = net.n_links, len(dest_nodes)
        real_end = net.link_to_node[: net.n_real_links]
        dest_of_link, ending = np.nonzero(real_end[None, :] == dest_nodes[:, None])
        rows = np.concatenate([net.mv_to_link, n_links + dest_of_link])
        cols = np.concatenate([net.mv_from_link, ending])
        arc = np.arange(1, len(rows) + 1, dtype=float)  # arc numbers survive the CSR ordering
        shape = (n_links + n_dest, n_links + n_dest)
        layout = sp.csr_matrix((arc, (rows, cols)), shape=shape)
        self.arc_order = layout.data.astype(np.int64) - 1
        self.indices, self.indptr, self.shape = layout.indices, layout.indptr, shape
        self.weighted_link = np.concatenate([net.mv_to_link, np.full(len(ending), -1)])
        self.n_links, self.n_dest = n_links, n_dest

    def cost(self, link_time_s: FloatArray) -> FloatArray:
        """Seconds from the end of each link to each destination node, shape (D, L); ``inf``
        where a destination cannot be reached from that link.

        A compiled Dijkstra (:func:`_dijkstra_from`) on the arrays built once; it gives what
        ``scipy.sparse.csgraph.dijkstra`` gives on the same graph, to the bit (see there), in
        a third of the time on the bundled scenario (no sparse matrix built per call).
        """
        tiny = 1e-9  # csgraph drops explicit zeros; a nanosecond stands in for "free"
        weight = np.where(self.weighted_link >= 0, link_time_s[self.weighted_link], tiny)
        sources = self.n_links + np.arange(self.n_dest)
        cost = _dijkstra_from(self.indptr, self.indices, weight[self.arc_order], sources)
        return cost[:, : self.n_links]

    def cost_scipy(self, link_time_s: FloatArray) -> FloatArray:
        """:meth:`cost` by ``scipy.sparse.csgraph.dijkstra`` (the reference it is tested against)."""
        tiny = 1e-9
        weight = np.where(self.weighted_link >= 0, link_time_s[self.weighted_link], tiny)
        graph = sp.csr_matrix((weight[self.arc_order], self.indices, self.indptr), shape=self.shape)
        cost = dijkstra(graph, directed=True, indices=self.n_links + np.arange(self.n_dest))
        return cost[:, : self.n_links]


@numba.njit(cache=True, nogil=True)
def _dijkstra_from(indptr, indices, weight, sources):  # pragma: no cover - compiled
    """(len(sources), V) shortest distances from each source over the CSR graph (arc ``e`` from
    row ``u`` to ``indices[e]``, ``weight[e]`` seconds); ``inf`` where unreachable.

    As csgraph given the CSR arrays, an arc of weight 0 stays an arc. With every weight >= 0,
    a vertex's distance is the least ``dist[u] + weight`` over its in-neighbours' distances,
    whatever order ties are settled in, so the result equals csgraph's to the bit (the same
    sums, each added in the same order, from the source outward).
    """
    n_vertices = len(indptr) - 1
    out = np.full((len(sources), n_vertices), np.inf)
    heap_key = np.empty(len(indices) + 1)
    heap_vertex = np.empty(len(indices) + 1, dtype=np.int64)
    done = np.zeros(n_vertices, dtype=np.bool_)
    for k in range(len(sources)):
        dist = out[k]
        done[:] = False
        source = sources[k]
        dist[source] = 0.0
        heap_key[0], heap_vertex[0], size = 0.0, source, 1
        while size > 0:
            key, u = heap_key[0], heap_vertex[0]
            size -= 1  # pop: the last entry sifts down from the root
            last_key, last_vertex, i = heap_key[size], heap_vertex[size], 0
            while True:
                child = 2 * i + 1
                if child >= size:
                    break
                if child + 1 < size and heap_key[child + 1] < heap_key[child]:
                    child += 1
                if heap_key[child] >= last_key:
                    break
                heap_key[i], heap_vertex[i] = heap_key[child], heap_vertex[child]
                i = child
            heap_key[i], heap_vertex[i] = last_key, last_vertex
            if done[u]:
                continue
            done[u] = True
            for e in range(indptr[u], indptr[u + 1]):
                v, w = indices[e], weight[e]
                if done[v]:
                    continue
                candidate = key + w
                if candidate < dist[v]:
                    dist[v] = candidate
                    i = size  # push: sift up from the end
                    size += 1
                    while i > 0:
                        parent = (i - 1) // 2
                        if heap_key[parent] <= candidate:
                            break
                        heap_key[i], heap_vertex[i] = heap_key[parent], heap_vertex[parent]
                        i = parent
                    heap_key[i], heap_vertex[i] = candidate, v
    return out


def destination_exit_mask(net: Network, dest_nodes: IntArray) -> npt.NDArray[np.bool_]:
    """(L, D): vehicles for ``d`` leave the network at the end of link ``l``."""
    mask = net.link_to_node[:, None] == dest_nodes[None, :]
    mask[net.n_real_links :] = False
    return mask


def next_hop_split(
    net: Network,
    link_time_s: FloatArray,
    cost: FloatArray,
    old_split: FloatArray,
    exit_mask: npt.NDArray[np.bool_],
    *,
    smoothing: float,
) -> FloatArray:
    """The new split (M, D): ``old_split`` moved a share ``smoothing`` toward the fastest next hop.

    Per link ``a`` and destination ``d`` the fastest next hops are the movements ``a -> b``
    with the least ``link_time_s[b] + cost[d, b]`` (ties share equally; a group with no
    finite option shares equally among all its movements). Of the old split only the
    downhill moves (``cost[d, b] < cost[d, a]``) are kept, scaled by ``1 - smoothing``; the
    rest of the group's share goes to the fastest hops, so each group sums to 1. Groups whose
    vehicles leave the network at the end of ``a`` (``exit_mask[a, d]``) get 0.
    ``smoothing=1`` (or a zero ``old_split``) gives the all-or-nothing fastest split.
    """
    order, start = net.movements_by_from_link
    cost_by_link = np.ascontiguousarray(cost.T)  # (L, D): one link's costs side by side
    return _next_hop_split(
        link_time_s,
        cost_by_link,
        net.mv_to_link,
        order,
        start,
        old_split,
        exit_mask,
        float(smoothing),
    )


@numba.njit(cache=True, nogil=True)
def _next_hop_split(
    link_time_s, cost_by_link, mv_to_link, order, start, old_split, exit_mask, smoothing
):  # pragma: no cover - compiled
    n_mv, n_dest = old_split.shape
    new = np.zeros((n_mv, n_dest))
    for link in range(len(start) - 1):
        first, last = start[link], start[link + 1]
        if first == last:
            continue
        for d in range(n_dest):
            if exit_mask[link, d]:
                continue
            best = np.inf
            for k in range(first, last):
                to = mv_to_link[order[k]]
                best = min(best, link_time_s[to] + cost_by_link[to, d])
            tolerance = best * (1.0 + 1e-12) + 1e-6
            n_best = 0
            kept_total = 0.0
            for k in range(first, last):
                m = order[k]
                to = mv_to_link[m]
                if link_time_s[to] + cost_by_link[to, d] <= tolerance:
                    n_best += 1
                if (
                    cost_by_link[to, d] < cost_by_link[link, d]
                ):  # downhill: keep part of the old share
                    new[m, d] = (1.0 - smoothing) * old_split[m, d]
                    kept_total += new[m, d]
            for k in range(first, last):
                m = order[k]
                to = mv_to_link[m]
                if link_time_s[to] + cost_by_link[to, d] <= tolerance:
                    new[m, d] += (1.0 - kept_total) / n_best
    return new


def fastest_tree(
    net: Network, link_time_s: FloatArray, from_link: int
) -> tuple[FloatArray, IntArray]:
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
