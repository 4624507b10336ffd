"""Turning movements, signal phases and the signal-guessing rule at road junctions.

Pure functions over the links that meet at one node (no graph, no I/O).

Bearings are compass headings of travel in degrees (0 = north, 90 = east), measured in a
projected CRS. The heading of a link end is the chord over its last (incoming) or first
(outgoing) ``span_m`` metres, 20 m by default, rather than the literal last segment: junction
consolidation adds a short stub from the old end node to the cluster centroid, whose
direction says nothing about the road.

Turns (Korea drives on the right)
---------------------------------
The turn angle is the outgoing heading minus the incoming heading, wrapped into
[-180, 180): positive turns clockwise (to the right).

- ``uturn``: the outgoing link is the reverse of the incoming link, or leads back to the node
  the incoming link came from, or the angle is at least ``UTURN_MIN_DEG`` (160) either way.
- ``through``: ``|angle| <= THROUGH_MAX_DEG`` (45).
- ``right``: angle > 45; ``left``: angle < -45.

U-turns are forbidden, except from an incoming link that has no other exit at the node
(dead ends and the boundary stubs of a clipped extract).

Phases (2 per signalised node)
------------------------------
Each incoming link is an approach. Find the two most opposite approaches (headings closest
to 180 degrees apart; ties go to the lower link ids); the one with the lower link id sets the
axis. Phase 0 holds every approach whose heading is within 45 degrees of that axis, either
way along it (so the most opposite pair itself when it is within 45 degrees of opposite);
phase 1 holds the rest. At a 3-approach junction the two most opposite approaches are phase 0
and the third is phase 1, whatever its angle. If phase 1 is left without approaches (one
approach, or all approaches along one axis: a mid-block pedestrian signal) it is kept as a
pedestrian-only phase with no vehicle movement. Opposed left turns are permissive (no
protected left phase); every movement takes the phase of its incoming approach.

Signalised nodes
----------------
A node is signalised when it is *tagged*: an OSM node ``highway=traffic_signals``, or a
signalised crossing (``highway=crossing`` + ``crossing=traffic_signals``), lies within
``SIGNAL_SNAP_M`` (25 m) of it after consolidation (each OSM node counts for its nearest
network node only; done by the importer). Otherwise it is *guessed*
(:func:`guess_signalised`) when it is a junction (3 or more neighbouring nodes) and either

- at least 2 distinct roads of the major classes ``trunk``/``primary``/``secondary``
  (``*_link`` excluded) meet there, or
- one major road meets a ``tertiary`` road and the node has at least 3 approaches.

A road is identified by its ``name``, else its ``ref``, else its OSM way id, so the two
carriageways of a divided road are one road. The rule stands in for the signals the extract
does not tag (the Seoul extract has 5 ``traffic_signals`` nodes and 36 signalised crossings
for about 370 junctions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from twin.io.osm.roadclass import MAJOR_CLASSES

THROUGH_MAX_DEG = 45.0
UTURN_MIN_DEG = 160.0
PHASE_AXIS_DEG = 45.0
BEARING_SPAN_M = 20.0
SIGNAL_SNAP_M = 25.0


@dataclass(frozen=True)
class Leg:
    """One link end at a junction.

    Attributes
    ----------
    link_id
        The link.
    other_node
        The node at the link's far end: upstream for an incoming link, downstream for an
        outgoing one.
    bearing_deg
        Heading of travel at the junction, degrees clockwise from north.
    reverse_link_id
        The link of the same road in the opposite direction, -1 if none.
    lanes
        Lanes of the link.
    """

    link_id: int
    other_node: int
    bearing_deg: float
    reverse_link_id: int = -1
    lanes: int = 1


def bearing_deg(
    x0_m: npt.ArrayLike, y0_m: npt.ArrayLike, x1_m: npt.ArrayLike, y1_m: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Compass heading from point 0 to point 1 in a projected CRS, in [0, 360)."""
    dx = np.asarray(x1_m, dtype=float) - np.asarray(x0_m, dtype=float)
    dy = np.asarray(y1_m, dtype=float) - np.asarray(y0_m, dtype=float)
    return np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)


def end_bearings_deg(
    lines: Sequence[shapely.LineString] | npt.NDArray[np.object_], *, span_m: float = BEARING_SPAN_M
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Headings of travel at the start and at the end of projected lines.

    Parameters
    ----------
    lines
        LineStrings in a metric CRS, in the direction of travel.
    span_m
        Length of the chord that defines each heading, m (the whole line if shorter).

    Returns
    -------
    start_bearing_deg, end_bearing_deg
    """
    if not span_m > 0:
        raise ValueError(f"'span_m' should be > 0, got {span_m!r}")
    geoms = np.asarray(lines, dtype=object)
    length_m = shapely.length(geoms)
    start, end = shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)
    ahead = shapely.line_interpolate_point(geoms, np.minimum(span_m, length_m))
    behind = shapely.line_interpolate_point(geoms, np.maximum(length_m - span_m, 0.0))
    start_deg = bearing_deg(
        shapely.get_x(start), shapely.get_y(start), shapely.get_x(ahead), shapely.get_y(ahead)
    )
    end_deg = bearing_deg(
        shapely.get_x(behind), shapely.get_y(behind), shapely.get_x(end), shapely.get_y(end)
    )
    return start_deg, end_deg


def turn_angle_deg(
    in_bearing_deg: npt.ArrayLike, out_bearing_deg: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Signed turn from an incoming to an outgoing heading, in [-180, 180); right is positive."""
    delta = np.asarray(out_bearing_deg, dtype=float) - np.asarray(in_bearing_deg, dtype=float)
    return np.mod(delta + 180.0, 360.0) - 180.0


def classify_turn(angle_deg: float) -> str:
    """``through``, ``right``, ``left`` or ``uturn`` for a signed turn angle (right positive)."""
    if abs(angle_deg) >= UTURN_MIN_DEG:
        return "uturn"
    if abs(angle_deg) <= THROUGH_MAX_DEG:
        return "through"
    return "right" if angle_deg > 0 else "left"


def turning_movements(
    incoming: Sequence[Leg], outgoing: Sequence[Leg]
) -> list[tuple[int, int, str]]:
    """Allowed movements at one node.

    Parameters
    ----------
    incoming
        Links entering the node (``other_node`` = their upstream node).
    outgoing
        Links leaving the node (``other_node`` = their downstream node).

    Returns
    -------
    movements
        ``(from_link, to_link, turn)`` sorted by link ids; U-turns only from an incoming link
        with no other exit.
    """
    movements = []
    for leg_in in sorted(incoming, key=lambda leg: leg.link_id):
        turns = [(leg_out.link_id, _turn(leg_in, leg_out)) for leg_out in outgoing]
        exits = [(to_link, turn) for to_link, turn in turns if turn != "uturn"]
        movements += [(leg_in.link_id, to_link, turn) for to_link, turn in sorted(exits or turns)]
    return movements


def _turn(leg_in: Leg, leg_out: Leg) -> str:
    back = leg_out.link_id == leg_in.reverse_link_id or leg_out.other_node == leg_in.other_node
    return (
        "uturn"
        if back
        else classify_turn(float(turn_angle_deg(leg_in.bearing_deg, leg_out.bearing_deg)))
    )


def axial_difference_deg(a_deg: npt.ArrayLike, b_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Angle between two headings taken as undirected axes, in [0, 90]."""
    diff = np.mod(np.asarray(a_deg, dtype=float) - np.asarray(b_deg, dtype=float), 180.0)
    return np.minimum(diff, 180.0 - diff)


def phase_groups(incoming: Sequence[Leg]) -> dict[int, int]:
    """Phase (0 or 1) of each approach of a signalised node; see the module docstring.

    Parameters
    ----------
    incoming
        The node's incoming links.

    Returns
    -------
    phases
        ``{link_id: phase}``.
    """
    legs = sorted(incoming, key=lambda leg: leg.link_id)
    if len(legs) <= 1:
        return {leg.link_id: 0 for leg in legs}
    i, j = _most_opposite_pair(np.array([leg.bearing_deg for leg in legs]))
    if len(legs) == 3:
        return {leg.link_id: 0 if k in (i, j) else 1 for k, leg in enumerate(legs)}
    on_axis = (
        axial_difference_deg([leg.bearing_deg for leg in legs], legs[i].bearing_deg)
        <= PHASE_AXIS_DEG
    )
    return {leg.link_id: 0 if on_axis[k] else 1 for k, leg in enumerate(legs)}


def _most_opposite_pair(bearings_deg: npt.NDArray[np.float64]) -> tuple[int, int]:
    """Indices (i < j) of the two headings closest to 180 degrees apart; first pair on ties."""
    separation = np.abs(turn_angle_deg(bearings_deg[:, None], bearings_deg[None, :]))
    i_idx, j_idx = np.triu_indices(len(bearings_deg), k=1)
    best = int(np.argmax(np.round(separation[i_idx, j_idx], 9)))
    return int(i_idx[best]), int(j_idx[best])


def crossing_lanes(incoming: Sequence[Leg], outgoing: Sequence[Leg]) -> dict[int, int]:
    """Lanes a pedestrian crosses on each approach's leg: the approach's lanes plus those of
    the widest outgoing link heading back the way the approach came (its reverse link or the
    other carriageway of a divided road, within 45 degrees)."""
    crossing = {}
    for leg in incoming:
        back = [
            out.lanes
            for out in outgoing
            if out.link_id == leg.reverse_link_id
            or axial_difference_deg(out.bearing_deg, leg.bearing_deg) <= PHASE_AXIS_DEG
            and abs(turn_angle_deg(leg.bearing_deg, out.bearing_deg)) > 90.0
        ]
        crossing[leg.link_id] = leg.lanes + max(back, default=0)
    return crossing


def guess_signalised(roads: Iterable[tuple[str, str]], *, approaches: int, neighbours: int) -> bool:
    """The signal-guessing rule (module docstring) for one untagged node.

    Parameters
    ----------
    roads
        ``(highway, road identity)`` of every link at the node, in and out.
    approaches
        Number of incoming links.
    neighbours
        Number of distinct neighbouring nodes.

    Returns
    -------
    signalised
    """
    if neighbours < 3:
        return False
    roads = set(roads)
    major = {road for highway, road in roads if highway in MAJOR_CLASSES}
    tertiary = {road for highway, road in roads if highway == "tertiary"} - major
    return len(major) >= 2 or (len(major) >= 1 and len(tertiary) >= 1 and approaches >= 3)
