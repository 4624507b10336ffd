"""A real ``python app.py``: acknowledged actions through the API, SIGKILL, the day's ``-wal``
file truncated while the app is stopped, a restart (issue 19, point 3: 6 of 6 acknowledged
actions were lost silently). After the restart every acknowledged action is in the recording,
the twin holds the last one, and the gap is named in the app's log and the audit log."""

from __future__ import annotations

import os
import time

import pytest

from auth.users import UserStore
from tests.app.test_crash_recovery import FIRST_START_S, START_S, Server, _request
from twin.service.audit import AuditFilter, AuditLog
from twin.service.recorder import Recording, RecordingError

CHECKPOINT = 1
COUNTS = (3, 4, 5, 6)


def _live_day(folder):
    """The live day's file (the newest unclosed live recording) and the ids it holds."""
    for path in sorted(folder.glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with Recording.open(path) as recording:
                if recording.header.get("kind") == "live" and recording.closing() is None:
                    return path, {i.audit_id for i in recording.inputs()}
        except RecordingError:
            continue
    return None, set()


@pytest.mark.parametrize("keep", [0.5])
def test_a_truncated_wal_after_sigkill_is_named_and_repaired(tmp_path, keep):
    db = tmp_path / "auth.sqlite"
    UserStore(db).add("olga", "correct horse battery", "operator")
    token = UserStore(db).issue_token("olga")
    server = Server(tmp_path / "recordings", db, tmp_path / "app.log", token)
    server.start(bound_s=FIRST_START_S)
    try:
        acked = []
        for count in COUNTS:
            body = {"kind": "set_lanes", "checkpoint_id": CHECKPOINT, "lane_type": "manual"}
            status, answer = _request(
                server.base, "POST", "/actions", token, {**body, "count": count}
            )
            assert status == 200, answer
            acked.append(answer["audit_id"])
    finally:
        server.kill()  # kill -9: the WAL is not checkpointed
    path, _ = _live_day(server.recordings)
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    os.truncate(wal, int(wal.stat().st_size * keep))
    for leftover in path.parent.glob(path.name + "-shm"):
        leftover.unlink()
    _, survived = _live_day(server.recordings)
    lost = [a for a in acked if a not in survived]
    assert lost, "the truncation did not reach the acknowledged actions: the test cannot fail"

    state = server.start(bound_s=START_S)
    try:
        lanes = state["checkpoint_lanes"]
        row = next(r for r in lanes if r.get("checkpoint_id", -1) == CHECKPOINT)
        assert row["lanes_manual"] == COUNTS[-1]  # what the operator was last told
        deadline = time.monotonic() + 30
        while "had lost" not in server.log_tail(20_000) and time.monotonic() < deadline:
            time.sleep(0.2)
        log = server.log_tail(20_000)
        assert "had lost" in log or "cannot be read" in log
        assert all(f"audit #{a}" in log for a in lost)
    finally:
        server.kill()
    [gap] = AuditLog(db).query(AuditFilter(action="recording.gap", limit=5))
    assert all(f"audit #{a}" in gap.detail for a in lost)
    path, held = _live_day(server.recordings)
    assert set(acked) <= held  # every acknowledged action is in the recording again
