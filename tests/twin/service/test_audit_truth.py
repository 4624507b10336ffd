"""The audit never lies, damage is never silent (issue 19, points 2 and 3).

Fault injection at every write point of the command path (the audit row, the recording row, the
audit row's settling), by a test double of the storage layer (the write raises SQLite's own
I/O or disk-full error) and by a real full filesystem (a small tmpfs, when the machine lets the
test mount one). After each fault, the audit log, the recording and the twin agree, and every
action the caller was told is applied is in both. Then the day's ``-wal`` file is truncated or
garbled at several points and the day is resumed from the real files: every acknowledged input
is back, the gap is named, and the twin holds what the operators were told it holds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from twin.service.audit import AuditFilter, AuditLog
from twin.service.commands import CommandPath
from twin.service.days import open_live_day
from twin.service.live import LiveSettings, LiveTwin
from twin.service.recorder import Recording, RecordingError

BUNDLED = Path(__file__).resolve().parents[3] / "data" / "seoul_olympic_park"
START_S = 18 * 3600.0
CHECKPOINT = 1


@pytest.fixture(scope="module")
def scenario():
    from twin.scenario import load

    return load(BUNDLED)


class Room:
    """A recorded live day with its audit log, run inline (no loop thread)."""

    def __init__(self, folder: Path, scenario, audit_path: Path) -> None:
        self.folder, self.scenario, self.audit_path = folder, scenario, audit_path
        self.audit = AuditLog(audit_path)
        self.day = open_live_day(folder, scenario, start_s=START_S, audit=self.audit)
        self.live = LiveTwin(
            self.day.engine,
            settings=LiveSettings(forecast_period_s=0),
            recorder=self.day.recorder,
            paused=self.day.paused,
            speed=self.day.speed,
        )
        self.commands = CommandPath(self.live, self.audit)
        self.told_applied: list[tuple[int, int]] = []  # (audit id, count) the caller was told

    def lanes(self, count: int):
        body = {
            "kind": "set_lanes",
            "checkpoint_id": CHECKPOINT,
            "lane_type": "manual",
            "count": count,
        }
        result = self.commands.submit(body, user="kim", role="operator")
        if result.ok:
            self.told_applied.append((result.audit_id, count))
        return result

    def twin_lanes(self) -> int:
        view = self.live.engine.view()
        return int(view.extras["pedestrians"]["checkpoints"]["lanes_manual"][CHECKPOINT])

    def inputs(self) -> list:
        with Recording.open(self.day.recorder.path) as recording:
            return recording.inputs()

    def action_rows(self) -> list:
        return self.audit.query(AuditFilter(category="action", limit=10_000))


def assert_agree(room: Room) -> None:
    """The audit log, the recording and the twin agree on every input's outcome."""
    by_audit = {i.audit_id: i for i in room.inputs()}
    for entry in room.action_rows():
        row = by_audit.get(entry.id)
        if entry.result in ("ok", "refused"):
            assert row is not None and row.result == entry.result, (entry, row)
        elif entry.result == "not_recorded":
            assert row is None, (entry, row)
        else:
            raise AssertionError(f"audit row {entry.id} left {entry.result}")
    # every acknowledged action is in both, and the twin holds the last one
    for audit_id, count in room.told_applied:
        assert by_audit[audit_id].result == "ok" and by_audit[audit_id].payload["count"] == count
    if room.told_applied:
        assert room.twin_lanes() == room.told_applied[-1][1]


def _io_error(*_args, **_kwargs):
    raise sqlite3.OperationalError("disk I/O error")


def _disk_full(*_args, **_kwargs):
    raise sqlite3.OperationalError("database or disk is full")


@pytest.fixture
def room(tmp_path, scenario):
    room = Room(tmp_path / "recordings", scenario, tmp_path / "audit.sqlite")
    room.live.run_until(START_S + 60)
    assert room.lanes(2).ok
    yield room
    room.day.recorder.close(None)
    room.audit.close()


@pytest.mark.parametrize("error", [_io_error, _disk_full])
def test_a_failed_audit_write_writes_and_applies_nothing(room, monkeypatch, error):
    inputs, rows, lanes = len(room.inputs()), len(room.action_rows()), room.twin_lanes()
    monkeypatch.setattr(room.audit, "record", error)
    with pytest.raises(sqlite3.OperationalError):
        room.lanes(5)
    monkeypatch.undo()
    assert (len(room.inputs()), len(room.action_rows()), room.twin_lanes()) == (
        inputs,
        rows,
        lanes,
    )
    assert_agree(room)


@pytest.mark.parametrize("error", [_io_error, _disk_full])
def test_a_failed_recording_write_is_audited_not_recorded_and_applies_nothing(
    room, monkeypatch, error
):
    inputs, lanes = len(room.inputs()), room.twin_lanes()
    monkeypatch.setattr(room.day.recorder, "record_input", error)
    with pytest.raises(sqlite3.OperationalError):
        room.lanes(5)  # the API answers 503 not_recorded
    monkeypatch.undo()
    [entry] = room.audit.query(AuditFilter(action="twin.set_lanes", limit=1))
    assert entry.result == "not_recorded" and "recording write failed" in entry.detail
    assert len(room.inputs()) == inputs and room.twin_lanes() == lanes
    assert_agree(room)
    assert room.lanes(4).ok  # the disk is back: the next action goes through
    assert_agree(room)


def test_a_failed_recording_write_of_a_refusal_is_not_recorded(room, monkeypatch):
    monkeypatch.setattr(room.day.recorder, "record_input", _disk_full)
    with pytest.raises(sqlite3.OperationalError):
        room.lanes(999)  # refused by the twin (too many lanes), and that cannot be recorded
    monkeypatch.undo()
    [entry] = room.audit.query(AuditFilter(action="twin.set_lanes", limit=1))
    assert entry.result == "not_recorded"
    assert_agree(room)


def test_a_failed_settle_acknowledges_and_settles_at_the_next_input(room, monkeypatch):
    monkeypatch.setattr(room.audit, "settle", _io_error)
    result = room.lanes(6)
    monkeypatch.undo()
    assert result.ok and room.twin_lanes() == 6  # recorded and applied: acknowledged
    [entry] = [e for e in room.action_rows() if e.id == result.audit_id]
    assert entry.result == "pending"
    refused = room.lanes(999)  # any next input settles the outstanding row first
    assert not refused.ok
    [entry] = [e for e in room.action_rows() if e.id == result.audit_id]
    assert entry.result == "ok"
    assert_agree(room)


def _crash_and_resume(room: Room) -> Room:
    """Kill -9 of the service: nothing closed; then a fresh start on the same files."""
    room.day.recorder.flush()
    room.audit.close()
    return Room(room.folder, room.scenario, room.audit_path)


def test_pending_rows_left_by_a_crash_are_settled_from_the_recording_on_resume(room, monkeypatch):
    monkeypatch.setattr(room.audit, "settle", _io_error)
    applied = room.lanes(7)  # recorded and applied, audit row left pending
    monkeypatch.setattr(room.day.recorder, "record_input", _disk_full)
    with pytest.raises(sqlite3.OperationalError):
        room.lanes(3)  # not recorded, and its settle failed too: pending
    monkeypatch.undo()
    assert [e.result for e in room.action_rows()[:2]] == ["pending", "pending"]
    resumed = _crash_and_resume(room)
    try:
        by_id = {e.id: e for e in resumed.action_rows()}
        assert by_id[applied.audit_id].result == "ok"
        assert by_id[applied.audit_id + 1].result == "not_recorded"
        assert resumed.twin_lanes() == 7  # the recording's truth: 3 was never applied
        resumed.told_applied = [(applied.audit_id, 7)]
        assert_agree(resumed)
    finally:
        resumed.day.recorder.close(None)
        resumed.audit.close()


# ---------------------------------------------------------------- a real full disk
@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs (root only; skipped where the machine does not allow mounting)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    block = b"\0" * 65536
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(block)
                out.flush()
        except OSError:
            pass
    for size in (4096, 512, 1):  # the last bytes too
        try:
            with open(folder / f"filler-{size}.bin", "wb") as out:
                while True:
                    out.write(b"\0" * size)
                    out.flush()
        except OSError:
            pass
    return filler


def test_a_real_full_disk_refuses_then_recovers_and_the_logs_agree(tmp_path, small_disk, scenario):
    room = Room(small_disk / "recordings", scenario, tmp_path / "audit.sqlite")
    try:
        room.live.run_until(START_S + 30)
        assert room.lanes(2).ok
        room.day.recorder.flush()
        _fill(small_disk)
        failures = 0
        for count in (3, 4, 5):
            try:
                room.lanes(count)
            except sqlite3.OperationalError as error:
                assert "full" in str(error) or "I/O" in str(error)
                failures += 1
        assert failures == 3
        assert room.twin_lanes() == 2
        assert [e.result for e in room.action_rows()[:3]] == ["not_recorded"] * 3
        for path in small_disk.glob("filler*"):
            path.unlink()
        assert room.lanes(6).ok  # recovered without a restart
        assert_agree(room)
    finally:
        room.day.recorder.close(None)
        room.audit.close()


# ---------------------------------------------------------------- damaged -wal files
COUNTS = (3, 4, 5, 6, 7, 8)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory, scenario):
    """A day with six acknowledged lane changes a simulated minute apart, as a kill -9 leaves
    it: the main file, its -wal (not checkpointed), and the audit log."""
    folder = tmp_path_factory.mktemp("crashed")
    room = Room(folder / "recordings", scenario, folder / "audit.sqlite")
    for n, count in enumerate(COUNTS):
        room.live.run_until(START_S + 60 * (n + 1))
        assert room.lanes(count).ok
    room.live.run_until(START_S + 60 * (len(COUNTS) + 1))
    room.day.recorder.flush()
    image = folder / "image"
    image.mkdir()
    path = room.day.recorder.path
    for suffix in ("", "-wal"):
        shutil.copy2(f"{path}{suffix}", image / f"{path.name}{suffix}")
    shutil.copy2(folder / "audit.sqlite", image / "audit.sqlite")
    for suffix in ("-wal",):
        if Path(f"{folder / 'audit.sqlite'}{suffix}").exists():
            shutil.copy2(f"{folder / 'audit.sqlite'}{suffix}", image / f"audit.sqlite{suffix}")
    told = list(room.told_applied)
    room.day.recorder.close(None)
    room.audit.close()
    assert (image / f"{path.name}-wal").stat().st_size > 0  # the inputs are in the WAL
    return {"image": image, "name": path.name, "told": told}


def _damaged_copy(crashed, tmp_path, how: str, fraction: float) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    for item in crashed["image"].iterdir():
        if item.name.startswith("audit"):
            shutil.copy2(item, tmp_path / item.name)
        else:
            shutil.copy2(item, folder / item.name)
    wal = folder / f"{crashed['name']}-wal"
    size = wal.stat().st_size
    offset = int(size * fraction)
    if how == "truncate":
        os.truncate(wal, offset)
    else:
        rng = np.random.default_rng(int(fraction * 1000))
        with open(wal, "r+b") as out:
            out.seek(max(offset, 40))  # past the WAL header: a frame in the middle goes bad
            out.write(rng.integers(0, 256, 64, dtype=np.uint8).tobytes())
    return folder


@pytest.mark.parametrize(
    ("how", "fraction"),
    [
        ("truncate", 0.0),
        ("truncate", 0.25),
        ("truncate", 0.5),
        ("truncate", 0.9),
        ("truncate", 1.0),
        ("garble", 0.1),
        ("garble", 0.5),
        ("garble", 0.95),
    ],
)
def test_a_damaged_wal_is_named_and_every_acknowledged_input_comes_back(
    crashed, tmp_path, scenario, how, fraction
):
    folder = _damaged_copy(crashed, tmp_path, how, fraction)
    try:
        with Recording.open(folder / crashed["name"]) as recording:
            survived = {i.audit_id for i in recording.inputs()}
    except RecordingError:  # the WAL held the whole file: a new day rebuilds it from the audit
        survived = set()
    lost = [audit_id for audit_id, _ in crashed["told"] if audit_id not in survived]
    room = Room(folder, scenario, tmp_path / "audit.sqlite")
    try:
        room.told_applied = list(crashed["told"])
        assert_agree(room)  # every acknowledged input is in the recording again
        assert room.twin_lanes() == COUNTS[-1]  # what the operators were last told
        last_action_s = START_S + 60 * len(COUNTS)
        assert room.live.engine.time_s >= last_action_s  # not before an acknowledged action
        gaps = room.day.gaps
        if room.day.resumed_from != Path(crashed["name"]).stem:
            # the damaged day could not be resumed (which frames a cut keeps depends on when the
            # writer thread wrote its snapshots): a new day with every acknowledged input
            # re-applied from the audit log, each named (docs/recording-format.md)
            lost = [audit_id for audit_id, _ in crashed["told"]]
        assert [g["audit_id"] for g in gaps] == lost
        assert all(g["reapplied"] for g in gaps)
        named = room.audit.query(AuditFilter(action="recording.gap", limit=5))
        if lost:  # named in the notes and in the audit log (the admin page shows it)
            assert len(named) == 1 and all(f"audit #{i}" in named[0].detail for i in lost)
            assert any("had lost" in n or "cannot be read" in n for n in room.day.notes)
        else:
            assert named == []
    finally:
        room.day.recorder.close(None)
        room.audit.close()
    if how == "truncate" and fraction <= 0.5:
        assert lost  # the damage did hit acknowledged inputs: the test can fail


def test_a_resumed_gap_is_not_named_twice(crashed, tmp_path, scenario):
    folder = _damaged_copy(crashed, tmp_path, "truncate", 0.0)
    first = Room(folder, scenario, tmp_path / "audit.sqlite")
    first.day.recorder.flush()
    assert first.day.gaps
    first.audit.close()  # a second crash, straight after the repair
    again = Room(folder, scenario, tmp_path / "audit.sqlite")
    try:
        assert again.day.gaps == []
        again.told_applied = list(crashed["told"])
        assert_agree(again)
    finally:
        again.day.recorder.close(None)
        again.audit.close()
