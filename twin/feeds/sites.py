"""What the feeds are checked against: detector sites and checkpoint lanes, as plain arrays.

Built once per engine from its scenario (``scenario.detectors``) and its checkpoint layout, and
kept on :class:`twin.feeds.extension.FeedsExtension` (static data shared by forks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from twin.engine import Engine

__all__ = ["Sites", "sites_of"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Sites:
    """Static facts the feeds are checked against.

    Attributes
    ----------
    detector_ids
        Detector names in index order (``scenario.detectors`` rows).
    index_of
        Name -> detector index.
    detector_link, detector_lanes
        Link each detector sits on and the lanes it covers.
    detector_capacity_vph
        Capacity of the lanes a detector covers (link capacity per lane x lanes), veh/h.
    neighbour_pairs
        ``(P, 2)`` detector pairs (i, j) that count the same vehicles: j is on i's link, or on
        the link of the same street directly up- or downstream of it in the same direction of
        travel, through a node where no side street joins (a junction's turns make flows on
        either side of it differ by any factor).
    checkpoint_names
        Checkpoint display names in index order.
    lane_positions
        ``(N, 2)`` lane positions per checkpoint and lane type (face e-gates installed; all
        positions for manual lanes).
    max_lanes
        ``(N,)`` lane positions per checkpoint (lane numbers run ``0..max_lanes-1``).
    lane_rate_pps
        ``(N, 2)`` service rate of one lane of each type, persons per second.
    """

    detector_ids: tuple[str, ...]
    index_of: dict[str, int]
    detector_link: IntArray
    detector_lanes: IntArray
    detector_capacity_vph: FloatArray
    neighbour_pairs: IntArray
    checkpoint_names: tuple[str, ...]
    lane_positions: IntArray
    max_lanes: IntArray
    lane_rate_pps: FloatArray

    @property
    def n_detectors(self) -> int:
        return len(self.detector_ids)

    @property
    def n_checkpoints(self) -> int:
        return len(self.checkpoint_names)


def sites_of(engine: Engine) -> Sites:
    """The :class:`Sites` of ``engine``'s scenario and checkpoint layout."""
    scenario = engine.scenario
    table = scenario.detectors
    if table is None:
        table = pd.DataFrame({"detector_id": [], "link_id": [], "lanes": []})
    ids = tuple(str(x) for x in table["detector_id"])
    link = table["link_id"].to_numpy(dtype=np.int64)
    lanes = table["lanes"].to_numpy(dtype=np.int64)
    links = scenario.links
    capacity = links["capacity_vphpl"].to_numpy(dtype=float)[link] * lanes
    pairs = _neighbours(link, links)
    layout = engine.pedestrians
    specs = () if layout is None else tuple(layout.specs)
    positions = np.array([[s.face_lane_limit, s.max_lanes] for s in specs], dtype=np.int64).reshape(
        -1, 2
    )
    rates = np.array([[s.face_rate_pps, s.manual_rate_pps] for s in specs], dtype=float)
    return Sites(
        detector_ids=ids,
        index_of={name: i for i, name in enumerate(ids)},
        detector_link=link,
        detector_lanes=lanes,
        detector_capacity_vph=capacity,
        neighbour_pairs=pairs,
        checkpoint_names=tuple(s.name for s in specs),
        lane_positions=positions,
        max_lanes=np.array([s.max_lanes for s in specs], dtype=np.int64),
        lane_rate_pps=rates.reshape(-1, 2),
    )


def _neighbours(detector_link: IntArray, links: pd.DataFrame) -> IntArray:
    if len(detector_link) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    start = links["from_node"].to_numpy(dtype=np.int64)[detector_link]
    end = links["to_node"].to_numpy(dtype=np.int64)[detector_link]
    i, j = np.meshgrid(np.arange(len(detector_link)), np.arange(len(detector_link)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    same = detector_link[i] == detector_link[j]
    upstream = end[j] == start[i]
    downstream = start[j] == end[i]
    reverse = (start[j] == end[i]) & (end[j] == start[i])
    street = (
        links["street"].fillna("").astype(str).to_numpy()[detector_link]
        if "street" in links
        else np.full(len(detector_link), "")
    )
    along = (street[i] == street[j]) & (street[i] != "")  # the same road, not a cross street
    # the node between them joins no side street (in and out degree <= 2: the road's two
    # directions), so the vehicles one counts are the vehicles the other counts
    n_nodes = int(max(links["from_node"].max(), links["to_node"].max())) + 1
    degree_in = np.bincount(links["to_node"].to_numpy(dtype=np.int64), minlength=n_nodes)
    degree_out = np.bincount(links["from_node"].to_numpy(dtype=np.int64), minlength=n_nodes)
    between = np.where(upstream, start[i], end[i])
    plain = (degree_in[between] <= 2) & (degree_out[between] <= 2)
    keep = (i != j) & (same | ((upstream | downstream) & ~reverse & along & plain))
    return np.stack([i[keep], j[keep]], axis=1)
