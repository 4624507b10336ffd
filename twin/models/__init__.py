"""The traffic models: road network, cell transmission, signals, Webster, demand, routing, corridors."""
