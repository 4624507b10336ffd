"""``python -m twin``: the headless command line."""
