"""Checkpoint assimilation: counted scans set served counts, queues and service rates.

Placeholder of the feed contract: the real method replaces :func:`assimilate_checkpoints`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.feeds.batch import CheckpointCounts


def assimilate_checkpoints(engine: Engine, counts: CheckpointCounts) -> dict[str, Any]:
    """Correct ``engine``'s checkpoint queues from ``counts`` (in the loop thread, after
    recording). Deterministic. Returns a plain summary for the audit/recording."""
    return {"assimilated": 0}
