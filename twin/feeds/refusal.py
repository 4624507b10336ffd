"""Why a feed batch is refused: one code per rule, and the error that names the first bad record.

A batch is all or nothing: the first record that breaks a rule refuses the whole batch, and the
refusal names that record (its 0-based position in the batch and, for a file or an NDJSON body,
its 1-based line) and the rule. Programs branch on :attr:`FeedError.code`; people read the
message.
"""

from __future__ import annotations

from twin.errors import ActionError

__all__ = ["RULES", "FeedError"]

RULES: dict[str, str] = {
    "malformed": "a line or body that is not valid JSON/NDJSON/CSV, or a record of no known shape",
    "bad_value": "a missing, non-numeric or out-of-range field (interval, occupancy, speed)",
    "empty_batch": "a batch without records",
    "too_large": "more records in one batch than the ingest takes",
    "unknown_detector": "a detector id that is not in the scenario's detectors.csv",
    "unknown_checkpoint": "a checkpoint number the scenario does not have",
    "unknown_lane": "a lane number beyond the checkpoint's lane positions",
    "unknown_lane_type": "a lane type other than face or manual",
    "negative_count": "a count below zero",
    "ahead_of_clock": "a timestamp further ahead of the twin's clock than the tolerance",
    "out_of_order": "a timestamp earlier than one already received for the same detector or lane",
    "duplicate": "the same detector/lane and timestamp twice",
    "above_capacity": "more than the link or lane can physically pass in the interval, "
    "by the stated margin",
    "forbidden": "a role that may not post feeds",
}
"""Refusal code -> the rule it stands for (``docs/feeds.md`` lists them with their limits)."""


class FeedError(ActionError):
    """A feed batch refused by ``code`` (a key of :data:`RULES`); nothing was applied.

    Attributes
    ----------
    record
        0-based position of the first bad record in the batch (None: the batch as a whole).
    line
        1-based line of that record in the body or file (None when it did not come in lines).
    """

    code = "malformed"

    def __init__(
        self, message: str, *, code: str, record: int | None = None, line: int | None = None
    ) -> None:
        if code not in RULES:
            raise ValueError(f"unknown feed refusal code {code!r}")
        where = (
            ""
            if record is None
            else f"record {record}" + (f" (line {line})" if line is not None else "")
        )
        super().__init__(f"{where}: {message}" if where else message, code=code)
        self.record = record
        self.line = line
        self.rule = RULES[code]
