"""Human place names for the imported network, in English.

Streets
    A way's street is its OSM ``name:en``, else the English name another element of the extract
    gives the same ``name``, else a transliteration (:mod:`twin.io.osm.romanize`). A way without
    a ``name`` has no street.

Junctions (``nodes.name``)
    - two or more streets meet: the two main ones, "Olympic-ro × Yangjae-daero". Streets rank by
      road class (trunk before primary before secondary...; a ramp after its class), then
      alphabetically (so the nodes of one crossing of divided roads share the order);
    - one street: "Gangdong-daero at Olympic Park North Gate 2" where OSM names the node, else
      its nearest cross streets either way along it, "Songpa-daero between Jamsil-ro and
      Olympic-ro" or "Songpa-daero near Olympic-ro", else "Olympic-ro near KSPO Dome" (the
      nearest facility within :data:`NEAR_M`), else the street alone;
    - no street: the node's own name, else the description of its main road ("Ramp off
      Songpa-daero").

    A boundary gateway adds its compass point from the network's centre and, where traffic
    only enters or only leaves there, "inbound" or "outbound": "Olympic-daero (west end,
    inbound)".

    Names that are still shared by several nodes (the two carriageways of a divided road cross
    a street at two nodes) get the compass point of each node from their group's centre:
    "Olympic-ro × Yangjae-daero (north)"; those that share even that are numbered west to
    east, "(north, 1 of 2)".

Road segments (``links.name``, ``links.street``)
    - on a street: the street and its nearest cross streets in the direction of travel,
      "Olympic-ro, Jamsil-ro to Wiryeseong-daero". A cross street is another street at the
      segment's end node; where there is none, the search goes on along the same street for up
      to :data:`CROSS_HOPS` nodes. With one cross street found (or the same at both ends):
      "Olympic-ro near Jamsil-ro"; with none: "Olympic-ro near KSPO Dome" or the street alone;
    - not on a street: its kind and the streets at its ends, "Ramp from Olympic-daero to
      Olympic-ro", "Side street off Ogeum-ro", else "Service road near KSPO Dome" (the streets
      are searched along the unnamed road too, up to :data:`CROSS_HOPS` nodes). Its
      ``street`` is that same description, so every link has a street to group alerts by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from twin.io.osm.roadclass import ROAD_CLASSES

NEAR_M = 400.0
"""Largest distance from a place to the facility it is named after, m."""
CROSS_HOPS = 6
"""How many nodes along its street a segment looks for a cross street at each end."""
COMPASS = ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east")
BASE_CLASSES = [h for h in ROAD_CLASSES if not h.endswith("_link")]
UNNAMED_KIND = {
    "service": "Service road",
    "residential": "Side street",
    "living_street": "Side street",
    "unclassified": "Local road",
}


@dataclass(frozen=True)
class Landmark:
    """A facility that places can be named after ("near KSPO Dome"), projected in metres."""

    name: str
    x_m: float
    y_m: float


@dataclass(frozen=True)
class PlaceNames:
    """One name per node, and a name and a street per link (rows of the network tables)."""

    nodes: list[str]
    links: list[str]
    streets: list[str]


def street_rank(highway: str) -> int:
    """Order of a road class for naming: lower is more important (a ramp after its class)."""
    base = highway.removesuffix("_link")
    index = BASE_CLASSES.index(base) if base in BASE_CLASSES else len(BASE_CLASSES)
    return 2 * index + (highway != base)


def ranked_streets(links: pd.DataFrame, n_nodes: int) -> list[list[str]]:
    """Per node, the distinct streets of the links that touch it, the main one first."""
    touching = pd.concat(
        [
            links[["from_node", "street", "highway"]].rename(columns={"from_node": "node"}),
            links[["to_node", "street", "highway"]].rename(columns={"to_node": "node"}),
        ]
    )
    touching = touching[touching["street"] != ""].assign(
        rank=[street_rank(h) for h in touching.loc[touching["street"] != "", "highway"]]
    )
    best = touching.groupby(["node", "street"], sort=True)["rank"].min().reset_index()
    best = best.sort_values(["node", "rank", "street"])
    out: list[list[str]] = [[] for _ in range(n_nodes)]
    for node, street in zip(best["node"], best["street"], strict=True):
        out[int(node)].append(street)
    return out


def place_names(
    nodes: pd.DataFrame,
    links: pd.DataFrame,
    own_names: Sequence[str],
    landmarks: Sequence[Landmark],
) -> PlaceNames:
    """Names of every node and link (rules in the module docstring).

    ``nodes`` needs ``x_m``, ``y_m``, ``is_gateway``; ``links`` needs ``from_node``,
    ``to_node``, ``street`` (English, "" where the way has no name), ``highway`` and a
    projected geometry; ``own_names`` is each node's English OSM name ("" if none).
    """
    places = _Places(nodes, links, landmarks)
    segments = [places.segment(i) for i in range(len(links))]
    streets = [street for street, _ in segments]
    node_names = [places.junction(v, own_names[v], streets) for v in range(len(nodes))]
    return PlaceNames(
        _disambiguate(node_names, places.xy_m), [name for _, name in segments], streets
    )


class _Places:
    """The lookups the naming rules share."""

    def __init__(
        self, nodes: pd.DataFrame, links: pd.DataFrame, landmarks: Sequence[Landmark]
    ) -> None:
        self.links = links
        self.xy_m = np.c_[nodes["x_m"].to_numpy(float), nodes["y_m"].to_numpy(float)]
        self.centre_m = self.xy_m.mean(axis=0)
        self.gateway = nodes["is_gateway"].to_numpy(bool)
        self.streets = ranked_streets(links, len(nodes))
        self.landmarks = list(landmarks)
        self.street_of = links["street"].tolist()
        self.from_node = links["from_node"].to_numpy(int)
        self.to_node = links["to_node"].to_numpy(int)
        self.leaving: list[list[int]] = [[] for _ in range(len(nodes))]
        self.entering: list[list[int]] = [[] for _ in range(len(nodes))]
        for i, (u, v) in enumerate(zip(self.from_node, self.to_node, strict=True)):
            self.leaving[u].append(i)
            self.entering[v].append(i)
        mid = shapely.line_interpolate_point(links.geometry.to_numpy(), 0.5, normalized=True)
        self.mid_m = np.c_[shapely.get_x(mid), shapely.get_y(mid)]

    def junction(self, node: int, own: str, link_streets: Sequence[str]) -> str:
        streets = self.streets[node]
        if len(streets) >= 2:
            return f"{streets[0]} × {streets[1]}"
        if own and (not streets or own != streets[0]):
            return f"{streets[0]} at {own}" if streets else own
        if self.gateway[node]:
            road = streets[0] if streets else self.main_link_street(node, link_streets)
            return f"{road} ({compass(self.xy_m[node] - self.centre_m)} end{self.bound(node)})"
        if streets:
            return self.along(node, streets[0])
        return self.main_link_street(node, link_streets)

    def along(self, node: int, street: str) -> str:
        """A node on one street: "S between A and B" (its nearest cross streets either way),
        "S near A", "S near <facility>" or the street alone."""
        ahead = {self.to_node[i] for i in self.leaving[node] if self.street_of[i] == street}
        behind = {self.from_node[i] for i in self.entering[node] if self.street_of[i] == street}
        found = {self.cross(n, street, backward=False, came_from=node) for n in ahead}
        found |= {self.cross(n, street, backward=True, came_from=node) for n in behind}
        ends = sorted(found - {""})
        if len(ends) >= 2:
            return f"{street} between {ends[0]} and {ends[1]}"
        near = ends[0] if ends else self.landmark_near(self.xy_m[node])
        return f"{street} near {near}" if near else street

    def bound(self, node: int) -> str:
        """The suffix of a road end: inbound where traffic only enters, outbound where it only
        leaves, none where it does both."""
        if not self.entering[node]:
            return ", inbound"
        return ", outbound" if not self.leaving[node] else ""

    def main_link_street(self, node: int, link_streets: Sequence[str]) -> str:
        """The street (or description) of the most important link at a node without a street."""
        touching = self.entering[node] + self.leaving[node]
        highway = self.links["highway"].to_numpy()
        best = min(touching, key=lambda i: (street_rank(str(highway[i])), i))
        return link_streets[best]

    def segment(self, link: int) -> tuple[str, str]:
        street = self.street_of[link]
        u, v = self.from_node[link], self.to_node[link]
        if not street:
            name = self.unnamed(link, u, v)
            return name, name
        start = self.cross(u, street, backward=True, came_from=v)
        end = self.cross(v, street, backward=False, came_from=u)
        if start and end and start != end:
            return street, f"{street}, {start} to {end}"
        if start or end:
            return street, f"{street} near {start or end}"
        near = self.landmark_near(self.mid_m[link])
        return street, f"{street} near {near}" if near else street

    def cross(self, node: int, street: str, *, backward: bool, came_from: int) -> str:
        """The nearest other street along ``street`` from ``node`` (against or with travel)."""
        seen = {came_from}
        for _ in range(CROSS_HOPS):
            others = [s for s in self.streets[node] if s != street]
            if others:
                return others[0]
            seen.add(node)
            ends = (
                [self.from_node[i] for i in self.entering[node] if self.street_of[i] == street]
                if backward
                else [self.to_node[i] for i in self.leaving[node] if self.street_of[i] == street]
            )
            ends = [n for n in ends if n not in seen]
            if not ends:
                return ""
            node = ends[0]
        return ""

    def unnamed(self, link: int, u: int, v: int) -> str:
        highway = str(self.links["highway"].iloc[link])
        kind = "Ramp" if highway.endswith("_link") else UNNAMED_KIND.get(highway, "Road")
        start = self.cross(u, "", backward=True, came_from=v)
        end = self.cross(v, "", backward=False, came_from=u)
        if start and end and start != end:
            return f"{kind} from {start} to {end}"
        if start or end:
            return f"{kind} off {start or end}"
        near = self.landmark_near(self.mid_m[link]) or self.street_near(self.mid_m[link])
        return f"{kind} near {near}"

    def landmark_near(self, point_m: np.ndarray) -> str:
        if not self.landmarks:
            return ""
        gaps = [math.hypot(m.x_m - point_m[0], m.y_m - point_m[1]) for m in self.landmarks]
        k = int(np.argmin(gaps))
        return self.landmarks[k].name if gaps[k] <= NEAR_M else ""

    def street_near(self, point_m: np.ndarray) -> str:
        named = [n for n in range(len(self.streets)) if self.streets[n]]
        if not named:
            return "the road network"
        gaps = np.hypot(*(self.xy_m[named] - point_m).T)
        return self.streets[named[int(np.argmin(gaps))]][0]


def compass(offset_m: np.ndarray) -> str:
    """The 8-point compass direction of an (east, north) offset: "north", "south-west"..."""
    angle = math.degrees(math.atan2(float(offset_m[1]), float(offset_m[0])))
    return COMPASS[round(angle / 45.0) % 8]


def _disambiguate(names: list[str], xy_m: np.ndarray) -> list[str]:
    """Add the compass point from their group's centre to names several nodes share, then
    "1 of 3", "2 of 3"... (west to east) to those that still share one."""
    return _number(_by_compass(names, xy_m), xy_m)


def _groups(names: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for node, name in enumerate(names):
        groups.setdefault(name, []).append(node)
    return {name: members for name, members in groups.items() if len(members) > 1}


def _qualified(name: str, qualifier: str) -> str:
    return f"{name[:-1]}, {qualifier})" if name.endswith(")") else f"{name} ({qualifier})"


def _number(names: list[str], xy_m: np.ndarray) -> list[str]:
    out = list(names)
    for name, members in _groups(names).items():
        ordered = sorted(members, key=lambda node: (xy_m[node][0], xy_m[node][1]))
        for k, node in enumerate(ordered):
            out[node] = _qualified(name, f"{k + 1} of {len(ordered)}")
    return out


def _by_compass(names: list[str], xy_m: np.ndarray) -> list[str]:
    out = list(names)
    for name, members in _groups(names).items():
        centre = xy_m[members].mean(axis=0)
        for node in members:
            out[node] = _qualified(name, compass(xy_m[node] - centre))
    return out
