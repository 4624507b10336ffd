"""Load a scenario folder (see ``docs/scenario-format.md``) into a :class:`Scenario`.

Every check names the file, the row or field and the rule it broke, and raises
:class:`twin.errors.ScenarioError` before anything is built.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import ScenarioError
from twin.io import schema
from twin.io.detectors import DETECTOR_KINDS
from twin.io.detectors import MEASURES as DETECTOR_MEASURES

LINK_COLUMNS = schema.LINKS.required
MOVEMENT_COLUMNS = schema.MOVEMENTS.required
SIGNAL_COLUMNS = schema.SIGNALS.required
ZONE_COLUMNS = schema.ZONES.required
SCHEDULE_COLUMNS = schema.SCHEDULE.required
"""The columns each table must hold (:mod:`twin.io.schema` lists every column of each file)."""


@dataclass(frozen=True)
class Scenario:
    """Everything the twin knows about one event day on one piece of geography.

    Tables are sorted by their id column and ids are contiguous from 0, so an id indexes the
    numpy arrays the engine compiles from them. ``links``/``nodes``/``facilities`` are
    GeoDataFrames (EPSG:4326) when loaded from a folder, plain DataFrames when built in memory.
    """

    name: str
    nodes: pd.DataFrame
    links: pd.DataFrame
    movements: pd.DataFrame
    signals: pd.DataFrame
    zones: pd.DataFrame
    schedule: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    facilities: pd.DataFrame | None = None
    buildings: pd.DataFrame | None = None
    areas: pd.DataFrame | None = None
    detectors: pd.DataFrame | None = None
    """Traffic detector sites (``detectors.csv``): ``detector_id`` (str), ``link_id`` (int),
    ``position_m`` (metres from the link's start), ``lanes`` (int, lanes covered), ``measures``
    (``count``, ``count+occupancy`` or ``count+speed``), ``kind`` (``stop_line`` or
    ``counting_station``); row order is the detector index of :class:`twin.feeds.batch.DetectorCounts`.
    ``None``: the scenario has no detectors."""
    attribution: str = ""
    path: Path | None = None

    def __post_init__(self) -> None:
        for table_schema, table in (
            (schema.NODES, self.nodes),
            (schema.LINKS, self.links),
            (schema.MOVEMENTS, self.movements),
            (schema.SIGNALS, self.signals),
            (schema.ZONES, self.zones),
        ):
            _check_columns(table, table_schema.required, table_schema.where)
        _check_contiguous(self.links["link_id"], "links", "link_id")
        _check_contiguous(self.nodes["node_id"], "nodes", "node_id")
        _check_links(self.links, len(self.nodes))

    def junction_name(self, node_id: int) -> str:
        """The place name of junction ``node_id`` ("Olympic-ro × Jamsil-ro"); "junction N" only
        for a scenario built without names (the synthetic test grids)."""
        names = self.nodes["name"] if "name" in self.nodes else None
        name = "" if names is None else str(names.iloc[int(node_id)] or "")
        return name if name and name != "None" else f"junction {int(node_id)}"


SCENARIO_FILES = (
    "scenario.toml",
    "network.gpkg",
    "facilities.geojson",
    "schedule.csv",
    "movements.csv",
    "signals.csv",
    "zones.csv",
    "detectors.csv",
)
"""The files :func:`load` reads (what decides a simulation; a recording's scenario hash covers
exactly these)."""


def load(path: str | Path) -> Scenario:
    """Read the scenario folder at ``path``.

    Raises
    ------
    ScenarioError
        When the folder or a required file is missing, or a file breaks a rule.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ScenarioError(f"scenario folder {str(folder)!r} does not exist")
    params = _read_toml(folder / "scenario.toml")
    nodes, links, buildings, areas = _read_network(folder / "network.gpkg")
    facilities = _read_facilities(folder / "facilities.geojson")
    schedule = read_schedule(folder / "schedule.csv", facilities)
    attribution_file = folder / "ATTRIBUTION.md"
    detectors_file = folder / "detectors.csv"
    detectors = read_detectors(detectors_file, links) if detectors_file.exists() else None
    return Scenario(
        name=str(params.get("name", folder.name)),
        nodes=nodes,
        links=links,
        movements=_read_csv(folder / "movements.csv"),
        signals=_read_csv(folder / "signals.csv", dtype={"greens_s": str}),
        zones=_read_csv(folder / "zones.csv", dtype={"facility_id": str}),
        schedule=schedule,
        params=params,
        facilities=facilities,
        buildings=buildings,
        areas=areas,
        detectors=detectors,
        attribution=attribution_file.read_text() if attribution_file.exists() else "",
        path=folder,
    )


def read_schedule(path: Path, facilities: pd.DataFrame | None) -> pd.DataFrame:
    """Read and check ``schedule.csv``; times become seconds since midnight.

    Rules: every column present; times ``HH:MM``; doors open ≤ start < end; the venue exists in
    the facilities file as a venue; expected attendance is a whole number between 0 and the
    venue's capacity.
    """
    table = _read_csv(path, dtype={"doors_open": str, "start": str, "end": str})
    _check_columns(table, schema.SCHEDULE.required, path.name)
    venues = _venue_capacities(facilities)
    for column in ("doors_open", "start", "end"):
        table[f"{column}_s"] = [
            _clock_s(value, f"{path.name} row {row + 2} field {column!r}")
            for row, value in enumerate(table[column])
        ]
    for row, record in enumerate(table.itertuples(index=False)):
        where = f"{path.name} row {row + 2} (session {record.session_id!r})"
        _check_session(record, venues, where)
    return table


def read_detectors(path: Path, links: pd.DataFrame) -> pd.DataFrame:
    """Read and check ``detectors.csv`` against the network's ``links``.

    Rules: every column present; ``detector_id`` a non-empty, unique name; ``link_id`` a link
    of the network; ``position_m`` a number from 0 to the link's length (metres from its
    start); ``lanes`` a whole number from 1 to the link's lanes; ``measures`` one of
    :data:`DETECTOR_MEASURES`; ``kind`` one of :data:`DETECTOR_KINDS`. Row order is the
    detector index feeds use.
    """
    table = _read_csv(path, dtype={"detector_id": str, "measures": str, "kind": str})
    _check_columns(
        table, ("detector_id", "link_id", "position_m", "lanes", "measures", "kind"), path.name
    )
    n_links = len(links)
    length_m = links["length_m"].to_numpy(dtype=float)
    link_lanes = links["lanes"].to_numpy(dtype=int)
    seen: set[str] = set()
    for row, record in enumerate(table.itertuples(index=False)):
        where = f"{path.name} row {row + 2}"
        name = "" if pd.isna(record.detector_id) else str(record.detector_id).strip()
        if not name:
            raise ScenarioError(f"{where}: detector_id must be a non-empty name")
        where = f"{where} (detector {name!r})"
        if name in seen:
            raise ScenarioError(f"{where}: detector_id must be unique; {name!r} is used twice")
        seen.add(name)
        link = _whole(record.link_id)
        if link is None or not 0 <= link < n_links:
            raise ScenarioError(
                f"{where}: link_id must be a link of the network (0 to {n_links - 1}), "
                f"got {record.link_id!r}"
            )
        position = pd.to_numeric(record.position_m, errors="coerce")
        if not (np.isfinite(position) and 0.0 <= position <= length_m[link] + 1e-6):
            raise ScenarioError(
                f"{where}: position_m must be between 0 and the length of link {link} "
                f"({length_m[link]:.1f} m), got {record.position_m!r}"
            )
        lanes = _whole(record.lanes)
        if lanes is None or not 1 <= lanes <= link_lanes[link]:
            raise ScenarioError(
                f"{where}: lanes must be a whole number from 1 to the {link_lanes[link]} "
                f"lane(s) of link {link}, got {record.lanes!r}"
            )
        if record.measures not in DETECTOR_MEASURES:
            raise ScenarioError(
                f"{where}: measures must be one of {DETECTOR_MEASURES}, got {record.measures!r}"
            )
        if record.kind not in DETECTOR_KINDS:
            raise ScenarioError(
                f"{where}: kind must be one of {DETECTOR_KINDS}, got {record.kind!r}"
            )
    table["detector_id"] = table["detector_id"].str.strip()
    table["link_id"] = table["link_id"].astype(int)
    table["position_m"] = table["position_m"].astype(float)
    table["lanes"] = table["lanes"].astype(int)
    return table.reset_index(drop=True)


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (``3``, ``3.0``, ``"3"``), else None."""
    number = pd.to_numeric(value, errors="coerce")
    if isinstance(value, bool) or not np.isfinite(number) or number != int(number):
        return None
    return int(number)


def _check_session(record: Any, venues: dict[str, float], where: str) -> None:
    if not record.doors_open_s <= record.start_s < record.end_s:
        raise ScenarioError(
            f"{where}: times out of order: need doors_open <= start < end, got "
            f"{record.doors_open} / {record.start} / {record.end}"
        )
    if record.venue_id not in venues:
        raise ScenarioError(
            f"{where}: unknown venue_id {record.venue_id!r}; known venues: {sorted(venues)}"
        )
    attendance = record.expected_attendance
    if not (isinstance(attendance, (int, np.integer)) and attendance >= 0):
        raise ScenarioError(
            f"{where}: expected_attendance must be a whole number >= 0, got {attendance!r}"
        )
    capacity = venues[record.venue_id]
    if np.isfinite(capacity) and attendance > capacity:
        raise ScenarioError(
            f"{where}: expected_attendance {attendance} is above the capacity of "
            f"{record.venue_id!r} ({capacity:.0f} seats)"
        )


def _venue_capacities(facilities: pd.DataFrame | None) -> dict[str, float]:
    if facilities is None:
        return {}
    venues = facilities[facilities["kind"] == "venue"]
    capacity = pd.to_numeric(venues["capacity"], errors="coerce").fillna(np.inf)
    return dict(zip(venues["id"], capacity, strict=True))


def _clock_s(value: Any, where: str) -> int:
    """Seconds since midnight for ``HH:MM``; hours may exceed 23 for sessions past midnight."""
    text = str(value).strip()
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[1]) >= 60:
        raise ScenarioError(f"{where}: expected a time HH:MM, got {text!r}")
    return int(parts[0]) * 3600 + int(parts[1]) * 60


def parse_clock(value: str) -> int:
    """Seconds since midnight of ``HH:MM`` (command-line form)."""
    return _clock_s(value, "time")


def _read_csv(path: Path, dtype: dict[str, Any] | None = None) -> pd.DataFrame:
    if not path.exists():
        raise ScenarioError(f"missing scenario file {str(path)!r}")
    try:
        return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{str(path)!r} is not a readable CSV file: {error}") from error


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ScenarioError(f"missing scenario file {str(path)!r}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{str(path)!r} is not valid TOML: {error}") from error


def _read_network(path: Path) -> tuple[pd.DataFrame, ...]:
    import geopandas as gpd
    import pyogrio

    if not path.exists():
        raise ScenarioError(f"missing scenario file {str(path)!r}")
    layers = {name for name, _ in pyogrio.list_layers(path)}
    for required in ("nodes", "links"):
        if required not in layers:
            raise ScenarioError(
                f"{str(path)!r} has no layer {required!r} (layers: {sorted(layers)})"
            )
    nodes = gpd.read_file(path, layer="nodes").sort_values("node_id", ignore_index=True)
    links = gpd.read_file(path, layer="links").sort_values("link_id", ignore_index=True)
    optional = [
        gpd.read_file(path, layer=name) if name in layers else None
        for name in ("buildings", "areas")
    ]
    return nodes, links, *optional


def _read_facilities(path: Path) -> pd.DataFrame:
    import geopandas as gpd

    if not path.exists():
        raise ScenarioError(f"missing scenario file {str(path)!r}")
    return gpd.read_file(path)


def _check_columns(table: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ScenarioError(f"{name}: missing column(s) {missing}")


def _check_contiguous(ids: pd.Series, name: str, column: str) -> None:
    if not np.array_equal(ids.to_numpy(), np.arange(len(ids))):
        raise ScenarioError(f"{name}: {column} must be 0..{len(ids) - 1} in order")


def _check_links(links: pd.DataFrame, n_nodes: int) -> None:
    for column in ("length_m", "lanes", "free_speed_kph", "capacity_vphpl", "jam_density_vpkm"):
        bad = links.index[~(pd.to_numeric(links[column], errors="coerce") > 0)]
        if len(bad):
            raise ScenarioError(
                f"links: {column} must be > 0; link_id {int(links.loc[bad[0], 'link_id'])} "
                f"has {links.loc[bad[0], column]!r}"
            )
    for column in ("from_node", "to_node"):
        bad = links.index[(links[column] < 0) | (links[column] >= n_nodes)]
        if len(bad):
            raise ScenarioError(
                f"links: {column} of link_id {int(links.loc[bad[0], 'link_id'])} is not a node id"
            )
