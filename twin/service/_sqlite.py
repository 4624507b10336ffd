"""One SQLite file shared by threads: the base of the user store and the audit log."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """A SQLite file with one connection used by one thread at a time (under a lock).

    ``schema`` is run at opening (``CREATE ... IF NOT EXISTS``). ``durable=True`` sets WAL and
    ``synchronous=FULL``, so a commit returns only after the row is on disk.
    """

    def __init__(
        self, path: str | Path, schema: str, *, clock=time.time, durable: bool = False
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        if durable:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")  # WAL + FULL: fsync at every commit
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(schema)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The file's one connection, for one thread at a time; commits on success."""
        with self._lock, self._conn:
            yield self._conn

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()
