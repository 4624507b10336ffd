"""``python -m twin record | replay | fork`` as a user runs them: real subprocesses, real files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def twin(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "twin", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings")
    actions = folder / "actions.json"
    actions.write_text(
        json.dumps(
            [
                {
                    "at": "17:10",
                    "action": {
                        "kind": "set_lanes",
                        "checkpoint_id": 0,
                        "lane_type": "face",
                        "count": 1,
                    },
                },
                {
                    "at": "17:12",
                    "action": {
                        "kind": "set_lanes",
                        "checkpoint_id": 0,
                        "lane_type": "face",
                        "count": 99,
                    },
                },
                {
                    "at": "17:20",
                    "action": {
                        "kind": "set_lanes",
                        "checkpoint_id": 0,
                        "lane_type": "face",
                        "count": 2,
                    },
                },
            ]
        )
    )
    done = twin(
        "record",
        "--start",
        "17:00",
        "--end",
        "17:30",
        "--warmup-min",
        "0",
        "--actions",
        str(actions),
        "--out",
        str(folder),
        "--date",
        "2026-08-01",
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.exists() and "17:00–17:30, 2 actions" in done.stdout
    assert "refused at 17:12: set_lanes" in done.stdout
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_replay_prints_the_kpis_and_the_actions_so_far(day, tmp_path):
    out = tmp_path / "replay.json"
    done = twin("replay", str(day), "--at", "17:15", "--json", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["time_s"] == 17 * 3600 + 15 * 60
    assert [(a["name"], a["result"]) for a in data["actions"]] == [
        ("set_lanes", "ok"),
        ("set_lanes", "refused"),
    ]
    assert "1 applied, 1 refused" in done.stdout


def test_fork_prints_both_days_side_by_side(day, tmp_path):
    out = tmp_path / "fork.json"
    digest = _digest(day)
    done = twin(
        "fork",
        str(day),
        "--at",
        "17:15",
        "--drop",
        "3",
        "--action",
        json.dumps({"kind": "set_lanes", "checkpoint_id": 0, "lane_type": "face", "count": 3}),
        "--json",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    table = json.loads(out.read_text())
    assert table["from_s"] == 17 * 3600 + 900 and table["to_s"] == 17 * 3600 + 1800
    assert {row["key"] for row in table["rows"]} >= {
        "total_delay_vehh",
        "worst_wait_s",
        "peak_density_ppm2",
    }
    assert "worst checkpoint wait" in done.stdout and Path(table["path"]).exists()
    assert _digest(day) == digest  # the original is never rewritten


@pytest.mark.parametrize(
    "args, message",
    [
        (("replay", "no-such-day", "--at", "17:10"), "no recording file"),
        (("replay", "{day}", "--at", "19:00"), "19:00 is outside recording"),
        (("replay", "{day}", "--at", "7pm"), "--at must look like HH:MM"),
        (("replay", "../../no/such/day", "--at", "17:10"), "neither a file nor a recording id"),
        (
            ("fork", "{day}", "--at", "17:15", "--action", "{not json"),
            "--action #1 is not valid JSON",
        ),
        (
            ("fork", "{day}", "--at", "17:15", "--action", '{"kind": "teleport"}'),
            "unknown action kind 'teleport'",
        ),
        (
            ("fork", "{day}", "--at", "17:15", "--drop", "1"),
            "cannot be dropped or moved: at or before the fork minute",
        ),
        (("fork", "{day}", "--at", "17:15", "--until", "18:30"), "end by 17:30"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(day, args, message):
    folder_before = sorted(p.name for p in day.parent.iterdir())
    digest = _digest(day)
    done = twin(*(str(day) if a == "{day}" else a for a in args))
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr
    assert _digest(day) == digest
    assert sorted(p.name for p in day.parent.iterdir()) == folder_before


def test_record_refuses_a_bad_script(tmp_path):
    bad = tmp_path / "actions.json"
    bad.write_text('[{"at": "25:99", "action": {"kind": "set_lanes"}}]')
    done = twin(
        "record",
        "--start",
        "17:00",
        "--end",
        "17:10",
        "--actions",
        str(bad),
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 2 and "actions[0].at must look like HH:MM" in done.stderr
    assert not list(tmp_path.glob("*.sqlite"))
