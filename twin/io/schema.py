"""The scenario folder's tables, column by column: one list per file, read and written from here.

The reader (:mod:`twin.scenario`) checks that a table holds every *required* column of its
schema; the importer (:mod:`twin.io.osm.importer`) writes every column, in this order. A column
is required when the twin cannot run without it; the others describe a place to a person (names)
or record where a row came from. ``docs/scenario-format.md`` explains each column.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a scenario table."""

    name: str
    required: bool = True


@dataclass(frozen=True)
class TableSchema:
    """The columns of one scenario table, in file order.

    ``where`` names the table in messages: a file (``zones.csv``) or a GeoPackage layer
    (``network.gpkg layer links``).
    """

    where: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every column, in the order the importer writes them."""
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        """The columns a table must hold to be loaded."""
        return tuple(column.name for column in self.columns if column.required)


def _optional(name: str) -> Column:
    return Column(name, required=False)


NODES = TableSchema(
    "network.gpkg layer nodes",
    (
        Column("node_id"),
        _optional("osm_id"),
        _optional("x_m"),
        _optional("y_m"),
        _optional("signalised"),
        _optional("signal_source"),
        _optional("name"),
        _optional("name_local"),
        _optional("is_gateway"),
    ),
)
"""Junctions and road ends. ``name`` is the English place name shown to people
("Olympic-ro × Yangjae-daero"); ``name_local`` the OSM node's own ``name`` (Korean), if any."""

LINKS = TableSchema(
    "network.gpkg layer links",
    (
        Column("link_id"),
        Column("from_node"),
        Column("to_node"),
        _optional("osm_way_ids"),
        _optional("name"),
        _optional("street"),
        _optional("name_local"),
        _optional("highway"),
        Column("lanes"),
        Column("length_m"),
        Column("free_speed_kph"),
        Column("capacity_vphpl"),
        Column("jam_density_vpkm"),
        _optional("reverse_link_id"),
    ),
)
"""One direction of a road segment. ``name`` is the segment's English place name
("Olympic-ro, Jamsil-ro to Wiryeseong-daero"), ``street`` the road it belongs to ("Olympic-ro";
for a road OSM leaves unnamed, a description such as "Ramp from Olympic-daero to Olympic-ro"),
``name_local`` the OSM way's own ``name`` (Korean), if any."""

MOVEMENTS = TableSchema(
    "movements.csv",
    (
        Column("movement_id"),
        Column("node_id"),
        Column("from_link"),
        Column("to_link"),
        _optional("turn"),
        Column("phase"),
    ),
)

SIGNALS = TableSchema(
    "signals.csv",
    (
        Column("node_id"),
        Column("cycle_s"),
        Column("offset_s"),
        Column("intergreen_s"),
        Column("greens_s"),
        _optional("min_greens_s"),
    ),
)

ZONES = TableSchema(
    "zones.csv",
    (
        Column("zone_id"),
        Column("kind"),
        Column("node_id"),
        Column("name"),
        _optional("facility_id"),
        Column("weight"),
    ),
)

SCHEDULE = TableSchema(
    "schedule.csv",
    (
        Column("session_id"),
        Column("venue_id"),
        Column("title"),
        Column("doors_open"),
        Column("start"),
        Column("end"),
        Column("expected_attendance"),
    ),
)

IMPORTED_TABLES = (NODES, LINKS, MOVEMENTS, SIGNALS, ZONES)
"""The tables the importer writes (the schedule is written by hand)."""
