"""The OpenStreetMap importer: roads, junctions and road classes into a scenario folder."""
