"""Times of the event day as people read them: the one formatter every screen, log line,
command-line table and message uses (the wall, the replay page, the summary, the CLI).

Times are seconds since the event day's local midnight; a day that runs past midnight goes on
counting (``24 * 3600 + 600`` is ten past midnight), and is shown as the clock on the wall shows
it: ``00:10``. Seconds are cut, never rounded: 08:59:45 is ``08:59``, as a clock reads.
"""

from __future__ import annotations

import math

DAY_S = 24 * 3600
NO_TIME = "--:--"


def hhmm(time_s: float | None, *, seconds: bool = False) -> str:
    """``HH:MM`` (``HH:MM:SS`` with ``seconds``) of ``time_s`` seconds since midnight, wrapped
    past midnight; ``--:--`` when there is no time (``None``, NaN or infinite)."""
    if time_s is None or not math.isfinite(time_s):
        return NO_TIME
    total = int(math.floor(time_s)) % DAY_S
    text = f"{total // 3600:02d}:{total % 3600 // 60:02d}"
    return f"{text}:{total % 60:02d}" if seconds else text
