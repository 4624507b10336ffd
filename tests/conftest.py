"""Fixtures shared by the twin and app tests: a real Redis server for the scaled mode."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real ``redis-server`` on a free loopback port (no persistence), stopped afterwards.

    ``bash run_tests.sh`` installs Debian's redis-server where it is missing, so its absence is
    a set-up error, not a reason to skip."""
    import redis

    if shutil.which("redis-server") is None:
        pytest.fail(
            "redis-server is not installed: `bash run_tests.sh` installs it (Debian package redis-server)"
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(200):  # bounded wait until it answers
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(5)
