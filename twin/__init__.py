"""VenueTwin simulation core: scenario, traffic, signals, demand, engine.

Headless and free of the web stack: ``python -m twin --help``.
"""

from twin.errors import ActionError, ScenarioError

__all__ = ["ActionError", "ScenarioError"]
