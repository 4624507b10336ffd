"""Where each venue's name goes so that no two names overlap at the map's opening zoom.

The park's arenas stand close together: drawn under their markers, the names of KSPO Dome,
Ticketlink Live Arena, the Art Hall and the Velodrome ran into each other. Each name gets a
pixel offset from its marker instead, chosen greedily, biggest venue first, from a fixed list
of places (below, above, right, left, then further below and above) as the first place whose
box clears every name already placed. Boxes are estimated from the text length at the label
font (:data:`CHAR_PX` per character, :data:`LINE_PX` per line); positions are Web Mercator
pixels at the view's zoom, as deck.gl draws them (512 px world at zoom 0).

Zooming in only moves markers apart, so names placed clear at the opening zoom stay clear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FONT_PX = 14
CHAR_PX = 0.62 * FONT_PX
"""Average advance of a character of the label font (bold sans) in pixels."""
LINE_PX = 17
GAP_PX = 14
"""Distance from the marker's centre to the nearest edge of its name (pixels)."""
MARGIN_PX = 3


def mercator_px(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel coordinates (x east, y south) of a lon/lat point at ``zoom``."""
    world = 512.0 * 2.0**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180.0) / 360.0 * world, (1.0 - y / math.pi) / 2.0 * world


def candidate_offsets(width_px: float) -> list[tuple[float, float]]:
    """Offsets (dx, dy) of a name's top centre from its marker, in order of preference."""
    return [
        (0.0, GAP_PX),  # below
        (0.0, -GAP_PX - LINE_PX),  # above
        (GAP_PX + width_px / 2, -LINE_PX / 2),  # right
        (-GAP_PX - width_px / 2, -LINE_PX / 2),  # left
        (0.0, GAP_PX + LINE_PX),  # further below
        (0.0, -GAP_PX - 2 * LINE_PX),  # further above
        (0.0, GAP_PX + 2 * LINE_PX),
        (0.0, -GAP_PX - 3 * LINE_PX),
    ]


def label_box(
    x: float, y: float, text: str, offset: tuple[float, float]
) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in pixels of ``text`` drawn centred below ``(x, y) + offset``."""
    half = len(text) * CHAR_PX / 2
    return x + offset[0] - half, y + offset[1], x + offset[0] + half, y + offset[1] + LINE_PX


def overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two (left, top, right, bottom) boxes come closer than :data:`MARGIN_PX`."""
    return not (
        a[2] + MARGIN_PX <= b[0]
        or b[2] + MARGIN_PX <= a[0]
        or a[3] + MARGIN_PX <= b[1]
        or b[3] + MARGIN_PX <= a[1]
    )


def label_offsets(
    lonlat: Sequence[Sequence[float]],
    names: Sequence[str],
    zoom: float,
    *,
    priority: Sequence[float],
) -> list[list[float]]:
    """Pixel offset [dx, dy] per name, placing higher ``priority`` first; a name that fits
    nowhere keeps the first place (below its marker)."""
    points = [mercator_px(lon, lat, zoom) for lon, lat in lonlat]
    offsets: list[list[float]] = [[0.0, float(GAP_PX)] for _ in names]
    placed: list[tuple[float, float, float, float]] = []
    for k in sorted(range(len(names)), key=lambda i: -priority[i]):
        (x, y), text = points[k], names[k]
        options = candidate_offsets(len(text) * CHAR_PX)
        free = [
            o for o in options if not any(overlaps(label_box(x, y, text, o), p) for p in placed)
        ]
        chosen = free[0] if free else options[0]
        offsets[k] = [round(chosen[0], 1), round(chosen[1], 1)]
        placed.append(label_box(x, y, text, chosen))
    return offsets
