"""Read feed records from a request body or a file: NDJSON, JSON or CSV, into plain fields.

A record is one JSON object (one line of NDJSON, one item of a JSON list, one CSV row) of one of
three shapes (``docs/feeds.md``):

- detector reading: ``detector``, ``t``, ``interval_s``, ``count``, optional ``occupancy``,
  ``speed_kph``;
- checkpoint scan (one person screened): ``checkpoint``, ``lane``, ``lane_type``, ``t``;
- checkpoint count: ``checkpoint``, ``lane_type``, ``t``, ``interval_s``, ``served``, optional
  ``lanes_in_use``, ``arrived``.

JSON bodies may also come in column form, ``{"columns": {"checkpoint": [...], "t": [...]}}``
(one list per field), which high-rate sources parse several times faster.

A record with a ``meta`` key (for example a file's first line saying it is synthetic) carries
no reading and is set aside. Parsing is strict: no NaN or Infinity constants, no field outside
:data:`FIELDS`; the first bad line is named by its number.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.feeds.refusal import FeedError

__all__ = ["FIELDS", "FORMATS", "RawRecords", "parse_body", "read_file"]

FIELDS = (
    "detector",
    "checkpoint",
    "lane",
    "lane_type",
    "t",
    "interval_s",
    "count",
    "occupancy",
    "speed_kph",
    "served",
    "lanes_in_use",
    "arrived",
)
"""Every field a record may carry."""
FORMATS = ("ndjson", "json", "csv")
_KNOWN = frozenset(FIELDS)


@dataclass(frozen=True)
class RawRecords:
    """Records as columns of raw values (``None`` where a record lacks the field).

    Attributes
    ----------
    fields
        Field name -> one value per record (list or object array).
    n
        Number of records.
    lines
        1-based line of each record in its body or file (None for a JSON list).
    meta
        The ``meta`` objects found (a file's description), in order.
    """

    fields: dict[str, Any]
    n: int
    lines: npt.NDArray[np.int64] | None = None
    meta: list[dict[str, Any]] = field(default_factory=list)

    def line_of(self, record: int) -> int | None:
        return None if self.lines is None else int(self.lines[record])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constant)


def parse_body(body: bytes | str, *, fmt: str) -> RawRecords:
    """The records of ``body`` in format ``fmt`` (``ndjson``, ``json`` or ``csv``).

    Raises
    ------
    FeedError
        ``malformed`` naming the first bad line (NDJSON, CSV) or the JSON error.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FeedError(
                f"the body is not UTF-8 text (byte {error.start})", code="malformed"
            ) from None
    if fmt == "ndjson":
        return _ndjson(body)
    if fmt == "json":
        return _json(body)
    return _csv(body)


def read_file(path: str | Path) -> RawRecords:
    """The records of a ``.csv``, ``.ndjson`` / ``.jsonl`` or ``.json`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}.get(suffix)
    if fmt is None:
        raise FeedError(
            f"feed file {path.name}: expected .csv, .ndjson, .jsonl or .json, got {suffix!r}",
            code="malformed",
        )
    return parse_body(path.read_bytes(), fmt=fmt)


def _ndjson(text: str) -> RawRecords:
    body = text.rstrip("\r\n\t ")
    if body and "\n\n" not in body and not body[0].isspace() and "\r" not in body:
        # fast path: no blank lines, so record k is on line k + 1
        n = body.count("\n") + 1
        try:
            items = _loads("[" + body.replace("\n", ",") + "]")
            if len(items) == n:
                return _from_items(items, np.arange(1, n + 1, dtype=np.int64))
        except ValueError:
            pass  # the slow path names the bad line
    lines = text.split("\n")
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    try:
        items = _loads("[" + ",".join(line for _, line in numbered) + "]")
        if len(items) != len(numbered):
            raise ValueError("a line holds more than one value")
    except ValueError:
        items = [_one_line(n, line) for n, line in numbered]  # names the first bad line
    return _from_items(items, np.fromiter((n for n, _ in numbered), np.int64, len(numbered)))


def _one_line(number: int, line: str) -> Any:
    try:
        return _loads(line)
    except ValueError as error:
        raise FeedError(
            f"line {number} is not valid JSON: {str(error)[:120]}", code="malformed"
        ) from None


def _json(text: str) -> RawRecords:
    try:
        value = _loads(text)
    except ValueError as error:
        raise FeedError(
            f"the body is not valid JSON: {str(error)[:160]}", code="malformed"
        ) from None
    if isinstance(value, dict) and "columns" in value:
        return _columns(value["columns"])
    if isinstance(value, dict) and "records" in value:
        value = value["records"]
    if not isinstance(value, list):
        raise FeedError(
            'a JSON body must be a list of records or {"records": [...]}', code="malformed"
        )
    return _from_items(value, None)


def _columns(columns: Any) -> RawRecords:
    """The column form ``{"columns": {"field": [v0, v1, ...], ...}}``: one list per field, all
    of one length, ``null`` where a record lacks the field (a compact form for high-rate feeds
    such as gate scanners: it parses several times faster than one object per record)."""
    if not isinstance(columns, dict) or not all(isinstance(v, list) for v in columns.values()):
        raise FeedError('"columns" must map each field to a list of values', code="malformed")
    unknown = sorted(set(columns) - _KNOWN)
    if unknown:
        raise FeedError(
            f"unknown field {unknown[0][:40]!r}; a record may carry {', '.join(FIELDS)}",
            code="malformed",
        )
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise FeedError(
            f"every column must hold one value per record; lengths differ: {sorted(lengths)}",
            code="malformed",
        )
    return RawRecords(dict(columns), lengths.pop() if lengths else 0, None)


def _from_items(items: list[Any], lines: npt.NDArray[np.int64] | None) -> RawRecords:
    if items and set(map(type, items)) != {dict}:
        bad = next(i for i, item in enumerate(items) if type(item) is not dict)
        raise FeedError(
            f"a record must be a JSON object, got {type(items[bad]).__name__}",
            code="malformed",
            record=bad,
            line=None if lines is None else int(lines[bad]),
        )
    keys: set[str] = set().union(*items) if items else set()
    meta: list[dict[str, Any]] = []
    if "meta" in keys:
        keep = ["meta" not in item for item in items]
        meta = [item["meta"] for item, k in zip(items, keep, strict=True) if not k]
        items = [item for item, k in zip(items, keep, strict=True) if k]
        lines = None if lines is None else lines[np.asarray(keep, dtype=bool)]
        keys = set().union(*items) if items else set()
    unknown = keys - _KNOWN
    if unknown:
        bad = next(i for i, item in enumerate(items) if not item.keys() <= _KNOWN)
        name = sorted(items[bad].keys() - _KNOWN)[0]
        raise FeedError(
            f"unknown field {name[:40]!r}; a record may carry {', '.join(FIELDS)}",
            code="malformed",
            record=bad,
            line=None if lines is None else int(lines[bad]),
        )
    fields = {key: list(map(dict.get, items, repeat(key, len(items)))) for key in keys}
    return RawRecords(fields, len(items), lines, meta)


def _csv(text: str) -> RawRecords:
    import pandas as pd

    if not text.strip():
        return RawRecords({}, 0, np.zeros(0, np.int64))
    try:
        table = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise FeedError(f"the CSV is not readable: {str(error)[:160]}", code="malformed") from None
    unknown = [c for c in table.columns if c not in _KNOWN and c != "meta"]
    if unknown:
        raise FeedError(
            f"line 1: unknown column {str(unknown[0])[:40]!r}; columns may be {', '.join(FIELDS)}",
            code="malformed",
        )
    lines = np.arange(2, len(table) + 2, dtype=np.int64)
    blank = table.isna().all(axis=1).to_numpy()
    if "meta" in table.columns:
        blank |= table["meta"].notna().to_numpy()
        table = table.drop(columns="meta")
    table, lines = table[~blank], lines[~blank]
    fields = {
        c: np.where(table[c].isna(), None, table[c].to_numpy(dtype=object)) for c in table.columns
    }
    return RawRecords(fields, len(table), lines)
