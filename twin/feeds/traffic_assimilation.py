"""Traffic assimilation: detector counts correct the twin's demand and link states.

Placeholder of the feed contract: the real method replaces :func:`assimilate_detectors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from twin.engine import Engine
    from twin.feeds.batch import DetectorCounts


def assimilate_detectors(
    engine: Engine, counts: DetectorCounts, *, usable: npt.NDArray[np.bool_] | None = None
) -> dict[str, Any]:
    """Correct ``engine``'s state from ``counts`` (in the loop thread, after recording).

    ``usable`` masks the detectors (rows of ``scenario.detectors``) that the health checks
    still trust; ``None`` trusts all. Returns a plain summary for the audit/recording.
    Must be deterministic: replay applies the same counts to the same state.
    """
    return {"assimilated": 0}
