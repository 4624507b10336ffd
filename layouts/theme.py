"""The control room's colours, in the spirit of ISA-101: a muted grey base, colour only for
abnormal states, and one severity palette used everywhere (map, KPIs, alerts, legend).

The CSS variables in ``assets/theme.css`` carry the same values; keep them in step.
"""

from __future__ import annotations

Rgba = tuple[int, int, int, int]

# one severity palette: level 1 advisory, 2 warning, 3 critical
SEVERITY_HEX = {1: "#d9c34a", 2: "#f08c2e", 3: "#e5484d"}
SEVERITY_RGBA: dict[int, Rgba] = {
    1: (217, 195, 74, 255),
    2: (240, 140, 46, 255),
    3: (229, 72, 77, 255),
}
NORMAL_RGBA: Rgba = (120, 132, 148, 150)  # a normal value on the map: quiet grey
INFO_RGBA: Rgba = (86, 182, 214, 255)  # special but not abnormal: ambulances, corridors, selection

# base map (all muted)
BACKGROUND_HEX = "#11151b"
ROAD_RGBA = {
    "motorway": (78, 86, 98, 255),
    "trunk": (78, 86, 98, 255),
    "primary": (70, 78, 90, 255),
    "secondary": (62, 70, 81, 255),
    "tertiary": (56, 63, 73, 255),
    "other": (48, 54, 63, 255),
}
ROAD_WIDTH_PX = {
    "motorway": 4.0,
    "trunk": 4.0,
    "primary": 3.5,
    "secondary": 3.0,
    "tertiary": 2.5,
    "other": 1.5,
}
BUILDING_RGBA: Rgba = (36, 41, 49, 255)
BUILDING_LINE_RGBA: Rgba = (44, 50, 59, 255)
PARK_RGBA: Rgba = (28, 40, 34, 255)
WATER_RGBA: Rgba = (24, 35, 50, 255)
AREA_RGBA: Rgba = (30, 34, 40, 255)

# level of service A..F: A-C normal (grey), D advisory, E warning, F critical
LOS_LETTERS = ("A", "B", "C", "D", "E", "F")
LOS_RGBA: tuple[Rgba, ...] = (
    (0, 0, 0, 0),
    (0, 0, 0, 0),
    (0, 0, 0, 0),
    SEVERITY_RGBA[1],
    SEVERITY_RGBA[2],
    SEVERITY_RGBA[3],
)
PREDICTED_LOS_RGBA: tuple[Rgba, ...] = tuple((r, g, b, 170 if a else 0) for r, g, b, a in LOS_RGBA)

# signal phases: muted categorical (phase is information, not an alarm); -1 all-red/dark
PHASE_RGBA: tuple[Rgba, ...] = (
    (64, 64, 64, 200),  # index 0 = phase -1 (all-red or unsignalised)
    (120, 170, 150, 230),
    (150, 140, 190, 230),
    (170, 160, 120, 230),
    (120, 150, 185, 230),
    (170, 130, 150, 230),
    (140, 170, 120, 230),
)

# occupancy / wait / density bands: index 0 normal, then severity levels 1..3
BAND_RGBA: tuple[Rgba, ...] = (NORMAL_RGBA, SEVERITY_RGBA[1], SEVERITY_RGBA[2], SEVERITY_RGBA[3])
OCCUPANCY_BANDS = (0.85, 0.95, 1.0)  # share of capacity at which levels 1, 2, 3 start
WAIT_BANDS_S = (600.0, 1200.0, 1800.0)  # checkpoint wait: 10, 20, 30 min
DENSITY_BANDS_PPM2 = (2.0, 3.5, 5.0)  # Fruin-style: crowded, very crowded, crush risk

# crowd heatmap: transparent through the severity colours
HEAT_RANGE: tuple[tuple[int, int, int], ...] = (
    (40, 48, 60),
    (90, 96, 110),
    (217, 195, 74),
    (240, 140, 46),
    (229, 72, 77),
    (255, 120, 120),
)
HOSPITAL_RGBA: Rgba = (214, 220, 228, 255)
LABEL_RGBA: Rgba = (170, 180, 192, 255)
