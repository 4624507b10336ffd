"""VenueTwin simulation core: scenario, traffic, signals, demand, engine, recordings.

Headless and free of the web stack: ``python -m twin --help``.
"""

from twin.errors import ActionError, ScenarioError, TwinError

__version__ = "0.4.0"
"""Written into every recording's header."""

__all__ = ["ActionError", "ScenarioError", "TwinError", "__version__"]
