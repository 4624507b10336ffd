"""Fixtures shared by the twin and app tests (a real Redis server for the scaled mode) and the
suite's scheduling on pytest-xdist workers (``bash run_tests.sh`` runs ``-n 4 --dist loadgroup``):

- tests that share a module- or class-scoped fixture (an app, a recorded day, an open page) are
  put in one ``xdist_group`` per module and fixture family, so each such fixture is built once
  and its tests keep their file order; every other test is scheduled on its own;
- tests that drive a real browser are marked ``slow``, like the tests marked so by hand (a
  SIGKILLed server, a long simulated day): ``bash run_tests.sh -m "not slow"`` is the quick
  daily subset, CI runs everything.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("venuetwin", deadline=None)  # no per-example time limit: a loaded
settings.load_profile("venuetwin")  # machine must not fail a property (DeadlineExceeded)

SHARED_SCOPES = ("module", "class", "package")
LONGEST_FIRST = ("tests/app/test_crash_recovery.py", "tests/app/test_wal_damage_process.py")
"""Modules whose tests take minutes on their own (real processes killed and restarted): they are
scheduled first, so the suite does not end waiting for one of them started last."""
SLOW_FIXTURES = ("browser",)
"""Fixtures whose tests are ``slow`` without a mark of their own (a real Chromium)."""


def _shared_fixtures(item: pytest.Item) -> set[str]:
    """Names of the module-, class- or package-scoped fixtures ``item`` uses, directly or not."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    return {
        name
        for name, defs in info.name2fixturedefs.items()
        if defs and defs[-1].scope in SHARED_SCOPES
    }


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark browser tests ``slow``; group tests that share a fixture beyond one test (the tests
    of a module that share any such fixture, transitively, form one group)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    keyed: list[tuple[pytest.Item, list[str]]] = []
    for item in items:
        if any(name in item.fixturenames for name in SLOW_FIXTURES):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("xdist_group") is not None:
            continue
        module = item.nodeid.split("::", 1)[0]
        keys = sorted(f"{module}::{name}" for name in _shared_fixtures(item))
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        keyed.append((item, keys))
    for item, keys in keyed:
        if keys:
            item.add_marker(pytest.mark.xdist_group(root(keys[0])))
    items.sort(key=_schedule_rank)  # stable: a group's tests keep their file order


def _schedule_rank(item: pytest.Item) -> int:
    """Longest first (xdist hands out work in collection order): the process trials, then the
    browser tests, then the quick ones that fill the gaps at the end."""
    if item.nodeid.split("::", 1)[0] in LONGEST_FIRST:
        return 0
    return 1 if item.get_closest_marker("slow") is not None else 2


class _GroupSuffix:
    """Runs :func:`_suffix_groups` after every other collection hook (xdist's included)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]):
        _suffix_groups(config, items)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_GroupSuffix(), "venuetwin-xdist-group-suffix")


def _suffix_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker with ``--dist loadgroup``: give each grouped test the ``@group`` suffix
    that xdist's scheduler reads, where xdist could not set it. pytest-xdist 3.8 assigns
    ``item._nodeid``, which pytest 9 no longer reads (the id lives in ``item._id``), so without
    this every group would be ignored and shared fixtures built once per worker."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or "@" in item.nodeid.rsplit("]", 1)[-1]:
            continue
        names = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
        suffixed = f"{item.nodeid}@{'_'.join(names)}"
        node_id = getattr(item, "_id", None)
        if node_id is not None and hasattr(type(node_id), "parse"):
            item._id = type(node_id).parse(suffixed)
        else:
            item._nodeid = suffixed


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
