"""Getting scenarios in: geometry helpers, the OSM importer, synthetic test scenarios."""
