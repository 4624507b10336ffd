"""Bounded waits on a condition (tests never assert on wall-clock time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout_s: float, step_s: float = 0.1) -> Any:
    """Poll ``predicate`` every ``step_s`` until it returns something truthy or ``timeout_s``
    passes; its last value (falsy on time-out)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    return predicate()
