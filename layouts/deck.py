"""The map: deck.gl specs built with pydeck, and the per-feature values of each refresh.

Geometry goes to the browser once, in :func:`deck_spec`: the rows of every static layer travel
in ``spec["data"]`` and the layers refer to them by name (``"@@#VT.<key>"``, resolved by the
bridge in ``assets/deck_bridge.js``). Layers that share geometry share rows: base roads, live
and predicted congestion and corridors all draw the link rows, each reading its own fields.

Layers listed in :data:`SUBSETS` draw the shared rows whose value makes them abnormal (the
bridge filters them), so a quiet network costs no drawing. Each refresh sends only values
(:func:`layer_values`, :func:`encode_update`): per layer, a few
channels of small integers, base64-packed; the bridge writes them into the rows through the
channel's palette, labels or scale and bumps the layer's ``updateTriggers``. Layers whose
values did not change since the page's last refresh are left out (digests).
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pydeck as pdk
from pydeck.types import String

from layouts import theme
from layouts.labels import label_offsets
from twin.service.live import view_extra

COORD_DECIMALS = 5  # about 1 m
DIRECTION_OFFSET_M = 5.0  # two-way roads: each direction drawn this far right of the centre line
ODBL = "© OpenStreetMap contributors · ODbL"
LABEL_FONT = "Inter, 'DejaVu Sans', 'Noto Sans CJK KR', NanumGothic, sans-serif"
LABEL_SIZE_PX = 14
LABEL_WEIGHT = 600
PREDICTED_GAP_PX = 2.0
"""Gap between the live congestion line and the predicted line drawn beside it (pixels)."""

TOGGLES: dict[str, tuple[str, ...]] = {
    "base": ("areas", "buildings", "roads"),
    "congestion": ("congestion",),
    "predicted": ("predicted",),
    "crowd": ("crowd",),
    "venues": ("venues", "venue-leaders", "venue-labels"),
    "checkpoints": ("checkpoints",),
    "signals": ("signals",),
    "hospitals": ("hospitals", "hospital-labels"),
    "ambulances": ("corridors", "ambulances"),
}
"""Layer toggles shown to the operator and the deck layers each controls."""
TOGGLE_LABELS = {
    "base": "Base map",
    "congestion": "Live congestion",
    "predicted": "Predicted congestion",
    "crowd": "Crowd density",
    "venues": "Venues",
    "checkpoints": "Checkpoints",
    "signals": "Signals",
    "hospitals": "Hospitals",
    "ambulances": "Ambulances",
}
DEFAULT_TOGGLES = (
    "base",
    "congestion",
    "crowd",
    "venues",
    "checkpoints",
    "signals",
    "hospitals",
    "ambulances",
)
CLICK_KINDS = {
    "roads": "road",
    "congestion": "road",
    "predicted": "road",
    "signals": "junction",
    "venues": "venue",
    "checkpoints": "checkpoint",
}


# ------------------------------------------------------------------ static scene
@dataclass(frozen=True)
class Scene:
    """Static map data of a scenario, as plain rows and arrays (built once per app)."""

    name: str
    links: list[dict[str, Any]]
    signal_nodes: npt.NDArray[np.int64]
    signals: list[dict[str, Any]]
    buildings: list[dict[str, Any]]
    areas: list[dict[str, Any]]
    venues: list[dict[str, Any]]
    venue_ids: tuple[str, ...]
    hospitals: list[dict[str, Any]]
    link_paths: tuple[npt.NDArray[np.float64], ...]
    link_length_m: npt.NDArray[np.float64]
    crowd: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    view: dict[str, float]
    bounds: tuple[float, float, float, float]
    attribution: str


def _round(coords: Any) -> list[list[float]]:
    return np.round(np.asarray(coords, dtype=float)[:, :2], COORD_DECIMALS).tolist()


def _road_class(highway: Any) -> str:
    name = str(highway or "").replace("_link", "")
    return name if name in theme.ROAD_RGBA else "other"


def _offset_paths(links: Any, crs_m: str | None) -> list[Any]:
    """Link geometries, two-way roads shifted right of their direction of travel."""
    geoms = list(links.geometry)
    if not crs_m or "reverse_link_id" not in links:
        return geoms
    two_way = np.asarray(links["reverse_link_id"]) >= 0
    metric = links.geometry.to_crs(crs_m)
    shifted = metric.where(~two_way, metric.offset_curve(-DIRECTION_OFFSET_M))
    shifted = shifted.where(~shifted.is_empty & shifted.geom_type.eq("LineString"), metric)
    return list(shifted.to_crs(links.crs))


def build_scene(scenario: Any, *, pedestrians: Any = None) -> Scene:
    """Static rows for every layer from a loaded scenario (GeoDataFrames in EPSG:4326) and,
    when it has venues, the engine's pedestrian layout (crowd cells, checkpoints)."""
    links = scenario.links
    if "geometry" not in links:
        raise ValueError(
            "scenario.links has no geometry: the map needs a scenario loaded from a folder"
        )
    paths = _offset_paths(links, scenario.params.get("crs_m"))
    names = links["name"].fillna("").astype(str) if "name" in links else [""] * len(links)
    classes = [
        _road_class(h) for h in (links["highway"] if "highway" in links else [""] * len(links))
    ]
    lanes = np.asarray(links["lanes"], dtype=int)
    link_rows, link_paths = [], []
    for i, (geom, name, cls) in enumerate(zip(paths, names, classes, strict=True)):
        coords = np.asarray(geom.coords)
        link_paths.append(coords[:, :2])
        link_rows.append(
            {
                "path": _round(coords),
                "i": i,
                "n": name if name and name != "None" else f"Road {i}",
                "h": cls,
                "l": int(lanes[i]),
                "bc": list(theme.ROAD_RGBA[cls]),
                "bw": theme.ROAD_WIDTH_PX[cls],
                "w": float(min(2.0 + 1.5 * lanes[i], 9.0)),
                "pw": float(min(1.0 + 1.0 * lanes[i], 6.0)),
            }
        )
    nodes = scenario.nodes
    signalised = (
        np.asarray(nodes["signalised"], dtype=bool)
        if "signalised" in nodes
        else np.zeros(len(nodes), bool)
    )
    signal_nodes = np.flatnonzero(signalised)
    if len(scenario.signals):
        signal_nodes = np.asarray(
            sorted(set(scenario.signals["node_id"].astype(int))), dtype=np.int64
        )
    node_xy = np.column_stack([nodes.geometry.x, nodes.geometry.y])
    signals = [
        {
            "position": _round(node_xy[[n]])[0],
            "i": int(n),
            "n": str(nodes["name"].iloc[n])
            if "name" in nodes and nodes["name"].iloc[n]
            else f"Junction {n}",
        }
        for n in signal_nodes
    ]
    venues, venue_ids, hospitals = _facilities(scenario.facilities)
    west, south, east, north = links.total_bounds
    view = fit_view(west, south, east, north)
    for venue, offset in zip(
        venues,
        label_offsets(
            [v["position"] for v in venues],
            [v["n"] for v in venues],
            view["zoom"],
            priority=[v["cap"] for v in venues],
        ),
        strict=True,
    ):
        venue["lo"] = offset
    return Scene(
        name=scenario.name,
        links=link_rows,
        signal_nodes=signal_nodes,
        signals=signals,
        buildings=_polygons(scenario.buildings),
        areas=_areas(scenario.areas),
        venues=venues,
        venue_ids=venue_ids,
        hospitals=hospitals,
        link_paths=tuple(link_paths),
        link_length_m=np.asarray(links["length_m"], dtype=float),
        crowd=_crowd_rows(pedestrians),
        checkpoints=_checkpoint_rows(scenario, pedestrians),
        view=view,
        bounds=(float(west), float(south), float(east), float(north)),
        attribution=ODBL
        if "openstreetmap" in (scenario.attribution or "").lower() or not scenario.attribution
        else scenario.attribution.splitlines()[0],
    )


def _crowd_rows(pedestrians: Any) -> list[dict[str, Any]]:
    if pedestrians is None:
        return []
    return [
        {"position": p} for p in np.round(pedestrians.cell_centre_lonlat, COORD_DECIMALS).tolist()
    ]


def _checkpoint_rows(scenario: Any, pedestrians: Any) -> list[dict[str, Any]]:
    if pedestrians is None or not pedestrians.specs:
        return []
    from twin.io.geometry import m_to_lonlat

    specs = pedestrians.specs
    lonlat = m_to_lonlat(
        scenario, np.array([s.x_m for s in specs]), np.array([s.y_m for s in specs])
    )
    return [
        {"position": np.round(lonlat[k], COORD_DECIMALS).tolist(), "i": k, "n": spec.name}
        for k, spec in enumerate(specs)
    ]


def fit_view(
    west: float,
    south: float,
    east: float,
    north: float,
    *,
    width_px: int = 1500,
    height_px: int = 900,
) -> dict[str, float]:
    """Centre and zoom (Web Mercator) that fit a lon/lat box into ``width_px`` x ``height_px``."""
    lon_span = max(east - west, 1e-6)

    def y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    lat_span = max(abs(y(north) - y(south)), 1e-9)
    zoom = min(
        math.log2(width_px * 360 / (512 * lon_span)),  # deck.gl: 512 px world at zoom 0
        math.log2(height_px * 2 * math.pi / (512 * lat_span)),
    )
    return {
        "longitude": float(west + east) / 2,
        "latitude": float(south + north) / 2,
        "zoom": round(float(zoom), 2),
        "pitch": 0,
        "bearing": 0,
    }


def _polygons(frame: Any) -> list[dict[str, Any]]:
    if frame is None or len(frame) == 0:
        return []
    rows = []
    for geom in frame.geometry:
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "Polygon":
                rows.append({"polygon": _round(part.exterior.coords)})
    return rows


def _areas(frame: Any) -> list[dict[str, Any]]:
    if frame is None or len(frame) == 0:
        return []
    text = frame.drop(columns="geometry").astype(str).agg(" ".join, axis=1).str.lower()
    rows = []
    for geom, words in zip(frame.geometry, text, strict=True):
        colour = (
            theme.WATER_RGBA
            if "water" in words or "river" in words
            else theme.PARK_RGBA
            if any(w in words for w in ("park", "grass", "forest", "wood", "garden"))
            else theme.AREA_RGBA
        )
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "Polygon":
                rows.append({"polygon": _round(part.exterior.coords), "c": list(colour)})
    return rows


def _facilities(frame: Any) -> tuple[list[dict], tuple[str, ...], list[dict]]:
    if frame is None or len(frame) == 0 or "kind" not in frame:
        return [], (), []
    name_col = "name_en" if "name_en" in frame else "name" if "name" in frame else None
    venues, venue_ids, hospitals = [], [], []
    for _, row in frame.iterrows():
        point = row.geometry.centroid if row.geometry is not None else None
        if point is None:
            continue
        name = str(row[name_col]) if name_col else str(row.get("id", ""))
        entry = {
            "position": [round(point.x, COORD_DECIMALS), round(point.y, COORD_DECIMALS)],
            "n": name.split(" (")[0],
        }
        if row["kind"] == "venue":
            capacity = pd_number(row.get("capacity"))
            entry.update(
                i=len(venues),
                cap=int(capacity) if capacity else 0,
                r=float(40 + 25 * math.sqrt((capacity or 2000) / 2000)),
                c=list(theme.NORMAL_RGBA),
                lc=list(theme.LABEL_RGBA),
            )
            venues.append(entry)
            venue_ids.append(str(row.get("id", name)))
        elif row["kind"] == "hospital":
            entry.update(i=len(hospitals))
            hospitals.append(entry)
    return venues, tuple(venue_ids), hospitals


def pd_number(value: Any) -> float | None:
    """``value`` as a float, or ``None`` for missing / non-numeric values."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# ------------------------------------------------------------------ the spec
def _ref(key: str) -> String:
    return String(f"@@#VT.{key}")


def _layers(scene: Scene) -> list[pdk.Layer]:
    path = {
        "get_path": "path",
        "width_units": String("pixels"),
        "cap_rounded": True,
        "joint_rounded": True,
    }
    dot = {"radius_units": String("pixels"), "stroked": True, "line_width_units": String("pixels")}
    text = {
        "get_position": "position",
        "get_text": "n",
        "get_size": LABEL_SIZE_PX,
        "size_units": String("pixels"),
        "get_color": "lc",
        "font_family": String(LABEL_FONT),
        "get_text_anchor": String("middle"),
        "get_alignment_baseline": String("top"),
        "get_pixel_offset": "lo",
        "font_weight": LABEL_WEIGHT,
    }  # the bridge places the names for the view (assets/map_labels.js); "lo" is a first guess
    return [
        pdk.Layer(
            "PolygonLayer",
            id="areas",
            data=_ref("areas"),
            get_polygon="polygon",
            get_fill_color="c",
            stroked=False,
        ),
        pdk.Layer(
            "PolygonLayer",
            id="buildings",
            data=_ref("buildings"),
            get_polygon="polygon",
            get_fill_color=list(theme.BUILDING_RGBA),
            stroked=False,
        ),
        pdk.Layer(
            "PathLayer",
            id="roads",
            data=_ref("links"),
            get_color="bc",
            get_width="bw",
            pickable=True,
            **path,
        ),
        pdk.Layer(
            "HeatmapLayer",
            id="crowd",
            data=_ref("crowd"),
            get_position="position",
            get_weight="h",
            radius_pixels=40,
            aggregation=String("MEAN"),
            color_domain=[0, 6],
            color_range=[list(c) for c in theme.HEAT_RANGE],
            opacity=0.55,
        ),
        pdk.Layer(
            "PathLayer",
            id="congestion",
            data=_ref("congestion"),
            get_color="c",
            get_width="w",
            pickable=True,
            **path,
        ),
        pdk.Layer(
            "PathLayer",
            id="predicted",
            data=_ref("predicted"),
            get_color="p",
            get_width="pw",
            pickable=True,
            visible=False,
            **{**path, "get_path": "pp"},  # beside the live line (SUBSETS["predicted"])
        ),
        pdk.Layer(
            "PathLayer",
            id="whatif",
            data=_ref("whatif"),
            get_color="d",
            get_width=8,
            pickable=False,
            **path,
        ),
        pdk.Layer(
            "PathLayer",
            id="route",
            data=_ref("route"),
            get_color=list(theme.INFO_RGBA),
            get_width=7,
            pickable=False,
            **path,
        ),
        pdk.Layer(
            "PathLayer",
            id="corridors",
            data=_ref("corridors"),
            get_color="k",
            get_width=10,
            pickable=False,
            **path,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="signals",
            data=_ref("signals"),
            get_position="position",
            get_fill_color="c",
            get_line_color=[17, 21, 27, 255],
            get_radius=5,
            line_width_min_pixels=1,
            pickable=True,
            **dot,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="venues",
            data=_ref("venues"),
            get_position="position",
            get_fill_color="c",
            get_line_color=[200, 208, 218, 220],
            get_radius="r",
            radius_units=String("meters"),
            radius_min_pixels=8,
            line_width_min_pixels=2,
            stroked=True,
            opacity=0.35,
            pickable=True,
        ),
        pdk.Layer(
            "LineLayer",
            id="venue-leaders",
            data=_ref("venue_leaders"),
            get_source_position="s",
            get_target_position="t",
            get_color=list(theme.LABEL_RGBA[:3]) + [150],
            get_width=1,
            width_units=String("pixels"),
        ),  # from a marker to its name when the name sits a line or two away
        pdk.Layer("TextLayer", id="venue-labels", data=_ref("venues"), **text),
        pdk.Layer(
            "ScatterplotLayer",
            id="checkpoints",
            data=_ref("checkpoints"),
            get_position="position",
            get_fill_color="c",
            get_line_color=[220, 226, 234, 255],
            get_radius=7,
            line_width_min_pixels=2,
            pickable=True,
            **dot,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="hospitals",
            data=_ref("hospitals"),
            get_position="position",
            get_fill_color=[17, 21, 27, 255],
            get_line_color=list(theme.HOSPITAL_RGBA),
            get_radius=11,
            line_width_min_pixels=2,
            pickable=True,
            **dot,
        ),
        pdk.Layer(
            "TextLayer",
            id="hospital-labels",
            data=_ref("hospitals"),
            get_position="position",
            get_text=String("@@='H'"),
            get_size=14,
            size_units=String("pixels"),
            get_color=list(theme.HOSPITAL_RGBA),
            font_weight=700,
            font_family=String(LABEL_FONT),
            get_text_anchor=String("middle"),
            get_alignment_baseline=String("center"),
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="ambulances",
            data=_ref("ambulances"),
            get_position="position",
            get_fill_color=list(theme.INFO_RGBA),
            get_line_color=[255, 255, 255, 255],
            get_radius=9,
            line_width_min_pixels=2,
            pickable=True,
            **dot,
        ),
    ]


def _u8(name: str, *sets: dict[str, Any], dtype: str = "u8") -> dict[str, Any]:
    return {"name": name, "dtype": dtype, "set": list(sets)}


def _palette(field: str, colours: Any) -> dict[str, Any]:
    return {"field": field, "palette": [list(c) for c in colours]}


def _labels(field: str, labels: Any) -> dict[str, Any]:
    return {"field": field, "labels": list(labels)}


def _scale(field: str, scale: float = 1.0, digits: int = 0) -> dict[str, Any]:
    return {"field": field, "scale": scale, "digits": digits}


LOS_LABELS = theme.LOS_LETTERS
DELTA_RGBA = (
    (0, 0, 0, 0),
    (46, 160, 67, 240),
    (126, 231, 135, 200),
    (240, 140, 46, 200),
    (229, 72, 77, 240),
)
"""What-if preview colours: unchanged (transparent), much less / less / more / much more delay."""
DELTA_STEPS_VEH = (0.5, 2.0)
"""Change in delayed vehicles on a road from which it counts as changed, and as much changed."""
PHASE_LABELS = ("all-red", *(f"{k}" for k in range(1, len(theme.PHASE_RGBA))))
BAND_LABELS = ("normal", "advisory", "warning", "critical")

CHANNELS: dict[str, list[dict[str, Any]]] = {
    "congestion": [
        _u8("los", _palette("c", theme.LOS_RGBA), _labels("L", LOS_LABELS)),
        _u8("s", _scale("s")),
        _u8("f", _scale("f"), dtype="u16"),
        _u8("q", _scale("q"), dtype="u16"),
    ],
    "predicted": [
        _u8("los", _palette("p", theme.PREDICTED_LOS_RGBA), _labels("PL", LOS_LABELS)),
        _u8("s", _scale("ps")),
    ],
    "corridors": [_u8("k", _palette("k", ((0, 0, 0, 0), theme.INFO_RGBA)))],
    "whatif": [_u8("d", _palette("d", DELTA_RGBA))],
    "signals": [_u8("phase", _palette("c", theme.PHASE_RGBA), _labels("ph", PHASE_LABELS))],
    "venues": [
        _u8("band", _palette("c", theme.BAND_RGBA)),
        _u8("o", _scale("o"), dtype="u16"),
        _u8("pct", _scale("pct"), dtype="u16"),
    ],
    "crowd": [_u8("h", _scale("h", 6.0 / 255, 2))],
    "checkpoints": [
        _u8("band", _palette("c", theme.BAND_RGBA)),
        _u8("wait", _scale("wait"), dtype="u16"),
        _u8("queue", _scale("queue"), dtype="u16"),
        _u8("lanes", _scale("lanes")),
    ],
}
"""Per layer, the value channels a refresh may carry, and how the bridge applies each."""

SUBSETS = {
    "congestion": {"source": "links", "field": "c", "highlight": "roads"},
    "predicted": {
        "source": "links",
        "field": "p",
        "highlight": "roads",
        "offsetPath": {
            "into": "pp",
            "besideWidth": "w",
            "ownWidth": "pw",
            "gapPx": PREDICTED_GAP_PX,
        },
    },
    "corridors": {"source": "links", "field": "k", "highlight": "roads"},
    "whatif": {"source": "links", "field": "d", "highlight": "roads"},
    "crowd": {"source": "crowd_cells", "field": "h", "min": 0.3},
}
"""Layers that draw only the rows of ``source`` whose colour ``field`` is not transparent (or
whose value is at least ``min``): the bridge derives them from the shared rows, so abnormal
roads cost no geometry on the wire and normal roads and empty crowd cells no drawing.
``offsetPath``: the bridge draws the subset on a parallel copy of each path, to the right of
the direction of travel by half the two lines' widths plus a gap (pixels at the current zoom),
so predicted congestion runs beside the live line instead of under it."""

TOOLTIPS = {
    "roads": "<b>{n}</b> · {h} · {l} lane(s)<br>LOS {L} · {s} km/h · {f} veh/h · queue {q} m",
    "congestion": "<b>{n}</b> · {h} · {l} lane(s)<br>LOS {L} · {s} km/h · {f} veh/h · queue {q} m",
    "predicted": "<b>{n}</b><br>predicted LOS {PL} · {ps} km/h",
    "signals": "<b>{n}</b><br>signal phase {ph}",
    "venues": "<b>{n}</b><br>{o} on site of {cap} seats ({pct} %)",
    "checkpoints": "<b>{n}</b><br>wait {wait} min · queue {queue} · lanes {lanes}",
    "hospitals": "<b>{n}</b><br>hospital",
    "ambulances": "<b>{n}</b><br>to {dest} · ETA {eta}",
    "crowd": None,
}


def deck_spec(scene: Scene) -> dict[str, Any]:
    """Everything the bridge needs to create the deck once: the pydeck JSON, the rows of every
    static layer (geometry, sent once), per-layer channels, tooltips, click kinds, toggles."""
    deck = pdk.Deck(
        layers=_layers(scene),
        initial_view_state=pdk.ViewState(**scene.view),
        views=[pdk.View("MapView", controller=True)],
        map_provider=None,
        map_style=None,
    )
    deck_json = json.loads(deck.to_json())
    deck_json["parameters"] = {"clearColor": [17 / 255, 21 / 255, 27 / 255, 1]}
    return {
        "deck": deck_json,
        "data": {
            "links": scene.links,
            "signals": scene.signals,
            "buildings": scene.buildings,
            "areas": scene.areas,
            "venues": scene.venues,
            "hospitals": scene.hospitals,
            "crowd_cells": scene.crowd,
            "checkpoints": scene.checkpoints,
            "ambulances": [],
            "route": [],
            "venue_leaders": [],
            **{layer: [] for layer in SUBSETS},
        },
        "channels": CHANNELS,
        "subsets": SUBSETS,
        "tooltips": {k: v for k, v in TOOLTIPS.items() if v},
        "click": CLICK_KINDS,
        "toggles": TOGGLES,
        "labels": {
            "layer": "venue-labels",
            "leaders": "venue-leaders",
            "rows": "venues",
            "font": f"{LABEL_WEIGHT} {{size}} {LABEL_FONT}",
            "sizePx": LABEL_SIZE_PX,
            "gapPx": 6,
            "marginPx": 3,
            "radius": "r",
            "radiusMinPx": 8,
            "priority": "cap",
            "colour": list(theme.LABEL_RGBA),
        },
        "view": scene.view,
        "bounds": list(scene.bounds),
    }


# ------------------------------------------------------------------ values per refresh
def _u8_of(values: Any, *, top: int = 255) -> npt.NDArray[np.uint8]:
    array = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.clip(np.rint(array), 0, top).astype(np.uint8)


def _u16_of(values: Any) -> npt.NDArray[np.uint16]:
    array = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.clip(np.rint(array), 0, 65535).astype(np.uint16)


def band(values: Any, bands: tuple[float, float, float]) -> npt.NDArray[np.uint8]:
    """0 (normal) .. 3 (critical) by the thresholds ``bands``; ``nan`` is normal."""
    array = np.nan_to_num(np.asarray(values, dtype=float), nan=-np.inf)
    return np.searchsorted(np.asarray(bands), array, side="right").astype(np.uint8)


def layer_values(
    scene: Scene, frame: Any, *, horizon_s: int = 900, heat_horizon_s: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """Per layer, per channel, the values of ``frame`` (a :class:`twin.service.store.Frame`)."""
    view = frame.view
    links = view.links
    out: dict[str, dict[str, np.ndarray]] = {
        "congestion": {
            "los": _u8_of(links["los"], top=5),
            "s": _u8_of(links["speed_kph"]),
            "f": _u16_of(links["flow_vph"]),
            "q": _u16_of(links["queue_m"]),
        },
        "signals": {
            "phase": _u8_of(
                np.asarray(view.junctions["phase"], dtype=float)[scene.signal_nodes] + 1,
                top=len(theme.PHASE_RGBA) - 1,
            )
        },
    }
    future = frame.forecasts.get(horizon_s)
    if future is not None:
        out["predicted"] = {
            "los": _u8_of(future.links["los"], top=5),
            "s": _u8_of(future.links["speed_kph"]),
        }
    out["corridors"] = {"k": corridor_links(view, len(scene.links)).astype(np.uint8)}
    people = view_extra(view, "pedestrians")
    if people is None:
        return out
    occupancy = venue_occupancy(scene, people)
    if occupancy is not None:
        capacity = np.array([v["cap"] or np.nan for v in scene.venues], dtype=float)
        share = occupancy / capacity
        out["venues"] = {
            "band": band(share, theme.OCCUPANCY_BANDS),
            "o": _u16_of(occupancy),
            "pct": _u16_of(100 * share),
        }
    heat_view = view if heat_horizon_s == 0 else frame.forecasts.get(heat_horizon_s)
    heat = view_extra(heat_view, "pedestrians") if heat_view is not None else None
    density = None if heat is None else heat.get("density_ppm2")
    if density is not None and len(density) == len(scene.crowd):
        out["crowd"] = {"h": _u8_of(np.asarray(density, dtype=float) * 255 / 6.0)}
    table = people.get("checkpoints") or {}
    if scene.checkpoints and len(table.get("wait_s", ())) == len(scene.checkpoints):
        wait_s = np.asarray(table["wait_s"], dtype=float)
        lanes = np.asarray(table.get("lanes_face", 0)) + np.asarray(table.get("lanes_manual", 0))
        out["checkpoints"] = {
            "band": band(wait_s, theme.WAIT_BANDS_S),
            "wait": _u16_of(wait_s / 60),
            "queue": _u16_of(table.get("queue_persons", np.zeros(len(wait_s)))),
            "lanes": _u8_of(lanes),
        }
    return out


def venue_occupancy(scene: Scene, people: Mapping[str, Any]) -> npt.NDArray[np.float64] | None:
    """Persons inside each venue row (``people['venues']``, matched by venue id); ``None``
    when absent."""
    venues = people.get("venues") or {}
    if venues.get("inside_persons") is None or not scene.venues:
        return None
    index = {vid: k for k, vid in enumerate(venues.get("venue_id", ()))}
    inside = np.asarray(venues["inside_persons"], dtype=float)
    return np.array([inside[index[v]] if v in index else np.nan for v in scene.venue_ids])


def corridor_links(view: Any, n_links: int) -> npt.NDArray[np.bool_]:
    """Links on the routes of ambulances en route (``view.extras['ambulances']``)."""
    mask = np.zeros(n_links, dtype=bool)
    for amb in view_extra(view, "ambulances") or ():
        if amb.get("state") == "en route":
            route = np.asarray(amb.get("route", ()), dtype=int)
            mask[route[(route >= 0) & (route < n_links)]] = True
    return mask


def ambulance_rows(view: Any) -> list[dict[str, Any]]:
    """Position, destination and ETA of each ambulance en route."""
    from twin.clock_text import hhmm

    return [
        {
            "position": [
                round(float(amb["lon"]), COORD_DECIMALS),
                round(float(amb["lat"]), COORD_DECIMALS),
            ],
            "n": f"Ambulance {amb['corridor_id']}",
            "dest": str(amb.get("hospital_id", "")),
            "eta": hhmm(amb["eta_s"]) if amb.get("eta_s") is not None else "—",
        }
        for amb in view_extra(view, "ambulances") or ()
        if amb.get("state") == "en route"
    ]


def dynamic_rows(scene: Scene, frame: Any) -> dict[str, list[dict[str, Any]]]:
    """Rows of the layers whose feature set comes from the frame (small; sent when changed)."""
    return {"ambulances": ambulance_rows(frame.view)}


def _pack(array: np.ndarray) -> str:
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return base64.b64encode(little.tobytes()).decode("ascii")


def encode_update(
    values: Mapping[str, Mapping[str, np.ndarray]],
    rows: Mapping[str, list],
    digests: Mapping[str, str] | None,
    *,
    visible: set[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The refresh message for a page that holds ``digests``, and the page's new digests.

    Layers with the same digest as the page's are left out, and so are layers of hidden
    toggles (their digest is dropped, so they are sent when shown again).
    """
    digests = dict(digests or {})
    shown = None if visible is None else {layer for t in visible for layer in TOGGLES.get(t, ())}
    message: dict[str, Any] = {"values": {}, "rows": {}}
    new: dict[str, str] = {}
    for layer, rows_of_layer in rows.items():
        if shown is not None and layer not in shown:
            continue
        text = json.dumps(rows_of_layer, separators=(",", ":"))
        key = f"rows:{layer}"
        new[key] = f"{zlib.crc32(text.encode()):08x}"
        if digests.get(key) != new[key]:
            message["rows"][layer] = rows_of_layer
            digests.pop(layer, None)  # new rows need their values again
    for layer, channels in values.items():
        if shown is not None and layer not in shown:
            continue
        packed = {name: _pack(array) for name, array in channels.items()}
        digest = f"{zlib.crc32(json.dumps(packed, sort_keys=True).encode()):08x}"
        new[layer] = digest
        if digests.get(layer) != digest:
            message["values"][layer] = packed
    return message, new


def delta_classes(delta_veh: Any) -> npt.NDArray[np.uint8]:
    """Index into :data:`DELTA_RGBA` per road for a change in delayed vehicles (candidate - current)."""
    d = np.nan_to_num(np.asarray(delta_veh, dtype=float))
    small, large = DELTA_STEPS_VEH
    out = np.zeros(d.shape, dtype=np.uint8)
    out[d <= -small], out[d <= -large] = 2, 1
    out[d >= small], out[d >= large] = 3, 4
    return out


def preview_message(
    *, delta_veh: Any = None, n_links: int = 0, route: Any = None
) -> dict[str, Any]:
    """A bridge message drawing a what-if (roads coloured by change in delay) and a route preview;
    ``delta_veh=None`` clears the colours, ``route=None`` the route."""
    classes = (
        delta_classes(delta_veh) if delta_veh is not None else np.zeros(n_links, dtype=np.uint8)
    )
    rows = (
        [
            {
                "path": [
                    [round(float(x), COORD_DECIMALS), round(float(y), COORD_DECIMALS)]
                    for x, y in route
                ]
            }
        ]
        if route
        else []
    )
    return {"values": {"whatif": {"d": _pack(classes)}}, "rows": {"route": rows}}


def peak_density_place(scene: Scene, view: Any) -> str:
    """``near <venue>`` for the densest crowd cell, or ``""`` without pedestrian data."""
    people = view_extra(view, "pedestrians")
    where = None if people is None else people.get("peak_lonlat")
    if where is None or not scene.venues:
        return ""
    lon, lat = where
    venues = np.array([v["position"] for v in scene.venues], dtype=float)
    nearest = int(
        np.argmin(np.hypot((venues[:, 0] - lon) * math.cos(math.radians(lat)), venues[:, 1] - lat))
    )
    return f"near {scene.venues[nearest]['n']}"
