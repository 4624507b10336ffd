"""Traffic defaults per OSM ``highway`` class and parsers for the tags that override them.

Each drivable class gets a :class:`RoadClassDefaults`: lanes per direction, free speed, capacity
per lane and jam density per lane, i.e. the three parameters of the triangular fundamental
diagram used by the cell transmission model plus the cross-section. OSM tags win over the
defaults: ``lanes`` (and ``lanes:forward`` / ``lanes:backward``), ``maxspeed`` and ``oneway``.

Sources of the defaults
-----------------------
Capacity (veh/h/lane; passenger-car units, heavy vehicles are not modelled separately):

- ``motorway`` 2,300: HCM 6th ed. (TRB 2016) ch. 12, basic freeway segment capacity
  2,200 + 10 (FFS - 50 mi/h) pc/h/ln, between 2,200 and 2,400; FFS 100 km/h (62 mi/h) -> 2,320.
- ``trunk`` 2,000: HCM 6th ed. ch. 12, multilane highway capacity 1,900 + 20 (FFS - 45 mi/h)
  pc/h/ln; FFS 80 km/h (50 mi/h) -> 2,000. Seoul's trunks are urban expressways
  (e.g. Olympic-daero) with closely spaced ramps, so the multilane value, not the freeway one.
- ``primary`` 1,900: HCM 6th ed. ch. 19, base saturation flow rate of a signalised approach,
  1,900 pc/h/ln (urban areas of 250,000 people or more).
- ``secondary`` 1,800, ``tertiary`` 1,700, ``unclassified`` 1,500, ``residential`` 1,200,
  ``living_street`` 600, ``service`` 800: the HCM base 1,900 reduced for narrower lanes,
  parking, bus stops and side friction (HCM ch. 19 adjustment factors). These are this
  project's assumptions, not measured values.
- ``*_link``: ``motorway_link`` and ``trunk_link`` take the HCM 6th ed. ch. 14 capacity of a
  single-lane ramp roadway with a free speed of 30-40 mi/h, 2,000 pc/h/ln; the other links
  take their parent class's value (slip lanes at a junction).

Free speed (km/h):

- Urban roads 50: Korea's "Safe Speed 5030" (안전속도 5030) policy, Road Traffic Act
  Enforcement Rule art. 19, in force nationwide since 17 April 2021: 50 km/h on urban
  arterials, 30 km/h on residential and school-zone streets.
- ``trunk`` 80: Seoul urban expressways (Olympic-daero, Gangbyeon-buk-ro) are signed 80 km/h and
  were exempted from 5030.
- ``motorway`` 100: Enforcement Rule art. 19, expressways with two or more lanes per direction.
- ``living_street`` and ``service`` 20: pedestrian-priority streets (보행자우선도로, Road
  Traffic Act amendment of 2022) may be limited to 20 km/h; used for service roads as well.
- Ramps 60 (``motorway_link``) or 50 (other links).

Lanes per direction: typical Seoul cross-sections (assumption, overridden by ``lanes`` tags):
3 motorway, 2 trunk, 3 primary, 2 secondary, 1 tertiary and below, 1 on every link.

Jam density 150 veh/km/lane for every class: one stopped vehicle per 6.7 m of lane (a 4.7 m
car plus a 2 m gap).

Tag parsing
-----------
- ``lanes``: the total over both directions. One-way: all lanes in the direction of travel.
  Two-way: ``lanes:forward`` / ``lanes:backward`` when tagged (with ``lanes``, a missing one
  gets the rest), else ``max(1, lanes // 2)`` per direction. ``"2;3"`` (OSM multi-value)
  takes the first value.
- ``maxspeed``: ``"50"``, ``"50 km/h"``, ``"50 kmh"``, ``"30 mph"``. Anything else
  (``"KR:urban"``, ``"none"``, ``"signals"``) is not understood: the class default is used.
- ``oneway``: ``yes``/``true``/``1`` (forward), ``-1``/``reverse`` (against the way's node
  order), ``no``/``false``/``0`` (two-way). Without a tag, ``motorway``, ``motorway_link`` and
  ``junction=roundabout``/``circular`` are one-way (OSM implied oneway), all else two-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

KPH_PER_MPH = 1.609344
STOPPED_VEHICLE_SPACING_M = 6.7
JAM_DENSITY_VPKM = 150.0  # 1000 / 6.7 = 149.3, rounded

Oneway = Literal["forward", "reverse", "no"]


@dataclass(frozen=True)
class RoadClassDefaults:
    """Default traffic parameters of one OSM ``highway`` class.

    Attributes
    ----------
    highway
        The OSM ``highway`` value.
    lanes
        Lanes per direction.
    free_speed_kph
        Free-flow speed in km/h.
    capacity_vphpl
        Capacity in vehicles per hour per lane.
    jam_density_vpkm
        Jam density in vehicles per km per lane.
    oneway_implied
        True when OSM implies ``oneway=yes`` for the class.
    """

    highway: str
    lanes: int
    free_speed_kph: float
    capacity_vphpl: float
    jam_density_vpkm: float = JAM_DENSITY_VPKM
    oneway_implied: bool = False

    def __post_init__(self) -> None:
        if not self.highway:
            raise ValueError("'highway' should be a non-empty OSM highway value")
        if int(self.lanes) != self.lanes or self.lanes < 1:
            raise ValueError(f"'lanes' should be a whole number >= 1, got {self.lanes!r}")
        for name in ("free_speed_kph", "capacity_vphpl", "jam_density_vpkm"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name!r} should be > 0, got {value!r}")
        # the triangular diagram needs a positive backward wave speed
        critical_density_vpkm = self.capacity_vphpl / self.free_speed_kph
        if critical_density_vpkm >= self.jam_density_vpkm:
            raise ValueError(
                f"{self.highway}: capacity_vphpl / free_speed_kph = {critical_density_vpkm:.1f} "
                f"veh/km/lane should be below jam_density_vpkm = {self.jam_density_vpkm}"
            )


def _defaults(*rows: tuple[str, int, float, float, bool]) -> dict[str, RoadClassDefaults]:
    return {
        highway: RoadClassDefaults(highway, lanes, speed, capacity, oneway_implied=implied)
        for highway, lanes, speed, capacity, implied in rows
    }


# highway, lanes per direction, free speed km/h, capacity veh/h/lane, implied one-way;
# sources in the module docstring
ROAD_CLASSES: dict[str, RoadClassDefaults] = _defaults(
    ("motorway", 3, 100.0, 2300.0, True),
    ("motorway_link", 1, 60.0, 2000.0, True),
    ("trunk", 2, 80.0, 2000.0, False),
    ("trunk_link", 1, 50.0, 2000.0, False),
    ("primary", 3, 50.0, 1900.0, False),
    ("primary_link", 1, 50.0, 1900.0, False),
    ("secondary", 2, 50.0, 1800.0, False),
    ("secondary_link", 1, 50.0, 1800.0, False),
    ("tertiary", 1, 50.0, 1700.0, False),
    ("tertiary_link", 1, 50.0, 1700.0, False),
    ("unclassified", 1, 50.0, 1500.0, False),
    ("residential", 1, 30.0, 1200.0, False),
    ("living_street", 1, 20.0, 600.0, False),
    ("service", 1, 20.0, 800.0, False),
)

# classes whose junctions the signal-guessing rule treats as major (see twin.io.osm.junctions)
MAJOR_CLASSES = frozenset({"trunk", "primary", "secondary"})
# classes that can carry a boundary gateway (see twin.io.osm.importer)
GATEWAY_CLASSES = frozenset(
    {
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "motorway",
        "motorway_link",
    }
)

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_ONEWAY = {
    "yes": "forward",
    "true": "forward",
    "1": "forward",
    "-1": "reverse",
    "reverse": "reverse",
    "no": "no",
    "false": "no",
    "0": "no",
}


def road_class(highway: str) -> RoadClassDefaults:
    """Return the defaults of an OSM ``highway`` class.

    Parameters
    ----------
    highway
        OSM ``highway`` value, e.g. ``"primary"``.

    Returns
    -------
    defaults
    """
    if highway not in ROAD_CLASSES:
        raise ValueError(
            f"'highway' should be one of the drivable classes {sorted(ROAD_CLASSES)}, "
            f"got {highway!r}"
        )
    return ROAD_CLASSES[highway]


def parse_lanes(value: str | None) -> int | None:
    """Parse an OSM ``lanes`` value; None when absent or not understood.

    ``"4"`` -> 4, ``"2;3"`` -> 2 (first of several), ``"2.5"`` -> 2, ``"0"`` or ``"many"`` -> None.
    """
    if value is None:
        return None
    match = _NUMBER.match(str(value).split(";")[0])
    if match is None or match.group(2) is not None:
        return None
    lanes = int(float(match.group(1)))
    return lanes if lanes >= 1 else None


def parse_maxspeed_kph(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h; None when absent or not understood.

    ``"50"`` and ``"50 km/h"`` -> 50.0; ``"30 mph"`` -> 48.28; ``"KR:urban"`` -> None.
    """
    if value is None:
        return None
    match = _NUMBER.match(str(value).split(";")[0])
    if match is None:
        return None
    speed = float(match.group(1))
    if (match.group(2) or "").lower() == "mph":
        speed *= KPH_PER_MPH
    return round(speed, 2) if speed > 0 else None


def parse_oneway(
    value: str | None, *, highway: str = "", junction: str | None = None
) -> Oneway | None:
    """Direction of travel allowed by an OSM ``oneway`` tag.

    Parameters
    ----------
    value
        The ``oneway`` tag value, or None when absent.
    highway
        The way's ``highway`` class, for the implied one-way of motorways.
    junction
        The way's ``junction`` tag; roundabouts are implied one-way.

    Returns
    -------
    oneway
        ``"forward"``, ``"reverse"``, ``"no"``, or None when a tag is present but not
        understood (e.g. ``"alternating"``); callers then treat the way as two-way.
    """
    if value is not None:
        return _ONEWAY.get(str(value).strip().lower())  # type: ignore[return-value]
    implied = highway in ROAD_CLASSES and ROAD_CLASSES[highway].oneway_implied
    if implied or junction in {"roundabout", "circular"}:
        return "forward"
    return "no"


@dataclass(frozen=True)
class WayTraffic:
    """Traffic attributes of one OSM way, per direction of its node order.

    ``*_fwd`` follow the way's node order, ``*_bwd`` the opposite; a one-way way has 0 lanes
    against its direction of travel (``lanes_bwd == 0`` for ``oneway="forward"``,
    ``lanes_fwd == 0`` for ``oneway="reverse"``). The ``*_default`` flags say which tags were
    absent, the ``*_unparsed`` flags which were present but not understood.
    """

    highway: str
    oneway: Oneway
    lanes_fwd: int
    lanes_bwd: int
    free_speed_kph: float
    capacity_vphpl: float
    jam_density_vpkm: float
    lanes_default: bool
    maxspeed_default: bool
    lanes_unparsed: bool
    maxspeed_unparsed: bool
    oneway_unparsed: bool


def way_traffic(tags: dict[str, str]) -> WayTraffic:
    """Resolve a way's tags against its class defaults (tags win).

    Parameters
    ----------
    tags
        The way's OSM tags; must hold a drivable ``highway`` value.

    Returns
    -------
    traffic
    """
    defaults = road_class(tags.get("highway", ""))
    oneway = parse_oneway(
        tags.get("oneway"), highway=defaults.highway, junction=tags.get("junction")
    )
    lanes_fwd, lanes_bwd, lanes_default = _direction_lanes(tags, oneway or "no", defaults.lanes)
    if oneway == "reverse":
        lanes_fwd, lanes_bwd = lanes_bwd, lanes_fwd
    speed = parse_maxspeed_kph(tags.get("maxspeed"))
    return WayTraffic(
        highway=defaults.highway,
        oneway=oneway or "no",
        lanes_fwd=lanes_fwd,
        lanes_bwd=lanes_bwd,
        free_speed_kph=speed if speed is not None else defaults.free_speed_kph,
        capacity_vphpl=defaults.capacity_vphpl,
        jam_density_vpkm=defaults.jam_density_vpkm,
        lanes_default=lanes_default,
        maxspeed_default=speed is None,
        lanes_unparsed="lanes" in tags and parse_lanes(tags["lanes"]) is None,
        maxspeed_unparsed="maxspeed" in tags and speed is None,
        oneway_unparsed="oneway" in tags and oneway is None,
    )


def _direction_lanes(tags: dict[str, str], oneway: Oneway, default: int) -> tuple[int, int, bool]:
    """Lanes in the travel direction(s) and whether the class default was used.

    One-way: ``(lanes, 0)`` in the direction of travel. Two-way: ``(forward, backward)``.
    """
    total = parse_lanes(tags.get("lanes"))
    if oneway != "no":
        return (total, 0, False) if total is not None else (default, 0, True)
    forward = parse_lanes(tags.get("lanes:forward"))
    backward = parse_lanes(tags.get("lanes:backward"))
    if total is not None:
        fwd = forward if forward is not None else _remainder(total, backward)
        bwd = backward if backward is not None else _remainder(total, forward)
        return fwd, bwd, False
    if forward is None and backward is None:
        return default, default, True
    return forward or default, backward or default, False


def _remainder(total: int, other: int | None) -> int:
    """Lanes of one direction given the total and, maybe, the other direction's lanes."""
    if other is not None and total > other:
        return total - other
    return max(1, total // 2)
