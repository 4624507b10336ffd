"""Play a recorded feed file (CSV or NDJSON) into the twin in step with its simulated clock.

Every record is due at its ``t`` (a reading's or count's interval end, a scan's time) and is
submitted, through the one command path with the ``feed`` role, once the twin's clock has
reached it, never before; the records due in one minute of data go as one batch, so the batches
the twin takes do not depend on the clock speed. Records already past when the replay starts
are skipped (said so), as a resumed day has had them.

``python app.py --feed FILE`` runs :meth:`FeedReplayer.run` in a thread beside the live loop;
tests drive :meth:`FeedReplayer.submit_due` with a clock they step themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.feeds.columns import typed
from twin.feeds.parse import RawRecords, read_file

if TYPE_CHECKING:
    from twin.service.commands import CommandPath, CommandResult

__all__ = ["BATCH_MINUTE_S", "FeedReplayer"]

log = logging.getLogger(__name__)

BATCH_MINUTE_S = 60.0
"""Records are grouped into one batch per minute of data (by their ``t``)."""


def _due_s(raw: RawRecords) -> np.ndarray:
    """Each record's due time: its ``t`` as seconds (typed once to read the clock forms)."""
    parts = typed(raw)
    due = np.empty(raw.n)
    due[parts.detectors.record] = parts.detectors.end_s
    due[parts.scans.record] = parts.scans.time_s
    due[parts.counts.record] = parts.counts.end_s
    return due


def _subset(raw: RawRecords, rows: np.ndarray) -> RawRecords:
    fields = {name: np.asarray(values, dtype=object)[rows] for name, values in raw.fields.items()}
    lines = None if raw.lines is None else raw.lines[rows]
    return RawRecords(fields, len(rows), lines)


@dataclass
class FeedReplayer:
    """Submit a file's records to ``commands`` as the twin's clock passes their times.

    Attributes
    ----------
    commands
        The command path of the live twin.
    raw
        The file's records (:func:`twin.feeds.parse.read_file`).
    source
        Source name the batches are posted under (default: the file's ``meta.source`` or stem).
    user
        Who the audit log names for the batches.
    """

    commands: CommandPath
    raw: RawRecords
    source: str
    user: str = "feed-replayer"
    synthetic: bool = False
    results: list[CommandResult] = field(default_factory=list)
    skipped: int = 0

    def __post_init__(self) -> None:
        due = _due_s(self.raw)
        self._minute = np.floor((due - 1e-9) / BATCH_MINUTE_S).astype(np.int64)
        self._order = np.lexsort((np.arange(len(due)), self._minute))
        self._due = due[self._order]
        self._next = 0
        self._started = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_file(
        cls, commands: CommandPath, path: str | Path, *, source: str | None = None, **kw: Any
    ) -> FeedReplayer:
        """A replayer of the CSV or NDJSON file at ``path`` (its ``meta`` line names the source
        and says whether the data is synthetic)."""
        raw = read_file(path)
        meta = raw.meta[0] if raw.meta else {}
        name = source or str(meta.get("source") or Path(path).stem)
        synthetic = bool(meta.get("synthetic", False))
        return cls(commands, raw, name, synthetic=synthetic, **kw)

    @property
    def done(self) -> bool:
        return self._next >= len(self._due)

    @property
    def submitted(self) -> int:
        return self._next - self.skipped

    def next_due_s(self) -> float | None:
        """Time the next record falls due, or None when all are submitted."""
        return None if self.done else float(self._due[self._next])

    def submit_due(self, now_s: float) -> list[CommandResult]:
        """Submit every record due at or before ``now_s`` (one batch per minute of data);
        the results, in order. The first call skips records older than a minute before
        ``now_s`` (already past when the replay started)."""
        if not self._started:
            self._started = True
            late = int(np.searchsorted(self._due, now_s - BATCH_MINUTE_S, side="right"))
            self.skipped, self._next = late, late
            if late:
                log.warning(
                    "feed %s: %d records before the twin's clock skipped", self.source, late
                )
        end = int(np.searchsorted(self._due, now_s + 1e-9, side="right"))
        out = []
        while self._next < end:
            minute = self._minute[self._order[self._next]]
            stop = self._next + int(
                np.searchsorted(self._minute[self._order[self._next : end]], minute, side="right")
            )
            rows = self._order[self._next : stop]
            result = self.commands.feed(
                _subset(self.raw, rows),
                source=self.source,
                user=self.user,
                role="feed",
                synthetic=self.synthetic,
            )
            if not result.ok:
                log.warning("feed %s: batch refused: %s", self.source, result.reason)
            out.append(result)
            self._next = stop
        self.results.extend(out)
        return out

    def run(self, clock: Callable[[], float], *, poll_s: float = 0.25) -> None:
        """Until done or :meth:`stop`: every ``poll_s`` wall seconds read the twin's clock with
        ``clock()`` and submit what is due (runs in the caller's thread)."""
        while not self.done and not self._stop.is_set():
            try:
                self.submit_due(float(clock()))
            except RuntimeError as error:  # the live twin stopped: so does its feed
                log.info("feed %s: stopped (%s)", self.source, error)
                return
            except Exception:  # noqa: BLE001 - a failed write: log, try again next poll
                log.exception("feed %s: submitting failed", self.source)
            self._stop.wait(poll_s)

    def start(self, clock: Callable[[], float], *, poll_s: float = 0.25) -> FeedReplayer:
        """:meth:`run` in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run,
            args=(clock,),
            kwargs={"poll_s": poll_s},
            daemon=True,
            name=f"feed-{self.source}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
